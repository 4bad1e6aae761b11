"""_step: the one-step map every run, sweep and update Jacobian is built from."""

import jax.numpy as jnp
import optax
import pytest

import jaxgan as jg
from jaxgan._core.step import step_of

GAME = jg.zero_sum(lambda x, y: x * y + 0.5 * x**2)  # xi = (y + x, -x)


def test_make_step_is_w_minus_lr_xi():
    tx, w0 = optax.sgd(0.1), jg.Joint(jnp.asarray(1.0), jnp.asarray(2.0))
    w, _ = jg.make_step(GAME, tx)(w0, tx.init(w0))
    assert float(w.phi) == pytest.approx(1.0 - 0.1 * 3.0, abs=1e-15)
    assert float(w.theta) == pytest.approx(2.0 + 0.1 * 1.0, abs=1e-15)


def test_the_checked_entry_and_its_body_agree_and_only_the_entry_checks():
    tx = optax.with_extra_args_support(optax.sgd(0.1))
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(2.0))
    a, _ = jg.make_step(GAME, tx)(w0, tx.init(w0))
    b, _ = step_of(GAME, tx)(w0, tx.init(w0))
    assert float(a.phi) == float(b.phi) and float(a.theta) == float(b.theta)
    with pytest.raises(TypeError, match=r"make_step: `w` must be a jaxgan.Joint"):
        jg.make_step(GAME, tx)((1.0, 2.0), tx.init(w0))
    with pytest.raises(TypeError, match=r"make_step: `tx` must be an optax.GradientTransformation"):
        jg.make_step(GAME, 0.1)


def test_a_correction_after_the_learning_rate_is_refused_when_traced():
    bad = optax.chain(optax.sgd(0.1), jg.transforms.consensus(1.0))
    w0 = jg.Joint(jnp.asarray(1.0), jnp.asarray(2.0))
    with pytest.raises(ValueError, match="consensus must come first"):
        jg.make_step(GAME, bad)(w0, bad.init(w0))
