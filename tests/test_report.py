"""jaxgan.report: the report's numbers (record intervals, measured rates, the field spectrum,
one algorithm's map and runs) against closed forms, and its strict JSON."""

import json

import numpy as np
import pytest

import jaxgan as jg
from jaxgan import report


def test_record_every_gives_about_a_hundred_records_and_respects_the_multiple():
    assert report.record_every(1000) == 10
    assert report.record_every(250) == 2
    assert report.record_every(50) == 1
    assert report.record_every(1000, 8) == 5  # 1000 / 8 = 125 rounds of 8: 5 divides 125, 10 does not
    assert (1000 // 8) % report.record_every(1000, 8) == 0
    with pytest.raises(ValueError, match=r"record_every: 8 must divide steps \(1001\)"):
        report.record_every(1001, 8)


def test_measured_rates_of_geometric_runs_are_their_ratios():
    # d_k = d_0 rho^(k * every): the measured per-step rate is rho, for contraction, growth and a
    # run that reaches the rounding floor (rate taken before the floor)
    every, k = 3, np.arange(40)
    rhos = np.array([0.9, 1.05, 0.3])
    distance = 2.0 * rhos[:, None] ** (k[None, :] * every)
    distance[2, 20:] = distance[2, 19] * 1e-3  # stalls: rounding or an inner solver's tolerance
    np.testing.assert_allclose(report.measured_rates(distance, every), rhos, rtol=1e-12)
    # a run that overflows: its rate before the first non-finite record, above one
    grow = 1.5 ** (k * every)
    grow[25:] = np.inf
    np.testing.assert_allclose(report.measured_rates(grow[None, :], every), [1.5], rtol=1e-12)


def test_strict_json_has_no_nan_or_infinity():
    value = {"a": [1.0, float("nan"), np.float32(np.inf)], "b": (np.int64(3), np.bool_(True)), "c": "ok"}
    out = report.strict_json(value)
    assert out == {"a": [1.0, None, None], "b": [3, True], "c": "ok"}
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_analyse_game_gives_the_field_spectrum_of_the_dirac_gan():
    # Mescheder et al. 2018, Lemma 2.2: the Dirac-GAN field's Jacobian at (0, 0) has eigenvalues
    # +-i f'(0), f'(0) = 1/2 for the standard loss; purely imaginary, so the flow is not stable
    entry = report.analyse_game(jg.games.dirac("standard"))
    eig = sorted(map(tuple, entry["eigenvalues"]), key=lambda z: z[1])
    np.testing.assert_allclose(eig, [(0.0, -0.5), (0.0, 0.5)], atol=1e-12)
    assert entry["flow_stable"] is False
    json.dumps(entry, allow_nan=False)


def test_analyse_algorithm_map_and_runs_on_a_linear_game_match_the_closed_form():
    # f = x^2/2 + x y - y^2/2: xi = J w with J = [[1, 1], [-1, 1]] (eigenvalues 1 +- i); SimGD at
    # lr_d/lr_g = 1 has radius |1 - lr (1 +- i)| = sqrt((1 - lr)^2 + lr^2), below one for lr < 1.
    # J is normal, so every run contracts its distance by exactly that factor per step.
    game = jg.games.quadratic(1.0, 1.0, 1.0)
    lrs = np.array([0.1, 0.5, 0.9, 1.2])
    alg = report.builtin_algorithms()["simgd"]
    row = report.analyse_algorithm(game, alg, lrs, steps=256, offset=0.5, refine=False, tune=True)
    col = row["values"].index(1.0)
    rho = np.sqrt((1 - lrs) ** 2 + lrs**2)
    np.testing.assert_allclose([r[col] for r in row["radius"]], rho, rtol=1e-12)
    assert [s[col] for s in row["status"]] == ["converged", "converged", "converged", "grew"]
    assert row["best_lr"] == 0.5 and row["min_radius"] == pytest.approx(np.sqrt(0.5), rel=1e-12)
    assert row["measured_rate_at_best"] == pytest.approx(np.sqrt(0.5), rel=1e-9)
    assert row["map_agreement"][0] == row["map_agreement"][1]  # the map and the runs agree off the margin
    assert row["outcomes"] == {"converged": 3, "bounded": 0, "grew": 1, "non-finite": 0}
    assert "not_applicable" not in row
    # stability ends at lr = 1 (|1 - lr (1 +- i)| = 1): between the grid's 0.9 and 1.2, a complex pair
    assert row["crossings"] == [{"between": [0.9, 1.2], "kind": "neimark_sacker", "stable_below": True}]
    # the tuned column: TTUR's step [[1 - lr, -lr], [r lr, 1 - r lr]] has det 1 - lr (1 + r) + 2 r lr^2,
    # least at lr = (1 + r) / (4 r) and largest r: over the map's box (r <= 4) rho* = sqrt(7/32) at
    # lr 5/16, r 4, with complex roots (so rho = sqrt(det))
    tuned = row["tuned"]
    assert tuned["radius"] == pytest.approx(np.sqrt(7 / 32), abs=1e-9)
    assert tuned["hyperparams"]["lr"] == pytest.approx(5 / 16, abs=1e-6)
    assert tuned["hyperparams"][alg.axis] == pytest.approx(4.0, abs=1e-6)
    assert tuned["map_radius"] == pytest.approx(row["min_radius"]) or tuned["map_radius"] <= row["min_radius"]


def test_analyse_algorithm_of_lookahead_uses_the_cycle_rate_and_agrees_with_the_runs():
    # x*y: SimGD M = [[1, -lr], [lr, 1]]; lookahead's cycle C = (1 - a) I + a M^k, per-step rate rho(C)^(1/k)
    game = jg.games.bilinear(1.0)
    lrs = np.array([0.1, 0.5, 1.0, 3.0])
    alg = report.builtin_algorithms()["lookahead"]
    row = report.analyse_algorithm(game, alg, lrs, steps=400, offset=0.5, refine=False)
    col = row["values"].index(alg.default)
    from jaxgan.report._registry import SYNC_PERIOD

    k, a = SYNC_PERIOD, alg.default
    expected = [np.max(np.abs(np.linalg.eigvals((1 - a) * np.eye(2) + a * np.linalg.matrix_power(
        np.array([[1.0, -lr], [lr, 1.0]]), k)))) ** (1 / k) for lr in lrs]
    np.testing.assert_allclose([r[col] for r in row["radius"]], expected, rtol=1e-10)
    assert row["agree_1d"][0] == row["agree_1d"][1] and row["map_agreement"][0] == row["map_agreement"][1]
    assert row["measured_rate_at_best"] == pytest.approx(row["min_radius"], rel=2e-2)


def test_the_report_on_an_n_player_game_marks_two_player_methods_and_measures_the_others():
    # Cournot of 3 firms, b = 1: SimGD's radius at lr is max |1 - lr|, |1 - 4 lr| (closed form),
    # its runs agree with it, JARE has no n-player form and says why
    game = jg.games.cournot(3, b=1.0)
    algorithms = report.builtin_algorithms()
    lrs = np.array([0.1, 0.3, 0.6])
    rows = {name: report.analyse_pair(game, name, algorithms[name], lrs, steps=64, offset=0.5, refine=False)
            for name in ("simgd", "jare", "alternating")}
    want = np.maximum(np.abs(1 - lrs), np.abs(1 - 4 * lrs))
    np.testing.assert_allclose([r[0] for r in rows["simgd"]["radius"]], want, atol=1e-10)
    assert rows["simgd"]["axis"] is None
    assert [r[0] for r in rows["simgd"]["status"]][:2] == ["converged", "converged"]
    assert rows["simgd"]["status"][2][0] in ("grew", "non-finite")
    assert rows["jare"] == {"players_not_applicable": rows["jare"]["players_not_applicable"], "axis": "gamma"}
    assert "defined for two players" in rows["jare"]["players_not_applicable"]
    assert rows["alternating"]["axis"] is None  # Gauss-Seidel in the order 0, 1, 2: one learning rate
    entry = {"learning_rates": lrs.tolist(), "algorithms": rows, **report.analyse_game(game)}
    assert entry["players"] == 3 and entry["player_sizes"] == [1, 1, 1]
    np.testing.assert_allclose(entry["block_norms"], [[2, 1, 1], [1, 2, 1], [1, 1, 2]], atol=1e-12)
    text = report.markdown({"games": {"cournot-3": entry}})
    assert "| jare | n/a |" in text and "not applicable to 3 players, defined for two players" in text
    assert "3 players of sizes 1, 1, 1" in text
    lines = report.table_rows({"games": {"cournot-3": entry}})
    assert any("jare" in line and "n/a for 3 players" in line for line in lines)
    assert report.n_player_form("lola", algorithms["lola"], 3) is algorithms["lola"]
    assert report.n_player_form("simgd", algorithms["simgd"], 2) is algorithms["simgd"]


def test_the_report_s_averages_of_cycling_runs_match_the_closed_form():
    """Alternating GD on x y (default order: discriminator first) is the linear map
    M = [[1 - lr^2, -lr], [lr, 1]] with |eig| = 1 for lr < 2: the runs cycle and never converge, and
    the uniform average of w_1..w_T is (1/T) (I - M)^-1 (M - M^(T+1)) w_0. The report counts the runs
    whose average ends within 1% of the start's distance, against that closed form."""
    game = jg.games.bilinear(1.0)
    lrs, steps, offset = np.array([0.05, 0.3, 0.9, 1.5]), 400, 0.5
    alg = report.builtin_algorithms()["alternating"]
    row = report.analyse_algorithm(game, alg, lrs, steps=steps, offset=offset, refine=False)
    col = row["values"].index(alg.default)
    assert [s[col] for s in row["status"]] == ["bounded"] * 4
    w0 = np.array([offset, offset])
    settled = 0
    for lr in lrs:
        M = np.array([[1 - lr**2, -lr], [lr, 1.0]])
        mean = np.linalg.solve(np.eye(2) - M, (M - np.linalg.matrix_power(M, steps + 1)) @ w0) / steps
        settled += np.linalg.norm(mean) <= 0.01 * np.linalg.norm(w0)
    assert 0 < settled < 4  # the grid straddles the threshold: the count is not trivially all or none
    assert row["average"] == {"settled": settled, "settled_not_converged": settled, "fraction": 0.01}


def test_the_profile_counts_each_second_once_in_its_innermost_phase():
    """``--profile``'s phases: a span's seconds less those of the spans nested in it, per thread
    (a trace that compiles a program counts that compile as compile, not as trace too)."""
    from jaxgan.report._profile import exclusive_seconds

    spans = [("trace", 1, 0.0, 10.0), ("compile", 1, 2.0, 5.0), ("trace", 1, 6.0, 7.0),
             ("lower", 1, 7.5, 8.0), ("compile", 1, 11.0, 12.0), ("lower", 2, 0.0, 4.0)]
    assert exclusive_seconds(spans) == {"trace": 6.5, "lower": 4.5, "compile": 4.0}
