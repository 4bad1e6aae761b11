"""Bilinear and quadratic zero-sum games: the exact linear models of local dynamics."""

from __future__ import annotations

from typing import Optional

import jax.numpy as jnp
import numpy as np

from .._core.game import Joint, zero_sum
from .._validation.domains import FiniteArray, Maybe, Real, domains


def _as_matrix(name, value, shape):
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0 and shape == (1, 1):
        return a.reshape(1, 1), True
    if a.shape != shape:
        raise ValueError(f"quadratic: `{name}` has shape {a.shape}, expected {shape}.")
    return a, False


@domains(
    A=FiniteArray(),
    B=FiniteArray(),
    C=FiniteArray(),
    b=Maybe(FiniteArray()),
    c=Maybe(FiniteArray()),
)
def quadratic(A, B, C, b=None, c=None, *, name: str = "quadratic"):
    """The zero-sum quadratic game ``min_x max_y f``.

    The objective is

    .. math:: f(x, y) = x^T A x / 2 + x^T B y - y^T C y / 2 + b^T x + c^T y.

    Its field is affine, so the Jacobian is the same everywhere:
    ``[[-A, -B], [B^T, -C]]`` (``A``, ``C`` taken symmetric). Scalars ``a, b, c`` give the
    1-D game ``a x^2/2 + b x y - c y^2/2`` with scalar players. The equilibrium (solution
    of ``A x + B y + b = 0``, ``B^T x - C y + c = 0``) is attached when unique.

    Args:
      A: ``(n, n)`` symmetric (or a scalar).
      B: ``(n, m)`` coupling (or a scalar).
      C: ``(m, m)`` symmetric (or a scalar).
      b: optional ``(n,)`` linear term of ``x``.
      c: optional ``(m,)`` linear term of ``y``.
      name: label.

    Returns:
      A zero-sum ``Game``.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 2.0, 1.0)
      >>> jg.jacobian(game, game.equilibrium).tolist()
      [[-1.0, -2.0], [2.0, -1.0]]
    """
    B_np = np.asarray(B, dtype=np.float64)
    scalar = B_np.ndim == 0
    if scalar:
        n = m = 1
    else:
        if B_np.ndim != 2:
            raise ValueError(
                f"quadratic: `B` must be a (n, m) matrix or a scalar, got shape {B_np.shape}."
            )
        n, m = B_np.shape
    A_np, _ = _as_matrix("A", A, (n, n))
    C_np, _ = _as_matrix("C", C, (m, m))
    B_np = B_np.reshape(n, m)
    if not np.allclose(A_np, A_np.T) or not np.allclose(C_np, C_np.T):
        raise ValueError("quadratic: `A` and `C` must be symmetric.")
    b_np = np.zeros(n) if b is None else np.asarray(b, dtype=np.float64).reshape(-1)
    c_np = np.zeros(m) if c is None else np.asarray(c, dtype=np.float64).reshape(-1)
    if b_np.shape != (n,) or c_np.shape != (m,):
        raise ValueError(f"quadratic: `b` and `c` must have shapes ({n},) and ({m},).")
    Aj, Bj, Cj, bj, cj = map(jnp.asarray, (A_np, B_np, C_np, b_np, c_np))

    def f(x, y):
        xv, yv = jnp.reshape(x, (n,)), jnp.reshape(y, (m,))
        dt = xv.dtype
        return (
            xv @ Aj.astype(dt) @ xv / 2
            + xv @ Bj.astype(dt) @ yv
            - yv @ Cj.astype(dt) @ yv / 2
            + bj.astype(dt) @ xv
            + cj.astype(dt) @ yv
        )

    kkt = np.block([[A_np, B_np], [B_np.T, -C_np]])
    equilibrium: Optional[Joint] = None
    if np.linalg.matrix_rank(kkt) == n + m:
        sol = np.linalg.solve(kkt, -np.concatenate([b_np, c_np]))
        x_star, y_star = sol[:n], sol[n:]
        if scalar:
            equilibrium = Joint(jnp.asarray(x_star[0]), jnp.asarray(y_star[0]))
        else:
            equilibrium = Joint(jnp.asarray(x_star), jnp.asarray(y_star))
    return zero_sum(f, equilibrium=equilibrium, name=name)


