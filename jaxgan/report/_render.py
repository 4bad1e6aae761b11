"""The report rendered: strict JSON, the printed table, the markdown and the figures."""

from __future__ import annotations

import os
from typing import List

import numpy as np

from ._analysis import MARGIN, STONR_BASELINE_STEPS


def strict_json(value):
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN or
    infinity; strict parsers reject them)."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


class Figures:
    """Draws one game's figure once its analyses are complete (matplotlib, if installed)."""

    def __init__(self, out: str, report: dict, algorithms):
        from ..plotting import have_matplotlib

        self.out, self.report, self.algorithms = out, report, list(algorithms)
        self.enabled = have_matplotlib()
        self.files = figure_names(list(report["games"]))

    def draw(self, gname: str):
        if not self.enabled:
            return
        from ..plotting import game_report_figure

        entry = self.report["games"][gname]
        ordered = dict(
            entry,
            algorithms={
                a: entry["algorithms"][a]
                for a in self.algorithms
                if "players_not_applicable" not in entry["algorithms"][a]
            },
        )
        entry["figure"] = self.files[gname]
        game_report_figure(os.path.join(self.out, entry["figure"]), gname, ordered)


def _order(ref: dict) -> str:
    """The refinement's order, or ``-`` where its verdict says the order was not measured."""
    if "not measured" in ref.get("verdict", "") or ref.get("order") is None:
        return "-"
    return _f(ref["order"], 2)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def figure_names(games) -> dict:
    """One figure file name per game, unique also on case-insensitive file systems: games
    whose names map to the same file name (``"a b"`` and ``"a_b"``) get ``-2``, ``-3``, ..."""
    taken, out = set(), {}
    for name in games:
        base = _slug(name) or "game"
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate.lower())
        out[name] = f"{candidate}.png"
    return out


def _f(x, digits=3):
    if x is None:
        return "-"
    x = float(x)
    if np.isinf(x):
        return "inf"
    if np.isnan(x):
        return "-"
    return f"{x:.{digits}g}"


def _eigs(pairs, limit=4):
    clean = lambda x: 0.0 if abs(x) < 1e-12 else x  # noqa: E731
    text = " ".join(f"{clean(a):+.3g}{clean(b):+.3g}i" for a, b in pairs[:limit])
    return text + (" ..." if len(pairs) > limit else "")


def _simgd_bound(step) -> str:
    if step is None or not step > 0:
        return "no SimGD step is stable (an eigenvalue has `Re >= 0`)"
    return f"SimGD stable for `0 < eta < {_f(step)}`"


def _has_tuned(report: dict) -> bool:
    """Whether the report was made with the "tuned" column (``--tune``)."""
    return any("tuned" in row for e in report["games"].values() for row in e["algorithms"].values())


def _tuned(row: dict) -> str:
    """The "tuned" cell: the least radius over the map's box and where (``jg.tune``'s search)."""
    t = row.get("tuned")
    if not t:
        return "-"
    at = ", ".join(f"{k} {v:.3g}" for k, v in sorted(t["hyperparams"].items()))
    return f"{_f(t['radius'], 4)} at {at}"


def _crossing_text(c: dict) -> str:
    lo, hi = c["between"]
    side = "stable below" if c["stable_below"] else "stable above"
    return f"{c['kind'].replace('_', '-')} in ({lo:.3g}, {hi:.3g}), {side}"


def _crossings_and_averages(algorithms: dict) -> List[str]:
    """Where each algorithm's stability ends in the learning rate (the map's grid), and where
    averaging settles runs that do not converge."""
    rows = {a: r for a, r in algorithms.items() if "crossings" in r}
    if not rows:
        return []
    crossings = "; ".join(
        f"{a}: "
        + (
            ", ".join(_crossing_text(c) for c in r["crossings"])
            or f"no crossing on the grid (rho < 1 at {r['predicted_stable']} of {r['runs']})"
        )
        for a, r in rows.items()
    )
    rescued = [
        f"{a} {r['average']['settled_not_converged']} of {r['runs'] - r['converged']}"
        for a, r in rows.items()
        if r.get("average", {}).get("settled_not_converged")
    ]
    fraction = next(iter(rows.values())).get("average", {}).get("fraction", 0.01)
    return [
        "",
        "*Where stability ends in the learning rate* (the map's grid at each algorithm's default "
        "hyperparameter: the crossing of `rho = 1` lies in the interval; its kind is that of the "
        "step's eigenvalue of largest modulus on the unstable side; "
        "`jg.stability_boundary` refines it and says whether it is super- or subcritical): "
        + crossings
        + ".",
        "",
        "*Averaged iterates* (the uniform mean of each run's iterates at the default "
        f"hyperparameter, settled when it ends within {fraction:g} of the start's distance to "
        "the equilibrium), runs that did not converge whose average settled: "
        + ("; ".join(rescued) if rescued else "none")
        + ".",
    ]


