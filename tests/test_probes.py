"""The probe suite: values just outside each declared option domain (``jaxgan._validation.domains``) must
raise a ``ValueError``/``TypeError`` naming the function and the option; a public function with
a numeric or categorical option and no declaration fails; degenerate inputs give an error or a
status, never a bare NaN."""

import inspect
import pathlib
import re
import warnings

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import declared_in_test_files

import jaxgan as jg
from jaxgan._validation.domains import DECLARED

G = jg.games.quadratic(1.0, 1.0, 1.0)  # f = x^2/2 + x y - y^2/2: a strict local min-max at 0
W = jg.Joint(jnp.asarray(0.3), jnp.asarray(0.2))
W1 = jg.Joint(jnp.asarray(-0.1), jnp.asarray(0.5))
GAN = jg.games.dirac("standard")
BOX = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
BOX_GAME = jg.games.matching_pennies()
LAM = jnp.asarray([-1.0 + 1j, -1.0 - 1j])
RING = jg.datasets.ring()
SAMPLES = jnp.tile(RING.modes, (4, 1))
DATA = jax.random.normal(jax.random.PRNGKey(0), (16, 2))
GRID = {"lr": jnp.asarray([0.1, 0.2])}


def _with(defaults):
    return lambda fn: (lambda **kw: fn(**{**defaults, **kw}))


