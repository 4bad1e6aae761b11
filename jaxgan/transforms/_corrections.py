"""Game-aware corrections of the simultaneous gradient: consensus, JARE, SGA.

Each is an optax transformation that receives ``updates = xi`` (the joint field), the
joint ``params`` and ``game=``, and returns a corrected ``xi`` (no learning rate: chain
it before ``optax.sgd`` or any optimiser). Products with the field's Jacobian
``J = d xi / dw`` are matrix-free; ``J`` is never formed.

Costs, measured on a 19,491-parameter MLP GAN (``benchmarks/corrections.py``): one
evaluation of ``xi`` is a SimGD step; consensus and JARE each need one reverse pass
through a field evaluation (about 2.5 fields); SGA on a general-sum game needs that plus
one forward (JVP) pass, while on a game flagged ``zero_sum`` its adjustment ``A^T xi``
*is* JARE's correction (the diagonal blocks of ``J`` are Hessians, hence symmetric, and
``J_theta_phi = -J_phi_theta^T``), so it costs what JARE costs.
"""

from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp
import optax

from .._core.algebra import Info, Role, evaluation_point, transformation
from .._core.field import game_field
from .._core.game import Joint
from .._core.players import require_two_players
from .._validation.checks import checked_game_update
from .._validation.domains import Flag, Real, describe, domains

__all__ = ["consensus", "field_correction", "hamiltonian", "jare", "sga"]


def correction_transform(
    name: str, correct, *, two_player: bool = False, namespace: Optional[str] = "transforms"
) -> optax.GradientTransformationExtraArgs:
    """The stateless transformation of a field correction ``correct(game, xi, w) -> xi'``
    (role: field correction).

    It rewrites the incoming field at ``params`` (at the point where that field was evaluated,
    when a full step says so), and declares ``w -> correct(game, F(w), w)`` to the step
    algebra, so that a full step after it (``alternating``, ``extragradient``, ...) evaluates
    the corrected field at every point it visits. With ``two_player`` a game of more than two
    players is refused with the reason (``_players.TWO_PLAYER_ONLY[name]``).
    """

    def update_fn(updates, state, params=None, *, game=None, **extra_args):
        game = checked_game_update(updates, params, game, name, two_player=two_player)
        return correct(game, updates, evaluation_point(extra_args, params)), state

    def corrected(game):
        if two_player:
            require_two_players(game, name)
        return lambda v, w: correct(game, v, w)

    return transformation(
        Info(Role.CORRECTION, name, namespace=namespace),
        lambda params: optax.EmptyState(),
        update_fn,
        correct=corrected,
    )


