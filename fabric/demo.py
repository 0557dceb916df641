"""The built-in demo: what ``vnetsim run`` shows on defaults.

Until the packet dataplane exists this is an engine demo: an M/D/1 queue standing for a
650 Mbps gateway link, compared with the Pollaczek-Khinchine prediction.
"""

from __future__ import annotations

import numpy as np

from simulator import LatencyRecorder, RateServer, Simulation, confidence_interval
from simulator.units import serialisation_ns

LINK_BPS = 650_000_000
PACKET_BYTES = 1400


def _one_replication(seed: int, utilisation: float, packets: int) -> float:
    sim = Simulation(seed=seed)
    service_ns = serialisation_ns(PACKET_BYTES, LINK_BPS)
    gaps = sim.stream("arrivals").exponential(service_ns / utilisation, packets)
    arrivals = np.cumsum(gaps).round().astype(np.int64).tolist()
    latency = LatencyRecorder()
    record = latency.record
    server = RateServer(sim, LINK_BPS, lambda sent_at: record(sim.now - sent_at))

    def arrive(i: int) -> None:
        server.put(arrivals[i], PACKET_BYTES)
        if i + 1 < packets:
            sim.schedule_at(arrivals[i + 1], arrive, i + 1)

    sim.schedule_at(arrivals[0], arrive, 0)
    sim.run()
    return latency.mean_s() * 1e6


def engine_demo(
    utilisations: tuple[float, ...] = (0.5, 0.8, 0.95), packets: int = 50_000, replications: int = 5
) -> dict:
    """Simulate a Poisson packet stream into a 650 Mbps link; compare with queueing theory."""
    service_us = serialisation_ns(PACKET_BYTES, LINK_BPS) / 1_000
    rows = []
    for utilisation in utilisations:
        means = [_one_replication(seed, utilisation, packets) for seed in range(replications)]
        interval = confidence_interval(means)
        theory = service_us + utilisation * service_us / (2 * (1 - utilisation))
        rows.append(
            {
                "utilisation": utilisation,
                "simulated_mean_us": interval.mean,
                "ci95_half_width_us": interval.half_width,
                "theory_mean_us": theory,
            }
        )
    lines = [
        f"M/D/1 demo: {PACKET_BYTES}-byte packets, Poisson arrivals, one {LINK_BPS / 1e6:.0f} Mbps "
        f"link, {replications} x {packets:,} packets per load",
        f"{'load':>6}{'simulated (us)':>22}{'theory (us)':>14}",
    ]
    for row in rows:
        simulated = f"{row['simulated_mean_us']:.2f} ± {row['ci95_half_width_us']:.2f}"
        lines.append(f"{row['utilisation']:>6.0%}{simulated:>22}{row['theory_mean_us']:>14.2f}")
    return {"rows": rows, "text": "\n".join(lines)}
