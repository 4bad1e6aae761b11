"""Analysis: Jacobians, spectra, the structure of a step's map and its radius, Krylov methods,
densities, certificates, equilibria, the best-response manifold and linear solves.

Imports: the core, validation and ``_jaxpr``.
"""
