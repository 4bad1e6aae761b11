"""Sample-quality metrics for generated distributions (host-side NumPy/SciPy).

* ``wasserstein1(x, y)``: the exact Wasserstein-1 distance between two empirical
  measures of equal size, ``W1 = min_sigma (1/n) sum_i |x_i - y_sigma(i)|`` over
  permutations (for uniform weights and equal sizes an optimal plan is a permutation,
  Birkhoff-von Neumann), solved by the Hungarian algorithm
  (``scipy.optimize.linear_sum_assignment``). Mescheder et al. (2018, Fig. 5) report
  this distance to the true distribution.
* ``mode_coverage`` and ``high_quality_fraction`` for mixtures (Srivastava et al. 2017,
  Metz et al. 2017): a sample is of high quality within ``3`` standard deviations of a
  mode (or within the tolerance of a continuous support); a mode is covered when it
  holds at least ``min_fraction`` of its fair share of the samples.
* ``frechet_distance``: ``|m1 - m2|^2 + tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2))``
  between Gaussian fits of two feature sets (Heusel et al. 2017), the square root taken
  of a symmetric PSD matrix by ``eigh``.
* ``classifier_score``: ``exp(E_x KL(p(y|x) || p(y)))`` (Salimans et al. 2016), between 1
  and the number of classes.

The digits' feature space is ``jaxgan.metrics.digits_classifier()``: a small MLP trained
on the scikit-learn digits, deterministically (fixed key, full batch), in a second.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional

import numpy as np

from ._validation.domains import Integer, Real, domains

NO_SAMPLES = "the result of no samples is undefined"


def _as_points(x, arg: str, where: str, at_least: int = 1) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(
            f"{where}: `{arg}` must be an (n, d) array of samples, got shape {a.shape}."
        )
    if a.shape[0] < at_least:
        raise ValueError(
            f"{where}: `{arg}` {'is empty' if a.shape[0] == 0 else 'has 1 sample'}: "
            f"at least {at_least} sample(s) are needed "
            f"({'a covariance needs two' if at_least == 2 else NO_SAMPLES})."
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(
            f"{where}: `{arg}` has non-finite values ({int(np.sum(~np.isfinite(a)))} entries)."
        )
    return a


def wasserstein1(x, y) -> float:
    """Exact Wasserstein-1 distance between two equal-size empirical measures.

    .. math:: W_1 = \\min_{\\sigma \\in S_n} \\frac{1}{n} \\sum_i |x_i - y_{\\sigma(i)}|

    Args:
      x, y: ``(n, d)`` samples with uniform weights.

    Returns:
      ``min over permutations sigma of (1/n) sum_i |x_i - y_sigma(i)|_2``.

    Examples:
      >>> import numpy as np, jaxgan as jg
      >>> x = np.array([[0.0, 0.0], [1.0, 0.0]])
      >>> jg.metrics.wasserstein1(x, x + [0.0, 3.0])
      3.0
    """
    from scipy.optimize import linear_sum_assignment

    x, y = _as_points(x, "x", "wasserstein1"), _as_points(y, "y", "wasserstein1")
    if x.shape != y.shape:
        raise ValueError(
            "wasserstein1: `x` and `y` must have the same shape (equal sizes: exact transport), "
            f"got {x.shape} and {y.shape}."
        )
    cost = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


class ModeReport(NamedTuple):
    """Mode coverage of a sample set against a 2-D data set.

    Attributes:
      covered: number of modes holding at least ``min_fraction`` of their fair share
        of the high-quality samples (``None`` for a continuous support).
      num_modes: number of modes (``None`` for a continuous support).
      high_quality: fraction of samples within ``threshold`` std of a mode (or within
        the data set's tolerance of its support).
      counts: high-quality samples per mode (``None`` for a continuous support).

    Examples:
      >>> import jaxgan as jg
      >>> report = jg.metrics.mode_coverage(jg.datasets.ring().modes, jg.datasets.ring())
      >>> report.covered, report.num_modes, report.high_quality
      (8, 8, 1.0)
    """

    covered: Optional[int]
    num_modes: Optional[int]
    high_quality: float
    counts: Optional[np.ndarray]


@domains(threshold=Real(0, low_open=True))
def high_quality_fraction(samples, dataset, threshold: float = 3.0) -> float:
    """Fraction of samples near a mode of ``dataset`` or near its continuous support.

    A sample counts when it is within ``threshold`` standard deviations of a mode of
    ``dataset`` (a ``jaxgan.datasets.Dataset2D``), or within its tolerance of a continuous
    support (line, circle, lines).

    Examples:
      >>> import jax, jaxgan as jg
      >>> ds = jg.datasets.ring()
      >>> # 1 - e^(-9/2)
      >>> jg.metrics.high_quality_fraction(ds.sample(jax.random.PRNGKey(0), 400), ds) > 0.98
      True
    """
    _as_points(samples, "samples", "high_quality_fraction")
    return mode_coverage(samples, dataset, threshold=threshold).high_quality


@domains(threshold=Real(0, low_open=True), min_fraction=Real(0, 1))
def mode_coverage(
    samples, dataset, *, threshold: float = 3.0, min_fraction: float = 0.1
) -> ModeReport:
    """Modes covered and high-quality fraction (see the module docstring).

    A sample is assigned to its nearest mode when within ``threshold * dataset.std``;
    a mode is covered when it holds at least ``min_fraction * n / K`` samples.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxgan as jg
      >>> ds = jg.datasets.ring()
      >>> one_mode = jnp.tile(ds.modes[:1], (64, 1))  # a collapsed generator
      >>> rep = jg.metrics.mode_coverage(one_mode, ds)
      >>> rep.covered, rep.num_modes, rep.high_quality
      (1, 8, 1.0)
    """
    x = _as_points(samples, "samples", "mode_coverage")
    if x.shape[1] != 2:
        raise ValueError(
            f"mode_coverage: `samples` must be 2-D points, shape (n, 2); got {x.shape}."
        )
    if x.shape[0] == 0:
        raise ValueError(
            "mode_coverage: `samples` is empty (0 points): coverage of no samples is undefined."
        )
    if dataset.support_distance is None:
        raise ValueError(
            f"mode_coverage: data set {dataset.name!r} has full support "
            "(no modes, no support to be near)."
        )
    if dataset.modes is None:
        near = dataset.support_distance(x) <= dataset.std
        return ModeReport(None, None, float(np.mean(near)), None)
    modes = np.asarray(dataset.modes)
    dist = np.linalg.norm(x[:, None, :] - modes[None], axis=-1)
    nearest = np.argmin(dist, axis=1)
    good = dist[np.arange(len(x)), nearest] <= threshold * dataset.std
    counts = np.bincount(nearest[good], minlength=len(modes))
    covered = int(np.sum(counts >= min_fraction * len(x) / len(modes)))
    return ModeReport(covered, len(modes), float(np.mean(good)), counts)


def _sqrt_psd(s):
    vals, vecs = np.linalg.eigh((s + s.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(features_a, features_b) -> float:
    """Frechet distance between Gaussian fits of two feature sets (Heusel et al. 2017).

    .. math::

        |\\mu_1 - \\mu_2|^2 + \\operatorname{tr}\\big(\\Sigma_1 + \\Sigma_2 - 2 (\\Sigma_1
        \\Sigma_2)^{1/2}\\big)

    ``|m_a - m_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^(1/2) S_b S_a^(1/2))^(1/2))``.

    Examples:
      >>> import numpy as np, jaxgan as jg
      >>> x = np.random.default_rng(0).normal(size=(500, 3))
      >>> round(jg.metrics.frechet_distance(x, x + 2.0), 6)  # a shift by (2, 2, 2)
      12.0
    """
    a = _as_points(features_a, "features_a", "frechet_distance", at_least=2)
    b = _as_points(features_b, "features_b", "frechet_distance", at_least=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"frechet_distance: feature dimensions differ: {a.shape[1]} and {b.shape[1]}."
        )
    ma, mb = a.mean(0), b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = _sqrt_psd(sa)
    cross = _sqrt_psd(ra @ sb @ ra)
    return float(np.sum((ma - mb) ** 2) + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(cross))


def classifier_score(probabilities) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))`` from class probabilities ``(n, C)``.

    Examples:
      >>> import numpy as np, jaxgan as jg
      >>> round(jg.metrics.classifier_score(np.eye(10)), 6)  # confident and diverse: C
      10.0
    """
    p = _as_points(probabilities, "probabilities", "classifier_score")
    if np.any(p < 0) or not np.allclose(p.sum(1), 1.0, atol=1e-4):
        raise ValueError(
            "classifier_score: `probabilities` rows must be probability vectors (non-negative, "
            "summing to 1)."
        )
    marginal = p.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


