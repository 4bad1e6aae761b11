"""The shared test matrix every jaxgan transform goes through (cf. optax contrib/_common_test).

Each entry builds a transform from a learning rate; the matrix checks: it accepts and
ignores unknown extra args; it needs `game=` and `params` with a clear error; it works
under jit, lax.scan, inject_hyperparams and vmap over a learning-rate grid (equal to a
Python loop, traced once); dtypes are kept in float32 and float64; and it does what
theory says on a game with a closed-form answer.
"""

import inspect
from typing import Callable, NamedTuple, Optional

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import declared_in_test_files

import jaxgan as jg


def _corrected(factory, value):
    return lambda lr: optax.chain(factory(value), optax.sgd(lr))


def _injected(factory, name, value):
    return lambda lr: optax.chain(optax.inject_hyperparams(factory)(**{name: value}), optax.sgd(lr))


BOX = jg.Box(jg.Joint(jnp.asarray(-1e3), jnp.asarray(-1e3)), jg.Joint(jnp.asarray(1e3), jnp.asarray(1e3)))


def _alt_radius(a):
    return 1.0 if a <= 2 else max(abs(np.roots([1, a**2 - 2, 1])))


class Case(NamedTuple):
    """One entry of the matrix. A test file declares its own as a dict of these fields in a
    module-level ``COMMON`` (``tests/conftest.py``)."""

    make: Callable  # lr -> the transform
    injected: Callable  # lr -> the same with a hyperparameter through optax.inject_hyperparams
    radius: Optional[Callable]  # lr -> closed-form radius at the Dirac-GAN (wgan) equilibrium
    game: str = "dirac"  # the game of GAMES it runs on
    needs_game: bool = True  # False: it never evaluates the field (a per-player step, a projection)
    needs_params: bool = True  # with needs_game False: whether it acts on the point


