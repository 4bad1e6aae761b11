"""The design page's recipe for a new algorithm (docs/design.md, "Adding an algorithm: four
files") stays true: every public transformation follows it, and the files and helpers it names
exist."""

import inspect
import pathlib
import re

import jaxgan as jg
from jaxgan._core import algebra as _algebra
from jaxgan._core import players as _players
from jaxgan._validation import checks as _checks
from jaxgan._validation import domains as _domains

ROOT = pathlib.Path(__file__).resolve().parents[1]
RECIPE = (ROOT / "docs" / "design.md").read_text().split("## Adding an algorithm: four files")[1]

#: family files: algorithms that share their solver, and the factories each holds
FAMILIES = {
    "_competitive": {"cgd", "acgd"},
    "_corrections": {"consensus", "jare", "sga", "hamiltonian", "field_correction"},
    "_opponent_shaping": {"opponent_lookahead", "lola", "sos"},
    "_per_player": {"per_player", "ttur"},
    "_box": {"project_box"},  # the box geometry STON'R shares, with the projection on it
    "_stonr_run": {"run_stonr"},  # STON'R's driver
}


#: transformations that run another's update rather than define one
DRIVERS = {"run_stonr"}


def _factories():
    return {n: getattr(jg.transforms, n) for n in jg.transforms.__all__ if inspect.isfunction(getattr(jg.transforms, n))}


def test_each_transformation_lives_in_a_file_named_after_it_or_its_family():
    bad = []
    for name, fn in _factories().items():
        module = fn.__module__.rsplit(".", 1)[-1]
        if module != f"_{name}" and name not in FAMILIES.get(module, ()):
            bad.append(f"{name} is in {module}.py")
    assert not bad, "transformations outside their own file (or a declared family):\n" + "\n".join(bad)
    for family, names in FAMILIES.items():
        assert (ROOT / "jaxgan" / "transforms" / f"{family}.py").exists(), family
        assert f"`{family}`" in RECIPE or family in ("_box", "_stonr_run"), family
        assert names <= set(_factories()), names - set(_factories())


def test_each_transformation_has_its_docs_entry_tests_and_registry_line():
    docs = (ROOT / "docs" / "api" / "transforms.rst").read_text()
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for name, fn in _factories().items():
        assert f".. autofunction:: jaxgan.transforms.{name}\n" in docs, f"{name}: no docs entry"
        assert re.search(rf"\bjg\.(transforms\.)?{name}\(", tests), f"{name}: no test calls it"
        assert name in jg.transforms.__all__
        doc = inspect.getdoc(fn) or ""
        assert ">>>" in doc, f"{name}: no example in its docstring"
        # its formula rendered (the docs show LaTeX); a driver of another's update has none
        assert ".. math::" in doc or name in DRIVERS, f"{name}: no rendered formula"


def test_the_files_and_helpers_the_recipe_names_exist():
    for path in re.findall(r"`((?:jaxgan|tests|docs)/[\w/.]+\.(?:py|rst))`", RECIPE):
        assert (ROOT / path).exists(), path
    assert callable(_algebra.transformation) and callable(_checks.checked_game_update)
    assert {"STEP", "CORRECTION", "DIRECTION", "PROJECTION"} <= set(_algebra.Role.__members__)
    for domain in ("Real", "Integer", "Choice", "Flag", "Maybe", "domains"):
        assert hasattr(_domains, domain), domain
    assert hasattr(_players, "TWO_PLAYER_ONLY") and callable(_players.require_two_players)
    assert "why" in inspect.signature(_players.require_two_players).parameters
    import conftest
    import test_probes
    import test_transforms_common

    assert set(conftest.SHARED_TABLES) == {"COMMON", "PROBE_CALLS"}
    for table in conftest.SHARED_TABLES:
        assert f"`{table} = " in RECIPE, table
    assert callable(test_transforms_common.test_the_matrix_covers_every_transform)
    # what test files declare reaches the shared tables
    common, probes = conftest.declared_in_test_files("COMMON"), conftest.declared_in_test_files("PROBE_CALLS")
    assert set(common) <= set(test_transforms_common.TRANSFORMS) and set(probes) <= set(test_probes.BASE)
    assert set(test_transforms_common.Case._fields) >= {"make", "injected", "radius"}


def test_the_catalogue_gathers_each_modules_all():
    """``jg.transforms`` is the union of its modules' ``__all__`` (no registry to edit)."""
    import importlib
    import pkgutil

    gathered = set()
    for info in pkgutil.iter_modules(jg.transforms.__path__):
        gathered |= set(getattr(importlib.import_module(f"jaxgan.transforms.{info.name}"), "__all__", ()))
    assert gathered == set(jg.transforms.__all__)
