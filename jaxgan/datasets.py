"""Data sets for neural games, generated or shipped, never downloaded.

Two-dimensional distributions (each a ``Dataset2D`` that samples with a JAX key and
knows its own modes or support, for the metrics in ``jaxgan.metrics``):

* ``ring(8)``: 8 Gaussians of standard deviation 0.02 on the circle of radius 2, the
  mixture of Metz et al. (2017) that Nie & Patel (2019, Fig. 3) train SimGD, consensus
  and JARE on;
* ``grid(5)``: 25 Gaussians of standard deviation 0.05 on ``{-4, -2, 0, 2, 4}^2``;
* the four 2-D problems of Mescheder et al. (2018, Fig. 5): ``gaussian()`` (a standard
  2-D Gaussian), ``line()`` (uniform on the segment ``[-1, 1] x {0}``), ``circle()``
  (uniform on the unit circle) and ``four_lines()`` (uniform on four parallel segments
  ``[-1, 1] x {-0.75, -0.25, 0.25, 0.75}``). The line, circle and lines are supported on
  one-dimensional sets: the case where unregularised training need not converge.

The real-data case is the 8x8 handwritten digits shipped inside scikit-learn
(``digits()``; 1,797 images, no download), scaled to ``[-1, 1]``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from ._validation.domains import Choice, Integer, Real, domains


@dataclasses.dataclass(frozen=True)
class Dataset2D:
    """A 2-D distribution: how to sample it and where it lives.

    Attributes:
      name: label.
      sampler: ``(key, n) -> (n, 2)`` samples (pure, jittable).
      modes: ``(K, 2)`` centres of a Gaussian mixture, or ``None`` for a continuous support.
      std: the components' standard deviation (mixtures), or the tolerance of "on the
        support" (continuous supports).
      support_distance: ``(n, 2) -> (n,)`` Euclidean distance of points to the support
        (``None`` for the full-plane Gaussian).

    Examples:
      >>> import jax, jaxgan as jg
      >>> ds = jg.datasets.Dataset2D("origin", lambda key, n: jax.numpy.zeros((n, 2)))
      >>> ds.sample(jax.random.PRNGKey(0), 3).shape
      (3, 2)
    """

    name: str
    sampler: Callable[[jax.Array, int], jax.Array]
    modes: Optional[np.ndarray] = None
    std: float = 0.0
    support_distance: Optional[Callable[[np.ndarray], np.ndarray]] = None

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` samples, shape ``(n, 2)``, deterministic in ``key``."""
        Integer(1).check(n, f"{self.name}.sample", "n")
        return self.sampler(key, int(n))


def _mixture(name: str, modes: np.ndarray, std: float) -> Dataset2D:
    modes = np.asarray(modes, dtype=np.float64)

    def sampler(key, n):
        k_mode, k_noise = jax.random.split(key)
        # equal numbers per mode when K divides n, so fixed data sets are exactly balanced
        which = jax.random.permutation(k_mode, jnp.arange(n) % modes.shape[0])
        centres = jnp.asarray(modes)[which]
        return centres + std * jax.random.normal(k_noise, (n, 2), dtype=centres.dtype)

    def distance(x):
        x = np.asarray(x, dtype=np.float64)
        return np.min(np.linalg.norm(x[:, None, :] - modes[None], axis=-1), axis=1)

    return Dataset2D(name, sampler, modes, float(std), distance)


@domains(num_modes=Integer(1), radius=Real(0, low_open=True), std=Real(0))
def ring(num_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Dataset2D:
    """``num_modes`` Gaussians of standard deviation ``std`` equally spaced on a circle.

    Examples:
      >>> import jax, jaxgan as jg
      >>> ds = jg.datasets.ring()
      >>> ds.modes.shape, ds.sample(jax.random.PRNGKey(0), 16).shape
      ((8, 2), (16, 2))
    """
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    modes = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _mixture(f"ring{num_modes}", modes, std)


@domains(side=Integer(1), spacing=Real(0, low_open=True), std=Real(0))
def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Dataset2D:
    """``side x side`` Gaussians of standard deviation ``std`` on a square grid centred at 0.

    Examples:
      >>> import jaxgan as jg
      >>> jg.datasets.grid().modes.shape
      (25, 2)
    """
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    modes = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)
    return _mixture(f"grid{side}x{side}", modes, std)


def gaussian() -> Dataset2D:
    """The standard 2-D Gaussian (Mescheder et al. 2018, Figure 5, "2D Gaussian").

    Examples:
      >>> import jax, jaxgan as jg
      >>> ds = jg.datasets.gaussian()
      >>> ds.sample(jax.random.PRNGKey(0), 3).shape, ds.modes is None
      ((3, 2), True)
    """

    def sampler(key, n):
        return jax.random.normal(key, (n, 2))

    return Dataset2D("gaussian", sampler, None, 0.0, None)


def _segments_distance(x, starts, ends):
    x = np.asarray(x, dtype=np.float64)[:, None, :]
    d = ends - starts
    t = np.clip(np.sum((x - starts) * d, -1) / np.sum(d * d, -1), 0.0, 1.0)
    return np.min(np.linalg.norm(x - (starts + t[..., None] * d), axis=-1), axis=1)