#: one valid call of every declared function; a probe overrides one option
BASE = {
    "jaxgan.datasets.ring": lambda **k: jg.datasets.ring(**k),
    "jaxgan.datasets.grid": lambda **k: jg.datasets.grid(**k),
    "jaxgan.datasets.line": lambda **k: jg.datasets.line(**k),
    "jaxgan.datasets.four_lines": lambda **k: jg.datasets.four_lines(**k),
    "jaxgan.datasets.circle": lambda **k: jg.datasets.circle(**k),
    "jaxgan.datasets.by_name": lambda **k: jg.datasets.by_name(**{"name": "ring", **k}),
    "jaxgan._runs.rollout.rollout": lambda **k: jg.rollout(G, optax.sgd(0.1), W, **{"steps": 4, **k}),
    "jaxgan._runs.rollout.sweep": lambda **k: jg.sweep(G, lambda h: optax.sgd(h["lr"]), W, GRID, **{"steps": 4, **k}),
    "jaxgan.flows.flow": lambda **k: jg.flows.flow(G, W, jnp.asarray([0.0, 0.1]), **k),
    "jaxgan.flows.refinement_test": lambda **k: jg.flows.refinement_test(
        G, optax.sgd, W, **{"eta": 0.1, "steps": 8, "levels": 2, "points": 2, **k}),
    "jaxgan.flows.assess_refinement": lambda **k: jg.flows.assess_refinement(
        np.zeros((2, 3, 2)), np.asarray([0.1, 0.05]), np.linspace(0.0, 1.0, 3), **k),
    "jaxgan._gan.expect.gauss_hermite_1d": lambda **k: jg.gauss_hermite_1d(**{"order": 3, **k}),
    "jaxgan._gan.expect.gauss_hermite": lambda **k: jg.gauss_hermite(0.0, 1.0, **k),
    "jaxgan.games._dirac.dirac": lambda **k: jg.games.dirac(**k),
    "jaxgan.games._linear_gaussian.linear_gaussian": lambda **k: jg.games.linear_gaussian(
        **{"v": jnp.asarray([1.0, 0.5]), "sigma2": 1.0, **k}),
    "jaxgan.games._matrix_games.iterated_prisoners_dilemma": lambda **k: jg.games.iterated_prisoners_dilemma(**k),
    "jaxgan.games._wgan_1d.wgan_1d": lambda **k: jg.games.wgan_1d(**k),
    "jaxgan.games._quadratic.quadratic": lambda **k: jg.games.quadratic(**{"A": 1.0, "B": 1.0, "C": 1.0, **k}),
    "jaxgan.games._quadratic.bilinear": lambda **k: jg.games.bilinear(**{"A": 1.0, **k}),
    "jaxgan.games._quadratic.turinici": lambda **k: jg.games.turinici(**k),
    "jaxgan.games._quadratic.turinici_invariant": lambda **k: jg.games.turinici_invariant(W, 0.1, **k),
    "jaxgan.games._likelihood_ratio.likelihood_ratio": lambda **k: jg.games.likelihood_ratio(
        **{"p": jnp.asarray([0.5, 0.5]), **k}),
    "jaxgan.games._neural.neural_gan": lambda **k: jg.games.neural_gan(
        nn.Dense(2), nn.Dense(1), DATA, **{"key": jax.random.PRNGKey(0), "latent_dim": 2, **k}),
    "jaxgan._gan.gan.gan": lambda **k: jg.games.gan(
        lambda p, z: p + z, lambda t, x: t * x, jg.fixed_samples(jnp.zeros((1, 1))), jg.fixed_samples(jnp.zeros((1, 1))),
        **k),
    "jaxgan.flows.solve_flow": lambda **k: jg.flows.solve_flow(G, W, jnp.asarray([0.0, 0.1]), **k),
    "jaxgan._core.modified.modified_game": lambda **k: jg.modified_game(jg.games.dirac(), 0.1, **k),
    "jaxgan._runs.rate.measured_rate": lambda **k: jg.measured_rate(np.array([1.0, 0.5, 0.25]), **k),
    "jaxgan.games._n_player.cyclic": lambda **k: jg.games.cyclic(**k),
    "jaxgan.games._n_player.cournot": lambda **k: jg.games.cournot(**k),
    "jaxgan.games._n_player.cyclic_matching_pennies": lambda **k: jg.games.cyclic_matching_pennies(**k),
    "jaxgan.games._n_player.gman": lambda **k: jg.games.gman(jg.games.dirac(), **k),
    "jaxgan.games._matrix_games.ipd_values": lambda **k: jg.games.ipd_values(jnp.zeros(5), jnp.zeros(5), **k),
    "jaxgan.games._neural.mlp_gan": lambda **k: jg.games.mlp_gan(DATA, **{"key": jax.random.PRNGKey(0), **k}),
    "jaxgan.games._conv.dcgan": lambda **k: jg.games.dcgan(
        jnp.zeros((4, 64)), **{"key": jax.random.PRNGKey(0), **k}),
    "jaxgan.regularizers._clipping.clip_discriminator": lambda **k: jg.regularizers.clip_discriminator(
        **{"c": 0.1, **k}),
    "jaxgan.regularizers._penalties.r1": lambda **k: jg.regularizers.r1(GAN, **{"gamma": 1.0, **k}),
    "jaxgan.regularizers._penalties.r2": lambda **k: jg.regularizers.r2(GAN, **{"gamma": 1.0, **k}),
    "jaxgan.regularizers._penalties.wgan_gp": lambda **k: jg.regularizers.wgan_gp(GAN, **{"lam": 1.0, **k}),
    "jaxgan.regularizers._penalties.relu_gp": lambda **k: jg.regularizers.relu_gp(GAN, **{"lam": 1.0, **k}),
    "jaxgan.regularizers._penalties.instance_noise": lambda **k: jg.regularizers.instance_noise(
        GAN, **{"sigma": 0.5, **k}),
    "jaxgan.regularizers._penalties.fresh_instance_noise": lambda **k: jg.regularizers.fresh_instance_noise(
        GAN, **{"sigma": 0.5, **k}),
    "jaxgan._analysis.manifold.retract": lambda **k: jg.manifold.retract(G, W, **k),
    "jaxgan._analysis.manifold.tangent_projection": lambda **k: jg.manifold.tangent_projection(G, W, W1, **k),
    "jaxgan._analysis.manifold.total_derivative": lambda **k: jg.manifold.total_derivative(G, W, **k),
    "jaxgan._analysis.manifold.ridge_lift": lambda **k: jg.manifold.ridge_lift(G, W, jnp.asarray(0.1), **k),
    "jaxgan.metrics.high_quality_fraction": lambda **k: jg.metrics.high_quality_fraction(SAMPLES, RING, **k),
    "jaxgan.metrics.mode_coverage": lambda **k: jg.metrics.mode_coverage(SAMPLES, RING, **k),
    "jaxgan.metrics.digits_classifier": lambda **k: jg.metrics.digits_classifier(**k),
    "jaxgan.transforms._alternating.alternating": lambda **k: jg.transforms.alternating(optax.sgd(0.1), **k),
    "jaxgan.transforms._gda_am.gda_am": lambda **k: jg.transforms.gda_am(optax.sgd(0.1), **k),
    "jaxgan.transforms._best_response.best_response": lambda **k: jg.transforms.best_response(optax.sgd(0.1), **k),
    "jaxgan.transforms._competitive.cgd": lambda **k: jg.transforms.cgd(**{"learning_rate": 0.1, **k}),
    "jaxgan.transforms._proximal_point.proximal_point": lambda **k: jg.transforms.proximal_point(**{"learning_rate": 0.1, **k}),
    "jaxgan._analysis.equilibrium.solve_equilibrium": lambda **k: jg.solve_equilibrium(
        jg.games.bilinear(1.0), jg.Joint(jnp.asarray(0.5), jnp.asarray(0.5)), **k),
    "jaxgan.transforms._competitive.acgd": lambda **k: jg.transforms.acgd(**{"learning_rate": 0.1, **k}),
    "jaxgan.transforms._corrections.consensus": lambda **k: jg.transforms.consensus(**{"gamma": 1.0, **k}),
    "jaxgan.transforms._corrections.jare": lambda **k: jg.transforms.jare(**{"gamma": 1.0, **k}),
    "jaxgan.transforms._corrections.sga": lambda **k: jg.transforms.sga(**{"lam": 1.0, **k}),
    "jaxgan.transforms._lookahead.lookahead": lambda **k: jg.transforms.lookahead(optax.sgd(0.1), **k),
    "jaxgan.transforms._opponent_shaping.opponent_lookahead": lambda **k: jg.transforms.opponent_lookahead(**{"alpha": 0.1, **k}),
    "jaxgan.transforms._opponent_shaping.lola": lambda **k: jg.transforms.lola(**{"alpha": 0.1, **k}),
    "jaxgan.transforms._opponent_shaping.sos": lambda **k: jg.transforms.sos(**{"alpha": 0.1, **k}),
    "jaxgan.transforms._per_player.ttur": lambda **k: jg.transforms.ttur(**{"lr_g": 0.1, "lr_d": 0.2, **k}),
    "jaxgan.transforms._follow_the_ridge.follow_the_ridge": lambda **k: jg.transforms.follow_the_ridge(**k),
    "jaxgan.transforms._stonr.stonr": lambda **k: jg.transforms.stonr(BOX, **k),
    "jaxgan.transforms._stonr_run.run_stonr": lambda **k: jg.transforms.run_stonr(BOX_GAME, BOX, **k),
    "jaxgan._analysis.arnoldi.operator_top_eigenvalues": lambda **k: jg.operator_top_eigenvalues(
        lambda v: jnp.asarray([[1.0, 2.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 2.0]]) @ v, jnp.ones(3), **{"k": 1, **k}),
    "jaxgan._analysis.arnoldi.top_eigenvalues": lambda **k: jg.top_eigenvalues(G, W, **{"k": 1, **k}),
    "jaxgan._analysis.density.SpectralDensity.moments": lambda **k: jg.SpectralDensity(jnp.ones((1, 2)), jnp.full((1, 2), 0.5)).moments(
        **{"orders": (1, 2), **k}),
    "jaxgan._analysis.density.SpectralDensity.probe_moments": lambda **k: jg.SpectralDensity(
        jnp.ones((1, 2)), jnp.full((1, 2), 0.5)).probe_moments(**{"orders": (1, 2), **k}),
    "jaxgan.games._neural.mlp_init": lambda **k: jg.games.mlp_init(jax.random.PRNGKey(0), **{"sizes": (2, 3), **k}),
    "jaxgan._analysis.density.spectral_density": lambda **k: jg.spectral_density(G, W, **{"lanczos_steps": 1, **k}),
    "jaxgan._analysis.certificate.stationary_point_certificate": lambda **k: jg.stationary_point_certificate(
        G, G.equilibrium, **k),
    "jaxgan._analysis.jacobian.jacobian": lambda **k: jg.jacobian(G, W, **k),
    "jaxgan._analysis.path_angle.path_angle": lambda **k: jg.path_angle(G, W, W1, **k),
    "jaxgan._analysis.spectral.eigenvalues": lambda **k: jg.eigenvalues(G, W, **k),
    "jaxgan._analysis.spectral.phase_factor": lambda **k: jg.phase_factor(LAM, **k),
    "jaxgan._analysis.spectral.conditioning_factor": lambda **k: jg.conditioning_factor(LAM, **k),
    "jaxgan._analysis.spectral.flow_verdict": lambda **k: jg.flow_verdict(LAM, **k),
    "jaxgan._analysis.spectral.stable_step_bound": lambda **k: jg.stable_step_bound(LAM, **k),
    "jaxgan._analysis.spectral.matrix_spectrum": lambda **k: jg.matrix_spectrum(
        jnp.asarray([[0.0, -1.0], [1.0, -1.0]]), **{"n_phi": 1, **k}),
    "jaxgan._analysis.spectral.spectrum": lambda **k: jg.spectrum(G, W, **k),
    "jaxgan._analysis.spectral.update_jacobian": lambda **k: jg.update_jacobian(G, optax.sgd(0.1), W, **k),
    "jaxgan._analysis.spectral.spectral_radius": lambda **k: jg.spectral_radius(G, optax.sgd(0.1), W, **k),
    "jaxgan._runs.stability.stability_map": lambda **k: jg.stability_map(
        G, lambda h: optax.sgd(h["lr"]), GRID, **{"w_star": G.equilibrium, **k}),
    "jaxgan._analysis.trace.spectral_trace": lambda **k: jg.spectral_trace(
        G, jax.tree.map(lambda x: jnp.stack([x, x]), W), **k),
    # and the entries test files declare for their own functions (a new algorithm's, in its file)
    **declared_in_test_files("PROBE_CALLS"),
}

