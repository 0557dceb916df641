"""Statistics recorders, and confidence intervals across replications.

Two kinds. ``LatencyRecorder`` and ``ThroughputRecorder`` keep every sample in an
``array.array('q')`` (C-level appends) exposed as zero-copy int64 arrays: exact percentiles,
memory growing with the run. ``LatencyStats`` and ``ThroughputSeries`` stream: exact count, sum,
mean, variance, min and max, quantiles within a stated relative error (``LogHistogram``), a
throughput series in bins that widen as the run goes on; memory bounded whatever the number of
samples (83 KB after 10M latencies here), mergeable across replications.
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


# -- streaming recorders: memory bounded whatever the number of samples ---------------------

_LIMB = 21  # bits: products of two limbs summed over _CHUNK samples stay below 2**63
_CHUNK = 1 << _LIMB
_MAX_VALUE = (1 << 63) - 1


def _limb_dot(x: np.ndarray, y: np.ndarray) -> int:
    """Σ x·y of two non-negative int64 arrays of at most 2**21 values, exactly: each value is
    split into three 21-bit limbs, and products of two limbs (< 2**42) summed over 2**21
    values stay below 2**63."""
    mask = (1 << _LIMB) - 1
    xs = (x & mask, (x >> _LIMB) & mask, x >> (2 * _LIMB))
    ys = xs if y is x else (y & mask, (y >> _LIMB) & mask, y >> (2 * _LIMB))
    return sum(
        int(xi @ yj) << ((i + j) * _LIMB) for i, xi in enumerate(xs) for j, yj in enumerate(ys)
    )


def exact_sum_of_squares(values: np.ndarray) -> int:
    """Σ x² of an int64 array as an exact Python int, in numpy (a chunk whose squares sum
    below 2**63 however large they are, max² x count, is summed as it is)."""
    total = 0
    for start in range(0, values.size, _CHUNK):
        x = np.abs(values[start : start + _CHUNK])
        if x.size and int(x.max()) ** 2 * x.size < 1 << 63:  # no int64 sum can overflow
            total += int(x @ x)
        elif x.size:
            total += _limb_dot(x, x)
    return total


_BLOCK = 4096  # values per block of ``exact_dot``: its temporaries stay a few pages


def exact_dot(u: np.ndarray, v: np.ndarray) -> int:
    """Σ u·v of two int64 arrays of equal length (values within 2**63 of each other in a
    block) as an exact Python int, in numpy.

    Block by block, each array is taken relative to its smallest value in the block
    (Σ u·v = Σ du·dv + v0·Σdu + u0·Σdv + n·u0·v0): times and running totals in time order
    vary little within a block, so Σ du·dv nearly always fits int64 (else it is summed in
    limbs), and the large terms are multiplied as Python ints once per block.
    """
    total = 0
    for start in range(0, u.size, _BLOCK):
        x, y = u[start : start + _BLOCK], v[start : start + _BLOCK]
        if x.size == 0:
            continue
        x0, y0 = int(x.min()), int(y.min())
        dx, dy = x - x0, y - y0
        if int(dx.max()) * int(dy.max()) * x.size < 1 << 63:  # cannot overflow
            core = int(dx @ dy)
        else:
            core = _limb_dot(dx, dy)
        total += core + y0 * _exact_sum(dx) + x0 * _exact_sum(dy) + x.size * x0 * y0
    return total


def _exact_sum(values: np.ndarray) -> int:
    """Σ x of an int64 array as an exact Python int (chunks whose int64 sums cannot overflow)."""
    total = 0
    for start in range(0, values.size, _CHUNK):  # 2**21 * 2**63 would overflow; |x| < 2**42
        chunk = values[start : start + _CHUNK]
        if chunk.size and max(-int(chunk.min()), int(chunk.max())) < (1 << 41):
            total += int(chunk.sum())
        else:
            total += sum(chunk.tolist())
    return total


# A window-limited flow delivers one burst per round trip: a slope needs a few of them.
SLOPE_MIN_ROUND_TRIPS = 3


class RateTrend:
    """The delivery rate as the least-squares slope of cumulative payload against delivery
    time, streamed: deliveries in time order, added in blocks of any size (exact integer sums,
    so every blocking gives the same figure).

    Why not payload over the span of deliveries: a window-limited flow delivers in bursts, one
    window per round trip, and a span from the first burst's start to the last one's end holds
    one window more than its whole round trips carry, so over k round trips it reads up to
    k/(k-1) times the window ÷ RTT ceiling (+9% for a 0.5 s flow at 30 ms). The slope reads
    the ceiling within 0.3% from three round trips on, and it never exceeds a serialising cap:
    it is a weighted mean of the rates between pairs of deliveries, and no pair delivers faster
    than the narrowest link between them."""

    __slots__ = ("count", "first_at", "last_at", "sx", "sxx", "sxy", "sy", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0  # payload bytes so far
        self.first_at = 0  # the earliest delivery time
        self.last_at = 0  # the latest delivery time
        self.sx = self.sy = self.sxx = self.sxy = 0

    def add(self, at_ns: np.ndarray, payload: np.ndarray) -> None:
        """Add deliveries (int64 times ≥ 0 and payload bytes), later than any added before."""
        if at_ns.size == 0:
            return
        cumulative = np.cumsum(payload, dtype=np.int64) + self.total
        self.count += int(at_ns.size)
        self.total = int(cumulative[-1])
        earliest = int(at_ns.min())
        self.first_at = earliest if self.count == at_ns.size else min(self.first_at, earliest)
        self.last_at = max(self.last_at, int(at_ns.max()))
        self.sx += _exact_sum(at_ns)
        self.sy += _exact_sum(cumulative)
        self.sxx += exact_dot(at_ns, at_ns)
        self.sxy += exact_dot(at_ns, cumulative)

    def mbps(self) -> float:
        """The slope in Mbps (payload bits); 0 with fewer than two deliveries at two times."""
        n = self.count
        spread = n * self.sxx - self.sx * self.sx
        if n < 2 or spread <= 0:
            return 0.0
        rise = n * self.sxy - self.sx * self.sy
        return round(rise * 8_000 / spread, 6)  # bytes per ns x 8 x 1e3 = Mbps

    def capped_mbps(self, start_ns: int, until_ns: int, rtt_ns: int | None = None) -> float:
        """The rate over the steady window, from ``start_ns`` (or the first delivery, if later)
        to ``until_ns`` (when the sender stops; or the latest delivery, if later): the slope,
        but never more than the payload over the window, which a flow that comes in bursts
        (on-off) or stops being delivered while its sender still sends (starved, cut off)
        would otherwise exceed. A window shorter than three round trips (``rtt_ns``, a TCP
        flow's) holds too few of a window-limited flow's bursts for a slope: its payload over
        the window (at least one round trip) stands instead."""
        slope = self.mbps()
        # from the first delivery, if later (a long path delivers nothing for a while)
        window = max(self.last_at, until_ns) - max(start_ns, self.first_at)
        if window <= 0 or self.count == 0:
            return slope
        if rtt_ns and window < SLOPE_MIN_ROUND_TRIPS * rtt_ns:
            return round(self.total * 8_000 / max(window, rtt_ns), 6)
        if self.count < 2:
            return slope
        return min(slope, round(self.total * 8_000 / window, 6))


class LogHistogram:
    """Counts of non-negative integers in logarithmic buckets: fixed memory, bounded error.

    Bucket k >= 0 holds the values x >= 1 with gamma**(k-1) < x <= gamma**k, where
    gamma = (1 + e) / (1 - e); it reports 2 * gamma**k / (gamma + 1), which is within a
    relative error e of every value in the bucket (DDSketch's construction). Zero has a bucket
    of its own. Internally e is taken a hair smaller (1e-7 relative) so that floating-point
    rounding of the logarithm at a bucket edge cannot push the error past e.

    Memory: the counts cover the buckets between the smallest and the largest value seen, at
    most log(2**63) / log(gamma) of them: 21,800 (175 KB) for e = 0.1%, typically a tenth.

    Args:
        relative_error: the bound e on |reported - exact| / exact, in (0, 0.5).
    """

    __slots__ = ("_counts", "_log_gamma", "_low", "count", "relative_error", "zeros")

    def __init__(self, relative_error: float = 1e-3) -> None:
        if not 0 < relative_error < 0.5:
            raise ValueError(f"relative error must be in (0, 0.5), got {relative_error!r}")
        self.relative_error = relative_error
        inner = relative_error * (1 - 1e-7)
        self._log_gamma = math.log((1 + inner) / (1 - inner))
        self._counts = np.zeros(0, dtype=np.int64)
        self._low = 0  # bucket index of _counts[0]
        self.zeros = 0
        self.count = 0

    def add(self, values: np.ndarray) -> None:
        """Count every value of a non-negative int64 array."""
        values = np.asarray(values, dtype=np.int64)
        if values.size == 0:
            return
        least = int(values.min())
        if least < 0:
            raise ValueError("a log histogram counts non-negative values only")
        positive = values if least > 0 else values[values > 0]
        self.zeros += values.size - positive.size
        self.count += values.size
        if positive.size == 0:
            return
        logs = np.log(positive)  # in place from here: the same values, fewer temporaries
        logs /= self._log_gamma
        index = np.ceil(logs, out=logs).astype(np.int64)
        low, high = int(index.min()), int(index.max())
        self._cover(low, high)
        self._counts += np.bincount(index - self._low, minlength=self._counts.size)

    def _cover(self, low: int, high: int) -> None:
        """Grow the count array so that it spans buckets low..high."""
        counts = self._counts
        if counts.size == 0:
            self._counts = np.zeros(high - low + 1, dtype=np.int64)
            self._low = low
            return
        new_low = min(low, self._low)
        new_high = max(high, self._low + counts.size - 1)
        if new_low == self._low and new_high == self._low + counts.size - 1:
            return
        grown = np.zeros(new_high - new_low + 1, dtype=np.int64)
        grown[self._low - new_low : self._low - new_low + counts.size] = counts
        self._counts, self._low = grown, new_low

    def merge(self, other: LogHistogram) -> None:
        """Add the counts of ``other`` (same relative error) to this histogram."""
        if other.relative_error != self.relative_error:
            raise ValueError("histograms of different relative errors cannot be merged")
        self.zeros += other.zeros
        self.count += other.count
        if other._counts.size:
            self._cover(other._low, other._low + other._counts.size - 1)
            start = other._low - self._low
            self._counts[start : start + other._counts.size] += other._counts

    def value_at_rank(self, rank: int) -> float:
        """The reported value of the sample of 0-based ``rank`` in sorted order."""
        if not 0 <= rank < self.count:
            raise IndexError(f"rank {rank} outside 0..{self.count - 1}")
        if rank < self.zeros:
            return 0.0
        position = int(np.searchsorted(np.cumsum(self._counts), rank - self.zeros, side="right"))
        gamma = math.exp(self._log_gamma)
        return 2 * math.exp((self._low + position) * self._log_gamma) / (gamma + 1)

    def quantile(self, q: float, method: str = "lower") -> float:
        """The q-quantile (0 <= q <= 1) within the relative error of numpy's exact
        ``np.quantile(samples, q, method=method)``, for method "lower" (the sample of rank
        floor(q (n - 1))), "higher" (rank ceil(q (n - 1))) or "linear" (numpy's default, as
        ``np.percentile``: the two interpolated; each end is within the relative error, so
        their convex combination is too, the values being non-negative). NaN without samples."""
        if not 0 <= q <= 1:
            raise ValueError(f"quantile must be in [0, 1], got {q!r}")
        if self.count == 0:
            return math.nan
        position = q * (self.count - 1)
        if method == "lower":
            return self.value_at_rank(math.floor(position))
        if method == "higher":
            return self.value_at_rank(math.ceil(position))
        if method == "linear":
            low, high = math.floor(position), math.ceil(position)
            below = self.value_at_rank(low)
            if high == low:
                return below
            return below + (self.value_at_rank(high) - below) * (position - low)
        raise ValueError(f'method must be "lower", "higher" or "linear", got {method!r}')

    @property
    def nbytes(self) -> int:
        """Memory held by the counts."""
        return self._counts.nbytes


class LatencyStats:
    """A streaming latency recorder: exact count, sum, mean, variance, min and max, quantiles
    within a stated relative error from a log-bucket histogram; memory bounded whatever the
    number of samples, mergeable across replications.

    ``record`` appends to a small buffer that is folded in 4,096 samples at a time (numpy does
    the work); ``record_many`` takes whole arrays (the batch path). Count, sum and the sum of
    squares are exact Python integers, so mean and variance are exact up to the final rounding
    and merging in any order gives identical results.

    Args:
        relative_error: bound on the quantiles' relative error (default 0.1%).
        keep_samples: also keep every sample (``samples_ns``), for exact percentiles.
    """

    __slots__ = (
        "_buffer",
        "_histogram",
        "_max",
        "_min",
        "_samples",
        "_sum",
        "_sum_squares",
    )

    BUFFER = 4096

    def __init__(self, relative_error: float = 1e-3, *, keep_samples: bool = False) -> None:
        self._histogram = LogHistogram(relative_error)
        self._buffer = array("q")
        self._samples = array("q") if keep_samples else None
        self._sum = 0
        self._sum_squares = 0
        self._min: int | None = None
        self._max: int | None = None

    # -- recording ------------------------------------------------------------------------

    def record(self, latency_ns: int) -> None:
        """Add one sample (a non-negative integer of nanoseconds)."""
        if latency_ns < 0:
            raise ValueError(f"a latency cannot be negative, got {latency_ns} ns")
        buffer = self._buffer
        buffer.append(latency_ns)
        if len(buffer) >= self.BUFFER:
            self._flush()

    def record_many(self, latencies_ns: np.ndarray) -> None:
        """Add every sample of an array (int64 ns)."""
        self._flush()
        self._fold(np.asarray(latencies_ns, dtype=np.int64))

    def _flush(self) -> None:
        if self._buffer:
            values = np.frombuffer(self._buffer, dtype=np.int64).copy()
            del self._buffer[:]
            self._fold(values)

    def _fold(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        self._histogram.add(values)  # refuses negative values before anything changes
        if self._samples is not None:
            self._samples.frombytes(values.tobytes())
        self._sum += _exact_sum(values)
        self._sum_squares += exact_sum_of_squares(values)
        low, high = int(values.min()), int(values.max())
        self._min = low if self._min is None else min(self._min, low)
        self._max = high if self._max is None else max(self._max, high)

    def merge(self, other: LatencyStats) -> LatencyStats:
        """Fold ``other`` (another replication) into this recorder; returns self."""
        self._flush()
        other._flush()
        self._histogram.merge(other._histogram)
        self._sum += other._sum
        self._sum_squares += other._sum_squares
        for bound in (other._min, other._max):
            if bound is not None:
                self._min = bound if self._min is None else min(self._min, bound)
                self._max = bound if self._max is None else max(self._max, bound)
        if self._samples is not None:
            if other._samples is None:
                raise ValueError("cannot keep samples: the other recorder did not keep them")
            self._samples.extend(other._samples)
        return self

    @classmethod
    def merged(cls, recorders: list[LatencyStats]) -> LatencyStats:
        """One recorder holding all samples of ``recorders`` (replications)."""
        if not recorders:
            raise ValueError("nothing to merge")
        first = recorders[0]
        result = cls(
            first._histogram.relative_error,
            keep_samples=all(r._samples is not None for r in recorders),
        )
        for recorder in recorders:
            result.merge(recorder)
        return result

    # -- results --------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._histogram.count + len(self._buffer)

    @property
    def relative_error(self) -> float:
        """The bound on the quantiles' relative error."""
        return self._histogram.relative_error

    @property
    def total_ns(self) -> int:
        """Exact sum of all samples."""
        self._flush()
        return self._sum

    @property
    def min_ns(self) -> int | None:
        """Smallest sample (None without samples)."""
        self._flush()
        return self._min

    @property
    def max_ns(self) -> int | None:
        """Largest sample (None without samples)."""
        self._flush()
        return self._max

    def mean_ns(self) -> float:
        """Mean, correctly rounded from exact integer sums (NaN without samples)."""
        n = len(self)
        return self.total_ns / n if n else math.nan

    def variance_ns2(self, ddof: int = 1) -> float:
        """Variance (ns²) from exact integer sums, as ``np.var(samples, ddof=ddof)``."""
        self._flush()
        n = self._histogram.count
        if n - ddof <= 0:
            return math.nan
        # n Σx² - (Σx)² is exact; one division rounds it
        return (n * self._sum_squares - self._sum * self._sum) / (n * (n - ddof))

    def quantile_ns(self, q: float, method: str = "lower") -> float:
        """q-quantile (0-1) in ns within ``relative_error`` of numpy's exact one with the same
        method ("lower", "higher" or "linear"); clamped to the exact min and max."""
        self._flush()
        value = self._histogram.quantile(q, method)
        if self._min is not None:
            value = min(max(value, self._min), self._max)
        return value

    def mean_s(self) -> float:
        """Mean latency in seconds (NaN without samples)."""
        return self.mean_ns() / NS_PER_S

    def percentile_s(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in seconds, "lower" convention (NaN without samples)."""
        return self.quantile_ns(q / 100) / NS_PER_S

    def summary_ms(self) -> dict[str, float]:
        """Mean, p50 and p99 in milliseconds, the shape the CLI reports."""
        return {
            "mean": self.mean_s() * 1e3,
            "p50": self.percentile_s(50) * 1e3,
            "p99": self.percentile_s(99) * 1e3,
        }

    @property
    def samples_ns(self) -> np.ndarray:
        """Every sample as int64 (only with ``keep_samples=True``)."""
        if self._samples is None:
            raise ValueError("samples were not kept: use LatencyStats(keep_samples=True)")
        self._flush()
        return (
            np.frombuffer(self._samples, dtype=np.int64) if self._samples else np.empty(0, np.int64)
        )

    @property
    def nbytes(self) -> int:
        """Memory held by the recorder's buffers (bounded unless samples are kept)."""
        kept = self._samples.buffer_info()[1] * 8 if self._samples is not None else 0
        return self._histogram.nbytes + self._buffer.buffer_info()[1] * 8 + kept


class ThroughputSeries:
    """Bytes delivered over time in fixed-width bins: bounded memory, exact totals (per-bin
    sums are exact while a bin holds fewer than 2**53 bytes).

    With ``bin_ns`` the width is fixed up front and times beyond ``max_bins`` bins are refused.
    Without it the width starts at ``initial_bin_ns`` and doubles (adding neighbouring bins
    pairwise, exactly) whenever a time falls beyond ``max_bins`` bins, so memory stays at
    ``max_bins`` integers however long the run.

    Args:
        bin_ns: a fixed bin width (ns), or None for an adaptive one.
        max_bins: the most bins kept.
        initial_bin_ns: the adaptive width to start from.
    """

    __slots__ = ("_bins", "_fixed", "bin_ns", "count", "max_bins", "total_bytes")

    def __init__(
        self, bin_ns: int | None = None, *, max_bins: int = 4096, initial_bin_ns: int = 1_000
    ) -> None:
        width = bin_ns if bin_ns is not None else initial_bin_ns
        if width <= 0 or max_bins < 2 or max_bins % 2:
            raise ValueError(
                f"need a positive bin width and an even max_bins, got {width}, {max_bins}"
            )
        self.bin_ns = int(width)
        self.max_bins = max_bins
        self._fixed = bin_ns is not None
        self._bins = np.zeros(max_bins, dtype=np.int64)
        self.count = 0
        self.total_bytes = 0

    def record(self, time_ns: int, nbytes: int) -> None:
        """Note ``nbytes`` delivered at ``time_ns`` (>= 0)."""
        index = time_ns // self.bin_ns
        if index >= self.max_bins or index < 0:
            self._widen(time_ns)
            index = time_ns // self.bin_ns
        self._bins[index] += nbytes
        self.count += 1
        self.total_bytes += nbytes

    def record_many(self, times_ns: np.ndarray, sizes: np.ndarray) -> None:
        """Note a batch of deliveries (int64 arrays of equal length)."""
        times = np.asarray(times_ns, dtype=np.int64)
        sizes = np.asarray(sizes, dtype=np.int64)
        if times.size == 0:
            return
        if int(times.min()) < 0:
            raise ValueError("times must be >= 0")
        self._widen(int(times.max()))
        self._bins += np.bincount(times // self.bin_ns, weights=sizes, minlength=self.max_bins)[
            : self.max_bins
        ].astype(np.int64)
        self.count += int(times.size)
        self.total_bytes += _exact_sum(sizes)

    def _widen(self, time_ns: int) -> None:
        """Double the bin width until ``time_ns`` falls in the last bin or before."""
        if time_ns < 0:
            raise ValueError(f"times must be >= 0, got {time_ns}")
        while time_ns // self.bin_ns >= self.max_bins:
            if self._fixed:
                raise ValueError(
                    f"time {time_ns} ns is beyond {self.max_bins} bins of {self.bin_ns} ns; "
                    "raise max_bins or leave bin_ns out for an adaptive width"
                )
            bins = self._bins
            half = bins[0::2] + bins[1::2]
            bins[: half.size] = half
            bins[half.size :] = 0
            self.bin_ns *= 2

    def merge(self, other: ThroughputSeries) -> ThroughputSeries:
        """Add another series (same max_bins; widths that are a power-of-two apart); returns
        self."""
        if other.max_bins != self.max_bins:
            raise ValueError("series with different max_bins cannot be merged")
        wide, narrow = (self, other) if self.bin_ns >= other.bin_ns else (other, self)
        ratio = wide.bin_ns // narrow.bin_ns
        if ratio * narrow.bin_ns != wide.bin_ns or self.max_bins % ratio:
            raise ValueError(f"bin widths {self.bin_ns} and {other.bin_ns} do not nest")
        coarse = narrow._bins.reshape(-1, ratio).sum(axis=1) if ratio > 1 else narrow._bins
        merged = np.zeros(self.max_bins, dtype=np.int64)
        merged[: coarse.size] = coarse
        merged += wide._bins
        self._bins, self.bin_ns = merged, wide.bin_ns
        self.count += other.count
        self.total_bytes += other.total_bytes
        return self

    def series_bps(self, end_ns: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bin start times (ns) and the rate in each bin (bits/s), up to ``end_ns`` (default:
        the last bin with data)."""
        if end_ns is None:
            used = np.flatnonzero(self._bins)
            bins = int(used[-1]) + 1 if used.size else 1
        else:
            bins = max(1, min(self.max_bins, -(-end_ns // self.bin_ns)))
        starts = np.arange(bins, dtype=np.int64) * self.bin_ns
        return starts, self._bins[:bins] * 8 * NS_PER_S / self.bin_ns

    def rate_bps(self, start_ns: int, end_ns: int) -> float:
        """Average bits per second over [start_ns, end_ns); both must be bin edges."""
        if end_ns <= start_ns:
            raise ValueError(f"empty window [{start_ns}, {end_ns})")
        if start_ns % self.bin_ns or end_ns % self.bin_ns:
            raise ValueError(f"window edges must be multiples of the bin width {self.bin_ns} ns")
        chunk = self._bins[start_ns // self.bin_ns : end_ns // self.bin_ns]
        return int(chunk.sum()) * 8 * NS_PER_S / (end_ns - start_ns)

    @property
    def nbytes(self) -> int:
        """Memory held by the bins."""
        return self._bins.nbytes
