"""Every public name of jaxgan has an entry in ``docs/api/``, and every entry is public.

A public name is one listed in ``__all__`` of ``jaxgan`` or of a public subpackage; the same
object reached by two names needs one entry.
Used by ``conf.py`` (the build fails) and by ``tests/test_docs.py``.
"""

import glob
import importlib
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SUBPACKAGES = ("families", "manifold", "transforms", "games", "regularizers", "flows", "datasets", "metrics", "plotting")
DIRECTIVE = re.compile(r"^\.\. auto(?:function|class|data|exception)::\s+(\S+)", re.M)


def public_names():
    """``{qualified name: object}`` of every public name (modules excluded)."""
    out = {}
    for ns in ("",) + SUBPACKAGES:
        mod = importlib.import_module("jaxgan" + (f".{ns}" if ns else ""))
        for name in mod.__all__:
            obj = getattr(mod, name)
            if type(obj).__name__ != "module":
                out[f"{mod.__name__}.{name}"] = obj
    return out


def documented():
    """The qualified names that ``docs/api/*.rst`` documents."""
    found = []
    for path in sorted(glob.glob(os.path.join(HERE, "api", "*.rst"))):
        found += DIRECTIVE.findall(open(path).read())
    return found


def _resolve(path):
    mod, _, name = path.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def missing_entries():
    names = public_names()
    entries = set(documented())
    covered = {id(_resolve(p)) for p in entries if p in names}
    return sorted(n for n, obj in names.items() if n not in entries and id(obj) not in covered)


def unknown_entries():
    names = public_names()
    return sorted(p for p in documented() if p not in names)
