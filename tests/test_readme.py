"""The README's example runs and says what it claims; .ci/run runs the README's test command."""

import pathlib
import re

import jax
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_example_runs_and_agrees_with_theory(capsys):
    text = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].strip() == "True"
    s = namespace["s"]
    # A = [[-1, -2], [2, -1/2]]: trace -3/2, det 9/2
    np.testing.assert_allclose(np.asarray(s.eigenvalues), [-0.75 - np.sqrt(3.9375) * 1j, -0.75 + np.sqrt(3.9375) * 1j], rtol=1e-12)
    np.testing.assert_allclose(float(s.stable_step), 2 * 0.75 / 4.5, rtol=1e-12)  # 2|Re| / |lambda|^2
    summary = namespace["res"].summary()
    assert summary["converged"] >= 10 and summary["converged"] < 50
    jax.config.update("jax_enable_x64", True)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert len(blocks) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1].strip() in ci


def test_readme_networks_as_players_example_runs(capsys):
    text = (ROOT / "README.md").read_text()
    section = text.split("### Networks as players")[1]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["(75, 75)", "MLP True", "(75,)"], out