@domains(A=FiniteArray())
def bilinear(A, *, name: str = "bilinear"):
    """The bilinear game ``min_x max_y x^T A y`` (scalar ``A``: ``x y``).

    Jacobian ``[[0, -A], [A^T, 0]]``: purely imaginary eigenvalues ``+- i s_k`` from the
    singular values of ``A``; SimGD diverges for every step, extragradient converges.

    Examples:
      >>> import jaxgan as jg
      >>> game = jg.games.bilinear(2.0)
      >>> jg.eigenvalues(game, game.equilibrium).imag.round(5).tolist()
      [-2.0, 2.0]
    """
    A_np = np.asarray(A, dtype=np.float64)
    if A_np.ndim == 0:
        return quadratic(0.0, A_np, 0.0, name=name)
    if A_np.ndim != 2:
        raise ValueError(
            f"bilinear: `A` must be a (n, m) matrix or a scalar, got shape {A_np.shape}."
        )
    n, m = A_np.shape
    game = quadratic(np.zeros((n, n)), A_np, np.zeros((m, m)), name=name)
    if game.equilibrium is None:  # singular A: the origin is still an equilibrium
        game = game.replace(equilibrium=Joint(jnp.zeros(n), jnp.zeros(m)))
    return game


def ridge_examples():
    """The three 2-D games ``min_x max_y g`` of Wang, Zhang & Ba (2020, section 6.1).

    The games are:

    * ``"g1"``: ``-3x^2 - y^2 + 4xy``. ``(0, 0)`` is a strict local minimax (``H_yy = -2``,
      Schur complement ``-6 + 8 = 2``) but not a local Nash point (``H_xx = -6``);
      gradient descent-ascent spirals away from it (its Jacobian has trace 4 > 0).
    * ``"g2"``: ``3x^2 + y^2 + 4xy``. ``(0, 0)`` is not a local minimax (``H_yy = 2``),
      yet GDA converges to it; Follow-the-Ridge is repelled.
    * ``"g3"``: ``(4x^2 - (y - 3x + 0.05 x^3)^2 - 0.1 y^4) exp(-0.01 (x^2 + y^2))``,
      nonconvex-nonconcave with a strict local minimax at the origin (Schur complement
      8, ``H_yy = -2``) where GDA is unstable.

    Returns:
      ``{"g1": Game, "g2": Game, "g3": Game}``, zero-sum, scalar players, equilibrium ``(0, 0)``.

    Examples:
      >>> import jaxgan as jg
      >>> g = jg.games.ridge_examples()["g1"]
      >>> # trace 4: GDA unstable
      >>> [round(float(x), 6) for x in jg.eigenvalues(g, g.equilibrium).real]
      [2.0, 2.0]
    """
    origin = Joint(jnp.asarray(0.0), jnp.asarray(0.0))

    def g3(x, y):
        return (4 * x**2 - (y - 3 * x + 0.05 * x**3) ** 2 - 0.1 * y**4) * jnp.exp(
            -0.01 * (x**2 + y**2)
        )

    return {
        "g1": quadratic(-6.0, 4.0, 2.0, name="ridge-g1"),
        "g2": quadratic(6.0, 4.0, -2.0, name="ridge-g2"),
        "g3": zero_sum(g3, equilibrium=origin, name="ridge-g3"),
    }


@domains(x_r=Real())
def turinici(x_r: float = 1.0):
    """Turinici's simple example (Turinici 2020), a zero-sum game played by alternating GD.

    The example, with the sign of its printed iteration corrected, is the zero-sum game
    ``f(x, y) = y (x - x_r)``, played by alternating GD with the discriminator first
    (``jg.transforms.alternating(optax.sgd(tau))``):

    .. math:: y_{n+1} = y_n + \\tau (x_n - x_r), \\qquad x_{n+1} = x_n - \\tau y_{n+1}.

    The map conserves the ellipse ``(x - x_r)^2 + y^2 + tau (x - x_r) y``
    (``turinici_invariant``); its continuous limit ``x' = -y``, ``y' = x - x_r`` conserves
    the circle ``(x - x_r)^2 + y^2``. As printed in the notes (the generator step with the
    other sign) it diverges.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.turinici(1.0)
      >>> out = jg.rollout(game, jg.transforms.alternating(optax.sgd(0.1)), jg.Joint(2.0, 0.0),
      ... 1000)
      >>> round(float(jg.games.turinici_invariant(out.final, 0.1, 1.0)), 4)  # exactly 1 in float64
      1.0
    """
    x_r = float(x_r)

    def f(x, y):
        return y * (x - x_r)

    return zero_sum(f, equilibrium=Joint(jnp.asarray(x_r), jnp.asarray(0.0)), name="turinici")


@domains(x_r=Real())
def turinici_invariant(w, tau, x_r: float = 1.0):
    """The quantity ``(x - x_r)^2 + y^2 + tau (x - x_r) y``, conserved by Turinici's map.

    Turinici's alternating map conserves it exactly (``tau = 0``: the flow's circle).

    Examples:
      >>> import jaxgan as jg
      >>> float(jg.games.turinici_invariant(jg.Joint(2.0, 1.0), 0.5))  # 1 + 1 + 0.5
      2.5
    """
    dx = jnp.asarray(w.phi) - x_r
    y = jnp.asarray(w.theta)
    return dx**2 + y**2 + tau * dx * y
