"""_status: one vocabulary of run outcomes (``jg.RESULTS``) for sweeps, STON'R and the report."""

import jax.numpy as jnp
import numpy as np
import optax

import jaxgan as jg
from jaxgan._runs.rollout import run_status
from jaxgan.report import strict_json


def test_codes_names_and_messages():
    # the public vocabulary: codes and labels, fixed (reports and JSON files store them)
    assert [(int(r), r.label) for r in jg.RESULTS] == [(0, "converged"), (1, "bounded"), (2, "grew"), (3, "non-finite")]
    assert all(jg.RESULTS(i).message.endswith(".") for i in range(4))
    assert jg.RESULTS.counts(np.array([3, 0, 0, 2])) == {"converged": 2, "bounded": 0, "grew": 1, "non-finite": 1}


def test_run_status_decides_each_outcome():
    first = jnp.array([1.0, 1.0, 1.0, 1.0])
    last = jnp.array([1e-7, 0.9, 3.0, jnp.nan])
    middle = jnp.array([0.5, 1.0, 1.5, 1.0])
    tail = jnp.array([1e-6, 1.0, 3.0, 1.0])
    finite = jnp.array([True, True, True, False])
    status = run_status(first, last, (middle, tail), finite, 1e-6)
    assert np.asarray(status).tolist() == [jg.RESULTS.converged, jg.RESULTS.bounded, jg.RESULTS.grew, jg.RESULTS.non_finite]


def test_sweeps_and_stonr_report_in_the_same_vocabulary():
    game = jg.games.dirac("wgan")
    res = jg.sweep(game, lambda h: optax.sgd(h["lr"]), jg.Joint(1.0, 0.0), {"lr": jnp.array([0.1, 1e30])}, 100)
    assert np.asarray(res.status).tolist() == [jg.RESULTS.grew, jg.RESULTS.non_finite]
    assert res.summary() == jg.RESULTS.counts(res.status)
    box = jg.Box(jg.Joint(0.0, 0.0), jg.Joint(1.0, 1.0))
    saddle = jg.zero_sum(lambda x, y: (x - 0.5) * (y - 0.5))
    done = jg.transforms.run_stonr(saddle, box)
    assert int(done.status) == jg.RESULTS.converged and done.status_name == "converged"
    capped = jg.transforms.run_stonr(saddle, box, max_steps=1)  # one iteration cannot satisfy both coordinates
    assert int(capped.status) == jg.RESULTS.bounded and capped.status_name == "bounded"


def test_report_outcomes_use_the_labels():
    counts = strict_json({"outcomes": jg.RESULTS.counts([0, 1, 1])})
    assert list(counts["outcomes"]) == [r.label for r in jg.RESULTS]
