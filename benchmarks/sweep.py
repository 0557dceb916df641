"""Sweep throughput: runs per second with 1 and 2 local worker processes on the same sweep
(scenarios/sku_ladder.yaml, 4 SKUs x 3 loads x 4 replications, 0.5 s of traffic per run,
batch engine).

Run: python benchmarks/sweep.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from fabric.scenarios import path
from fabric.study.sweeps import sweep

GRID = {
    "gateways.hq-gw.sku": ["VpnGw1", "VpnGw2", "VpnGw3", "VpnGw1AZ"],
    "traffic.*.rate_mbps": [50, 130, 260],
    "traffic.*.duration_s": [0.5],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--replications", type=int, default=4)
    args = parser.parse_args(argv)
    report, reference = {}, None
    for workers in (1, 2):
        start = time.perf_counter()
        result = sweep(path("sku_ladder"), GRID, replications=args.replications, workers=workers)
        wall = time.perf_counter() - start
        runs = len(result.records) // 5
        report[f"workers_{workers}"] = {"runs": runs, "wall_s": wall, "runs_per_s": runs / wall}
        reference = reference or result.records
        assert result.records == reference, "records differ between executors"
    report["speedup"] = report["workers_2"]["runs_per_s"] / report["workers_1"]["runs_per_s"]
    if not args.json:
        for workers in (1, 2):
            r = report[f"workers_{workers}"]
            print(
                f"{workers} worker(s): {r['runs']} runs in {r['wall_s']:.2f} s = "
                f"{r['runs_per_s']:.1f} runs/s"
            )
        print(f"speed-up with 2 workers: {report['speedup']:.2f} (records identical)")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
