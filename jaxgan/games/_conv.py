"""Convolutional players in flax: a DCGAN-style generator and discriminator (Radford, Metz &
Chintala 2016).

The generator projects a latent vector by a dense layer to a ``4 x 4 x g_channels`` map,
then doubles the resolution with stride-2 transposed convolutions (halving the channels)
until the image size, and ends with a ``3 x 3`` convolution and ``tanh``; the
discriminator mirrors it: a ``3 x 3`` convolution, stride-2 convolutions doubling the
channels down to ``4 x 4``, and a dense logit. Activations are ReLU (generator) and
leaky ReLU of slope 0.2 (discriminator), as DCGAN's. DCGAN's batch normalisation is left
out: a game's players must be pure functions of their parameters (batch statistics would
make the field depend on the batch's composition and on mutable state), so the field,
its Jacobian and its spectrum here are exact functions of ``(phi, theta)``.

Images are flat rows ``(N, H W C)`` as every neural game's data are; the players reshape.
Parameters take the data's dtype (float64 data, float64 players).
``DCGAN_SIZES`` names two sizes on the 8x8 digits: ``"small"`` (5,042 parameters, for
tests and notebooks) and ``"million"`` (1,013,122 parameters, most of them in the
generator's projection, as in DCGAN).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Optional, Tuple

import jax
import jax.numpy as jnp

from .._gan.losses import LOSSES
from .._validation.domains import Choice, Integer, Maybe, domains
from ._neural import NeuralGAN, _check_count, _check_data, neural_gan

#: Named sizes for 8x8 single-channel images: keyword arguments of ``dcgan``.
DCGAN_SIZES = {
    "small": dict(latent_dim=8, g_channels=16, d_channels=8),
    "million": dict(latent_dim=420, g_channels=128, d_channels=64),
}


@functools.lru_cache(maxsize=None)
def _modules():
    """The flax module classes, built on first use (the core does not import flax)."""
    import flax.linen as nn

    class Generator(nn.Module):
        image_shape: Tuple[int, int, int]
        channels: int
        param_dtype: Any = jnp.float32

        @nn.compact
        def __call__(self, z):
            h, w, c = self.image_shape
            stages = int(math.log2(h // 4))
            x = nn.Dense(
                4 * 4 * self.channels,
                name="project",
                param_dtype=self.param_dtype,
                dtype=self.param_dtype,
            )(z).reshape(4, 4, self.channels)
            x = nn.relu(x)
            ch = self.channels
            for i in range(stages):
                ch = max(ch // 2, 1)
                x = nn.relu(
                    nn.ConvTranspose(
                        ch,
                        (3, 3),
                        strides=(2, 2),
                        padding="SAME",
                        name=f"up{i}",
                        param_dtype=self.param_dtype,
                        dtype=self.param_dtype,
                    )(x)
                )
            x = nn.Conv(
                c,
                (3, 3),
                padding="SAME",
                name="to_image",
                param_dtype=self.param_dtype,
                dtype=self.param_dtype,
            )(x)
            return jnp.tanh(x).reshape(-1)

    class Discriminator(nn.Module):
        image_shape: Tuple[int, int, int]
        channels: int
        param_dtype: Any = jnp.float32

        @nn.compact
        def __call__(self, x):
            h, w, c = self.image_shape
            stages = int(math.log2(h // 4))
            x = x.reshape(h, w, c)
            x = nn.leaky_relu(
                nn.Conv(
                    self.channels,
                    (3, 3),
                    padding="SAME",
                    name="from_image",
                    param_dtype=self.param_dtype,
                    dtype=self.param_dtype,
                )(x),
                0.2,
            )
            ch = self.channels
            for i in range(stages):
                ch = ch * 2
                x = nn.leaky_relu(
                    nn.Conv(
                        ch,
                        (3, 3),
                        strides=(2, 2),
                        padding="SAME",
                        name=f"down{i}",
                        param_dtype=self.param_dtype,
                        dtype=self.param_dtype,
                    )(x),
                    0.2,
                )
            return nn.Dense(1, name="logit", param_dtype=self.param_dtype, dtype=self.param_dtype)(
                x.reshape(-1)
            )[0]

    return Generator, Discriminator


@domains(
    latent_dim=Maybe(Integer(1)),
    g_channels=Maybe(Integer(1)),
    d_channels=Maybe(Integer(1)),
    num_latents=Maybe(Integer(1)),
    loss=Choice(*LOSSES),
)
def dcgan(
    data,
    *,
    key: jax.Array,
    image_shape: Tuple[int, int, int] = (8, 8, 1),
    size: Optional[str] = "small",
    latent_dim: Optional[int] = None,
    g_channels: Optional[int] = None,
    d_channels: Optional[int] = None,
    num_latents: Optional[int] = None,
    loss: str = "standard",
    name: str = "dcgan",
) -> NeuralGAN:
    """A full-batch GAN between a DCGAN-style convolutional generator and discriminator.

    Both networks are flax.linen modules (see the module docstring); the game is on images
    given as flat rows.

    ``size`` picks ``DCGAN_SIZES[size]``; ``latent_dim``, ``g_channels`` and ``d_channels``
    override it. The image side must be ``4 * 2^k`` (``k >= 0`` up-sampling stages) and
    square. The game is ``neural_gan``'s: the data set and ``num_latents`` fixed latents
    (default ``N``) as exact quadrature rules, loss ``loss``.

    Args:
      data: ``(N, H * W * C)`` images (e.g. ``jg.datasets.digits()[0]``, in ``[-1, 1]``).
      key: initialises the modules and draws the latents.
      image_shape: ``(H, W, C)``.
      size: ``"small"``, ``"million"`` or ``None`` (then give the three sizes).
      latent_dim, g_channels, d_channels: the latent size, the generator's channels at
        ``4 x 4`` and the discriminator's first channels.
      num_latents: fixed latent samples (default ``N``).
      loss: ``"standard"``, ``"non_saturating"`` or ``"wgan"``.
      name: label.

    Returns:
      A ``NeuralGAN``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxgan as jg
      >>> data = jnp.zeros((4, 64))
      >>> ng = jg.games.dcgan(data, key=jax.random.PRNGKey(0))
      >>> ng.num_parameters, ng.generate(ng.params.phi, ng.latents).shape
      (5042, (4, 64))
    """
    where = "dcgan"
    data = _check_data(data, where)
    if size is not None and size not in DCGAN_SIZES:
        raise ValueError(
            f"{where}: `size` must be one of {sorted(DCGAN_SIZES)} or None, got {size!r}."
        )
    preset = dict(DCGAN_SIZES[size]) if size is not None else {}
    given = dict(latent_dim=latent_dim, g_channels=g_channels, d_channels=d_channels)
    preset.update({k: v for k, v in given.items() if v is not None})
    missing = [k for k in given if k not in preset]
    if missing:
        raise ValueError(f"{where}: with size=None give {missing}.")
    sizes = {k: _check_count(v, k, where) for k, v in preset.items()}
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 3
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in image_shape)
    ):
        raise ValueError(
            f"{where}: `image_shape` must be a tuple (H, W, C) of positive ints, got "
            f"{image_shape!r}."
        )
    h, w, c = (int(s) for s in image_shape)
    if h != w or h < 4 or h & (h - 1) != 0:
        raise ValueError(
            f"{where}: images must be square with side 4 * 2^k, got image_shape {image_shape!r}."
        )
    if h * w * c != data.shape[1]:
        raise ValueError(
            f"{where}: `image_shape` {image_shape!r} "
            f"has {h * w * c} values but the data's rows have {data.shape[1]}."
        )
    Generator, Discriminator = _modules()
    G = Generator((h, w, c), sizes["g_channels"], data.dtype)
    D = Discriminator((h, w, c), sizes["d_channels"], data.dtype)
    return neural_gan(
        G,
        D,
        data,
        key=key,
        latent_dim=sizes["latent_dim"],
        num_latents=num_latents,
        loss=loss,
        name=name,
    )
