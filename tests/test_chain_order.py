"""jaxgan._chain_order: the abstract probe that finds a field correction placed after a stage
that rewrote the field."""

import jax.numpy as jnp
import optax
import pytest

import jaxgan as jg
from jaxgan._chain_order import FIELD_PROBE, check_chain_order, probe_received, with_probe

GAME = jg.zero_sum(lambda x, y: x * y)
W = jg.Joint(jnp.asarray(1.0), jnp.asarray(2.0))


def test_probe_received_is_identity_of_the_probed_object():
    xi = jg.Joint(jnp.asarray(1.0), jnp.asarray(2.0))
    assert probe_received(xi, {}, "jare") is False  # no probe: a user's own loop, unchecked
    assert probe_received(xi, {FIELD_PROBE: xi}, "jare") is True
    same_values = jg.Joint(jnp.asarray(1.0), jnp.asarray(2.0))  # equal, but a rewritten pytree
    with pytest.raises(ValueError, match=r"jare must come first in the optax chain"):
        probe_received(same_values, {FIELD_PROBE: xi}, "jare")


def test_with_probe_hands_an_inner_chain_its_own_vector_only_in_a_probe_trace():
    v = object()
    assert with_probe({"game": GAME}, v) == {"game": GAME}
    assert with_probe({"game": GAME, FIELD_PROBE: 1}, v) == {"game": GAME, FIELD_PROBE: v}


@pytest.mark.parametrize("correction", [lambda: jg.jare(1.0), lambda: jg.consensus(0.5), lambda: jg.sga(1.0)])
def test_check_chain_order_refuses_a_correction_after_a_scaling_and_passes_it_before(correction):
    xi = jg.simultaneous_gradient(GAME)(W)
    good = optax.chain(correction(), optax.sgd(0.1))
    check_chain_order(good, xi, good.init(W), W, game=GAME)
    bad = optax.chain(optax.sgd(0.1), correction())
    with pytest.raises(ValueError, match=r"must come first in the optax chain, before any learning-rate scaling"):
        check_chain_order(bad, xi, bad.init(W), W, game=GAME)
    # several corrections chained ahead of the optimiser all see the field
    both = optax.chain(correction(), jg.consensus(0.1), optax.sgd(0.1))
    check_chain_order(both, xi, both.init(W), W, game=GAME)


def test_the_entry_points_run_the_probe():
    bad = optax.chain(optax.sgd(0.1), jg.jare(1.0))
    with pytest.raises(ValueError, match="jare must come first"):
        jg.make_step(GAME, bad)(W, bad.init(W))
    with pytest.raises(ValueError, match="jare must come first"):
        jg.corrected_field(GAME, bad)(W)
    # a hand-written loop calling tx.update without the probe is the user's own: it runs
    u, _ = bad.update(jg.simultaneous_gradient(GAME)(W), bad.init(W), W, game=GAME)
    assert u is not None
