"""The Azure network model of vnetsim, built on the domain-free engine in ``simulator``."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("vnetsim")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
