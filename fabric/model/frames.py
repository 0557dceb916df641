"""Answers as pandas DataFrames on request (pybatfish's ``.frame()``): pandas is an optional
extra (``pip install 'vnetsim[frame]'``), so the core stays numpy-only. Every layer may use it:
it knows nothing of the records beyond ``to_json``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class FrameUnavailableError(ImportError):
    """pandas is not installed; the message says how to add it."""


def data_frame(rows: Iterable[dict[str, Any]]):
    """A DataFrame of ``rows`` (one dict per row), or FrameUnavailableError without pandas."""
    try:
        import pandas
    except ImportError:
        raise FrameUnavailableError(
            ".frame() needs pandas: pip install 'vnetsim[frame]' (or pip install pandas)"
        ) from None
    return pandas.DataFrame(list(rows))


def frame(items: Iterable[Any]):
    """A DataFrame of records that have ``to_json`` (findings, routes, flows...) or of dicts:
    ``fabric.frame(fabric.validate(net))``."""
    return data_frame(item if isinstance(item, dict) else item.to_json() for item in items)
