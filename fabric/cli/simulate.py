"""``vnetsim run`` and ``vnetsim sweep``: simulate a scenario once, or over a grid of values and
replications. Everything that can be checked is checked before the first packet: the topology,
the traffic, the output folder and the memory the run would need."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import attrs

from fabric.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_NEGATIVE,
    EXIT_OK,
    UsageError,
    add_source_options,
    check_output_folder,
    emit,
    load_input,
    print_findings,
)

ENGINE_CHOICES = ["auto", "events", "batch"]


def register(commands) -> None:
    run = commands.add_parser("run", help="simulate a scenario (default: the built-in demo)")
    run.add_argument("scenario", nargs="?", help="scenario file; omit for the demo")
    add_source_options(run)
    run.add_argument("--json", action="store_true", help="machine-readable output")
    run.add_argument(
        "--traffic",
        metavar="FILE",
        help="a YAML file whose traffic: (and simulation:) sections drive this topology, "
        "e.g. for an imported ARM template or Terraform configuration",
    )
    run.add_argument("--out", help="folder for results.json and the figures")
    run.add_argument("--force", action="store_true", help="write into a non-empty --out")
    run.add_argument("--duration", type=float, help="override simulation.duration_s (seconds)")
    run.add_argument("--seed", type=int, help="override simulation.seed (an integer >= 0)")
    run.add_argument("--capture", help="host, peering link (vnet/link), gateway or connection")
    run.add_argument("--pcap", help="pcap file for the packets seen at --capture")
    run.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        help="batch: vectorised (open-loop flows); events: packet by packet; auto: batch if it "
        "can (default: the scenario's simulation.engine, else auto)",
    )
    run.set_defaults(handler=cmd_run)

    sweep = commands.add_parser("sweep", help="run a scenario over a grid and replications")
    sweep.add_argument("scenario", help="scenario file (topology + traffic)")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="e.g. gateways.hq-gw.sku=VpnGw1,VpnGw2 or traffic.*.rate_mbps=100,200",
    )
    sweep.add_argument("--replications", type=int, default=3)
    sweep.add_argument("--seed", type=int, default=1, help="root seed of every run")
    sweep.add_argument("--executor", choices=["local", "dask"], default="local")
    sweep.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster)")
    sweep.add_argument(
        "--scheduler-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for --scheduler before giving up (default 10)",
    )
    sweep.add_argument("--workers", type=int, help="local processes or LocalCluster workers")
    sweep.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        help="default: the scenario's simulation.engine, else auto",
    )
    sweep.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out grid points that do not validate (listed), instead of stopping",
    )
    sweep.add_argument("--out", help="folder for records.csv/json, summary.csv and figures")
    sweep.add_argument("--force", action="store_true", help="write into a non-empty --out")
    sweep.add_argument("--json", action="store_true", help="print the summary as JSON")
    sweep.set_defaults(handler=cmd_sweep)


def _scenario_document(args: argparse.Namespace):
    """The scenario to run: FILE (or the demo), with --traffic's sections merged in."""
    if args.scenario is None:
        from fabric.scenarios import DEFAULT_DEMO, path

        args.scenario = str(path(DEFAULT_DEMO))
        args.demo = DEFAULT_DEMO
    document = load_input(args, args.scenario)
    if args.traffic:
        extra = load_input(argparse.Namespace(), args.traffic)
        if not extra.traffic:
            raise UsageError(f"{args.traffic}: no 'traffic' section to add", file=args.traffic)
        document = attrs.evolve(
            document,
            traffic=extra.traffic,
            simulation={**document.simulation, **extra.simulation},
            events=extra.events or document.events,
        )
    if not document.traffic:
        raise UsageError(
            f"{args.scenario}: no 'traffic' section; add at least one flow to simulate, "
            "or give one with --traffic FILE",
            file=args.scenario,
        )
    return document


def _available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, else free physical pages; None if neither is known."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(document, duration_s: float | None, engine: str, samples: bool) -> None:
    """Refuse a run that would need more memory than the machine has, before it starts."""
    from fabric.model.traffic import FlowSpec, TrafficError
    from fabric.sim.runs import estimate_memory_bytes

    try:
        specs = [FlowSpec.from_mapping(dict(t)) for t in document.traffic]
    except TrafficError:
        return  # validation reports it
    horizon = duration_s if duration_s is not None else document.simulation.get("duration_s")
    needed = estimate_memory_bytes(document.fabric, specs, horizon, engine, samples)
    available = _available_memory_bytes()
    if available is not None and needed > 0.8 * available:
        hint = "" if engine == "batch" else "use --engine batch (less than half the memory), or "
        if samples and any(spec.pattern == "tcp" for spec in specs):
            hint += "leave out --out (flows then keep statistics, not every packet), or "
        raise UsageError(
            f"this run would need about {needed / 2**30:.1f} GiB of memory and "
            f"{available / 2**30:.1f} GiB is available; {hint}simulate a shorter time "
            "with --duration, or lower the rates",
            "InsufficientMemory",
        )


