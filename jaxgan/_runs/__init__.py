"""Runs: rollouts and sweeps (``lax.scan``, ``vmap``, sharding), stability maps and measured
rates.

Imports: the core, validation, analysis and ``_jaxpr``.
"""