PROBES = [(name, option, bad) for name, fn in sorted(DECLARED.items()) for option, domain in fn.__domains__.items()
          for bad in domain.outside()]


def test_every_declared_function_has_a_valid_call_and_it_runs():
    assert sorted(BASE) == sorted(DECLARED), "declared functions and the probe table disagree"


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_a_value_just_outside_a_declared_domain_is_refused_naming_function_and_option(name):
    """The function's valid call is accepted, and every probe of it (each option, each value just
    outside its domain) is refused naming the function and the option: one test per function, every
    failure listed."""
    if name != "jaxgan.metrics.digits_classifier":  # trains a classifier: its probes fail first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            BASE[name]()
    failures = []
    for option, bad in [(o, b) for n, o, b in PROBES if n == name]:
        try:
            BASE[name](**{option: bad})
        except (ValueError, TypeError) as err:
            message = str(err)
            if name.split(".")[-1] not in message or f"`{option}`" not in message or "Tracer" in message:
                failures.append(f"{option}={bad!r}: {message}")
        else:
            failures.append(f"{option}={bad!r} was accepted")
    assert not failures, "\n".join(failures)


#: parameters of public functions that take no domain: objects, arrays, pytrees, names, keys
UNDECLARED_KINDS = {"name", "key", "hyperparams", "transform", "state", "w_star", "w0", "devices", "shape", "v0",
                    "record", "corner", "warm", "alphas", "noise", "probs", "data", "latents", "grad_fn", "equilibrium",
                    "penalties", "activation", "output_activation", "hidden", "disc_hidden", "image_shape", "size",
                    "dtype", "method", "retraction", "projection", "generator_projection", "flow"}


