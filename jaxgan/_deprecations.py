"""Retired spellings, kept for one release: each warns with its new spelling.

A namespace (``jaxgan``, ``jaxgan.transforms``) looks a name up in ``DEPRECATED`` when it has no
attribute of that name (a module ``__getattr__``, PEP 562), so an old spelling still works and
says what replaces it. The CHANGELOG lists every entry.
"""

from __future__ import annotations

import sys
import warnings
from typing import Callable, Dict, Tuple

#: The names each catalogue owns, which the top level also exported before this release.
MOVED: Dict[str, Tuple[str, ...]] = {
    "transforms": (
        "ACGDState",
        "AlternatingState",
        "AndersonState",
        "BestResponseState",
        "BestResponseStats",
        "CGDState",
        "ExtragradientState",
        "FollowTheRidgeState",
        "LOCAL_TYPES",
        "LookaheadState",
        "ProximalPointState",
        "StonrResult",
        "StonrState",
        "acgd",
        "alternating",
        "best_response",
        "cgd",
        "consensus",
        "extragradient",
        "field_correction",
        "follow_the_ridge",
        "gda_am",
        "glgd",
        "hamiltonian",
        "jare",
        "lola",
        "lookahead",
        "per_player",
        "project_box",
        "proximal_point",
        "run_stonr",
        "sga",
        "sos",
        "stonr",
        "stonr_certificate",
        "ttur",
    ),
    "manifold": (
        "Projection",
        "Retraction",
        "retract",
        "ridge_lift",
        "tangent_projection",
        "total_derivative",
    ),
    "flows": ("Flow", "Refinement", "flow", "refinement_test"),
}

#: Names that collided with another or did not say what they are: ``{module: {old: new}}``,
#: the new name in the same module.
RENAMED: Dict[str, Dict[str, str]] = {
    "jaxgan": {
        "look_ahead": "transforms.opponent_lookahead",
        "spectrum_of_matrix": "matrix_spectrum",
        "arnoldi_eigenvalues": "operator_top_eigenvalues",
    },
    "jaxgan.transforms": {"look_ahead": "opponent_lookahead"},
}


def _attribute(path: str) -> Callable:
    """A function giving the object at the dotted ``path`` (``"jaxgan.transforms.cgd"``),
    imported when called so that the table costs nothing at import."""

    def value():
        import importlib

        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)

    return value


def _table() -> Dict[str, Dict[str, Tuple[str, Callable]]]:
    table: Dict[str, Dict[str, Tuple[str, Callable]]] = {
        "jaxgan": {
            "STATUS_NAMES": (
                "jaxgan.RESULTS(code).label",
                lambda: tuple(r.label for r in _results()),
            ),
        },
    }
    for catalogue, names in MOVED.items():
        for name in names:
            new = f"jaxgan.{catalogue}.{name}"
            table["jaxgan"][name] = (new, _attribute(new))
    for module, renames in RENAMED.items():
        for old, name in renames.items():
            new = f"{module}.{name}" if module != "jaxgan" else f"jaxgan.{name}"
            table.setdefault(module, {})[old] = (new, _attribute(new))
    return table


def _results():
    from ._core.status import RESULTS

    return RESULTS


#: ``{module: {old name: (the new spelling, a function giving the value)}}``
DEPRECATED: Dict[str, Dict[str, Tuple[str, Callable]]] = _table()


def warn(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release: use {new}.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def module_getattr(module: str) -> Callable:
    """The ``__getattr__`` of ``module``: a deprecated name warns and gives its value, any
    other missing name raises ``AttributeError`` as usual."""
    table = DEPRECATED.get(module, {})

    def __getattr__(name: str):
        if name in table:
            new, value = table[name]
            # `from jaxgan import cgd` asks twice: the import system's `hasattr` (from its
            # `_handle_fromlist`), then the statement's own lookup, which warns: one warning
            if sys._getframe(1).f_code.co_name != "_handle_fromlist":
                warn(f"{module}.{name}", new)
            return value()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
