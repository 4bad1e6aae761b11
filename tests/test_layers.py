"""The import direction between jaxgan's layers (the docs' module map, docs/layout.md, states it).

A module may import modules of its own layer or of a lower one, never of a higher one, and
the modules of one layer import one another without cycles. Imports inside functions count.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "jaxgan")

#: low to high; a module not listed is an error (a new module must take a place here)
LAYERS = [
    ("base", ["_core", "_validation", "_analysis", "_runs", "_jaxpr", "_gan", "_validation.domains", "_deprecations", "_core.game", "_core.players", "_core.partition", "_core.status", "_validation.cache", "_analysis.eig", "_jaxpr.conv_layout", "_jaxpr.dependence", "_gan.expect", "_gan.losses", "datasets", "plotting"]),
    ("checks, solvers, step algebra", ["_validation.checks", "_analysis.solve", "_core.algebra", "_gan.gan"]),
    ("field", ["_core.field", "_core.modified"]),
    ("step", ["_core.step"]),
    ("analysis", ["_analysis.equilibrium", "_analysis.step_map", "_analysis.jacobian", "_analysis.spectral", "_analysis.arnoldi", "_analysis.operators", "_analysis.density", "_analysis.certificate", "_analysis.path_angle", "_analysis.gap",
                  "_analysis.manifold", "manifold", "_analysis.trace"]),
    ("runs", ["_runs.rollout"]),
    ("families: transforms and regularisers", ["transforms", "regularizers"]),
    ("families: games", ["games"]),
    ("studies", ["_runs.stability", "_runs.rate", "flows", "metrics"]),
    ("prescriptions", ["_prescribe", "_prescribe.search", "_prescribe.families", "_prescribe.tune", "_prescribe.timescale",
                       "_prescribe.noise", "_prescribe.boundary", "_prescribe.orbit", "families"]),
    ("application", ["report", "cli", "__main__", "__init__"]),
]
LAYER = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}


def _unit(module):
    """The layer unit of a dotted module under jaxgan: a subpackage counts as one unit."""
    parts = module.split(".")
    return parts[0] if parts[0] in ("transforms", "regularizers", "games", "report") else module


def _modules():
    for dirpath, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), PACKAGE)[:-3].replace(os.sep, ".")
                yield rel.removesuffix(".__init__") if rel != "__init__" else rel, os.path.join(dirpath, f)


def _imports(module, path):
    """The jaxgan modules ``module`` imports (relative and absolute, at any depth)."""
    package = module.split(".")[:-1] if not path.endswith("__init__.py") else module.split(".")
    if module == "__init__":
        package = []
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import x
                    out.update(".".join(base + [a.name]) for a in node.names)
                elif target:
                    out.add(target)
            elif node.module and node.module.startswith("jaxgan."):
                out.add(node.module[len("jaxgan."):])
        elif isinstance(node, ast.Import):
            out.update(a.name[len("jaxgan."):] for a in node.names if a.name.startswith("jaxgan."))
    return {m for m in out if m}


def test_every_module_has_a_layer():
    missing = sorted({_unit(m) for m, _ in _modules()} - set(LAYER))
    assert not missing, f"modules without a layer in tests/test_layers.py (and the module map of docs/layout.md): {missing}"


def test_no_module_imports_a_higher_layer():
    bad = []
    for module, path in _modules():
        mine = LAYER[_unit(module)]
        for target in _imports(module, path):
            unit = _unit(target)
            if unit in LAYER and LAYER[unit] > mine and _unit(module) != unit:
                bad.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[LAYER[unit]][0]})")
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))


def test_no_import_cycles_between_units():
    graph = {}
    for module, path in _modules():
        graph.setdefault(_unit(module), set()).update(
            _unit(t) for t in _imports(module, path) if _unit(t) in LAYER and _unit(t) != _unit(module))
    graph.pop("__init__", None)
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in seen:
            return
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt != "__init__":
                visit(nxt)
        stack.pop()
        seen.add(node)

    for node in sorted(graph):
        visit(node)


def test_the_docs_module_map_lists_every_module():
    page = open(os.path.join(ROOT, "docs", "layout.md")).read()
    section = page[page.index("## Module map"):]
    section = section[: section.index("\n## ", 4)]
    for unit in LAYER:
        if unit not in ("__init__", "__main__"):
            assert f"`{unit}" in section, f"the module map of docs/layout.md has no line for {unit}"


def test_the_top_level_rule():
    """One spelling per object: the top level repeats no catalogue's name, and holds the core and
    the everyday entry points (the rule docs/layout.md states)."""
    import jaxgan as jg

    top = set(jg.__all__)
    owners = {}
    for catalogue in (jg.transforms, jg.manifold, jg.flows, jg.games, jg.regularizers, jg.datasets,
                      jg.metrics):
        assert not (set(catalogue.__all__) - {"__all__"}) & top, catalogue.__name__
        for name in catalogue.__all__:
            owners.setdefault(id(getattr(catalogue, name)), []).append(f"{catalogue.__name__}.{name}")
    for name in top:
        owners.setdefault(id(getattr(jg, name)), []).append(f"jaxgan.{name}")
    assert not [spellings for spellings in owners.values() if len(spellings) > 1]
    for name in ("simultaneous_gradient", "vector_field", "corrected_field", "make_step", "rollout", "sweep",
                 "top_eigenvalues", "spectral_density", "stationary_point_certificate", "stability_map"):
        assert name in top
    assert {"manifold", "transforms", "flows", "games"} <= top


# --------------------------------------------------------------------------- tests follow the code

TESTS = os.path.dirname(os.path.abspath(__file__))

#: modules whose tests live in a file of another name (one file per subpackage catalogue;
#: the CLI entry point with the CLI)
TEST_FILE = {
    "__main__": "test_cli.py",
    "__init__": "test_layers.py",  # the top-level rule, below
    "_core": "test_layers.py",  # a package docstring: what it holds, what it imports
    "_validation": "test_layers.py",  # a package docstring: what it holds, what it imports
    "_analysis": "test_layers.py",  # a package docstring: what it holds, what it imports
    "_runs": "test_layers.py",  # a package docstring: what it holds, what it imports
    "_jaxpr": "test_layers.py",  # a package docstring: what it holds, what it imports
    "_gan": "test_layers.py",  # a package docstring: what it holds, what it imports
    "_stonr_run": "test_stonr.py",
    "_validation.domains": "test_probes.py",  # the declarations and the probes generated from them
    "games": "test_games.py",
    "regularizers": "test_regularizers.py",
    "report": "test_report.py",
    "transforms": "test_transforms_common.py",
    "_prescribe": "test_prescribe.py",  # one file for the prescriptions: tune, families, tau*, noise
    "families": "test_prescribe.py",
}
#: the catalogues and the report share their package's test file, except the neural games
SHARED = {"games", "regularizers", "report", "_prescribe"}
OWN_FILE_IN_SHARED = {"games._neural", "games._conv", "games._n_player"}
#: test files about a property of the whole library, not one module
CROSS_CUTTING = {
    "test_bad_input.py": "the bad-input table, every entry point",
    "test_cache.py": "compile once: compilation counts at every public entry point",
    "test_composition.py": "chained transforms against reference loops (the composition rule)",
    "test_determinism.py": "bitwise repeatability",
    "test_hardening.py": "the hardening classes (explicit arguments, undefined results, internal errors, blame) over their entry points",
    "test_docs.py": "the API reference builds, every public name has an entry",
    "test_docstrings.py": "docstring examples run",
    "test_layers.py": "the import direction and the module/test layout",
    "test_malformed_arguments.py": "malformed arguments at every public entry point",
    "test_notebooks.py": "the notebooks execute",
    "test_properties.py": "property tests across games and transforms",
    "test_contributing.py": "CONTRIBUTING.md's recipe for a new transformation, against every transformation",
    "test_style.py": "ruff: imports, unused names, lines of at most 100 characters in jaxgan",
    "test_readme.py": "the README's commands and examples",
    "test_sharding.py": "sweeps sharded over devices",
    "test_transforms_common.py": "what every transform shares (signatures, states, jit/vmap)",
}


def _test_file(module):
    """The test file of a module: ``test_<name>.py`` with the leading underscore dropped."""
    for key in (module, module.split(".")[-1]):
        if key in TEST_FILE:
            return TEST_FILE[key]
    unit = module.split(".")[0]
    if unit in SHARED and module not in OWN_FILE_IN_SHARED:
        return TEST_FILE[unit]
    return f"test_{module.split('.')[-1].lstrip('_')}.py"


def test_every_module_has_its_test_file():
    files = set(os.listdir(TESTS))
    missing = sorted(f"{m} -> tests/{_test_file(m)}" for m, _ in _modules() if _test_file(m) not in files)
    assert not missing, "modules without their test file:\n" + "\n".join(missing)


def test_every_test_file_belongs_to_a_module_or_is_cross_cutting():
    owned = {_test_file(m) for m, _ in _modules()} | set(CROSS_CUTTING)
    stray = sorted(f for f in os.listdir(TESTS) if f.startswith("test_") and f.endswith(".py") and f not in owned)
    assert not stray, f"test files with no module of that name (name them after the module they test): {stray}"
    gone = sorted(set(CROSS_CUTTING) - set(os.listdir(TESTS)))
    assert not gone, f"CROSS_CUTTING lists test files that no longer exist: {gone}"


def test_only_public_jax():
    """Nothing from ``jax._src``: a JAX release may move or remove any private name."""
    bad = [f"{module}: {line.strip()}" for module, path in _modules()
           for line in open(path) if "jax._src" in line and not line.lstrip().startswith("#")]
    assert not bad, "private JAX imports:\n" + "\n".join(bad)
