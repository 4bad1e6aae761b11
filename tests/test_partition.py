"""Equinox modules (and flax nnx modules) as players: every entry point takes them, and the
numbers equal references written here on the partitioned parameters with ``jax.grad``."""

import collections
import contextlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg
from jaxgan._core import partition as _partition

X = jnp.linspace(-1.0, 1.0, 10).reshape(5, 2)


def _f64(module):
    return jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_array(x) else x, module)


def _players():
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    g = _f64(eqx.nn.MLP(2, 2, 4, 1, activation=jnp.tanh, key=k1))
    d = _f64(eqx.nn.MLP(2, "scalar", 4, 1, activation=jnp.tanh, key=k2))
    return g, d


def _l2(module):
    return sum(jnp.sum(x**2) for x in jax.tree.leaves(eqx.filter(module, eqx.is_array)))


def loss_g(g, d):
    return -jnp.mean(jax.vmap(d)(jax.vmap(g)(X)))


def loss_d(g, d):  # a penalty on the critic's weights gives the game a stable equilibrium
    return jnp.mean(jax.vmap(d)(jax.vmap(g)(X))) - jnp.mean(jax.vmap(d)(X)) + 0.5 * _l2(d)


GAME = jg.Game(loss_g, loss_d, name="equinox MLPs")
G, D = _players()
W = jg.Joint(G, D)


def _reference():
    """The field and Jacobian of the game on the partitioned parameters, by ``jax.grad``."""
    (pg, sg), (pd, sd) = eqx.partition(G, eqx.is_array), eqx.partition(D, eqx.is_array)
    z, unravel = ravel_pytree((pg, pd))

    def xi(z):
        a, b = unravel(z)
        ga = jax.grad(lambda a: loss_g(eqx.combine(a, sg), eqx.combine(b, sd)))(a)
        gb = jax.grad(lambda b: loss_d(eqx.combine(a, sg), eqx.combine(b, sd)))(b)
        return ravel_pytree((ga, gb))[0]

    return z, unravel, jax.jit(xi), (sg, sd)  # traced once: plain grads, no eager dispatch


def test_the_jacobian_equals_jacfwd_on_the_partitioned_parameters():
    z, _, xi, _ = _reference()
    a = jg.jacobian(GAME, W)
    assert a.shape == (z.size, z.size) == (39, 39)
    reference = -np.asarray(jax.jit(jax.jacfwd(xi))(z))
    np.testing.assert_allclose(np.asarray(a), reference, atol=1e-13)
    lam = np.sort_complex(np.asarray(jg.eigenvalues(GAME, W)))
    np.testing.assert_allclose(lam, np.sort_complex(np.linalg.eigvals(reference)), atol=1e-10)


def test_the_field_comes_in_equinox_gradient_form():
    z, unravel, xi, _ = _reference()
    field = jg.simultaneous_gradient(GAME)(W)
    assert isinstance(field.phi, eqx.nn.MLP) and field.phi.activation is None  # None where static
    np.testing.assert_allclose(
        np.asarray(ravel_pytree(jax.tree.leaves(field))[0]), np.asarray(xi(z)), rtol=1e-13
    )


def test_a_rollout_equals_a_hand_written_loop_and_returns_modules():
    z, unravel, xi, (sg, sd) = _reference()
    lr, steps = 0.05, 30
    ref = z
    for _ in range(steps):
        ref = ref - lr * xi(ref)
    out = jg.rollout(GAME, optax.sgd(lr), W, steps, record_every=10)
    assert isinstance(out.final.phi, eqx.nn.MLP) and out.final.phi.activation is jnp.tanh
    assert out.trajectory.phi.layers[0].weight.shape == (4, 4, 2) and bool(out.finite)
    got = ravel_pytree(jax.tree.leaves(eqx.filter(out.final, eqx.is_array)))[0]
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-12)
    # the returned modules run
    assert jax.vmap(out.final.phi)(X).shape == (5, 2)


