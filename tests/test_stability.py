"""_stability: stability maps (spectral radius over a grid next to the sweep of the same grid)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan as jg

LRS = jnp.logspace(-1.5, 1.0, 12)
GAMMAS = jnp.array([0.1, 0.5, 1.0, 2.0])


def _check_map(m, min_compared):
    agreeing, compared = m.agreement()
    assert compared >= min_compared
    assert agreeing == compared, (agreeing, compared)


@pytest.mark.parametrize("algorithm", ["simgd", "alternating"])
def test_stability_map_dirac_r1_over_lr_and_gamma(algorithm):
    grid, shape = jg.grid_product(lr=LRS, gamma=GAMMAS)
    make = {"simgd": lambda h: optax.sgd(h["lr"]), "alternating": lambda h: jg.transforms.alternating(optax.sgd(h["lr"]))}[algorithm]
    m = jg.stability_map(lambda h: jg.regularizers.r1(jg.games.dirac("standard"), h["gamma"]), make, grid,
                         shape=shape, steps=3000)
    _check_map(m, 30)
    if algorithm == "simgd":  # closed form: |1 + lr lambda| < 1 with lambda = -g/2 +- sqrt(g^2/4 - 1/4)
        g, lr = np.asarray(grid["gamma"]), np.asarray(grid["lr"])
        lam = np.stack([-g / 2 + np.sqrt(g**2 / 4 - 0.25 + 0j), -g / 2 - np.sqrt(g**2 / 4 - 0.25 + 0j)])
        # at gamma = 1 the eigenvalue -1/2 is double (a Jordan block): an eigensolver finds it to
        # about sqrt(eps) ~ 1e-8, which cuSOLVER on a GPU reaches (6e-9) where LAPACK does not
        np.testing.assert_allclose(m.radius, np.max(np.abs(1 + lr[None] * lam), axis=0), rtol=3e-8)


@pytest.mark.parametrize("name", ["consensus", "jare"])
def test_stability_map_corrections(name):
    factory = {"consensus": jg.transforms.consensus, "jare": jg.transforms.jare}[name]
    grid, shape = jg.grid_product(lr=LRS, gamma=GAMMAS)
    make = lambda h: optax.chain(factory(h["gamma"]), optax.sgd(h["lr"]))  # noqa: E731
    dirac = jg.stability_map(jg.games.dirac("standard"), make, grid, shape=shape, steps=3000)
    _check_map(dirac, 30)
    lg = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    # a local statement: start close to the equilibrium (large steps have small basins)
    near = jax.tree.map(lambda x: x + 1e-3, lg.equilibrium)
    m = jg.stability_map(lg, make, grid, shape=shape, steps=3000, w0=near)
    _check_map(m, 30)
    # the map's boundary in lr is the corrected spectrum's step bound (Nie & Patel Corollary 1)
    for g in np.asarray(GAMMAS):
        bound = float(jg.stable_step_bound(jg.eigenvalues(lg, lg.equilibrium, transform=factory(g))))
        sel = np.isclose(np.asarray(grid["gamma"]), g)
        lrs, pred = np.asarray(grid["lr"])[sel], np.asarray(m.predicted)[sel]
        away = np.abs(lrs / bound - 1) > 0.01
        np.testing.assert_array_equal(pred[away], (lrs < bound)[away])


def test_stability_map_linear_gaussian_simgd_and_alternating():
    lg = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    grid = {"lr": LRS}
    for make in (lambda h: optax.sgd(h["lr"]), lambda h: jg.transforms.alternating(optax.sgd(h["lr"]))):
        m = jg.stability_map(lg, make, grid, steps=3000)
        _check_map(m, 8)
    # SimGD's boundary is the field's stable step (Nie & Patel's eta < min 2|Re l| / |l|^2)
    bound = float(jg.spectrum(lg, lg.equilibrium).stable_step)
    m = jg.stability_map(lg, lambda h: optax.sgd(h["lr"]), grid)
    away = np.abs(np.asarray(LRS) / bound - 1) > 0.01
    np.testing.assert_array_equal(np.asarray(m.predicted)[away], (np.asarray(LRS) < bound)[away])
    assert m.status is None and m.agreement() == (0, 0)


def test_stability_map_bad_input():
    game = jg.games.dirac("wgan")
    with pytest.raises(ValueError, match="same non-zero length"):
        jg.stability_map(game, lambda h: optax.sgd(h["lr"]), {"lr": jnp.ones(3), "g": jnp.ones(2)})
    with pytest.raises(ValueError, match="empty"):
        jg.stability_map(game, lambda h: optax.sgd(0.1), {})
    with pytest.raises(ValueError, match="shape"):
        jg.stability_map(game, lambda h: optax.sgd(h["lr"]), {"lr": jnp.ones(3)}, shape=(2, 2))
    with pytest.raises(ValueError, match="equilibrium"):
        jg.stability_map(jg.zero_sum(lambda x, y: x * y), lambda h: optax.sgd(h["lr"]), {"lr": jnp.ones(2)})
