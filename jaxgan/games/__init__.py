"""The game catalogue: Dirac-GAN, the linear Gaussian GAN, general GANs, bilinear and quadratic games."""

from ._dirac import dirac as dirac
from ._gan import GAN as GAN
from ._gan import gan as gan
from ._gan import lemma3_blocks as lemma3_blocks
from ._gan import theorem5_eigenvalues as theorem5_eigenvalues
from ._linear_gaussian import linear_gaussian as linear_gaussian
from ._losses import LOSSES as LOSSES
from ._losses import log_sigmoid as log_sigmoid
from ._losses import loss_f as loss_f
from ._losses import loss_f_prime as loss_f_prime
from ._quadratic import bilinear as bilinear
from ._quadratic import quadratic as quadratic

__all__ = ["GAN", "LOSSES", "bilinear", "dirac", "gan", "lemma3_blocks", "linear_gaussian", "log_sigmoid", "loss_f", "loss_f_prime", "quadratic", "theorem5_eigenvalues"]