_TABLE = {
    "alternating": (
        lambda lr: jg.transforms.alternating(optax.sgd(lr)),
        lambda lr: jg.transforms.alternating(optax.inject_hyperparams(optax.sgd)(learning_rate=lr)),
        lambda lr: _alt_radius(lr),
    ),
    "alternating_k2_g_first": (
        lambda lr: jg.transforms.alternating(optax.sgd(lr), d_steps=2, order="g_first"),
        lambda lr: jg.transforms.alternating(optax.inject_hyperparams(optax.sgd)(learning_rate=lr), d_steps=2, order="g_first"),
        lambda lr: _alt_radius(np.sqrt(2) * lr),
    ),
    # consensus / JARE / SGA: eigenvalues -gamma +- i, so |1 + lr (-gamma +- i)|
    "consensus": (_corrected(jg.transforms.consensus, 0.5), _injected(jg.transforms.consensus, "gamma", 0.5),
                  lambda lr: np.hypot(1 - 0.5 * lr, lr)),
    "jare": (_corrected(jg.transforms.jare, 0.5), _injected(jg.transforms.jare, "gamma", 0.5), lambda lr: np.hypot(1 - 0.5 * lr, lr)),
    "sga": (_corrected(jg.transforms.sga, 0.5), _injected(jg.transforms.sga, "lam", 0.5), lambda lr: np.hypot(1 - 0.5 * lr, lr)),
    # extragradient: I + lr A + lr^2 A^2 with lambda = +- i
    "extragradient": (
        lambda lr: jg.transforms.extragradient(optax.sgd(lr)),
        lambda lr: jg.transforms.extragradient(optax.inject_hyperparams(optax.sgd)(learning_rate=lr)),
        lambda lr: np.sqrt(1 - lr**2 + lr**4),
    ),
    # damped Follow-the-Ridge on the Dirac-GAN (H_tt = 0): u = (psi, -theta + psi / delta),
    # Du = [[0, 1], [-1, 1/delta]], operator I - lr Du
    "follow_the_ridge": (
        _corrected(lambda d: jg.transforms.follow_the_ridge(damping=d), 1.0),
        lambda lr: optax.chain(optax.inject_hyperparams(jg.transforms.follow_the_ridge)(ratio=1.0, damping=1.0), optax.sgd(lr)),
        lambda lr: max(abs(1 - lr * np.roots([1, -1.0, 1]))),
    ),
    # best-response descent on the Dirac-GAN with R1 (gamma = 1): ridge psi = theta, the
    # generator's loss psi * theta = theta^2 along it (R1 acts on loss_d only), so the total
    # step's rate is 1 - 2 lr and the Riemannian one 1 - 2 lr / (1 + 1) = 1 - lr
    "best_response_total": (
        lambda lr: jg.transforms.best_response(optax.sgd(lr), step="total"),
        lambda lr: jg.transforms.best_response(optax.inject_hyperparams(optax.sgd)(learning_rate=lr), step="total"),
        lambda lr: abs(1 - 2 * lr),
        "r1",
    ),
    # Hamiltonian descent: J^T xi = w at the Dirac-GAN (wgan) equilibrium, so I - lr I
    "hamiltonian": (
        lambda lr: optax.chain(jg.transforms.hamiltonian(), optax.sgd(lr)),
        lambda lr: optax.chain(jg.transforms.hamiltonian(), optax.inject_hyperparams(optax.sgd)(learning_rate=lr)),
        lambda lr: abs(1 - lr),
    ),
    # competitive gradient descent: (1 +- i lr) / (1 + lr^2), modulus (1 + lr^2)^(-1/2)
    "cgd": (
        lambda lr: jg.transforms.cgd(lr),
        lambda lr: optax.inject_hyperparams(jg.transforms.cgd)(learning_rate=lr),
        lambda lr: (1 + lr**2) ** -0.5,
    ),
    # opponent shaping on the Dirac-GAN (wgan): d xi_LA / dw = [[a, 1], [-1, a]], LOLA doubles a;
    # SOS is LA at an equilibrium (its shaping weight |xi|^2 vanishes to second order)
    "opponent_lookahead": (_corrected(jg.transforms.opponent_lookahead, 0.5), _injected(jg.transforms.opponent_lookahead, "alpha", 0.5),
                   lambda lr: np.hypot(1 - 0.5 * lr, lr)),
    "lola": (_corrected(jg.transforms.lola, 0.5), _injected(jg.transforms.lola, "alpha", 0.5), lambda lr: np.hypot(1 - lr, lr)),
    "sos": (
        _corrected(jg.transforms.sos, 0.5),
        lambda lr: optax.chain(optax.inject_hyperparams(jg.transforms.sos, static_args=("a", "b"))(alpha=0.5), optax.sgd(lr)),
        lambda lr: np.hypot(1 - 0.5 * lr, lr),
    ),
    # ACGD: no closed-form radius at an equilibrium (its step size eta / (sqrt(v) + eps) is
    # not differentiable at v = 0, the fresh state); its steps are checked by a dense solve
    # in test_competitive.py
    "acgd": (
        lambda lr: jg.transforms.acgd(lr),
        lambda lr: optax.inject_hyperparams(jg.transforms.acgd, static_args=("tol", "maxiter", "warm_start", "strict"))(learning_rate=lr),
        None,
    ),
    # GDA-AM with no history is GDA: |1 +- i lr|; with a window the mixing is not
    # differentiable at the fixed point (test_gda_am.py checks it against a NumPy loop)
    "gda_am_window0": (
        lambda lr: jg.transforms.gda_am(optax.sgd(lr), window=0),
        lambda lr: jg.transforms.gda_am(optax.inject_hyperparams(optax.sgd)(learning_rate=lr), window=0),
        lambda lr: np.hypot(1.0, lr),
    ),
    "gda_am_alternating": (
        lambda lr: jg.transforms.gda_am(jg.transforms.alternating(optax.sgd(lr)), window=3),
        lambda lr: jg.transforms.gda_am(jg.transforms.alternating(optax.inject_hyperparams(optax.sgd)(learning_rate=lr)), window=3),
        None,
    ),
    "best_response_riemannian": (
        lambda lr: jg.transforms.best_response(optax.sgd(lr)),
        lambda lr: jg.transforms.best_response(optax.inject_hyperparams(optax.sgd)(learning_rate=lr)),
        lambda lr: abs(1 - lr),
        "r1",
    ),
    # per-player optimisers, both SGD at lr: SimGD, |1 +- i lr|
    "per_player": (
        lambda lr: jg.transforms.per_player(optax.sgd(lr), optax.sgd(lr)),
        lambda lr: jg.transforms.per_player(optax.inject_hyperparams(optax.sgd)(learning_rate=lr), optax.sgd(lr)),
        lambda lr: np.hypot(1.0, lr),
    ),
    # two time scales, lr_d = 2 lr_g: I - diag(lr, 2 lr) M has eigenvalues 1 +- i sqrt(2) lr
    "ttur": (
        lambda lr: jg.transforms.ttur(lr, 2 * lr),
        lambda lr: optax.inject_hyperparams(jg.transforms.ttur)(lr_g=lr, lr_d=2 * lr),
        lambda lr: np.sqrt(1 + 2 * lr**2),
    ),
    # Lookahead-minmax (k = 3, alpha = 1/2): the period map (1 - alpha) I + alpha B^3 with B's
    # eigenvalues 1 -+ i lr; the radius is rho(period)^(1/3)
    "lookahead": (
        lambda lr: jg.transforms.lookahead(optax.sgd(lr), sync_period=3, alpha=0.5),
        lambda lr: jg.transforms.lookahead(optax.inject_hyperparams(optax.sgd)(learning_rate=lr), sync_period=3, alpha=0.5),
        lambda lr: abs(0.5 + 0.5 * (1 - 1j * lr) ** 3) ** (1 / 3),
    ),
    # the proximal point step (I + lr M)^-1 on the bilinear Dirac-GAN: 1 / |1 +- i lr|
    "proximal_point": (
        lambda lr: jg.transforms.proximal_point(lr),
        lambda lr: optax.inject_hyperparams(jg.transforms.proximal_point, static_args=("maxiter", "linear_solver", "strict"))(
            learning_rate=lr),
        lambda lr: 1 / np.hypot(1.0, lr),
    ),
    # GLGD with R1 (gamma = 1): theta is retracted to its best response psi = theta* (phi) and the
    # generator descends the partial gradient theta* = phi: the rate |1 - lr|
    "glgd": (
        lambda lr: jg.transforms.glgd(optax.sgd(lr), "newton"),
        lambda lr: jg.transforms.glgd(optax.inject_hyperparams(optax.sgd)(learning_rate=lr), "newton"),
        lambda lr: abs(1 - lr),
        "r1",
    ),
    # SimGD projected on a box the run never leaves: the projection is the identity, |1 +- i lr|
    "project_box": (
        lambda lr: jg.chain(optax.sgd(lr), jg.transforms.project_box(BOX)),
        lambda lr: jg.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=lr), jg.transforms.project_box(BOX)),
        lambda lr: np.hypot(1.0, lr),
    ),
}
#: transforms that never evaluate the field (a per-player step of given updates, a scaling, a
#: projection): they need neither `game=` nor, unless they act on the point, `params`
NO_GAME = {"per_player": False, "ttur": False, "project_box": True}  # name -> needs params
TRANSFORMS = {
    **{name: Case(*entry, **({"needs_game": False, "needs_params": NO_GAME[name]} if name in NO_GAME else {}))
       for name, entry in _TABLE.items()},
    # and the entries test files declare for their own algorithms
    **{name: Case(**entry) for name, entry in declared_in_test_files("COMMON").items()},
}

