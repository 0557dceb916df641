"""Batch (vectorised) path: the simulator's windowed FIFO tandem against a bare numpy Lindley
floor, then the fabric's batch dataplane against its event engine and a 10,000,000-packet run.

Simulator part: a synthetic three-server tandem (10 / 2.5 / 5 Gbit/s, finite byte and packet
buffers, fixed delays; Poisson arrivals at 90% of the bottleneck, sizes 64-1500 bytes) of
--packets packets, streamed through ``simulator.batch.fifo_window`` a window at a time, each
server carrying its backlog in a ``FifoState``. The floor is numpy's own Lindley recurrence
(cumsum + maximum.accumulate, unlimited buffers) over the same arrivals, whole arrays, in the
same process. A packet-hop is one packet through one server. The windowed results are checked
against one ``fifo_with_buffer`` call per server over the whole trace.

Fabric part: scenarios/sku_ladder.yaml on a VpnGw5 gateway at 90% of its aggregate cap, five
tunnels, 1400-byte Poisson packets; packet-hops are traversals of queueing and delay elements,
counted the same way by both engines; "events" and "batch" are the best of three interleaved
runs of each on the same scenario, about --compare-packets packets (1,000,000: a tenth of the
big run, long enough that neither engine's fixed costs, such as resolving the paths, weigh on
its rate) ("ratio": batch over events). The big run (--big-packets,
samples kept as ``simulate`` keeps them by default) runs in a fresh Python process of its own,
so that its ``peak_rss_mb`` is that run's whole process (interpreter, imports, model, traces,
samples, results) and not the high-water mark the simulator part or allocator reuse left
behind.

The last line of stdout is JSON: {"simulator": {"packet_hops_per_s", "numpy_floor_packet_hops_
per_s", "of_numpy_floor", "peak_rss_mb", "identical_to_one_call", ...}, "batch", "events",
"ratio", "identical_results", "big_run": {..., "peak_rss_mb", "of_numpy_floor"}} (the fabric
keys are left out with --skip-fabric).

Run: python benchmarks/batch.py [--json] [--packets N] [--window N] [--skip-fabric]
     [--compare-packets N] [--big-packets N]
     (--big-run-only: the big run alone, in this process; its JSON is the last line)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

from simulator.batch import FifoState, fifo, fifo_window, fifo_with_buffer, service_times

LOAD = 0.9
SKU = ("VpnGw5", "Generation2")

# (rate bit/s, delay ns, buffer bytes, buffer packets) of the synthetic tandem's servers
TANDEM = (
    (10_000_000_000, 5_000, 1_000_000, None),
    (2_500_000_000, 1_000_000, None, 200),
    (5_000_000_000, 100_000, 512_000, None),
)
MEAN_SIZE = (64 + 1500) / 2


def tandem_trace(packets: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals at LOAD of the bottleneck, sizes uniform in 64..1500 bytes."""
    rng = np.random.default_rng(seed)
    bottleneck = min(rate for rate, *_ in TANDEM)
    mean_gap_ns = MEAN_SIZE * 8 * 1e9 / (LOAD * bottleneck)
    arrivals = np.cumsum(rng.exponential(mean_gap_ns, packets)).astype(np.int64)
    sizes = rng.integers(64, 1501, packets, dtype=np.int64)
    return arrivals, sizes


def windowed_tandem(arrivals: np.ndarray, sizes: np.ndarray, window: int) -> dict:
    """Stream the trace through the tandem a window at a time; delivery times (-1: dropped)."""
    states = [FifoState() for _ in TANDEM]
    delivered = np.full(arrivals.size, -1, dtype=np.int64)
    drops = [0] * len(TANDEM)
    hops = 0
    for begin in range(0, arrivals.size, window):
        times, wire = arrivals[begin : begin + window], sizes[begin : begin + window]
        index = np.arange(begin, begin + times.size)
        for k, (rate, delay, nbytes, npackets) in enumerate(TANDEM):
            hops += times.size
            departures, kept, _ = fifo_window(
                states[k],
                times,
                wire,
                service_times(wire, rate),
                buffer_bytes=nbytes,
                buffer_packets=npackets,
            )
            if not kept.all():
                drops[k] += int(times.size - kept.sum())
                departures, wire, index = departures[kept], wire[kept], index[kept]
            times = departures + delay
        delivered[index] = times
    return {"delivered": delivered, "drops": drops, "packet_hops": hops}


