"""One progress bar for long runs and sweeps: a line on stderr with the share done, the wall
time and an estimate of what is left, shown only once the work has taken a few seconds (short
runs stay quiet) and only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

SHOW_AFTER_S = 3.0  # wall seconds before the bar appears
WIDTH = 30


class Progress:
    """Call ``update(done)`` as work advances (``done`` of ``total``), ``close()`` at the end."""

    def __init__(self, total: float, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.shown = False

    def update(self, done: float, detail: str = "") -> None:
        """Redraw the bar for ``done`` (in the units of ``total``)."""
        elapsed = time.perf_counter() - self.started
        if elapsed < SHOW_AFTER_S:
            return
        share = min(1.0, done / self.total) if self.total else 1.0
        left = elapsed * (1 - share) / share if share > 0 else float("inf")
        eta = f"~{left:5.0f} s left" if left != float("inf") else "estimating"
        bar = "#" * round(share * WIDTH)
        text = f"\r{self.label} [{bar:<{WIDTH}}] {share:4.0%} {detail}{elapsed:6.1f} s, {eta}"
        print(text, end="", file=self.stream, flush=True)
        self.shown = True

    def close(self) -> None:
        """End the line the bar was drawn on."""
        if self.shown:
            print(file=self.stream, flush=True)
