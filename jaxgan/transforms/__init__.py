"""Game algorithms as optax-style gradient transformations over the joint field ``xi``.

This catalogue is their one public home: ``jaxgan.transforms.cgd``, not ``jaxgan.cgd`` (the
top-level spellings of earlier releases warn and name this one).
"""

from ._alternating import AlternatingState as AlternatingState
from ._alternating import alternating as alternating
from ._best_response import BestResponseState as BestResponseState
from ._best_response import BestResponseStats as BestResponseStats
from ._best_response import best_response as best_response
from ._box import project_box as project_box
from ._competitive import ACGDState as ACGDState
from ._competitive import CGDState as CGDState
from ._competitive import acgd as acgd
from ._competitive import cgd as cgd
from ._corrections import consensus as consensus
from ._corrections import field_correction as field_correction
from ._corrections import hamiltonian as hamiltonian
from ._corrections import jare as jare
from ._corrections import sga as sga
from ._extragradient import ExtragradientState as ExtragradientState
from ._extragradient import extragradient as extragradient
from ._follow_the_ridge import FollowTheRidgeState as FollowTheRidgeState
from ._follow_the_ridge import follow_the_ridge as follow_the_ridge
from ._gda_am import AndersonState as AndersonState
from ._gda_am import gda_am as gda_am
from ._glgd import glgd as glgd
from ._lookahead import LookaheadState as LookaheadState
from ._lookahead import lookahead as lookahead
from ._opponent_shaping import lola as lola
from ._opponent_shaping import opponent_lookahead as opponent_lookahead
from ._opponent_shaping import sos as sos
from ._per_player import per_player as per_player
from ._per_player import ttur as ttur
from ._proximal_point import ProximalPointState as ProximalPointState
from ._proximal_point import proximal_point as proximal_point
from ._stonr import StonrState as StonrState
from ._stonr import stonr as stonr
from ._stonr_certificate import LOCAL_TYPES as LOCAL_TYPES
from ._stonr_certificate import stonr_certificate as stonr_certificate
from ._stonr_run import StonrResult as StonrResult
from ._stonr_run import run_stonr as run_stonr

__all__ = [
    "ACGDState",
    "AndersonState",
    "AlternatingState",
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
    "alternating",
    "acgd",
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
    "opponent_lookahead",
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
]

from .._deprecations import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__)