def test_a_sweep_and_a_stability_map_take_modules():
    lrs = jnp.array([0.01, 0.05])
    res = jg.sweep(GAME, MAKE_LR, W, {"lr": lrs}, 20)
    assert isinstance(res.final.theta, eqx.nn.MLP) and res.final.theta.layers[0].weight.shape == (
        2,
        4,
        2,
    )
    for i, lr in enumerate(lrs):
        one = jg.rollout(GAME, MAKE_LR, W, 20, hyperparams={"lr": lr}).final
        for a, b in zip(
            jax.tree.leaves(eqx.filter(one, eqx.is_array)),
            jax.tree.leaves(eqx.filter(res.final, eqx.is_array)),
        ):
            np.testing.assert_allclose(np.asarray(b[i]), np.asarray(a), rtol=1e-12)
    m = jg.stability_map(GAME, MAKE_LR, {"lr": lrs}, w_star=W, steps=20)
    np.testing.assert_allclose(
        np.asarray(m.radius),
        [float(jg.spectral_radius(GAME, MAKE_LR, W, hyperparams={"lr": lr})) for lr in lrs],
        rtol=1e-12,
    )


def test_the_equilibrium_is_a_module_with_zero_field():
    eq = jg.solve_equilibrium(GAME, W)
    assert bool(eq.converged) and isinstance(eq.point.phi, eqx.nn.MLP)
    residual = ravel_pytree(jax.tree.leaves(jg.simultaneous_gradient(GAME)(eq.point)))[0]
    assert float(jnp.linalg.norm(residual)) < 1e-10


def test_a_transformation_called_by_hand_takes_modules_and_gives_equinox_updates():
    tx = jg.transforms.extragradient(optax.sgd(0.05), extrapolation=optax.sgd(0.1))
    state = tx.init(W)
    updates, _ = tx.update(jg.simultaneous_gradient(GAME)(W), state, W, game=GAME)
    by_hand = eqx.apply_updates(W, updates)
    by_rollout = jg.rollout(GAME, tx, W, 1).final
    for a, b in zip(jax.tree.leaves(by_hand), jax.tree.leaves(by_rollout)):
        if eqx.is_array(a):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-13)
    step = jg.make_step(GAME, optax.sgd(0.05))
    w1, _ = step(W, optax.sgd(0.05).init(eqx.filter(W, eqx.is_array)))
    assert w1.theta.activation is jnp.tanh


def test_the_modified_game_of_modules_equals_the_one_written_on_arrays():
    z, unravel, xi, (sg, sd) = _reference()
    lr = 0.1
    a = -np.asarray(jax.jacfwd(xi)(z))
    # the modified field xi + (lr/2) (d xi) xi: its Jacobian by jacfwd of that formula
    modified = lambda z: xi(z) + 0.5 * lr * jax.jvp(xi, (z,), (xi(z),))[1]  # noqa: E731
    got = jg.jacobian(jg.modified_game(GAME, lr), W)
    np.testing.assert_allclose(np.asarray(got), -np.asarray(jax.jacfwd(modified)(z)), atol=1e-12)
    assert not np.allclose(np.asarray(got), a)


def test_attributes_of_a_module_are_not_parameters():
    k = jax.random.PRNGKey(3)
    critic = _f64(
        eqx.nn.Sequential(
            [
                eqx.nn.Linear(2, 3, key=k),
                eqx.nn.Lambda(jnp.tanh),
                eqx.nn.Dropout(0.2, inference=True),
                eqx.nn.Linear(3, "scalar", key=k),
            ]
        )
    )
    game = jg.Game(lambda g, d: -d(g), lambda g, d: d(g) + 0.5 * _l2(d))
    w = jg.Joint(jnp.array([0.3, -0.2]), critic)
    # 2 + (3*2 + 3) + (3 + 1): Dropout's rate and flag are attributes, not parameters
    assert jg.jacobian(game, w).shape == (15, 15)
    parameters, statics = _partition.split_point(w)
    assert statics[0] is None and statics[1] is not None
    assert (
        parameters.theta.layers[2].p is None
        and _partition.join_point(parameters, statics).theta.layers[2].p == 0.2
    )


def test_points_of_arrays_pass_untouched():
    w = jg.Joint(jnp.ones(2), {"a": 1.0, "b": np.zeros(3)})
    assert _partition.split_point(w)[0] is w
    # outside equinox modules a function is static too, and a player of only static leaves is refused
    with pytest.raises(ValueError, match="w.phi` has no array leaves"):
        jg.jacobian(GAME, jg.Joint({"f": jnp.tanh}, D))