def field_correction(name: str, correct: Callable) -> optax.GradientTransformationExtraArgs:
    """Declare a field correction of your own: ``correct(game, xi, w) -> xi'``.

    ``correct`` is a pure function of the game, the incoming field and the point (a ``Joint``
    pytree of ``xi``'s structure).

    .. math:: F(w) = \\mathrm{correct}(\\mathrm{game}, \\xi(w), w)

    The result has the role *field correction* in the step algebra: it comes first in a chain,
    composes with the other corrections as a function of the field, and a full step after it
    (``alternating``, ``extragradient``, ``cgd``, ...) evaluates the corrected field at every
    point it visits. Placed after a direction stage it raises.

    Args:
      name: the name the step algebra's messages use (a string).
      correct: ``(game, xi, w) -> xi'``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jax, optax, jaxgan as jg
      >>> damp = jg.transforms.field_correction("damp", lambda game, xi, w: jax.tree.map(lambda g,
      ... x: g + 0.5 * x, xi, w))
      >>> game = jg.games.bilinear(1.0)
      >>> round(float(jg.spectral_radius(game, optax.chain(damp, optax.sgd(0.5)),
      ... game.equilibrium)), 6)
      0.901388
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"field_correction: `name` must be a non-empty string, got {name!r}.")
    if not callable(correct):
        raise TypeError(
            "field_correction: `correct` must be a callable (game, xi, w) -> xi', got "
            f"{describe(correct)}."
        )
    return correction_transform(name, correct, namespace=None)


def _jacobian_transpose_times(game, params, v):
    """``J^T v`` at ``params`` (``J = d xi / dw``): one VJP of the field."""
    _, vjp = jax.vjp(game_field(game), params)
    return vjp(v)[0]


def _jare_correction(game, params, v):
    """JARE's operator on the field ``v`` it receives, ``(J_theta_phi^T v_theta, J_phi_theta^T
    v_phi)`` at ``params`` (``J = d xi / dw``, the game's), by one reverse pass.

    For ``v = xi`` this is ``(grad_phi |xi_theta|^2 / 2, grad_theta |xi_phi|^2 / 2)``. Each half
    of the field is differentiated in its own argument only, the other player being the
    (closed-over, still differentiable) ``params``: the forward pass is one field evaluation
    split in two, the reverse pass costs about one VJP of the field.
    """
    field = game_field(game)

    def crossed(phi_, theta_):
        return field(Joint(phi_, params.theta)).theta, field(Joint(params.phi, theta_)).phi

    out, vjp = jax.vjp(crossed, params.phi, params.theta)
    cotangent = optax.tree.cast_like((v.theta, v.phi), out)
    return Joint(*vjp(cotangent))


def _own_curvature(game, params, u: Joint, v: Joint):
    """``u^T S v`` with ``S = blockdiag(H_phi_phi loss_g, H_theta_theta loss_d)``, by
    forward-over-forward second directional derivatives of the two losses (batching the
    two probes with vmap measured slower on CPU)."""

    def second(f, x, a, b):
        return jax.jvp(lambda y: jax.jvp(f, (y,), (a,))[1], (x,), (b,))[1]

    g = second(lambda p: game.loss_g(p, params.theta), params.phi, u.phi, v.phi)
    d = second(lambda t: game.loss_d(params.phi, t), params.theta, u.theta, v.theta)
    return g + d


@domains(gamma=Real(0))
def consensus(gamma: jax.typing.ArrayLike) -> optax.GradientTransformationExtraArgs:
    """Consensus optimisation (Mescheder, Nowozin & Geiger 2017).

    The field is corrected as

    .. math:: \\xi \\leftarrow \\xi + \\gamma J^T \\xi = \\xi + \\gamma \\nabla (\\tfrac12
      |\\xi|^2).

    At an equilibrium the corrected field's Jacobian is ``A - gamma J^T J``; on the
    Dirac-GAN its eigenvalues are ``-gamma f'(0)^2 +- i f'(0)`` (Mescheder et al. 2017, on the
    Dirac-GAN's 2x2 Jacobian). Cost per step:
    one VJP of the field (a second-order reverse pass).

    Args:
      gamma: the consensus weight (traceable, injectable).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> jg.eigenvalues(game, game.equilibrium,
      ... transform=jg.transforms.consensus(0.5)).real.tolist()
      [-0.5, -0.5]

    References:
      Mescheder, Nowozin & Geiger, "The numerics of GANs", 2017.
    """

    def correct(game, updates, params):
        return optax.tree.cast_like(
            optax.tree.add_scale(updates, gamma, _jacobian_transpose_times(game, params, updates)),
            updates,
        )

    return correction_transform("consensus", correct)


def hamiltonian() -> optax.GradientTransformationExtraArgs:
    """Hamiltonian gradient descent (Balduzzi et al. 2018; Loizou et al. 2020).

    It descends the Hamiltonian ``H(w) = |xi(w)|^2 / 2`` instead of following ``xi``,

    .. math:: \\xi \\leftarrow \\nabla H = J^T \\xi, \\qquad J = d\\xi / dw,

    chained with the learning rate: ``optax.chain(jg.transforms.hamiltonian(), optax.sgd(eta))``.
    Its fixed points are the stationary points of ``H`` (every equilibrium, and spurious minima of
    ``|xi|`` too); on a bilinear game ``f = alpha x y`` it is gradient descent on ``alpha^2 (x^2 +
    y^2) / 2``, with one-step spectral radius ``|1 - eta alpha^2|``. Cost per step: one VJP of the
    field (consensus's cost). Like ``consensus`` it acts on the incoming ``xi`` with the game's
    Jacobian, and a wrapper after it uses ``J^T xi`` at every point.

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.bilinear(2.0)
      >>> tx = optax.chain(jg.transforms.hamiltonian(), optax.sgd(0.1))
      >>> round(float(jg.spectral_radius(game, tx, game.equilibrium)), 6)  # |1 - 0.1 * 4|
      0.6

    References:
      Balduzzi, Racaniere, Martens, Foerster, Tuyls & Graepel, "The mechanics of n-player
      differentiable games", ICML 2018. Loizou, Berard, Jolicoeur-Martineau, Vincent,
      Lacoste-Julien & Mitliagkas, "Stochastic Hamiltonian gradient methods for smooth
      games", ICML 2020.
    """

    def correct(game, updates, params):
        jt_xi = _jacobian_transpose_times(game, params, updates)
        return jax.tree.map(lambda x, c: c.astype(x.dtype), updates, jt_xi)

    return correction_transform("hamiltonian", correct)


@domains(gamma=Real(0))
def jare(gamma: jax.typing.ArrayLike) -> optax.GradientTransformationExtraArgs:
    """Jacobian regularisation, JARE (Nie & Patel 2019).

    The correction is only the off-diagonal blocks of ``J^T xi``,

    .. math:: \\xi_\\phi \\leftarrow \\xi_\\phi + \\tfrac{\\gamma}{2} \\nabla_\\phi
      |\\xi_\\theta|^2,
              \\qquad \\xi_\\theta \\leftarrow \\xi_\\theta + \\tfrac{\\gamma}{2} \\nabla_\\theta
              |\\xi_\\phi|^2,

    i.e. the generator descends the discriminator's gradient norm and vice versa
    (``|xi_theta| = |grad_theta f|`` in a zero-sum game). On the linear Gaussian GAN the
    corrected Jacobian's eigenvalues at the equilibrium are, per eigenvalue ``mu`` of
    ``s2 I + v v^T``, ``(-(mu + gamma) +- sqrt((mu + gamma)^2 - (gamma^2 + 4))) / 4``
    (Theorem 3). Cost per step: one reverse pass through a field evaluation split by
    player (about one VJP of the field). Like every correction it is an operator of the
    game's Jacobian at ``params`` applied to the field it receives: after another correction
    ``F``, ``F_phi + gamma J_theta_phi^T F_theta`` (the composition rule).

    Args:
      gamma: the regularisation weight (traceable, injectable).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> jg.eigenvalues(game, game.equilibrium, transform=jg.transforms.jare(1.0)).real.tolist()
      [-1.0, -1.0]

    References:
      Nie & Patel, "Towards a better understanding and regularization of GAN training
      dynamics", UAI 2019.
    """

    def correct(game, updates, params):
        # phi: (d xi_theta / d phi)^T xi_theta ; theta: (d xi_phi / d theta)^T xi_phi
        return optax.tree.cast_like(
            optax.tree.add_scale(updates, gamma, _jare_correction(game, params, updates)), updates
        )

    return correction_transform("jare", correct, two_player=True)


@domains(lam=Real(0), align=Flag(), epsilon=Real(0, low_open=True))
def sga(
    lam: jax.typing.ArrayLike, *, align: bool = True, epsilon: jax.typing.ArrayLike = 0.1
) -> optax.GradientTransformationExtraArgs:
    """Symplectic gradient adjustment (Balduzzi et al. 2018).

    The field is adjusted as

    .. math:: \\xi \\leftarrow \\xi + \\lambda A^T \\xi, \\qquad A = (J - J^T) / 2,

    with, when ``align`` is set, the sign of ``lambda`` chosen by the alignment rule
    ``sign(<xi, J^T xi> <A^T xi, J^T xi> / d + epsilon)`` (``d`` the number of
    parameters), which makes the adjustment point towards stable fixed points and away
    from unstable ones. On a game whose ``J`` is antisymmetric (bilinear, Dirac-GAN at
    the equilibrium) the adjusted Jacobian is ``A - lambda J^T J``. Cost per step: one
    JVP and one VJP of the field; on a game flagged ``zero_sum``, JARE's one reverse pass
    (``A^T xi`` is JARE's correction there) plus, with ``align``, two forward-over-forward
    second directional derivatives of the losses.

    **Sign convention**: ``A`` is ``(J - J^T) / 2`` with ``J = d xi / dw`` (rows the field's
    components), and ``lambda > 0`` adds ``+lambda A^T xi``, as in Balduzzi et al.'s paper.
    Code that writes the antisymmetric part the other way round, ``(J^T - J) / 2`` (or
    differentiates ``v = -xi`` instead of ``xi``), flips the sign of ``lambda``: compare the
    adjusted Jacobian ``J - lambda A^2`` on a bilinear game (``lambda > 0`` damps it here).
    For ``n`` players the formula is the same (``J`` has ``n x n`` blocks).

    Args:
      lam: adjustment weight (traceable, injectable).
      align: use the sign-alignment rule.
      epsilon: the alignment rule's offset (Balduzzi et al. use 0.1).

    Returns:
      An ``optax.GradientTransformationExtraArgs``; ``update`` needs ``params`` and ``game=``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.bilinear(2.0)
      >>> jg.eigenvalues(game, game.equilibrium, transform=jg.transforms.sga(0.25)).real.tolist()
      [-1.0, -1.0]

    References:
      Balduzzi, Racaniere, Martens, Foerster, Tuyls & Graepel, "The mechanics of
      n-player differentiable games", ICML 2018.
    """
    Flag().check(align, "sga", "align")

    def correct(game, updates, params):
        d = sum(jnp.size(x) for x in jax.tree.leaves(updates))
        if game.zero_sum and game.field_from_losses:  # the shortcut reads the losses
            # A^T xi is JARE's correction; with J^T xi = S xi + A^T xi and <xi, A^T xi> = 0 the
            # alignment needs only u^T S v for (u, v) = (xi, xi) and (A^T xi, xi).
            at_xi = _jare_correction(game, params, updates)
            if align:
                xi_s_xi = _own_curvature(game, params, updates, updates)
                at_s_xi = _own_curvature(game, params, at_xi, updates)
                alignment = xi_s_xi * (at_s_xi + optax.tree.vdot(at_xi, at_xi)) / d
        else:
            field = game_field(game)
            _, j_xi = jax.jvp(field, (params,), (updates,))
            _, vjp = jax.vjp(field, params)
            (jt_xi,) = vjp(updates)
            at_xi = jax.tree.map(lambda a, b: (a - b) / 2, jt_xi, j_xi)
            alignment = optax.tree.vdot(updates, jt_xi) * optax.tree.vdot(at_xi, jt_xi) / d
        scale = jnp.asarray(lam)
        if align:
            sign = jnp.sign(alignment + epsilon)
            scale = scale * jax.lax.stop_gradient(sign)
        return optax.tree.cast_like(optax.tree.add_scale(updates, scale, at_xi), updates)

    return correction_transform("sga", correct)
