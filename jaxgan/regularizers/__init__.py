"""Regularisers that turn a GAN into a GAN: gradient penalties, instance noise; clipping.

Each penalty adds a term to the discriminator's loss of a ``jaxgan.games.GAN`` and
returns a new GAN, so its field, Jacobian and spectrum stay exact (Mescheder, Geiger &
Nowozin 2018, Section 3; Gulrajani et al. 2017; Ehab 2023, section 12). Weight clipping
(Arjovsky et al. 2017) is a projection, so it is an optax transform placed last.
"""

from ._clipping import clip_discriminator as clip_discriminator
from ._penalties import fresh_instance_noise as fresh_instance_noise
from ._penalties import instance_noise as instance_noise
from ._penalties import r1 as r1
from ._penalties import r2 as r2
from ._penalties import relu_gp as relu_gp
from ._penalties import wgan_gp as wgan_gp

__all__ = [
    "clip_discriminator",
    "fresh_instance_noise",
    "instance_noise",
    "r1",
    "r2",
    "relu_gp",
    "wgan_gp",
]
