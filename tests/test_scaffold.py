"""_scaffold: the messages and checks every transformation shares."""

import jax.numpy as jnp
import optax
import pytest

import jaxgan as jg
from jaxgan._scaffold import (
    GAME_CALL,
    NO_PARAMS_MSG,
    PLAIN_CALL,
    accept_transformation,
    checked_game_update,
    require_joint,
)

GAME = jg.games.dirac("wgan")
W = jg.Joint(jnp.asarray(1.0), jnp.asarray(0.5))
BOX = jg.Box(jg.Joint(-2.0, -2.0), jg.Joint(2.0, 2.0))

GAME_AWARE = {
    "consensus": jg.transforms.consensus(1.0), "jare": jg.transforms.jare(1.0), "sga": jg.transforms.sga(1.0), "hamiltonian": jg.transforms.hamiltonian(),
    "opponent_lookahead": jg.transforms.opponent_lookahead(0.5), "lola": jg.transforms.lola(0.5), "sos": jg.transforms.sos(0.5),
    "extragradient": jg.transforms.extragradient(optax.sgd(0.1)), "alternating": jg.transforms.alternating(optax.sgd(0.1)),
    "lookahead": jg.transforms.lookahead(optax.sgd(0.1)), "gda_am": jg.transforms.gda_am(optax.sgd(0.1)),
    "best_response": jg.transforms.best_response(optax.sgd(0.1)), "follow_the_ridge": jg.transforms.follow_the_ridge(),
    "cgd": jg.transforms.cgd(0.1), "acgd": jg.transforms.acgd(0.1), "stonr": jg.transforms.stonr(BOX),
}


@pytest.mark.parametrize("name", sorted(GAME_AWARE))
def test_every_game_aware_update_without_params_says_the_one_message(name):
    tx = GAME_AWARE[name]
    state = tx.init(W)
    with pytest.raises(ValueError) as err:
        tx.update(W, state, None, game=GAME)
    assert str(err.value) == NO_PARAMS_MSG.format(where=name, call=GAME_CALL)


@pytest.mark.parametrize("name,tx", [("project_box", jg.transforms.project_box(BOX)), ("clip_discriminator", jg.regularizers.clip_discriminator(1.0))])
def test_stages_after_the_learning_rate_say_the_plain_call(name, tx):
    with pytest.raises(ValueError) as err:
        tx.update(W, tx.init(W), None)
    assert str(err.value) == NO_PARAMS_MSG.format(where=name, call=PLAIN_CALL)


def test_accept_transformation_names_the_argument_and_passes_the_game_through():
    with pytest.raises(TypeError, match=r"^where: `inner.phi` must be an optax.GradientTransformation \(e.g. optax.sgd\(0.1\)\), got float\.$"):
        accept_transformation(0.1, "where", "inner.phi")
    tx = accept_transformation(optax.sgd(0.5), "where")
    assert isinstance(tx, optax.GradientTransformationExtraArgs)
    u, _ = tx.update(W, tx.init(W), W, game=GAME)  # a plain optax stage ignores game=
    assert float(u.phi) == -0.5 and float(u.theta) == -0.25


def test_checked_game_update_checks_game_params_joint_and_field():
    with pytest.raises(TypeError, match="needs the game"):
        checked_game_update(W, W, None, "t")
    with pytest.raises(TypeError, match="`game` must be a jaxgan.Game"):
        checked_game_update(W, W, "game", "t")
    with pytest.raises(TypeError, match=r"`updates` and `params` must be jaxgan.Joint pytrees"):
        checked_game_update((1.0, 0.5), W, GAME, "t")
    with pytest.raises(TypeError, match=r"t: `params` must be a jaxgan.Joint \(two players\) or jaxgan.Players \(n players\), got tuple"):
        checked_game_update(W, (1.0, 0.5), GAME, "t", joint=("params",))
    with pytest.raises(TypeError, match="the Joint field xi"):
        require_joint((1.0, 0.5), "t", "updates")
    frozen = jg.zero_sum(lambda x, y: y * jnp.round(x))  # the generator's gradient is identically zero
    with pytest.raises(ValueError, match="does not depend differentiably on `phi`"):
        checked_game_update(W, W, frozen, "t")
    assert checked_game_update(W, W, GAME, "t") is GAME
