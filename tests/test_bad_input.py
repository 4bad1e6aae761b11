"""The README's bad-input table: each row's input gets its clear error (type and message)."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

GAME = jg.zero_sum(lambda x, y: x @ y)
_BOX_GAME = jg.games.constrained_examples()["bilinear"]


def _raises(x, y):
    raise KeyError("my_table")
W = jg.Joint(jnp.ones(2), jnp.ones(2))
XI = jg.Joint(jnp.ones(2), jnp.ones(2))

# (row name in the README, call, error type, message fragment)
CASES = [
    ("a loss that is not scalar", lambda: jg.eigenvalues(jg.zero_sum(lambda x, y: x * y), W), ValueError, "`loss_g` must return a scalar"),
    ("a loss that does not depend differentiably on one player", lambda: jg.eigenvalues(jg.Game(lambda x, y: y @ y, lambda x, y: -(x @ y)), W),
     ValueError, "`loss_g` does not depend differentiably on `phi`"),
    ("a loss that turns a parameter into a Python value", lambda: jg.eigenvalues(jg.zero_sum(lambda x, y: float(x[0]) * jnp.sum(y)), W),
     TypeError, "`loss_g` cannot be differentiated or traced"),
    ("a `Joint` of the wrong structure", lambda: jg.eigenvalues(GAME, (jnp.ones(2), jnp.ones(2))), TypeError, "must be a jaxgan.Joint(phi, theta)"),
    ("a `Joint` whose shapes do not fit the losses", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.ones(2), jnp.ones(3))), TypeError,
     "`loss_g` failed on parameters of shapes phi (2,), theta (3,)"),
    ("leaves of mixed floating dtypes", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.ones(2, jnp.float32), jnp.ones(2))), TypeError,
     "mixes floating dtypes"),
    ("integer leaves", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.ones(2, jnp.int32), jnp.ones(2, jnp.int32))), TypeError,
     "parameters must be floating point"),
    ("a correction without `game=`", lambda: jg.transforms.consensus(1.0).update(XI, jg.transforms.consensus(1.0).init(W), W), TypeError, "pass `game=game`"),
    ("a correction after the learning-rate scaling", lambda: jg.rollout(GAME, optax.chain(optax.sgd(0.1), jg.transforms.jare(1.0)), W, 2), ValueError,
     "jare must come first in the optax chain"),
    ("an unknown option", lambda: jg.top_eigenvalues(GAME, W, 1, which="XX"), ValueError, "`which` must be one of"),
    ("an unknown loss family", lambda: jg.games.dirac("hinge"), ValueError, "unknown `loss` 'hinge'"),
    ("NaN or inf in the parameters", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.array([np.nan, 1.0]), jnp.ones(2))), ValueError,
     "`w.phi` has non-finite values"),
    ("NaN or inf in the game", lambda: jg.eigenvalues(jg.zero_sum(lambda x, y: jnp.log(-jnp.sum(x)) * (x @ y)), W), ValueError,
     "has NaN or inf entries although `w` is finite"),
    ("a sweep grid of the wrong shape", lambda: jg.sweep(GAME, lambda h: optax.sgd(h["lr"]), W, {"lr": jnp.ones((2, 2))}, 3), ValueError,
     "grid axis `lr` must be 1-D"),
    ("grid axes of different lengths", lambda: jg.sweep(GAME, lambda h: optax.sgd(h["lr"]), W, {"lr": jnp.ones(2), "b": jnp.ones(3)}, 3),
     ValueError, "must have the same length"),
    ("an empty grid", lambda: jg.sweep(GAME, lambda h: optax.sgd(h["lr"]), W, {"lr": jnp.ones((0,))}, 3), ValueError, "`grid` is empty"),
    ("a dense spectrum too large for `eig`", lambda: jg.matrix_eigenvalues(np.broadcast_to(np.float32(0), (9000, 9000))), ValueError,
     "use a matrix-free top-k spectrum"),
    ("a non-positive number of steps", lambda: jg.rollout(GAME, optax.sgd(0.1), W, 0), ValueError, "`steps` must be a positive int"),
    ("a stochastic game without a key", lambda: jg.rollout(lambda k: GAME, optax.sgd(0.1), W, 2), ValueError, "needs `key=`"),
    ("samples with NaN in a metric", lambda: jg.metrics.wasserstein1(np.zeros((2, 2)), np.full((2, 2), np.nan)), ValueError,
     "`y` has non-finite values"),
    ("a loss that returns a tuple, dict or None", lambda: jg.eigenvalues(jg.Game(lambda x, y: (x @ y, 0.0), lambda x, y: -(x @ y)), W),
     TypeError, "`loss_g` must return a scalar array, but returned tuple"),
    ("a loss that raises its own exception", lambda: jg.eigenvalues(jg.Game(_raises, lambda x, y: -(x @ y)), W), KeyError, "my_table"),
    ("half-precision parameters", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.ones(2, jnp.float16), jnp.ones(2, jnp.float16))),
     TypeError, "half precision is not supported"),
    ("a non-numeric hyperparameter", lambda: jg.transforms.consensus("abc"), TypeError, "consensus: `gamma` must be a real number"),
    ("a hyperparameter out of its domain", lambda: jg.transforms.consensus(-1.0), ValueError, "consensus: `gamma` must be >= 0"),
    ("a non-finite hyperparameter", lambda: jg.transforms.jare(float("inf")), ValueError, "jare: `gamma` must be finite"),
    ("a zero ridge ratio", lambda: jg.transforms.follow_the_ridge(ratio=0.0), ValueError, "follow_the_ridge: `ratio` must be > 0"),
    ("a non-finite point for a spectral radius", lambda: jg.spectral_radius(GAME, optax.sgd(0.1), jg.Joint(jnp.array([np.nan, 1.0]), jnp.ones(2))),
     ValueError, "spectral_radius: `w.phi` has non-finite values"),
    ("a non-finite start of a run", lambda: jg.rollout(GAME, optax.sgd(0.1), jg.Joint(jnp.ones(2), jnp.array([1.0, np.inf])), 2),
     ValueError, "rollout: `w0.theta` has non-finite values"),
    ("a reference point of the wrong shape", lambda: jg.sweep(GAME, lambda h: optax.sgd(h["lr"]), W, {"lr": jnp.ones(2)}, 2,
                                                               w_star=jg.Joint(jnp.ones(3), jnp.ones(2))),
     ValueError, "sweep: `w_star.phi` has shape (3,) but the parameter has shape (2,)"),
    ("a stability-map grid of the wrong shape", lambda: jg.stability_map(GAME, lambda h: optax.sgd(h["lr"]), {"lr": jnp.ones((2, 2))}),
     ValueError, "stability_map: grid axis `lr` must be 1-D"),
    ("a NaN output time of a flow", lambda: jg.flows.flow(GAME, W, jnp.array([0.0, np.nan])), ValueError, "flow: `ts` has non-finite times"),
    ("a box with lower > upper bounds", lambda: jg.transforms.project_box(jg.Box(jg.Joint(1.0, 0.0), jg.Joint(0.0, 1.0))), ValueError,
     "project_box: the box needs lo <= hi"),
    ("a STON'R start that is not a corner", lambda: jg.transforms.run_stonr(_BOX_GAME.game, _BOX_GAME.box, corner=jnp.array([0.5, 0.0])),
     ValueError, "run_stonr: `corner` must be a corner of the unit cube"),
    ("no room for STON'R's events", lambda: jg.transforms.run_stonr(_BOX_GAME.game, _BOX_GAME.box, max_events=0), ValueError,
     "run_stonr: `max_events` must be a positive int"),
    ("a STON'R start outside the box", lambda: jg.transforms.stonr(_BOX_GAME.box).init(jg.Joint(jnp.asarray(5.0), jnp.asarray(0.5))),
     ValueError, "stonr.init: the start `params` lies outside the box"),
    ("a grid key that nothing reads", lambda: jg.sweep(GAME, lambda h: optax.sgd(h["lr"]), W, {"lr": jnp.ones(2), "gamma": jnp.ones(2)}, 2),
     ValueError, "sweep: grid key(s) `gamma` are never read"),
    ("another optimiser's state", lambda: jg.update_jacobian(GAME, optax.sgd(0.1), W, state=optax.adam(0.1).init(W)), ValueError,
     "update_jacobian: `state` does not match `tx.init(w)`"),
    ("an unknown spectral operator", lambda: jg.spectral_density(GAME, W, operator="hessian"), ValueError,
     "spectral_density: `operator` must be one of"),
    ("convolutional players that do not fit the images", lambda: jg.games.dcgan(jnp.zeros((4, 64)), key=jax.random.PRNGKey(0),
                                                                                   image_shape=(4, 4, 1)), ValueError,
     "dcgan: `image_shape` (4, 4, 1) has 16 values but the data's rows have 64."),
    ("path-angle end points that do not match", lambda: jg.path_angle(GAME, W, jg.Joint(jnp.ones(3), jnp.ones(2))), ValueError,
     "path_angle: `w_final` must have the structure and shapes of `w_init`."),
    ("zero samples in a metric", lambda: jg.metrics.mode_coverage(np.zeros((0, 2)), jg.datasets.ring()), ValueError,
     "mode_coverage: `samples` is empty"),
    # the classes of the third hardening round (tests/test_probes.py generates the domain probes)
    ("an option outside its declared domain", lambda: jg.transforms.cgd(0.1, maxiter=0), ValueError,
     "cgd: `maxiter` must be None or a positive int, got 0."),
    ("a static option traced by jit", lambda: jax.jit(lambda k: jg.transforms.lookahead(optax.sgd(0.1), sync_period=k))(2), TypeError,
     "lookahead: `sync_period` is a static option"),
    ("too few samples for a metric", lambda: jg.metrics.frechet_distance(np.zeros((1, 2)), np.ones((4, 2))), ValueError,
     "frechet_distance: `features_a` has 1 sample: at least 2 sample(s) are needed"),
    ("a zero-length segment", lambda: jg.path_angle(GAME, W, W), ValueError, "path_angle: `w_final` equals `w_init`"),
    ("a zero start vector", lambda: jg.top_eigenvalues(GAME, W, k=1, v0=jnp.zeros(4)), ValueError,
     "top_eigenvalues: `v0` is the zero vector"),
    ("a flow that runs out of steps", lambda: jg.flows.flow(GAME, W, jnp.asarray([0.0, 10.0]), max_steps=2), ValueError,
     "flow: the solver took its `max_steps` = 2 steps"),
    ("a chain the step algebra gives no meaning", lambda: jg.spectral_radius(GAME, optax.chain(optax.sgd(0.1), jg.transforms.cgd(0.1)), W),
     ValueError, "cgd must come first in the optax chain, after the corrections only"),
    ("a step with no update stage", lambda: jg.rollout(GAME, jg.transforms.consensus(1.0), W, 2), ValueError,
     "has no stage that turns the field into an update"),
    ("a step whose map never repeats", lambda: jg.spectral_radius(GAME, optax.adam(0.1), W), ValueError,
     "the step's map depends on time and never repeats"),
    ("a step not differentiable at the point", lambda: jg.update_jacobian(
        GAME, jg.transforms.gda_am(optax.sgd(0.1), window=2), jg.Joint(jnp.zeros(2), jnp.zeros(2))), ValueError,
     "update_jacobian: the step is not differentiable at this point and state"),
    ("a misspelt hyperparameter", lambda: jg.spectral_radius(GAME, lambda h: optax.sgd(h["lr"]), W,
                                                             hyperparams={"lr": 0.1, "betta": 0.5}),
     ValueError, "spectral_radius: `hyperparams` key(s) `betta` are never read by `make_tx`"),
]


@pytest.mark.parametrize("name,call,error,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name, call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_the_errors_page_table_lists_every_case():
    """The bad-input table of the docs page "Errors and refusals" has a row for every case."""
    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()
    table = page[page.index("## The bad-input table"):]
    for name, _, error, fragment in CASES:
        assert f"| {name} |" in table, name
        assert f"`{error.__name__}`" in table and fragment in table, name


def test_a_sweep_with_divergent_runs_reports_them_and_keeps_the_rest():
    res = jg.sweep(jg.games.dirac("wgan"), lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 0.0), {"lr": jnp.array([0.1, 1e30, 0.2])}, 50)
    finite = np.asarray(res.finite)
    assert finite.tolist() == [True, False, True]
    assert int(res.first_nonfinite[1]) > 0 and int(res.first_nonfinite[0]) == -1
    assert jg.RESULTS(int(res.status[1])).label == "non-finite"
    assert np.all(np.isfinite(np.asarray(res.final.phi)[finite]))


# ---------------------------------------------------------------- the chain's order

DIRAC = jg.games.dirac("wgan")
W0 = jg.Joint(1.0, 0.5)
LATE = {
    "sgd then jare": (optax.chain(optax.sgd(0.1), jg.transforms.jare(1.0)), "jare"),
    "adam then consensus": (optax.chain(optax.adam(0.1), jg.transforms.consensus(1.0)), "consensus"),
    "scale then sga": (optax.chain(optax.scale(-0.1), jg.transforms.sga(1.0)), "sga"),
    "clip then follow_the_ridge": (optax.chain(optax.clip(1.0), jg.transforms.follow_the_ridge(), optax.sgd(0.1)), "follow_the_ridge"),
    "sgd then alternating": (optax.chain(optax.sgd(0.1), jg.transforms.alternating(optax.sgd(0.1))), "alternating"),
    "inside extragradient": (jg.transforms.extragradient(optax.chain(optax.sgd(0.1), jg.transforms.consensus(1.0))), "consensus"),
    "inside best_response": (jg.transforms.best_response(optax.chain(optax.sgd(0.1), jg.transforms.jare(1.0)), step="riemannian"), "jare"),
}


@pytest.mark.parametrize("tx,where", LATE.values(), ids=list(LATE))
def test_a_correction_after_a_rewriting_stage_is_refused_by_every_entry_point(tx, where):
    fragment = f"{where} must come first in the optax chain"
    for call in (lambda: jg.rollout(DIRAC, tx, W0, 2), lambda: jg.update_jacobian(DIRAC, tx, W0),
                 lambda: jg.sweep(DIRAC, lambda h: tx, W0, {"lr": jnp.ones(2)}, 2)):
        with pytest.raises(ValueError, match=fragment):
            call()


EARLY = {
    "two corrections then sgd": optax.chain(jg.transforms.jare(1.0), jg.transforms.consensus(0.5), optax.sgd(0.1)),
    "injected hyperparameters": optax.inject_hyperparams(lambda lr, g: optax.chain(jg.transforms.jare(g), optax.sgd(lr)))(lr=0.1, g=1.0),
    "identity first": optax.chain(optax.identity(), jg.transforms.sga(1.0), optax.adam(0.01)),
    "extragradient of a corrected step": jg.transforms.extragradient(optax.chain(jg.transforms.consensus(1.0), optax.sgd(0.1))),
}


@pytest.mark.parametrize("tx", EARLY.values(), ids=list(EARLY))
def test_corrections_first_pass_the_order_check_and_compute_as_before(tx):
    out = jg.rollout(DIRAC, tx, W0, 3)
    # the probe changes nothing: the same steps by hand, through tx.update without it
    w, s = W0, tx.init(W0)
    for _ in range(3):
        u, s = tx.update(jg.simultaneous_gradient(DIRAC)(w), s, w, game=DIRAC)
        w = optax.apply_updates(w, u)
    np.testing.assert_allclose(float(out.final.phi), float(w.phi), rtol=1e-12)
    np.testing.assert_allclose(float(out.final.theta), float(w.theta), rtol=1e-12)


def test_spectra_of_a_late_correction_are_refused():
    with pytest.raises(ValueError, match="consensus must come first"):
        jg.eigenvalues(DIRAC, DIRAC.equilibrium, transform=optax.chain(optax.scale(2.0), jg.transforms.consensus(1.0)))


# ---------------------------------------------------------------- differentiability


def _bilinear_d(x, y):
    return -(x @ y)


FLAT = {
    "loss_g ignores phi": (jg.Game(lambda x, y: y @ y, _bilinear_d), "`loss_g` does not depend differentiably on `phi`"),
    "rounding": (jg.Game(lambda x, y: jnp.round(x) @ y, _bilinear_d), "`loss_g` does not depend differentiably on `phi`"),
    "integer cast": (jg.Game(lambda x, y: x.astype(jnp.int32).sum() * y.sum(), _bilinear_d), "`loss_g` does not depend differentiably"),
    "stop_gradient in loss_d": (jg.Game(lambda x, y: x @ y, lambda x, y: -(x @ jax.lax.stop_gradient(y))),
                                "`loss_d` does not depend differentiably on `theta`"),
    "a comparison": (jg.Game(lambda x, y: x @ y, lambda x, y: -jnp.sum(jnp.where(y > 0, 1.0, 0.0)) * x.sum()),
                     "`loss_d` does not depend differentiably on `theta`"),
}


@pytest.mark.parametrize("game,fragment", FLAT.values(), ids=list(FLAT))
def test_a_player_without_a_gradient_is_refused(game, fragment):
    with pytest.raises(ValueError, match=fragment):
        jg.jacobian(game, W)
    with pytest.raises(ValueError, match=fragment):  # also when first met inside jit and vmap
        jax.jit(jax.vmap(jg.simultaneous_gradient(game)))(jax.tree.map(lambda x: jnp.stack([x, x]), W))


def test_flat_directions_and_constant_gradients_are_not_refused():
    # a critic bias that cancels (one flat leaf), a linear loss (constant, non-zero gradient)
    bias = jg.Game(lambda p, t: -(t["w"] @ p), lambda p, t: t["w"] @ p + t["b"] - t["b"])
    wb = jg.Joint(jnp.ones(2), {"w": jnp.ones(2), "b": jnp.zeros(())})
    assert jg.jacobian(bias, wb).shape == (5, 5)
    linear = jg.Game(lambda p, t: 2.0 * jnp.sum(p), lambda p, t: jnp.sum(p) * jnp.sum(t))
    np.testing.assert_allclose(np.asarray(jg.simultaneous_gradient(linear)(W).phi), [2.0, 2.0])


def test_the_differentiability_check_follows_a_traced_game():
    # a game built from a traced hyperparameter (a sweep over games): checked without evaluation
    def xi_at(c):
        game = jg.Game(lambda x, y: c * jnp.sum(x), lambda x, y: -(x @ y))
        return jg.simultaneous_gradient(game)(W).phi

    np.testing.assert_allclose(np.asarray(jax.vmap(xi_at)(jnp.array([1.0, 2.0]))), [[1.0, 1.0], [2.0, 2.0]])
