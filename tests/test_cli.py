import json
import os

import pytest

from jaxgan import cli

USER_GAME = '''
import jax.numpy as jnp
import jaxgan as jg
# min_x max_y x^2/2 + 2 x y - y^2/4: stable flow, eigenvalues -3/8 +- i sqrt(...)
game = jg.zero_sum(lambda x, y: 0.5 * x**2 + 2.0 * x * y - 0.25 * y**2,
                   equilibrium=jg.Joint(jnp.array(0.0), jnp.array(0.0)))
'''


def test_main_job_small_grid(tmp_path, capsys):
    out = tmp_path / "report"
    rc = cli.main(["--game", "dirac-standard", "--game", "linear-gaussian", "--num-lr", "6", "--steps", "400",
                   "--algorithm", "simgd", "--algorithm", "alternating", "--algorithm", "jare", "--stonr", "none",
                   "--out", str(out)])
    assert rc == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "dirac-standard" in text and "linear-gaussian" in text and "alternating" in text
    assert "6/6 linear-gaussian" in captured.err or "6/6 " in captured.err  # progress
    report = json.loads((out / "report.json").read_text())
    dirac = report["games"]["dirac-standard"]
    assert dirac["stable_simgd_step"] == 0.0 and not dirac["flow_stable"]
    simgd = dirac["algorithms"]["simgd"]
    assert simgd["converged"] == 0  # Lemma 2.4: SimGD never converges on the Dirac-GAN
    lg = report["games"]["linear-gaussian"]
    assert lg["flow_stable"] and abs(lg["stable_simgd_step"] - 2.0) < 1e-9  # 2 sigma^2 (Corollary 1)
    lg_simgd = lg["algorithms"]["simgd"]
    assert lg_simgd["converged"] >= 1
    assert lg_simgd["agree_1d"][0] == lg_simgd["agree_1d"][1] > 0  # verdicts agree away from the boundary
    agree, compared = lg["algorithms"]["jare"]["map_agreement"]
    assert compared >= 20 and agree >= compared - 1
    # the map spans the TTUR ratio for SimGD: 6 learning rates x 5 ratios
    assert len(lg_simgd["radius"]) == 6 and len(lg_simgd["radius"][0]) == 5
    assert lg_simgd["refinement"]["verdict"] in ("resolved", "resolved (gaps below tolerance, order not measured)", "first order, not yet resolved", "not resolved")
    md = (out / "report.md").read_text()
    assert "## linear-gaussian" in md and "| jare |" in md and "![linear-gaussian]" in md
    assert os.path.exists(out / "linear-gaussian.png") and os.path.exists(out / "dirac-standard.png")


