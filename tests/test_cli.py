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
                   "--tune", "--out", str(out)])
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
    # --tune: the least radius over the map's box, at most the map's least, where the search says
    tuned = lg_simgd["tuned"]
    assert tuned["radius"] <= min(x for row in lg_simgd["radius"] for x in row if x is not None) + 1e-12
    assert set(tuned["hyperparams"]) == {"lr", lg_simgd["axis"]} and "tuned rho (at)" in text
    assert lg_simgd["refinement"]["verdict"] in ("resolved", "resolved (gaps below tolerance, order not measured)", "first order, not yet resolved", "not resolved")
    md = (out / "report.md").read_text()
    assert "## linear-gaussian" in md and "| jare |" in md and "![linear-gaussian]" in md
    assert os.path.exists(out / "linear-gaussian.png") and os.path.exists(out / "dirac-standard.png")


def test_main_job_user_game_file(tmp_path, capsys):
    path = tmp_path / "my_game.py"
    path.write_text(USER_GAME)
    out = tmp_path / "report"
    rc = cli.main(["--game-file", str(path), "--num-lr", "4", "--steps", "200", "--algorithm", "simgd",
                   "--stonr", "none", "--no-plot", "--profile", "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert list(report["games"]) == ["my_game"]
    # --profile: a row per phase; this run compiled programs and drew nothing
    table = capsys.readouterr().out.split("profile: seconds by phase, summed over 3 process(es)")[1].splitlines()
    rows = {line.split()[0]: line.split() for line in table[2:] if line.strip()}
    assert list(rows) == ["trace", "lower", "compile", "run", "plot", "write", "total"]
    assert float(rows["compile"][1]) > 0 and int(rows["compile"][3]) > 0 and float(rows["plot"][1]) == 0
    assert abs(sum(float(rows[p][1]) for p in list(rows)[:-1]) - float(rows["total"][1])) < 0.35
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
        from jax.experimental.compilation_cache import compilation_cache

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
    import select
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
        # the banner is printed (flushed) when the imports are done and the runs start; a second
        # later the workers are compiling
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready and proc.stdout.readline().startswith("jaxgan: ")
        time.sleep(2)
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


# --------------------------------------------------------------------------- every way a run can end


SMALL = ["--algorithm", "simgd", "--num-lr", "3", "--steps", "80", "--no-refinement", "--stonr", "none",
         "--no-compile-cache", "--no-plot"]


def _refused(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err, err
    return err


def test_meaningless_starts_and_game_files_are_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "new" / "report"
    _refused(capsys, ["--game", "dirac-standard", "--offset", "0", "--out", str(out)] + SMALL,
             "--offset 0 starts every run at the equilibrium")
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(0)\n")
    _refused(capsys, ["--game-file", str(exits), "--out", str(out)] + SMALL, "the file exited (sys.exit(0))")
    moved = tmp_path / "moved.py"
    moved.write_text(USER_GAME.replace("jg.Joint(jnp.array(0.0), jnp.array(0.0))", "jg.Joint(jnp.array(0.5), jnp.array(0.0))"))
    # xi(0.5, 0) = (x + 2y, -(2x - y/2)) = (0.5, -1): |xi| = sqrt(1.25)
    _refused(capsys, ["--game-file", str(moved), "--out", str(out)] + SMALL, "|xi(w*)| = 1.12")
    assert not (tmp_path / "new").exists()  # nothing created by a refused run


def test_games_whose_names_collide_get_one_figure_each(tmp_path):
    from jaxgan.report._render import figure_names

    assert figure_names(["a b", "a_b", "A_B", "c"]) == {"a b": "a_b.png", "a_b": "a_b-2.png", "A_B": "A_B-3.png",
                                                        "c": "c.png"}
    path = tmp_path / "two.py"
    path.write_text(USER_GAME + "\ngames = {'my game': game, 'my_game': game}\n")
    out = tmp_path / "r"
    argv = ["--game-file", str(path), "--out", str(out)] + [a for a in SMALL if a != "--no-plot"]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    figures = [e.get("figure") for e in report["games"].values()]
    if all(figures):  # matplotlib installed
        assert sorted(figures) == ["my_game-2.png", "my_game.png"]
        assert sorted(p for p in os.listdir(out) if p.endswith(".png")) == sorted(figures)


def test_sigterm_stops_the_workers_and_leaves_no_folder_behind(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "fresh" / "r"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.Popen([sys.executable, "-m", "jaxgan", "--no-compile-cache", "--steps", "4000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def children():
        kids = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as fh:
                        if int(fh.read().rsplit(")", 1)[1].split()[1]) == proc.pid:
                            kids.append(int(pid))
                except (OSError, IndexError, ValueError):
                    pass
        return kids

    try:
        workers = []
        for _ in range(60):  # imports done, workers started
            time.sleep(0.5)
            workers = children()
            if len(workers) >= 2:
                break
        time.sleep(2)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, err[-2000:]
    assert err.strip().splitlines()[-1] == "jaxgan: terminated (SIGTERM); the output folder was left as it was"
    assert workers, "no worker process was seen"
    time.sleep(1)
    alive = []
    for pid in workers:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.append(pid)
        except OSError:
            pass
    assert not alive, f"worker processes left running: {alive}"
    assert not (tmp_path / "fresh").exists()  # no output folder, no staging folder
    assert not [p for p in os.listdir(tmp_path) if "staging" in p]