def _public_callables():
    namespaces = [jg, jg.transforms, jg.games, jg.regularizers, jg.metrics, jg.datasets, jg.flows, jg.manifold]
    seen = {}
    for ns in namespaces:
        for attr in getattr(ns, "__all__", []):
            obj = getattr(ns, attr)
            if inspect.isfunction(obj) and id(obj) not in seen:
                seen[id(obj)] = obj
    return list(seen.values())


def test_a_public_function_with_a_numeric_or_categorical_option_declares_its_domain():
    declared = {id(inspect.unwrap(f)) for f in DECLARED.values()}
    missing = []
    for fn in _public_callables():
        options = [p for p in inspect.signature(fn).parameters.values()
                   if p.default is not p.empty and isinstance(p.default, (bool, int, float, str))
                   and p.name not in UNDECLARED_KINDS]
        if options and id(inspect.unwrap(fn)) not in declared:
            missing.append(f"{fn.__module__}.{fn.__qualname__}({', '.join(p.name for p in options)})")
    assert not missing, "public functions without declared domains:\n" + "\n".join(missing)


def test_the_docstring_and_the_error_come_from_one_declaration():
    domain = DECLARED["jaxgan.transforms._competitive.cgd"].__domains__["tol"]
    assert f"tol: {domain.text}" in jg.transforms.cgd.__doc__
    with pytest.raises(ValueError) as err:
        jg.transforms.cgd(0.1, tol=-1.0)
    assert domain.inner.text in str(err.value) and "`tol` must be > 0" in str(err.value)


