"""Figures on ``matplotlib.figure.Figure`` objects: no pyplot state, so a library call never
switches a notebook's backend; PNG and SVG written the same way everywhere, the SVG byte for
byte the same on every run (no date, a fixed id salt)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

SVG_SALT = "vnetsim"  # matplotlib draws random ids into SVG unless a salt is set
LEGEND_ROWS = 12  # beyond this many entries a legend gets more columns, outside the axes


def figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = (7, 4.5), **options):
    """A new Figure and its axes (``subplots`` arguments)."""
    fig = Figure(figsize=size)
    return fig, fig.subplots(rows, columns, **options)


def legend(axis, entries: int) -> None:
    """A legend that stays readable with many entries: more columns, outside the plot."""
    if entries == 0:
        return
    if entries <= LEGEND_ROWS:
        axis.legend(fontsize=8)
        return
    columns = -(-entries // LEGEND_ROWS)
    axis.legend(fontsize=6, ncol=columns, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def save(fig: Figure, stem: Path, dpi: int = 120) -> list[Path]:
    """Write ``stem``.png and ``stem``.svg; returns both paths."""
    fig.tight_layout()
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    with matplotlib.rc_context({"svg.hashsalt": SVG_SALT}):
        fig.savefig(paths[0], dpi=dpi)
        fig.savefig(paths[1], metadata={"Date": None})
    return paths
