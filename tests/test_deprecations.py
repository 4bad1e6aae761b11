"""_deprecations: every retired spelling still works for one release, warns with its new
spelling, is tested here and is listed in CHANGELOG.md."""

import importlib
import pathlib
import re
import warnings

import pytest

import jaxgan as jg
from jaxgan import _deprecations

# the retired spellings: each still gives its old value, and warns with its new spelling
DEPRECATED_SPELLINGS = {
    "jaxgan.STATUS_NAMES": (lambda: jg.STATUS_NAMES, ("converged", "bounded", "grew", "non-finite"),
                            "jaxgan.RESULTS(code).label"),
    "jaxgan.transforms.LOCAL_TYPES[code]": (lambda: jg.transforms.LOCAL_TYPES[2], "local Nash",
                                            "jaxgan.transforms.LOCAL_TYPES(code).label"),
}


@pytest.mark.parametrize("old", sorted(DEPRECATED_SPELLINGS))
def test_deprecated_spellings_work_and_warn(old):
    get, value, new = DEPRECATED_SPELLINGS[old]
    with pytest.warns(DeprecationWarning, match=re.escape(new)):
        assert get() == value


def _resolve(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


MOVES = [(module, name) for module, table in _deprecations.DEPRECATED.items() for name in table
         if name != "STATUS_NAMES"]


@pytest.mark.parametrize("module,name", MOVES, ids=[f"{m}.{n}" for m, n in MOVES])
def test_moved_and_renamed_spellings_give_the_same_object_and_warn(module, name):
    """A moved or renamed spelling is the very object of its new spelling (``from jaxgan import
    cgd`` too), warns naming that spelling, and is not in ``__all__`` (one public spelling)."""
    new, _ = _deprecations.DEPRECATED[module][name]
    with pytest.warns(DeprecationWarning, match=re.escape(f"{module}.{name} is deprecated") + ".*"
                      + re.escape(f"use {new}.")):
        old = getattr(importlib.import_module(module), name)
    assert old is _resolve(new)
    assert name not in importlib.import_module(module).__all__
    with warnings.catch_warnings(record=True) as caught:  # a from-import warns once, not twice
        warnings.simplefilter("always")
        exec(f"from {module} import {name} as imported", {})  # noqa: S102
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == [
        f"{module}.{name} is deprecated and will be removed in the next release: use {new}."]


def test_every_deprecation_is_tested_and_in_the_changelog():
    changelog = (pathlib.Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text()
    for module, table in _deprecations.DEPRECATED.items():
        for name, (new, _) in table.items():
            assert f"{module}.{name}" in DEPRECATED_SPELLINGS or (module, name) in MOVES, name
            assert f"`{module}.{name}`" in changelog and f"`{new}`" in changelog, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        jg.not_a_name  # noqa: B018
    assert "STATUS_NAMES" not in jg.__all__
