"""jaxgan._core.algebra: the step algebra. Every pair (role, role) of ``RULE`` either raises naming
the rule or equals a reference step written here with plain ``jax.grad``."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg
from jaxgan._core.algebra import PLACE, RULE, Place, Property, Role, Side

C, D, S, P = Role.CORRECTION, Role.DIRECTION, Role.STEP, Role.PROJECTION

# a nonlinear general-sum game of two scalars
GAME = jg.Game(lambda x, y: jnp.sin(x) * y + 0.3 * x**2, lambda x, y: -jnp.sin(x) * y + 0.2 * y**2 + 0.1 * x * y**2)
W = jg.Joint(jnp.asarray(0.4), jnp.asarray(-0.7))
GAMMA, LR, ETA = 0.3, 0.2, 0.25
BOX = jg.Box(jg.Joint(-0.45, -0.6), jg.Joint(0.45, 0.6))


def xi(z):  # the field with plain jax.grad, on z = (x, y)
    x, y = z[0], z[1]
    return jnp.stack([jax.grad(GAME.loss_g, 0)(x, y), jax.grad(GAME.loss_d, 1)(x, y)])


def consensus_field(z):
    return xi(z) + GAMMA * jax.jacfwd(xi)(z).T @ xi(z)


def clip(z, u, lo=(-0.45, -0.6), hi=(0.45, 0.6)):
    return jnp.clip(z + u, jnp.asarray(lo), jnp.asarray(hi)) - z


def cgd_update(field, z):
    jac = jax.jacfwd(field)(z)
    h_o = jac * (1 - jnp.eye(2))
    return -ETA * jnp.linalg.solve(jnp.eye(2) + ETA * h_o, field(z))


def extragradient_update(field, z):
    half = z - LR * field(z)
    return -LR * field(half)


Z = jnp.stack([W.phi, W.theta])

#: representative stages of each role, and the reference update of each allowed pair
STAGE = {
    C: lambda: jg.transforms.consensus(GAMMA),
    D: lambda: optax.sgd(LR),
    "step (several moves)": lambda: jg.transforms.extragradient(optax.sgd(LR)),
    "step (moves once)": lambda: jg.transforms.cgd(ETA),
    P: lambda: jg.transforms.project_box(BOX),
}
ALLOWED = {
    # a pair with no update stage is completed by an SGD step after it (C, C) or before it (P, P)
    (C, C): lambda z: -LR * (consensus_field(z) + GAMMA * jax.jacfwd(xi)(z).T @ consensus_field(z)),
    (C, D): lambda z: -LR * consensus_field(z),
    (C, "step (several moves)"): lambda z: extragradient_update(consensus_field, z),
    (C, "step (moves once)"): lambda z: cgd_update(consensus_field, z),
    (D, D): lambda z: -LR * -LR * xi(z),
    (D, P): lambda z: clip(z, -LR * xi(z)),
    ("step (moves once)", P): lambda z: clip(z, cgd_update(xi, z)),
    (P, P): lambda z: clip(z, clip(z, -LR * xi(z)), lo=(-0.4, -0.5), hi=(0.4, 0.5)),
}


def _role(key):
    return key if isinstance(key, Role) else S


def _chain(a, b):
    first = STAGE[a]()
    second = jg.transforms.project_box(jg.Box(jg.Joint(-0.4, -0.5), jg.Joint(0.4, 0.5))) if (a, b) == (P, P) else STAGE[b]()
    if (a, b) == (C, C):
        return optax.chain(first, second, optax.sgd(LR))
    if (a, b) == (P, P):
        return optax.chain(optax.sgd(LR), first, second)
    return optax.chain(first, second)


def test_a_step_without_an_update_stage_and_transform_with_a_step_are_refused():
    for tx in (jg.transforms.consensus(0.5), optax.chain(jg.transforms.consensus(0.5), jg.transforms.jare(0.1)), optax.identity()):
        with pytest.raises(ValueError, match="has no stage that turns the field into an update"):
            jg.make_step(GAME, tx)(W, tx.init(W))
    for transform, role in ((optax.chain(jg.transforms.consensus(0.5), optax.sgd(0.1)), "direction stage"),
                            (jg.transforms.extragradient(optax.sgd(0.1)), "full step"), (jg.transforms.cgd(0.1), "full step")):
        with pytest.raises(ValueError, match=f"takes field corrections only .* is a {role}"):
            jg.eigenvalues(GAME, W, transform=transform)
    with pytest.raises(ValueError, match="cgd inside extragradient's inner optimiser"):
        tx = jg.transforms.extragradient(jg.transforms.cgd(0.1))
        jg.make_step(GAME, tx)(W, tx.init(W))
    with pytest.raises(ValueError, match="declare: `tx` is jaxgan's cgd"):
        jg.declare(jg.transforms.cgd(0.3), "direction")
    with pytest.raises(ValueError, match="contains jaxgan's cgd"):
        tx = optax.chain(jg.declare(optax.chain(jg.transforms.cgd(0.3)), "direction"), optax.scale(2.0))
        jg.make_step(GAME, tx)(W, tx.init(W))


def test_an_injected_correction_hyperparameter_works_before_a_full_step():
    injected = optax.inject_hyperparams(jg.transforms.consensus)(gamma=GAMMA)
    for step in (lambda: jg.transforms.extragradient(optax.sgd(LR)),):
        a = optax.chain(injected, step())
        b = optax.chain(jg.transforms.consensus(GAMMA), step())
        wa, _ = jg.make_step(GAME, a)(W, a.init(W))
        wb, _ = jg.make_step(GAME, b)(W, b.init(W))
        np.testing.assert_allclose([float(wa.phi), float(wa.theta)], [float(wb.phi), float(wb.theta)], rtol=1e-12)
        np.testing.assert_allclose(float(jg.spectral_radius(GAME, a, W)), float(jg.spectral_radius(GAME, b, W)),
                                   rtol=1e-12)


def test_the_rule_covers_every_pair_of_roles_and_every_place():
    assert set(RULE) == set(itertools.product(Role, Role))
    assert set(PLACE) == set(itertools.product(Place, Role))


PAIRS = [(a, b) for a in STAGE for b in STAGE]


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{_role(a).name}-{_role(b).name}-{i}" for i, (a, b) in enumerate(PAIRS)])
def test_every_pair_of_roles_raises_naming_the_rule_or_equals_the_reference(a, b):
    rule = RULE[(_role(a), _role(b))]
    allowed = rule.allowed
    if rule.unless == Property(Side.BEFORE, "moves_once"):  # a typed property, not a string
        allowed = a == "step (moves once)"
    assert allowed == ((a, b) in ALLOWED), (a, b)
    tx = _chain(a, b)
    if not allowed:
        with pytest.raises(ValueError, match=f"step algebra: a {_role(b).value} may not follow a {_role(a).value}"):
            jg.make_step(GAME, tx)(W, tx.init(W))
        return
    w_next, _ = jg.make_step(GAME, tx)(W, tx.init(W))
    expected = Z + ALLOWED[(a, b)](Z)
    np.testing.assert_allclose([float(w_next.phi), float(w_next.theta)], np.asarray(expected), rtol=1e-11, atol=1e-12)
    # jg.chain called by hand is the same step
    hand = jg.chain(_chain(a, b))
    u, _ = hand.update(jg.simultaneous_gradient(GAME)(W), hand.init(W), W, game=GAME)
    np.testing.assert_allclose([float(W.phi + u.phi), float(W.theta + u.theta)], np.asarray(expected), rtol=1e-11,
                               atol=1e-12)


def test_the_issue_s_chains_raise_naming_the_rule():
    game = jg.games.bilinear(1.0)
    w = game.equilibrium
    box = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
    cases = [
        (optax.chain(optax.sgd(0.1), jg.transforms.cgd(0.1)), "cgd must come first in the optax chain, after the corrections only"),
        (optax.chain(jg.transforms.cgd(0.2), optax.sgd(0.1)), "nothing that changes the update may follow it"),
        (optax.chain(jg.transforms.alternating(optax.sgd(0.1)), optax.scale(0.5)), "alternating is a full step"),
        (optax.chain(jg.transforms.best_response(optax.sgd(0.1)), optax.scale(0.5)), "best_response is a full step"),
        (optax.chain(jg.transforms.project_box(box), jg.transforms.extragradient(optax.sgd(0.1))), "before the full step extragradient"),
        (optax.chain(jg.transforms.project_box(box), optax.sgd(0.1)), "off the set"),
        (optax.chain(jg.transforms.consensus(1.0), jg.transforms.stonr(box)), "stonr does not use the incoming field"),
    ]
    for tx, fragment in cases:
        with pytest.raises(ValueError, match="step algebra") as err:
            jg.spectral_radius(game, tx, w)
        assert fragment in str(err.value), str(err.value)
    with pytest.raises(ValueError, match="cgd inside alternating's inner optimiser"):  # refused when built
        jg.transforms.alternating(jg.transforms.cgd(0.1))


def test_the_field_is_data_gradients_and_vmap_pass_through_the_resolved_step():
    def w_next(gamma):
        tx = optax.chain(jg.transforms.consensus(gamma), jg.transforms.extragradient(optax.sgd(LR)))
        return jg.make_step(GAME, tx)(W, tx.init(W))[0].phi

    def reference(gamma):
        def field(z):
            return xi(z) + gamma * jax.jacfwd(xi)(z).T @ xi(z)

        return (Z + -LR * field(Z - LR * field(Z)))[0]

    np.testing.assert_allclose(float(jax.grad(w_next)(0.3)), float(jax.grad(reference)(0.3)), rtol=1e-10)
    gammas = jnp.asarray([0.0, 0.3, 0.7])
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(w_next))(gammas)), np.asarray(jax.vmap(reference)(gammas)),
                               rtol=1e-11)


def _my_box():
    def update(u, state, params=None):
        return jax.tree.map(lambda p, v, lo, hi: jnp.clip(p + v, lo, hi) - p, params, u, BOX.lo, BOX.hi), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def test_a_user_declares_a_projection_and_a_correction():
    proj = jg.declare(_my_box(), "projection", name="my_box")
    tx = optax.chain(optax.sgd(LR), proj)
    w_next, _ = jg.make_step(GAME, tx)(W, tx.init(W))
    np.testing.assert_allclose([float(w_next.phi), float(w_next.theta)], np.asarray(Z + clip(Z, -LR * xi(Z))), rtol=1e-12)
    with pytest.raises(ValueError, match="my_box before the full step cgd"):
        bad = optax.chain(proj, jg.transforms.cgd(0.1))
        jg.make_step(GAME, bad)(W, bad.init(W))
    mine = jg.transforms.field_correction("mine", lambda game, v, w: jax.tree.map(lambda a, b: a + 0.5 * b, v, w))
    tx = optax.chain(mine, jg.transforms.extragradient(optax.sgd(LR)))
    w_next, _ = jg.make_step(GAME, tx)(W, tx.init(W))
    expected = Z + extragradient_update(lambda z: xi(z) + 0.5 * z, Z)
    np.testing.assert_allclose([float(w_next.phi), float(w_next.theta)], np.asarray(expected), rtol=1e-12)
    with pytest.raises(ValueError, match="unknown `role`"):
        jg.declare(optax.sgd(0.1), "step")
    with pytest.raises(TypeError, match="`correct` must be a callable"):
        jg.transforms.field_correction("x", 3)


def test_a_nested_full_step_sees_the_inner_corrections():
    # lookahead over (consensus, extragradient): the inner extragradient looks ahead with the consensus field
    inner = optax.chain(jg.transforms.consensus(GAMMA), jg.transforms.extragradient(optax.sgd(LR)))
    tx = jg.transforms.lookahead(inner, sync_period=3, alpha=0.5)
    w_next, _ = jg.make_step(GAME, tx)(W, tx.init(W))
    expected = Z + extragradient_update(consensus_field, Z)  # first fast step: no synchronisation yet
    np.testing.assert_allclose([float(w_next.phi), float(w_next.theta)], np.asarray(expected), rtol=1e-11)


def test_the_resolved_step_gives_the_same_answer_inside_lax_cond():
    tx = optax.chain(jg.transforms.consensus(GAMMA), jg.transforms.extragradient(optax.sgd(LR)))
    step = jg.make_step(GAME, tx)
    direct, _ = step(W, tx.init(W))

    def branch(w):
        return step(w, tx.init(w))[0]

    inside = jax.jit(lambda w, p: jax.lax.cond(p, branch, lambda w_: w_, w))(W, True)
    np.testing.assert_allclose([float(inside.phi), float(inside.theta)], [float(direct.phi), float(direct.theta)],
                               rtol=1e-13)
    np.testing.assert_allclose([float(direct.phi), float(direct.theta)],
                               np.asarray(Z + extragradient_update(consensus_field, Z)), rtol=1e-11)


def test_a_message_spells_each_stage_where_it_lives_and_gives_the_form_that_works():
    """jaxgan's stages are spelled in their namespace (``jg.regularizers.clip_discriminator``, not
    ``jg.transforms.``), a user's by its own name; a projection before a step that moves once goes
    after it, before one that moves several times into its inner optimiser."""
    clip = jg.regularizers.clip_discriminator(0.01)
    game, w = jg.games.bilinear(1.0), jg.Joint(1.0, 1.0)

    def message(tx):
        with pytest.raises(ValueError) as err:
            jg.rollout(game, tx, w, 2)
        return str(err.value)

    once = message(optax.chain(clip, jg.transforms.cgd(0.1)))
    assert "`optax.chain(jg.transforms.cgd(...), jg.regularizers.clip_discriminator(...))`" in once
    inner = message(optax.chain(clip, jg.transforms.extragradient(optax.sgd(0.1))))
    assert ("`jg.transforms.extragradient(optax.chain(optax.sgd(lr), "
            "jg.regularizers.clip_discriminator(...)))`") in inner
    assert "jg.transforms.clip_discriminator" not in once + inner
    mine = jg.transforms.field_correction("damp", lambda g, xi, w: xi)
    own = message(optax.chain(optax.sgd(0.1), mine))
    assert "`optax.chain(damp(...), optax.sgd(lr))`" in own and "jg.transforms.damp" not in own


# --------------------------------------------------------------------------- the chain's structure

from jaxgan._core import algebra as _algebra  # noqa: E402

NODE_KINDS = {
    "jaxgan stage": (jg.transforms.consensus(1.0), _algebra.Kind.STAGE),
    "jaxgan full step": (jg.transforms.extragradient(optax.sgd(0.1)), _algebra.Kind.STAGE),
    "optax.chain": (optax.chain(optax.scale(2.0), optax.sgd(0.1)), _algebra.Kind.CHAIN),
    "optax.sgd (a chain)": (optax.sgd(0.1, momentum=0.5), _algebra.Kind.CHAIN),
    "jg.chain": (jg.chain(jg.transforms.consensus(1.0), optax.sgd(0.1)), _algebra.Kind.CHAIN),
    "optax.scale": (optax.scale(2.0), _algebra.Kind.DIRECTION),
    "optax.clip": (optax.clip(1.0), _algebra.Kind.DIRECTION),
    "optax.identity": (optax.identity(), _algebra.Kind.IDENTITY),
    "optax.inject_hyperparams": (optax.inject_hyperparams(optax.sgd)(learning_rate=0.1), _algebra.Kind.OPAQUE),
    "optax.masked": (optax.masked(optax.sgd(0.1), lambda p: jax.tree.map(lambda _: True, p)), _algebra.Kind.OPAQUE),
    "a user's closure": (optax.GradientTransformationExtraArgs(lambda p: (), lambda u, s, p=None, **k: (u, s)),
                         _algebra.Kind.OPAQUE),
}


@pytest.mark.parametrize("name", sorted(NODE_KINDS))
def test_a_chain_s_structure_is_read_from_its_parts(name):
    tx, kind = NODE_KINDS[name]
    assert _algebra.node_of(tx.update).kind is kind


def test_jg_chain_checks_the_rule_when_built():
    """A chain of known stages is checked when it is built: the correction after the learning
    rate raises at ``jg.chain``, with the message the first step would give."""
    with pytest.raises(ValueError, match="must come first in the optax chain") as built:
        jg.chain(optax.sgd(0.1), jg.transforms.consensus(1.0))
    with pytest.raises(ValueError) as stepped:
        jg.make_step(jg.games.dirac("wgan"), optax.chain(optax.sgd(0.1), jg.transforms.consensus(1.0)))(
            jg.Joint(0.5, 0.5), optax.chain(optax.sgd(0.1), jg.transforms.consensus(1.0)).init(jg.Joint(0.5, 0.5)))
    assert str(built.value) == str(stepped.value)


def test_only_an_opaque_part_is_probed(monkeypatch):
    """Known chains (jaxgan's stages, optax.chain, optax's own stages, full steps with inner
    optimisers, per-player ones) resolve without calling any ``update`` in probe mode; an opaque
    part (``optax.inject_hyperparams`` of a correction) is probed, and only it."""
    probed = []
    real = _algebra._call_in_probe_mode

    def counting(update, *args):
        probed.append(update)
        return real(update, *args)

    monkeypatch.setattr(_algebra, "_call_in_probe_mode", counting)
    game, w = jg.games.dirac("standard"), jg.Joint(jnp.asarray(0.3), jnp.asarray(-0.2))
    known = [
        optax.chain(jg.transforms.consensus(1.0), optax.sgd(0.1, momentum=0.5)),
        jg.transforms.extragradient(optax.chain(optax.sgd(0.1), optax.clip(1.0))),
        jg.transforms.alternating(jg.Joint(optax.sgd(0.1), optax.adam(0.1))),
        jg.transforms.lookahead(optax.chain(jg.transforms.jare(1.0), optax.sgd(0.1)), sync_period=2),
    ]
    for tx in known:
        jg.rollout(game, tx, w, 2)
    assert probed == []
    injected = optax.inject_hyperparams(jg.transforms.consensus)(gamma=1.0)
    a = jg.rollout(game, optax.chain(injected, optax.sgd(0.1)), w, 3).final
    b = jg.rollout(game, optax.chain(jg.transforms.consensus(1.0), optax.sgd(0.1)), w, 3).final
    assert probed == [injected.update]  # the one opaque part, once per trace
    np.testing.assert_allclose(np.asarray(a.phi), np.asarray(b.phi), rtol=1e-12)
