import os
import shutil
import tempfile

#: the command line's default compilation cache ($XDG_CACHE_HOME/jaxgan/xla) is a folder of this
#: session, empty at its start and removed at its end: the suite never reads or writes the
#: user's ~/.cache, so its time does not depend on what earlier runs left there
if "JAXGAN_TEST_CACHE_HOME" not in os.environ:  # the controller (workers inherit its folder)
    os.environ["JAXGAN_TEST_CACHE_HOME"] = tempfile.mkdtemp(prefix="jaxgan-test-cache-")
    _OWN_CACHE_HOME = True
else:
    _OWN_CACHE_HOME = False
os.environ["XDG_CACHE_HOME"] = os.environ["JAXGAN_TEST_CACHE_HOME"]

#: XLA's CPU compiler without its fusion emitters: the suite is compile-bound (about 7,500 small
#: programs), and this halves the compile time of each (25 to 13 ms for the smallest) without
#: changing what a program computes or slowing the larger ones down. Set before JAX starts its
#: backend, so the workers and the notebooks' kernels (which inherit the environment) use it.
FAST_COMPILE_FLAG = "--xla_cpu_use_fusion_emitters=false"
if "xla_cpu_use_fusion_emitters" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_FLAG}".strip()

import jax  # noqa: E402
import pytest  # noqa: E402


def pytest_unconfigure(config):
    if _OWN_CACHE_HOME:
        shutil.rmtree(os.environ["JAXGAN_TEST_CACHE_HOME"], ignore_errors=True)

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)


#: test files whose tests take tens of seconds each (the notebooks, the command line's
#: subprocesses): run first, so that the two workers' queues even out behind them instead of
#: one worker finishing a long test alone at the end
SLOW_FILES = ("test_notebooks.py", "test_cli.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.fspath.basename not in SLOW_FILES)  # stable: order kept within


#: the shared tables a test file may add entries to by declaring a module-level dict of this
#: name: ``COMMON`` (the transforms' common matrix, tests/test_transforms_common.py) and
#: ``PROBE_CALLS`` (a valid call of each declared function, tests/test_probes.py). A new
#: algorithm's test file declares its own entries, so adding it touches no shared table.
SHARED_TABLES = ("COMMON", "PROBE_CALLS")


def declared_in_test_files(table: str) -> dict:
    """The entries every test file declares for the shared ``table`` (see ``SHARED_TABLES``)."""
    import importlib
    import pathlib
    import re

    assert table in SHARED_TABLES, table
    out = {}
    for path in sorted(pathlib.Path(__file__).resolve().parent.glob("test_*.py")):
        if re.search(rf"^{table} = ", path.read_text(), re.M):
            entries = getattr(importlib.import_module(path.stem), table)
            clash = sorted(set(entries) & set(out))
            assert not clash, f"{path.name} declares {table} entries declared elsewhere: {clash}"
            out.update(entries)
    return out