def test_main_job_user_game_file(tmp_path, capsys):
    path = tmp_path / "my_game.py"
    path.write_text(USER_GAME)
    out = tmp_path / "report"
    rc = cli.main(["--game-file", str(path), "--num-lr", "4", "--steps", "200", "--algorithm", "simgd",
                   "--stonr", "none", "--no-plot", "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert list(report["games"]) == ["my_game"]
    # A = [[-1, -2], [2, -1/2]]: eigenvalues -3/4 +- i sqrt(4 - 1/16)
    eig = sorted(report["games"]["my_game"]["eigenvalues"])
    assert abs(eig[0][0] + 0.75) < 1e-12 and abs(abs(eig[0][1]) - (4 - 1 / 16) ** 0.5) < 1e-12


def test_main_job_rejects_bad_options(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--game", "nope"])
    with pytest.raises(SystemExit):
        cli.main(["--lr-min", "1", "--lr-max", "0.1"])
    assert "lr-min" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --steps 10 is rounded (to 16), so the bad game name fails
        cli.main(["--steps", "10", "--game", "nope"])
    bad = tmp_path / "bad.py"
    bad.write_text("import jaxgan as jg\ngame = jg.zero_sum(lambda x, y: x * y)\n")
    with pytest.raises(SystemExit):
        cli.main(["--game-file", str(bad)])
    assert "no equilibrium" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--game-file", str(tmp_path / "missing.py")])
    assert "no such file" in capsys.readouterr().err


def test_main_job_keeps_its_compiled_programs_in_the_cache_folder(tmp_path, capsys):
    import jax

    cache = tmp_path / "xla"
    before = jax.config.jax_compilation_cache_dir
    jax.jit(lambda x: x + 1.5)(1.0)  # this process compiled before the cache was switched on
    try:
        rc = cli.main(["--game", "dirac-wgan", "--algorithm", "simgd", "--num-lr", "3", "--steps", "80",
                       "--stonr", "none", "--no-plot", "--workers", "1", "--compile-cache-dir", str(cache),
                       "--out", str(tmp_path / "report")])
        assert rc == 0
        assert jax.config.jax_compilation_cache_dir == str(cache)
        assert any(cache.iterdir())  # the programs were written for the next run
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
        from jax._src import compilation_cache

        compilation_cache.reset_cache()
    assert cli.default_cache_dir().endswith(os.path.join("jaxgan", "xla"))


def test_main_job_runs_its_analyses_in_worker_processes_with_the_same_numbers(tmp_path, capsys):
    args = ["--game", "dirac-wgan", "--algorithm", "simgd", "--algorithm", "consensus+alternating", "--num-lr", "4",
            "--steps", "80", "--stonr", "none", "--no-plot", "--no-compile-cache"]
    assert cli.main(args + ["--workers", "2", "--out", str(tmp_path / "a")]) == 0
    assert cli.main(args + ["--workers", "1", "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "report.json").read_text())["games"]
    b = json.loads((tmp_path / "b" / "report.json").read_text())["games"]
    assert a == b


def test_bad_options_and_files_fail_before_any_work(tmp_path, capsys):
    bad = tmp_path / "bad_game.py"
    bad.write_text("import jaxgan as jg\nx = 1\ngame = undefined_name\n")
    for argv, message in (
        (["--game-file", str(bad)], "bad_game.py:3: NameError: name 'undefined_name' is not defined"),
        (["--lr-max", "inf"], "--lr-max must be finite"),
        (["--offset", "nan"], "--offset must be finite"),
        (["--workers", "0"], "must be positive"),
        (["--out", str(bad / "x")], "is not writable"),
    ):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv + ([] if "--out" in argv else ["--out", str(tmp_path / "r")]))
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("jaxgan: error: ") and message in err, err


def test_any_step_count_strict_json_and_stonr_only_when_no_game_is_chosen(tmp_path, capsys):
    out = tmp_path / "r"
    rc = cli.main(["--game", "dirac-standard", "--algorithm", "simgd", "--num-lr", "3", "--steps", "101",
                   "--no-plot", "--out", str(out)])
    assert rc == 0
    assert "rounded up to 104" in capsys.readouterr().err
    text = (out / "report.json").read_text()

    def refuse(constant):
        raise ValueError(constant)

    report = json.loads(text, parse_constant=refuse)  # no NaN or Infinity
    assert report["settings"]["steps"] == 104 and "stonr" not in report  # a game was chosen: no STON'R
    assert not [p for p in os.listdir(tmp_path) if "staging" in p]


def test_stale_figures_are_removed(tmp_path):
    out = tmp_path / "r"
    common = ["--algorithm", "simgd", "--num-lr", "3", "--steps", "80", "--no-refinement", "--stonr", "none", "--out", str(out)]
    assert cli.main(["--game", "dirac-standard", "--game", "turinici"] + common) == 0
    assert (out / "turinici.png").exists()
    (out / "notes.txt").write_text("mine")
    assert cli.main(["--game", "dirac-standard"] + common) == 0
    assert not (out / "turinici.png").exists() and (out / "dirac-standard.png").exists()
    assert (out / "notes.txt").read_text() == "mine"  # files the report did not write are left alone


def test_ctrl_c_stops_within_seconds_and_leaves_the_folder_as_it_was(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "r"
    small = ["--game", "dirac-standard", "--algorithm", "simgd", "--num-lr", "3", "--steps", "80", "--no-refinement",
             "--stonr", "none", "--no-compile-cache", "--out", str(out)]
    assert cli.main(small) == 0
    before = {p: (out / p).read_bytes() for p in os.listdir(out)}
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    # a test runner's worker may ignore SIGINT, and a child inherits that: restore the default so
    # that Python installs its KeyboardInterrupt handler, as in a terminal
    proc = subprocess.Popen([sys.executable, "-m", "jaxgan", "--no-compile-cache", "--steps", "4000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(12)  # imports done, workers started and compiling
        assert proc.poll() is None
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert elapsed < 10, elapsed
    assert "interrupted" in err
    after = {p: (out / p).read_bytes() for p in os.listdir(out)}
    assert after == before  # untouched: the new report was staged beside it and never committed
    assert not [p for p in os.listdir(tmp_path) if "staging" in p]
