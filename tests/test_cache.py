"""Compile once, call fast: a repeat call of every public entry point compiles nothing.

Compilations and traces are counted with ``jax.monitoring`` (the backend-compile and
jaxpr-trace duration events that JAX records for every program it builds), never timed.
"""

import collections
import contextlib
import gc
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg
from jaxgan._validation import cache as _cache

_EVENTS = {
    "/jax/core/compile/backend_compile_duration": "compiles",
    "/jax/core/compile/jaxpr_trace_duration": "traces",
}
_counts = collections.Counter()


def _listener(event, duration, **kwargs):
    if event in _EVENTS:
        _counts[_EVENTS[event]] += 1


jax.monitoring.register_event_duration_secs_listener(_listener)


@contextlib.contextmanager
def counting():
    """``with counting() as c:`` ... ``c["compiles"]``, ``c["traces"]`` made inside."""
    before = dict(_counts)
    seen = {}
    yield seen
    for name in _EVENTS.values():
        seen[name] = _counts[name] - before.get(name, 0)


def assert_second_call_compiles_nothing(call):
    first = call()
    jax.block_until_ready(first)
    with counting() as c:
        second = call()
        jax.block_until_ready(second)
    assert c == {"compiles": 0, "traces": 0}, c
    return first, second


DIRAC = jg.games.dirac("standard")
W0 = jg.Joint(jnp.asarray(0.4), jnp.asarray(-0.3))


def _quadratic8():
    return jg.games.quadratic(jnp.diag(jnp.arange(1.0, 9.0)), jnp.eye(8), jnp.eye(8))


QUAD8 = _quadratic8()
W8 = jg.Joint(jnp.linspace(-1.0, 1.0, 8), jnp.linspace(0.5, -0.5, 8))
G8 = jg.Joint(jnp.ones(8), jnp.ones(8))
BOX_GAME = jg.games.constrained_examples()["matrix-2x2"]
SIMGD = optax.sgd(0.1)
CONSENSUS = optax.chain(jg.transforms.consensus(0.5), optax.sgd(0.2))
JARE = jg.transforms.jare(1.0)
NOISY = jg.regularizers.fresh_instance_noise(DIRAC, 0.5)
MAKE_TX = lambda h: optax.chain(jg.transforms.jare(h["gamma"]), optax.sgd(h["lr"]))  # noqa: E731
MAKE_LR = lambda h: optax.sgd(h["lr"])  # noqa: E731
MODIFIED = jg.modified_game(DIRAC, 0.3, order="g_first")
PROXIMAL = jg.transforms.proximal_point(0.5)
TWO_STEP_EG = jg.transforms.extragradient(optax.sgd(0.1), extrapolation=0.3)
FAMILY = jg.families.quadratic(0.5, 0.5, 2.0)


BILINEAR = jg.zero_sum(lambda x, y: x * y)
CYCLIC = optax.sgd(lambda count: jnp.where(count % 2 == 0, 0.1, 0.3))