def test_probe_counts_by_function():
    counts = {}
    for name, _, _ in PROBES:
        counts[name] = counts.get(name, 0) + 1
    assert len(counts) == len(DECLARED) and sum(counts.values()) == len(PROBES) >= 400


# --------------------------------------------------------------------------- undefined means an error or a status

XY = jg.Game(lambda x, y: x * y, lambda x, y: -x * y)  # no equilibrium attached

#: degenerate inputs: each gives an error naming the cause (never a bare NaN or an arbitrary number)
DEGENERATE = {
    "Frechet distance of one sample": (lambda: jg.metrics.frechet_distance(np.zeros((1, 2)), np.ones((5, 2))),
                                       "at least 2 sample(s) are needed"),
    "classifier score of no samples": (lambda: jg.metrics.classifier_score(np.zeros((0, 3))), "is empty"),
    "mode coverage of no samples": (lambda: jg.metrics.high_quality_fraction(np.zeros((0, 2)), RING),
                                    "high_quality_fraction: `samples` is empty"),
    "a zero-length segment": (lambda: jg.path_angle(G, W, W), "zero length"),
    "factors of no eigenvalues": (lambda: jg.phase_factor(jnp.zeros((0,), jnp.complex64)), "`lam` is empty"),
    "conditioning of no eigenvalues": (lambda: jg.conditioning_factor(jnp.zeros((0,), jnp.complex64)), "empty"),
    "a zero start vector": (lambda: jg.top_eigenvalues(G, W, k=1, v0=jnp.zeros(2)), "zero vector"),
    "a zero Arnoldi start": (lambda: jg.operator_top_eigenvalues(lambda v: v, jnp.zeros(3), 1), "zero vector"),
    "a flow that runs out of steps": (lambda: jg.flows.flow(G, W, jnp.asarray([0.0, 10.0]), max_steps=2), "max_steps"),
    "a 1x1 joint Jacobian": (lambda: jg.matrix_spectrum(jnp.zeros((1, 1)), n_phi=1), "at least 2x2"),
    "a step not differentiable at the point": (lambda: jg.update_jacobian(
        G, jg.transforms.gda_am(optax.sgd(0.1), window=2), G.equilibrium), "not differentiable"),
    "a map that never repeats": (lambda: jg.spectral_radius(G, optax.adam(0.1), G.equilibrium), "never repeats"),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_a_degenerate_input_gives_an_error_naming_its_cause(case):
    call, fragment = DEGENERATE[case]
    with pytest.raises(ValueError) as err:
        call()
    assert fragment in str(err.value), str(err.value)


def test_inside_jit_an_undefined_result_carries_a_status():
    flow = jax.jit(lambda w: jg.flows.solve_flow(G, w, jnp.asarray([0.0, 10.0]), max_steps=2))(W)
    assert not bool(flow.solved)
    ok = jax.jit(lambda w: jg.flows.solve_flow(G, w, jnp.asarray([0.0, 1.0])))(W)
    assert bool(ok.solved)


def test_a_sweep_without_reference_judges_growth_and_says_so():
    lrs = jnp.asarray([0.1, 0.5, 3.0])
    res = jg.sweep(XY, lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 0.5), {"lr": lrs}, 200, w_star="growth")
    # SimGD on x*y spirals out for every lr (|1 + i lr| > 1): the displacement grows, never "converged"
    assert [jg.RESULTS(int(s)).label for s in res.status] == ["grew", "grew", "grew"] and res.reference == "growth"
    # without an equilibrium or w_star the same rule applies, and the result says so
    auto = jg.sweep(XY, lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 0.5), {"lr": lrs}, 200)
    assert auto.reference == "growth" and auto.status.tolist() == res.status.tolist()
    assert jg.sweep(G, lambda h: optax.sgd(h["lr"]), W, GRID, 10).reference == "game.equilibrium"
    np.testing.assert_allclose(float(res.distance[0, 0]), 0.0)  # the displacement from the start
    settle = jg.sweep(jg.Game(G.loss_g, G.loss_d), lambda h: optax.sgd(h["lr"]), W, {"lr": jnp.asarray([0.1])}, 400,
                      w_star="growth")
    assert jg.RESULTS(int(settle.status[0])).label == "bounded"  # it converges to a point it was not told
    with pytest.raises(ValueError, match="unknown `w_star`"):
        jg.sweep(XY, lambda h: optax.sgd(h["lr"]), W, GRID, 10, w_star="grow")


