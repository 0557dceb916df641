"""The engine against queueing theory: M/M/1, M/D/1 (Pollaczek-Khinchine), Little's law, tandem.

Tolerances come from the run itself: independent replications give a Student-t interval at the
99.9% level, and theory must fall inside it. Seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator import Delay, RateServer, Simulation, confidence_interval
from tests.helpers import BYTE_PER_NS_BPS, feed, single_queue_run

MEAN_SERVICE_NS = 10_000
CUSTOMERS = 40_000
WARMUP = 4_000
REPLICATIONS = 12


def _trace(rng: np.random.Generator, utilisation: float, deterministic: bool):
    gaps = rng.exponential(MEAN_SERVICE_NS / utilisation, CUSTOMERS)
    arrivals = np.cumsum(gaps).round().astype(np.int64)
    if deterministic:
        service = np.full(CUSTOMERS, MEAN_SERVICE_NS, dtype=np.int64)
    else:
        service = np.maximum(1, rng.exponential(MEAN_SERVICE_NS, CUSTOMERS).round()).astype(
            np.int64
        )
    return arrivals, service


def _replicated_mean_sojourn(utilisation: float, deterministic: bool, seed: int):
    root = np.random.SeedSequence(seed)
    means = []
    for child in root.spawn(REPLICATIONS):
        arrivals, service = _trace(np.random.default_rng(child), utilisation, deterministic)
        sojourn, _, _ = single_queue_run(arrivals, service)
        means.append(sojourn[WARMUP:].mean())
    return confidence_interval(means, level=0.999)


@pytest.mark.parametrize("utilisation", [0.5, 0.8])
def test_mm1_mean_time_in_system_matches_one_over_mu_minus_lambda(utilisation):
    mu = 1 / MEAN_SERVICE_NS
    lam = utilisation * mu
    expected = 1 / (mu - lam)
    interval = _replicated_mean_sojourn(utilisation, deterministic=False, seed=11)
    assert interval.low <= expected <= interval.high, (interval, expected)
    # The interval must be tight enough to catch a wrong engine (e.g. LIFO or lost service).
    assert interval.half_width < 0.06 * expected


@pytest.mark.parametrize("utilisation", [0.5, 0.8])
def test_md1_mean_time_in_system_matches_pollaczek_khinchine(utilisation):
    service = MEAN_SERVICE_NS
    expected = service + utilisation * service / (2 * (1 - utilisation))
    interval = _replicated_mean_sojourn(utilisation, deterministic=True, seed=12)
    assert interval.low <= expected <= interval.high, (interval, expected)
    assert interval.half_width < 0.05 * expected


def test_littles_law_holds_for_time_weighted_queue_length():
    rng = np.random.default_rng(5)
    arrivals, service = _trace(rng, 0.8, deterministic=False)
    sojourn, mean_in_system, end = single_queue_run(arrivals, service)
    throughput = len(arrivals) / end  # customers per ns over the whole run (system empties at end)
    # Little's law holds exactly on a sample path that starts and ends empty.
    assert mean_in_system == pytest.approx(throughput * sojourn.mean(), rel=1e-12)


class _Sized:
    """Adapts a rate server to elements that pass only the item: looks the size up by index."""

    def __init__(self, put, sizes: list[int]) -> None:
        self._put = put
        self._sizes = sizes

    def put(self, i: int, nbytes: int | None = None) -> None:
        self._put(i, self._sizes[i])


def test_tandem_of_three_rate_servers_matches_direct_recurrence():
    rates = [1_000_000_000, 650_000_000, 1_000_000_000]
    propagation = [1_000_000, 2_500_000, 700_000]
    rng = np.random.default_rng(3)
    n = 5_000
    sizes = rng.integers(64, 1500, n)
    arrivals = np.cumsum(rng.exponential(15_000, n).round().astype(np.int64))

    sim = Simulation()
    delivered = np.full(n, -1, dtype=np.int64)

    def sink(i: int) -> None:
        delivered[i] = sim.now

    downstream = sink
    for rate, delay in reversed(list(zip(rates, propagation, strict=True))):
        wire = Delay(sim, delay, downstream)
        server = RateServer(sim, rate, wire.put)
        downstream = _Sized(server.put, sizes.tolist()).put
    feed(sim, _Sized(server.put, sizes.tolist()), arrivals, sizes)
    sim.run()

    expected = arrivals.copy()
    for rate, delay in zip(rates, propagation, strict=True):
        service = (sizes * 8 * 1_000_000_000 + rate - 1) // rate  # rounded up
        departure = np.empty_like(expected)
        last = 0
        for i in range(n):
            last = max(int(expected[i]), last) + int(service[i])
            departure[i] = last
        expected = departure + delay
    np.testing.assert_array_equal(delivered, expected)


def test_byte_per_ns_rate_serves_one_byte_per_nanosecond():
    sim = Simulation()
    done = []
    server = RateServer(sim, BYTE_PER_NS_BPS, lambda i: done.append(sim.now))
    server.put(0, 1234)
    sim.run()
    assert done == [1234]
