"""ruff over the repository (its configuration in pyproject.toml): imports sorted, no unused
imports or undefined names, and in the library lines of at most 100 characters."""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(pathlib.Path(sys.executable).with_name("ruff"))
    if not pathlib.Path(ruff).exists():
        pytest.fail("ruff is not installed: it is a dev dependency (pip install -e '.[dev]')")
    out = subprocess.run([ruff, "check", "--no-cache", "jaxgan", "tests", "benchmarks"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_library_keeps_lines_of_at_most_100_characters():
    config = (ROOT / "pyproject.toml").read_text()
    assert "line-length = 100" in config and '"E501"' in config
    long = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "jaxgan").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if len(line) > 100]
    assert not long, long


# the notes the library was written from (upper-case file names; docs/design.md is a page here)
OUTSIDE = re.compile(r"(?i:seed 0\d\d)|THEORY\.md|DESIGN\.md|STYLE\.md|\.\./shared|\breference/")


def test_nothing_points_to_a_file_outside_the_repository():
    """Docstrings, the README, the guides and the notebooks cite papers, never the notes the
    library was written from (seed numbers, THEORY.md, DESIGN.md), which a user does not have."""
    paths = [*(ROOT / "jaxgan").rglob("*.py"), *(ROOT / "notebooks").glob("*.ipynb"),
             *(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "api").glob("*.rst"),
             ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    found = [f"{p.relative_to(ROOT)}:{i}" for p in paths
             for i, line in enumerate(p.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert not found, found
