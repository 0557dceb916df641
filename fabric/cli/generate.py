"""``vnetsim generate hub-spoke|mesh``: a large topology written as native YAML, with a
non-overlapping address plan, connected by Azure Virtual Network Manager (or by peerings)."""

from __future__ import annotations

import argparse
import sys

from fabric.cli.common import EXIT_NEGATIVE, EXIT_OK, UsageError, emit, write_output


def register(commands) -> None:
    generate = commands.add_parser(
        "generate", help="write a generated hub-and-spoke or mesh topology as native YAML"
    )
    kinds = generate.add_subparsers(dest="kind", metavar="KIND", required=True)
    hub = kinds.add_parser("hub-spoke", help="a hub and N spokes (AVNM HubAndSpoke by default)")
    hub.add_argument("--spokes", type=int, required=True, help="number of spokes (>= 1)")
    hub.add_argument(
        "--spoke-prefix-length", type=int, default=24, help="size of each spoke (default /24)"
    )
    hub.add_argument(
        "--address-space",
        default=None,
        help="where spoke blocks are carved from (default 10.128.0.0/9; the hub is 10.0.0.0/16)",
    )
    hub.add_argument(
        "--no-gateway", action="store_true", help="no gateway in the hub (and no gateway transit)"
    )
    hub.add_argument(
        "--no-hub-gateway",
        action="store_true",
        help="do not use the hub as the spokes' gateway (use_hub_gateway false)",
    )
    hub.add_argument(
        "--direct",
        action="store_true",
        help="direct connectivity: a connected group among the spokes",
    )
    _common(hub)
    hub.set_defaults(handler=cmd_generate)
    mesh = kinds.add_parser("mesh", help="N VNets in one AVNM mesh (a connected group)")
    mesh.add_argument("--vnets", type=int, required=True, help="number of VNets (>= 2)")
    mesh.add_argument(
        "--prefix-length", type=int, default=24, help="size of each VNet (default /24)"
    )
    mesh.add_argument(
        "--address-space", default=None, help="where VNet blocks are carved from (10.0.0.0/8)"
    )
    _common(mesh)
    mesh.set_defaults(handler=cmd_generate)


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--region",
        action="append",
        default=[],
        help="region of the VNets; repeat to spread them round-robin (default westeurope)",
    )
    command.add_argument(
        "--global",
        dest="is_global",
        action="store_true",
        help="connected groups span regions (is_global)",
    )
    command.add_argument(
        "--peerings",
        action="store_true",
        help="ordinary peerings instead of Virtual Network Manager",
    )
    command.add_argument("--no-hosts", action="store_true", help="no VM per VNet")
    command.add_argument("--output", "-o", help="write here instead of stdout")
    command.add_argument(
        "--json", action="store_true", help="print what was written and the findings as JSON"
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from fabric.checks import has_errors, validate
    from fabric.io import NativeDocument, to_yaml
    from fabric.study import generate

    regions = args.region or [generate.DEFAULT_REGION]
    common = {
        "region": regions[0],
        "regions": regions,
        "is_global": args.is_global,
        "avnm": not args.peerings,
        "hosts": not args.no_hosts,
    }
    try:
        if args.kind == "hub-spoke":
            net = generate.hub_spoke(
                args.spokes,
                spoke_prefixlen=args.spoke_prefix_length,
                spoke_space=args.address_space or generate.SPOKE_SPACE,
                gateway_sku=None if args.no_gateway else "VpnGw2AZ",
                use_hub_gateway=not (args.no_gateway or args.no_hub_gateway),
                direct_connectivity=args.direct,
                **common,
            )
        else:
            space = args.address_space or generate.MESH_SPACE
            net = generate.mesh(args.vnets, prefixlen=args.prefix_length, space=space, **common)
    except generate.GenerateError as problem:
        raise UsageError(f"vnetsim generate {args.kind}: {problem}") from None
    text = to_yaml(NativeDocument(net))
    findings = validate(net)
    for finding in findings:
        print(f"vnetsim: {finding}", file=sys.stderr)
    if args.output:
        write_output(args.output, text)
        print(
            f"vnetsim: wrote {args.output}: {len(net.vnets)} VNets, {len(findings)} finding(s)",
            file=sys.stderr,
        )
    elif not args.json:
        sys.stdout.write(text)
    if args.json:
        emit(
            {
                "written": [args.output] if args.output else [],
                "yaml": None if args.output else text,
                "vnets": len(net.vnets),
                "findings": [f.to_json() for f in findings],
            }
        )
    return EXIT_NEGATIVE if has_errors(findings) else EXIT_OK