GAMES = {
    "dirac": jg.games.dirac("wgan"),
    "r1": jg.regularizers.r1(jg.games.dirac("wgan"), 1.0),
}
W0 = jg.Joint(jnp.array(0.3), jnp.array(-0.2))


def _game(name):
    return GAMES[TRANSFORMS[name].game]


def _one_update(tx, w, game=GAMES["dirac"], **extra):
    xi = jg.simultaneous_gradient(game)(w)
    return tx.update(xi, tx.init(w), w, game=game, **extra)


@pytest.fixture(params=sorted(TRANSFORMS))
def name(request):
    return request.param


def test_missing_game_or_params_is_a_clear_error(name):
    tx, game = TRANSFORMS[name].make(0.1), _game(name)
    xi = jg.simultaneous_gradient(game)(W0)
    case = TRANSFORMS[name]
    if not case.needs_game:  # the game is not needed: the same update without it
        chex.assert_trees_all_close(tx.update(xi, tx.init(W0), W0)[0], tx.update(xi, tx.init(W0), W0, game=game)[0])
        if not case.needs_params:
            return
    else:
        with pytest.raises(TypeError, match="needs the game"):
            tx.update(xi, tx.init(W0), W0)
    with pytest.raises(ValueError, match="params"):
        tx.update(xi, tx.init(W0), None, game=game)


