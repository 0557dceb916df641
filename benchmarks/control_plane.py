"""Control-plane scale: a hub with the documented maximum of 500 peered spokes.

Prints the time to build and validate it, and (once routing exists) to compile every subnet's
effective routes and to answer next-hop queries. Compared in the same process against a
brute-force peer (pairwise overlap of all prefixes with ipaddress) so the figure has a reference.

Run: python benchmarks/control_plane.py [--spokes N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from ipaddress import IPv4Network

from fabric.catalogue.limits import PEERINGS_PER_VNET
from fabric.checks import validate
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.watcher import next_hop


def hub_and_spokes(spokes: int) -> Fabric:
    """Hub 10.0.0.0/16 with a gateway; spoke i is 10.(1 + i // 256).(i % 256).0/24 ... as /24s
    inside 10.128.0.0/9, each with two subnets and a host, using the hub's gateway."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.subnet("hub", "shared", "10.0.1.0/24")
    fabric.gateway("hub-gw", "hub", "VpnGw2", generation="Generation2")
    for i in range(spokes):
        name = f"spoke{i}"
        base = f"10.{128 + i // 64}.{(i % 64) * 4}"
        fabric.vnet(name, "westeurope", f"{base}.0/22")
        fabric.subnet(name, "app", f"{base}.0/24")
        fabric.subnet(name, "data", f"{base.rsplit('.', 1)[0]}.{(i % 64) * 4 + 1}.0/24")
        fabric.host(name, f"{name}-vm", "app", f"{base}.4")
        fabric.peer("hub", name, a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    return fabric


def brute_force_overlaps(fabric: Fabric) -> int:
    nets = [IPv4Network(p) for v in fabric.vnets.values() for p in v.address_prefixes]
    return sum(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def timed(work):
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spokes", type=int, default=PEERINGS_PER_VNET)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    hub_and_spokes(10)  # warm up imports and allocators
    fabric, build_s = timed(lambda: hub_and_spokes(args.spokes))
    findings, validate_s = timed(lambda: validate(fabric))
    overlaps, brute_s = timed(lambda: brute_force_overlaps(fabric))
    errors = [f for f in findings if f.severity == "Error"]

    def compile_all() -> ControlPlane:
        plane = ControlPlane(fabric)
        for vnet in fabric.vnets.values():
            for subnet in vnet.subnets:
                plane.routes(vnet.name, subnet.name)
        return plane

    plane, compile_s = timed(compile_all)
    subnets = sum(len(v.subnets) for v in fabric.vnets.values())
    queries = [
        (
            f"10.{128 + i // 64}.{(i % 64) * 4}.4",
            f"10.{128 + (i * 7 % args.spokes) // 64}.{((i * 7 % args.spokes) % 64) * 4}.9",
        )
        for i in range(args.spokes)
    ]
    _, lookup_s = timed(lambda: [next_hop(plane, src, dst) for src, dst in queries])
    report = {
        "spokes": args.spokes,
        "build_s": build_s,
        "validate_s": validate_s,
        "validate_errors": len(errors),
        "brute_force_overlap_scan_s": brute_s,
        "validate_vs_overlap_scan": validate_s / brute_s if brute_s else None,
        "overlapping_pairs": overlaps,
        "subnets": subnets,
        "compile_all_subnets_s": compile_s,
        "next_hop_query_ms": lookup_s / len(queries) * 1e3,
    }
    if not args.json:
        print(
            f"hub + {args.spokes} spokes: build {build_s * 1e3:.0f} ms, "
            f"validate {validate_s * 1e3:.0f} ms ({len(findings)} findings, {len(errors)} errors)"
        )
        print(
            f"reference: brute-force pairwise overlap scan of all prefixes {brute_s * 1e3:.0f} ms"
        )
        print(
            f"effective routes of all {subnets} subnets compiled in {compile_s * 1e3:.0f} ms; "
            f"next-hop {report['next_hop_query_ms'] * 1e3:.1f} us per query once compiled"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
