"""Runs (``lax.scan``) and sweeps (``vmap`` over hyperparameter grids) with divergence flags."""

from __future__ import annotations

import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, NamedTuple, Optional, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.game import GAME_TYPES, POINT_TYPES, Game, Joint, is_point
from .._core.status import RESULTS
from .._core.step import make_step, step_of
from .._jaxpr.conv_layout import canonical_convolutions
from .._jaxpr.dependence import nested_equations
from .._validation.cache import compiled
from .._validation.checks import (
    ReadKeys,
    _check_same_structure,
    accept_transformation,
    check_field,
    check_finite,
    check_game,
    check_joint,
    check_point,
    check_read,
    check_state,
    check_tx,
    entry,
    grid_axis,
    read_checked,
    tx_at,
)
from .._validation.domains import Integer, Maybe, Real, describe

PyTree = object


class Rollout(NamedTuple):
    """The result of ``rollout``.

    Attributes:
      final: parameters after the last step.
      state: optimiser state after the last step.
      trajectory: ``record(w)`` at steps ``0, k, 2k, ..., steps`` stacked on a leading axis
        of length ``steps // k + 1`` (``k = record_every``).
      finite: whether every parameter stayed finite for the whole run.
      first_nonfinite: the first step (1-based) after which a parameter was NaN or inf,
        ``-1`` if none.
      record_every: the steps between two records of ``trajectory`` (an ``int32`` array, so
        the result ``vmap``s); ``measured_rate`` reads it.
      average: with ``average=``, the averaged iterate after the last step: the uniform mean
        of ``w_1, ..., w_T``, or the exponential moving average ``a_t = d a_{t-1} + (1 - d)
        w_t`` from ``a_0 = w_0``; ``None`` otherwise.

    Examples:
      >>> import optax, jaxgan as jg
      >>> out = jg.rollout(jg.games.dirac("wgan"), optax.sgd(0.1), jg.Joint(1.0, 0.0), 4)
      >>> out.trajectory.phi.shape, bool(out.finite), int(out.first_nonfinite)
      ((2,), True, -1)
    """

    final: Joint
    state: PyTree
    trajectory: PyTree
    finite: jax.Array
    first_nonfinite: jax.Array
    record_every: jax.Array = 1
    average: PyTree = None


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _check_steps(steps, record_every, where):
    Integer(1).check(steps, where, "steps")
    Maybe(Integer(1)).check(record_every, where, "record_every")
    if record_every is None:
        record_every = steps
    if steps % record_every:
        raise ValueError(f"{where}: `record_every` ({record_every}) must divide `steps` ({steps}).")
    return int(steps), int(record_every)


def check_average(average, where: str):
    """``average`` as ``None``, ``("uniform",)`` or ``("ema", decay)`` (``0 <= decay < 1``), or
    a ``ValueError`` naming the argument and the accepted forms."""
    if average is None:
        return None
    if isinstance(average, str) and average == "uniform":
        return ("uniform",)
    if isinstance(average, tuple) and len(average) == 2 and average[0] == "ema":
        decay = average[1]
        if isinstance(decay, jax.core.Tracer):
            raise TypeError(
                f"{where}: the decay of `average` is a static option (it shapes the program) and "
                "must be a Python number in [0, 1), got one traced by jit/vmap."
            )
        number = isinstance(decay, (int, float, np.number)) or (
            isinstance(decay, (jax.Array, np.ndarray)) and decay.dtype.kind in "iuf"
        )
        if number and not isinstance(decay, bool) and np.ndim(decay) == 0:
            try:
                value = float(decay)
            except (TypeError, ValueError):
                value = None
            if value is not None and 0.0 <= value < 1.0:
                return ("ema", value)
    raise ValueError(
        f"{where}: `average` must be None, 'uniform' or ('ema', decay) with a decay in [0, 1), "
        f"got {average!r}."
    )


def _average_step(average, avg, w, t):
    """The running average after step ``t`` (1-based) with iterate ``w``."""
    if average[0] == "uniform":
        return jax.tree.map(lambda a, x: a + (x - a) / t.astype(a.dtype), avg, w)
    decay = average[1]
    return jax.tree.map(lambda a, x: decay * a + (1 - decay) * x, avg, w)


def _joined_rollout(out, join, given):
    """A rollout of equinox players: its points whole again (a recorded ``record(w)`` is the
    user's)."""
    trajectory = out.trajectory if given.get("record") is not None else join(out.trajectory)
    average = None if out.average is None else join(out.average)
    return out._replace(final=join(out.final), trajectory=trajectory, average=average)


