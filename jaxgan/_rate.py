"""The measured contraction rate of a run: the per-step factor by which its distance to a
reference point shrinks over the transient, as the report fits it."""

from __future__ import annotations

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

from ._domains import Integer, describe, domains
from ._game import is_point


def rates_of_distances(distance: np.ndarray, every: int) -> np.ndarray:
    """``measured_rate``'s body on a ``(runs, T)`` array of distances (NumPy, no checks)."""
    d0 = distance[:, :1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        finite_d = np.where(np.isfinite(distance), distance, np.inf)
        contracting = finite_d[:, -1:] < d0
        floor = np.where(
            contracting,
            np.maximum(1e-12 * d0, 10 * np.min(finite_d, axis=1, keepdims=True)),
            1e-12 * d0,
        )
        above = np.isfinite(distance) & (distance > floor)
        above[:, 0] = True
        last = np.where(above.all(axis=1), distance.shape[1] - 1, np.argmin(above, axis=1) - 1)
        last = np.maximum(last, 1)
        dk = np.take_along_axis(distance, last[:, None], axis=1)[:, 0]
        rate = (dk / d0[:, 0]) ** (1.0 / (last * every))
    return np.where(np.isfinite(rate), rate, np.inf)


@domains(every=Integer(1))
def measured_rate(run, *, reference=None, every: int = 1) -> np.ndarray:
    """The measured per-step contraction rate of runs: ``(d_k / d_0)^(1 / (k * every))`` with
    ``d_k`` the distance to the reference at the ``k``-th record, taken at the last record
    before the distance first reaches its floor ``max(1e-12 d_0, 10 min_k d_k)`` (rounding, or
    an inner solver's tolerance where the run stalls). A run that does not contract gets its
    rate over the whole run (above one when it grows); a run that overflows is measured up to
    its last finite record (``inf`` when there is none after the start). For a linear step from
    a generic start this is the spectral radius ``rho``.

    .. math:: \\hat\\rho = (d_k / d_0)^{1 / (k \\cdot \\mathrm{every})}

    Args:
      run: the distances ``(T,)`` or ``(runs, T)`` of records ``every`` steps apart (e.g. a
        ``SweepResult.distance``), a ``SweepResult``, or a ``Rollout`` / a trajectory (a point
        whose leaves have a leading record axis) together with ``reference``.
      reference: the point the distances are measured to (with a ``Rollout`` or trajectory).
      every: the number of steps between records (the run's ``record_every``).

    Returns:
      The rate per run: a float for one run, an array for several.

    Examples:
      >>> import numpy as np, jaxgan as jg
      >>> float(jg.measured_rate(0.9 ** np.arange(0, 50, 5.0), every=5))  # records every 5 steps
      0.9
    """
    if reference is not None:
        trajectory = getattr(run, "trajectory", run)
        if not is_point(trajectory) or not is_point(reference):
            raise TypeError(
                "measured_rate: with `reference`, `run` must be a Rollout or a trajectory (a point "
                "whose "
                f"leaves have a leading record axis) and `reference` a point; got {describe(run)} "
                "and "
                f"{describe(reference)}."
            )
        flat = np.asarray(jax.vmap(lambda w: ravel_pytree(w)[0])(trajectory))
        target = np.asarray(ravel_pytree(reference)[0])
        if flat.ndim != 2 or flat.shape[1] != target.size:
            raise ValueError(
                f"measured_rate: the trajectory's records have {flat.shape[1:]} values but "
                "`reference` "
                f"has {target.size}."
            )
        distance = np.linalg.norm(flat - target, axis=1)
    else:
        distance = getattr(run, "distance", run)
        if is_point(distance) or hasattr(run, "trajectory") and not hasattr(run, "distance"):
            raise TypeError(
                "measured_rate: a Rollout or trajectory needs `reference=`, the point to measure "
                "the "
                "distance to (e.g. the game's equilibrium)."
            )
        distance = np.asarray(distance, dtype=float)
    single = distance.ndim == 1
    distance = distance[None] if single else distance
    if distance.ndim != 2 or distance.shape[1] < 2:
        raise ValueError(
            "measured_rate: `run` needs at least two records per run (shape (T,) or (runs, T)), "
            "got "
            f"shape {np.shape(distance)}."
        )
    if not np.all(np.isfinite(distance[:, 0])) or np.any(distance[:, 0] <= 0):
        raise ValueError(
            "measured_rate: every run must start at a positive, finite distance from the reference "
            "(a "
            "start at the reference has no rate)."
        )
    rates = rates_of_distances(distance, every)
    return float(rates[0]) if single else rates
