"""Neural games (flax linen / nnx and plain MLPs), data sets, metrics, spectra along training."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import jaxgan as jg

# ----------------------------------------------------------------------------- data sets


def test_ring_and_grid_are_balanced_mixtures_near_their_modes():
    ds = jg.datasets.ring()
    x = np.asarray(ds.sample(jax.random.PRNGKey(0), 800))
    rep = jg.metrics.mode_coverage(x, ds)
    # within 3 std of a 2-D Gaussian's centre: 1 - exp(-9/2) = 0.9889 of its mass
    assert rep.covered == 8 and abs(rep.high_quality - (1 - np.exp(-4.5))) < 0.01
    near = np.argmin(np.linalg.norm(x[:, None] - ds.modes[None], axis=-1), axis=1)
    assert np.all(np.bincount(near, minlength=8) == 100)  # K divides n: exactly balanced
    np.testing.assert_allclose(np.linalg.norm(ds.modes, axis=1), 2.0, rtol=1e-15)
    g = jg.datasets.grid()
    assert g.modes.shape == (25, 2) and set(np.round(g.modes[:, 0], 12)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert jg.metrics.mode_coverage(g.sample(jax.random.PRNGKey(1), 2500), g).covered == 25


@pytest.mark.parametrize("name", ["line", "circle", "four_lines"])
def test_continuous_supports_hold_their_samples(name):
    ds = jg.datasets.by_name(name)
    x = np.asarray(ds.sample(jax.random.PRNGKey(0), 400))
    assert np.max(ds.support_distance(x)) < 1e-6
    assert jg.metrics.high_quality_fraction(x, ds) == 1.0
    assert jg.metrics.high_quality_fraction(x + np.array([0.0, 3.0]), ds) == 0.0


def test_dataset_errors_name_the_argument():
    with pytest.raises(ValueError, match="unknown `name` 'spiral'"):
        jg.datasets.by_name("spiral")
    with pytest.raises(ValueError, match="`n` must be a positive int"):
        jg.datasets.ring().sample(jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="full support"):
        jg.metrics.mode_coverage(np.zeros((3, 2)), jg.datasets.gaussian())


def test_digits_are_shipped_and_scaled():
    x, y = jg.datasets.digits()
    assert x.shape == (1797, 64) and x.min() == -1.0 and x.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))


# ----------------------------------------------------------------------------- metrics


def test_wasserstein1_is_the_exact_optimal_matching():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1.0
    brute = min(np.mean(np.linalg.norm(x - y[list(p)], axis=1)) for p in itertools.permutations(range(6)))
    assert abs(jg.metrics.wasserstein1(x, y) - brute) < 1e-12
    # in 1-D the optimal plan matches sorted samples
    a, b = rng.normal(size=50), rng.exponential(size=50)
    exact = np.mean(np.abs(np.sort(a) - np.sort(b)))
    assert abs(jg.metrics.wasserstein1(a[:, None], b[:, None]) - exact) < 1e-12
    with pytest.raises(ValueError, match="same shape"):
        jg.metrics.wasserstein1(x, y[:5])
    with pytest.raises(ValueError, match="`y` has non-finite"):
        jg.metrics.wasserstein1(x, np.full_like(y, np.nan))


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    # a shift moves only the mean term; a scaling c of the samples: tr(S)(1 - c)^2
    assert abs(jg.metrics.frechet_distance(x, x + 0.5) - 4 * 0.25) < 1e-9
    s = np.cov(x, rowvar=False)
    assert abs(jg.metrics.frechet_distance(x, 3.0 * x) - (np.sum(x.mean(0) ** 2) * 4 + np.trace(s) * 4)) < 1e-9
    # against scipy's matrix square root on unrelated sets
    from scipy.linalg import sqrtm

    y = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    sy = np.cov(y, rowvar=False)
    ref = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(s + sy - 2 * np.real(sqrtm(s @ sy)))
    assert abs(jg.metrics.frechet_distance(x, y) - ref) < 1e-8 * ref


def test_classifier_score_bounds():
    assert abs(jg.metrics.classifier_score(np.full((20, 10), 0.1)) - 1.0) < 1e-12
    assert abs(jg.metrics.classifier_score(np.eye(10)[np.arange(40) % 10]) - 10.0) < 1e-12
    assert abs(jg.metrics.classifier_score(np.eye(10)[np.zeros(40, int)]) - 1.0) < 1e-12  # collapsed
    with pytest.raises(ValueError, match="probability vectors"):
        jg.metrics.classifier_score(np.ones((3, 10)))


def test_digits_classifier_is_accurate_and_deterministic():
    clf = jg.metrics.digits_classifier()
    assert clf.test_accuracy > 0.95
    x, y = jg.datasets.digits()
    assert jg.metrics.classifier_score(clf.probabilities(x)) > 8.0  # real digits: confident and diverse
    again = jg.metrics.digits_classifier.__wrapped__()
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(clf.params), jax.tree.leaves(again.params)))
    # real digits are closer to real digits than to noise in the classifier's feature space
    noise = np.random.default_rng(0).uniform(-1, 1, size=(500, 64))
    fd_real = jg.metrics.frechet_distance(clf.features(x[:500]), clf.features(x[500:1000]))
    assert fd_real < 0.25 * jg.metrics.frechet_distance(clf.features(x[:500]), clf.features(noise))


# ----------------------------------------------------------------------------- neural games


def _data(n=32):
    return jg.datasets.ring().sample(jax.random.PRNGKey(0), n)


def test_mlp_gan_losses_are_the_full_batch_gan_objective():
    ng = jg.games.mlp_gan(_data(), key=jax.random.PRNGKey(1), hidden=(8, 8))
    phi, theta = ng.params
    fake = jax.vmap(lambda z: jg.games.mlp_apply(phi, z))(ng.latents)
    d = lambda x: jax.vmap(lambda xi: jg.games.mlp_apply(theta, xi)[0])(x)  # noqa: E731
    value = jnp.mean(jax.nn.log_sigmoid(d(fake))) + jnp.mean(jax.nn.log_sigmoid(-d(ng.data)))
    assert abs(float(ng.game.loss_g(phi, theta) - value)) < 1e-12
    assert abs(float(ng.game.loss_d(phi, theta) + value)) < 1e-12
    assert ng.num_parameters == (2 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2) + (2 * 8 + 8 + 8 * 8 + 8 + 8 + 1)


def _copy_into_linen(params, variables):
    """Plain MLP [(W, b), ...] into a linen Sequential-of-Dense variables dict."""
    names = sorted(variables["params"], key=lambda s: int(s.split("_")[-1]))
    return {"params": {n: {"kernel": w, "bias": b} for n, (w, b) in zip(names, params)}}


def test_linen_players_give_the_same_field_as_the_plain_mlp():
    nn = pytest.importorskip("flax.linen")

    class MLP(nn.Module):
        sizes: tuple

        @nn.compact
        def __call__(self, x):
            for i, s in enumerate(self.sizes):
                x = nn.Dense(s, name=f"Dense_{i}", param_dtype=jnp.float64)(x)
                if i < len(self.sizes) - 1:
                    x = jnp.tanh(x)
            return x

    data, key = _data(), jax.random.PRNGKey(2)
    lin = jg.games.neural_gan(MLP((8, 8, 2)), MLP((8, 8, 1)), data, key=key, latent_dim=2)
    ref = jg.games.mlp_gan(data, key=key, hidden=(8, 8))
    w = jg.Joint(_copy_into_linen(ref.params.phi, lin.params.phi), _copy_into_linen(ref.params.theta, lin.params.theta))
    lin_game = jg.games.gan(lin.generator, lin.discriminator, jg.fixed_samples(data), jg.fixed_samples(ref.latents))
    xi_lin = jg.simultaneous_gradient(lin_game)(w)
    xi_ref = jg.simultaneous_gradient(ref.game)(ref.params)
    back = jg.Joint(_copy_into_linen(xi_ref.phi, lin.params.phi), _copy_into_linen(xi_ref.theta, lin.params.theta))
    a, b = ravel_pytree(xi_lin)[0], ravel_pytree(back)[0]
    assert a.shape == b.shape and float(jnp.max(jnp.abs(a - b))) < 1e-12 and float(jnp.max(jnp.abs(b))) > 1e-3
    assert jg.jacobian(lin.game, lin.params).shape == (lin.num_parameters,) * 2


def test_nnx_players_and_their_errors():
    nnx = pytest.importorskip("flax.nnx")

    class MLP(nnx.Module):
        def __init__(self, sizes, rngs):
            layers = [nnx.Linear(a, b, rngs=rngs, param_dtype=jnp.float64) for a, b in zip(sizes[:-1], sizes[1:])]
            self.layers = getattr(nnx, "List", list)(layers)  # nnx.List from flax 0.11; a plain list before

        def __call__(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = jnp.tanh(x)
            return x

    rngs = nnx.Rngs(0)
    ng = jg.games.neural_gan(MLP((2, 6, 2), rngs), MLP((2, 6, 1), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    assert ng.num_parameters == (2 * 6 + 6 + 6 * 2 + 2) + (2 * 6 + 6 + 6 + 1)
    lam = jg.eigenvalues(ng.game, ng.params)
    assert lam.shape == (ng.num_parameters,) and bool(jnp.all(jnp.isfinite(lam)))
    out = jax.jit(lambda w: jg.rollout(ng.game, optax.sgd(0.05), w, 5))(ng.params)
    assert bool(out.finite)
    with pytest.raises(TypeError, match="`generator` must be a flax.linen.Module or a flax.nnx.Module"):
        jg.games.neural_gan(lambda p, z: z, MLP((2, 1), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    with pytest.raises(ValueError, match=r"generator outputs shape \(3,\)"):
        jg.games.neural_gan(MLP((2, 3), rngs), MLP((2, 1), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    bad = jg.games.neural_gan(MLP((2, 2), rngs), MLP((2, 2), rngs), _data(), key=jax.random.PRNGKey(0), latent_dim=2)
    with pytest.raises(ValueError, match="one logit per sample"):
        bad.game.loss_d(*bad.params)


def test_linen_state_besides_params_is_refused():
    nn = pytest.importorskip("flax.linen")

    class WithStats(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.BatchNorm(use_running_average=True)(nn.Dense(2)(x))

    with pytest.raises(ValueError, match=r"`generator` has variable collections \['batch_stats'\]"):
        jg.games.neural_gan(WithStats(), WithStats(), _data(), key=jax.random.PRNGKey(0), latent_dim=2)


def test_minibatch_games_are_deterministic_in_the_key():
    ng = jg.games.mlp_gan(_data(64), key=jax.random.PRNGKey(1), hidden=(6,))
    game_at = ng.minibatch(16, regularize=lambda g: jg.regularizers.r1(g, 1.0))
    g = game_at(jax.random.PRNGKey(3))
    rows = np.asarray(g.data.nodes)
    assert rows.shape == (16, 2) and len({tuple(r) for r in rows}) == 16
    assert all(np.any(np.all(np.asarray(ng.data) == r, axis=1)) for r in rows)  # drawn from the data set
    run = jax.jit(lambda w, k: jg.rollout(game_at, optax.adam(1e-2), w, 20, key=k).final)
    a, b, c = run(ng.params, jax.random.PRNGKey(0)), run(ng.params, jax.random.PRNGKey(0)), run(ng.params, jax.random.PRNGKey(1))
    fa, fb, fc = (ravel_pytree(x)[0] for x in (a, b, c))
    assert bool(jnp.all(fa == fb)) and not bool(jnp.all(fa == fc))
    with pytest.raises(ValueError, match="needs `key=`"):
        jg.rollout(game_at, optax.sgd(0.1), ng.params, 2)
    with pytest.raises(ValueError, match="`batch_size` must be an int in"):
        ng.minibatch(65)
    with pytest.raises(ValueError, match="`data` has non-finite values"):
        jg.games.mlp_gan(np.full((4, 2), np.nan), key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"`data` must be an \(N, d\) array"):
        jg.games.mlp_gan(np.zeros(4), key=jax.random.PRNGKey(0))
    # the data check passes under tracing (games built inside jit / sweep from a traced seed)
    loss = jax.jit(lambda s: jg.games.mlp_gan(_data(8), key=jax.random.PRNGKey(s), hidden=(3,)).game.loss_g(
        *jg.games.mlp_gan(_data(8), key=jax.random.PRNGKey(s), hidden=(3,)).params))(1)
    assert np.isfinite(float(loss))


# ----------------------------------------------------------------------------- spectra along training


def test_spectral_trace_closed_form_on_a_quadratic_game():
    # A = [[-a, -b], [b, -c]] blocks (diagonal): eigenvalues -(a+c)/2 +- sqrt(((a-c)/2)^2 - b^2)
    a, b, c = 1.0, 3.0, 1.0
    game = jg.games.quadratic(a * jnp.eye(3), b * jnp.eye(3), c * jnp.eye(3))
    ws = jg.Joint(jnp.zeros((2, 3)), jnp.zeros((2, 3)))
    dense = jg.spectral_trace(game, ws)
    np.testing.assert_allclose(np.asarray(dense.phase), 3.0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dense.conditioning), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dense.max_real), -1.0, rtol=1e-12)
    game2 = jg.games.quadratic(jnp.diag(jnp.array([1.0, 2.0, 4.0])), jnp.zeros((3, 3)), jnp.diag(jnp.array([8.0, 16.0, 32.0])))
    arn = jg.spectral_trace(game2, ws, method="arnoldi", k=2)
    assert bool(jnp.all(arn.converged))
    np.testing.assert_allclose(np.asarray(arn.conditioning), 32.0, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(arn.max_real), -1.0, rtol=1e-10)
    with pytest.raises(ValueError, match="unknown `method` 'qr'"):
        jg.spectral_trace(game, ws, method="qr")
    with pytest.raises(ValueError, match="leading checkpoint axis"):
        jg.spectral_trace(game, jg.Joint(jnp.zeros(()), jnp.zeros(())))


def test_spectral_trace_arnoldi_agrees_with_dense_along_a_run():
    ng = jg.games.mlp_gan(_data(48), key=jax.random.PRNGKey(4), hidden=(8, 8))
    run = jax.jit(lambda w: jg.rollout(ng.game, optax.sgd(0.05), w, 40, record_every=20))(ng.params)
    dense = jg.spectral_trace(ng.game, run.trajectory)
    arn = jg.spectral_trace(ng.game, run.trajectory, method="arnoldi", k=4, max_restarts=60)
    assert dense.eigenvalues.shape == (3, ng.num_parameters) and arn.eigenvalues.shape == (3, 12)
    np.testing.assert_allclose(np.asarray(arn.max_modulus), np.asarray(dense.max_modulus), rtol=1e-8)
    np.testing.assert_allclose(np.asarray(arn.max_real), np.asarray(dense.max_real), rtol=1e-6, atol=1e-10)
    # where the smallest-magnitude target converged, the conditioning factor is the dense one
    ok = np.asarray(~jnp.isnan(arn.conditioning))
    np.testing.assert_allclose(np.asarray(arn.conditioning)[ok], np.asarray(dense.conditioning)[ok], rtol=1e-6)


# --------------------------------------------------------------------------- convolutional players

TINY_DCGAN = dict(size=None, latent_dim=2, g_channels=4, d_channels=2)


def _tiny_dcgan(n=24):
    images, _ = jg.datasets.digits(dtype=np.float64)
    ng = jg.games.dcgan(jnp.asarray(images[:n]), key=jax.random.PRNGKey(0), **TINY_DCGAN)
    leaves, tree = jax.tree.flatten(ng.params)
    keys = jax.random.split(jax.random.PRNGKey(5), len(leaves))
    w = jax.tree.unflatten(tree, [x + 0.2 * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)])
    return ng, w


def test_dcgan_shapes_parameter_counts_and_dtype():
    images, _ = jg.datasets.digits(dtype=np.float64)
    for size, expected in (("small", 5042), ("million", 1013122)):
        ng = jax.eval_shape(lambda: jg.games.dcgan(jnp.asarray(images[:4]), key=jax.random.PRNGKey(0), size=size).params)
        assert sum(int(np.prod(x.shape)) for x in jax.tree.leaves(ng)) == expected
    ng, w = _tiny_dcgan()
    # G: dense 2 -> 4*4*4, convT 4 -> 2 (3x3), conv 2 -> 1; D: conv 1 -> 2, conv 2 -> 4 (stride 2), dense 64 -> 1
    assert ng.num_parameters == (2 * 64 + 64) + (9 * 4 * 2 + 2) + (9 * 2 + 1) + (9 * 2 + 2) + (9 * 2 * 4 + 4) + (64 + 1)
    assert {x.dtype for x in jax.tree.leaves(ng.params)} == {jnp.dtype(jnp.float64)}
    x = ng.generate(w.phi, ng.latents)
    assert x.shape == (24, 64) and float(jnp.max(jnp.abs(x))) <= 1.0
    assert bool(jnp.all(jnp.isfinite(ravel_pytree(jg.simultaneous_gradient(ng.game)(w))[0])))


def test_dcgan_top_k_matches_dense_eig():
    # matrix-free top-k of the convolutional game's Jacobian (joint, one player's block) against eig of the assembled matrix, to 1e-8 in float64
    ng, w = _tiny_dcgan()
    dense = np.linalg.eigvals(np.asarray(jg.jacobian(ng.game, w)))
    n_phi = ravel_pytree(w.phi)[0].shape[0]
    block = np.linalg.eigvals(np.asarray(jg.jacobian(ng.game, w))[:n_phi, :n_phi])
    for which, ref, kwargs in (("LR", dense, {}), ("SR", block, {"block": "phi"})):  # corrected fields: test_top_eigenvalues
        out = jg.top_eigenvalues(ng.game, w, 4, which=which, **kwargs)
        assert bool(out.converged)
        key = {"LR": lambda z: -z.real, "SR": lambda z: z.real, "LM": lambda z: -abs(z)}[which]
        best = sorted(ref, key=key)[:4]
        scale = np.abs(ref).max()
        for lam in np.asarray(out.eigenvalues):
            assert np.min(np.abs(np.asarray(best) - lam)) <= 1e-8 * scale, (which, lam, best)
        assert np.all(np.asarray(out.residuals) <= 1e-9 * scale)


def test_dcgan_bad_input():
    with pytest.raises(ValueError, match="dcgan: `image_shape`"):
        jg.games.dcgan(jnp.zeros((4, 64)), key=jax.random.PRNGKey(0), image_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="dcgan: images must be square"):
        jg.games.dcgan(jnp.zeros((4, 36)), key=jax.random.PRNGKey(0), image_shape=(6, 6, 1))
    with pytest.raises(ValueError, match="dcgan: `size`"):
        jg.games.dcgan(jnp.zeros((4, 64)), key=jax.random.PRNGKey(0), size="huge")
    with pytest.raises(ValueError, match=r"dcgan: with size=None give \['g_channels', 'd_channels'\]"):
        jg.games.dcgan(jnp.zeros((4, 64)), key=jax.random.PRNGKey(0), size=None, latent_dim=3)
