"""jaxgan.plotting: what the figures draw is the numbers they are given (colour = clipped
log10 radius, grey where undefined, marks = run outcomes)."""

import numpy as np
import pytest

from jaxgan import plotting

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def _ax():
    return Figure().add_subplot()


def test_stability_map_colours_are_the_clipped_log_radius_and_marks_the_outcomes():
    lrs, values = np.array([0.01, 0.1, 1.0]), [0.5, 2.0]
    radius = np.array([[0.5, 0.99], [1.0, np.nan], [10.0, 1.2]])
    status = np.array([[0, 0], [1, 3], [2, 2]])
    ax = _ax()
    mesh = plotting.plot_stability_map(ax, lrs, values, radius, status, axis_name="ratio", title="t")
    data = mesh.get_array().reshape(2, 3)  # (hyperparameter, learning rate)
    expected = np.clip(np.log10(radius), -0.5, 0.5).T
    np.testing.assert_allclose(data.filled(np.nan), expected, rtol=1e-12)
    assert bool(data.mask[1, 1]) and mesh.get_clim() == (-0.5, 0.5)  # NaN radius: masked, drawn grey
    conv, other = ax.collections[1], ax.collections[2]
    np.testing.assert_allclose(conv.get_offsets(), [[0.01, 0.0], [0.01, 1.0]])
    assert len(other.get_offsets()) == 4
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.5", "2"] and ax.get_ylabel() == "ratio"


def test_stability_over_lr_names_the_algorithms_it_cannot_draw():
    ax = _ax()
    lrs = np.array([0.1, 0.2, 0.4])
    radius = {"simgd": np.array([0.9, 0.95, 1.3]), "cgd": np.array([np.nan, np.nan, np.nan])}
    status = {"simgd": np.array([0, 0, 2]), "cgd": np.array([1, 1, 1])}
    plotting.plot_stability_over_lr(ax, lrs, radius, status)
    assert [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")] == ["simgd"]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["not drawn (no finite radius at the equilibrium): cgd"]
    filled, hollow = ax.collections[0], ax.collections[1]
    np.testing.assert_allclose(filled.get_offsets(), [[0.1, 0.9], [0.2, 0.95]])
    np.testing.assert_allclose(hollow.get_offsets(), [[0.4, 1.3]])


def test_eigenvalue_plane_plots_real_against_imaginary_parts():
    ax = _ax()
    plotting.plot_eigenvalue_plane(ax, np.array([1 + 2j, -0.5 - 1j]))
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[1.0, 2.0], [-0.5, -1.0]])