ENTRY_POINTS = {
    "jacobian": lambda: jg.jacobian(DIRAC, W0),
    "jacobian (corrected)": lambda: jg.jacobian(DIRAC, W0, transform=JARE),
    "eigenvalues": lambda: jg.eigenvalues(DIRAC, DIRAC.equilibrium),
    "spectrum": lambda: jg.spectrum(DIRAC, DIRAC.equilibrium),
    "update_jacobian": lambda: jg.update_jacobian(DIRAC, CONSENSUS, DIRAC.equilibrium),
    "spectral_radius": lambda: jg.spectral_radius(DIRAC, SIMGD, DIRAC.equilibrium),
    "top_eigenvalues": lambda: jg.top_eigenvalues(QUAD8, QUAD8.equilibrium, 2, which="LR"),
    "rollout": lambda: jg.rollout(DIRAC, SIMGD, W0, 50, record_every=10),
    "sweep": lambda: jg.sweep(DIRAC, MAKE_LR, W0, {"lr": jnp.linspace(0.01, 1.0, 7)}, 40),
    "sweep (large grid, split over the cores)": lambda: jg.sweep(DIRAC, MAKE_LR, W0, {"lr": jnp.linspace(0.01, 1.0, 2051)}, 20),
    "stability_map": lambda: jg.stability_map(
        DIRAC, MAKE_TX, {"lr": jnp.array([0.1, 0.5, 1.0]), "gamma": jnp.array([0.0, 1.0, 2.0])}, steps=40
    ),
    "flow": lambda: jg.flows.flow(DIRAC, W0, jnp.linspace(0.0, 1.0, 5)),
    "refinement_test": lambda: jg.flows.refinement_test(DIRAC, optax.sgd, W0, 0.1, 20, levels=2, points=5),
    "refinement_test (separate)": lambda: jg.flows.refinement_test(
        DIRAC, optax.sgd, W0, 0.1, 20, levels=2, points=5, batched=False, with_flow=False
    ),
    "spectral_trace (dense)": lambda: jg.spectral_trace(DIRAC, jg.Joint(jnp.zeros(3), jnp.ones(3))),
    "spectral_trace (arnoldi)": lambda: jg.spectral_trace(
        QUAD8, jg.Joint(jnp.zeros((2, 8)), jnp.zeros((2, 8))), method="arnoldi", k=2, smallest=False
    ),
    "rollout (stochastic game, key)": lambda: jg.rollout(NOISY, SIMGD, W0, 20, key=jax.random.PRNGKey(1)),
    "sweep (stochastic game, key)": lambda: jg.sweep(NOISY, MAKE_LR, W0, {"lr": jnp.linspace(0.01, 1.0, 5)}, 20,
                                                     key=jax.random.PRNGKey(1)),
    "run_stonr": lambda: jg.transforms.run_stonr(BOX_GAME.game, BOX_GAME.box),
    "spectral_density": lambda: jg.spectral_density(QUAD8, QUAD8.equilibrium, operator="schur_complement", num_probes=2),
    "stationary_point_certificate": lambda: jg.stationary_point_certificate(QUAD8, QUAD8.equilibrium).stackelberg,
    "path_angle": lambda: jg.path_angle(DIRAC, W0, DIRAC.equilibrium, num=9),
    "stonr_certificate": lambda: jg.transforms.stonr_certificate(BOX_GAME.game, BOX_GAME.box, jg.Joint(0.5, 0.5)),
    "manifold.retract (newton)": lambda: jg.manifold.retract(QUAD8, W8, tol=1e-6),
    "manifold.retract (optax)": lambda: jg.manifold.retract(QUAD8, W8, method=SIMGD, max_steps=20),
    "manifold.tangent_projection": lambda: jg.manifold.tangent_projection(QUAD8, W8, G8),
    "manifold.tangent_projection (dense)": lambda: jg.manifold.tangent_projection(QUAD8, W8, G8, method="dense"),
    "manifold.total_derivative": lambda: jg.manifold.total_derivative(QUAD8, W8, damping=0.1),
    "manifold.ridge_lift": lambda: jg.manifold.ridge_lift(QUAD8, W8, jnp.ones(8)),
    "solve_equilibrium": lambda: jg.solve_equilibrium(QUAD8, W8),
    "solve_equilibrium (newton, gmres)": lambda: jg.solve_equilibrium(QUAD8, W8, method="newton", linear_solver="gmres"),
    "modified_game (eigenvalues)": lambda: jg.eigenvalues(MODIFIED, DIRAC.equilibrium),
    "modified_game (flow)": lambda: jg.flows.flow(MODIFIED, W0, jnp.linspace(0.0, 1.0, 5)),
    "proximal_point (rollout)": lambda: jg.rollout(QUAD8, PROXIMAL, W8, 5),
    "proximal_point (spectral_radius)": lambda: jg.spectral_radius(QUAD8, PROXIMAL, QUAD8.equilibrium),
    "extragradient (extrapolation=)": lambda: jg.spectral_radius(DIRAC, TWO_STEP_EG, DIRAC.equilibrium),
    "tune": lambda: jg.tune(DIRAC, MAKE_LR, {"lr": (0.01, 1.0)}).radius,
    "worst_case_radius": lambda: jg.worst_case_radius(FAMILY, MAKE_LR, hyperparams={"lr": 0.1}),
    "critical_timescale": lambda: jg.critical_timescale(DIRAC),
    "noise_ball": lambda: jg.noise_ball(DIRAC, CONSENSUS, DIRAC.equilibrium, 0.5).covariance,
    "periodic_orbit": lambda: jg.periodic_orbit(DIRAC, SIMGD, W0, 1).multipliers,
    "stability_boundary": lambda: jg.stability_boundary(DIRAC, MAKE_TX, "lr", (0.01, 2.0), fixed={"gamma": 1.0}).radius,
    "nash_gap": lambda: jg.nash_gap(DIRAC, W0, jg.Box(-2.0, 2.0)).value,
    "duality_gap": lambda: jg.duality_gap(BILINEAR, W0, jg.Box(-2.0, 2.0)).value,
    "rollout (average)": lambda: jg.rollout(DIRAC, SIMGD, W0, 20, average=("ema", 0.9)).average,
    "spectral_radius (period)": lambda: jg.spectral_radius(DIRAC, CYCLIC, DIRAC.equilibrium, period=2),
    # the README's pattern: a vmap without jit, make_tx defined once
    "README's vmap of spectral_radius": lambda: jax.vmap(
        lambda lr: jg.spectral_radius(DIRAC, MAKE_LR, DIRAC.equilibrium, hyperparams={"lr": lr})
    )(jnp.array([0.1, 0.2, 0.3])),
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_a_repeat_call_compiles_nothing(name):
    first, second = assert_second_call_compiles_nothing(ENTRY_POINTS[name])
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_new_tolerance_or_damping_of_a_manifold_tool_compiles_nothing():
    jax.block_until_ready(jg.manifold.total_derivative(QUAD8, W8, damping=0.1, tol=1e-6))
    with counting() as c:
        jax.block_until_ready(jg.manifold.total_derivative(QUAD8, W8, damping=0.3, tol=1e-7))
    assert c == {"compiles": 0, "traces": 0}, c


def test_a_new_grid_of_the_same_size_compiles_nothing():
    grid = lambda a: {"lr": jnp.array([0.1, 0.5, a]), "gamma": jnp.array([0.0, 1.0, a])}  # noqa: E731
    jg.stability_map(DIRAC, MAKE_TX, grid(2.0), steps=40)
    jg.sweep(DIRAC, MAKE_TX, W0, grid(2.0), 40, rtol=1e-3)
    with counting() as c:
        m = jg.stability_map(DIRAC, MAKE_TX, grid(3.0), steps=40)
        res = jg.sweep(DIRAC, MAKE_TX, W0, grid(3.0), 40, rtol=1e-2)  # rtol is traced too
        jax.block_until_ready((m.radius, res.status))
    assert c == {"compiles": 0, "traces": 0}, c
    # and the new numbers were used: SimGD (gamma = 0) at lr 3 has radius sqrt(1 + 9/4)
    np.testing.assert_allclose(float(m.radius[-1]), float(jg.spectral_radius(DIRAC, MAKE_TX(
        {"lr": 3.0, "gamma": 3.0}), DIRAC.equilibrium)), rtol=1e-12)


@pytest.mark.parametrize("entry", ["rollout", "spectral_radius", "update_jacobian"])
def test_a_new_learning_rate_through_hyperparams_compiles_nothing(entry):
    fns = {
        "rollout": lambda lr: jg.rollout(DIRAC, MAKE_LR, W0, 30, hyperparams={"lr": lr}).final,
        "spectral_radius": lambda lr: jg.spectral_radius(DIRAC, MAKE_LR, DIRAC.equilibrium, hyperparams={"lr": lr}),
        "update_jacobian": lambda lr: jg.update_jacobian(DIRAC, MAKE_LR, DIRAC.equilibrium, hyperparams={"lr": lr}),
    }
    fn = fns[entry]
    jax.block_until_ready(fn(0.1))
    with counting() as c:
        values = [jax.block_until_ready(fn(lr)) for lr in (0.2, 0.3, 0.7)]
    assert c == {"compiles": 0, "traces": 0}, c
    for lr, got in zip((0.2, 0.3, 0.7), values):  # each equals the transformation built at that rate
        plain = {
            "rollout": lambda: jg.rollout(DIRAC, optax.sgd(lr), W0, 30).final,
            "spectral_radius": lambda: jg.spectral_radius(DIRAC, optax.sgd(lr), DIRAC.equilibrium),
            "update_jacobian": lambda: jg.update_jacobian(DIRAC, optax.sgd(lr), DIRAC.equilibrium),
        }[entry]()
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(plain)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-14)
    # the Dirac-GAN's SimGD operator has modulus sqrt(1 + lr^2 f'(0)^2), f'(0) = 1/2
    if entry == "spectral_radius":
        np.testing.assert_allclose([float(v) for v in values], np.sqrt(1 + np.array([0.2, 0.3, 0.7]) ** 2 / 4), rtol=1e-12)


