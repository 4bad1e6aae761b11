"""Non-symmetric eigendecomposition on every JAX backend.

``jnp.linalg.eig`` lowers on the CPU (LAPACK ``geev``) and on GPUs (cuSOLVER's ``geev``
where JAX finds cuSOLVER >= 11.7.1, otherwise LAPACK on the host). TPUs have no
non-symmetric eigensolver: there ``eig`` and ``eigvals`` below run NumPy's LAPACK on the
host through ``jax.pure_callback``. The results are the same; the call works under
``jit`` and ``vmap`` (a batch goes to NumPy in one call) but is not differentiable, and
the matrix travels to the host and back. Every dense spectrum in jaxgan (the Jacobian's,
the update operator's, Arnoldi's Ritz values) goes through here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# backends on which jnp.linalg.eig has a lowering
NATIVE_EIG_PLATFORMS = frozenset({"cpu", "gpu", "cuda", "rocm"})


def _platform() -> str:
    return jax.default_backend()


def eigvals(a: jax.Array) -> jax.Array:
    """Eigenvalues of the square matrices ``a[..., n, n]`` (complex), on any backend."""
    a = jnp.asarray(a)
    if _platform() in NATIVE_EIG_PLATFORMS:
        return jnp.linalg.eigvals(a)
    return host_eig(a, vectors=False)


def eig(a: jax.Array):
    """``(eigenvalues, right eigenvectors)`` of ``a[..., n, n]`` (complex), on any backend."""
    a = jnp.asarray(a)
    if _platform() in NATIVE_EIG_PLATFORMS:
        return jnp.linalg.eig(a)
    return host_eig(a, vectors=True)


def host_eig(a: jax.Array, *, vectors: bool):
    """``numpy.linalg.eig`` / ``eigvals`` on the host as a JAX callback (the TPU path)."""
    cdtype = jnp.result_type(a.dtype, jnp.complex64)
    values = jax.ShapeDtypeStruct(a.shape[:-1], cdtype)
    if vectors:

        def on_host(x):
            lam, vecs = np.linalg.eig(np.asarray(x))
            return lam.astype(cdtype), vecs.astype(cdtype)

        return jax.pure_callback(
            on_host, (values, jax.ShapeDtypeStruct(a.shape, cdtype)), a, vmap_method="expand_dims"
        )

    def on_host_values(x):
        return np.linalg.eigvals(np.asarray(x)).astype(cdtype)

    return jax.pure_callback(on_host_values, values, a, vmap_method="expand_dims")