def test_jit_equals_eager_and_chain_and_unknown_extra_args_are_ignored(name):
    tx, game = TRANSFORMS[name].make(0.1), _game(name)
    eager, _ = _one_update(tx, W0, game)
    chex.assert_trees_all_equal_dtypes(eager, W0)  # float64 kept (float32: test_keeps_float32)
    extras = {"some_other_arg": 3, "key": jax.random.PRNGKey(0)}
    chex.assert_trees_all_close(_one_update(tx, W0, game, **extras)[0], eager)  # unknown extra args ignored
    jitted, _ = jax.jit(lambda w: _one_update(tx, w, game, **extras))(W0)
    chex.assert_trees_all_close(eager, jitted, rtol=1e-14)
    chained = optax.chain(tx, optax.identity())
    u, _ = chained.update(jg.simultaneous_gradient(game)(W0), chained.init(W0), W0, game=game)
    chex.assert_trees_all_close(u, eager, rtol=1e-14)


def test_scan_rollout_and_inject_hyperparams(name):
    tx, game = TRANSFORMS[name].make(0.1), _game(name)
    out = jg.rollout(game, tx, W0, 30)
    w, s = W0, tx.init(W0)
    step = jax.jit(jg.make_step(game, tx))
    for _ in range(30):
        w, s = step(w, s)
    chex.assert_trees_all_close(out.final, w, rtol=1e-12)
    out2 = jg.rollout(game, TRANSFORMS[name].injected(0.1), W0, 30)
    chex.assert_trees_all_close(out2.final, out.final, rtol=1e-12)


def test_vmap_over_learning_rates_equals_loop_and_traces_once(name):
    lrs = jnp.array([0.05, 0.1, 0.5, 1.0])
    game = _game(name)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(lr):
        return jg.rollout(game, TRANSFORMS[name].make(lr), W0, 25).final

    batched = jax.vmap(run)(lrs)
    make_tx = lambda h: TRANSFORMS[name].make(h["lr"])  # noqa: E731 - one program for the loop's runs
    for i, lr in enumerate(lrs):
        single = jg.rollout(game, make_tx, W0, 25, hyperparams={"lr": lr}).final
        # atol: runs that converge reach 1e-37 (GDA-AM), where rounding differs in relative terms
        chex.assert_trees_all_close(jax.tree.map(lambda x: x[i], batched), single, rtol=1e-12, atol=1e-30)
    chex.clear_trace_counter()


def test_keeps_float32(name):
    w = jax.tree.map(lambda x: x.astype(jnp.float32), W0)
    tx, game = TRANSFORMS[name].make(0.1), _game(name)
    u, state = _one_update(tx, w, game)
    chex.assert_trees_all_equal_dtypes(u, w)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(u))
    out = jg.rollout(game, tx, w, 5)
    chex.assert_trees_all_equal_dtypes(out.final, w)


def test_theory_on_the_dirac_gan(name):
    """The closed-form spectral radius at three learning rates, in one program (vmap)."""
    if TRANSFORMS[name].radius is None:
        pytest.skip(f"{name} has no linearisation at the equilibrium (see the entry's comment)")
    game, lrs = _game(name), jnp.asarray([0.3, 1.5, 2.5])
    rho = jax.vmap(lambda lr: jg.spectral_radius(game, TRANSFORMS[name].make(lr), game.equilibrium))(lrs)
    np.testing.assert_allclose(rho, [TRANSFORMS[name].radius(float(lr)) for lr in lrs], rtol=1e-7)


