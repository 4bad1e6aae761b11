"""Exact expectations: quadrature rules as (nodes, weights) pairs.

Local analyses of GANs (Nie & Patel 2019 Theorem 1, Mescheder et al. 2018) are exact
statements about expectations; Monte Carlo noise hides them. A ``Quadrature`` is a
finite rule ``E[g(x)] ~= sum_i w_i g(x_i)`` that is *exact* for

* ``gauss_hermite``: Gaussians, for every polynomial of degree ``<= 2 * order - 1`` in
  each coordinate (tensor-product grid of probabilists' Gauss-Hermite nodes, mapped
  through a Cholesky factor of the covariance);
* ``finite_support``: a distribution on finitely many points;
* ``fixed_samples``: the empirical distribution of fixed samples (fixed latents, the
  whole data set), which makes full-batch dynamics deterministic and exact.

``expectation(fn, rule)`` evaluates the rule with ``jax.vmap``; it is differentiable in
anything ``fn`` closes over, so fields and Jacobians of expectation losses are exact.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._validation.domains import Integer, describe, domains

_MAX_GRID_NODES = 1_000_000


class Quadrature(NamedTuple):
    """A quadrature rule: ``E[g(x)] = sum_i weights[i] * g(nodes[i])``.

    Attributes:
      nodes: array ``(N, *event_shape)``.
      weights: array ``(N,)``, non-negative, summing to one.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> rule = jg.finite_support(jnp.array([[0.0], [2.0]]), jnp.array([0.25, 0.75]))
      >>> float(jg.expectation(lambda x: x[0], rule))
      1.5
    """

    nodes: jax.Array
    weights: jax.Array


@domains(order=Integer(1))
def gauss_hermite_1d(order: int):
    """Probabilists' Gauss-Hermite nodes and weights for ``N(0, 1)``.

    ``sum_i w_i g(x_i) = E[g(Z)]``, ``Z ~ N(0, 1)``, exactly for polynomials ``g`` of
    degree ``<= 2 * order - 1``.

    Args:
      order: number of nodes (a positive Python int).

    Returns:
      ``(nodes, weights)`` as float64 NumPy arrays of shape ``(order,)``.

    Examples:
      >>> import jaxgan as jg
      >>> x, w = jg.gauss_hermite_1d(3)
      >>> round(float((w * x**4).sum()), 12)  # E[Z^4] = 3
      3.0
    """
    x, w = np.polynomial.hermite_e.hermegauss(int(order))
    return x, w / np.sqrt(2.0 * np.pi)


@domains(order=Integer(1))
def gauss_hermite(mean, cov, order: int = 8) -> Quadrature:
    """Tensor-grid Gauss-Hermite rule for ``N(mean, cov)`` in ``d`` dimensions.

    Nodes are ``mean + L z`` with ``L L^T = cov`` (Cholesky; a diagonal or scalar
    ``cov`` is taken as variances) and ``z`` on the ``order**d`` product grid. Exact for
    polynomials of degree ``<= 2 * order - 1`` in each coordinate; for smooth ``g`` the
    error falls geometrically with ``order``.

    Args:
      mean: array ``(d,)`` (or a scalar for ``d = 1``).
      cov: ``(d, d)`` covariance, ``(d,)`` variances or a scalar variance.
      order: nodes per dimension.

    Returns:
      A ``Quadrature`` with nodes ``(order**d, d)``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> rule = jg.gauss_hermite(jnp.array([1.0, 0.0]), 2.0, order=4)
      >>> round(float(jg.expectation(lambda x: x @ x, rule)), 5)  # |m|^2 + tr(cov)
      5.0
    """
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim == 0:
        mean = mean[None]
    if mean.ndim != 1:
        raise ValueError(f"gauss_hermite: `mean` must have shape (d,), got {mean.shape}.")
    d = mean.shape[0]
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim == 0:
        chol = np.sqrt(cov) * np.eye(d)
        ok = cov >= 0
    elif cov.ndim == 1:
        if cov.shape != (d,):
            raise ValueError(
                f"gauss_hermite: `cov` of variances must have shape ({d},), got {cov.shape}."
            )
        chol = np.diag(np.sqrt(cov))
        ok = np.all(cov >= 0)
    else:
        if cov.shape != (d, d):
            raise ValueError(f"gauss_hermite: `cov` must have shape ({d}, {d}), got {cov.shape}.")
        ok = np.allclose(cov, cov.T)
        evals, evecs = np.linalg.eigh((cov + cov.T) / 2)
        ok = ok and evals.min() >= -1e-12 * max(1.0, abs(evals).max())
        chol = evecs * np.sqrt(np.clip(evals, 0, None))
    if not ok:
        raise ValueError(
            "gauss_hermite: `cov` must be a symmetric positive semi-definite covariance."
        )
    if order**d > _MAX_GRID_NODES:
        raise ValueError(
            f"gauss_hermite: a tensor grid of order {order} in {d} dimensions has {order**d} nodes "
            f"(limit {_MAX_GRID_NODES}); lower `order`, use a 1-D projection, or `fixed_samples`."
        )
    x, w = gauss_hermite_1d(order)
    grids = np.meshgrid(*([x] * d), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=-1)
    wgrid = np.meshgrid(*([w] * d), indexing="ij")
    weights = np.prod(np.stack([g.ravel() for g in wgrid], axis=-1), axis=-1)
    nodes = mean + z @ chol.T
    return Quadrature(jnp.asarray(nodes), jnp.asarray(weights))


def finite_support(points, probs=None) -> Quadrature:
    """A distribution on finitely many points (uniform when ``probs`` is None).

    Args:
      points: array ``(N, ...)``.
      probs: optional probabilities ``(N,)``, non-negative, summing to one.

    Returns:
      A ``Quadrature``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> rule = jg.finite_support(jnp.array([0.0, 1.0]), jnp.array([0.25, 0.75]))
      >>> float(jg.expectation(lambda x: x, rule))
      0.75
    """
    points = jnp.asarray(points)
    if points.ndim == 0 or points.shape[0] == 0:
        raise ValueError(
            f"finite_support: `points` must have shape (N, ...) with N >= 1, got {points.shape}."
        )
    n = points.shape[0]
    if probs is None:
        probs = jnp.full(
            (n,),
            1.0 / n,
            dtype=points.dtype if jnp.issubdtype(points.dtype, jnp.floating) else None,
        )
    probs = jnp.asarray(probs)
    if probs.shape != (n,):
        raise ValueError(
            f"finite_support: `probs` has shape {probs.shape}, expected ({n},) to match `points`."
        )
    if not isinstance(probs, jax.core.Tracer):
        p = np.asarray(probs)
        if np.any(p < 0) or not np.isclose(p.sum(), 1.0, atol=1e-6):
            raise ValueError("finite_support: `probs` must be non-negative and sum to 1.")
    return Quadrature(points, probs)


def fixed_samples(samples) -> Quadrature:
    """The empirical distribution of fixed samples (e.g. fixed latents, a data set).

    Args:
      samples: array ``(N, ...)``.

    Returns:
      A ``Quadrature`` with equal weights ``1/N``.

    Examples:
      >>> import jax.numpy as jnp, jaxgan as jg
      >>> float(jg.expectation(lambda z: z**2, jg.fixed_samples(jnp.array([1.0, 3.0]))))
      5.0
    """
    return finite_support(samples, None)


def expectation(fn: Callable, rule: Quadrature):
    """``E[fn(x)] = sum_i w_i fn(x_i)`` under a quadrature rule (any pytree output).

    Args:
      fn: function of one node ``x`` (shape ``nodes.shape[1:]``).
      rule: a ``Quadrature``.

    Returns:
      The weighted sum, with the structure of ``fn``'s output.

    Examples:
      >>> import jaxgan as jg
      >>> rule = jg.gauss_hermite(0.0, 1.0, order=3)
      >>> round(float(jg.expectation(lambda x: x[0] ** 2, rule)), 12)
      1.0
    """
    if not isinstance(rule, Quadrature):
        raise TypeError(f"expectation: `rule` must be a jaxgan.Quadrature, got {describe(rule)}.")
    sizes = {jnp.shape(x)[0] for x in jax.tree.leaves(rule.nodes)}
    if sizes == {1}:  # one node (a Dirac distribution): no batch to map over, a shorter trace
        value = fn(jax.tree.map(lambda x: x[0], rule.nodes))
        return jax.tree.map(lambda v: rule.weights[0].astype(jnp.result_type(v)) * v, value)
    values = jax.vmap(fn)(rule.nodes)
    return jax.tree.map(lambda v: jnp.tensordot(rule.weights.astype(v.dtype), v, axes=1), values)