def test_an_n_player_game_of_modules():
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    nets = [_f64(eqx.nn.Linear(2, 2, key=k)) for k in keys]
    u = jnp.array([0.5, -1.0])

    def loss(i):
        return lambda w: jnp.sum(w[i](u) * w[(i + 1) % 3](u)) + 0.5 * _l2(w[i])

    game = jg.n_player_game([loss(0), loss(1), loss(2)])
    w = jg.Players(*nets)
    parts = [eqx.partition(n, eqx.is_array) for n in nets]
    z, unravel = ravel_pytree([p for p, _ in parts])

    def xi(z):
        ps = unravel(z)
        whole = lambda ps: jg.Players(*[eqx.combine(p, s) for p, (_, s) in zip(ps, parts)])  # noqa: E731
        return ravel_pytree(
            [
                jax.grad(lambda p, i=i: loss(i)(whole(ps[:i] + [p] + ps[i + 1 :])))(ps[i])
                for i in range(3)
            ]
        )[0]

    np.testing.assert_allclose(
        np.asarray(jg.jacobian(game, w)), -np.asarray(jax.jacfwd(xi)(z)), atol=1e-13
    )
    out = jg.rollout(game, optax.sgd(0.1), w, 5)
    assert isinstance(out.final[2], eqx.nn.Linear)


def test_flax_nnx_modules_as_players():
    nnx = pytest.importorskip("flax.nnx")

    class Net(nnx.Module):
        def __init__(self, dout, seed):
            rngs = nnx.Rngs(seed)
            self.l1 = nnx.Linear(2, 4, rngs=rngs, param_dtype=jnp.float64)
            self.l2 = nnx.Linear(4, dout, rngs=rngs, param_dtype=jnp.float64)

        def __call__(self, x):
            return self.l2(jnp.tanh(self.l1(x)))

    g, d = Net(2, 0), Net(1, 1)
    direct = jg.Game(
        lambda g, d: -jnp.mean(d(g(X))), lambda g, d: jnp.mean(d(g(X))) - jnp.mean(d(X))
    )
    (gdef, gp), (ddef, dp) = nnx.split(g, nnx.Param), nnx.split(d, nnx.Param)
    split = jg.Game(
        lambda a, b: direct.loss_g(nnx.merge(gdef, a), nnx.merge(ddef, b)),
        lambda a, b: direct.loss_d(nnx.merge(gdef, a), nnx.merge(ddef, b)),
    )
    a_split = jg.jacobian(split, jg.Joint(gp, dp))
    assert a_split.shape == (22 + 17, 22 + 17)
    np.testing.assert_allclose(
        np.asarray(jg.jacobian(direct, jg.Joint(g, d))), np.asarray(a_split), atol=1e-14
    )


_counts = collections.Counter()
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: (
        _counts.update(["c"]) if event == "/jax/core/compile/backend_compile_duration" else None
    )
)


@contextlib.contextmanager
def _compiles():
    before, seen = _counts["c"], {}
    yield seen
    seen["compiles"] = _counts["c"] - before


@pytest.mark.parametrize("entry", ["jacobian", "rollout", "sweep", "solve_equilibrium"])
def test_a_repeat_call_with_modules_compiles_nothing(entry):
    call = {
        "jacobian": lambda w: jg.jacobian(GAME, w),
        "rollout": lambda w: jg.rollout(GAME, SGD, w, 10).final,
        "sweep": lambda w: jg.sweep(GAME, MAKE_LR, w, {"lr": jnp.array([0.01, 0.05])}, 10).status,
        "solve_equilibrium": lambda w: jg.solve_equilibrium(GAME, w).point,
    }[entry]
    jax.block_until_ready(eqx.filter(call(W), eqx.is_array))
    rebuilt = jg.Joint(*_players())  # equal modules built anew: the same program
    with _compiles() as c:
        jax.block_until_ready(eqx.filter(call(W), eqx.is_array))
        jax.block_until_ready(eqx.filter(call(rebuilt), eqx.is_array))
    assert c["compiles"] == 0, c


MAKE_LR = lambda h: optax.sgd(h["lr"])  # noqa: E731
SGD = optax.sgd(0.05)


class _Indexed(eqx.Module):
    w: jax.Array
    index: jax.Array  # an integer array: equinox keeps it a leaf, and it is not a parameter


