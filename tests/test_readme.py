"""The README's example runs and says what it claims; .ci/run runs the README's test command;
the docs pages' examples run (the front page and getting started show the README's example)."""

import pathlib
import re

import jax
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _section(text, heading):
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading.split(" ")[0])
    lines, fenced = [], False
    for line in text.split(heading + "\n", 1)[1].splitlines(keepends=True):
        fenced ^= line.startswith("```")
        if not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        lines.append(line)
    return "".join(lines)


def test_readme_example_runs_and_agrees_with_theory(capsys):
    text = (ROOT / "README.md").read_text()
    code = _python_blocks(text)[0]
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


def test_the_docs_show_the_readme_example_and_commands_verbatim():
    """The front page and getting started repeat the README's example (run above), and getting
    started its two set-up commands; the front page shows the install line."""
    readme = (ROOT / "README.md").read_text()
    example = _python_blocks(readme)[0]
    index = (DOCS / "index.md").read_text()
    start = (DOCS / "getting_started.md").read_text()
    assert example in _python_blocks(index) and example in _python_blocks(start)
    assert re.search(r"```bash\npip install -e \"\.\[plots\]\"\n```", index)
    bash = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert re.findall(r"```bash\n(.*?)\n```", start, re.S) == bash


def test_networks_as_players_example_runs(capsys):
    section = _section((DOCS / "players.md").read_text(), "## Networks as players: equinox and flax nnx")
    code = _python_blocks(section)[0]
    exec(compile(code, "docs/players.md", "exec"), {})
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["(75, 75)", "MLP True", "(75,)"], out


def test_n_player_example_runs():
    import optax

    import jaxgan as jg

    section = _section((DOCS / "players.md").read_text(), "## Games of n players")
    code = _python_blocks(section)[0]
    exec(compile(code, "docs/players.md", "exec"), {"jg": jg, "optax": optax})