def test_a_new_coarse_learning_rate_in_the_refinement_test_compiles_nothing():
    jg.flows.refinement_test(DIRAC, optax.sgd, W0, 0.1, 20, levels=2, points=5)
    with counting() as c:
        r = jg.flows.refinement_test(DIRAC, optax.sgd, W0, 0.05, 20, levels=2, points=5)
    assert c == {"compiles": 0, "traces": 0}, c
    np.testing.assert_allclose(np.asarray(r.etas), [0.05, 0.025])


def test_trace_time_checks_run_once_per_program(monkeypatch):
    from jaxgan._core import field as _field
    from jaxgan._validation import checks as _checks
    calls = collections.Counter()
    order, differentiable = _field.resolve, _checks.check_differentiable

    def counted_order(*a, **k):
        calls["chain order"] += 1
        return order(*a, **k)

    def counted_differentiable(*a, **k):
        calls["differentiable"] += 1
        return differentiable(*a, **k)

    monkeypatch.setattr(_field, "resolve", counted_order)
    monkeypatch.setattr(_checks, "check_differentiable", counted_differentiable)
    game = jg.games.dirac("wgan")
    tx = optax.chain(jg.transforms.consensus(1.0), optax.sgd(0.1))
    jg.rollout(game, tx, W0, 20)
    assert calls["chain order"] == 1 and calls["differentiable"] >= 1
    calls.clear()
    for _ in range(3):
        jg.rollout(game, tx, W0, 20)
        jg.rollout(game, tx, jg.Joint(jnp.asarray(1.0), jnp.asarray(2.0)), 20)
    assert calls == {}
    # a misordered chain is still refused, on every call (a failed trace caches nothing)
    bad = optax.chain(optax.sgd(0.1), jg.transforms.consensus(1.0))
    for _ in range(2):
        with pytest.raises(ValueError, match="must come first"):
            jg.rollout(game, bad, W0, 20)