def test_no_message_names_an_internal_type():
    for call in (lambda: jax.jit(lambda x: jg.transforms.cgd(0.1).init(x))(1.0),
                 lambda: jax.jit(lambda n: jg.rollout(G, optax.sgd(0.1), W, n))(3),
                 lambda: jax.jit(lambda k: jg.transforms.lookahead(optax.sgd(0.1), sync_period=k))(2)):
        with pytest.raises((TypeError, ValueError)) as err:
            call()
        assert "Tracer" not in str(err.value) and "traced by jit/vmap" in str(err.value), str(err.value)


# --------------------------------------------------------------------------- one check per option

HAND_WRITTEN = re.compile(r"must be (?:a positive int|a non-negative int|an int\b|a bool\b)")


def _source_files():
    root = pathlib.Path(jg.__file__).parent
    return [p for p in root.rglob("*.py") if p.name != "_domains.py"]


def test_integer_and_flag_options_are_checked_by_their_domain_only():
    """No module writes its own "must be a positive int" check: every integer or flag option is
    checked by its declared domain (``@domains``) or, in a helper shared by several entry points,
    by calling the domain (``Integer(1).check(value, where, name)``)."""
    found = [f"{p.name}:{i}" for p in _source_files()
             for i, line in enumerate(p.read_text().splitlines(), 1) if HAND_WRITTEN.search(line)]
    assert not found, found


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_a_declared_option_is_not_checked_again_by_hand(name):
    """A declared option's check lives in its declaration: the body does not check it again
    (``check_hyperparameter(option, ...)``), so the two can never disagree."""
    fn = DECLARED[name]
    body = inspect.getsource(inspect.unwrap(fn))
    again = [option for option in fn.__domains__
             if re.search(rf"check_hyperparameter\(\s*{option}\b", body)]
    assert not again, again


def test_a_numpy_integer_inside_its_domain_reaches_the_body_as_an_int():
    """``Integer`` admits NumPy integers; the body gets the Python int, which every static use
    (optimistix's ``max_steps``, ``isinstance(x, int)``) accepts."""
    q = jg.games.quadratic(1.0, 1.0, 1.0)
    w = jg.Joint(jnp.asarray(0.3), jnp.asarray(0.2))
    assert jg.solve_equilibrium(q, w, maxiter=np.int64(50)).converged
    step = jg.rollout(q, jg.transforms.proximal_point(0.1, maxiter=np.int64(20)), w, 2).final
    assert np.isfinite(float(step.phi))
    r = jg.flows.refinement_test(jg.games.bilinear(1.0), optax.sgd, jg.Joint(1.0, 0.0), 0.1, np.int64(20),
                                 levels=np.int64(3), points=np.int64(5))
    assert abs(r.order - 1.0) < 0.1
