"""Figures for reports: eigenvalue planes and stability over learning-rate grids.

matplotlib is optional (``pip install jaxgan[plots]``); every function here imports it
lazily and uses the non-interactive Agg backend.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from ._core.status import RESULTS


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_eigenvalue_plane(ax, eigenvalues, *, label=None, marker="o"):
    """Eigenvalues in the complex plane with the stability boundary ``Re = 0``."""
    lam = np.asarray(eigenvalues)
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.axhline(0.0, color="0.85", lw=0.8)
    ax.scatter(lam.real, lam.imag, marker=marker, label=label, zorder=3)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")


def plot_stability_over_lr(ax, lrs, radius: Dict[str, np.ndarray], status: Dict[str, np.ndarray]):
    """Spectral radius of the update map against the learning rate, one line per algorithm.

    The empirical outcome of each run is marked (filled: converged)."""
    lrs = np.asarray(lrs)
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    undrawn = [
        name for name, rho in radius.items() if not np.any(np.isfinite(np.asarray(rho, float)))
    ]
    for name, rho in radius.items():
        if name in undrawn:  # no finite radius: not in the legend, named below instead
            continue
        (line,) = ax.plot(lrs, rho, label=name)
        conv = np.asarray(status[name]) == 0
        ax.scatter(lrs[conv], np.asarray(rho)[conv], color=line.get_color(), s=14, zorder=3)
        ax.scatter(
            lrs[~conv],
            np.asarray(rho)[~conv],
            facecolors="none",
            edgecolors=line.get_color(),
            s=14,
            zorder=3,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    finite = [np.asarray(r, float)[np.isfinite(np.asarray(r, float))] for r in radius.values()]
    low = min([float(f.min()) for f in finite if f.size] or [1.0])
    ax.set_ylim(
        min(0.9 * low, 0.9), 3.0
    )  # the interesting region is around 1; above 3 runs blow up
    import matplotlib.ticker as ticker

    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    lo, hi = ax.get_ylim()
    ticks = [t for t in (1e-3, 1e-2, 0.03, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0) if lo <= t <= hi]
    ax.yaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    if undrawn:
        ax.text(
            0.01,
            0.02,
            "not drawn (no finite radius at the equilibrium): " + ", ".join(undrawn),
            transform=ax.transAxes,
            fontsize=7,
            color="0.3",
        )
    ax.set_xlabel("learning rate")
    ax.set_ylabel("spectral radius per step")


def _edges(values, log):
    v = np.log10(values) if log else np.asarray(values, float)
    if v.size == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return 10**e if log else e


def plot_stability_map(ax, lrs, values, radius, status, *, axis_name=None, title=None):
    """A stability map: ``log10`` of the one-step spectral radius over a grid.

    The grid is (learning rate, hyperparameter); blue where the radius is below one, red above,
    grey where undefined, with the runs of the same grid marked (dot: converged, cross: not)."""
    lrs = np.asarray(lrs, float)
    rho = np.array(radius, dtype=float).reshape(lrs.size, -1)
    status = np.asarray(status).reshape(rho.shape)
    ny = rho.shape[1]
    y = np.arange(ny, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logr = np.clip(np.log10(rho), -0.5, 0.5)
    import matplotlib
    import matplotlib.ticker

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.8")
    mesh = ax.pcolormesh(
        _edges(lrs, True),
        _edges(y, False),
        np.ma.masked_invalid(logr).T,
        cmap=cmap,
        vmin=-0.5,
        vmax=0.5,
        shading="flat",
    )
    conv = status == RESULTS.converged
    gx, gy = np.meshgrid(lrs, y, indexing="ij")
    ax.scatter(gx[conv], gy[conv], s=5, c="k", marker="o", lw=0)
    ax.scatter(gx[~conv], gy[~conv], s=9, c="k", marker="x", lw=0.6)
    ax.set_xscale("log")
    # decades only: the cells are the grid's points (and minor ticks cost most of a page's drawing)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_yticks(y)
    ax.set_yticklabels([f"{v:g}" for v in values] if axis_name else [""])
    ax.set_ylabel(axis_name or "")
    ax.set_xlabel("learning rate")
    if title:
        ax.set_title(title, fontsize=9)
    return mesh


def plot_refinement(ax, algorithms: Dict[str, dict]):
    """Refinement errors against the learning rate, log-log, with a slope-one guide.

    The errors are to the flow, or between successive learning rates; first-order methods run
    parallel to the guide."""
    for name, r in algorithms.items():
        ref = r.get("refinement") or {}
        errs = ref.get("errors_to_flow") or ref.get("gaps")
        if not errs:
            continue
        etas = np.asarray(ref["etas"][: len(errs)], float)
        errs = np.asarray([np.nan if e is None else e for e in errs], float)
        ok = np.isfinite(errs) & (errs > 0)
        if ok.sum() >= 2:
            ax.plot(etas[ok], errs[ok], "o-", ms=3, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    import matplotlib.ticker as ticker

    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    lo, hi = ax.get_xlim()
    if np.isfinite(lo) and lo > 0:
        ylo, yhi = ax.get_ylim()
        xs = np.array([lo, hi])
        ax.plot(xs, np.sqrt(ylo * yhi) * xs / np.sqrt(lo * hi), "k:", lw=0.8, label="slope 1")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("refinement error")
    # below the panel, not over its lines: one entry per algorithm can fill the axes
    ax.legend(fontsize=5, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)


_CODE_OF_NAME = {r.label: int(r) for r in RESULTS}


def _decoded_grids(r):
    """An algorithm's report grids as arrays: the radius (``None``, undefined, as NaN) and
    the run outcomes as ``RESULTS`` codes."""
    rho = np.array([[np.nan if x is None else x for x in row] for row in r["radius"]], float)
    st = np.array([[_CODE_OF_NAME[s] for s in row] for row in r["status"]])
    return rho, st


def game_report_figure(path, title: str, entry: dict):
    """One game's page of the report: eigenvalues, radius, refinement and stability maps.

    The page shows the field eigenvalues, the one-step radius against the learning rate
    (default hyperparameters, run outcomes marked), the refinement errors, and the stability
    map of every algorithm."""
    plt = _plt()
    algs = entry["algorithms"]
    ncol = 4
    nmap = -(-len(algs) // ncol)
    fig = plt.figure(figsize=(15, 3.6 * (1 + nmap)))
    grid = fig.add_gridspec(1 + nmap, ncol)
    lrs = np.asarray(entry["learning_rates"], float)
    eig = np.asarray(entry["eigenvalues"], float)
    ax = fig.add_subplot(grid[0, 0])
    plot_eigenvalue_plane(ax, eig[:, 0] + 1j * eig[:, 1])
    ax.set_title(f"{title}: field eigenvalues", fontsize=9)
    grids = {name: _decoded_grids(r) for name, r in algs.items()}
    radius, status = {}, {}
    for name, r in algs.items():
        col = int(np.argmin(np.abs(np.asarray(r["values"]) - r["default"])))
        radius[name], status[name] = grids[name][0][:, col], grids[name][1][:, col]
    ax = fig.add_subplot(grid[0, 1:3])
    plot_stability_over_lr(ax, lrs, radius, status)
    ax.set_title("one-step spectral radius (dots: runs, filled = converged)", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(
            fontsize=6, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False
        )
    ax = fig.add_subplot(grid[0, 3])
    plot_refinement(ax, algs)
    ax.set_title("learning-rate refinement", fontsize=9)
    mesh = None
    for i, (name, r) in enumerate(algs.items()):
        ax = fig.add_subplot(grid[1 + i // ncol, i % ncol])
        rho, st = grids[name]
        agree = r["map_agreement"]
        if r.get("not_applicable"):
            why = "H_tt singular" if "singular" in r["not_applicable"] else "undefined"
            title = f"{name}: radius n/a ({why})"
        else:
            title = f"{name}: map vs runs agree {agree[0]}/{agree[1]}"
        mesh = plot_stability_map(ax, lrs, r["values"], rho, st, axis_name=r["axis"], title=title)
    fig.subplots_adjust(hspace=0.85, wspace=0.3, left=0.05, right=0.91, top=0.95, bottom=0.06)
    if mesh is not None:
        cbar = fig.colorbar(mesh, cax=fig.add_axes([0.93, 0.1, 0.012, 0.45]))
        cbar.set_label("log10 spectral radius (grey: undefined)")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


__all__ = [
    "game_report_figure",
    "have_matplotlib",
    "plot_eigenvalue_plane",
    "plot_refinement",
    "plot_stability_map",
    "plot_stability_over_lr",
]
