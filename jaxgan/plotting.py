"""Figures for reports: eigenvalue planes and stability over learning-rate grids.

matplotlib is optional (``pip install jaxgan[plots]``); every function here imports it
lazily and uses the non-interactive Agg backend.
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np


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
    """Spectral radius of the update map against the learning rate, one line per
    algorithm, with the empirical outcome of each run marked (filled: converged)."""
    lrs = np.asarray(lrs)
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    for name, rho in radius.items():
        (line,) = ax.plot(lrs, rho, label=name)
        conv = np.asarray(status[name]) == 0
        ax.scatter(lrs[conv], np.asarray(rho)[conv], color=line.get_color(), s=14, zorder=3)
        ax.scatter(lrs[~conv], np.asarray(rho)[~conv], facecolors="none", edgecolors=line.get_color(), s=14, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    low = min(float(np.nanmin(np.asarray(r))) for r in radius.values())
    ax.set_ylim(min(0.9 * low, 0.9), 3.0)  # the interesting region is around 1; above 3 runs blow up
    ax.set_xlabel("learning rate")
    ax.set_ylabel("spectral radius of one step")


def report_figure(path, panels: Sequence[dict]):
    """One row per game: eigenvalue plane, and radius-vs-learning-rate with outcomes.

    Each panel dict has ``title``, ``eigenvalues``, ``lrs``, ``radius`` and ``status``
    (dicts keyed by algorithm).
    """
    plt = _plt()
    fig, axes = plt.subplots(len(panels), 2, figsize=(10, 3.2 * len(panels)), squeeze=False)
    for row, panel in zip(axes, panels):
        plot_eigenvalue_plane(row[0], panel["eigenvalues"])
        row[0].set_title(f"{panel['title']}: field eigenvalues")
        plot_stability_over_lr(row[1], panel["lrs"], panel["radius"], panel["status"])
        row[1].set_title(f"{panel['title']}: one-step radius (dots: runs, filled = converged)", fontsize=9)
        row[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
