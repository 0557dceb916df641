"""Showing a design: ``vnetsim draw`` (a diagram), ``vnetsim report`` (one HTML file) and
``vnetsim cost`` (what it costs per month). Each answers for an invalid topology too (the
diagram shows the errors as badges, the report lists them) and then exits 1, as every command
does for a topology with errors; ``--json`` adds ``valid`` and ``findings`` to its answer."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fabric.cli.common import (
    EXIT_NEGATIVE,
    EXIT_OK,
    UsageError,
    add_input_arguments,
    emit,
    load_input,
    print_findings,
)

DIAGRAM_FORMATS = (".svg", ".png", ".mmd", ".dot")


def register(commands) -> None:
    draw = commands.add_parser("draw", help="a topology diagram (SVG, PNG, Mermaid or DOT)")
    add_input_arguments(draw)
    draw.add_argument(
        "-o",
        "--out",
        action="append",
        default=[],
        metavar="OUT",
        help="file to write, by extension: .svg, .png, .mmd (Mermaid) or .dot (Graphviz); "
        "repeatable (default: FILE's name with .svg, here)",
    )
    draw.add_argument("--subnets", action="store_true", help="list each VNet's subnets")
    draw.add_argument(
        "--highlight",
        nargs=2,
        metavar=("SRC", "DST"),
        help="draw the connectivity path from SRC to DST (addresses or host names) and where "
        "it breaks",
    )
    draw.add_argument("--protocol", default="Tcp", help="protocol of --highlight (default Tcp)")
    draw.add_argument("--port", type=int, default=443, help="port of --highlight (default 443)")
    draw.set_defaults(handler=cmd_draw)

    report = commands.add_parser("report", help="one self-contained HTML report of a design")
    add_input_arguments(report)
    report.add_argument(
        "-o", "--out", metavar="OUT.html", help="default: FILE's name with -report.html, here"
    )
    report.add_argument(
        "--scenario",
        metavar="S",
        help="a scenario file whose traffic (and simulation section) to run on FILE's "
        "topology; may be FILE itself",
    )
    report.add_argument("--duration", type=float, help="simulate this many seconds instead")
    report.set_defaults(handler=cmd_report)

    cost = commands.add_parser("cost", help="what a design costs per month, per path")
    add_input_arguments(cost)
    volume = cost.add_mutually_exclusive_group()
    volume.add_argument(
        "--traffic",
        metavar="SCENARIO",
        help="bill this scenario's traffic, scaled to a month (default: FILE's own traffic)",
    )
    volume.add_argument(
        "--gb-per-month",
        action="append",
        default=[],
        metavar="GB|SRC:DST=GB",
        help="GB sent per month: a number (each way over every peering, tunnel and "
        "ExpressRoute connection), or SRC:DST=GB between VNets, hosts or addresses (its path "
        "traced; repeatable)",
    )
    cost.add_argument(
        "--prices",
        metavar="FILE",
        help="a price table (YAML/JSON: date, source, prices) overlaying the built-in one",
    )
    cost.set_defaults(handler=cmd_cost)


# -- draw --------------------------------------------------------------------------------------


def _output(path: str, allowed: tuple[str, ...]) -> Path:
    """An output file whose folder exists and is writable, with a known extension."""
    out = Path(path)
    if out.suffix.lower() not in allowed:
        raise UsageError(
            f"-o {path}: unknown format {out.suffix or '(no extension)'!r}; "
            f"use one of {', '.join(allowed)}"
        )
    if out.is_dir():
        raise UsageError(f"-o {path}: is a folder; name a file")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"-o {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UsageError(f"-o {path}: cannot write there")
    return out


def _validated(document):
    from fabric.checks import has_errors, validate

    findings = [*document.findings, *validate(document.fabric)]
    return findings, not has_errors(findings)


def _answer(args, answer: dict, findings: list, valid: bool, human: list[str]) -> int:
    if args.json:
        emit({**answer, "valid": valid, "findings": [f.to_json() for f in findings]})
    else:
        for line in human:
            print(line)
        errors = sum(1 for f in findings if f.severity == "Error")
        if errors:
            print(
                f"{args.file}: the topology has {errors} error(s); see vnetsim validate",
                file=sys.stderr,
            )
    return EXIT_OK if valid else EXIT_NEGATIVE


def cmd_draw(args: argparse.Namespace) -> int:
    from fabric.study.draw import layout, write
    from fabric.watcher import QuestionError

    outputs = [_output(p, DIAGRAM_FORMATS) for p in args.out] or [
        _output(Path(args.file).stem + ".svg", DIAGRAM_FORMATS)
    ]
    document = load_input(args)
    findings, valid = _validated(document)
    try:
        diagram = layout(
            document.fabric,
            findings=findings,
            highlight=tuple(args.highlight) if args.highlight else None,
            subnets=args.subnets,
            protocol=args.protocol,
            port=args.port,
            title=Path(args.file).name,
        )
    except QuestionError as problem:  # the watcher names its arguments --src and --dst
        text = str(problem).replace("--src", "SRC").replace("--dst", "DST")
        raise UsageError(f"--highlight: {text}") from None
    written = []
    for out in outputs:
        try:
            written.append(str(write(diagram, out)))
        except OSError as problem:
            raise UsageError(f"-o {out}: cannot write: {problem.strerror}") from None
    answer = {"written": written}
    human = [f"wrote {path}" for path in written]
    if diagram.highlight is not None:
        marked = diagram.highlight
        answer["highlight"] = {
            "src": marked.source,
            "dst": marked.destination,
            "connection_status": marked.status,
            "reason": marked.reason,
        }
        human.append(
            f"{marked.source} -> {marked.destination}: {marked.status}"
            + (f": {marked.reason}" if marked.reason else "")
        )
    return _answer(args, answer, findings, valid, human)


# -- report ------------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    from fabric.model.traffic import TrafficError
    from fabric.sim.plans import SimulationError
    from fabric.study.report import report_html, write_report

    out = _output(args.out or f"{Path(args.file).stem}-report.html", (".html", ".htm"))
    if args.duration is not None and not 0 < args.duration < 1e6:
        raise UsageError(f"--duration {args.duration}: must be more than 0 and less than 1e6 s")
    document = load_input(args)
    scenario = None
    if args.scenario:
        scenario = load_input(argparse.Namespace(), args.scenario)
        if not scenario.traffic:
            raise UsageError(
                f"{args.scenario}: no 'traffic' section to simulate", file=args.scenario
            )
    findings, valid = _validated(document)
    try:
        text = report_html(
            document,
            title=Path(args.file).name,
            source=args.file,
            scenario=scenario,
            scenario_name=Path(args.scenario).name if args.scenario else "",
            duration_s=args.duration,
            findings=findings,
        )
    except (TrafficError, SimulationError) as problem:
        raise UsageError(f"{args.scenario}: {problem}", "InvalidScenario", args.scenario) from None
    try:
        path = write_report(out, text)
    except OSError as problem:
        raise UsageError(f"-o {out}: cannot write: {problem.strerror}") from None
    return _answer(args, {"written": [str(path)]}, findings, valid, [f"wrote {path}"])


# -- cost --------------------------------------------------------------------------------------


def _volumes(values: list[str]) -> float | dict[tuple[str, str], float] | None:
    """--gb-per-month: one number, or SRC:DST=GB pairs."""
    if not values:
        return None
    pairs: dict[tuple[str, str], float] = {}
    number = None
    for text in values:
        ends, sep, amount = text.rpartition("=")
        try:
            gb = float(amount if sep else text)
        except ValueError:
            raise UsageError(
                f"--gb-per-month {text!r}: write a number of GB, or SRC:DST=GB"
            ) from None
        if not gb >= 0 or gb == float("inf"):
            raise UsageError(f"--gb-per-month {text!r}: GB must be a finite number >= 0")
        if not sep:
            number = gb
            continue
        source, colon, destination = ends.partition(":")
        if not colon or not source or not destination:
            raise UsageError(f"--gb-per-month {text!r}: write SRC:DST=GB")
        pairs[(source, destination)] = gb
    if number is not None and pairs:
        raise UsageError("--gb-per-month: give one number, or SRC:DST=GB pairs, not both")
    return number if number is not None else pairs


def _check_ends(fabric, pairs: dict) -> None:
    """Each end of a SRC:DST pair names a VNet, a host or an address in a subnet."""
    from fabric.control.addressing import AddressError, parse_address
    from fabric.model import suggest

    hosts = {h.name for v in fabric.vnets.values() for h in v.hosts}
    for source, destination in pairs:
        for end in (source, destination):
            if end in fabric.vnets or end in hosts:
                continue
            try:
                parse_address(end)
            except AddressError:
                raise UsageError(
                    f"--gb-per-month: {end!r} is no VNet, host or address here "
                    f"({suggest(end, [*fabric.vnets, *hosts])})"
                ) from None


def cmd_cost(args: argparse.Namespace) -> int:
    from fabric.io import InputError
    from fabric.model.traffic import TrafficError
    from fabric.sim.plans import SimulationError
    from fabric.study.cost import cost, load_prices
    from fabric.watcher import QuestionError

    volumes = _volumes(args.gb_per_month)
    prices = None
    if args.prices:
        try:
            prices = load_prices(args.prices)
        except InputError as problem:
            first = problem.problems[0] if problem.problems else None
            raise UsageError(
                problem.render(), "InvalidPrices", problem.file, first.line if first else None
            ) from None
    document = load_input(args)
    findings, valid = _validated(document)
    traffic, duration = None, None
    source = args.traffic or args.file
    if args.traffic:
        extra = load_input(argparse.Namespace(), args.traffic)
        if not extra.traffic:
            raise UsageError(f"{args.traffic}: no 'traffic' section to bill", file=args.traffic)
        traffic, duration = list(extra.traffic), extra.simulation.get("duration_s")
    elif volumes is None:
        traffic = list(document.traffic)
        duration = document.simulation.get("duration_s")
    else:
        traffic = []
    if isinstance(volumes, dict):
        _check_ends(document.fabric, volumes)
    if any(t.get("pattern") == "tcp" for t in traffic or ()):
        if not valid:  # TCP flows are measured by simulating them, as run would refuse to
            if args.json:
                emit({"valid": False, "findings": [f.to_json() for f in findings]})
            else:
                print_findings(args.file, findings, False)
                print(
                    "TCP flows are measured by simulating them: fix the errors first, or "
                    "bill with --gb-per-month",
                    file=sys.stderr,
                )
            return EXIT_NEGATIVE
        if not args.json:
            print("simulating the TCP flows to measure their volume...", file=sys.stderr)
    try:
        estimate = cost(
            document.fabric,
            traffic,
            duration_s=duration,
            gb_per_month=volumes,
            prices=prices,
        )
    except (TrafficError, SimulationError) as problem:
        raise UsageError(f"{source}: {problem}", "InvalidScenario", source) from None
    except QuestionError as problem:
        raise UsageError(f"--gb-per-month: {problem}") from None
    return _answer(
        args, estimate.to_json(), findings, valid, [estimate.table(Path(args.file).name)]
    )
