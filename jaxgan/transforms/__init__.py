"""Game algorithms as optax-style gradient transformations over the joint field ``xi``."""

from ._alternating import AlternatingState as AlternatingState
from ._alternating import alternating as alternating
from ._corrections import consensus as consensus
from ._corrections import jare as jare
from ._corrections import sga as sga
from ._extragradient import extragradient as extragradient
from ._per_player import per_player as per_player
from ._per_player import ttur as ttur

__all__ = ["AlternatingState", "alternating", "consensus", "extragradient", "jare", "per_player", "sga", "ttur"]
