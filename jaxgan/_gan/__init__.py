"""GANs as structured games: the generator/discriminator model, the loss families and exact
expectations (quadrature rules).

Imports: the core and validation.
"""
