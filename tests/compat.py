"""Shims that let the suite run on every JAX the package declares (0.4.35 up)."""

import jax


def float32_mode():
    """A context in which JAX's default dtype is float32 again (x64 off).

    ``jax.enable_x64(False)`` on current JAX; ``jax.experimental.disable_x64()`` on the
    oldest JAX the package declares (0.4.35), which has no top-level ``enable_x64``.
    """
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(False)
    from jax.experimental import disable_x64

    return disable_x64()