def one_call_tandem(arrivals: np.ndarray, sizes: np.ndarray) -> dict:
    """The same tandem with one fifo_with_buffer call per server over the whole trace."""
    times, wire, index = arrivals, sizes, np.arange(arrivals.size)
    drops = []
    for rate, delay, nbytes, npackets in TANDEM:
        departures, kept, _, _ = fifo_with_buffer(
            times, wire, service_times(wire, rate), buffer_bytes=nbytes, buffer_packets=npackets
        )
        drops.append(int(times.size - kept.sum()))
        times, wire, index = departures[kept] + delay, wire[kept], index[kept]
    delivered = np.full(arrivals.size, -1, dtype=np.int64)
    delivered[index] = times
    return {"delivered": delivered, "drops": drops}


def numpy_floor(arrivals: np.ndarray, sizes: np.ndarray) -> int:
    """numpy's Lindley recurrence server after server, unlimited buffers: the floor."""
    times = arrivals
    for rate, delay, _, _ in TANDEM:
        times = fifo(times, service_times(sizes, rate)) + delay
    return arrivals.size * len(TANDEM)


def simulator_part(packets: int, window: int, repeat: int = 3) -> dict:
    """Windowed tandem against the numpy floor, best of ``repeat`` interleaved rounds of CPU
    time (steadier than wall time on a shared machine); the peak RSS is taken after a first
    windowed run, before the floor's whole arrays exist."""
    arrivals, sizes = tandem_trace(packets)
    result = windowed_tandem(arrivals, sizes, window)  # also pays the first touch of memory
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best_wall = best_floor = float("inf")
    for _ in range(repeat):  # interleaved: a slow spell of a shared machine hits both
        start = time.process_time()
        windowed_tandem(arrivals, sizes, window)
        best_wall = min(best_wall, time.process_time() - start)
        start = time.process_time()
        floor_hops = numpy_floor(arrivals, sizes)
        best_floor = min(best_floor, time.process_time() - start)
    whole = one_call_tandem(arrivals, sizes)
    same = whole["drops"] == result["drops"] and bool(
        np.array_equal(whole["delivered"], result["delivered"])
    )
    hops_per_s = result["packet_hops"] / best_wall
    floor_per_s = floor_hops / best_floor
    return {
        "packets": packets,
        "window": window,
        "packet_hops": result["packet_hops"],
        "drops": result["drops"],
        "wall_s": best_wall,
        "packet_hops_per_s": hops_per_s,
        "numpy_floor_packet_hops_per_s": floor_per_s,
        "of_numpy_floor": hops_per_s / floor_per_s,
        "peak_rss_mb": peak_rss_mb,
        "trace_mb": (arrivals.nbytes + sizes.nbytes) / 2**20,
        "identical_to_one_call": same,
    }


def scenario(duration_s: float):
    import attrs

    from fabric.catalogue.skus import lookup
    from fabric.io import load_topology
    from fabric.scenarios import path

    document = load_topology(path("sku_ladder"))
    fabric = document.fabric
    fabric.gateways["hq-gw"] = attrs.evolve(fabric.gateways["hq-gw"], sku=SKU[0], generation=SKU[1])
    per_flow = LOAD * lookup(*SKU).aggregate_mbps / len(document.traffic)
    flows = [{**f, "rate_mbps": per_flow, "duration_s": duration_s} for f in document.traffic]
    return fabric, flows


def run(engine: str, duration_s: float) -> dict:
    from fabric.sim.runs import simulate

    fabric, flows = scenario(duration_s)
    start = time.perf_counter()
    result = simulate(fabric, flows, engine=engine)
    wall = time.perf_counter() - start
    packets = sum(f.sent for f in result.flows)
    return {
        "packets": packets,
        "packet_hops": result.packet_hops,
        "wall_s": wall,
        "packet_hops_per_s": result.packet_hops / wall,
        "packets_per_s": packets / wall,
        "results": result.to_json(),
    }