def test_an_integer_array_in_a_module_is_refused_naming_it():
    m = _Indexed(jnp.ones(2), jnp.arange(2))
    game = jg.Game(lambda a, b: jnp.sum(a.w * b.w), lambda a, b: -jnp.sum(a.w * b.w))
    with pytest.raises(TypeError, match=r"jacobian: `w.phi` has a leaf of dtype int"):
        jg.jacobian(game, jg.Joint(m, m))


# --------------------------------------------------------------------------- module state


class _Affine(eqx.Module):
    """``w * x + buffer``: ``buffer`` is read through stop_gradient (equinox's buffer idiom)."""

    w: jax.Array
    buffer: jax.Array

    def __call__(self, x):
        return self.w * x + jax.lax.stop_gradient(self.buffer)


MU, S, LR = 5.2, 6.4, 0.1  # SimGD at LR: eigenvalues 1 - LR (MU -+ i S) = 0.48 -+ 0.64i, |.| = 0.8


def _affine_game(mu=MU):
    def loss_g(g, d):
        a, b = g(1.0), d(1.0)
        return 0.5 * mu * jnp.sum(a**2) + S * jnp.sum(a * b)

    def loss_d(g, d):
        a, b = g(1.0), d(1.0)
        return 0.5 * mu * jnp.sum(b**2) - S * jnp.sum(a * b)

    return jg.Game(loss_g, loss_d, name="affine with buffers")


AFFINE = _affine_game()
W_AFFINE = jg.Joint(
    _Affine(jnp.array([0.3, -0.5]), jnp.array([1.0, 2.0])),
    _Affine(jnp.array([0.7, 0.2]), jnp.array([-1.0, 0.5])),
)


def test_an_equinox_buffer_read_through_stop_gradient_is_left_out_of_the_dynamics():
    # closed form: on the trainable w the field's Jacobian is -[[MU, S], [-S, MU]] per
    # coordinate, eigenvalues -MU -+ i S; the buffers would add eigenvalues 0 (step: 1)
    a = jg.jacobian(AFFINE, W_AFFINE)
    assert a.shape == (4, 4)
    lam = np.sort_complex(np.asarray(jg.eigenvalues(AFFINE, W_AFFINE)))
    np.testing.assert_allclose(
        lam, [-MU - 1j * S, -MU - 1j * S, -MU + 1j * S, -MU + 1j * S], atol=1e-12
    )
    radius = float(jg.spectral_radius(AFFINE, optax.sgd(LR), W_AFFINE))
    assert abs(radius - 0.8) < 1e-8, radius
    # a rollout moves w only, as a hand-written loop on w; the buffers come back as given
    g, d = W_AFFINE
    wg, wd = np.asarray(g.w), np.asarray(d.w)
    for _ in range(10):
        xg = MU * (wg + g.buffer) + S * (wd + d.buffer)
        xd = MU * (wd + d.buffer) - S * (wg + g.buffer)
        wg, wd = wg - LR * xg, wd - LR * xd
    out = jg.rollout(AFFINE, optax.adamw(LR, weight_decay=0.5), W_AFFINE, 3).final
    np.testing.assert_array_equal(np.asarray(out.phi.buffer), np.asarray(g.buffer))  # no decay
    out = jg.rollout(AFFINE, optax.sgd(LR), W_AFFINE, 10).final
    np.testing.assert_allclose(np.asarray(out.phi.w), wg, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(out.theta.w), wd, rtol=1e-12)
    assert out.phi.buffer is g.buffer and out.theta.buffer is d.buffer
    # the equilibrium w* = -buffer, found on w alone (the buffers would make J singular)
    eq = jg.solve_equilibrium(AFFINE, W_AFFINE)
    assert bool(eq.converged)
    np.testing.assert_allclose(np.asarray(eq.point.phi.w), -np.asarray(g.buffer), atol=1e-12)
    # a field handed to the user's own loop has equinox's gradient form: zero at the buffer
    field = jg.simultaneous_gradient(AFFINE)(W_AFFINE)
    np.testing.assert_array_equal(np.asarray(field.phi.buffer), 0.0)
    reference = eqx.filter_grad(lambda g: AFFINE.loss_g(g, d))(g)
    np.testing.assert_allclose(np.asarray(field.phi.w), np.asarray(reference.w), rtol=1e-14)


