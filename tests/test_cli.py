import json
import os

import pytest

from jaxgan import cli


def test_main_job_small_grid(tmp_path, capsys):
    out = tmp_path / "report"
    rc = cli.main(["--game", "dirac-standard", "--game", "linear-gaussian", "--num-lr", "6", "--steps", "400",
                   "--algorithm", "simgd", "--algorithm", "alternating", "--algorithm", "jare", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "dirac-standard" in text and "linear-gaussian" in text and "alternating" in text
    report = json.loads((out / "report.json").read_text())
    dirac = report["games"]["dirac-standard"]
    assert dirac["stable_simgd_step"] == 0.0 and not dirac["flow_stable"]
    simgd = dirac["algorithms"][0]
    assert simgd["algorithm"] == "simgd" and simgd["converged"] == 0  # Lemma 2.4: never converges
    lg = report["games"]["linear-gaussian"]
    assert lg["flow_stable"] and abs(lg["stable_simgd_step"] - 2.0) < 1e-9  # 2 sigma^2 (Corollary 1)
    lg_simgd = lg["algorithms"][0]
    assert lg_simgd["converged"] >= 1
    # verdicts agree away from the boundary
    agree, total = map(int, lg_simgd["agree_away_from_boundary"].split("/"))
    assert agree == total
    assert os.path.exists(out / "report.png")


def test_main_job_rejects_bad_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--game", "nope"])
    with pytest.raises(SystemExit):
        cli.main(["--lr-min", "1", "--lr-max", "0.1"])
    assert "lr-min" in capsys.readouterr().err