# ------------------------------------------------------------------ the factories' signatures


def _args_entry(doc: str, param: str) -> str:
    """The text of ``param``'s entry in a Google-style ``Args:`` section ('' if none)."""
    lines = (doc or "").splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        names = stripped.split(":", 1)[0]
        if ":" in stripped and param in [n.strip() for n in names.split(",")]:
            indent = len(line) - len(line.lstrip())
            out = [stripped]
            for nxt in lines[i + 1:]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                out.append(nxt.strip())
            return " ".join(out)
    return ""


def _factories():
    for mod in (jg.transforms, jg.regularizers):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                yield f"{mod.__name__}.{name}", obj


def test_numeric_hyperparameters_are_arraylike_or_said_static():
    """The transformations' rule (``jaxgan/_validation/checks.py``): every parameter of a public transform or
    regulariser factory is annotated; a numeric hyperparameter is ``jax.typing.ArrayLike``
    (traceable: vmap over it), and one typed ``float`` is a static option its ``Args`` entry
    says is "(static)"."""
    bad = []
    for qualname, fn in _factories():
        for p in inspect.signature(fn).parameters.values():
            if p.kind is p.VAR_KEYWORD:
                continue
            ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", str(p.annotation))
            if p.annotation is p.empty:
                bad.append(f"{qualname}({p.name}): no annotation")
            elif "float" in ann and "(static)" not in _args_entry(fn.__doc__, p.name):
                bad.append(f"{qualname}({p.name}: {ann}): a float that is not documented (static); use jax.typing.ArrayLike")
            elif isinstance(p.default, float) and "ArrayLike" not in ann and "float" not in ann:
                bad.append(f"{qualname}({p.name}: {ann} = {p.default}): a numeric default without ArrayLike")
    assert not bad, "\n".join(bad)


def test_every_state_is_a_typed_named_tuple():
    """Each transform's state type is a NamedTuple whose fields all have a type more precise
    than ``object``/``Any``."""
    states = [getattr(jg.transforms, n) for n in jg.transforms.__all__ if n.endswith("State")]
    assert len(states) >= 8
    for state in states:
        assert issubclass(state, tuple) and hasattr(state, "_fields"), state
        hints = state.__annotations__
        assert set(hints) == set(state._fields), state
        loose = [f for f, t in hints.items() if str(t) in ("object", "Any", "typing.Any")]
        assert not loose, f"{state.__name__}: fields typed object/Any: {loose}"


# ------------------------------------------------------------------ the matrix covers every transform

#: public factories of jg.transforms that are not transformations, with what they are instead
NOT_TRANSFORMS = {
    "run_stonr": "a runner: STON'R's whole path on a box (tests/test_stonr.py)",
    "stonr_certificate": "a certificate of a point on a box, not a step (tests/test_stonr.py)",
    "field_correction": "the constructor of a user's correction (tests/test_algebra.py)",
}
#: transformations outside the matrix, each with the reason and where it is tested instead
OUTSIDE_THE_MATRIX = {
    "stonr": "defined on a box-constrained game (its corners and events): the matrix's Dirac-GAN has no box; "
             "tests/test_stonr.py runs the same checks (jit, scan, float32, the closed-form paths)",
}


def _matrix_names(factory: str):
    """The matrix entries that build ``factory`` (an entry is named after its transform)."""
    return [n for n in TRANSFORMS if n == factory or n.startswith(factory + "_")]


def test_the_matrix_covers_every_transform():
    """Each public transformation factory has a matrix entry named after it (or a declared reason)."""
    factories = [n for n in jg.transforms.__all__ if inspect.isfunction(getattr(jg.transforms, n))]
    missing = [n for n in factories if not _matrix_names(n) and n not in NOT_TRANSFORMS and n not in OUTSIDE_THE_MATRIX]
    assert not missing, f"transforms missing from the common matrix TRANSFORMS: {missing}"
    stale = [n for n in (*NOT_TRANSFORMS, *OUTSIDE_THE_MATRIX) if n not in factories]
    assert not stale, f"declared names that are no longer public transforms: {stale}"
