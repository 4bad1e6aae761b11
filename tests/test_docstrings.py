"""Every public name has a docstring, and every docstring example runs (doctest)."""

import doctest
import importlib
import inspect
import pkgutil

import jax
import pytest
from compat import float32_mode

import jaxgan


def _modules():
    yield jaxgan
    for info in pkgutil.walk_packages(jaxgan.__path__, "jaxgan."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


#: every public name: the top level and each catalogue's own (its one spelling)
CATALOGUES = ("transforms", "manifold", "flows", "games", "regularizers", "datasets", "metrics")
PUBLIC = jaxgan.__all__ + [f"{c}.{n}" for c in CATALOGUES for n in getattr(jaxgan, c).__all__]


def _undocumented(name):
    obj = jaxgan
    for part in name.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, (tuple, str)) and not callable(obj):
        return None  # constants (LOSSES) are described where they are defined
    if not obj.__doc__ or len(obj.__doc__.strip()) <= 20:
        return f"{name} needs a docstring"
    if not inspect.ismodule(obj) and ">>>" not in obj.__doc__:
        return f"{name} needs a runnable example (doctest) in its docstring"
    return None


@pytest.mark.parametrize("catalogue", ("",) + CATALOGUES, ids=lambda c: c or "top level")
def test_public_names_are_documented(catalogue):
    names = [n for n in PUBLIC if (n.split(".")[0] if "." in n else "") == catalogue]
    assert names
    missing = [m for m in map(_undocumented, names) if m]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("module", list(_modules()), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    # examples are written for JAX's default float32, as a new user sees them; float32 matrix
    # products at full precision (NVIDIA GPUs default to TF32, about 1e-3 relative)
    with float32_mode(), jax.default_matmul_precision("highest"):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
