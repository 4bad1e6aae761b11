"""jaxgan.metrics: W1 by exact matching, Frechet distance and classifier score closed forms, the digits classifier."""

import itertools

import jax
import numpy as np
import pytest

import jaxgan as jg


def test_wasserstein1_is_the_exact_optimal_matching():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1.0
    brute = min(np.mean(np.linalg.norm(x - y[list(p)], axis=1)) for p in itertools.permutations(range(6)))
    assert abs(jg.metrics.wasserstein1(x, y) - brute) < 1e-12
    # in 1-D the optimal plan matches sorted samples
    a, b = rng.normal(size=50), rng.exponential(size=50)
    exact = np.mean(np.abs(np.sort(a) - np.sort(b)))
    assert abs(jg.metrics.wasserstein1(a[:, None], b[:, None]) - exact) < 1e-12
    with pytest.raises(ValueError, match="same shape"):
        jg.metrics.wasserstein1(x, y[:5])
    with pytest.raises(ValueError, match="`y` has non-finite"):
        jg.metrics.wasserstein1(x, np.full_like(y, np.nan))


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    # a shift moves only the mean term; a scaling c of the samples: tr(S)(1 - c)^2
    assert abs(jg.metrics.frechet_distance(x, x + 0.5) - 4 * 0.25) < 1e-9
    s = np.cov(x, rowvar=False)
    assert abs(jg.metrics.frechet_distance(x, 3.0 * x) - (np.sum(x.mean(0) ** 2) * 4 + np.trace(s) * 4)) < 1e-9
    # against scipy's matrix square root on unrelated sets
    from scipy.linalg import sqrtm

    y = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    sy = np.cov(y, rowvar=False)
    ref = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.trace(s + sy - 2 * np.real(sqrtm(s @ sy)))
    assert abs(jg.metrics.frechet_distance(x, y) - ref) < 1e-8 * ref


def test_classifier_score_bounds():
    assert abs(jg.metrics.classifier_score(np.full((20, 10), 0.1)) - 1.0) < 1e-12
    assert abs(jg.metrics.classifier_score(np.eye(10)[np.arange(40) % 10]) - 10.0) < 1e-12
    assert abs(jg.metrics.classifier_score(np.eye(10)[np.zeros(40, int)]) - 1.0) < 1e-12  # collapsed
    with pytest.raises(ValueError, match="probability vectors"):
        jg.metrics.classifier_score(np.ones((3, 10)))


def test_digits_classifier_is_accurate_and_deterministic():
    clf = jg.metrics.digits_classifier()
    assert clf.test_accuracy > 0.95
    x, y = jg.datasets.digits()
    assert jg.metrics.classifier_score(clf.probabilities(x)) > 8.0  # real digits: confident and diverse
    again = jg.metrics._trained_classifier.__wrapped__(400, 0)  # trained again, not the cached one
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(clf.params), jax.tree.leaves(again.params)))
    # real digits are closer to real digits than to noise in the classifier's feature space
    noise = np.random.default_rng(0).uniform(-1, 1, size=(500, 64))
    fd_real = jg.metrics.frechet_distance(clf.features(x[:500]), clf.features(x[500:1000]))
    assert fd_real < 0.25 * jg.metrics.frechet_distance(clf.features(x[:500]), clf.features(noise))
