"""Sphinx configuration of jaxgan's API reference.

Sphinx with autodoc and napoleon (the docstrings are Google style, as optax's), MyST for the
Markdown guide pages of ``docs/`` and MyST-NB for the notebooks, rendered from their committed
outputs (the test suite executes them). Build: ``python -m sphinx -W --keep-going -b html
docs docs/_build/html``. ``-W`` makes every warning an error, and the build fails when a public
name has no entry in ``docs/api/`` (``coverage.py``).
"""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

project = "jaxgan"
author = "the jaxgan developers"
copyright = "2026, the jaxgan developers"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "myst_nb"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
nb_execution_mode = "off"  # the committed outputs; tests/test_notebooks.py executes them
myst_heading_anchors = 3  # nothing suppressed: a link to a missing page or heading fails -W
myst_enable_extensions = ["dollarmath", "amsmath"]  # $...$ in the notebooks renders as math
autodoc_member_order = "bysource"
autodoc_typehints = "description"

# types read with their public name: jax.Array's class says its qualified name is
# `jaxlib._jax.Array`, which Sphinx would print as `jax.jaxlib._jax.Array` (the docs build only)
import jax  # noqa: E402

jax.Array.__qualname__ = "Array"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
# the option domains each public function declares (jaxgan._validation.domains) render as a parameter list
napoleon_custom_sections = [("Domains", "params_style")]
# a maintained scientific theme (as optax's and diffrax's docs): a wide content column, so that
# code cells are not cut, and MathJax for the formulas
html_theme = "sphinx_book_theme"
html_title = "jaxgan"
html_theme_options = {"show_toc_level": 2, "use_download_button": False}
autosummary_generate = False  # the tables link to the entries on the same page


def _copy_notebooks(app):
    """The notebooks of ``notebooks/`` as the tutorials (copied: Sphinx reads its own tree)."""
    dest = os.path.join(HERE, "tutorials")
    os.makedirs(dest, exist_ok=True)
    for name in sorted(os.listdir(os.path.join(ROOT, "notebooks"))):
        if name.endswith(".ipynb"):
            shutil.copyfile(os.path.join(ROOT, "notebooks", name), os.path.join(dest, name))


def _check_coverage(app):
    from coverage_check import missing_entries, unknown_entries

    for name in missing_entries():
        raise RuntimeError(f"docs: the public name {name} has no entry in docs/api/ (add an autodoc directive).")
    for path in unknown_entries():
        raise RuntimeError(f"docs: docs/api/ documents {path}, which is not a public name.")


def setup(app):
    app.connect("builder-inited", _copy_notebooks)
    app.connect("builder-inited", _check_coverage)
