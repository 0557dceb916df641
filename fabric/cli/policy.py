"""Network policy as tests: ``matrix`` (who reaches whom), ``diff`` (what a change does) and
``check`` (intents, exhaustive over every address), as DESIGN.md's contract rows say."""

from __future__ import annotations

import argparse
from pathlib import Path

from fabric.cli.common import (
    EXIT_NEGATIVE,
    EXIT_OK,
    UsageError,
    add_input_arguments,
    add_source_options,
    emit,
    load_input,
    require_valid,
)


def register(commands) -> None:
    grid = commands.add_parser(
        "matrix", help="who reaches whom: every ordered pair of subnets (or of VMs with --hosts)"
    )
    add_input_arguments(grid)
    _service_options(grid)
    grid.add_argument(
        "--figure",
        metavar="OUT",
        help="also write the heatmap as OUT.png and OUT.svg (the suffix is dropped)",
    )
    grid.set_defaults(handler=cmd_matrix)

    change = commands.add_parser(
        "diff", help="what a change does: findings, effective routes and reachability"
    )
    change.add_argument("before", help="the topology before the change (any format)")
    change.add_argument("after", help="the topology after the change (any format)")
    add_source_options(change)
    change.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    _service_options(change)
    change.add_argument(
        "--traffic",
        metavar="SCENARIO",
        help="a scenario whose flows to simulate on both sides (throughput and latency)",
    )
    change.set_defaults(handler=cmd_diff)

    intents = commands.add_parser(
        "check", help="network policy as tests: intents checked over every address"
    )
    add_input_arguments(intents)
    intents.add_argument("--intents", required=True, metavar="INTENTS", help="intents YAML file")
    intents.set_defaults(handler=cmd_check)


def _service_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--protocol",
        help="Tcp, Udp, Icmp, Esp or Ah (default: Tcp 22, 443, 3389, Udp 53 and Icmp)",
    )
    command.add_argument("--port", type=int, help="destination port (Tcp/Udp; default 443)")
    command.add_argument(
        "--hosts", action="store_true", help="pairs of declared VMs instead of subnets"
    )


def _plane(args: argparse.Namespace, document):
    from fabric.catalogue.latency import LatencyModel
    from fabric.control.plane import ControlPlane

    parameters = document.simulation.get("parameters") or {}
    try:
        latency = LatencyModel().with_overrides(parameters)
    except (TypeError, ValueError) as problem:
        raise UsageError(f"{args.file}: simulation.parameters: {problem}") from None
    return ControlPlane(document.fabric, latency=latency)


def _question(work):
    from fabric.control.plane import QuestionError

    try:
        return work()
    except QuestionError as problem:
        raise UsageError(str(problem)) from None


def cmd_matrix(args: argparse.Namespace) -> int:
    from fabric.study.matrix import matrix

    document = load_input(args)
    require_valid(args, document)
    plane = _plane(args, document)
    result = _question(
        lambda: matrix(plane, protocol=args.protocol, port=args.port, hosts=args.hosts)
    )
    written = []
    if args.figure:
        try:
            written = [str(p) for p in result.write(Path(args.figure).with_suffix(""))]
        except OSError as problem:
            raise UsageError(f"--figure {args.figure}: cannot write: {problem}") from None
    if args.json:
        emit(result.to_json(), indent=None)
    else:
        print(result)
        for path in written:
            print(f"wrote {path}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from fabric.study.diff import diff

    before = _load_side(args, args.before)
    after = _load_side(args, args.after)
    traffic, simulation = None, None
    if args.traffic:
        scenario = _load_side(args, args.traffic)
        if not scenario.traffic:
            raise UsageError(f"--traffic {args.traffic}: the scenario has no traffic section")
        traffic, simulation = scenario.traffic, scenario.simulation
    result = _question(
        lambda: diff(
            before.fabric,
            after.fabric,
            protocol=args.protocol,
            port=args.port,
            hosts=args.hosts,
            traffic=traffic,
            simulation=simulation,
        )
    )
    if args.json:
        emit(result.to_json(), indent=None)
    else:
        print(f"{args.before} -> {args.after}")
        print(result)
    return EXIT_NEGATIVE if result.reachability_changed else EXIT_OK


def _load_side(args: argparse.Namespace, path: str):
    """Load one side of a diff; ARM parameters and Terraform variables go to the side of
    their kind only, so that a YAML file can be compared with an ARM template."""
    kind = _kind(path)
    options = argparse.Namespace(
        parameters=args.parameters if kind == "arm" else None,
        parameter=args.parameter if kind == "arm" else [],
        var=args.var if kind == "terraform" else [],
    )
    return load_input(options, path)


def _kind(path: str) -> str | None:
    """``arm``, ``terraform`` or None (anything else), from the path and the content."""
    from fabric.io import detect_format, jsonc
    from fabric.io.terraform import is_terraform_path

    if is_terraform_path(Path(path)):
        return "terraform"
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        if jsonc.looks_like_json(text):
            return "arm" if detect_format(jsonc.loads(text)) == "arm" else None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None  # load_input reports it with the file and line
    return None


def cmd_check(args: argparse.Namespace) -> int:
    from fabric.io import InputError
    from fabric.study.intents import Checker, CheckResult, IntentError, load_intents

    document = load_input(args)
    try:
        intents = load_intents(args.intents)
    except InputError as problem:
        first = problem.problems[0] if problem.problems else None
        raise UsageError(
            problem.render(), "InvalidIntents", problem.file, first.line if first else None
        ) from None
    require_valid(args, document)
    plane = _plane(args, document)
    checker = Checker(plane)
    results = []
    for intent in intents:
        try:
            results.append(checker.check(intent))
        except IntentError as problem:
            where = f"{args.intents}:{problem.line}" if problem.line else args.intents
            raise UsageError(
                f"{where}: {problem}", "InvalidIntents", args.intents, problem.line
            ) from None
    result = CheckResult(tuple(results))
    if args.json:
        emit(result.to_json())
    else:
        print(result)
        for failed in (r for r in result.results if r.counterexample is not None):
            example = failed.counterexample
            print(f"\n{failed.intent.name}: vnetsim connectivity {args.file} {example.command()}")
            print("\n".join(f"  {line}" for line in str(example.trace).splitlines()))
    return EXIT_OK if result.passed else EXIT_NEGATIVE
