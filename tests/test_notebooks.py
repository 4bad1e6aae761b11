"""Every notebook in notebooks/ executes top to bottom without errors (nbclient)."""

import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


FORMULA = re.compile(r"sqrt\(|\+-|\^|<-|->|\b(?:alpha|beta|gamma|eta|sigma|lambda|theta|phi|xi|tau|omega|eps|mu)\b")
CODE = re.compile(r"jg\.|optax|\w\(\w*=|=\w|\w\.\w|\[\"|_\w+\(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_prose_writes_formulas_as_math(path):
    """A formula in a markdown cell is LaTeX between dollars (Jupyter and the docs render it), not
    plain text in backticks (``1 +- h f'(0) i``); code in backticks stays code."""
    nb = nbformat.read(path, as_version=4)
    plain = [span for c in nb.cells if c.cell_type == "markdown" for span in re.findall(r"`([^`]+)`", c.source)
             if FORMULA.search(span) and not CODE.search(span)]
    assert not plain, plain
