"""jaxgan._validation.checks: the input checks run once at a public entry point (check_game, check_joint,
check_hyperparameter, check_field / check_point with their per-signature cache, entry (the one layer of a public function of points)),
and the messages and checks every transformation shares (accept_transformation,
checked_game_update, require_joint, NO_PARAMS_MSG)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg
from jaxgan._validation import checks as _checks
from jaxgan._validation.checks import (
    GAME_CALL,
    NO_PARAMS_MSG,
    PLAIN_CALL,
    accept_transformation,
    checked_game_update,
    require_joint,
)
from jaxgan._validation.domains import Real

GAME = jg.zero_sum(lambda x, y: jnp.sum(x * y))


def test_check_game_and_check_joint_name_the_argument_and_the_fix():
    with pytest.raises(TypeError, match=r"f needs the game: pass `game=game`"):
        _checks.check_game(None, "f")
    with pytest.raises(TypeError, match=r"f: `game` must be a jaxgan.Game, got dict"):
        _checks.check_game({}, "f")
    with pytest.raises(TypeError, match=r"f: `w0` must be a jaxgan.Joint\(phi, theta\), got tuple"):
        _checks.check_joint((1.0, 2.0), "f", "w0")
    with pytest.raises(ValueError, match=r"f: `w.theta` has no array leaves"):
        _checks.check_joint(jg.Joint(1.0, ()), "f")
    with pytest.raises(TypeError, match=r"`w.phi` has a leaf of dtype int32"):
        _checks.check_joint(jg.Joint(jnp.arange(2, dtype=jnp.int32), 1.0), "f")
    with pytest.raises(TypeError, match="half precision"):
        _checks.check_joint(jg.Joint(jnp.ones(2, jnp.float16), 1.0), "f")
    with pytest.raises(TypeError, match="mixes floating dtypes"):
        _checks.check_joint(jg.Joint(jnp.ones(2, jnp.float32), jnp.ones(2, jnp.float64)), "f")
    w = jg.Joint(jnp.ones(2, jnp.float32), 1.0)  # a Python float is weakly typed: it mixes with float32
    assert _checks.check_joint(w, "f") is w


@pytest.mark.parametrize(
    "value,kwargs,error,match",
    [
        (True, {}, TypeError, r"`h` must be a real number, got bool"),
        ("0.1", {}, TypeError, r"`h` must be a real number, got str"),
        (np.ones(2), {}, TypeError, r"`h` must be a real scalar, got ndarray of dtype float64 and shape \(2,\)"),
        (float("nan"), {}, ValueError, r"`h` must be finite, got nan"),
        (float("inf"), {}, ValueError, r"`h` must be finite"),
        (-0.5, {}, ValueError, r"`h` must be >= 0, got -0.5"),
        (0.0, {"low_open": True}, ValueError, r"`h` must be > 0, got 0.0"),
        (1.0, {"high": 1.0}, ValueError, r"`h` must be >= 0 and < 1, got 1.0"),
    ],
)
def test_check_hyperparameter_refuses_with_the_domain(value, kwargs, error, match):
    with pytest.raises(error, match=r"f: " + match):
        _checks.check_hyperparameter(value, "f", "h", **kwargs)


def test_check_hyperparameter_passes_valid_and_traced_values_through():
    assert _checks.check_hyperparameter(1.0, "f", "h", high=1.0, high_open=False) == 1.0
    assert _checks.check_hyperparameter(float("inf"), "f", "h", allow_inf=True) == float("inf")
    assert float(jax.jit(lambda h: _checks.check_hyperparameter(h, "f", "h") * 2)(-1.0)) == -2.0  # traced: the caller's


def test_check_field_runs_once_per_game_and_signature(monkeypatch):
    calls = []
    real = _checks.check_differentiable
    monkeypatch.setattr(_checks, "check_differentiable", lambda g, w: (calls.append(w), real(g, w)))
    game = jg.zero_sum(lambda x, y: jnp.sum(x * y))
    w2 = jg.Joint(jnp.ones(2), jnp.ones(2))
    for _ in range(3):
        _checks.check_point(game, w2, "f")
    assert len(calls) == 1
    _checks.check_point(game, jg.Joint(jnp.ones(3), jnp.ones(3)), "f")  # new shapes: checked again
    _checks.check_point(game, jax.tree.map(lambda x: x.astype(jnp.float32), w2), "f")  # new dtype: again
    assert len(calls) == 3
    _checks.check_point(jg.zero_sum(lambda x, y: jnp.sum(x * y)), w2, "f")  # a new game: again
    assert len(calls) == 4


def test_check_field_refuses_a_loss_that_ignores_its_player_and_a_bad_grad_fn():
    ignores = jg.Game(lambda x, y: jnp.sum(y**2), lambda x, y: jnp.sum(x * y))
    with pytest.raises(ValueError, match=r"`loss_g` does not depend differentiably on `phi`"):
        _checks.check_point(ignores, jg.Joint(jnp.ones(2), jnp.ones(2)), "f")
    stopped = jg.Game(lambda x, y: jnp.sum(x * y), lambda x, y: jnp.sum(jax.lax.stop_gradient(y) * x))
    with pytest.raises(ValueError, match=r"`loss_d` does not depend differentiably on `theta`"):
        _checks.check_point(stopped, jg.Joint(jnp.ones(2), jnp.ones(2)), "f")
    bad_grad = jg.Game(GAME.loss_g, GAME.loss_d, grad_fn=lambda w: (w.theta, -w.phi))
    with pytest.raises(TypeError, match="`grad_fn` must return a jaxgan.Joint, got tuple"):
        _checks.check_point(bad_grad, jg.Joint(jnp.ones(2), jnp.ones(2)), "f")
    with pytest.raises(ValueError, match="scalar"):
        _checks.check_point(jg.zero_sum(lambda x, y: x * y), jg.Joint(jnp.ones(2), jnp.ones(2)), "f")


def test_the_entry_layer_checks_then_runs_the_body_as_one_program_which_stays_reachable():
    seen = []

    @_checks.entry("w", program=_checks.Program(), scale=Real(0))
    def my_entry(game, w, scale=1.0):
        """Doc of the body."""
        seen.append((game, jax.tree.map(lambda x: (x.shape, x.dtype), w)))
        return scale * jnp.sum(w.phi)

    w = jg.Joint(jnp.ones(2), jnp.ones(2))
    assert float(my_entry(GAME, w, scale=3.0)) == 6.0
    assert seen[-1][0] is GAME and seen[-1][1] == jax.tree.map(lambda x: (x.shape, x.dtype), w)
    # the body runs as one compiled program: a repeat call, a new numeric option too, reuses it
    assert float(my_entry(GAME, w, scale=2.0)) == 4.0 and len(seen) == 1
    assert my_entry.__doc__.startswith("Doc of the body.") and my_entry.__name__ == "my_entry"
    with pytest.raises(ValueError, match=r"my_entry: `scale` must be >= 0"):
        my_entry(GAME, w, scale=-1.0)
    with pytest.raises(TypeError, match=r"my_entry: `w` must be a jaxgan.Joint"):
        my_entry(GAME, (1.0, 2.0))
    with pytest.raises(TypeError, match=r"my_entry: `game` must be a jaxgan.Game"):
        my_entry(None.__class__, w)
    assert len(seen) == 1  # the body never ran on bad input
    assert float(my_entry.unchecked(None, jg.Joint(jnp.ones(3), None))) == 3.0  # the body itself checks nothing
    assert my_entry.__wrapped__ is my_entry.unchecked  # one layer between the call and the body


def _public_callables():
    for module in (jg, jg.transforms, jg.games, jg.regularizers, jg.flows, jg.manifold, jg.metrics, jg.datasets):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, type):
                yield f"{module.__name__}.{name}", obj


def test_one_layer_between_every_public_call_and_its_work():
    """Every public function is its body, or one checking layer around it (``@domains`` for a
    function without points, ``entry`` for one with points): never a stack of wrappers."""
    deep = []
    for name, fn in _public_callables():
        depth, inner = 0, fn
        while hasattr(inner, "__wrapped__"):
            depth, inner = depth + 1, inner.__wrapped__
        if depth > 1:
            deep.append(f"{name}: {depth} layers")
    assert not deep, deep


# --------------------------------------------------------------------------- the transformations' checks

TX_GAME = jg.games.dirac("wgan")
TX_W = jg.Joint(jnp.asarray(1.0), jnp.asarray(0.5))
TX_BOX = jg.Box(jg.Joint(-2.0, -2.0), jg.Joint(2.0, 2.0))

GAME_AWARE = {
    "consensus": jg.transforms.consensus(1.0), "jare": jg.transforms.jare(1.0), "sga": jg.transforms.sga(1.0), "hamiltonian": jg.transforms.hamiltonian(),
    "opponent_lookahead": jg.transforms.opponent_lookahead(0.5), "lola": jg.transforms.lola(0.5), "sos": jg.transforms.sos(0.5),
    "extragradient": jg.transforms.extragradient(optax.sgd(0.1)), "alternating": jg.transforms.alternating(optax.sgd(0.1)),
    "lookahead": jg.transforms.lookahead(optax.sgd(0.1)), "gda_am": jg.transforms.gda_am(optax.sgd(0.1)),
    "best_response": jg.transforms.best_response(optax.sgd(0.1)), "follow_the_ridge": jg.transforms.follow_the_ridge(),
    "cgd": jg.transforms.cgd(0.1), "acgd": jg.transforms.acgd(0.1), "stonr": jg.transforms.stonr(TX_BOX),
}


@pytest.mark.parametrize("name", sorted(GAME_AWARE))
def test_every_game_aware_update_without_params_says_the_one_message(name):
    tx = GAME_AWARE[name]
    state = tx.init(TX_W)
    with pytest.raises(ValueError) as err:
        tx.update(TX_W, state, None, game=TX_GAME)
    assert str(err.value) == NO_PARAMS_MSG.format(where=name, call=GAME_CALL)


@pytest.mark.parametrize("name,tx", [("project_box", jg.transforms.project_box(TX_BOX)), ("clip_discriminator", jg.regularizers.clip_discriminator(1.0))])
def test_stages_after_the_learning_rate_say_the_plain_call(name, tx):
    with pytest.raises(ValueError) as err:
        tx.update(TX_W, tx.init(TX_W), None)
    assert str(err.value) == NO_PARAMS_MSG.format(where=name, call=PLAIN_CALL)


def test_accept_transformation_names_the_argument_and_passes_the_game_through():
    with pytest.raises(TypeError, match=r"^where: `inner.phi` must be an optax.GradientTransformation \(e.g. optax.sgd\(0.1\)\), got float\.$"):
        accept_transformation(0.1, "where", "inner.phi")
    tx = accept_transformation(optax.sgd(0.5), "where")
    assert isinstance(tx, optax.GradientTransformationExtraArgs)
    u, _ = tx.update(TX_W, tx.init(TX_W), TX_W, game=TX_GAME)  # a plain optax stage ignores game=
    assert float(u.phi) == -0.5 and float(u.theta) == -0.25


def test_checked_game_update_checks_game_params_joint_and_field():
    with pytest.raises(TypeError, match="needs the game"):
        checked_game_update(TX_W, TX_W, None, "t")
    with pytest.raises(TypeError, match="`game` must be a jaxgan.Game"):
        checked_game_update(TX_W, TX_W, "game", "t")
    with pytest.raises(TypeError, match=r"`updates` and `params` must be jaxgan.Joint pytrees"):
        checked_game_update((1.0, 0.5), TX_W, TX_GAME, "t")
    with pytest.raises(TypeError, match=r"t: `params` must be a jaxgan.Joint \(two players\) or jaxgan.Players \(n players\), got tuple"):
        checked_game_update(TX_W, (1.0, 0.5), TX_GAME, "t", joint=("params",))
    with pytest.raises(TypeError, match="the Joint field xi"):
        require_joint((1.0, 0.5), "t", "updates")
    frozen = jg.zero_sum(lambda x, y: y * jnp.round(x))  # the generator's gradient is identically zero
    with pytest.raises(ValueError, match="does not depend differentiably on `phi`"):
        checked_game_update(TX_W, TX_W, frozen, "t")
    assert checked_game_update(TX_W, TX_W, TX_GAME, "t") is TX_GAME
