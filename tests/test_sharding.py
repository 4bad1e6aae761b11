"""Sharded sweeps equal unsharded ones (2 host CPU devices, in a fresh process)."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp, numpy as np, optax, jaxgan as jg
    assert jax.device_count() == 2, jax.devices()
    game = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    w0 = jg.Joint(game.equilibrium.phi + 0.3, game.equilibrium.theta - 0.2)
    grid = {"lr": jnp.linspace(0.05, 2.5, 7)}   # odd size: padded to 8, padding dropped
    make = lambda h: optax.chain(jg.transforms.jare(0.5), optax.sgd(h["lr"]))
    plain = jg.sweep(game, make, w0, grid, 300, record_every=100)
    sharded = jg.sweep(game, make, w0, grid, 300, record_every=100, devices="all")
    assert len(sharded.final.phi.sharding.device_set) == 2 or sharded.final.phi.shape[0] == 7
    # same outcome per run; contracting runs agree to rounding (a per-device batch of 4 is
    # vectorised differently from one of 7: last-bit differences, which unstable runs amplify)
    np.testing.assert_array_equal(np.asarray(plain.status), np.asarray(sharded.status))
    np.testing.assert_array_equal(np.asarray(plain.finite), np.asarray(sharded.finite))
    conv = np.asarray(plain.status) == 0
    assert conv.sum() >= 3
    for a, b in zip(jax.tree.leaves(plain.final), jax.tree.leaves(sharded.final)):
        np.testing.assert_allclose(np.asarray(a)[conv], np.asarray(b)[conv], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.asarray(plain.distance)[conv], np.asarray(sharded.distance)[conv], rtol=1e-9, atol=1e-15)
    assert sharded.status.shape == (7,)
    print("SHARDED_OK", plain.summary())
    """
)


#: two host devices, on top of the flags the suite runs with (tests/conftest.py)
TWO_DEVICES = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2"


def test_sharded_sweep_equals_unsharded():
    env = dict(os.environ, XLA_FLAGS=TWO_DEVICES, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHARDED_OK" in out.stdout


def test_devices_argument_errors():
    import jax.numpy as jnp
    import optax
    import pytest

    import jaxgan as jg

    game = jg.games.dirac("wgan")
    with pytest.raises(ValueError, match="`devices` must be None, 'all'"):
        jg.sweep(game, lambda h: optax.sgd(h["lr"]), game.equilibrium, {"lr": jnp.ones(2)}, 5, devices="gpus")


MULTI = textwrap.dedent(
    """
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    pid, port = int(sys.argv[1]), sys.argv[2]
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2, process_id=pid)
    import jax.numpy as jnp, numpy as np, optax, jaxgan as jg
    assert jax.process_count() == 2 and jax.device_count() == 4 and len(jax.local_devices()) == 2
    game = jg.games.linear_gaussian(jnp.array([1.0, 0.5]), 1.0)
    w0 = jg.Joint(game.equilibrium.phi + 0.3, game.equilibrium.theta - 0.2)
    grid = {"lr": jnp.linspace(0.05, 2.5, 9)}   # 9 runs over 4 devices in 2 processes
    make = lambda h: optax.chain(jg.transforms.jare(0.5), optax.sgd(h["lr"]))
    sharded = jg.sweep(game, make, w0, grid, 300, record_every=100, devices="all")
    plain = jg.sweep(game, make, w0, grid, 300, record_every=100, devices=jax.local_devices()[:1])
    np.testing.assert_array_equal(np.asarray(plain.status), np.asarray(sharded.status))
    conv = np.asarray(plain.status) == 0
    assert conv.sum() >= 3 and sharded.status.shape == (9,)
    np.testing.assert_allclose(np.asarray(plain.distance)[conv], np.asarray(sharded.distance)[conv], rtol=1e-9, atol=1e-15)
    print("MULTIPROCESS_OK", pid, plain.summary())
    """
)


def test_multiprocess_sweep_equals_single_process():
    """Two processes (jax.distributed, gloo collectives on CPU), two host devices each."""
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = str(s.getsockname()[1])
    env = dict(os.environ, XLA_FLAGS=TWO_DEVICES, JAX_PLATFORMS="cpu")
    procs = [
        subprocess.Popen([sys.executable, "-c", MULTI, str(pid), port], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for pid in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
        assert "MULTIPROCESS_OK" in out
