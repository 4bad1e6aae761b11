"""Retired spellings, kept for one release: each warns with its new spelling.

A namespace (``jaxgan``, ``jaxgan.transforms``) looks a name up in ``DEPRECATED`` when it has no
attribute of that name (a module ``__getattr__``, PEP 562), so an old spelling still works and
says what replaces it. The CHANGELOG lists every entry.
"""

from __future__ import annotations

import warnings
from typing import Callable, Dict, Tuple

#: ``{module: {old name: (the new spelling, a function giving the value)}}``
DEPRECATED: Dict[str, Dict[str, Tuple[str, Callable]]] = {
    "jaxgan": {
        "STATUS_NAMES": ("jaxgan.RESULTS(code).label",
                         lambda: tuple(r.label for r in _results())),
    },
}


def _results():
    from ._status import RESULTS

    return RESULTS


def warn(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release: use {new}.",
                  DeprecationWarning, stacklevel=stacklevel)


def module_getattr(module: str) -> Callable:
    """The ``__getattr__`` of ``module``: a deprecated name warns and gives its value, any
    other missing name raises ``AttributeError`` as usual."""
    table = DEPRECATED.get(module, {})

    def __getattr__(name: str):
        if name in table:
            new, value = table[name]
            warn(f"{module}.{name}", new)
            return value()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
