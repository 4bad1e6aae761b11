"""jaxgan: exact dynamics of two-player differentiable games (GANs first) in JAX.

Sign conventions: ``Joint(phi, theta)`` with ``phi`` the generator; ``Game(loss_g,
loss_d)`` where both players minimise their own loss; ``zero_sum(f)`` is
``min_phi max_theta f``; ``xi = (grad_phi loss_g, grad_theta loss_d)`` is what optax
consumes; the vector field is ``v = -xi`` and Jacobians and spectra are of ``v``.
"""

from . import _deprecations
from . import datasets as datasets
from . import families as families
from . import flows as flows
from . import games as games
from . import manifold as manifold
from . import metrics as metrics
from . import regularizers as regularizers
from . import transforms as transforms
from ._analysis.arnoldi import TopEigenvalues as TopEigenvalues
from ._analysis.arnoldi import operator_top_eigenvalues as operator_top_eigenvalues
from ._analysis.arnoldi import top_eigenvalues as top_eigenvalues
from ._analysis.certificate import Extremes as Extremes
from ._analysis.certificate import StationaryPointCertificate as StationaryPointCertificate
from ._analysis.certificate import stationary_point_certificate as stationary_point_certificate
from ._analysis.density import SpectralDensity as SpectralDensity
from ._analysis.density import spectral_density as spectral_density
from ._analysis.equilibrium import Equilibrium as Equilibrium
from ._analysis.equilibrium import solve_equilibrium as solve_equilibrium
from ._analysis.gap import Gap as Gap
from ._analysis.gap import duality_gap as duality_gap
from ._analysis.gap import nash_gap as nash_gap
from ._analysis.jacobian import Blocks as Blocks
from ._analysis.jacobian import jacobian as jacobian
from ._analysis.jacobian import jacobian_blocks as jacobian_blocks
from ._analysis.path_angle import PathAngle as PathAngle
from ._analysis.path_angle import path_angle as path_angle
from ._analysis.spectral import VERDICTS as VERDICTS
from ._analysis.spectral import Spectrum as Spectrum
from ._analysis.spectral import conditioning_factor as conditioning_factor
from ._analysis.spectral import eigenvalues as eigenvalues
from ._analysis.spectral import flow_verdict as flow_verdict
from ._analysis.spectral import matrix_eigenvalues as matrix_eigenvalues
from ._analysis.spectral import matrix_spectrum as matrix_spectrum
from ._analysis.spectral import phase_factor as phase_factor
from ._analysis.spectral import spectral_radius as spectral_radius
from ._analysis.spectral import spectrum as spectrum
from ._analysis.spectral import stable_step_bound as stable_step_bound
from ._analysis.spectral import update_jacobian as update_jacobian
from ._analysis.spectral import verdict_tolerance as verdict_tolerance
from ._analysis.trace import SpectralTrace as SpectralTrace
from ._analysis.trace import spectral_trace as spectral_trace
from ._core.field import corrected_field as corrected_field
from ._core.field import simultaneous_gradient as simultaneous_gradient
from ._core.field import vector_field as vector_field
from ._core.game import Box as Box
from ._core.game import Game as Game
from ._core.game import Joint as Joint
from ._core.game import NPlayerGame as NPlayerGame
from ._core.game import Players as Players
from ._core.game import StackedPlayers as StackedPlayers
from ._core.game import n_player_game as n_player_game
from ._core.game import zero_sum as zero_sum
from ._core.modified import modified_game as modified_game
from ._core.status import RESULTS as RESULTS
from ._core.step import chain as chain
from ._core.step import declare as declare
from ._core.step import make_step as make_step
from ._gan.expect import Quadrature as Quadrature
from ._gan.expect import expectation as expectation
from ._gan.expect import finite_support as finite_support
from ._gan.expect import fixed_samples as fixed_samples
from ._gan.expect import gauss_hermite as gauss_hermite
from ._gan.expect import gauss_hermite_1d as gauss_hermite_1d
from ._prescribe.boundary import Boundary as Boundary
from ._prescribe.boundary import Crossing as Crossing
from ._prescribe.boundary import stability_boundary as stability_boundary
from ._prescribe.families import WorstCase as WorstCase
from ._prescribe.families import worst_case_radius as worst_case_radius
from ._prescribe.noise import NoiseBall as NoiseBall
from ._prescribe.noise import noise_ball as noise_ball
from ._prescribe.orbit import PeriodicOrbit as PeriodicOrbit
from ._prescribe.orbit import periodic_orbit as periodic_orbit
from ._prescribe.timescale import critical_timescale as critical_timescale
from ._prescribe.tune import Tuned as Tuned
from ._prescribe.tune import tune as tune
from ._runs.rate import measured_rate as measured_rate
from ._runs.rollout import Rollout as Rollout
from ._runs.rollout import SweepResult as SweepResult
from ._runs.rollout import grid_product as grid_product
from ._runs.rollout import rollout as rollout
from ._runs.rollout import sweep as sweep
from ._runs.stability import StabilityMap as StabilityMap
from ._runs.stability import stability_map as stability_map

__version__ = "0.1.0"

__all__ = [
    "duality_gap",
    "nash_gap",
    "Gap",
    "periodic_orbit",
    "PeriodicOrbit",
    "stability_boundary",
    "Boundary",
    "Crossing",
    "tune",
    "Tuned",
    "worst_case_radius",
    "WorstCase",
    "critical_timescale",
    "noise_ball",
    "NoiseBall",
    "families",
    "n_player_game",
    "measured_rate",
    "modified_game",
    "solve_equilibrium",
    "Equilibrium",
    "Blocks",
    "Box",
    "Extremes",
    "Game",
    "Joint",
    "NPlayerGame",
    "Players",
    "StackedPlayers",
    "PathAngle",
    "Quadrature",
    "RESULTS",
    "Rollout",
    "VERDICTS",
    "SpectralDensity",
    "SpectralTrace",
    "Spectrum",
    "StabilityMap",
    "StationaryPointCertificate",
    "SweepResult",
    "TopEigenvalues",
    "operator_top_eigenvalues",
    "chain",
    "conditioning_factor",
    "corrected_field",
    "datasets",
    "declare",
    "eigenvalues",
    "expectation",
    "finite_support",
    "fixed_samples",
    "flow_verdict",
    "flows",
    "games",
    "gauss_hermite",
    "gauss_hermite_1d",
    "grid_product",
    "jacobian",
    "jacobian_blocks",
    "make_step",
    "manifold",
    "matrix_eigenvalues",
    "metrics",
    "path_angle",
    "phase_factor",
    "regularizers",
    "rollout",
    "simultaneous_gradient",
    "spectral_density",
    "spectral_radius",
    "spectral_trace",
    "spectrum",
    "matrix_spectrum",
    "stability_map",
    "stable_step_bound",
    "stationary_point_certificate",
    "sweep",
    "top_eigenvalues",
    "transforms",
    "update_jacobian",
    "vector_field",
    "verdict_tolerance",
    "zero_sum",
]

__getattr__ = _deprecations.module_getattr(__name__)