def test_buffers_are_found_for_a_grid_game_and_its_radii_are_the_closed_form():
    lrs = jnp.array([0.1, 0.05])
    expect = [0.8, np.hypot(1 - 0.05 * MU, 0.05 * S)]  # |1 - lr (MU -+ i S)|
    for game in (AFFINE, lambda h: _affine_game()):
        m = jg.stability_map(game, MAKE_LR, {"lr": lrs}, w_star=W_AFFINE)
        np.testing.assert_allclose(np.asarray(m.radius), expect, atol=1e-8)


def test_a_module_whose_every_array_is_a_buffer_is_refused_naming_the_loss():
    class Frozen(eqx.Module):
        b: jax.Array

    game = jg.Game(
        lambda g, d: jnp.sum(jax.lax.stop_gradient(g.b) * d.w),
        lambda g, d: jnp.sum(d.w**2) - jnp.sum(g.b * d.w),
    )
    w = jg.Joint(Frozen(jnp.ones(2)), W_AFFINE.theta)
    with pytest.raises(ValueError, match="`loss_g` does not depend differentiably on `phi`"):
        jg.jacobian(game, w)


def test_the_measured_rate_of_a_run_of_modules_to_an_equilibrium_of_modules():
    # the affine game's step is 0.8 times a rotation about w* = -buffer: the rate is 0.8
    eq = jg.solve_equilibrium(AFFINE, W_AFFINE)
    run = jg.rollout(AFFINE, optax.sgd(LR), W_AFFINE, 30, record_every=1)
    assert abs(float(jg.measured_rate(run, reference=eq.point, every=1)) - 0.8) < 1e-8
    # MLPs (an activation function among the leaves): the distances of the partitioned arrays
    eq = jg.solve_equilibrium(GAME, W)
    run = jg.rollout(GAME, SGD, W, 40, record_every=5)
    traj, star = eqx.filter(run.trajectory, eqx.is_array), eqx.filter(eq.point, eqx.is_array)
    flat = jax.vmap(lambda w: ravel_pytree(w)[0])(traj)
    distance = np.linalg.norm(np.asarray(flat) - np.asarray(ravel_pytree(star)[0]), axis=1)
    assert distance.shape == (9,)
    np.testing.assert_allclose(
        jg.measured_rate(run, reference=eq.point, every=5),
        jg.measured_rate(distance, every=5),
        rtol=1e-12,
    )


def _nnx_net(nnx, dout, seed, train=False):
    class Net(nnx.Module):
        def __init__(self):
            rngs = nnx.Rngs(seed)
            self.l1 = nnx.Linear(2, 3, rngs=rngs, param_dtype=jnp.float64)
            self.bn = nnx.BatchNorm(
                3, rngs=rngs, param_dtype=jnp.float64, use_running_average=not train
            )
            self.l2 = nnx.Linear(3, dout, rngs=rngs, param_dtype=jnp.float64)
            # statistics that matter; float32 as flax keeps them (not the parameters' dtype),
            # float64 in training mode, where flax writes the batch's float64 statistics
            stats = jnp.float64 if train else jnp.float32
            self.bn.mean.set_value(jnp.array([0.1, -0.2, 0.3], stats))
            self.bn.var.set_value(jnp.array([0.5, 2.0, 1.5], stats))

        def __call__(self, x):
            return self.l2(jnp.tanh(self.bn(self.l1(x))))

    return Net()


def _nnx_game(nnx):
    def l2(d):
        return 0.5 * sum(jnp.sum(p**2) for p in jax.tree.leaves(nnx.state(d, nnx.Param)))

    return jg.Game(
        lambda g, d: -jnp.mean(d(g(X))), lambda g, d: jnp.mean(d(g(X))) - jnp.mean(d(X)) + l2(d)
    )


