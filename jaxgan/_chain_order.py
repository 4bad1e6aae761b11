"""The order of a chain: jaxgan's field corrections must receive the field ``xi`` itself.

A correction (``consensus``, ``jare``, ``sga``, ``follow_the_ridge``) and ``alternating``
read their incoming ``updates`` as the simultaneous gradient ``xi(w)``; placed after a
learning-rate scaling (``optax.chain(optax.sgd(lr), jg.jare(1.0))``) they would add an
unscaled correction to ``-lr * xi`` and run without complaint. jaxgan's entry points
(``make_step``, hence ``rollout``, ``sweep``, ``update_jacobian``; ``corrected_field``,
hence spectra with ``transform=``) therefore trace the chain once, abstractly
(``jax.eval_shape``: no computation), with the extra argument
``jaxgan_field_probe=xi``. Every correction then checks that the ``updates`` it receives
are *that very object* and returns them untouched, so the corrections after it see it
too; any stage before it that rewrote the updates (a scaling, a clip, an optimiser)
built a new pytree and is caught. Composite transforms that feed their inner chain a
vector of their own (``extragradient``'s look-ahead field, ``best_response``'s projected
field) hand that vector on as the probe.

A call of ``tx.update`` without the probe (a user's own loop) is not checked.
"""

from __future__ import annotations

from typing import Any, Dict

import jax

FIELD_PROBE = "jaxgan_field_probe"


def probe_received(updates, extra_args: Dict[str, Any], where: str) -> bool:
    """In a probe trace, check that ``updates`` is the probed field and say so (``True``:
    return the updates unchanged); outside one, ``False``.

    Raises:
      ValueError: a stage before ``where`` in the chain rewrote the field.
    """
    probe = extra_args.get(FIELD_PROBE)
    if probe is None:
        return False
    if updates is not probe:
        raise ValueError(
            f"{where} must come first in the optax chain, before any learning-rate scaling or optimiser: it "
            "reads its updates as the field xi, but an earlier stage already transformed them "
            f"(e.g. `optax.chain(optax.sgd(lr), jg.{where}(...))`). Write `optax.chain(jg.{where}(...), "
            "optax.sgd(lr))`; several corrections may be chained together ahead of the optimiser."
        )
    return True


def with_probe(extra_args: Dict[str, Any], vector) -> Dict[str, Any]:
    """``extra_args`` for an inner chain fed ``vector``: in a probe trace, the probe becomes
    ``vector``; otherwise unchanged."""
    if FIELD_PROBE not in extra_args:
        return extra_args
    return {**extra_args, FIELD_PROBE: vector}


def check_chain_order(tx, xi, state, params, **extra_args) -> None:
    """Trace ``tx.update`` once with the field probe (shapes only, nothing runs); raises
    the corrections' ``ValueError`` if one is placed after a stage that rewrote ``xi``."""

    def probe(xi_, state_, params_):
        return tx.update(xi_, state_, params_, **extra_args, **{FIELD_PROBE: xi_})

    jax.eval_shape(probe, xi, state, params)
