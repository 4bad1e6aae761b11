"""ruff over the repository (its configuration in pyproject.toml): imports sorted, no unused
imports or undefined names, and in the library lines of at most 100 characters."""

import importlib
import inspect
import io
import pathlib
import re
import shutil
import subprocess
import sys
import tokenize

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


def test_messages_wrap_only_at_phrase_boundaries():
    """A string wrapped across source lines as an implicit concatenation breaks only at phrase
    boundaries: no piece but the last is under 30 characters (its source text, quotes and prefix
    included), so a phrase pasted from an error message is found by grep."""
    short = []
    for path in sorted((ROOT / "jaxgan").rglob("*.py")):
        pieces, depth, start = [], 0, None  # (line, length) of each literal, None between runs
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            kind = tokenize.tok_name[tok.type]
            if kind == "FSTRING_START":  # Python 3.12+ splits an f-string into tokens
                depth, start = depth + 1, start if depth else tok.start
            elif kind == "FSTRING_END":
                depth -= 1
                if not depth:
                    same_line = tok.end[0] == start[0]
                    pieces.append((start[0], tok.end[1] - start[1] if same_line else 99))
            elif depth:
                continue
            elif kind == "STRING":
                pieces.append((tok.start[0], len(tok.string)))
            elif kind not in ("NL", "COMMENT"):
                pieces.append(None)
        run = []
        for piece in [*pieces, None]:
            if piece is not None:
                run.append(piece)
                continue
            if len(run) > 1 and run[0][0] != run[-1][0]:
                short += [f"{path.relative_to(ROOT)}:{line}" for line, n in run[:-1] if n < 30]
            run = []
    assert not short, short


NAMESPACES = ("transforms", "games", "regularizers", "flows", "manifold", "metrics", "datasets",
              "plotting", "families")
KNOWN_ABBREVIATIONS = ("et al.", "e.g.", "i.e.", "vs.")  # autosummary reads on past these


def test_every_public_summary_is_one_sentence():
    """The first line of every public docstring is the name's row in the API tables: one sentence
    of at most 100 characters ending in a period, the rest after a blank line, with no '. '
    inside it at which autosummary would cut it (but after an abbreviation it knows)."""
    modules = [importlib.import_module(m) for m in ("jaxgan", *(f"jaxgan.{n}" for n in NAMESPACES))]
    bad = []
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):  # constants carry their type's docstring
                continue
            lines = (inspect.getdoc(obj) or "").splitlines() or [""]
            first = lines[0]
            cut = [m for m in re.finditer(r"\.\s", first)
                   if not first[: m.start() + 1].endswith(KNOWN_ABBREVIATIONS)]
            ends = first.endswith(".") and not first.endswith(("Eq.", "Fig.", "e.g.", "i.e.", ":."))
            if not ends or len(first) > 100 or cut or (len(lines) > 1 and lines[1].strip()):
                bad.append(f"{module.__name__}.{name}: {first}")
    assert not bad, "\n".join(bad)
