"""The report's numbers: the field spectrum of a game, the stability map, 1-D analysis and
refinement test of an algorithm, and STON'R on the box-constrained games."""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from .. import games as catalogue
from .._analysis.jacobian import jacobian, jacobian_blocks
from .._analysis.spectral import spectrum
from .._core.game import Game, Joint
from .._core.players import game_players
from .._core.status import RESULTS
from .._prescribe.boundary import grid_crossings
from .._prescribe.tune import refine as refine_tuned
from .._runs.rate import rates_of_distances
from .._runs.rollout import rollout, sweep
from .._runs.stability import stability_map
from ..flows import assess_refinement
from ..transforms import extragradient, project_box, run_stonr, stonr_certificate
from ._registry import Algorithm, n_player_form

#: Runs within this distance of spectral radius one may go either way in finitely many steps.
MARGIN = 0.02


#: the note of an analysis whose update has no finite derivative at the equilibrium
NOT_DIFFERENTIABLE = (
    "not applicable: the update's derivative is not finite at the equilibrium "
    "(an inner solve fails there)"
)


def record_every(steps: int, multiple: int = 1) -> int:
    """The recording interval of a run of ``steps`` steps: the largest ``k`` at most
    ``max(1, steps // 100)`` (about 100 records) with ``steps / k`` a multiple of
    ``multiple`` (which must divide ``steps``)."""
    if steps % multiple:
        raise ValueError(f"record_every: {multiple} must divide steps ({steps}).")
    for k in range(max(1, steps // 100), 0, -1):
        if (steps // multiple) % k == 0:
            return k
    return 1


def measured_rates(distance: np.ndarray, every: int) -> np.ndarray:
    """Per-step contraction of each run over its transient (``jg.measured_rate`` on a
    ``(runs, T)`` array of distances recorded ``every`` steps apart)."""
    return rates_of_distances(distance, every)


def _finite_or_none(x):
    x = float(x)
    return x if np.isfinite(x) else None


REFINEMENT_LEVELS = 4


def analyse_algorithm(
    game: Game,
    alg: Algorithm,
    lrs,
    steps: int,
    offset: float,
    *,
    refine: bool = True,
    tune: bool = False,
    devices=None,
) -> dict:
    """Stability map (radius and sweep over ``lrs x alg.values``), the 1-D learning-rate
    analysis at ``alg.default``, and the refinement test at the learning rate of smallest
    radius.

    The refinement's four runs (``eta, eta/2, eta/4, eta/8`` for ``steps/8, ..., steps``
    steps) ride in the same sweep as the map, so they cost no compilation of their own;
    ``steps`` must then be a multiple of 8.
    """
    lrs = np.asarray(lrs)
    values = np.asarray(alg.values, dtype=lrs.dtype)
    shape = (lrs.size, values.size)
    grid = {
        "lr": jnp.asarray(np.repeat(lrs, values.size)),
        "h": jnp.asarray(np.tile(values, lrs.size)),
    }
    make_tx = lambda h: alg.make(h["lr"], h["h"])  # noqa: E731
    w0 = jax.tree.map(lambda x: jnp.asarray(x) + offset, game.equilibrium)
    m = stability_map(
        game, make_tx, grid, shape=shape, margin=MARGIN, batch_radius=alg.batch_radius
    )
    rho = np.asarray(m.radius).reshape(shape)
    col = int(np.argmin(np.abs(values - alg.default)))
    r1 = rho[:, col]
    best = int(np.nanargmin(r1)) if np.any(np.isfinite(r1)) else 0
    eta = float(lrs[best])
    levels = REFINEMENT_LEVELS if refine else 0
    etas = eta / 2.0 ** np.arange(levels)
    every = record_every(steps, 2 ** (levels - 1) if refine else 1)
    runs_grid = {
        "lr": jnp.concatenate([grid["lr"], jnp.asarray(etas, grid["lr"].dtype)]),
        "h": jnp.concatenate([grid["h"], jnp.full(levels, alg.default, grid["h"].dtype)]),
    }
    # one call per program: the step loop is not unrolled (it would compile each copy)
    res = sweep(
        game,
        make_tx,
        w0,
        runs_grid,
        steps,
        record_every=every,
        devices=devices,
        average="uniform",
        unroll=1,
    )
    g = rho.size
    status = np.asarray(res.status)[:g].reshape(shape)
    first_bad = np.asarray(res.first_nonfinite)[:g].reshape(shape)
    distance = np.asarray(res.distance)[:g].reshape(shape + (-1,))
    rates = measured_rates(distance[:, col], every)
    clear_map = np.abs(rho - 1.0) > MARGIN
    agree_map = int(np.sum(((rho < 1 - 1e-6) == (status == RESULTS.converged)) & clear_map))
    predicted = r1 < 1 - 1e-6
    converged = status[:, col] == RESULTS.converged
    clear = clear_map[:, col]
    row = {
        "axis": alg.axis,
        "values": values.tolist(),
        "default": alg.default,
        "radius": [[_finite_or_none(x) for x in r] for r in rho],
        "status": [[RESULTS(int(s)).label for s in r] for r in status],
        "first_nonfinite": first_bad.tolist(),
        "map_agreement": [agree_map, int(clear_map.sum())],
        "min_radius": _finite_or_none(r1[best]),
        "best_lr": eta,
        "measured_rate_at_best": _finite_or_none(rates[best]),
        "converged": int(converged.sum()),
        "predicted_stable": int(predicted.sum()),
        "runs": int(lrs.size),
        "agree_1d": [int(np.sum((predicted == converged) & clear)), int(clear.sum())],
        "outcomes": RESULTS.counts(status[:, col]),
        "diverged": [
            {"lr": float(lrs[i]), alg.axis or "h": float(values[j]), "step": int(first_bad[i, j])}
            for i, j in zip(*np.nonzero(first_bad >= 0))
        ],
        "crossings": grid_crossings(lrs, r1, np.asarray(m.dominant).reshape(shape)[:, col]),
        "average": _averaged(res, game.equilibrium, w0, g, shape, col, converged),
    }
    if not np.any(np.isfinite(rho)):
        row["not_applicable"] = _why_undefined(game)
    elif tune:
        row["tuned"] = tuned_from_map(game, alg, make_tx, lrs, values, rho)
    if refine:
        flat = np.asarray(jax.vmap(jax.vmap(lambda w: ravel_pytree(w)[0]))(res.trajectory))[g:]
        points = (flat.shape[1] - 1) // 2 ** (levels - 1)
        runs = np.stack([flat[k, :: 2**k][: points + 1] for k in range(levels)])
        r = assess_refinement(runs, etas, np.arange(points + 1) * every * eta)
        row["refinement"] = {
            "eta": eta,
            "etas": etas.tolist(),
            "steps": [steps // 2 ** (levels - 1 - k) for k in range(levels)],
            "gaps": [_finite_or_none(e) for e in np.asarray(r.gaps)],
            "order": _finite_or_none(r.order),
            "scale": _finite_or_none(r.scale),
            "verdict": r.verdict,
        }
    return row


#: an averaged run "settled" when its uniform average ends within this fraction of the start's
#: distance to the equilibrium
AVERAGE_SETTLED = 0.01


def _averaged(res, w_star, w0, g, shape, col, converged) -> dict:
    """The uniform averages of the runs at the algorithm's default hyperparameter: how many end
    within ``AVERAGE_SETTLED`` of the start's distance to the equilibrium, and how many of those
    runs did not converge themselves (averaging settles what cycles: Yazici et al. 2019)."""
    flat = np.asarray(jax.vmap(lambda w: ravel_pytree(w)[0])(res.average))[:g]
    star = np.asarray(ravel_pytree(w_star)[0])
    start = float(np.linalg.norm(np.asarray(ravel_pytree(w0)[0]) - star))
    with np.errstate(over="ignore", invalid="ignore"):  # diverged runs: inf or NaN, not settled
        dist = np.linalg.norm(flat - star, axis=1).reshape(shape)[:, col]
    settled = np.isfinite(dist) & (dist <= AVERAGE_SETTLED * start)
    return {
        "settled": int(settled.sum()),
        "settled_not_converged": int(np.sum(settled & ~converged)),
        "fraction": AVERAGE_SETTLED,
    }


#: map cells the "tuned" column refines (the best ones, not adjacent)
TUNED_STARTS = 3


def tuned_from_map(game, alg: Algorithm, make_tx, lrs, values, rho) -> dict:
    """The "tuned" column: ``jg.tune``'s refinement (nested golden sections) from the best cells
    of the stability map, over the box the map spans (the learning rate, and the algorithm's
    hyperparameter where it has one): the least radius of the step there and where it is, next
    to the map's best cell. The map is the starting grid, so no grid is computed again."""
    tuned_axes = values.size > 1
    names = ("h", "lr") if tuned_axes else ("lr",)
    fixed = {} if tuned_axes else {"h": float(values[0])}
    axes = {"lr": np.asarray(lrs, np.float64), "h": np.asarray(values, np.float64)}
    low = np.array([axes[n].min() for n in names])
    high = np.array([axes[n].max() for n in names])
    order = np.argsort(np.where(np.isfinite(rho), rho, np.inf), axis=None, kind="stable")
    cells = []
    for flat in order:
        i, j = np.unravel_index(flat, rho.shape)
        if not np.isfinite(rho[i, j]):
            break
        if all(max(abs(i - a), abs(j - b)) > 1 for a, b in cells):
            cells.append((i, j))
        if len(cells) == TUNED_STARTS:
            break

    def bracket(i, j):
        index = {"lr": i, "h": j}
        lo_, hi_ = [], []
        for n, l_, h_ in zip(names, low, high):
            ax, k = np.sort(axes[n]), index[n]
            lo_.append((ax[max(k - 1, 0)] - l_) / (h_ - l_))
            hi_.append((ax[min(k + 1, ax.size - 1)] - l_) / (h_ - l_))
        return lo_, hi_

    a, b = zip(*(bracket(i, j) for i, j in cells))
    i0, j0 = cells[0]
    grid_best = {"lr": float(lrs[i0]), "h": float(values[j0])}
    grid_best = {n: grid_best[n] for n in names}
    h, radius = refine_tuned(
        game,
        make_tx,
        names,
        low,
        high,
        fixed,
        np.asarray(a),
        np.asarray(b),
        game.equilibrium,
        grid_best,
        float(rho[i0, j0]),
    )
    return {
        "hyperparams": {("lr" if n == "lr" else (alg.axis or "h")): v for n, v in h.items()},
        "radius": _finite_or_none(radius),
        "map_best": {("lr" if n == "lr" else (alg.axis or "h")): v for n, v in grid_best.items()},
        "map_radius": _finite_or_none(rho[i0, j0]),
    }


def analyse_pair(
    game,
    name: str,
    alg: Algorithm,
    lrs,
    steps: int,
    offset: float,
    *,
    refine: bool = True,
    tune: bool = False,
    devices=None,
) -> dict:
    """``analyse_algorithm`` of the algorithm's form for the game's number of players
    (``n_player_form``); a two-player method on an n-player game gives a row that says why
    it does not apply (``players_not_applicable``), with no runs."""
    form = n_player_form(name, alg, game_players(game))
    if isinstance(form, str):
        return {"players_not_applicable": form, "axis": alg.axis}
    return analyse_algorithm(
        game, form, lrs, steps, offset, refine=refine, tune=tune, devices=devices
    )


def _why_undefined(game: Game) -> str:
    """Why no step of an algorithm has a finite spectral radius at the equilibrium."""
    eq = game.equilibrium
    if not isinstance(eq, Joint):
        return NOT_DIFFERENTIABLE
    n_phi = ravel_pytree(eq.phi)[0].size
    J = np.asarray(jacobian(game, eq))
    h_tt = J[n_phi:, n_phi:]
    smallest = float(np.min(np.abs(np.linalg.eigvals(h_tt)))) if h_tt.size else float("nan")
    if smallest <= 1e-9 * max(1.0, float(np.max(np.abs(J)))):
        return (
            "not applicable: the discriminator's Hessian H_tt is singular at the equilibrium "
            f"(smallest |eigenvalue| {smallest:.1e}), "
            "and the method solves with it (its update is undefined there)"
        )
    return NOT_DIFFERENTIABLE


def analyse_game(game: Game) -> dict:
    """The field spectrum at the game's equilibrium; for an n-player game also the number of
    players, their sizes and the norms of the Jacobian's player blocks (``|A_ij|``, rows the
    player whose field it is: the off-diagonal ones are the interactions ``H_o``)."""
    spec = spectrum(game, game.equilibrium)
    extra = {}
    if not isinstance(game.equilibrium, Joint):
        blocks = jacobian_blocks(jacobian(game, game.equilibrium), game.equilibrium)
        extra = {
            "players": len(blocks),
            "player_sizes": [int(row[0].shape[0]) for row in blocks],
            "block_norms": [[float(np.linalg.norm(np.asarray(b))) for b in row] for row in blocks],
        }
    return {
        **extra,
        "eigenvalues": [[float(z.real), float(z.imag)] for z in np.asarray(spec.eigenvalues)],
        "phase_factor": _finite_or_none(spec.phase_factor),
        "conditioning_factor": _finite_or_none(spec.conditioning_factor),
        "stable_simgd_step": _finite_or_none(spec.stable_step),
        "flow_stable": bool(spec.is_stable),
        "flow_verdict": spec.verdict_label,
        "verdict_tolerance": float(spec.tolerance),
    }


# --------------------------------------------------------------------------- STON'R

STONR_BASELINE_STEPS = 10000


def _projected_residual(ex, method: str):
    """The certificate's residual after projected SimGD or projected extragradient (both
    half-steps projected: the projection inside the look-ahead's optimiser)."""
    step = optax.chain(optax.sgd(0.02), project_box(ex.box))
    tx = step if method == "simgd" else extragradient(step)
    w0 = jax.tree.map(lambda a, b: jnp.asarray((a + b) / 2 + 0.1), ex.box.lo, ex.box.hi)
    final = rollout(ex.game, tx, w0, STONR_BASELINE_STEPS).final
    return float(stonr_certificate(ex.game, ex.box, final)[0])


def stonr_section(names: Sequence[str]) -> dict:
    """STON'R on built-in box-constrained games: the point, its certificate and events,
    next to projected SimGD's and extragradient's residuals after 10,000 steps."""
    examples = catalogue.constrained_examples()
    rows = {}
    for name in names:
        ex = examples[name]
        out = run_stonr(ex.game, ex.box)
        rows[name] = {
            "point": [float(out.point.phi), float(out.point.theta)],
            "status": out.status_name,
            "residual": float(out.residual),
            "local_type": out.local_type_name,
            "events_good_bad_middling_moves": [int(c) for c in np.asarray(out.counts)],
            "projected_simgd_residual": _projected_residual(ex, "simgd"),
            "projected_extragradient_residual": _projected_residual(ex, "extragradient"),
        }
    return rows
