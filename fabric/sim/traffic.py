"""Synthetic traffic: open-loop generators (cbr, poisson, on/off; fixed sizes or IMIX).

Open-loop flows are generated up front as numpy arrays (times in integer ns, sizes in bytes)
from the flow's own random stream, so adding a flow never changes another flow's packets.
"""

from __future__ import annotations

import numpy as np

from fabric.model.traffic import SIZE_MIXES, FlowSpec
from simulator.units import NS_PER_S


def open_loop_trace(
    spec: FlowSpec,
    rng: np.random.Generator,
    horizon_s: float | None = None,
    jitter_us: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Send times (int64 ns, absolute, in order) and sizes (int64 bytes) of an open-loop flow.

    The flow starts at a random phase within its first packet gap, and each packet of a
    constant-rate stretch leaves up to ``jitter_us`` late, at most one gap (both drawn from the
    flow's own stream; ``LatencyModel.send_jitter_us`` says why)."""
    start = round(spec.start_s * NS_PER_S)
    end_s = spec.start_s + spec.duration_s
    if horizon_s is not None:
        end_s = min(end_s, horizon_s)
    end = round(end_s * NS_PER_S)
    mean_gap_ns = spec.mean_packet_bytes * 8 / (spec.rate_mbps * 1e6) * NS_PER_S
    expected = max(1, int((end - start) / mean_gap_ns * 1.2) + 16)
    jitter_ns = jitter_us * 1_000
    # In place where it can be (the same values as out of place): fresh temporaries of
    # millions of packets cost more in page faults than the arithmetic.
    if spec.pattern == "cbr":
        offsets = np.arange(expected, dtype=np.float64)
        offsets *= mean_gap_ns
        offsets += rng.uniform(0.0, min(jitter_ns, mean_gap_ns), expected)
    elif spec.pattern == "poisson":
        offsets = rng.exponential(mean_gap_ns, expected)  # the gaps, then their running sum
        np.cumsum(offsets, out=offsets)
        offsets[1:] = offsets[:-1]
        offsets[0] = 0.0
    else:  # onoff: exponential on/off periods; during "on" a CBR at the peak rate
        offsets = _on_off_offsets(spec, rng, mean_gap_ns, (end - start), jitter_ns)
    offsets += rng.uniform(0.0, mean_gap_ns)  # the start phase
    times = np.rint(offsets, out=offsets).astype(np.int64)
    del offsets
    times += start
    times = times[times < end]
    if spec.pattern == "onoff":
        # A period's last packet, jittered, can leave after the next period's first when the
        # off time between them is shorter than a gap: the flow sends them in time order.
        times.sort(kind="stable")
    if spec.size_mix is None:
        sizes = np.full(times.size, spec.packet_bytes, dtype=np.int64)
    else:
        choices, weights = SIZE_MIXES[spec.size_mix]
        sizes = rng.choice(np.asarray(choices, dtype=np.int64), size=times.size, p=weights)
    return times, sizes


def _on_off_offsets(
    spec: FlowSpec, rng: np.random.Generator, mean_gap_ns: float, span: int, jitter_ns: float
):
    """On/off source whose long-run average is ``rate_mbps``: the peak rate during "on" is
    rate * (on + off) / on."""
    peak_gap = mean_gap_ns * spec.on_s / (spec.on_s + spec.off_s)
    chunks = []
    t = 0.0
    while t < span:
        on = rng.exponential(spec.on_s * NS_PER_S)
        count = int(on // peak_gap) + 1
        late = rng.uniform(0, min(jitter_ns, peak_gap), count)
        chunks.append(t + np.arange(count) * peak_gap + late)
        t += on + rng.exponential(spec.off_s * NS_PER_S)
    return np.concatenate(chunks) if chunks else np.zeros(0)