def test_value_checks_still_see_every_call():
    jg.eigenvalues(DIRAC, DIRAC.equilibrium)
    with pytest.raises(ValueError, match="non-finite"):
        jg.eigenvalues(DIRAC, jg.Joint(jnp.asarray(jnp.nan), jnp.asarray(0.0)))
    jg.sweep(DIRAC, MAKE_LR, W0, {"lr": jnp.linspace(0.01, 1.0, 7)}, 40)
    with pytest.raises(ValueError, match="1-D"):
        jg.sweep(DIRAC, MAKE_LR, W0, {"lr": jnp.ones((7, 1))}, 40)


def test_a_new_transformation_object_is_a_new_program():
    # identity, not equality, keys the cache: jare(1.0) built again is another program
    jg.jacobian(DIRAC, W0, transform=jg.transforms.jare(1.0))
    with counting() as c:
        jg.jacobian(DIRAC, W0, transform=jg.transforms.jare(1.0))
    assert c["compiles"] == 1


def test_hyperparams_needs_a_make_tx():
    with pytest.raises(TypeError, match="make_tx"):
        jg.rollout(DIRAC, optax.sgd(0.1), W0, 10, hyperparams={"lr": 0.1})
    with pytest.raises(TypeError, match="optax.GradientTransformation"):
        jg.spectral_radius(DIRAC, MAKE_LR, DIRAC.equilibrium)


def test_the_cache_is_bounded_and_lets_games_go(monkeypatch):
    monkeypatch.setattr(_cache, "MAX_PROGRAMS", 4)
    _cache.clear()
    refs = []
    for i in range(8):
        game = jg.zero_sum(lambda x, y, a=float(i): a * x * y + x**2 - y**2)
        refs.append(weakref.ref(game))
        jg.eigenvalues(game, jg.Joint(jnp.asarray(0.0), jnp.asarray(0.0)))
        del game
    assert _cache.cached_programs() == 4
    gc.collect()
    assert sum(r() is None for r in refs[:4]) == 4  # the dropped programs released their games
    assert all(r() is not None for r in refs[4:])  # the cached ones keep theirs
    _cache.clear()
    gc.collect()
    assert all(r() is None for r in refs)


def test_programs_work_under_jit_and_vmap():
    lrs = jnp.array([0.1, 0.2])
    radii = jax.jit(jax.vmap(lambda lr: jg.spectral_radius(DIRAC, MAKE_LR, DIRAC.equilibrium, hyperparams={"lr": lr})))(lrs)
    np.testing.assert_allclose(radii, np.sqrt(1 + np.asarray(lrs) ** 2 / 4), rtol=1e-12)
    finals = jax.vmap(lambda w: jg.rollout(DIRAC, SIMGD, w, 10).final)(jg.Joint(jnp.ones(3), jnp.zeros(3)))
    one = jg.rollout(DIRAC, SIMGD, jg.Joint(jnp.asarray(1.0), jnp.asarray(0.0)), 10).final
    np.testing.assert_allclose(finals.phi, np.full(3, float(one.phi)), rtol=1e-14)


def test_calls_inside_a_transformation_leave_no_entries():
    _cache.clear()
    lrs = jnp.array([0.1, 0.2, 0.3])
    radii = jax.vmap(lambda lr: jg.spectral_radius(DIRAC, optax.sgd(lr), DIRAC.equilibrium))(lrs)
    np.testing.assert_allclose(radii, np.sqrt(1 + np.asarray(lrs) ** 2 / 4), rtol=1e-12)
    assert _cache.cached_programs() == 0  # the transformations made from tracers are not kept