class DigitsClassifier(NamedTuple):
    """A small classifier of the 8x8 digits (64 -> 128 tanh -> 10), its feature map and accuracy.

    Attributes:
      params: ``((W1, b1), (W2, b2))`` as NumPy arrays.
      test_accuracy: accuracy on the held-out quarter of the digits.

    Examples:
      >>> import jaxgan as jg
      >>> jg.metrics.DigitsClassifier._fields
      ('params', 'test_accuracy')
    """

    params: tuple
    test_accuracy: float

    def features(self, images) -> np.ndarray:
        """The 128 hidden activations, the feature space of ``frechet_distance``."""
        (w1, b1), _ = self.params
        return np.tanh(np.asarray(images, np.float64) @ w1 + b1[None])

    def probabilities(self, images) -> np.ndarray:
        """Class probabilities ``(n, 10)``."""
        _, (w2, b2) = self.params
        logits = self.features(images) @ w2 + b2[None]
        logits = logits - logits.max(1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)


@domains(steps=Integer(1), seed=Integer(0))
def digits_classifier(steps: int = 400, seed: int = 0) -> DigitsClassifier:
    """Train (once per process, deterministically) the digits classifier of the metrics.

    Full-batch Adam (learning rate 1e-2) on the first three quarters of a fixed
    permutation of ``jaxgan.datasets.digits()``, float32 on the CPU (the same weights
    whatever ``jax_enable_x64`` says); the rest is the test set (accuracy about 0.97).

    Examples:
      >>> import jaxgan as jg
      >>> clf = jg.metrics.digits_classifier(steps=20)  # the metrics' default: 400 steps
      >>> [w.shape for w, _ in clf.params], 0.0 < clf.test_accuracy <= 1.0
      ([(64, 128), (128, 10)], True)
    """
    return _trained_classifier(steps, seed)


