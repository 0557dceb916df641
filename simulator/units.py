"""Time and rate units: the one place where natural units become integer nanoseconds.

Simulated time is an ``int`` count of nanoseconds so that the event engine and the vectorised
path agree bit for bit (see DESIGN.md, "Time"). Every conversion rounds half up, exactly, in
integer arithmetic where the inputs are integers; serialisation times round up (a server never
sends faster than its rate).
"""

from __future__ import annotations

import math

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
NS_PER_US = 1_000


class UnitError(ValueError):
    """A time, delay or rate that cannot be simulated (negative, NaN, zero rate...)."""


def seconds(value: float) -> int:
    """Convert seconds to integer nanoseconds, rounding half up."""
    return _to_ns(value, NS_PER_S, "seconds")


def milliseconds(value: float) -> int:
    """Convert milliseconds to integer nanoseconds, rounding half up."""
    return _to_ns(value, NS_PER_MS, "milliseconds")


def microseconds(value: float) -> int:
    """Convert microseconds to integer nanoseconds, rounding half up."""
    return _to_ns(value, NS_PER_US, "microseconds")


def _to_ns(value: float, scale: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise UnitError(f"{unit} must be a number, got {value!r}") from None
    if isinstance(value, int):
        return value * scale
    if not math.isfinite(value):
        raise UnitError(f"{unit} must be finite, got {value!r}")
    return math.floor(value * scale + 0.5)


def to_seconds(ns: int) -> float:
    """Integer nanoseconds back to float seconds (for output only)."""
    return ns / NS_PER_S


def mbps(rate_mbps: float) -> int:
    """Megabits per second to an integer bit rate in bits per second."""
    bps = math.floor(float(rate_mbps) * 1_000_000 + 0.5)
    if not math.isfinite(float(rate_mbps)) or bps <= 0:
        raise UnitError(f"a rate must be a positive number of Mbps, got {rate_mbps!r}")
    return bps


def serialisation_ns(nbytes: int, rate_bps: int) -> int:
    """Time to put ``nbytes`` on a link of ``rate_bps`` bits per second, in ns, rounded up
    so that a server never sends faster than its rate (half up would, by up to half a ns per
    packet: 650.006 Mbps through a 650 Mbps cap).

    Exact integer arithmetic: ``ceil(nbytes * 8 * 1e9 / rate_bps)`` without float error.
    """
    return (nbytes * 8 * NS_PER_S + rate_bps - 1) // rate_bps