def test_nnx_batch_statistics_are_module_state_not_parameters():
    nnx = pytest.importorskip("flax.nnx")
    g, d = _nnx_net(nnx, 2, 0), _nnx_net(nnx, 1, 1)
    direct = _nnx_game(nnx)
    (gdef, gp, gs), (ddef, dp, ds) = nnx.split(g, nnx.Param, ...), nnx.split(d, nnx.Param, ...)
    split = jg.Game(
        lambda a, b: direct.loss_g(nnx.merge(gdef, a, gs), nnx.merge(ddef, b, ds)),
        lambda a, b: direct.loss_d(nnx.merge(gdef, a, gs), nnx.merge(ddef, b, ds)),
    )
    n_params = sum(x.size for x in jax.tree.leaves((gp, dp)))
    assert n_params == (2 * 3 + 3) + 2 * 3 + (3 * 2 + 2) + (2 * 3 + 3) + 2 * 3 + (3 + 1) == 42
    a = jg.jacobian(direct, jg.Joint(g, d))
    assert a.shape == (n_params, n_params)
    np.testing.assert_allclose(
        np.asarray(a), np.asarray(jg.jacobian(split, jg.Joint(gp, dp))), atol=1e-13
    )
    # SGD moves the Params only: the batch statistics come back as given
    out = jg.rollout(direct, optax.sgd(0.1), jg.Joint(g, d), 5).final
    ref = jg.rollout(split, optax.sgd(0.1), jg.Joint(gp, dp), 5).final
    for module, stats in ((out.phi, gs), (out.theta, ds)):
        np.testing.assert_array_equal(
            np.asarray(module.bn.mean.get_value()), np.asarray(stats["bn"]["mean"].get_value())
        )
        np.testing.assert_array_equal(np.asarray(module.bn.var.get_value()), [0.5, 2.0, 1.5])
    np.testing.assert_allclose(
        np.asarray(out.phi.l1.kernel.get_value()),
        np.asarray(ref.phi["l1"]["kernel"].get_value()),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        np.asarray(out.theta.bn.scale.get_value()),
        np.asarray(ref.theta["bn"]["scale"].get_value()),
        rtol=1e-12,
    )
    assert not np.allclose(np.asarray(out.theta.bn.scale.get_value()), 1.0)  # the Params did move


@pytest.mark.parametrize("entry", ["jacobian", "rollout", "simultaneous_gradient"])
def test_a_loss_that_mutates_module_state_is_refused_naming_the_loss_and_the_fix(entry):
    nnx = pytest.importorskip("flax.nnx")
    game = _nnx_game(nnx)
    # the critic in training mode: its BatchNorm updates its statistics inside the loss
    w = jg.Joint(_nnx_net(nnx, 2, 0), _nnx_net(nnx, 1, 1, train=True))
    call = {
        "jacobian": lambda: jg.jacobian(game, w),
        "rollout": lambda: jg.rollout(game, SGD, w, 2),
        "simultaneous_gradient": lambda: jg.simultaneous_gradient(game)(w),
    }[entry]
    with pytest.raises(
        TypeError,
        match=r"`loss_g` mutates module state \(it sets `theta.bn.mean`, an nnx.BatchStat\)",
    ) as err:
        call()
    message = str(err.value)
    for words in (
        "a loss is a pure function of the players",
        "`model.eval()`",
        "`use_running_average=True` for nnx.BatchNorm",
        "keep the statistics out of the loss",
    ):
        assert words in message, message


def test_a_mutation_that_flax_refuses_across_traces_is_refused_the_same_way():
    nnx = pytest.importorskip("flax.nnx")
    critic = lambda d, z: jnp.mean(jax.jit(lambda z: d(z))(z))  # noqa: E731  d runs in an inner trace
    game = jg.Game(lambda g, d: -critic(d, g(X)), lambda g, d: critic(d, g(X)) - critic(d, X))
    w = jg.Joint(_nnx_net(nnx, 2, 0), _nnx_net(nnx, 1, 1, train=True))
    with pytest.raises(
        TypeError, match=r"`loss_g` mutates module state \(flax says: Cannot mutate BatchStat"
    ) as err:
        jg.jacobian(game, w)
    assert "`theta.bn.mean`" in str(err.value) and "`model.eval()`" in str(err.value)


def test_a_repeat_call_with_buffers_compiles_and_traces_nothing():
    call = lambda w: jg.spectral_radius(AFFINE, SGD, w)  # noqa: E731
    jax.block_until_ready(call(W_AFFINE))
    rebuilt = jg.Joint(_Affine(W_AFFINE.phi.w + 0.0, W_AFFINE.phi.buffer), W_AFFINE.theta)
    traced = []
    original = _partition._trace_reached
    _partition._trace_reached = lambda *a: traced.append(1) or original(*a)
    try:
        with _compiles() as c:
            jax.block_until_ready(call(W_AFFINE))
            jax.block_until_ready(call(rebuilt))
    finally:
        _partition._trace_reached = original
    assert c["compiles"] == 0 and not traced, (c, traced)