def duration_for(packets: int) -> float:
    """The duration of the fabric scenario that makes about ``packets`` packets at its load."""
    from fabric.catalogue.skus import lookup

    return packets * 1400 * 8 / (LOAD * lookup(*SKU).aggregate_mbps * 1e6)


def big_run(packets: int) -> dict:
    """The batch engine on about ``packets`` packets of the fabric scenario, in this process."""
    duration = duration_for(packets)
    big = run("batch", duration)
    big.pop("results")
    big["duration_s"] = duration
    big["peak_rss_mb"] = own_peak_rss_mb()
    return big


def own_peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss
    would carry the parent's peak into a child it forked)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def big_run_in_a_fresh_process(packets: int) -> dict:
    command = [sys.executable, __file__, "--big-run-only", "--big-packets", str(packets)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--compare-packets", type=int, default=1_000_000, help="packets of the engine comparison"
    )
    parser.add_argument("--big-packets", type=int, default=10_000_000)
    parser.add_argument("--packets", type=int, default=10_000_000, help="simulator tandem size")
    parser.add_argument("--window", type=int, default=1 << 16, help="arrivals per window")
    parser.add_argument("--skip-fabric", action="store_true", help="the simulator part only")
    parser.add_argument("--big-run-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.big_run_only:
        print(json.dumps(big_run(args.big_packets)))
        return 0
    simulator = simulator_part(args.packets, args.window)
    if not args.json:
        print(
            f"simulator tandem: {simulator['packets']:,} packets, {simulator['packet_hops']:,} "
            f"packet-hops in {simulator['wall_s']:.2f} s = "
            f"{simulator['packet_hops_per_s']:,.0f} packet-hops/s, "
            f"{simulator['of_numpy_floor']:.0%} of numpy's Lindley floor "
            f"({simulator['numpy_floor_packet_hops_per_s']:,.0f}/s); "
            f"peak RSS {simulator['peak_rss_mb']:.0f} MB; drops {simulator['drops']}; "
            f"identical to one call: {simulator['identical_to_one_call']}"
        )
    if args.skip_fabric:
        print(json.dumps({"simulator": simulator}))
        return 0
    run("batch", 0.005)  # warm up
    # Best of three interleaved runs of each engine (a slow spell of a shared machine hits both).
    compared = duration_for(args.compare_packets)
    rounds = [(run("events", compared), run("batch", compared)) for _ in range(3)]
    events = min((r[0] for r in rounds), key=lambda r: r["wall_s"])
    batch = min((r[1] for r in rounds), key=lambda r: r["wall_s"])
    same = json.dumps(events.pop("results")) == json.dumps(batch.pop("results"))
    big = big_run_in_a_fresh_process(args.big_packets)
    # against the simulator part's bare numpy Lindley tandem (measured in this process)
    big["of_numpy_floor"] = big["packet_hops_per_s"] / simulator["numpy_floor_packet_hops_per_s"]
    report = {
        "simulator": simulator,
        "events": events,
        "batch": batch,
        "ratio": batch["packet_hops_per_s"] / events["packet_hops_per_s"],
        "identical_results": same,
        "big_run": big,
    }
    if not args.json:
        print(
            f"same scenario ({events['packets']:,} packets, "
            f"{events['packet_hops']:,} packet-hops), "
            f"identical results: {same}"
        )
        for name in ("events", "batch"):
            r = report[name]
            print(
                f"  {name:<7}{r['wall_s']:8.3f} s  {r['packet_hops_per_s']:>14,.0f} packet-hops/s"
            )
        print(f"  ratio batch/events: {report['ratio']:.1f}")
        print(
            f"big run: {big['packets']:,} packets ({big['packet_hops']:,} packet-hops) in "
            f"{big['wall_s']:.1f} s = {big['packet_hops_per_s']:,.0f} packet-hops/s, "
            f"peak RSS {big['peak_rss_mb']:.0f} MB"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