def _joined_sweep(out, join, given):
    average = None if out.average is None else join(out.average)
    return out._replace(final=join(out.final), trajectory=join(out.trajectory), average=average)


@entry(
    "w0",
    functions=("record",),
    returns=_joined_rollout,
    steps=Integer(1),
    record_every=Maybe(Integer(1)),
)
def rollout(
    game: Game,
    tx,
    w0: Joint,
    steps: int,
    *,
    record_every: Optional[int] = None,
    record: Optional[Callable[[Joint], PyTree]] = None,
    state=None,
    key: Optional[jax.Array] = None,
    hyperparams: Optional[PyTree] = None,
    average=None,
) -> Rollout:
    """Run ``steps`` steps of algorithm ``tx`` on ``game`` from ``w0`` under ``lax.scan``.

    Each step is ``make_step(game, tx)``: ``w <- w + tx.update(xi(w), s, w, game=game)``.
    Works under ``jit`` and ``vmap`` (vmap it over learning rates, or use ``sweep``). A
    run that overflows is not an error: ``finite`` and ``first_nonfinite`` say when.

    A stochastic game (minibatches: ``NeuralGAN.minibatch``) is a callable ``key -> Game``;
    step ``t`` (1-based) then plays ``game(jax.random.fold_in(key, t))``.

    Compiled once per structure: the program is cached by the identity of ``game``,
    ``tx`` and ``record`` and by the static ``steps`` and ``record_every``; ``w0``,
    ``state``, ``key`` and ``hyperparams`` are traced, so a repeat call with arrays of
    the same shapes and dtypes compiles nothing. To change a learning rate without a new
    compilation, define ``make_tx = lambda h: optax.sgd(h["lr"])`` once and call
    ``rollout(game, make_tx, w0, steps, hyperparams={"lr": 0.1})`` (a new
    ``optax.sgd(0.2)``, or a lambda written inside the call, is a new object, hence a new
    program).

    Args:
      game: a ``Game``, or ``key -> Game`` (then ``key`` is required).
      tx: an optax transformation (``optax.sgd(lr)`` is SimGD); with ``hyperparams``, a
        callable ``h -> transformation``.
      w0: starting point, a ``Joint``.
      steps: number of steps (static).
      record_every: record every ``k`` steps (``k`` divides ``steps``; static); ``None``
        records the start and the end only.
      record: what to record, ``w -> pytree``; default the parameters themselves.
      state: initial optimiser state; default ``tx.init(w0)``.
      key: the stochastic game's key.
      hyperparams: the pytree handed to ``tx`` when ``tx`` is a ``make_tx`` (traced).
      average: ``None``, ``"uniform"`` (the mean of ``w_1, ..., w_T``) or ``("ema", decay)``
        (``a_0 = w_0``, ``a_t = decay a_{t-1} + (1 - decay) w_t``): ``Rollout.average`` (static).
        Averaged iterates converge where the iterates cycle (a bilinear game under
        extragradient or SimGD with a small step: Yazici et al. 2019).

    Returns:
      A ``Rollout``.

    Examples:
      >>> import optax, jaxgan as jg
      >>> game = jg.games.dirac("wgan")
      >>> out = jg.rollout(game, optax.sgd(0.1), jg.Joint(1.0, 0.0), 10, record_every=5)
      >>> out.trajectory.phi.shape, bool(out.finite)
      ((3,), True)
      >>> make_tx = lambda h: optax.sgd(h["lr"])  # one program for every learning rate
      >>> [round(float(jg.rollout(game, make_tx, jg.Joint(1.0, 0.0), 10,
      ... hyperparams={"lr": lr}).final.phi), 4)
      ...  for lr in (0.1, 0.2)]
      [0.5708, -0.4773]
    """
    stochastic = callable(game) and not isinstance(game, GAME_TYPES)
    if stochastic:
        if key is None:
            raise ValueError("rollout: a stochastic `game` (a callable key -> Game) needs `key=`.")
    else:
        game = check_game(game, "rollout")
        if key is not None:
            raise ValueError(
                "rollout: `key` is only for a stochastic `game` (a callable key -> Game); "
                "this game is deterministic."
            )
    w0 = check_joint(w0, "rollout", "w0") if stochastic else check_point(game, w0, "rollout", "w0")
    check_finite(w0, "rollout", "w0")
    check_tx(tx, "rollout", hyperparams)
    check_state(tx, w0, state, "rollout", hyperparams)
    steps, k = _check_steps(steps, record_every, "rollout")
    average = check_average(average, "rollout")
    program = compiled(
        "rollout",
        _rollout_program,
        (game, tx, record),
        (steps, k, stochastic, hyperparams is not None, average),
    )
    return program(w0, state, key, hyperparams)


