"""Neural games: a generator and a discriminator network, a data set and a loss family.

``neural_gan`` takes any ``flax.linen`` or ``flax.nnx`` module pair (flax is imported
only when such a module is passed: the core stays free of flax); ``mlp_gan`` builds the
same kind of game from plain-JAX tanh MLPs (no flax at all). Either gives a
``NeuralGAN``: its ``game`` is a ``jaxgan.games.GAN`` with *exact full-batch* dynamics:
the whole data set and a fixed set of latent samples are the quadrature rules, so the
field, its Jacobian and its spectrum are deterministic functions of the parameters
(Ehab 2023, section 10: minibatch noise hides the dynamics one wants to measure). For
training as practitioners do it, ``minibatch(batch_size)`` gives a stochastic game
``key -> GAN`` (a fresh minibatch of data and of latents per key) that ``jaxgan.rollout``
runs with ``key=``.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .._core.game import Joint
from .._gan.expect import fixed_samples
from .._gan.gan import GAN, gan
from .._gan.losses import LOSSES, check_loss
from .._validation.domains import Choice, Integer, IntSequence, Maybe, describe, domains


@dataclasses.dataclass(frozen=True, eq=False)
class NeuralGAN:
    """A GAN between two networks on a fixed data set (build it with ``neural_gan`` or ``mlp_gan``).

    Attributes:
      game: the full-batch game (all of ``data``, the fixed ``latents``).
      params: initial parameters, a ``Joint(phi, theta)``.
      generator: ``(phi, z) -> x`` for one latent ``z``.
      discriminator: ``(theta, x) -> scalar`` logit for one sample.
      data: ``(N, d)`` data set.
      latents: ``(M, latent_dim)`` fixed latent samples of the full-batch game.
      loss: the loss family.

    Examples:
      >>> import jax, jaxgan as jg
      >>> ng = jg.games.mlp_gan(jg.datasets.ring().sample(jax.random.PRNGKey(0), 16),
      ... key=jax.random.PRNGKey(1), hidden=(4,))
      >>> ng.latents.shape, ng.sample(ng.params.phi, jax.random.PRNGKey(2), 5).shape
      ((16, 2), (5, 2))
    """

    game: GAN
    params: Joint
    generator: Callable
    discriminator: Callable
    data: jax.Array
    latents: jax.Array
    loss: str

    @property
    def latent_dim(self) -> int:
        return int(self.latents.shape[1])

    @property
    def num_parameters(self) -> int:
        return int(sum(np.size(x) for x in jax.tree.leaves(self.params)))

    def generate(self, phi, z) -> jax.Array:
        """Generated samples ``G(phi, z_i)`` for latents ``z`` of shape ``(n, latent_dim)``."""
        return jax.vmap(lambda zi: self.generator(phi, zi))(jnp.asarray(z))

    def sample(self, phi, key: jax.Array, n: int) -> jax.Array:
        """``n`` generated samples from fresh standard-normal latents."""
        z = jax.random.normal(key, (n, self.latent_dim), dtype=self.latents.dtype)
        return self.generate(phi, z)

    def minibatch(
        self, batch_size: int, *, regularize: Optional[Callable[[GAN], GAN]] = None
    ) -> Callable[[jax.Array], GAN]:
        """The stochastic game of minibatch training: ``key -> GAN``.

        Each key draws ``batch_size`` data points (without replacement) and
        ``batch_size`` fresh standard-normal latents; ``regularize`` (e.g.
        ``lambda g: jg.regularizers.r1(g, 1.0)``) is applied to each minibatch game.
        Run it with ``jaxgan.rollout(ng.minibatch(64), tx, w0, steps, key=key)``.
        """
        n = int(self.data.shape[0])
        Integer(1, n).check(batch_size, "NeuralGAN.minibatch", "batch_size")  # n: the data
        if regularize is not None and not callable(regularize):
            raise TypeError(
                "NeuralGAN.minibatch: `regularize` must be a callable GAN -> GAN, e.g. lambda g: "
                "jg.regularizers.r1(g, 1.0)."
            )

        def game_at(key):
            k_data, k_z = jax.random.split(key)
            idx = jax.random.choice(k_data, n, (batch_size,), replace=False)
            z = jax.random.normal(k_z, (batch_size, self.latent_dim), dtype=self.latents.dtype)
            g = gan(
                self.generator,
                self.discriminator,
                fixed_samples(self.data[idx]),
                fixed_samples(z),
                loss=self.loss,
                name=self.game.name + "/minibatch",
            )
            return regularize(g) if regularize is not None else g

        return game_at


# --------------------------------------------------------------------------- flax adapters


def _is_linen(module) -> bool:
    linen = sys.modules.get("flax.linen")
    return linen is not None and isinstance(module, linen.Module)


def _is_nnx(module) -> bool:
    nnx = sys.modules.get("flax.nnx")
    return nnx is not None and isinstance(module, nnx.Module)


def _adapt(module, key, example, arg: str):
    """``(params, apply)`` of a flax module: ``apply(params, x)`` on one unbatched sample."""
    if _is_linen(module):
        # one compiled program, not one per operation of an eager initialisation
        variables = jax.jit(module.init)(key, example)
        extra = sorted(set(variables) - {"params"})
        if extra:
            raise ValueError(
                f"neural_gan: `{arg}` has variable collections {extra} besides 'params'; "
                "a game needs pure players (no batch statistics or other mutable state)."
            )
        return variables, lambda p, x: module.apply(p, x)
    if _is_nnx(module):
        from flax import nnx

        graphdef, params, rest = nnx.split(module, nnx.Param, ...)
        if jax.tree.leaves(rest):
            raise ValueError(
                f"neural_gan: `{arg}` holds nnx state besides nnx.Param "
                "(batch statistics, RNG streams); a game needs pure players."
            )
        return params, lambda p, x: nnx.merge(graphdef, p, rest)(x)
    raise TypeError(
        f"neural_gan: `{arg}` must be a flax.linen.Module or a flax.nnx.Module, "
        f"got {describe(module)} (for plain functions use jaxgan.games.gan or mlp_gan)."
    )


def _check_data(data, where):
    data = jnp.asarray(data)
    if data.ndim != 2 or data.shape[0] < 1:
        raise ValueError(
            f"{where}: `data` must be an (N, d) array of samples, got shape {data.shape}."
        )
    if not jnp.issubdtype(data.dtype, jnp.floating):
        raise TypeError(f"{where}: `data` must be floating point, got {data.dtype}.")
    if not isinstance(data, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(data))):
        raise ValueError(f"{where}: `data` has non-finite values.")
    return data


def _check_count(value, arg, where):
    Integer(1).check(value, where, arg)
    return int(value)


def _scalar_logit(apply, where):
    def d(theta, x):
        out = apply(theta, x)
        if jnp.size(out) != 1:
            raise ValueError(
                f"{where}: the discriminator must output one logit per sample, got shape "
                f"{jnp.shape(out)}."
            )
        return jnp.reshape(out, ())

    return d


@domains(latent_dim=Integer(1), num_latents=Maybe(Integer(1)), loss=Choice(*LOSSES))
def neural_gan(
    generator,
    discriminator,
    data,
    *,
    key: jax.Array,
    latent_dim: int,
    num_latents: Optional[int] = None,
    loss: str = "standard",
    name: str = "neural-gan",
) -> NeuralGAN:
    """A full-batch GAN between two flax modules (``flax.linen`` or ``flax.nnx``).

    The generator maps one latent vector ``(latent_dim,)`` to one sample ``(d,)``, the
    discriminator one sample to one logit (shape ``()`` or ``(1,)``); both are applied
    per sample under ``vmap``. linen modules are initialised here with ``key``; nnx
    modules come initialised and are split into ``nnx.Param`` state. The game is
    ``jaxgan.games.gan`` with the data set and ``num_latents`` fixed latents (default
    ``N``) as exact rules: Mescheder et al. (2018, Eq. 1) with ``loss``.

    Args:
      generator, discriminator: flax modules.
      data: ``(N, d)`` samples.
      key: initialises the modules (linen) and draws the fixed latents.
      latent_dim: the generator's input size.
      num_latents: fixed latent samples (default ``N``).
      loss: ``"standard"``, ``"non_saturating"`` or ``"wgan"``.
      name: label.

    Returns:
      A ``NeuralGAN``.

    Examples:
      >>> import jax, flax.linen as nn, jaxgan as jg
      >>> data = jg.datasets.circle().sample(jax.random.PRNGKey(0), 32)
      >>> G = nn.Sequential([nn.Dense(8), nn.tanh, nn.Dense(2)])
      >>> D = nn.Sequential([nn.Dense(8), nn.tanh, nn.Dense(1)])
      >>> ng = jg.games.neural_gan(G, D, data, key=jax.random.PRNGKey(1), latent_dim=2)
      >>> ng.num_parameters, jg.eigenvalues(ng.game, ng.params).shape
      (75, (75,))
    """
    where = "neural_gan"
    check_loss(loss, where)
    data = _check_data(data, where)
    latent_dim = _check_count(latent_dim, "latent_dim", where)
    num_latents = (
        data.shape[0] if num_latents is None else _check_count(num_latents, "num_latents", where)
    )
    k_g, k_d, k_z = jax.random.split(key, 3)
    latents = jax.random.normal(k_z, (num_latents, latent_dim), dtype=data.dtype)
    phi, g_apply = _adapt(generator, k_g, latents[0], "generator")
    theta, d_apply = _adapt(discriminator, k_d, data[0], "discriminator")
    return _assemble(
        g_apply, _scalar_logit(d_apply, where), Joint(phi, theta), data, latents, loss, name, where
    )


def _assemble(g_apply, d_apply, params, data, latents, loss, name, where) -> NeuralGAN:
    out = jax.eval_shape(g_apply, params.phi, latents[0])
    if out.shape != data.shape[1:]:
        raise ValueError(
            f"{where}: the generator outputs shape {out.shape} but the data's samples have shape "
            f"{data.shape[1:]}."
        )
    game = gan(g_apply, d_apply, fixed_samples(data), fixed_samples(latents), loss=loss, name=name)
    return NeuralGAN(game, params, g_apply, d_apply, data, latents, loss)


# --------------------------------------------------------------------------- plain-JAX MLPs


@domains(sizes=IntSequence(1))
def mlp_init(key: jax.Array, sizes: Sequence[int], dtype=None):
    """Parameters ``[(W, b), ...]`` of an MLP with layer sizes ``sizes``.

    The weights are LeCun-normal, the biases zero.

    Examples:
      >>> import jax, jaxgan as jg
      >>> [(w.shape, b.shape) for w, b in jg.games.mlp_init(jax.random.PRNGKey(0), (2, 8, 1))]
      [((2, 8), (8,)), ((8, 1), (1,))]
    """
    dtype = jnp.zeros(()).dtype if dtype is None else dtype
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (a, b), dtype) / np.sqrt(a).astype(dtype), jnp.zeros((b,), dtype))
        for k, a, b in zip(keys, sizes[:-1], sizes[1:])
    ]


def mlp_apply(params, x, activation: Callable = jnp.tanh):
    """The MLP of ``mlp_init``'s parameters, applied to ``x``.

    ``x -> W_L(... activation(W_1 x + b_1) ...) + b_L``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxgan as jg
      >>> params = jg.games.mlp_init(jax.random.PRNGKey(0), (2, 8, 1))
      >>> jg.games.mlp_apply(params, jnp.zeros(2)).tolist()  # zero biases: the output at 0 is 0
      [0.0]
    """
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < len(params) - 1:
            x = activation(x)
    return x


@domains(
    latent_dim=Integer(1),
    num_latents=Maybe(Integer(1)),
    loss=Choice(*LOSSES),
    hidden=IntSequence(1),
    disc_hidden=Maybe(IntSequence(1)),
)
def mlp_gan(
    data,
    *,
    key: jax.Array,
    latent_dim: int = 2,
    hidden: Sequence[int] = (64, 64),
    disc_hidden: Optional[Sequence[int]] = None,
    num_latents: Optional[int] = None,
    activation: Callable = jnp.tanh,
    output_activation: Optional[Callable] = None,
    loss: str = "standard",
    name: str = "mlp-gan",
) -> NeuralGAN:
    """A full-batch GAN between two plain-JAX MLPs (no flax needed).

    Generator ``latent_dim -> hidden -> d`` (``output_activation`` on the output, e.g.
    ``jnp.tanh`` for images in ``[-1, 1]``), discriminator ``d -> disc_hidden -> 1``
    (default ``hidden``), ``activation`` between layers; otherwise as ``neural_gan``.

    Examples:
      >>> import jax, jaxgan as jg
      >>> data = jg.datasets.ring().sample(jax.random.PRNGKey(0), 64)
      >>> ng = jg.games.mlp_gan(data, key=jax.random.PRNGKey(1), hidden=(8, 8))
      >>> ng.num_parameters, jg.jacobian(ng.game, ng.params).shape
      (219, (219, 219))
    """
    where = "mlp_gan"
    check_loss(loss, where)
    data = _check_data(data, where)
    latent_dim = _check_count(latent_dim, "latent_dim", where)
    hidden = tuple(_check_count(h, "hidden", where) for h in hidden)
    disc_hidden = (
        hidden
        if disc_hidden is None
        else tuple(_check_count(h, "disc_hidden", where) for h in disc_hidden)
    )
    num_latents = (
        data.shape[0] if num_latents is None else _check_count(num_latents, "num_latents", where)
    )
    d = data.shape[1]
    k_g, k_d, k_z = jax.random.split(key, 3)
    phi = mlp_init(k_g, (latent_dim, *hidden, d), data.dtype)
    theta = mlp_init(k_d, (d, *disc_hidden, 1), data.dtype)
    latents = jax.random.normal(k_z, (num_latents, latent_dim), dtype=data.dtype)

    def g_apply(p, z):
        x = mlp_apply(p, z, activation)
        return x if output_activation is None else output_activation(x)

    def d_apply(t, x):
        return mlp_apply(t, x, activation)[0]

    return _assemble(g_apply, d_apply, Joint(phi, theta), data, latents, loss, name, where)
