"""Classes of games for worst-case analyses: ``f = mu/2 |x|^2 + x^T A y - mu/2 |y|^2`` with the
singular values of ``A`` in an interval, in any dimension (``jg.worst_case_radius``,
``jg.tune``)."""

from ._prescribe.families import Family as Family
from ._prescribe.families import bilinear as bilinear
from ._prescribe.families import quadratic as quadratic

__all__ = ["Family", "bilinear", "quadratic"]
