"""The ``vnetsim`` command line (the contract is in DESIGN.md: names, shapes, exit codes)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import fabric

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad usage or an unreadable input: reported on stderr with exit code 2."""


def _version_text() -> str:
    return f"vnetsim {fabric.__version__} (fabric package at {Path(fabric.__file__).parent})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vnetsim",
        description="Offline simulator for Azure VNet-to-VNet connectivity.",
    )
    parser.add_argument("--version", action="version", version=_version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser("validate", help="report every problem in a topology")
    _add_file_arguments(validate)

    routes = commands.add_parser("routes", help="effective routes of a subnet")
    _add_file_arguments(routes)
    routes.add_argument("--vnet", required=True)
    routes.add_argument("--subnet", required=True)

    hop = commands.add_parser("next-hop", help="the route that wins from --src to --dst")
    _add_file_arguments(hop)
    hop.add_argument("--src", required=True, help="address of the VM (NIC) asking")
    hop.add_argument("--dst", required=True, help="destination address (anywhere)")

    flow = commands.add_parser("ip-flow", help="NSG verdict for one flow (IP flow verify)")
    _add_file_arguments(flow)
    flow.add_argument("--src", required=True)
    flow.add_argument("--dst", required=True)
    flow.add_argument("--protocol", required=True, help="Tcp, Udp, Icmp, Esp or Ah")
    flow.add_argument("--port", type=int, help="destination port (Tcp/Udp)")
    flow.add_argument("--src-port", type=int, help="source port (default: an ephemeral port)")
    flow.add_argument("--direction", required=True, help="Inbound or Outbound")

    trace = commands.add_parser("connectivity", help="hop-by-hop trace from --src to --dst")
    _add_file_arguments(trace)
    trace.add_argument("--src", required=True)
    trace.add_argument("--dst", required=True)
    trace.add_argument("--protocol", default="Tcp")
    trace.add_argument("--port", type=int, default=443)

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
    sweep.add_argument("--workers", type=int, help="local processes or LocalCluster workers")
    sweep.add_argument(
        "--engine",
        choices=["auto", "events", "batch"],
        help="default: the scenario's simulation.engine, else auto",
    )
    sweep.add_argument("--out", help="folder for records.csv/json, summary.csv and figures")
    sweep.add_argument("--json", action="store_true", help="print the summary as JSON")

    convert = commands.add_parser("import", help="convert an ARM template or az/REST JSON")
    convert.add_argument("file", help="ARM template JSON or az/REST JSON (or native YAML)")
    convert.add_argument("--parameters", help="ARM parameters file (ARM templates only)")
    convert.add_argument("--to", choices=["yaml"], default="yaml", help="output format")
    convert.add_argument("--output", "-o", help="write here instead of stdout")

    run = commands.add_parser("run", help="simulate a scenario (default: the built-in demo)")
    run.add_argument("scenario", nargs="?", help="scenario file; omit for the demo")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    run.add_argument("--out", help="folder for results.json and the figures")
    run.add_argument("--duration", type=float, help="override simulation.duration_s (seconds)")
    run.add_argument("--capture", help="host, peering link (vnet/link), gateway or connection")
    run.add_argument("--pcap", help="pcap file for the packets seen at --capture")
    run.add_argument(
        "--engine",
        choices=["auto", "events", "batch"],
        help="batch: vectorised (open-loop flows); events: packet by packet; auto: batch if it "
        "can (default: the scenario's simulation.engine, else auto)",
    )
    return parser


def _add_file_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("file", help="topology: native YAML, ARM template JSON or az/REST JSON")
    command.add_argument("--parameters", help="ARM parameters file (ARM templates only)")
    command.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an ARM parameter value, repeatable; VALUE is read as JSON when it parses "
        '(true, 3, ["a"]), else as a string; wins over --parameters',
    )
    command.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _parameter_values(pairs: list[str]) -> dict:
    """``--parameter name=value`` pairs: the value as JSON when it parses, else a string."""
    values = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--parameter {pair!r}: write it as NAME=VALUE")
        try:
            values[name.strip()] = json.loads(text)
        except (ValueError, RecursionError):
            values[name.strip()] = text
    return values


def _load(args: argparse.Namespace):
    from fabric.io import InputError, load_topology

    values = _parameter_values(getattr(args, "parameter", None) or [])
    try:
        return load_topology(args.file, parameters=args.parameters, parameter_values=values)
    except InputError as problem:
        raise UsageError(problem.render()) from None