def _rollout_program(game, tx, record, steps, k, stochastic, with_hyperparams, average=None):
    def program(w0, state, key, hyperparams):
        h = read_checked(hyperparams) if with_hyperparams else None
        out = run(
            game,
            tx_at(tx, h, "rollout"),
            w0,
            steps,
            k,
            record=record,
            state=state,
            key=key if stochastic else None,
            average=average,
        )
        check_read(h, "rollout")
        return out

    return program


def run(
    game,
    tx,
    w0: Joint,
    steps: int,
    k: int,
    *,
    record=None,
    state=None,
    key=None,
    unroll: int = 1,
    small_only: bool = False,
    envelope_ref: Optional[Joint] = None,
    average=None,
):
    """The traceable body of ``rollout`` (checked arguments; ``tx`` accepts ``game=``).

    Non-finite values are absorbing for the parameters: every step is ``w + u``
    (``optax.apply_updates``), and NaN or inf plus anything is NaN or inf. So the run
    needs no per-step branch: it counts the steps after which ``w`` is still finite, and
    the first non-finite step is that count plus one.

    With ``envelope_ref`` it also tracks the run's envelope, the largest squared distance
    to ``envelope_ref`` over the steps of the middle half and of the last quarter, and
    returns ``(Rollout, (middle, last))`` (``run_status`` judges growth on it). ``average``
    (``check_average``'s form) keeps the averaged iterate in the loop's carry. The loop runs
    ``unroll`` steps an iteration; with ``small_only``, only if the step is small
    (``small_body``).
    """
    record = (lambda w: w) if record is None else record
    if state is None:
        state = tx.init(w0)
    if key is None:
        step = step_of(game, tx)

        def step_at(w, s, t):
            return step(w, s)
    else:

        def step_at(w, s, t):
            return make_step(game(jax.random.fold_in(key, t)), tx)(w, s)

    q1, q3 = steps // 4, steps - max(1, steps // 4)

    def one(carry, _):
        w, s, finite_steps, t, env, avg = carry
        t = t + 1
        w, s = step_at(w, s, t)
        if average is not None:
            avg = _average_step(average, avg, w, t)
        if envelope_ref is not None:
            d2 = sum(
                jnp.sum(jnp.square(a - b))
                for a, b in zip(jax.tree.leaves(w), jax.tree.leaves(envelope_ref))
            )
            d2 = d2.astype(env[0].dtype)
            middle, last = env
            env = (
                jnp.where((t > q1) & (t <= q3), jnp.maximum(middle, d2), middle),
                jnp.where(t > q3, jnp.maximum(last, d2), last),
            )
        return (w, s, finite_steps + _all_finite(w).astype(jnp.int32), t, env, avg), None

    def chunk(carry, _):
        unrolled = min(unroll, k)
        if unrolled > 1 and small_only and not small_body(one, carry):
            unrolled = 1
        carry, _ = jax.lax.scan(one, carry, None, length=k, unroll=unrolled)
        return carry, record(carry[0])

    if envelope_ref is None:
        env0 = ()
    else:
        zero = jnp.zeros((), jnp.result_type(*jax.tree.leaves(w0)))
        env0 = (zero, zero)
    avg0 = () if average is None else w0
    init = (w0, state, jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32), env0, avg0)
    # the steps run in a scan body: convolutions in XLA's CPU kernel layout (see _conv_layout)
    scan = canonical_convolutions(lambda init: jax.lax.scan(chunk, init, None, length=steps // k))
    (w, s, finite_steps, _, env, avg), recorded = scan(init)
    finite = finite_steps == steps
    first_bad = jnp.where(finite, -1, finite_steps + 1).astype(jnp.int32)
    start = record(w0)
    trajectory = jax.tree.map(
        lambda a, b: jnp.concatenate([jnp.asarray(a)[None].astype(b.dtype), b]), start, recorded
    )
    out = Rollout(
        final=w,
        state=s,
        trajectory=trajectory,
        finite=finite,
        first_nonfinite=first_bad,
        record_every=jnp.asarray(k, jnp.int32),
        average=None if average is None else avg,
    )
    return out if envelope_ref is None else (out, tuple(jnp.sqrt(e) for e in env))


# --------------------------------------------------------------------------- sweeps


class SweepResult(NamedTuple):
    """The result of ``sweep``; every field has the grid's leading axis ``(G, ...)``.

    Attributes:
      grid: the hyperparameters of each run, ``{name: (G,)}``.
      final: final parameters.
      trajectory: recorded parameters ``(G, T, ...)``.
      distance: Euclidean distance to the reference point at each recorded step ``(G, T)``
        (without one, the displacement ``|w_t - w_0|`` from the start).
      finite: ``(G,)`` whether each run stayed finite.
      first_nonfinite: ``(G,)`` first non-finite step, ``-1`` if none.
      status: ``(G,)`` outcome code (``jaxgan.RESULTS``): ``converged`` (final distance at
        most ``rtol`` times the initial one), ``bounded``, ``grew`` (the largest distance of
        the last quarter of the run is more than 5% above the largest before it, from the
        start and the middle half, over every step: the envelope, not the last sample;
        ``run_status``), ``non_finite``; names ``jaxgan.RESULTS(code).label``. Without a reference
        point the statuses judge the growth of the displacement (``growth_status``): bounded,
        grew or non-finite, never converged.
      reference: what the statuses were judged against: ``"w_star"``, ``"game.equilibrium"`` or
        ``"growth"`` (no reference point).
      record_every: the steps between two records of ``trajectory`` and ``distance``;
        ``measured_rate`` reads it.
      average: with ``average=``, each run's averaged iterate after its last step (as
        ``Rollout.average``), ``(G, ...)``; ``None`` otherwise.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> res = jg.sweep(jg.games.dirac("wgan"), lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 0.0),
      ...                {"lr": jnp.array([0.1, 1e30])}, 100)
      >>> # SimGD spirals out; 1e30 overflows
      >>> res.finite.tolist(), [jg.RESULTS(int(s)).label for s in res.status]
      ([True, False], ['grew', 'non-finite'])
    """

    grid: Dict[str, jax.Array]
    final: Joint
    trajectory: Joint
    distance: jax.Array
    finite: jax.Array
    first_nonfinite: jax.Array
    status: jax.Array
    reference: str = "game.equilibrium"
    record_every: int = 1
    average: Joint = None

    def summary(self) -> Dict[str, int]:
        """Number of runs per outcome, e.g. ``{"converged": 12, "grew": 3, ...}``."""
        return RESULTS.counts(self.status)


def grid_product(**axes) -> Tuple[Dict[str, jax.Array], Tuple[int, ...]]:
    """The Cartesian product of 1-D axes, flattened for ``sweep``.

    Returns ``(grid, shape)``: ``grid[name]`` has ``prod(shape)`` entries in C order, so
    ``result.status.reshape(shape)`` lays a sweep's outcome on the product.

    Examples:
      >>> import jaxgan as jg
      >>> grid, shape = jg.grid_product(lr=[0.1, 0.2, 0.3], gamma=[0.0, 1.0])
      >>> shape, grid["gamma"].tolist()
      ((3, 2), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    """
    if not axes:
        raise ValueError(
            "grid_product: give at least one axis, e.g. `grid_product(lr=jnp.logspace(-3, 0, 20))`."
        )
    arrays = {name: grid_axis(values, "grid_product", name) for name, values in axes.items()}
    mesh = jnp.meshgrid(*arrays.values(), indexing="ij")
    shape = tuple(a.shape[0] for a in arrays.values())
    return {name: m.reshape(-1) for name, m in zip(arrays, mesh)}, shape


def _check_grid(grid) -> int:
    if not isinstance(grid, dict) or not grid:
        raise ValueError(
            "sweep: `grid` must be a non-empty dict {name: 1-D array}, "
            "e.g. `{'lr': jnp.logspace(-3, 0, 50)}` (use jg.grid_product for a Cartesian product)."
        )
    sizes = {
        name: grid_axis(values, "sweep", name, allow_empty=True).shape[0]
        for name, values in grid.items()
    }
    if len(set(sizes.values())) != 1:
        raise ValueError(
            f"sweep: all grid axes must have the same length (they are zipped), got {sizes}."
        )
    size = next(iter(sizes.values()))
    if size == 0:
        raise ValueError("sweep: `grid` is empty (length 0); give at least one value per axis.")
    return size


def _distance(w, ref):
    if ref is None:
        return jnp.asarray(jnp.nan)
    a, _ = ravel_pytree(w)
    b, _ = ravel_pytree(ref)
    return jnp.linalg.norm(a - b.astype(a.dtype))


def _per_grid_point(value, cls, where: str, arg: str) -> Callable[[dict], object]:
    """``value`` as a function of the grid point: a ``cls`` instance (``cls`` a type or a tuple
    of types, the first naming them) is constant, a callable is used as is."""
    if isinstance(value, cls):
        return lambda h: value
    if callable(value):
        return value
    name = (cls[0] if isinstance(cls, tuple) else cls).__name__
    raise TypeError(
        f"{where}: `{arg}` must be a jaxgan.{name} or a callable `h -> {name}`, got "
        f"{describe(value)}."
    )


def game_of_grid_point(game, make_tx, where: str) -> Callable[[dict], Game]:
    """Check a grid tool's ``game`` (a ``Game`` or ``h -> Game``) and ``make_tx``; return
    ``h -> Game``."""
    game_fn = _per_grid_point(game, GAME_TYPES, where, "game")
    if not callable(make_tx):
        raise TypeError(
            f"{where}: `make_tx` must be a callable `h -> optax transformation`, "
            "e.g. `lambda h: optax.sgd(h['lr'])`."
        )
    return game_fn


@entry(
    "w0",
    "w_star",
    returns=_joined_sweep,
    steps=Integer(1),
    record_every=Maybe(Integer(1)),
    rtol=Real(0, 1, low_open=True, high_open=True),
    unroll=Maybe(Integer(1)),
)
def sweep(
    game: Union[Game, Callable[[dict], Game]],
    make_tx: Callable[[dict], object],
    w0: Union[Joint, Callable[[dict], Joint]],
    grid: Dict[str, jax.Array],
    steps: int,
    *,
    record_every: Optional[int] = None,
    w_star: Optional[Joint] = None,
    rtol: float = 1e-3,
    devices=None,
    key: Optional[jax.Array] = None,
    average=None,
    unroll: Optional[int] = None,
) -> SweepResult:
    """Run one algorithm over a grid of hyperparameters in one compiled, vmapped program.

    For each grid point ``h`` (a dict of scalars) the run is
    ``rollout(game(h), make_tx(h), w0(h), steps)``; ``jax.vmap`` batches all of them and
    ``jax.jit`` compiles once for the whole grid, whatever its size. Divergent runs never
    raise: they are flagged per run (``finite``, ``first_nonfinite``, ``status``). The
    program is cached by the identity of ``game``, ``make_tx`` (and ``w0`` when it is a
    function) and the static ``steps`` and ``record_every``: the grid's values, ``w0``,
    ``w_star`` and ``rtol`` are traced, so a new grid of the same size compiles nothing.

    Args:
      game: a ``Game``, or ``h -> Game`` to sweep the game's own hyperparameters.
      make_tx: ``h -> optax transformation``, e.g. ``lambda h: optax.sgd(h["lr"])``.
      w0: the starting point, or ``h -> Joint``.
      grid: ``{name: (G,) array}``, zipped; ``grid_product`` builds products.
      steps: steps per run.
      record_every: as in ``rollout``.
      w_star: reference point for distances and statuses; default ``game.equilibrium``. Without
        either (or with ``w_star="growth"``) the statuses judge the growth of each run's
        displacement from its start (``distance`` is ``|w_t - w_0|``; bounded, grew or
        non-finite: "converged" needs a reference), and ``SweepResult.reference`` says so.
      rtol: a run has converged when its final distance is at most ``rtol`` times its
        initial distance.
      key: runs a stochastic game (fresh minibatches or instance noise at every step):
        ``game`` is then ``key -> Game`` (as in ``rollout``) or ``(h, key) -> Game``, and
        every grid point plays the same draws (common random numbers, so runs differ by
        their hyperparameters only); bitwise repeatable in the key.
      devices: ``None`` (default placement), ``"all"`` (``jax.devices()``) or a list of
        devices: the grid axis is sharded over a 1-D ``jax.sharding.Mesh`` of them
        (padded to a multiple of their number by repeating the last point; the padding is
        dropped from the result). Runs are independent, so each run's outcome equals
        the unsharded sweep's; values agree to rounding (per-device batches may be
        vectorised differently, and an unstable run amplifies last-bit differences). On CPU,
        ``XLA_FLAGS=--xla_force_host_platform_device_count=N``
        gives N host devices. After ``jax.distributed.initialize`` (one process per host
        or per GPU), ``"all"`` spans every process's devices: each process runs its
        devices' share of the grid and every process receives the whole result
        (``process_allgather``); see docs/scale.md.
      average: as in ``rollout`` (``"uniform"`` or ``("ema", decay)``): every run's averaged
        iterate in ``SweepResult.average`` (static).
      unroll: the steps of one iteration of the step loop (static). ``None`` (default):
        ``SMALL_RUN_UNROLL`` for runs of at most ``SMALL_RUN_PARAMETERS`` parameters whose step
        has at most ``SMALL_BODY_EQUATIONS`` operations, else 1. Unrolling makes a repeat call
        of a small game's sweep faster and its first call slower (XLA compiles each copy of
        the step); ``1`` compiles fastest, for a sweep called once.

    Returns:
      A ``SweepResult``.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxgan as jg
      >>> game = jg.games.quadratic(1.0, 1.0, 1.0)
      >>> res = jg.sweep(game, lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 1.0),
      ...                {"lr": jnp.array([0.1, 0.5, 1.2, 3.0])}, steps=100)
      >>> [jg.RESULTS(int(s)).label for s in res.status]
      ['converged', 'converged', 'grew', 'non-finite']
    """
    _check_grid(grid)
    steps, k = _check_steps(steps, record_every, "sweep")
    average = check_average(average, "sweep")
    arity = _stochastic_arity(game, key)
    if arity == 0:
        game_of_grid_point(game, make_tx, "sweep")
    elif not callable(make_tx):
        raise TypeError(
            "sweep: `make_tx` must be a callable `h -> optax transformation`, "
            "e.g. `lambda h: optax.sgd(h['lr'])`."
        )
    if is_point(w0):
        check_joint(w0, "sweep", "w0", game if isinstance(game, GAME_TYPES) else None)
        check_finite(w0, "sweep", "w0")
    _per_grid_point(w0, POINT_TYPES, "sweep", "w0")  # a Joint or a callable h -> Joint
    growth = isinstance(w_star, str)
    if growth and w_star != "growth":
        raise ValueError(f"sweep: unknown `w_star` {w_star!r}; expected a Joint, None or 'growth'.")
    if growth:
        w_star = None
    elif w_star is not None:
        check_joint(w_star, "sweep", "w_star", game if isinstance(game, GAME_TYPES) else None)
        check_finite(w_star, "sweep", "w_star")
    reference = (
        w_star
        if w_star is not None
        else (game.equilibrium if isinstance(game, GAME_TYPES) else None)
    )
    if reference is None and isinstance(game, GAME_TYPES):
        growth = True
    label = "growth" if growth else ("w_star" if w_star is not None else "game.equilibrium")
    if is_point(w0) and reference is not None:
        _check_same_structure(
            w0, reference, "sweep", "w_star" if w_star is not None else "game.equilibrium"
        )
    grid = {name: jnp.asarray(v) for name, v in grid.items()}
    program = compiled(
        "sweep",
        _sweep_program,
        (game, make_tx, None if is_point(w0) else w0),
        (steps, k, arity, growth, average, unroll),
    )
    w0_value = w0 if is_point(w0) else None
    if devices is None:
        outputs = _on_every_core(program, grid, (w0_value, w_star, rtol, key))
    else:
        sharded, size = _shard_grid(grid, devices)
        outputs = _gather(program(sharded, w0_value, w_star, rtol, key))
        outputs = jax.tree.map(lambda x: x[:size], outputs)
    final, traj, dist, finite, first_bad, status, avg = outputs
    return SweepResult(
        grid,
        final,
        traj,
        dist,
        finite,
        first_bad,
        status,
        label,
        k,
        None if average is None else avg,
    )


#: a run "grew" when the largest distance of its last quarter exceeds the largest before it
#: (from the start and the middle half) by more than this fraction
GROWTH_SLACK = 0.05


def run_status(first, last, envelope, finite: jax.Array, rtol) -> jax.Array:
    """A run's outcome from its distances ``d_t`` to the reference point at every step
    ``t = 0, ..., T`` (``envelope = (max d_t over T/4 < t <= 3T/4, max d_t over t > 3T/4)``,
    tracked by the run), judged on the run's envelope rather than its last sample:

    * non-finite: the run overflowed (or its last distance is not finite);
    * converged: ``d_T <= rtol d_0``;
    * grew: the envelope of the last quarter exceeds ``(1 + GROWTH_SLACK) max(d_0, the
      envelope of the middle half)``;
    * bounded: otherwise (a bounded orbit is "bounded" whatever the phase of its last
      step, the step count or the precision).
    """
    middle, tail = envelope
    grew = tail > (1 + GROWTH_SLACK) * jnp.maximum(first, middle)
    return jnp.where(
        ~finite | ~jnp.isfinite(last),
        RESULTS.non_finite,
        jnp.where(
            last <= rtol * first, RESULTS.converged, jnp.where(grew, RESULTS.grew, RESULTS.bounded)
        ),
    )


def growth_status(first, last, envelope, finite: jax.Array) -> jax.Array:
    """A run's outcome without a reference point (``w_star="growth"``), from its displacement
    ``d_t = |w_t - w_0|``: non-finite as in ``run_status``; grew when the last quarter's
    envelope exceeds ``(1 + GROWTH_SLACK)`` times the middle half's; bounded otherwise (a run
    that settles at an unknown point is bounded: "converged" needs a reference)."""
    middle, tail = envelope
    grew = tail > (1 + GROWTH_SLACK) * jnp.maximum(first, middle)
    return jnp.where(
        ~finite | ~jnp.isfinite(last),
        RESULTS.non_finite,
        jnp.where(grew, RESULTS.grew, RESULTS.bounded),
    )


def _stochastic_arity(game, key) -> int:
    """0 for a deterministic sweep; with ``key``, 1 for ``key -> Game``, 2 for
    ``(h, key) -> Game``."""
    if key is None:
        return 0
    if isinstance(game, GAME_TYPES) or not callable(game):
        raise TypeError(
            "sweep: with `key=`, `game` must be a stochastic game, a callable `key -> Game` "
            "(e.g. `NeuralGAN.minibatch(64)`, `jg.regularizers.fresh_instance_noise(game, sigma)`) "
            f"or `(h, key) -> Game`; got {describe(game)}."
        )
    import inspect

    try:
        params = [
            p
            for p in inspect.signature(game).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):
        return 1
    return 2 if len(params) == 2 else 1


def _sweep_program(
    game, make_tx, w0_of_grid, steps, k, arity, growth=False, average=None, unroll=None
):
    """``(grid, w0, w_star, rtol, key) -> outcome arrays``: the vmapped runs of one sweep."""
    game_fn = _per_grid_point(game, GAME_TYPES, "sweep", "game") if arity == 0 else None
    ref_default = game.equilibrium if isinstance(game, GAME_TYPES) else None

    def program(grid, w0, w_star, rtol, key):
        def run_one(h):
            h = ReadKeys(h)
            out = _run_one(h)
            h.check_all_read("sweep")
            return out

        def _run_one(h):
            if arity == 0:
                g = check_game(game_fn(h), "sweep (the game built from the grid)")
                eq = g.equilibrium
            else:
                g = game if arity == 1 else (lambda kk: game(h, kk))
                eq = check_game(g(key), "sweep (the stochastic game at `key`)").equilibrium
            ref = w_star if w_star is not None else (eq if eq is not None else ref_default)
            start = (
                w0
                if w0_of_grid is None
                else check_joint(w0_of_grid(h), "sweep", "w0(h)", g if arity == 0 else None)
            )
            if arity == 0:
                check_field(g, start, "sweep")
            tx = accept_transformation(
                make_tx(h), "sweep (the transformation made by `make_tx`)", "tx"
            )
            # no reference point: the growth of the displacement from the start
            by_growth = growth or ref is None
            target = start if by_growth else ref
            out, envelope = run(
                g,
                tx,
                start,
                steps,
                k,
                key=key if arity else None,
                envelope_ref=target,
                unroll=sweep_unroll(start) if unroll is None else unroll,
                small_only=unroll is None,
                average=average,
            )
            dist = jax.vmap(_distance, in_axes=(0, None))(out.trajectory, target)
            if by_growth:
                status = growth_status(dist[0], dist[-1], envelope, out.finite)
            else:
                status = run_status(dist[0], dist[-1], envelope, out.finite, rtol)
            return (
                out.final,
                out.trajectory,
                dist,
                out.finite,
                out.first_nonfinite,
                status.astype(jnp.int32),
                () if average is None else out.average,
            )

        return jax.vmap(run_one)(grid)

    return program


#: a sweep of runs with at most this many parameters unrolls its step loop ``SMALL_RUN_UNROLL``
#: times: for such games the loop's per-step overhead and the envelope's bookkeeping (a few
#: scalar operations) cost as much as the step itself, and unrolling fuses them across steps
#: (benchmarks/latency.py: the Dirac-GAN sweep of 100 x 10,000 steps from 1.9x to about 1.2x
#: the hand-written ``jit(vmap(rollout))``); larger games keep one step per iteration, whose
#: compile time would grow with the unrolling for no gain
SMALL_RUN_PARAMETERS = 256
SMALL_RUN_UNROLL = 4
#: ... and only a step of at most this many operations (its jaxpr's equations, nested ones
#: counted): XLA compiles an unrolled body once per copy, so a larger step (an inner solve, a
#: Hessian product) would pay its compilation four times over for a loop overhead that is small
#: next to the step (the main job: 267 s of compilation unrolled, 171 s not, the same run time)
SMALL_BODY_EQUATIONS = 300


def small_body(one, carry) -> bool:
    """Whether the step loop's body ``one`` has at most ``SMALL_BODY_EQUATIONS`` operations."""
    jaxpr = jax.make_jaxpr(one)(carry, None).jaxpr
    return sum(1 for _ in nested_equations(jaxpr)) <= SMALL_BODY_EQUATIONS


def sweep_unroll(w) -> int:
    """The unrolling of a sweep's step loop for runs from ``w`` (``SMALL_RUN_PARAMETERS``)."""
    size = sum(int(np.prod(jnp.shape(x))) for x in jax.tree.leaves(w))
    return SMALL_RUN_UNROLL if size <= SMALL_RUN_PARAMETERS else 1


#: programs (weakly held) with the grid-chunk sizes they have already run: their first run
#: compiles, so it goes alone, and the other chunks follow in parallel
_RUN_CHUNKS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: smallest grid worth splitting over the cores (below it a thread's start and the outputs'
#: concatenation cost about what the second core saves: measured on the Dirac-GAN sweep of
#: benchmarks/sweep_dirac.py, 100 runs lost 1.4 ms, 10,000 runs gained 50 ms)
MIN_CHUNKED_GRID = 1024


def _cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _on_every_core(program, grid, args):
    """``program(grid, *args)``, with a large grid on a one-device CPU split into one equal
    chunk per core and the chunks run on threads (XLA runs one program's loop on one core and
    releases the GIL while it runs, so the chunks run in parallel). The grid is padded by
    repeating its last point; runs are independent, so each run's outcome is the unsplit
    program's (values to rounding: batches of another size may be vectorised differently).
    """
    leaves = jax.tree.leaves((grid, args))
    size = next(iter(grid.values())).shape[0]
    threads = min(_cpu_threads(), size // (MIN_CHUNKED_GRID // 2))
    if (
        threads <= 1
        or size < MIN_CHUNKED_GRID
        or jax.default_backend() != "cpu"
        or any(isinstance(x, jax.core.Tracer) for x in leaves)
    ):
        return program(grid, *args)
    chunk = -(-size // threads)
    padded = {
        k: jnp.concatenate([v, jnp.repeat(v[-1:], chunk * threads - size, axis=0)])
        if chunk * threads > size
        else v
        for k, v in grid.items()
    }
    parts = [{k: v[i * chunk : (i + 1) * chunk] for k, v in padded.items()} for i in range(threads)]

    def one(part):
        return jax.block_until_ready(program(part, *args))

    seen = _RUN_CHUNKS.setdefault(program, set())
    first = [] if chunk in seen else [one(parts[0])]  # compile once, not once per thread
    with ThreadPoolExecutor(threads) as pool:
        outs = first + list(pool.map(one, parts[len(first) :]))
    seen.add(chunk)
    return jax.tree.map(lambda *xs: jnp.concatenate(xs)[:size], *outs)


def _gather(tree):
    """Bring a multi-process sweep's results to every process (``jax.distributed``): each
    process computed its own devices' runs; ``process_allgather`` assembles the grid."""
    if all(x.is_fully_addressable for x in jax.tree.leaves(tree)):
        return tree
    from jax.experimental import multihost_utils

    return jax.tree.map(jnp.asarray, multihost_utils.process_allgather(tree, tiled=True))


def _shard_grid(grid, devices):
    """Pad the grid to a multiple of the device count and shard its axis over them."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    if isinstance(devices, str):
        if devices != "all":
            raise ValueError(
                f"sweep: `devices` must be None, 'all' or a list of jax devices, got {devices!r}."
            )
        devices = jax.devices()
    devices = list(devices)
    if not devices:
        raise ValueError("sweep: `devices` is empty.")
    size = next(iter(grid.values())).shape[0]
    padded = -(-size // len(devices)) * len(devices)
    mesh = Mesh(np.array(devices), ("grid",))
    sharding = NamedSharding(mesh, PartitionSpec("grid"))

    def pad(x):
        x = np.asarray(x)
        if padded > size:
            x = np.concatenate([x, np.repeat(x[-1:], padded - size, axis=0)])
        # each process supplies the shards of its own devices (all of them in one process)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return {name: pad(v) for name, v in grid.items()}, size
