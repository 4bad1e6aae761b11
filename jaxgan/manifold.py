"""The follower's best-response manifold ``M = {(phi, theta): grad_theta loss_d = 0}``.

The public home of the manifold tools that best-response descent, Follow-the-Ridge and GLGD
are built on: the projection onto the tangent space ``T_w M = null([H_tp, H_tt])``, the
retraction of ``theta`` back onto ``M``, the leader's total derivative along it and the
ridge lift (formulas and references in ``jaxgan._analysis.manifold``). This namespace is their one
public home; the top-level spellings of earlier releases (``jg.retract``) warn and name it.
"""

from ._analysis.manifold import Projection as Projection
from ._analysis.manifold import Retraction as Retraction
from ._analysis.manifold import retract as retract
from ._analysis.manifold import ridge_lift as ridge_lift
from ._analysis.manifold import tangent_projection as tangent_projection
from ._analysis.manifold import total_derivative as total_derivative

__all__ = [
    "Projection",
    "Retraction",
    "retract",
    "ridge_lift",
    "tangent_projection",
    "total_derivative",
]
