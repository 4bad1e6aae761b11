"""The README's bad-input table: each row's input gets its clear error (type and message)."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

GAME = jg.zero_sum(lambda x, y: x @ y)
W = jg.Joint(jnp.ones(2), jnp.ones(2))
XI = jg.Joint(jnp.ones(2), jnp.ones(2))

# (row name in the README, call, error type, message fragment)
CASES = [
    ("a loss that is not scalar", lambda: jg.eigenvalues(jg.zero_sum(lambda x, y: x * y), W), ValueError, "`loss_g` must return a scalar"),
    ("a `Joint` of the wrong structure", lambda: jg.eigenvalues(GAME, (jnp.ones(2), jnp.ones(2))), TypeError, "must be a jaxgan.Joint(phi, theta)"),
    ("a `Joint` whose shapes do not fit the losses", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.ones(2), jnp.ones(3))), TypeError,
     "`loss_g` failed on parameters of shapes phi (2,), theta (3,)"),
    ("leaves of mixed floating dtypes", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.ones(2, jnp.float32), jnp.ones(2))), TypeError,
     "mixes floating dtypes"),
    ("integer leaves", lambda: jg.eigenvalues(GAME, jg.Joint(jnp.ones(2, jnp.int32), jnp.ones(2, jnp.int32))), TypeError,
     "parameters must be floating point"),
    ("a correction without `game=`", lambda: jg.consensus(1.0).update(XI, jg.consensus(1.0).init(W), W), TypeError, "pass `game=game`"),
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
]


@pytest.mark.parametrize("name,call,error,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name, call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_the_readme_table_lists_every_case():
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("## Bad input"):]
    for name, _, error, fragment in CASES:
        assert f"| {name} |" in table, name
        assert f"`{error.__name__}`" in table and fragment in table, name


def test_a_sweep_with_divergent_runs_reports_them_and_keeps_the_rest():
    res = jg.sweep(jg.games.dirac("wgan"), lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 0.0), {"lr": jnp.array([0.1, 1e30, 0.2])}, 50)
    finite = np.asarray(res.finite)
    assert finite.tolist() == [True, False, True]
    assert int(res.first_nonfinite[1]) > 0 and int(res.first_nonfinite[0]) == -1
    assert jg.STATUS_NAMES[int(res.status[1])] == "non-finite"
    assert np.all(np.isfinite(np.asarray(res.final.phi)[finite]))
