"""Inspection and rewriting of programs: convolutions in the layout of XLA's CPU kernels for
products run inside loops.

Imports: JAX only.
"""