def _segments(name: str, starts, ends, tol: float) -> Dataset2D:
    starts, ends = np.asarray(starts, np.float64), np.asarray(ends, np.float64)

    def sampler(key, n):
        k_seg, k_t = jax.random.split(key)
        which = jax.random.permutation(k_seg, jnp.arange(n) % starts.shape[0])
        t = jax.random.uniform(k_t, (n, 1))
        s, e = jnp.asarray(starts)[which], jnp.asarray(ends)[which]
        return s + t * (e - s)

    return Dataset2D(name, sampler, None, tol, lambda x: _segments_distance(x, starts, ends))


@domains(tol=Real(0, low_open=True))
def line(tol: float = 0.05) -> Dataset2D:
    """Uniform on the segment ``[-1, 1] x {0}`` (Mescheder et al. 2018, Figure 5, "Line").

    Examples:
      >>> import jax, numpy as np, jaxgan as jg
      >>> ds = jg.datasets.line()
      >>> x = ds.sample(jax.random.PRNGKey(0), 4)
      >>> float(np.max(ds.support_distance(x))) < 1e-6
      True
    """
    return _segments("line", [[-1.0, 0.0]], [[1.0, 0.0]], tol)


@domains(tol=Real(0, low_open=True))
def four_lines(tol: float = 0.05) -> Dataset2D:
    """Uniform on four parallel segments ``[-1, 1] x {-0.75, -0.25, 0.25, 0.75}``.

    The data set of Mescheder et al. 2018, Fig. 5, "Four lines".

    Examples:
      >>> import jax, numpy as np, jaxgan as jg
      >>> x = np.asarray(jg.datasets.four_lines().sample(jax.random.PRNGKey(0), 200))
      >>> sorted(set(np.round(x[:, 1], 2).tolist()))
      [-0.75, -0.25, 0.25, 0.75]
    """
    ys = np.array([-0.75, -0.25, 0.25, 0.75])
    return _segments(
        "four_lines", np.stack([-np.ones(4), ys], 1), np.stack([np.ones(4), ys], 1), tol
    )


@domains(radius=Real(0, low_open=True), tol=Real(0, low_open=True))
def circle(radius: float = 1.0, tol: float = 0.05) -> Dataset2D:
    """Uniform on the circle of radius ``radius`` (Mescheder et al. 2018, Figure 5, "Circle").

    Examples:
      >>> import jax, numpy as np, jaxgan as jg
      >>> x = jg.datasets.circle().sample(jax.random.PRNGKey(0), 5)
      >>> np.allclose(np.linalg.norm(np.asarray(x), axis=1), 1.0, atol=1e-6)
      True
    """

    def sampler(key, n):
        a = 2 * jnp.pi * jax.random.uniform(key, (n,))
        return radius * jnp.stack([jnp.cos(a), jnp.sin(a)], axis=1)

    def distance(x):
        return np.abs(np.linalg.norm(np.asarray(x, np.float64), axis=1) - radius)

    return Dataset2D("circle", sampler, None, tol, distance)


#: The four 2-D problems of Mescheder et al. (2018, Figure 5), by name.
MESCHEDER_2D = ("gaussian", "line", "circle", "four_lines")


@domains(name=Choice("ring", "grid", "gaussian", "line", "circle", "four_lines"))
def by_name(name: str) -> Dataset2D:
    """A 2-D data set by name.

    The names are ``ring``, ``grid``, ``gaussian``, ``line``, ``circle`` and ``four_lines``.

    Examples:
      >>> import jaxgan as jg
      >>> jg.datasets.by_name("grid").modes.shape
      (25, 2)
    """
    table = {
        "ring": ring,
        "grid": grid,
        "gaussian": gaussian,
        "line": line,
        "circle": circle,
        "four_lines": four_lines,
    }
    return table[name]()


def digits(*, dtype=np.float32) -> Tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits shipped with scikit-learn (1,797 images; no download).

    Returns:
      ``(images, labels)``: images ``(1797, 64)`` scaled from ``[0, 16]`` to ``[-1, 1]``
      (the range of a ``tanh`` generator), labels ``(1797,)`` in ``0..9``.

    Raises:
      ImportError: scikit-learn is not installed (``pip install "jaxgan[data]"``).

    Examples:
      >>> import jaxgan as jg
      >>> images, labels = jg.datasets.digits()
      >>> images.shape, float(images.min()), float(images.max()), int(labels.max())
      ((1797, 64), -1.0, 1.0, 9)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - exercised only without scikit-learn
        raise ImportError(
            "datasets.digits needs scikit-learn, which ships the images: pip install "
            '"jaxgan[data]".'
        ) from err
    bunch = load_digits()
    images = (bunch.data.astype(np.float64) / 8.0 - 1.0).astype(dtype)
    return images, bunch.target.astype(np.int32)


__all__ = [
    "Dataset2D",
    "MESCHEDER_2D",
    "by_name",
    "circle",
    "digits",
    "four_lines",
    "gaussian",
    "grid",
    "line",
    "ring",
]