@functools.lru_cache(maxsize=None)
def _trained_classifier(steps: int, seed: int) -> DigitsClassifier:
    """``digits_classifier``'s training, once per process and arguments."""
    import jax
    import jax.numpy as jnp
    import optax

    from .datasets import digits

    images, labels = digits(dtype=np.float32)
    order = np.random.default_rng(seed).permutation(len(labels))
    cut = 3 * len(labels) // 4
    train, test = order[:cut], order[cut:]
    f32 = jnp.float32
    with jax.default_device(jax.devices("cpu")[0]):
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        params = (
            (jax.random.normal(k1, (64, 128), f32) / 8.0, jnp.zeros(128, f32)),
            (
                jax.random.normal(k2, (128, 10), f32) / np.sqrt(128.0).astype(f32),
                jnp.zeros(10, f32),
            ),
        )
        x, y = jnp.asarray(images[train]), jnp.asarray(labels[train])

        def loss(p):
            (w1, b1), (w2, b2) = p
            logits = jnp.tanh(x @ w1 + b1[None]) @ w2 + b2[None]
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        opt = optax.adam(1e-2)

        def body(carry, _):
            p, s = carry
            g = jax.grad(loss)(p)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        (params, _), _ = jax.jit(
            lambda p: jax.lax.scan(body, (p, opt.init(p)), None, length=steps)
        )(params)
        params = jax.tree.map(np.asarray, params)
    clf = DigitsClassifier(params, 0.0)
    acc = float(np.mean(np.argmax(clf.probabilities(images[test]), 1) == labels[test]))
    return clf._replace(test_accuracy=acc)


__all__ = [
    "DigitsClassifier",
    "ModeReport",
    "classifier_score",
    "digits_classifier",
    "frechet_distance",
    "high_quality_fraction",
    "mode_coverage",
    "wasserstein1",
]
