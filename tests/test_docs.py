"""The API reference: every public name has an entry, and the site builds with warnings as errors."""

import os
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


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           os.path.join(ROOT, "docs"), str(tmp_path / "html")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    api = (tmp_path / "html" / "api" / "spectra.html").read_text()
    assert 'id="jaxgan.top_eigenvalues"' in api and "Krylov-Schur" in api
    assert (tmp_path / "html" / "tutorials" / "landscape.html").exists()
    assert "Compile once, call fast" in (tmp_path / "html" / "guide.html").read_text() or \
        "compile once" in (tmp_path / "html" / "guide.html").read_text().lower()
    # what a reader sees: public type names, rendered formulas (MathJax), the design notes page
    pages = {p.name: p.read_text() for p in (tmp_path / "html" / "api").glob("*.html")}
    assert not [name for name, page in pages.items() if "jaxlib" in page or "._src." in page]
    assert "<em>jax.Array</em>" in pages["runs.html"]
    assert 'class="math' in pages["transforms.html"] and 'class="math' in pages["spectra.html"]
    assert 'class="math' in (tmp_path / "html" / "tutorials" / "dirac_gan.html").read_text()
    assert "The step algebra" in (tmp_path / "html" / "design.html").read_text()