def _demo_preamble(document, args: argparse.Namespace) -> str:
    """What the demo simulates: the scenario, seed, simulated time and each flow's offer."""
    simulation = document.simulation
    seed = args.seed if args.seed is not None else simulation.get("seed", 1)
    flows = []
    horizon = 0.0
    for flow in document.traffic:
        rate = "as fast as TCP can" if flow.get("pattern") == "tcp" else f"{flow['rate_mbps']} Mbps"
        seconds = flow.get("duration_s", 1.0)
        horizon = max(horizon, flow.get("start_s", 0.0) + seconds)
        flows.append(f"  {flow['name']}: {flow['src']} -> {flow['dst']}, {rate} for {seconds} s")
    if args.duration is not None:
        horizon = args.duration
    return "\n".join(
        [
            f"vnetsim demo: {args.demo} ({args.scenario})",
            "One VNet reaches a second by VNet peering and a third by a VNet-to-VNet VPN:",
            "UDP probes first, then one TCP flow over each path.",
            f"Simulated time {horizon:g} s, seed {seed}; offered traffic:",
            *flows,
            "Mbps is the receiver's goodput; latency is one-way, NIC to NIC. In the element",
            "table, util is the fraction of the run each element spent sending at its capacity",
            "and peak queue is in packets.",
            "",
        ]
    )


def cmd_run(args: argparse.Namespace) -> int:
    from fabric.checks import has_errors, validate
    from fabric.checks.traffic import check_traffic
    from fabric.model.traffic import TrafficError
    from fabric.sim.capture import CaptureError
    from fabric.sim.plans import SimulationError
    from fabric.sim.runs import run_document

    args.demo = None
    if (args.capture is None) != (args.pcap is None):
        raise UsageError("--capture and --pcap go together: name the point and the file")
    if args.seed is not None and not 0 <= args.seed < 2**63:
        raise UsageError(f"--seed {args.seed}: must be an integer from 0 to 2**63 - 1")
    if args.duration is not None and not 0 < args.duration < 1e6:
        raise UsageError(f"--duration {args.duration}: must be more than 0 and less than 1e6 s")
    check_output_folder(args.out, args.force)
    document = _scenario_document(args)
    findings = [
        *document.findings,
        *validate(document.fabric),
        *check_traffic(document.fabric, document.traffic),
    ]
    if has_errors(findings):
        if args.json:
            emit({"valid": False, "findings": [f.to_json() for f in findings]})
        else:
            print_findings(args.scenario, findings, False)
        return EXIT_NEGATIVE
    engine = args.engine or document.simulation.get("engine", "auto")
    samples = args.out is not None or bool(document.events)  # the figures need them
    _check_memory(document, args.duration, engine, samples)
    if args.demo and not args.json:
        print(_demo_preamble(document, args))
    try:
        result = run_document(
            document,
            duration_s=args.duration,
            seed=args.seed,
            progress=not args.json and sys.stderr.isatty(),
            capture=args.capture,
            engine=args.engine,
            # Per-packet samples only for the figures of --out: otherwise every flow streams
            # (memory bounded however long it runs; the same numbers, p50/p99 within 0.1%).
            samples=samples,
        )
    except (TrafficError, SimulationError, CaptureError) as problem:
        raise UsageError(f"{args.scenario}: {problem}", "InvalidScenario", args.scenario) from None
    written = []
    if args.pcap:
        try:
            count = result.capture.write(args.pcap)
        except OSError as problem:
            raise UsageError(f"{args.pcap}: cannot write: {problem.strerror}") from None
        if not args.json:
            print(f"wrote {count} packets seen at {args.capture} to {args.pcap}")
        written.append(args.pcap)
    if args.out:
        written += [str(p) for p in result.write(args.out, title=Path(args.scenario).stem)]
    if args.json:
        emit(result.to_json(), indent=None, sort_keys=True)
    else:
        print(result.table())
        for path in written[1 if args.pcap else 0 :]:
            print(f"wrote {path}")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from fabric.study.sweeps import (
        InvalidSweepError,
        SweepError,
        SweepInterruptedError,
        parse_grid,
        sweep,
        text_progress,
    )

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be at least 1")
    if args.replications < 1:
        raise UsageError(f"--replications {args.replications}: must be at least 1")
    if not 0 <= args.seed < 2**63:
        raise UsageError(f"--seed {args.seed}: must be an integer from 0 to 2**63 - 1")
    if not args.scheduler_timeout > 0:
        raise UsageError("--scheduler-timeout: must be a number of seconds > 0")
    check_output_folder(args.out, args.force)
    try:
        grid = parse_grid(args.grid)
    except SweepError as problem:
        raise UsageError(str(problem)) from None
    document = load_input(args, args.scenario)
    try:
        result = sweep(
            document,
            grid,
            replications=args.replications,
            seed=args.seed,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            engine=args.engine,
            progress=None if args.json or not sys.stderr.isatty() else text_progress(),
            skip_invalid=args.skip_invalid,
            scheduler_timeout_s=args.scheduler_timeout,
        )
    except InvalidSweepError as invalid:
        return _report_invalid(args, invalid.invalid, str(invalid))
    except SweepInterruptedError as stopped:
        _keep_interrupted(args, stopped)
        return EXIT_INTERRUPTED
    except SweepError as problem:
        raise UsageError(f"{args.scenario}: {problem}", "InvalidSweep", args.scenario) from None
    except Exception as problem:  # a run that failed in a worker process
        from fabric.model.traffic import TrafficError
        from fabric.sim.plans import SimulationError

        if isinstance(problem, TrafficError | SimulationError):
            raise UsageError(f"{args.scenario}: {problem}", "InvalidScenario") from None
        raise
    summary = result.summary()
    written = [str(p) for p in result.write(args.out)] if args.out else []
    skipped = [_point_json(p) for p in result.skipped]
    if args.json:
        emit({"summary": summary, "skipped": skipped, "written": written}, sort_keys=True)
        return EXIT_OK
    for point in result.skipped:
        print(f"skipped invalid {point.label()}: {point.findings[0].message}", file=sys.stderr)
    _print_summary(result, summary, args.replications)
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _point_json(point) -> dict:
    return {
        "point": point.point,
        "values": dict(point.values),
        "findings": [f.to_json() for f in point.findings],
    }


