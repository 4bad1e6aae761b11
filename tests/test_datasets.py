"""jaxgan.datasets: the 2-D mixtures, the continuous supports and the shipped digits."""

import jax
import numpy as np
import pytest

import jaxgan as jg


def test_ring_and_grid_are_balanced_mixtures_near_their_modes():
    ds = jg.datasets.ring()
    x = np.asarray(ds.sample(jax.random.PRNGKey(0), 800))
    rep = jg.metrics.mode_coverage(x, ds)
    # within 3 std of a 2-D Gaussian's centre: 1 - exp(-9/2) = 0.9889 of its mass
    assert rep.covered == 8 and abs(rep.high_quality - (1 - np.exp(-4.5))) < 0.01
    near = np.argmin(np.linalg.norm(x[:, None] - ds.modes[None], axis=-1), axis=1)
    assert np.all(np.bincount(near, minlength=8) == 100)  # K divides n: exactly balanced
    np.testing.assert_allclose(np.linalg.norm(ds.modes, axis=1), 2.0, rtol=1e-15)
    g = jg.datasets.grid()
    assert g.modes.shape == (25, 2) and set(np.round(g.modes[:, 0], 12)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert jg.metrics.mode_coverage(g.sample(jax.random.PRNGKey(1), 2500), g).covered == 25


@pytest.mark.parametrize("name", ["line", "circle", "four_lines"])
def test_continuous_supports_hold_their_samples(name):
    ds = jg.datasets.by_name(name)
    x = np.asarray(ds.sample(jax.random.PRNGKey(0), 400))
    assert np.max(ds.support_distance(x)) < 1e-6
    assert jg.metrics.high_quality_fraction(x, ds) == 1.0
    assert jg.metrics.high_quality_fraction(x + np.array([0.0, 3.0]), ds) == 0.0


def test_dataset_errors_name_the_argument():
    with pytest.raises(ValueError, match="unknown `name` 'spiral'"):
        jg.datasets.by_name("spiral")
    with pytest.raises(ValueError, match="`n` must be a positive int"):
        jg.datasets.ring().sample(jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="full support"):
        jg.metrics.mode_coverage(np.zeros((3, 2)), jg.datasets.gaussian())


def test_digits_are_shipped_and_scaled():
    x, y = jg.datasets.digits()
    assert x.shape == (1797, 64) and x.min() == -1.0 and x.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))
