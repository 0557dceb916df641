"""Every benchmark once, the figures against their peers, floors and targets in one table.

Runs each benchmark of this folder as its own process with ``--json`` (one at a time, so they do
not share the machine with each other), keeps the last JSON line of each, and writes
``results/performance.json`` (the raw figures, the date, the machine) and
``results/performance.md`` (the table the README shows). Each row names the benchmark that
measured it; ratios are against a peer or floor measured in the same process as the figure
(SimPy, a bare heapq loop, numpy's Lindley recurrence, a bare ``python -c pass``). Targets are
issue 18's and issue 17's; "met" compares the figure with its target, nothing else.

Run: python benchmarks/summary.py [--render-only] [--out DIR]
(``--render-only`` rewrites the table from the saved JSON without running anything.)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import attrs

HERE = Path(__file__).resolve().parent

# benchmark -> its arguments (besides --json)
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "engine": (),
    "dataplane": (),
    "batch": (),
    "long_tcp": (),
    "control_plane": ("--scale-spokes", "500,5000"),
    "startup": (),
}


@attrs.frozen
class Row:
    """One line of the table: a figure, what it is compared with, and its target."""

    measure: str
    benchmark: str
    figure: Callable[[dict], float]
    unit: str
    peer: Callable[[dict], float] | None = None  # the peer's or floor's figure
    peer_name: str = ""
    target: float | None = None
    target_on: str = "figure"  # "figure" or "ratio": what the target bounds
    at_least: bool = True  # the target is a floor (else a ceiling)


ROWS = (
    Row(
        "engine: bare timeouts",
        "engine",
        lambda r: r["bare_events_per_s"]["vnetsim"],
        "events/s",
        lambda r: r["bare_events_per_s"]["heapq_floor"],
        "bare heapq loop",
        0.8,
        "ratio",
    ),
    Row(
        "engine: M/M/1 customers",
        "engine",
        lambda r: r["mm1_customers_per_s"]["vnetsim"],
        "customers/s",
        lambda r: r["mm1_customers_per_s"]["simpy"],
        "SimPy",
        6.0,
        "ratio",
    ),
    Row(
        "event dataplane, ~1M packets",
        "dataplane",
        lambda r: r["packet_hops_per_s"],
        "packet-hops/s",
        lambda r: r["simpy_packet_hops_per_s"],
        "SimPy",
        5.0,
        "ratio",
    ),
    Row(
        "event dataplane, ~1M packets: rate",
        "dataplane",
        lambda r: r["packet_hops_per_s"],
        "packet-hops/s",
        target=1e6,
    ),
    Row(
        "batch: windowed FIFO tandem, 10M packets",
        "batch",
        lambda r: r["simulator"]["packet_hops_per_s"],
        "packet-hops/s",
        lambda r: r["simulator"]["numpy_floor_packet_hops_per_s"],
        "numpy Lindley floor",
    ),
    Row(
        "batch dataplane vs event engine, same scenario, 1M packets",
        "batch",
        lambda r: r["batch"]["packet_hops_per_s"],
        "packet-hops/s",
        lambda r: r["events"]["packet_hops_per_s"],
        "event engine",
        50.0,
        "ratio",
    ),
    Row(
        "batch dataplane, 10M packets",
        "batch",
        lambda r: r["big_run"]["packet_hops_per_s"],
        "packet-hops/s",
        target=30e6,
    ),
    Row(
        "batch dataplane, 10M packets: peak RSS",
        "batch",
        lambda r: r["big_run"]["peak_rss_mb"],
        "MB",
        target=600,
        at_least=False,
    ),
    Row(
        "30 s TCP flow over peering at 8 Gbps",
        "long_tcp",
        lambda r: r["wall_s"],
        "s wall",
        target=60,
        at_least=False,
    ),
    Row(
        "30 s TCP flow: peak RSS",
        "long_tcp",
        lambda r: r["peak_rss_mb"],
        "MB",
        target=500,
        at_least=False,
    ),
    Row(
        "validate, 500-spoke hub",
        "control_plane",
        lambda r: r["spokes_500"]["validate_s"],
        "s",
    ),
    Row(
        "validate, 5,000-spoke hub",
        "control_plane",
        lambda r: r["spokes_5000"]["validate_s"],
        "s",
        target=3,
        at_least=False,
    ),
    Row(
        "next-hop CLI call, 5,000-spoke hub",
        "control_plane",
        lambda r: r["spokes_5000"]["next_hop_cli_s"],
        "s wall",
        target=0.5,
        at_least=False,
    ),
    Row(
        "connectivity CLI call, 5,000-spoke hub",
        "control_plane",
        lambda r: r["spokes_5000"]["connectivity_cli_s"],
        "s wall",
        target=0.5,
        at_least=False,
    ),
    Row(
        "matrix of 1,001,000 subnet pairs (500 spokes)",
        "control_plane",
        lambda r: r["matrix_s"],
        "s",
        target=10,
        at_least=False,
    ),
    Row(
        "slowest of 10 intents (500 spokes)",
        "control_plane",
        lambda r: r["intent_max_s"],
        "s",
        target=1,
        at_least=False,
    ),
    Row(
        "vnetsim --help",
        "startup",
        lambda r: r["help_s"],
        "s wall",
        lambda r: r["python_floor_s"],
        "python -c pass",
        0.4,
        at_least=False,
    ),
    Row(
        "next-hop on a small file",
        "startup",
        lambda r: r["next_hop_small_s"],
        "s wall",
        lambda r: r["python_floor_s"],
        "python -c pass",
        0.4,
        at_least=False,
    ),
)


def run_all(only: tuple[str, ...] = ()) -> dict:
    """Each benchmark's last JSON line (a failed one: its exit code and error output)."""
    results = {}
    for name, extra in BENCHMARKS.items():
        if only and name not in only:
            continue
        command = [sys.executable, str(HERE / f"{name}.py"), *extra, "--json"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            results[name] = {"failed": done.returncode, "stderr": done.stderr[-2000:]}
        else:
            results[name] = json.loads(lines[-1])
        results[name]["benchmark_wall_s"] = time.perf_counter() - start
        print(f"{name}: {results[name]['benchmark_wall_s']:.0f} s", file=sys.stderr)
    return results


def _number(value: float, unit: str) -> str:
    if unit.endswith("/s"):
        return f"{value / 1e6:,.2f}M" if value >= 1e6 else f"{value:,.0f}"
    if unit == "MB":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def render(report: dict) -> str:
    """The markdown table of ``report`` (what ``run_all`` returned, with its metadata)."""
    lines = [
        "| measure | vnetsim | unit | peer or floor | ratio | target | met | benchmark |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    results = report["results"]
    for row in ROWS:
        raw = results.get(row.benchmark, {})
        figure = _figure(row, results)
        if figure is None:
            lines.append(f"| {row.measure} | not measured | | | | | | {row.benchmark}.py |")
            continue
        peer = row.peer(raw) if row.peer else None
        ratio = figure / peer if peer else None
        peer_text = f"{_number(peer, row.unit)} ({row.peer_name})" if peer else "-"
        ratio_text = f"{ratio:.2f}×" if ratio is not None else "-"
        met, target_text = "-", "-"
        if row.target is not None:
            value = ratio if row.target_on == "ratio" else figure
            sign = "≥" if row.at_least else "<"
            shown = (
                f"{row.target:g}×" if row.target_on == "ratio" else _number(row.target, row.unit)
            )
            target_text = f"{sign} {shown}"
            ok = value >= row.target if row.at_least else value < row.target
            met = "yes" if ok else "no"
        lines.append(
            f"| {row.measure} | {_number(figure, row.unit)} | {row.unit} | {peer_text} | "
            f"{ratio_text} | {target_text} | {met} | {row.benchmark}.py |"
        )
    machine = report["machine"]
    lines.append("")
    lines.append(
        f"Measured {report['date']} on {machine['cpus']} CPUs ({machine['platform']}, Python "
        f"{machine['python']}) by `python benchmarks/summary.py`, each benchmark alone in its own "
        "process; wall-clock figures depend on the machine, ratios much less."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--only", default="", help="benchmarks to rerun, comma-separated")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    saved = out / "performance.json"
    if args.render_only:
        report = json.loads(saved.read_text())
    else:
        only = tuple(name for name in args.only.split(",") if name)
        report = json.loads(saved.read_text()) if only and saved.exists() else {"results": {}}
        report["results"] |= run_all(only)
        report["date"] = datetime.date.today().isoformat()
        report["machine"] = {
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
        }
        out.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(report, indent=1) + "\n")
    table = render(report)
    (out / "performance.md").write_text(table)
    print(table)
    figures = {row.measure: _figure(row, report["results"]) for row in ROWS}
    print(json.dumps({measure: value for measure, value in figures.items() if value is not None}))
    return 0


def _figure(row: Row, results: dict) -> float | None:
    """The row's figure from its benchmark's output (None: not measured, or it failed)."""
    try:
        return row.figure(results.get(row.benchmark, {}))
    except (KeyError, TypeError):
        return None


if __name__ == "__main__":
    sys.exit(main())