def _cmd_validate(args: argparse.Namespace) -> int:
    from fabric.checks import has_errors, validate

    document = _load(args)
    findings = [*document.findings, *validate(document.fabric)]
    valid = not has_errors(findings)
    if args.json:
        print(json.dumps({"valid": valid, "findings": [f.to_json() for f in findings]}, indent=2))
    else:
        _print_findings(args.file, findings, valid)
    return EXIT_OK if valid else EXIT_NEGATIVE


def _print_findings(file: str, findings: list, valid: bool) -> None:
    errors = sum(1 for f in findings if f.severity == "Error")
    warnings = len(findings) - errors
    verdict = "valid" if valid else "INVALID"
    print(f"{file}: {verdict} ({errors} error(s), {warnings} warning(s))")
    if findings:
        width = max(len(f.code) for f in findings)
        for finding in findings:
            print(f"  {finding.severity:<8}{finding.code:<{width}}  {finding.message}")


def _plane(args: argparse.Namespace):
    """The control plane of FILE, with the scenario's own latency parameters (so the trace's
    estimate is the one ``run`` uses)."""
    from fabric.catalogue.latency import LatencyModel
    from fabric.control.plane import ControlPlane

    document = _load(args)
    parameters = document.simulation.get("parameters") or {}
    return ControlPlane(document.fabric, latency=LatencyModel().with_overrides(parameters))


def _diagnose(work):
    """Run a diagnostic; a question that cannot be asked (QuestionError) is a usage error."""
    from fabric.watcher import QuestionError

    try:
        return work()
    except QuestionError as problem:
        raise UsageError(str(problem)) from None


def _cmd_routes(args: argparse.Namespace) -> int:
    plane = _plane(args)
    vnet = plane.fabric.vnets.get(args.vnet)
    if vnet is None:
        from fabric.model.records import suggest

        raise UsageError(
            f"{args.file}: no VNet {args.vnet!r} ({suggest(args.vnet, plane.fabric.vnets)})"
        )
    if args.subnet not in vnet.subnet_names:
        from fabric.model.records import suggest

        raise UsageError(
            f"{args.file}: VNet {args.vnet} has no subnet {args.subnet!r} "
            f"({suggest(args.subnet, vnet.subnet_names)})"
        )
    routes = plane.routes(args.vnet, args.subnet).routes
    if args.json:
        print(json.dumps([r.to_json() for r in routes], indent=2))
        return EXIT_OK
    print(f"Effective routes of {args.vnet}/{args.subnet}")
    print(f"  {'source':<22}{'state':<9}{'prefix':<20}{'next hop type':<24}{'next hop IP':<16}name")
    for r in routes:
        print(
            f"  {r.source:<22}{r.state:<9}{r.prefix!s:<20}{r.next_hop_type:<24}"
            f"{','.join(r.next_hop_ip_address):<16}{r.name or ''}"
        )
    return EXIT_OK


def _cmd_next_hop(args: argparse.Namespace) -> int:
    from fabric.watcher import next_hop

    plane = _plane(args)
    hop = _diagnose(lambda: next_hop(plane, args.src, args.dst))
    answer = hop.to_json()
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(
            f"{args.src} ({hop.location.name}) -> {args.dst}: next hop {answer['next_hop_type']}"
            + (f" {answer['next_hop_ip_address']}" if answer["next_hop_ip_address"] else "")
            + f", route {answer['address_prefix']} from {answer['route_table']}"
        )
    return EXIT_NEGATIVE if answer["next_hop_type"] == "None" else EXIT_OK


def _cmd_ip_flow(args: argparse.Namespace) -> int:
    from fabric.watcher import ip_flow

    plane = _plane(args)
    verdict = _diagnose(
        lambda: ip_flow(
            plane,
            args.src,
            args.dst,
            protocol=args.protocol,
            port=args.port,
            direction=args.direction,
            source_port=args.src_port,
        )
    )
    answer = {"access": verdict.access, "rule_name": verdict.rule_name, "nsg": verdict.nsg}
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        decided = (
            f"rule {verdict.qualified_rule} of NSG {verdict.nsg}"
            if verdict.nsg
            else "no NSG applies"
        )
        print(f"Access {'allowed' if verdict.allowed else 'denied'}: {decided}")
    return EXIT_OK if verdict.allowed else EXIT_NEGATIVE


def _cmd_connectivity(args: argparse.Namespace) -> int:
    from fabric.watcher import connectivity

    plane = _plane(args)
    trace = _diagnose(
        lambda: connectivity(plane, args.src, args.dst, protocol=args.protocol, port=args.port)
    )
    print(json.dumps(trace.to_json(), indent=2) if args.json else trace)
    return EXIT_OK if trace.reachable else EXIT_NEGATIVE


