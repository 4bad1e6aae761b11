"""Continuous-time flows of games and the learning-rate refinement test.

The discrete algorithms are Euler-type discretisations of the flow ``dw/dt = v_T(w)``
(``v_T = -T(xi)``, ``T`` a correction or the identity). ``flow`` solves it with diffrax.
``refinement_test`` asks Turinici's question (Turinici 2020): has a training curve converged in
the learning rate? Halve the step, double the steps, and compare the runs on the axis of
cumulative learning rate ``s = eta * n``, with each other and with the flow.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._core.field import negated_field
from ._core.game import Game, Joint
from ._runs.rollout import rollout, run
from ._validation.cache import compiled
from ._validation.checks import (
    accept_transformation,
    as_array,
    check_finite,
    check_game,
    check_point,
    check_read,
    check_transform_hyperparams,
    entry,
    transform_at,
)
from ._validation.domains import Flag, Integer, Real, domains

PyTree = object


class Flow(NamedTuple):
    """A solved flow: its times, its states, and whether the solver reached the last time.

    The times ``ts`` are ``(T,)``, the states ``ys`` a ``Joint`` of ``(T, ...)`` leaves, and
    ``solved`` says whether the solver reached ``ts[-1]`` within its ``max_steps`` (where it did
    not, the states it did not reach are not finite; ``flow`` called eagerly raises instead).

    Examples:
      >>> import jaxgan as jg
      >>> jg.flows.Flow._fields
      ('ts', 'ys', 'solved')
    """

    ts: jax.Array
    ys: Joint
    solved: Optional[jax.Array] = None


@entry(
    "w0",
    returns=lambda out, join, given: out._replace(ys=join(out.ys)),
    rtol=Real(0, low_open=True),
    atol=Real(0),
    max_steps=Integer(1),
)
def flow(
    game: Game,
    w0: Joint,
    ts: Sequence[float],
    *,
    transform=None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 100_000,
    hyperparams=None,
) -> Flow:
    """Solve ``dw/dt = v_T(w)``, ``w(0) = w0``, at the times ``ts``.

    The solver is diffrax's Tsit5 with an adaptive PID step size.

    .. math:: \\frac{dw}{dt} = v_T(w) = -T(\\xi)(w), \\qquad w(0) = w_0

    ``v_T = -T(xi)`` is the corrected field of ``transform`` (``None``: the plain vector
    field ``v = -xi``; ``consensus(gamma)``, ``jare(gamma)``...: the corrected one). SimGD
    with step ``eta`` after ``n`` steps approximates ``w(eta n)`` with an ``O(eta)`` error.
    One compiled program per ``(game, transform)`` and the static ``rtol``, ``atol`` and
    ``max_steps``; ``w0`` and ``ts`` are traced.

    Args:
      game: a ``Game``.
      w0: the start.
      ts: increasing output times, ``ts[0] = 0``.
      transform: optional stateless correction; with ``hyperparams``, a callable
        ``h -> transformation`` (a ``make_tx``).
      rtol, atol: the step-size controller's tolerances.
      max_steps: diffrax's cap.
      hyperparams: the pytree handed to ``transform`` when it is a ``make_tx`` (traced: a new
        value compiles nothing; a dict key it never reads raises).

    Returns:
      A ``Flow``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> out = jg.flows.flow(jg.games.bilinear(1.0), jg.Joint(1.0, 0.0), jnp.array([0.0,
      ... jnp.pi / 2]))
      >>> abs(round(float(out.ys.phi[-1]), 4)), round(float(out.ys.theta[-1]), 4)  # a quarter turn
      (0.0, 1.0)
    """
    game = check_game(game, "flow")
    w0 = jax.tree.map(as_array, check_point(game, w0, "flow", "w0"))
    check_finite(w0, "flow", "w0")
    ts = as_array(ts, jnp.result_type(*jax.tree.leaves(w0)))
    if ts.ndim != 1 or ts.size < 1:
        raise ValueError(f"flow: `ts` must be a 1-D array of output times, got shape {ts.shape}.")
    if not isinstance(ts, jax.core.Tracer):
        t = np.asarray(ts)
        if not np.all(np.isfinite(t)):
            raise ValueError("flow: `ts` has non-finite times (NaN or inf).")
        if t[0] != 0 or np.any(np.diff(t) <= 0):
            raise ValueError(
                f"flow: `ts` must start at 0 and increase strictly, got {t.tolist()[:6]}."
            )
    check_transform_hyperparams(transform, hyperparams, "flow")
    options = (float(rtol), float(atol), int(max_steps), hyperparams is not None)
    program = compiled("flow", _flow_program, (game, transform), options)
    out = program(w0, ts, hyperparams)
    if not isinstance(out.solved, jax.core.Tracer) and not bool(out.solved):
        raise ValueError(
            f"flow: the solver took its `max_steps` = {int(max_steps)} steps before reaching t = "
            f"{float(ts[-1]):g} (a stiff or fast-growing flow, or tolerances too tight): "
            "raise `max_steps` or loosen `rtol`/`atol`; "
            "inside jit the result's `solved` field says so."
        )
    return out


def _flow_program(game, transform, rtol, atol, max_steps, with_hyperparams):
    def program(w0, ts, hyperparams):
        t, h = transform_at(transform, hyperparams if with_hyperparams else None, "flow")
        out = solve_flow(game, w0, ts, transform=t, rtol=rtol, atol=atol, max_steps=max_steps)
        check_read(h, "flow")
        return out

    return program


@domains(rtol=Real(0, low_open=True), atol=Real(0), max_steps=Integer(1))
def solve_flow(
    game: Game, w0: Joint, ts, *, transform=None, rtol=1e-10, atol=1e-12, max_steps=100_000
) -> Flow:
    """The traceable body of ``flow``: the same solve, with the arguments already checked.

    It is for use inside ``jit``/``vmap`` (``ts`` and ``w0`` traced).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxgan as jg
      >>> game = jg.games.bilinear(1.0)  # f = x y: the flow rotates, |w| is conserved
      >>> ts = jnp.asarray([0.0, 1.0])
      >>> out = jax.jit(lambda w: jg.flows.solve_flow(game, w, ts))(jg.Joint(1.0, 0.0))
      >>> round(float(jnp.hypot(out.ys.phi[-1], out.ys.theta[-1])), 5), bool(out.solved)
      (1.0, True)
    """
    import diffrax

    z0, unravel = ravel_pytree(w0)
    v = negated_field(game, transform)

    def rhs(t, z, args):
        return ravel_pytree(v(unravel(z)))[0]

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(rhs),
        diffrax.Tsit5(),
        t0=ts[0],
        t1=ts[-1],
        dt0=None,
        y0=z0,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        throw=False,
    )
    return Flow(ts, jax.vmap(unravel)(sol.ys), sol.result == diffrax.RESULTS.successful)


class Refinement(NamedTuple):
    """The result of ``refinement_test``.

    Attributes:
      etas: ``(L,)`` learning rates ``eta, eta/2, ...``.
      s: ``(P,)`` the cumulative learning rates compared (``eta * j``).
      runs: ``(L, P, n)`` the flat parameters of each run at ``s``.
      flow: ``(P, n)`` the flow at ``s`` (NaN when not computed).
      gaps: ``(L - 1,)`` ``max_s |run_k(s) - run_{k+1}(s)|``.
      errors: ``(L,)`` ``max_s |run_k(s) - flow(s)|``.
      order: the observed order ``log2(gap_{L-2} / gap_{L-1})`` (from the flow errors
        when the flow is known): 1 for a first-order method.
      scale: ``max_s |flow(s) - flow(0)|`` (or of the finest run): the size of the curve.
      verdict: ``"resolved"`` (the finest run is within ``rtol * scale`` of the flow, or of
        the next finer run: the step resolves the gradient flow; a statement about the
        discretisation, not about convergence to an equilibrium), ``"resolved (gaps below
        tolerance, order not measured)"`` when the gaps are too small to show an order,
        ``"first order, not yet resolved"`` (the gaps halve), or ``"not resolved"``.

    Examples:
      >>> import jaxgan as jg
      >>> jg.flows.Refinement._fields[:4]
      ('etas', 's', 'runs', 'flow')
    """

    etas: jax.Array
    s: jax.Array
    runs: jax.Array
    flow: jax.Array
    gaps: jax.Array
    errors: jax.Array
    order: float
    scale: float
    verdict: str


@entry(
    "w0",
    eta=Real(0, low_open=True),
    steps=Integer(1),
    levels=Integer(2),
    points=Integer(2),
    with_flow=Flag(),
    rtol=Real(0, low_open=True),
    batched=Flag(),
)
def refinement_test(
    game: Game,
    make_tx: Callable,
    w0: Joint,
    eta: float,
    steps: int,
    *,
    levels: int = 4,
    points: int = 50,
    transform=None,
    with_flow: bool = True,
    rtol: float = 0.01,
    batched: bool = True,
    hyperparams=None,
) -> Refinement:
    """Turinici's learning-rate refinement test (Turinici 2020).

    The test asks: has the run converged in the learning rate?

    Runs ``make_tx(eta / 2^k)`` for ``steps * 2^k`` steps, ``k = 0 .. levels - 1``, and
    compares them at ``points`` common cumulative learning rates ``s`` in ``[0, eta *
    steps]`` with each other and with the flow of ``transform``'s corrected field
    (``with_flow``). A first-order method's gaps halve with each level (observed order
    1); the run has converged in the learning rate when the finest run is within ``rtol``
    of the curve's size from the flow (or, without the flow, from its refinement).
    Compiled once per ``(game, make_tx)`` objects and static ``steps``, ``levels``,
    ``points``: ``eta`` and ``w0`` are traced, so a new coarse learning rate compiles nothing.

    Args:
      game: a ``Game``.
      make_tx: ``lr -> optax transformation`` (e.g. ``optax.sgd`` or ``lambda lr:
        jg.transforms.alternating(optax.sgd(lr))``).
      w0: the start.
      eta: the coarsest learning rate.
      steps: steps of the coarsest run; ``points - 1`` must divide it.
      levels: number of learning rates (``>= 2``).
      points: comparison points, ``s = 0 .. eta * steps``.
      transform: the correction whose flow is the limit (``None``: the plain field).
      with_flow: compare with the flow (diffrax).
      rtol: the verdict's tolerance relative to the curve's size.
      batched: run all levels in one vmapped program over the learning rates (one
        compilation; each level runs the finest level's number of steps, ``levels / 2``
        times the work of separate runs); ``False`` compiles one run per level.
      hyperparams: handed to ``transform`` when it is a ``make_tx`` (as in ``flow``).

    Returns:
      A ``Refinement``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> r = jg.flows.refinement_test(jg.games.bilinear(1.0), optax.sgd, jg.Joint(1.0, 0.0), 0.1,
      ... 20,
      ... levels=3, points=5)
      >>> # errors halve: order 1
      >>> [round(float(e) / float(r.errors[-1])) for e in r.errors], round(r.order, 1)
      ([4, 2, 1], 1.0)
    """
    game = check_game(game, "refinement_test")
    w0 = jax.tree.map(jnp.asarray, check_point(game, w0, "refinement_test", "w0"))
    check_finite(w0, "refinement_test", "w0")
    if not callable(make_tx):
        raise TypeError("refinement_test: `make_tx` must be a callable lr -> optax transformation.")
    if steps % (points - 1):  # steps and points: Python ints, checked by their declared domains
        raise ValueError(
            f"refinement_test: `points - 1` ({points - 1}) must divide `steps` ({steps})."
        )
    every = steps // (points - 1)
    etas = [eta / 2**k for k in range(levels)]
    dtype = jnp.result_type(*jax.tree.leaves(w0))  # no eager ravel: a dtype only
    if batched:
        # one program: every level runs the finest run's length; level k's point j is
        # its record j * 2^k (the steps past its own horizon are discarded)
        finest = steps * 2 ** (levels - 1)
        program = compiled("refinement_test", _refinement_program, (game, make_tx), (finest, every))
        traj = np.asarray(program(w0, jnp.asarray(etas, dtype)))
        runs = np.stack([traj[k, :: 2**k][:points] for k in range(levels)])
    else:  # one program per level (its own length), each cached; the learning rate is traced
        runs = []
        for k, lr in enumerate(etas):
            out = rollout(
                game,
                make_tx,
                w0,
                steps * 2**k,
                record_every=every * 2**k,
                hyperparams=jnp.asarray(lr, dtype),
            )
            runs.append(np.asarray(flatten_trajectory(out.trajectory)))
        runs = np.stack(runs)
    s = np.arange(points) * every * eta
    flow_flat = None
    if with_flow:
        fl = flow(game, w0, jnp.asarray(s), transform=transform, hyperparams=hyperparams)
        flow_flat = np.asarray(flatten_trajectory(fl.ys))
    return assess_refinement(runs, etas, s, flow_flat, rtol=rtol)


@jax.jit
def flatten_trajectory(ws):
    """Each recorded point of a trajectory raveled, as one array of shape ``(T, n)``.

    The trajectory is a ``Joint`` of ``(T, ...)`` leaves.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> ws = jg.Joint(jnp.zeros((5, 2)), jnp.ones((5,)))
      >>> jg.flows.flatten_trajectory(ws).shape
      (5, 3)
    """
    return jax.vmap(lambda w: ravel_pytree(w)[0])(ws)


def _refinement_program(game, make_tx, steps, every):
    def program(w0, etas):
        def one(lr):
            tx = accept_transformation(
                make_tx(lr), "refinement_test (the transformation made by `make_tx`)", "tx"
            )
            return flatten_trajectory(run(game, tx, w0, steps, every).trajectory)

        return jax.vmap(one)(etas)

    return program


@domains(rtol=Real(0, low_open=True))
def assess_refinement(runs, etas, s, flow=None, *, rtol: float = 0.01) -> Refinement:
    """The statistic, observed order and verdict of a refinement test from its runs.

    ``runs[k]`` ``(P, n)`` is the run at ``etas[k] = eta / 2^k`` at the cumulative
    learning rates ``s`` (``P`` points); ``flow`` ``(P, n)`` is the limit flow there, or
    None to compare the runs with each other only. Use it when the runs come from a
    sweep of your own (``refinement_test`` runs them for you).

    Examples:
      >>> import numpy as np, jaxgan as jg
      >>> s = np.linspace(0.0, 1.0, 5)
      >>> exact = np.exp(-s)[:, None]
      >>> runs = np.stack([exact + 0.1 / 2**k * s[:, None] for k in range(3)])  # first-order errors
      >>> r = jg.flows.assess_refinement(runs, [0.1, 0.05, 0.025], s, exact)
      >>> round(r.order, 6), r.verdict
      (1.0, 'first order, not yet resolved')
    """
    runs = np.asarray(runs, dtype=float)
    if runs.ndim != 3 or runs.shape[0] < 2:
        raise ValueError(
            f"assess_refinement: `runs` must have shape (levels >= 2, points, n), got {runs.shape}."
        )
    levels = runs.shape[0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        gaps = np.array(
            [np.max(np.linalg.norm(runs[k] - runs[k + 1], axis=-1)) for k in range(levels - 1)]
        )
        if flow is not None:
            flow_flat = np.asarray(flow, dtype=float)
            errors = np.max(np.linalg.norm(runs - flow_flat[None], axis=-1), axis=1)
            scale = float(np.max(np.linalg.norm(flow_flat - flow_flat[0], axis=-1)))
            order = float(np.log2(errors[-2] / errors[-1]))
            converged = errors[-1] <= rtol * scale
        else:
            flow_flat = np.full(runs.shape[1:], np.nan)
            errors = np.full(levels, np.nan)
            scale = float(np.max(np.linalg.norm(runs[-1] - runs[-1][0], axis=-1)))
            order = float(np.log2(gaps[-2] / gaps[-1])) if levels > 2 else float("nan")
            converged = gaps[-1] <= rtol * scale
    if not np.all(np.isfinite(runs)):
        verdict = "not resolved"
    elif converged:
        verdict = (
            "resolved"
            if np.isfinite(order) and order >= 0.5
            else "resolved (gaps below tolerance, order not measured)"
        )
    elif np.isfinite(order) and 0.7 <= order <= 1.3:
        verdict = "first order, not yet resolved"
    else:
        verdict = "not resolved"
    return Refinement(
        jnp.asarray(etas),
        jnp.asarray(s),
        jnp.asarray(runs),
        jnp.asarray(flow_flat),
        jnp.asarray(gaps),
        jnp.asarray(errors),
        order,
        scale,
        verdict,
    )


__all__ = [
    "Flow",
    "Refinement",
    "assess_refinement",
    "flatten_trajectory",
    "flow",
    "refinement_test",
    "solve_flow",
]
