"""The questions a network engineer asks of one topology: validate, routes, next-hop, ip-flow,
connectivity (DESIGN.md's contract: names, JSON shapes, exit codes)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fabric.cli.common import (
    EXIT_NEGATIVE,
    EXIT_OK,
    UsageError,
    add_input_arguments,
    emit,
    load_input,
    print_findings,
    require_valid,
)


def register(commands) -> None:
    validate = commands.add_parser("validate", help="report every problem in a topology")
    add_input_arguments(validate)
    validate.add_argument("--traffic", help="a scenario file whose traffic to check as well")
    validate.set_defaults(handler=cmd_validate)

    routes = commands.add_parser("routes", help="effective routes of a subnet")
    add_input_arguments(routes)
    routes.add_argument("--vnet", required=True)
    routes.add_argument("--subnet", required=True)
    routes.add_argument(
        "--compare",
        metavar="EFFECTIVE.json",
        help="an az network nic show-effective-route-table (or REST) result to compare with",
    )
    routes.set_defaults(handler=cmd_routes)

    hop = commands.add_parser("next-hop", help="the route that wins from --src to --dst")
    add_input_arguments(hop)
    hop.add_argument("--src", required=True, help="address (or host name) of the VM asking")
    hop.add_argument("--dst", required=True, help="destination address (anywhere) or host name")
    hop.set_defaults(handler=cmd_next_hop)

    flow = commands.add_parser("ip-flow", help="NSG verdict for one flow (IP flow verify)")
    add_input_arguments(flow)
    flow.add_argument("--src", required=True)
    flow.add_argument("--dst", required=True)
    flow.add_argument("--protocol", required=True, help="Tcp, Udp, Icmp, Esp or Ah")
    flow.add_argument("--port", type=int, help="destination port (Tcp/Udp)")
    flow.add_argument(
        "--src-port",
        type=_source_port,
        help="source port, or '*' (the default: an ephemeral port, as IP flow verify's '*', §6.1)",
    )
    flow.add_argument("--direction", required=True, help="Inbound or Outbound")
    flow.set_defaults(handler=cmd_ip_flow)

    trace = commands.add_parser("connectivity", help="hop-by-hop trace from --src to --dst")
    add_input_arguments(trace)
    trace.add_argument("--src", required=True)
    trace.add_argument("--dst", required=True)
    trace.add_argument("--protocol", default="Tcp")
    trace.add_argument("--port", type=int, default=443)
    trace.add_argument("--src-port", type=int, help="source port (default: an ephemeral port)")
    trace.set_defaults(handler=cmd_connectivity)


def _source_port(text: str) -> int | None:
    """--src-port: a number, or '*' as IP flow verify allows on the source side (§6.1)."""
    if text.strip() == "*":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: a number or '*'") from None


def cmd_validate(args: argparse.Namespace) -> int:
    from fabric.checks import has_errors, validate
    from fabric.checks.traffic import check_traffic

    document = load_input(args)
    traffic = document.traffic
    if args.traffic:
        # the traffic file is YAML: the ARM and Terraform options are FILE's
        traffic = load_input(argparse.Namespace(), args.traffic).traffic
    findings = [
        *document.findings,
        *validate(document.fabric),
        *check_traffic(document.fabric, traffic),
    ]
    valid = not has_errors(findings)
    if args.json:
        emit({"valid": valid, "findings": [f.to_json() for f in findings]})
    else:
        print_findings(args.file, findings, valid)
    return EXIT_OK if valid else EXIT_NEGATIVE


def plane_of(args: argparse.Namespace):
    """The control plane of FILE, with the scenario's own latency parameters (so a trace's
    estimate is the one ``run`` uses)."""
    from fabric.catalogue.latency import LatencyModel
    from fabric.control.plane import ControlPlane

    document = load_input(args)
    require_valid(args, document)  # DESIGN.md: no answer about a topology Azure would refuse
    parameters = document.simulation.get("parameters") or {}
    return ControlPlane(document.fabric, latency=LatencyModel().with_overrides(parameters))


def ask(work):
    """Run a question; one that cannot be asked (QuestionError) is a usage error."""
    from fabric.watcher import QuestionError

    try:
        return work()
    except QuestionError as problem:
        raise UsageError(str(problem)) from None


def cmd_routes(args: argparse.Namespace) -> int:
    from fabric.model import suggest

    plane = plane_of(args)
    vnet = plane.fabric.vnets.get(args.vnet)
    if vnet is None:
        raise UsageError(
            f"{args.file}: no VNet {args.vnet!r} ({suggest(args.vnet, plane.fabric.vnets)})"
        )
    if args.subnet not in vnet.subnet_names:
        raise UsageError(
            f"{args.file}: VNet {args.vnet} has no subnet {args.subnet!r} "
            f"({suggest(args.subnet, vnet.subnet_names)})"
        )
    routes = plane.routes(args.vnet, args.subnet).listing
    if args.compare:
        return _compare(args, routes)
    if args.json:
        emit([r.to_json() for r in routes])
        return EXIT_OK
    print(f"Effective routes of {args.vnet}/{args.subnet}")
    print(f"  {'source':<22}{'state':<9}{'prefix':<20}{'next hop type':<24}{'next hop IP':<16}name")
    for r in routes:
        print(
            f"  {r.source:<22}{r.state:<9}{r.prefix!s:<20}{r.next_hop_type:<24}"
            f"{','.join(r.next_hop_ip_address):<16}{r.name or ''}"
        )
    return EXIT_OK


def _compare(args: argparse.Namespace, routes) -> int:
    from fabric.io import InputError
    from fabric.study.effective import compare_routes, read_effective_routes

    try:
        reported = read_effective_routes(Path(args.compare))
    except InputError as problem:
        raise UsageError(problem.render(), "InvalidInput", problem.file) from None
    differences = compare_routes(routes, reported)
    if args.json:
        emit({"same": not differences, "differences": [d.to_json() for d in differences]})
    elif not differences:
        print(f"{args.vnet}/{args.subnet}: the effective routes match {args.compare}")
    else:
        print(f"{args.vnet}/{args.subnet}: {len(differences)} difference(s) with {args.compare}")
        for difference in differences:
            print(f"  {difference}")
    return EXIT_NEGATIVE if differences else EXIT_OK


def cmd_next_hop(args: argparse.Namespace) -> int:
    from fabric.watcher import next_hop

    plane = plane_of(args)
    hop = ask(lambda: next_hop(plane, args.src, args.dst))
    answer = hop.to_json()
    if args.json:
        emit(answer)
    else:
        broken = hop.route.broken if hop.route is not None else None
        print(
            f"{args.src} ({hop.location.name}) -> {args.dst}: next hop {answer['next_hop_type']}"
            + (f" {answer['next_hop_ip_address']}" if answer["next_hop_ip_address"] else "")
            + f", route {answer['address_prefix']} from {answer['route_table']}"
            + (f" (Invalid: {broken}; its traffic is dropped)" if broken else "")
        )
    # a route that wins but is Invalid drops what it takes (§4.3): a negative answer too
    dropped = answer["next_hop_type"] == "None" or (hop.route is not None and hop.route.broken)
    return EXIT_NEGATIVE if dropped else EXIT_OK


def cmd_ip_flow(args: argparse.Namespace) -> int:
    from fabric.watcher import ip_flow

    plane = plane_of(args)
    verdict = ask(
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
    if verdict.admin_configuration is not None:  # §5.3: decided before the NSGs
        answer["security_admin_configuration"] = verdict.admin_configuration
        answer["admin_access"] = verdict.admin_access
    if args.json:
        emit(answer)
    else:
        decided = (
            f"security admin rule {verdict.rule_name} ({verdict.admin_access}) of configuration "
            f"{verdict.admin_configuration}, evaluated before NSGs"
            if verdict.admin_configuration is not None
            else f"rule {verdict.qualified_rule} of NSG {verdict.nsg}"
            if verdict.nsg and verdict.rule_name
            else f"no rule of NSG {verdict.nsg} allows it"
            if verdict.nsg
            else "no NSG applies"
        )
        print(f"Access {'allowed' if verdict.allowed else 'denied'}: {decided}")
    return EXIT_OK if verdict.allowed else EXIT_NEGATIVE


def cmd_connectivity(args: argparse.Namespace) -> int:
    from fabric.watcher import connectivity

    plane = plane_of(args)
    trace = ask(
        lambda: connectivity(
            plane,
            args.src,
            args.dst,
            protocol=args.protocol,
            port=args.port,
            source_port=args.src_port,
        )
    )
    if args.json:
        emit(trace.to_json())
    else:
        print(trace)
    return EXIT_OK if trace.reachable else EXIT_NEGATIVE
