"""Statistics recorders backed by numpy arrays, and confidence intervals across replications.

Samples are appended to ``array.array('q')`` buffers (C-level appends, no Python float objects)
and exposed as zero-copy numpy int64 arrays of nanoseconds.
"""

from __future__ import annotations

import math
from array import array

import attrs
import numpy as np

from simulator.units import NS_PER_S


@attrs.frozen(slots=True)
class Interval:
    """A mean with a two-sided confidence interval (Student t across replications)."""

    mean: float
    low: float
    high: float
    level: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the width of the interval."""
        return (self.high - self.low) / 2


def student_t_cdf_two_sided(t: float, dof: int) -> float:
    """P(|T| < t) for Student's t with an integer number of degrees of freedom.

    The closed form for integer ``dof`` (Abramowitz & Stegun 26.7.3-26.7.4), exact to rounding.
    """
    if dof < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {dof}")
    theta = math.atan(abs(t) / math.sqrt(dof))
    s, c = math.sin(theta), math.cos(theta)
    if dof % 2 == 1:
        total, term = 0.0, s * c
        if dof > 1:
            total = term
            for k in range(3, dof - 1, 2):
                term *= (k - 1) / k * c * c
                total += term
        return 2 / math.pi * (theta + total)
    total, term = 1.0, 1.0
    for k in range(2, dof - 1, 2):
        term *= (k - 1) / k * c * c
        total += term
    return s * total


def student_t_quantile(level: float, dof: int) -> float:
    """The t with P(|T| < t) = ``level``, by bisection on the exact CDF."""
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    low, high = 0.0, 1.0
    while student_t_cdf_two_sided(high, dof) < level:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if student_t_cdf_two_sided(mid, dof) < level:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def confidence_interval(values: np.ndarray | list[float], level: float = 0.95) -> Interval:
    """Mean of independent replications with a Student-t confidence interval.

    With one replication the interval is unbounded (there is no estimate of the variance).
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("a confidence interval needs at least one replication")
    mean = float(data.mean())
    if data.size == 1:
        return Interval(mean, -math.inf, math.inf, level, 1)
    half = student_t_quantile(level, data.size - 1) * float(data.std(ddof=1)) / math.sqrt(data.size)
    return Interval(mean, mean - half, mean + half, level, int(data.size))


class LatencyRecorder:
    """Per-sample latencies in integer nanoseconds."""

    __slots__ = ("_samples",)

    def __init__(self) -> None:
        self._samples = array("q")

    def record(self, latency_ns: int) -> None:
        """Add one sample."""
        self._samples.append(latency_ns)

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def samples_ns(self) -> np.ndarray:
        """All samples as an int64 numpy array (a view: do not keep it across records)."""
        if not self._samples:
            return np.empty(0, np.int64)
        return np.frombuffer(self._samples, dtype=np.int64)

    def mean_s(self) -> float:
        """Mean latency in seconds (NaN without samples)."""
        data = self.samples_ns
        return float(data.mean()) / NS_PER_S if data.size else math.nan

    def percentile_s(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in seconds (NaN without samples)."""
        data = self.samples_ns
        return float(np.percentile(data, q)) / NS_PER_S if data.size else math.nan

    def summary_ms(self) -> dict[str, float]:
        """Mean, p50 and p99 in milliseconds, the shape the CLI reports."""
        return {
            "mean": self.mean_s() * 1e3,
            "p50": self.percentile_s(50) * 1e3,
            "p99": self.percentile_s(99) * 1e3,
        }


class ThroughputRecorder:
    """Bytes delivered at given times; rates over a window or as a time series."""

    __slots__ = ("_bytes", "_times")

    def __init__(self) -> None:
        self._times = array("q")
        self._bytes = array("q")

    def record(self, time_ns: int, nbytes: int) -> None:
        """Note ``nbytes`` delivered at ``time_ns``."""
        self._times.append(time_ns)
        self._bytes.append(nbytes)

    def __len__(self) -> int:
        return len(self._times)

    def total_bytes(self) -> int:
        """All bytes recorded."""
        return int(np.frombuffer(self._bytes, dtype=np.int64).sum()) if self._bytes else 0

    def rate_bps(self, start_ns: int, end_ns: int) -> float:
        """Average bits per second over [start_ns, end_ns)."""
        if end_ns <= start_ns:
            raise ValueError(f"empty window [{start_ns}, {end_ns})")
        if not self._times:
            return 0.0
        times = np.frombuffer(self._times, dtype=np.int64)
        sizes = np.frombuffer(self._bytes, dtype=np.int64)
        mask = (times >= start_ns) & (times < end_ns)
        return float(sizes[mask].sum()) * 8 * NS_PER_S / (end_ns - start_ns)

    def series_bps(self, bin_ns: int, end_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Bin start times (ns) and the rate in each bin (bits/s), from 0 to ``end_ns``."""
        if bin_ns <= 0:
            raise ValueError(f"bin width must be positive, got {bin_ns}")
        bins = max(1, -(-end_ns // bin_ns))
        starts = np.arange(bins, dtype=np.int64) * bin_ns
        if not self._times:
            return starts, np.zeros(bins)
        times = np.frombuffer(self._times, dtype=np.int64)
        sizes = np.frombuffer(self._bytes, dtype=np.int64)
        keep = times < bins * bin_ns
        per_bin = np.bincount(times[keep] // bin_ns, weights=sizes[keep], minlength=bins)
        return starts, per_bin * 8 * NS_PER_S / bin_ns


class TimeWeighted:
    """Time-weighted average of a piecewise-constant quantity (queue length, busy servers)."""

    __slots__ = ("_area", "_last_ns", "_start_ns", "_value", "peak")

    def __init__(self, start_ns: int = 0, value: float = 0) -> None:
        self._start_ns = start_ns
        self._last_ns = start_ns
        self._value = value
        self._area = 0
        self.peak = value

    def update(self, now_ns: int, value: float) -> None:
        """The quantity changes to ``value`` at ``now_ns``."""
        if now_ns < self._last_ns:
            raise ValueError(f"time went backwards: {now_ns} < {self._last_ns}")
        self._area += self._value * (now_ns - self._last_ns)
        self._last_ns = now_ns
        self._value = value
        if value > self.peak:
            self.peak = value

    def mean(self, now_ns: int) -> float:
        """Average from the start to ``now_ns``."""
        elapsed = now_ns - self._start_ns
        if elapsed <= 0:
            return float(self._value)
        return (self._area + self._value * (now_ns - self._last_ns)) / elapsed