def table_rows(report: dict) -> List[str]:
    """The printed summary table, one line per (game, algorithm)."""
    tuned = _has_tuned(report)
    header = (
        f"{'game':<21} {'algorithm':<16} {'min rho':>8} {'at lr':>7} {'rate':>7} "
        f"{'conv/stable/runs':>16} {'agree 1-D':>9} {'map agree':>9} {'refinement (order)':<34}"
        + (" tuned rho (at)" if tuned else "")
    )
    lines = [header, "-" * len(header)]
    for gname, entry in report["games"].items():
        for aname, row in entry["algorithms"].items():
            if "players_not_applicable" in row:
                lines.append(
                    f"{gname:<21} {aname:<16} n/a for {entry.get('players', 'n')} players "
                    "(a two-player method)"
                )
                continue
            ref = row.get("refinement")
            ref_text = "-" if ref is None else f"{ref['verdict']} ({_order(ref)})"
            if row.get("not_applicable"):
                ref_text = (
                    "n/a: "
                    + ("H_tt singular" if "singular" in row["not_applicable"] else "undefined")
                    + " at eq."
                )
            lines.append(
                f"{gname:<21} {aname:<16} {_f(row['min_radius'], 4):>8} "
                f"{row['best_lr']:>7.3g} {_f(row['measured_rate_at_best'], 4):>7} "
                f"{row['converged']:>5}/{row['predicted_stable']}/{row['runs']:<5} "
                f"{row['agree_1d'][0]:>4}/{row['agree_1d'][1]:<4} "
                f"{row['map_agreement'][0]:>4}/{row['map_agreement'][1]:<4} {ref_text:<34}"
                + (f" {_tuned(row)}" if tuned else "")
            )
    return lines


