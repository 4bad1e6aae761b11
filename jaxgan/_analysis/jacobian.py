"""Dense Jacobians of the vector field by chunked forward mode, and their player blocks.

Rows and columns are in ``ravel`` order: the ``phi`` leaves first, then ``theta``
(``jax.flatten_util.ravel_pytree`` order of ``Joint(phi, theta)``).
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.field import negated_field
from .._core.game import Game, Joint, Players, StackedPlayers
from .._jaxpr.conv_layout import canonical_convolutions
from .._validation.cache import compiled
from .._validation.checks import (
    check_finite,
    check_game,
    check_point,
    check_read,
    check_transform_hyperparams,
    entry,
    transform_at,
)
from .._validation.domains import Integer, Maybe, describe


def check_chunk_size(chunk_size: Optional[int]) -> int:
    """The JVP block size of a dense assembly: a positive int (``None``: 16)."""
    if chunk_size is None:
        return 16
    Integer(1).check(chunk_size, "jacobian", "chunk_size")
    return int(chunk_size)


def dense_jacobian(
    fn: Callable[[jax.Array], jax.Array], z: jax.Array, chunk_size: Optional[int] = None
) -> jax.Array:
    """Dense Jacobian ``d fn / d z`` of a flat function by chunked forward mode.

    ``fn`` is linearised once (``jax.linearize``); its JVP is then applied to
    ``chunk_size`` basis vectors at a time under ``lax.scan``, and each block of columns
    is written in place into the ``(m, n)`` result (``dynamic_update_slice`` on the scan
    carry): peak memory is the result plus one block's tangents and intermediates,
    with no transposed copy. The last block starts at ``n - chunk_size`` (it recomputes
    a few columns rather than padding). A Jacobian of at most ``chunk_size`` columns is one
    batched JVP (nothing to linearise and stage).

    Args:
      fn: ``R^n -> R^m``, flat arrays in and out.
      z: the point, shape ``(n,)``.
      chunk_size: basis vectors per block; ``None`` picks ``min(n, 16)`` (the
        benchmark ``benchmarks/spectra.py`` measures time flat in the block size on
        the CPU, and memory growing with it).

    Returns:
      The ``(m, n)`` Jacobian; all NaN where ``z`` has a NaN or inf (the derivative at a
      non-finite point is undefined, whatever ``fn``).
    """
    # the derivative at a non-finite point is undefined: NaN, even where the map is linear (a
    # quadratic game's Jacobian does not read the point); a concrete point never gets here
    defined = jnp.all(jnp.isfinite(z))
    return jnp.where(defined, _dense_jacobian(fn, z, chunk_size), jnp.nan)


def _dense_jacobian(fn, z, chunk_size):
    n = z.shape[0]
    chunk_size = check_chunk_size(chunk_size)
    if (
        n <= chunk_size
    ):  # one block: a single batched JVP (no linearisation to stage, a shorter trace)
        return jax.vmap(lambda t: jax.jvp(fn, (z,), (t,))[1], out_axes=1)(jnp.eye(n, dtype=z.dtype))
    c = min(chunk_size, n)
    rows = jnp.arange(n)

    def chunked(z):
        out, jvp = jax.linearize(fn, z)

        def block(result, b):
            start = jnp.minimum(b * c, n - c)
            basis = (rows[:, None] == start + jnp.arange(c)[None, :]).astype(z.dtype)  # (n, c)
            cols = jax.vmap(jvp, in_axes=1, out_axes=1)(basis)  # (m, c)
            return jax.lax.dynamic_update_slice(result, cols.astype(result.dtype), (0, start)), None

        result = jnp.zeros((out.shape[0], n), out.dtype)
        return jax.lax.scan(block, result, jnp.arange(-(-n // c)))[0]

    # the products run in a scan body: convolutions in XLA's CPU kernel layout (see _conv_layout)
    return canonical_convolutions(chunked)(z)


@entry("w", chunk_size=Maybe(Integer(1)))
def jacobian(
    game: Game, w: Joint, *, transform=None, chunk_size: Optional[int] = None, hyperparams=None
) -> jax.Array:
    """Dense Jacobian ``A = dv/dw`` of the vector field ``v = -xi`` at ``w``.

    For a zero-sum game ``min_phi max_theta f`` this is the papers' matrix

    .. math:: A = [[-f_{phi phi}, -f_{phi theta}], [f_{theta phi}, f_{theta theta}]].

    Assembled by chunked forward mode (one ``jax.linearize`` of the field, then
    ``n / chunk_size`` batches of JVPs): memory near the ``n x n`` matrix. Compiled once per
    ``(game, transform)`` objects and static ``chunk_size``; ``w`` is traced, so a repeat
    call at a point of the same shapes compiles nothing.

    Args:
      game: a ``Game``.
      w: the point, a ``Joint``.
      transform: optional stateless correction (e.g. ``jg.transforms.consensus(1.0)``): the
        Jacobian is then of the corrected field ``-T(xi)`` (see ``corrected_field``). With
        ``hyperparams``, a callable ``h -> transformation`` (a ``make_tx``).
      chunk_size: JVPs per block (``None``: 16).
      hyperparams: the pytree handed to ``transform`` when it is a ``make_tx`` (traced: a new
        value compiles nothing; a dict key it never reads raises).

    Returns:
      ``(n, n)`` array, rows and columns in ravel order (``phi`` first).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> game = jg.zero_sum(lambda x, y: x * y)
      >>> jg.jacobian(game, jg.Joint(jnp.zeros(()), jnp.zeros(()))) + 0.0
      Array([[ 0., -1.],
             [ 1.,  0.]], dtype=float32)
    """
    return of_field_jacobian("jacobian", _the_matrix, game, w, transform, chunk_size, hyperparams)


def _the_matrix(a, w):
    return a


def of_field_jacobian(
    where: str, body, game: Game, w: Joint, transform, chunk_size, hyperparams=None
) -> object:
    """``body(A, w)`` for the dense field Jacobian ``A`` at ``w``, as one cached program (per
    ``where``, ``body``, game, transform and chunk size): the entry point of ``jacobian``,
    ``eigenvalues`` and ``spectrum``. Checks ``w`` first and, after, that ``A`` is finite.
    With ``hyperparams`` the transform is a ``make_tx`` called on them inside the program."""
    game = check_game(game, where)
    w = check_point(game, w, where)
    check_finite(w, where)
    check_transform_hyperparams(transform, hyperparams, where)
    options = (check_chunk_size(chunk_size), hyperparams is not None, where)
    program = compiled(where, _field_jacobian_program, (game, transform, body), options)
    out, finite = program(w, hyperparams)
    check_finite_jacobian(finite, where)
    return out


def _field_jacobian_program(game, transform, body, chunk_size, with_hyperparams, where):
    def program(w, hyperparams):
        t, h = transform_at(transform, hyperparams if with_hyperparams else None, where)
        a = field_jacobian(game, t, w, chunk_size)
        check_read(h, where)
        return body(a, w), jnp.all(jnp.isfinite(a))

    return program


def field_jacobian(game: Game, transform, w: Joint, chunk_size: int) -> jax.Array:
    """The traceable body of ``jacobian``: ``d(-T(xi))/dw`` at ``w`` as a dense matrix."""
    z, unravel = ravel_pytree(w)
    v = negated_field(game, transform)

    def v_flat(z):
        return ravel_pytree(v(unravel(z)))[0]

    return dense_jacobian(v_flat, z, chunk_size)


def check_finite_jacobian(finite, where: str) -> None:
    """Raise if a concrete Jacobian at a finite point has NaN or inf entries."""
    if not isinstance(finite, jax.core.Tracer) and not bool(finite):
        raise ValueError(
            f"{where}: the Jacobian at `w` has NaN or inf entries although `w` is finite: "
            "the game's losses or their first or second derivatives are not finite at this point."
        )


class Blocks(NamedTuple):
    """Player blocks of a Jacobian ``A = [[A_pp, A_pt], [A_tp, A_tt]]``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> b = jg.jacobian_blocks(jnp.arange(9.0).reshape(3, 3), jg.Joint(jnp.zeros(1),
      ... jnp.zeros(2)))
      >>> b.phi_phi.shape, b.phi_theta.shape, b.theta_theta.shape
      ((1, 1), (1, 2), (2, 2))
    """

    phi_phi: jax.Array
    phi_theta: jax.Array
    theta_phi: jax.Array
    theta_theta: jax.Array


def player_sizes(w) -> tuple:
    """Numbers of scalar parameters of each player: ``(n_phi, n_theta)`` of a ``Joint``,
    ``(n_1, ..., n_n)`` of ``Players``, ``n`` equal sizes of ``StackedPlayers``."""
    if isinstance(w, StackedPlayers):
        size = sum(int(np.prod(jnp.shape(x)[1:])) for x in jax.tree.leaves(w.x))
        return (size,) * len(w)
    return tuple(int(sum(jnp.size(x) for x in jax.tree.leaves(p))) for p in w)


@entry("w", game="a")
def jacobian_blocks(a: jax.Array, w):
    """Split a joint ``(n, n)`` matrix into its player blocks, using ``w``'s sizes.

    The blocks are a ``Blocks`` for a ``Joint``; for ``Players`` (or ``StackedPlayers``) of ``n``
    players, the ``n x n`` tuple of tuples with ``blocks[i][j]`` the rows of player ``i`` and
    the columns of player ``j`` (the off-diagonal ones are ``H_o``).

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> w = jg.Joint(jnp.zeros(1), jnp.zeros(2))
      >>> jg.jacobian_blocks(jnp.eye(3), w).theta_theta.shape
      (2, 2)
      >>> jg.jacobian_blocks(jnp.eye(4), jg.Players(0.0, jnp.zeros(2), 0.0))[1][1].shape
      (2, 2)
    """
    if not isinstance(w, (Joint, Players, StackedPlayers)):
        raise TypeError(
            f"jacobian_blocks: `w` must be a jaxgan.Joint or jaxgan.Players, got {describe(w)}."
        )
    sizes = player_sizes(w)
    total = sum(sizes)
    if jnp.shape(a) != (total, total):
        names = ", ".join(f"{n}" for n in sizes)
        raise ValueError(
            f"jacobian_blocks: `a` has shape {jnp.shape(a)}, "
            f"expected {(total, total)} for player sizes ({names})."
        )
    edges = np.cumsum((0,) + sizes)
    rows = tuple(
        tuple(a[edges[i] : edges[i + 1], edges[j] : edges[j + 1]] for j in range(len(sizes)))
        for i in range(len(sizes))
    )
    if isinstance(w, Joint):
        return Blocks(rows[0][0], rows[0][1], rows[1][0], rows[1][1])
    return rows
