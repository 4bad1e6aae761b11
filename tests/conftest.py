import jax
import pytest

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