def markdown(report: dict) -> str:
    """The report as markdown."""
    s = report.get("settings", {})
    tuned = _has_tuned(report)
    out = [
        "# jaxgan analysis report",
        "",
        f"Device: {report.get('device', '?')}; "
        f"{s.get('steps', '?')} steps per run from the equilibrium + {s.get('offset', '?')}; "
        f"learning rates {s.get('lr_min', '?')} to {s.get('lr_max', '?')} "
        f"({s.get('num_lr', '?')}, log-spaced); {report.get('seconds', 0):.0f} s.",
        "",
        "For each game: the eigenvalues of the field's Jacobian `A = dv/dw` at the equilibrium "
        "(stable flow iff every `Re < 0`), and for each algorithm the spectral radius `rho` "
        "of one step at the equilibrium over a grid of learning rates "
        "x the algorithm's hyperparameter (the stability map; `rho < 1`: locally convergent), "
        "next to the outcome of a run from the perturbed start at every grid point. "
        "*Agree* counts grid points where `rho < 1` iff the run converged, "
        f"among those with `|rho - 1| > {MARGIN}`. *Rate* is the measured per-step contraction "
        "at the learning rate of smallest `rho`, fitted on the run's transient "
        "(above its floor: rounding, or an inner solver's tolerance); "
        "for a linear step it equals `rho`. *Refinement* is Turinici's test at that learning rate: "
        "runs at `eta, eta/2, eta/4, eta/8` with 1x, 2x, 4x, 8x the steps, "
        "compared with each other on the cumulative learning rate; "
        + (
            "*Tuned* is `jg.tune`'s search from the map's best cells over the box the map spans "
            "(the learning rate, and the algorithm's hyperparameter where it has one): "
            "the least `rho` there and where it is. "
            if _has_tuned(report)
            else ""
        )
        + "*order* is `log2` of the ratio of successive gaps "
        "(1: first order, the runs approach the flow); "
        "*resolved* means the finest gap is within 1% of the curve's size, "
        "i.e. the step resolves the gradient flow "
        "(it says nothing about convergence to the equilibrium; "
        "`jaxgan.flows.refinement_test` also compares with the flow, by diffrax).",
        "",
    ]
    for gname, e in report["games"].items():
        out += [
            f"## {gname}",
            "",
            f"Eigenvalues {_eigs(e['eigenvalues'])}; phase factor {_f(e['phase_factor'])}, "
            f"conditioning factor {_f(e['conditioning_factor'])}; "
            f"{_simgd_bound(e['stable_simgd_step'])}; "
            f"flow {e.get('flow_verdict', 'stable' if e['flow_stable'] else 'not stable')} "
            "at the equilibrium"
            + (
                f" (real parts within {e['verdict_tolerance']:.1e} of zero count as on the axis)."
                if "verdict_tolerance" in e
                else "."
            ),
            "",
            "| algorithm | min rho | at lr | measured rate | converged / predicted / runs | agree "
            "(1-D) | map axis | agree (map) "
            "| diverged (of the map's points) | refinement | order |"
            + (" tuned rho (at) |" if tuned else ""),
            "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if tuned else ""),
        ]
        if "players" in e:
            norms = "; ".join(" ".join(_f(x) for x in row) for row in e["block_norms"])
            out[-4:-4] = [
                f"{e['players']} players of sizes {', '.join(str(s) for s in e['player_sizes'])}; "
                "norms of the Jacobian's player blocks `|A_ij|` "
                f"(rows `i`; off the diagonal the players' interactions): {norms}.",
                "",
            ]
        for aname, r in e["algorithms"].items():
            if "players_not_applicable" in r:
                out.append(
                    f"| {aname} | n/a | - | - | - | - | {r['axis'] or 'lr only'} "
                    "| - | - | - | - |" + (" - |" if tuned else "")
                )
                continue
            ref = r.get("refinement") or {}
            div = r["diverged"]
            points = sum(len(row) for row in r["radius"])
            div_text = (
                f"{len(div)} of {points} (first at step {min(d['step'] for d in div)})"
                if div
                else f"0 of {points}"
            )
            out.append(
                f"| {aname} | {_f(r['min_radius'], 4)} "
                f"| {r['best_lr']:.3g} | {_f(r['measured_rate_at_best'], 4)} | {r['converged']} "
                f"/ {r['predicted_stable']} / {r['runs']} | {r['agree_1d'][0]}/{r['agree_1d'][1]} "
                f"| {r['axis'] or 'lr only'} | {r['map_agreement'][0]}/{r['map_agreement'][1]} "
                f"| {div_text} | {ref.get('verdict', '-')} | {_order(ref) if ref else '-'} |"
                + (f" {_tuned(r)} |" if tuned else "")
            )
        out += _crossings_and_averages(e["algorithms"])
        for aname, r in e["algorithms"].items():
            if "players_not_applicable" in r:
                out += [
                    "",
                    f"*{aname}*: not applicable to {e.get('players', 'n')} players, "
                    f"{r['players_not_applicable']}.",
                ]
            if r.get("not_applicable"):
                out += ["", f"*{aname}*: {r['not_applicable']}; its runs are still measured."]
        if e.get("figure"):
            out += ["", f"![{gname}]({e['figure']})"]
        out.append("")
    if report.get("stonr"):
        out += [
            "## STON'R on box-constrained games",
            "",
            "Residual of the first-order min-max conditions `|z - Pi_box(z - V(z))|` "
            "at STON'R's point, next to projected SimGD and extragradient after "
            f"{STONR_BASELINE_STEPS} steps at lr 0.02.",
            "",
            "| game | point | residual | local type | good / bad / middling events | SimGD "
            "residual | EG residual |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in report["stonr"].items():
            c = r["events_good_bad_middling_moves"]
            out.append(
                f"| {name} | ({r['point'][0]:+.6f}, {r['point'][1]:+.6f}) "
                f"| {r['residual']:.1e} | {r['local_type']} "
                f"| {c[0]} / {c[1]} / {c[2]} | {r['projected_simgd_residual']:.2e} "
                f"| {r['projected_extragradient_residual']:.2e} |"
            )
        out.append("")
    return "\n".join(out)
