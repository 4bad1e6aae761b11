"""One vocabulary for the outcome of every run jaxgan reports, in the manner of diffrax's
``RESULTS``: ``rollout``/``sweep`` (``SweepResult.status``), STON'R (``StonrResult.status``)
and the report all use these codes and names.

A run either met its convergence test (``converged``), or reached its step cap without
meeting it, with the iterate bounded (``bounded``) or growing (``grew``), or produced a NaN
or inf (``non_finite``). The codes are plain ``int32`` arrays in results (they ``vmap`` and
shard); ``RESULTS(int(code))`` turns one into its member, ``RESULTS(int(code)).label`` into its
name.
"""

from __future__ import annotations

import enum
from typing import Dict

import numpy as np


class RESULTS(enum.IntEnum):
    """The outcome codes of a run.

    Members compare equal to their codes (``status == RESULTS.converged`` works on arrays,
    inside ``jit`` too); ``label`` is the name printed in reports, ``message`` says what the
    outcome means.

    Examples:
      >>> import jaxgan as jg
      >>> int(jg.RESULTS.converged), jg.RESULTS(3).label
      (0, 'non-finite')
      >>> jg.RESULTS.counts([0, 0, 3, 1])
      {'converged': 2, 'bounded': 1, 'grew': 0, 'non-finite': 1}
    """

    converged = 0
    bounded = 1
    grew = 2
    non_finite = 3

    @property
    def label(self) -> str:
        """The name printed in reports (``"non-finite"`` for ``non_finite``)."""
        return self.name.replace("_", "-")

    @property
    def message(self) -> str:
        """What the outcome means, in one sentence."""
        return _MESSAGES[self]

    @classmethod
    def counts(cls, status) -> Dict[str, int]:
        """How many runs ended with each outcome: ``{label: count}`` over every code."""
        status = np.asarray(status)
        return {r.label: int((status == r).sum()) for r in cls}


_MESSAGES = {
    RESULTS.converged: "the run met its convergence test "
    "(a sweep: final distance to the target at most rtol times the initial one; "
    "STON'R: every coordinate satisfied).",
    RESULTS.bounded: "the run reached its step cap without meeting the convergence test; "
    "the iterate stayed bounded.",
    RESULTS.grew: "the run reached its step cap without meeting the convergence test; "
    "the distance to the target grew.",
    RESULTS.non_finite: "a parameter became NaN or inf.",
}
