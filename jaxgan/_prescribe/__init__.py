"""Prescriptions: the best hyperparameters of a step (``tune``), the worst case over a class of
games (``families``, ``worst_case_radius``), the critical timescale of tau-GDA
(``critical_timescale``) and the stationary covariance that gradient noise leaves around an
equilibrium (``noise_ball``).

Imports: the core, validation and analysis.
"""
