"""Test configuration: hypothesis runs without per-example deadlines (CI machines vary)."""

import os

import pytest
from hypothesis import settings

settings.register_profile("vnetsim", deadline=None, print_blob=True)
settings.load_profile("vnetsim")


@pytest.fixture(autouse=True, scope="session")
def _private_document_cache(tmp_path_factory):
    """The command line's document cache (fabric/io/cache.py) writes into a session folder,
    never into the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("vnetsim-cache")
    folder.chmod(0o700)
    previous = os.environ.get("VNETSIM_CACHE_DIR")
    os.environ["VNETSIM_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("VNETSIM_CACHE_DIR", None)
    else:
        os.environ["VNETSIM_CACHE_DIR"] = previous
