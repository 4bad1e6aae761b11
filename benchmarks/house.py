"""The structure counts of issue "A house a newcomer reads in an hour", printed in one form
before and after the redesign: private modules at the package root, message pieces under 30
characters, public docstrings whose summary is not one sentence, README lines, whether the docs
index shows the install line, the tests collected, and the files the newest algorithm's commit
touched (the design page's recipe: four).

It also counts the closed-form assertions of the suite (``assert_allclose``, ``pytest.approx``,
``assert_array_equal`` and ``chex.assert_trees_all_close`` calls, by test file): a redesign of the
suite may regroup tests, never drop one of these.

Usage: ``python benchmarks/house.py [--label NAME] [--root TREE] [--no-collect]``; the counts go to
``benchmarks/results/house.json`` under ``NAME`` (default: the tree's commit), so the file keeps
the before and the after side by side; ``--root`` measures another checkout (an old commit's).
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import pathlib
import re
import subprocess
import sys
import tokenize
import warnings

HERE = pathlib.Path(__file__).resolve().parents[1]
ROOT = HERE
PACKAGE = ROOT / "jaxgan"
CLOSED_FORM = re.compile(r"assert_allclose\(|approx\(|assert_array_equal\(|assert_trees_all_close\(")
NAMESPACES = ("transforms", "games", "regularizers", "flows", "manifold", "metrics", "datasets",
              "plotting", "families")


def root_private_modules() -> list:
    return sorted(p.name for p in PACKAGE.glob("_*.py") if p.name not in ("__init__.py", "__main__.py"))


def short_message_pieces(min_length: int = 30) -> tuple:
    """Implicitly concatenated string literals that span lines, and their non-final pieces shorter
    than ``min_length`` characters (a sentence re-wrapped into fragments)."""
    groups, short = 0, []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type not in (tokenize.NL, tokenize.COMMENT)]
        run = []
        for tok in tokens + [None]:
            if tok is not None and tok.type == tokenize.STRING:
                run.append(tok)
                continue
            if len(run) > 1 and run[0].start[0] != run[-1].start[0]:
                groups += 1
                short += [f"{path.relative_to(ROOT)}:{t.start[0]}" for t in run[:-1]
                          if len(t.string) < min_length]
            run = []
    return groups, short


def multi_sentence_summaries() -> tuple:
    """Public docstrings whose first line is not one sentence of at most 100 characters."""
    warnings.simplefilter("ignore")
    import jaxgan as jg

    spaces = {"jaxgan": jg}
    spaces.update({f"jaxgan.{n}": getattr(jg, n) for n in NAMESPACES if hasattr(jg, n)})
    seen, bad = set(), []
    for space, module in spaces.items():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            doc = (inspect.getdoc(obj) or "").strip()
            first = doc.split("\n")[0].strip()
            sentence = (first.endswith(".") and not first.endswith(("Fig.", "Eq.", "al.", ":.", ",."))
                        and len(first) <= 100)
            if not sentence:
                bad.append(f"{space}.{name}")
    return len(seen), bad


def closed_form_assertions() -> dict:
    """The closed-form assertions of each test file (calls that compare to a number)."""
    counts = {}
    for path in sorted((ROOT / "tests").glob("*.py")):
        n = len(CLOSED_FORM.findall(path.read_text(encoding="utf-8")))
        if n:
            counts[path.name] = n
    return counts


def files_to_add_an_algorithm() -> tuple:
    """The files changed by the newest commit that added a module to ``jaxgan/transforms`` (an
    algorithm added by the design page's recipe): ``(commit, files)``, or ``(None, [])``."""
    git = ["git", "-C", str(ROOT)]
    log = subprocess.run(git + ["log", "--diff-filter=A", "--format=%h", "--", "jaxgan/transforms/_*.py"],
                         capture_output=True, text=True).stdout.split()
    if not log:
        return None, []
    files = subprocess.run(git + ["show", "--name-only", "--format=", log[0]], capture_output=True,
                           text=True).stdout.split()
    return log[0], files


def tests_collected() -> int:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p",
                          "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
    match = re.search(r"(\d+) tests? collected", out.stdout)
    return int(match.group(1)) if match else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default=None)
    parser.add_argument("--no-collect", action="store_true")
    parser.add_argument("--root", default=None)
    args = parser.parse_args()
    global ROOT, PACKAGE
    if args.root:
        ROOT = pathlib.Path(args.root).resolve()
        PACKAGE = ROOT / "jaxgan"
        sys.path.insert(0, str(ROOT))
    label = args.label or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                         capture_output=True, text=True).stdout.strip()
    modules = root_private_modules()
    groups, short = short_message_pieces()
    documented, summaries = multi_sentence_summaries()
    closed = closed_form_assertions()
    added_in, algorithm_files = files_to_add_an_algorithm()
    index = (ROOT / "docs" / "index.md").read_text()
    counts = {
        "root private modules": len(modules),
        "multi-line messages": groups,
        "message pieces under 30 characters": len(short),
        "public docstrings": documented,
        "summaries that are not one sentence": len(summaries),
        "README lines": len((ROOT / "README.md").read_text().splitlines()),
        "docs index shows the install line": "pip install" in index,
        "closed-form assertions in the suite": sum(closed.values()),
        "tests collected": None if args.no_collect else tests_collected(),
        "files the newest algorithm touched": len(algorithm_files) if added_in else None,
    }
    width = max(map(len, counts))
    print(f"house counts at {label}")
    for key, value in counts.items():
        print(f"  {key:<{width}}  {value}")
    path = HERE / "benchmarks" / "results" / "house.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[label] = {"counts": counts, "root private modules": modules, "short pieces": short,
                      "summaries": summaries, "closed-form assertions by file": closed,
                      "newest algorithm's commit and files": [added_in, algorithm_files]}
    path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
