"""Malformed arguments at every public entry point, the full product of entries and bad values:
each ends in a ValueError or TypeError whose message names the function and the argument,
never another exception."""

import re

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

GAME = jg.games.bilinear(1.0)
W = jg.Joint(jnp.asarray(0.5), jnp.asarray(-0.5))
GRID = {"lr": jnp.array([0.1, 0.2])}

BAD_POINTS = [
    None, 3.0, "w", (1.0, 2.0), [W.phi, W.theta], {"phi": 1.0},
    jg.Joint(jnp.asarray(np.nan), jnp.asarray(0.0)), jg.Joint(jnp.asarray(0.0), jnp.asarray(np.inf)),
    jg.Joint(jnp.asarray(1, jnp.int32), jnp.asarray(0.0)), jg.Joint(jnp.asarray(1.0, jnp.float16), jnp.asarray(0.0, jnp.float16)),
    jg.Joint(jnp.asarray(1.0, jnp.float32), jnp.asarray(0.0, jnp.float64)), jg.Joint({}, jnp.asarray(0.0)),
]
BAD_HYPERPARAMETERS = [None, "abc", b"x", np.nan, np.inf, -np.inf, -1.0, [1.0, 2.0], {}, True, object(), jnp.ones(3)]

# name -> (the function's name in messages, the argument's name, call with the bad value)
POINT_ENTRIES = {
    "eigenvalues": ("eigenvalues", "w", lambda v: jg.eigenvalues(GAME, v)),
    "jacobian": ("jacobian", "w", lambda v: jg.jacobian(GAME, v)),
    "spectrum": ("spectrum", "w", lambda v: jg.spectrum(GAME, v)),
    "spectral_radius": ("spectral_radius", "w", lambda v: jg.spectral_radius(GAME, optax.sgd(0.1), v)),
    "update_jacobian": ("update_jacobian", "w", lambda v: jg.update_jacobian(GAME, optax.sgd(0.1), v)),
    "top_eigenvalues": ("top_eigenvalues", "w", lambda v: jg.top_eigenvalues(GAME, v, 1)),
    "rollout": ("rollout", "w0", lambda v: jg.rollout(GAME, optax.sgd(0.1), v, 3)),
    "sweep": ("sweep", "w0", lambda v: jg.sweep(GAME, lambda h: optax.sgd(h["lr"]), v, GRID, 3)),
    "sweep w_star": ("sweep", "w_star", lambda v: jg.sweep(GAME, lambda h: optax.sgd(h["lr"]), W, GRID, 3, w_star=v)),
    "stability_map": ("stability_map", "w_star", lambda v: jg.stability_map(GAME, lambda h: optax.sgd(h["lr"]), GRID, w_star=v)),
    "flow": ("flow", "w0", lambda v: jg.flows.flow(GAME, v, jnp.array([0.0, 1.0]))),
    "spectral_density": ("spectral_density", "w", lambda v: jg.spectral_density(GAME, v)),
    "stationary_point_certificate": ("stationary_point_certificate", "w", lambda v: jg.stationary_point_certificate(GAME, v)),
    "path_angle": ("path_angle", "w_init", lambda v: jg.path_angle(GAME, v, W)),
    "refinement_test": ("refinement_test", "w0", lambda v: jg.flows.refinement_test(GAME, optax.sgd, v, 0.1, 8, levels=2, points=2)),
}
HYPER_ENTRIES = {
    "consensus": ("consensus", "gamma", lambda v: jg.transforms.consensus(v)),
    "jare": ("jare", "gamma", lambda v: jg.transforms.jare(v)),
    "sga": ("sga", "lam", lambda v: jg.transforms.sga(v)),
    "opponent_lookahead": ("opponent_lookahead", "alpha", lambda v: jg.transforms.opponent_lookahead(v)),
    "lola": ("lola", "alpha", lambda v: jg.transforms.lola(v)),
    "sos": ("sos", "alpha", lambda v: jg.transforms.sos(v)),
    "cgd": ("cgd", "learning_rate", lambda v: jg.transforms.cgd(v)),
    "acgd": ("acgd", "learning_rate", lambda v: jg.transforms.acgd(v)),
    "follow_the_ridge": ("follow_the_ridge", "ratio", lambda v: jg.transforms.follow_the_ridge(ratio=v)),
    "lookahead": ("lookahead", "alpha", lambda v: jg.transforms.lookahead(optax.sgd(0.1), alpha=v)),
    "ttur": ("ttur", "lr_g", lambda v: jg.transforms.ttur(v, 0.1)),
    "clip_discriminator": ("clip_discriminator", "c", lambda v: jg.regularizers.clip_discriminator(v)),
    # gtol accepts inf (read the second-order conditions anywhere): rtol is the checked option here
    "stationary_point_certificate": ("stationary_point_certificate", "rtol",
                                     lambda v: jg.stationary_point_certificate(GAME, W, rtol=v)),
    "r1": ("r1", "gamma", lambda v: jg.regularizers.r1(jg.games.dirac("standard"), v)),
}


def _check(function, argument, call, value):
    try:
        call(value)
    except (TypeError, ValueError) as err:
        message = str(err)
        assert function in message, (function, message)
        assert re.search(rf"`{re.escape(argument)}[`.\[]", message), (argument, message)
    else:
        raise AssertionError(f"{function} accepted {value!r} for `{argument}`")


# The product stays exhaustive (every entry point with every bad value: the checks are cheap and a
# value one entry point forgets is the defect this file exists for), one test per entry point.


@pytest.mark.parametrize("entry", sorted(POINT_ENTRIES))
def test_malformed_points(entry):
    function, argument, call = POINT_ENTRIES[entry]
    for value in BAD_POINTS:
        if value is None and argument == "w_star":
            continue  # None is w_star's default (the game's equilibrium)
        _check(function, argument, call, value)


@pytest.mark.parametrize("entry", sorted(HYPER_ENTRIES))
def test_malformed_hyperparameters(entry):
    function, argument, call = HYPER_ENTRIES[entry]
    for value in BAD_HYPERPARAMETERS:
        _check(function, argument, call, value)