def _cmd_import(args: argparse.Namespace) -> int:
    from fabric.io import to_yaml

    document = _load(args)
    text = to_yaml(document)
    for finding in document.findings:
        print(f"vnetsim: {finding}", file=sys.stderr)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as problem:
            raise UsageError(f"{args.output}: cannot write: {problem.strerror}") from None
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from fabric.io import InputError
    from fabric.model.traffic import TrafficError
    from fabric.sim.plans import SimulationError
    from fabric.study.sweeps import SweepError, parse_grid, sweep, text_progress

    try:
        result = sweep(
            args.scenario,
            parse_grid(args.grid),
            replications=args.replications,
            seed=args.seed,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            engine=args.engine,
            progress=None if args.json or not sys.stderr.isatty() else text_progress(),
        )
    except InputError as problem:
        raise UsageError(problem.render()) from None
    except (SweepError, TrafficError, SimulationError) as problem:
        raise UsageError(f"{args.scenario}: {problem}") from None
    summary = result.summary()
    written = result.write(args.out) if args.out else []
    if args.json:
        print(json.dumps(summary, sort_keys=True))
        return EXIT_OK
    keys = list(result.keys)
    print(f"{len(result.records)} records from {args.replications} replication(s) per point")
    header = "".join(f"{k:<24}" for k in keys) + f"{'flow':<18}{'Mbps':>12}{'mean ms':>12}"
    print(header)
    for row in summary:
        cells = "".join(f"{row[k]!s:<24}" for k in keys)
        ci = f"±{row['throughput_mbps_ci']:.1f}" if row["throughput_mbps_ci"] else ""
        latency = f"{row['latency_mean_ms']:.3f}" if row["latency_mean_ms"] is not None else "-"
        print(f"{cells}{row['flow']:<18}{row['throughput_mbps']:>8.1f}{ci:>6}{latency:>10}")
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    if args.scenario is None:
        from fabric.scenarios import DEFAULT_DEMO, path

        args.scenario = str(path(DEFAULT_DEMO))
        if not args.json:
            print(
                f"vnetsim demo: {DEFAULT_DEMO} ({args.scenario})\n"
                "The same VNet reaches one VNet by peering and one by a VNet-to-VNet VPN;\n"
                "UDP probes first, then one TCP flow over each path.\n"
            )
    from fabric.checks import has_errors, validate
    from fabric.io import InputError, load_topology
    from fabric.model.traffic import TrafficError
    from fabric.sim.capture import CaptureError
    from fabric.sim.plans import SimulationError
    from fabric.sim.runs import run_document

    try:
        document = load_topology(args.scenario)
    except InputError as problem:
        raise UsageError(problem.render()) from None
    if not document.traffic:
        raise UsageError(
            f"{args.scenario}: no 'traffic' section; add at least one flow to simulate"
        )
    findings = validate(document.fabric)
    if has_errors(findings):
        _print_findings(args.scenario, findings, False)
        return EXIT_NEGATIVE
    if (args.capture is None) != (args.pcap is None):
        raise UsageError("--capture and --pcap go together: name the point and the file")
    try:
        result = run_document(
            document,
            duration_s=args.duration,
            progress=not args.json and sys.stderr.isatty(),
            capture=args.capture,
            engine=args.engine,
        )
    except (TrafficError, SimulationError, CaptureError) as problem:
        raise UsageError(f"{args.scenario}: {problem}") from None
    if args.pcap:
        try:
            count = result.capture.write(args.pcap)
        except OSError as problem:
            raise UsageError(f"{args.pcap}: cannot write: {problem.strerror}") from None
        if not args.json:
            print(f"wrote {count} packets seen at {args.capture} to {args.pcap}")
    written = result.write(args.out, title=Path(args.scenario).stem) if args.out else []
    if args.json:
        print(json.dumps(result.to_json(), sort_keys=True))
    else:
        print(result.table())
        for path in written:
            print(f"wrote {path}")
    return EXIT_OK


COMMANDS = {
    "run": _cmd_run,
    "validate": _cmd_validate,
    "routes": _cmd_routes,
    "next-hop": _cmd_next_hop,
    "ip-flow": _cmd_ip_flow,
    "connectivity": _cmd_connectivity,
    "import": _cmd_import,
    "sweep": _cmd_sweep,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"vnetsim: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
