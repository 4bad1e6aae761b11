"""_deprecations: every retired spelling still works for one release, warns with its new
spelling, is tested here and is listed in CHANGELOG.md."""

import pathlib
import re

import pytest

import jaxgan as jg

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


def test_every_deprecation_is_tested_and_in_the_changelog():
    from jaxgan import _deprecations

    changelog = (pathlib.Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text()
    for module, table in _deprecations.DEPRECATED.items():
        for name, (new, _) in table.items():
            assert f"{module}.{name}" in DEPRECATED_SPELLINGS, name
            assert f"`{module}.{name}`" in changelog and f"`{new}`" in changelog, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        jg.not_a_name  # noqa: B018
    assert "STATUS_NAMES" not in jg.__all__