def _report_invalid(args: argparse.Namespace, invalid, message: str) -> int:
    if args.json:
        emit({"valid": False, "invalid_points": [_point_json(p) for p in invalid]})
        return EXIT_NEGATIVE
    print(f"{args.scenario}: {message}", file=sys.stderr)
    for point in invalid:
        print_findings(point.label(), list(point.findings), False, stream=sys.stderr)
    return EXIT_NEGATIVE


def _keep_interrupted(args: argparse.Namespace, stopped) -> None:
    """Ctrl-C: save the records that finished (to --out, else a file here) and say where."""
    result = stopped.result
    where = None
    if result.records:
        if args.out:
            result.write(args.out)
            where = args.out
        else:
            where = "vnetsim-sweep-interrupted.json"
            Path(where).write_text(json.dumps(list(result.records), indent=1, sort_keys=True))
    kept = f"; {len(result.records)} finished record(s) kept in {where}" if where else ""
    print(f"vnetsim: interrupted{kept}", file=sys.stderr)


def _print_summary(result, summary: list[dict], replications: int) -> None:
    keys = list(result.keys)
    widths = {k: max([len(k), *(len(str(row[k])) for row in summary)]) + 2 for k in keys}
    flow_width = max([4, *(len(str(row["flow"])) for row in summary)]) + 2
    print(f"{len(result.records)} records from {replications} replication(s) per point")
    header = "".join(f"{k:<{widths[k]}}" for k in keys)
    print(f"{header}{'flow':<{flow_width}}{'Mbps':>12}{'mean ms':>12}")
    for row in summary:
        cells = "".join(f"{row[k]!s:<{widths[k]}}" for k in keys)
        ci = f"±{row['throughput_mbps_ci']:.1f}" if row["throughput_mbps_ci"] else ""
        latency = f"{row['latency_mean_ms']:.3f}" if row["latency_mean_ms"] is not None else "-"
        print(
            f"{cells}{row['flow']:<{flow_width}}{row['throughput_mbps']:>8.1f}{ci:>6}{latency:>10}"
        )
