"""Game algorithms as optax-style gradient transformations over the joint field ``xi``."""

from ._alternating import AlternatingState as AlternatingState
from ._alternating import alternating as alternating

__all__ = ["AlternatingState", "alternating"]
