"""The docs site: every public name has an API entry, every guide page is in the index, and the site
builds with warnings as errors."""

import os
import re
import subprocess
import sys

import pytest

import jaxgan as jg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "docs"))

import coverage_check  # noqa: E402


def test_every_public_name_has_an_entry_and_every_entry_is_public():
    assert coverage_check.missing_entries() == []
    assert coverage_check.unknown_entries() == []
    # a retired spelling has no entry: jg.cgd (deprecated) is documented as jaxgan.transforms.cgd
    assert "jaxgan.cgd" not in coverage_check.documented() and "jaxgan.transforms.cgd" in coverage_check.documented()


def test_a_new_public_name_without_an_entry_is_caught(monkeypatch):
    def undocumented_helper():
        """A public function nobody documented."""

    monkeypatch.setattr(jg, "undocumented_helper", undocumented_helper, raising=False)
    monkeypatch.setattr(jg, "__all__", list(jg.__all__) + ["undocumented_helper"])
    assert coverage_check.missing_entries() == ["jaxgan.undocumented_helper"]


#: the guide's pages (docs/*.md), in the order of the index's toctree
GUIDE = ["getting_started", "analyses", "composing", "players", "prescriptions", "performance", "errors", "scale", "benchmarks",
         "layout", "design"]


def test_every_guide_page_is_in_the_index_and_opens_with_its_purpose():
    """Each page of docs/ is in the toctree, and starts with a title and one paragraph saying what
    it is for."""
    index = open(os.path.join(ROOT, "docs", "index.md")).read()
    toctree = index[index.index(":caption: Guide"):].split("```", 1)[0].split()
    assert toctree[2:] == GUIDE
    pages = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md") and f != "index.md")
    assert pages == sorted(GUIDE)
    for page in GUIDE:
        text = open(os.path.join(ROOT, "docs", f"{page}.md")).read()
        title, first = text.split("\n\n")[:2]
        assert title.startswith("# ") and "\n" not in title, page
        assert not first.startswith(("#", "`", "|", "-", "*")) and first.rstrip().endswith("."), page


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           os.path.join(ROOT, "docs"), str(tmp_path / "html")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    api = (tmp_path / "html" / "api" / "spectra.html").read_text()
    assert 'id="jaxgan.top_eigenvalues"' in api and "Krylov-Schur" in api
    assert (tmp_path / "html" / "tutorials" / "landscape.html").exists()
    # the guide's pages, each in the index's toctree; the front page shows the install line
    html = tmp_path / "html"
    index = (html / "index.html").read_text()
    for page in GUIDE:
        assert (html / f"{page}.html").exists(), page
        assert f'href="{page}.html"' in index, page
    assert not (html / "guide.html").exists()
    text = re.sub(r"<[^>]+>", "", index)  # the code blocks' text, without the highlighting's spans
    assert "pip install -e" in text and "jg.spectral_radius(game, make_tx, game.equilibrium" in text
    assert "compile once, call fast" in (html / "performance.html").read_text().lower()
    assert "Module state that is not a parameter" in (html / "players.html").read_text()
    assert "a loss that is not scalar" in (html / "errors.html").read_text()
    # what a reader sees: public type names, rendered formulas (MathJax), the design notes page
    pages = {p.name: p.read_text() for p in (tmp_path / "html" / "api").glob("*.html")}
    assert not [name for name, page in pages.items() if "jaxlib" in page or "._src." in page]
    assert "<em>jax.Array</em>" in pages["runs.html"]
    assert 'class="math' in pages["transforms.html"] and 'class="math' in pages["spectra.html"]
    assert 'class="math' in (tmp_path / "html" / "tutorials" / "dirac_gan.html").read_text()
    assert "The step algebra" in (tmp_path / "html" / "design.html").read_text()
