"""The measured contraction rate of a run: the per-step factor by which its distance to a
reference point shrinks over the transient, as the report fits it."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .._core.game import is_point
from .._core.partition import record_coordinates
from .._validation.domains import Integer, Maybe, describe, domains


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


def _spacing(run, every):
    """The steps between records: the run's own (``record_every`` of a ``Rollout`` or
    ``SweepResult``), or ``every`` for bare records (default 1); a contradiction is refused."""
    own = getattr(run, "record_every", None)
    if own is None:
        return 1 if every is None else every
    values = np.unique(np.asarray(own))
    if values.size != 1:
        raise ValueError(
            "measured_rate: the runs in `run` were recorded at different spacings "
            f"(record_every {values.tolist()}); measure them one spacing at a time."
        )
    own = int(values[0])
    if every is not None and every != own:
        raise ValueError(
            f"measured_rate: `every={every}` contradicts the run's own spacing: "
            f"it was recorded every {own} steps (`record_every={own}`). "
            "Leave `every` out for a Rollout or a SweepResult: the result knows its spacing."
        )
    return own


@domains(every=Maybe(Integer(1)))
def measured_rate(run, *, reference=None, every: Optional[int] = None) -> np.ndarray:
    """The measured per-step contraction rate of runs.

    The rate is ``(d_k / d_0)^(1 / (k * every))`` with ``d_k`` the distance to the reference at
    the ``k``-th record, taken at the last record before the distance first reaches its floor
    ``max(1e-12 d_0, 10 min_k d_k)`` (rounding, or an inner solver's tolerance where the run
    stalls). A run that does not contract gets its
    rate over the whole run (above one when it grows); a run that overflows is measured up to
    its last finite record (``inf`` when there is none after the start). For a linear step from
    a generic start this is the spectral radius ``rho``.

    .. math:: \\hat\\rho = (d_k / d_0)^{1 / (k \\cdot \\mathrm{every})}

    Args:
      run: the distances ``(T,)`` or ``(runs, T)`` of records ``every`` steps apart (e.g. a
        ``SweepResult.distance``), a ``SweepResult``, or a ``Rollout`` / a trajectory (a point
        whose leaves have a leading record axis) together with ``reference``.
      reference: the point the distances are measured to (with a ``Rollout`` or trajectory).
      every: the number of steps between records of bare distances or a bare trajectory
        (default 1); a ``Rollout`` or ``SweepResult`` knows its own (``record_every``), and
        an ``every`` that contradicts it is refused.

    Returns:
      The rate per run: a float for one run, an array for several.

    Examples:
      >>> import numpy as np, jaxgan as jg
      >>> float(jg.measured_rate(0.9 ** np.arange(0, 50, 5.0), every=5))  # records every 5 steps
      0.9
    """
    every = _spacing(run, every)
    if reference is not None:
        trajectory = getattr(run, "trajectory", run)
        if not is_point(trajectory) or not is_point(reference):
            raise TypeError(
                "measured_rate: with `reference`, `run` must be a Rollout or a trajectory "
                "(a point whose leaves have a leading record axis) and `reference` a point; "
                f"got {describe(run)} and {describe(reference)}."
            )
        # module players: the parameters of both, split alike (a reference from
        # solve_equilibrium comes back as modules, as the run's records do)
        flat, target = record_coordinates(trajectory, reference)
        if flat.ndim != 2 or flat.shape[1] != target.size:
            raise ValueError(
                "measured_rate: the trajectory's records have "
                f"{flat.shape[1:]} values but `reference` has {target.size}."
            )
        distance = np.linalg.norm(flat - target, axis=1)
    else:
        distance = getattr(run, "distance", run)
        if is_point(distance) or hasattr(run, "trajectory") and not hasattr(run, "distance"):
            raise TypeError(
                "measured_rate: a Rollout or trajectory needs `reference=`, "
                "the point to measure the distance to (e.g. the game's equilibrium)."
            )
        distance = np.asarray(distance, dtype=float)
    single = distance.ndim == 1
    distance = distance[None] if single else distance
    if distance.ndim != 2 or distance.shape[1] < 2:
        raise ValueError(
            "measured_rate: `run` needs at least two records per run (shape (T,) or (runs, T)), "
            f"got shape {np.shape(distance)}."
        )
    if not np.all(np.isfinite(distance[:, 0])) or np.any(distance[:, 0] <= 0):
        raise ValueError(
            "measured_rate: every run must start at a positive, "
            "finite distance from the reference (a start at the reference has no rate)."
        )
    rates = rates_of_distances(distance, every)
    return float(rates[0]) if single else rates
