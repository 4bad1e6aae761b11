"""The game catalogue: Dirac-GAN, the linear Gaussian GAN, general GANs, neural games (flax or plain
MLPs, DCGAN-style convolutional players), bilinear and quadratic
games, the 1-D WGAN case study, the likelihood-ratio GAN, and games of n players (cyclic, Cournot,
cyclic matching pennies, GMAN)."""

from .._gan.gan import GAN as GAN
from .._gan.gan import gan as gan
from .._gan.gan import lemma3_blocks as lemma3_blocks
from .._gan.gan import theorem5_eigenvalues as theorem5_eigenvalues
from .._gan.losses import LOSSES as LOSSES
from .._gan.losses import log_sigmoid as log_sigmoid
from .._gan.losses import loss_f as loss_f
from .._gan.losses import loss_f_prime as loss_f_prime
from ._constrained import ConstrainedGame as ConstrainedGame
from ._constrained import constrained_examples as constrained_examples
from ._conv import DCGAN_SIZES as DCGAN_SIZES
from ._conv import dcgan as dcgan
from ._dirac import dirac as dirac
from ._likelihood_ratio import AlternatingMinimisation as AlternatingMinimisation
from ._likelihood_ratio import LikelihoodRatioGame as LikelihoodRatioGame
from ._likelihood_ratio import likelihood_ratio as likelihood_ratio
from ._linear_gaussian import linear_gaussian as linear_gaussian
from ._matrix_games import ipd_values as ipd_values
from ._matrix_games import iterated_prisoners_dilemma as iterated_prisoners_dilemma
from ._matrix_games import matching_pennies as matching_pennies
from ._matrix_games import tandem as tandem
from ._n_player import cournot as cournot
from ._n_player import cyclic as cyclic
from ._n_player import cyclic_matching_pennies as cyclic_matching_pennies
from ._n_player import gman as gman
from ._neural import NeuralGAN as NeuralGAN
from ._neural import mlp_apply as mlp_apply
from ._neural import mlp_gan as mlp_gan
from ._neural import mlp_init as mlp_init
from ._neural import neural_gan as neural_gan
from ._quadratic import bilinear as bilinear
from ._quadratic import quadratic as quadratic
from ._quadratic import ridge_examples as ridge_examples
from ._quadratic import turinici as turinici
from ._quadratic import turinici_invariant as turinici_invariant
from ._wgan_1d import wgan_1d as wgan_1d
from ._wgan_1d import wgan_1d_best_responses as wgan_1d_best_responses
from ._wgan_1d import wgan_1d_fixed_points as wgan_1d_fixed_points

__all__ = [
    "AlternatingMinimisation",
    "ConstrainedGame",
    "constrained_examples",
    "dcgan",
    "GAN",
    "LOSSES",
    "LikelihoodRatioGame",
    "bilinear",
    "cournot",
    "cyclic",
    "cyclic_matching_pennies",
    "gman",
    "dirac",
    "gan",
    "ipd_values",
    "iterated_prisoners_dilemma",
    "lemma3_blocks",
    "likelihood_ratio",
    "linear_gaussian",
    "mlp_apply",
    "mlp_gan",
    "mlp_init",
    "NeuralGAN",
    "neural_gan",
    "log_sigmoid",
    "loss_f",
    "loss_f_prime",
    "matching_pennies",
    "quadratic",
    "ridge_examples",
    "tandem",
    "theorem5_eigenvalues",
    "turinici",
    "turinici_invariant",
    "wgan_1d",
    "wgan_1d_best_responses",
    "wgan_1d_fixed_points",
]
