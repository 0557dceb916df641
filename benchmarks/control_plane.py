"""Control-plane scale: a hub with the documented maximum of 500 peered spokes.

Prints the time to build and validate it, to compile every subnet's effective routes and to
answer next-hop queries, compared in the same process against a brute-force peer (pairwise
overlap of all prefixes with ipaddress) so the figure has a reference. Then the policy
questions of issue 17: the reachability matrix of every ordered pair of subnets on one port
(target < 10 s at 500 spokes), and ten intents checked over every address (target < 1 s each),
with the atoms each one needed.

Azure Virtual Network Manager at its documented scale (N8.2): a hub-and-spoke of 1,000 spokes
and a mesh (one connected group) of 250 VNets, each validated and every effective route
compiled; reported as routes per second (targets of issue 21: each < 5 s and < 2 GB).

Run: python benchmarks/control_plane.py [--spokes N] [--no-matrix] [--avnm-spokes N]
     [--mesh N] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from ipaddress import IPv4Network

from fabric.catalogue.limits import (
    PEERINGS_PER_VNET,
    SPOKES_PER_AVNM_HUB,
    VNETS_PER_CONNECTED_GROUP,
)
from fabric.checks import validate
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.study.generate import hub_spoke, mesh
from fabric.study.intents import Checker, parse_intents
from fabric.study.matrix import matrix
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


def policy_intents(spokes: int) -> list[dict]:
    """Ten intents over the hub and its spokes; the last spoke's index depends on ``spokes``."""
    last = f"spoke{spokes - 1}"
    return [
        {"name": "spokes-isolated", "from": "spoke0", "to": "spoke1", "expect": "unreachable"},
        {
            "name": "spoke-to-hub-https",
            "from": "spoke0",
            "to": "hub/shared",
            "protocol": "Tcp",
            "port": 443,
            "expect": "reachable",
        },
        {
            "name": "hub-to-every-spoke",
            "from": "hub/shared",
            "to": "spoke*",
            "protocol": "Tcp",
            "port": 443,
            "expect": "reachable",
        },
        {
            "name": "spoke0-isolated-from-1x",
            "from": "spoke0/app",
            "to": "spoke1*",
            "expect": "unreachable",
        },
        {
            "name": "no-ssh-across-spokes",
            "from": last,
            "to": "spoke0-vm",
            "protocol": "Tcp",
            "port": 22,
            "expect": "unreachable",
        },
        {
            "name": "internet-egress",
            "from": "spoke0",
            "to": "Internet",
            "protocol": "Tcp",
            "port": 443,
            "expect": "reachable",
        },
        {
            "name": "encrypted-to-hub",
            "from": "spoke0-vm",
            "to": "hub/shared",
            "expect": "encrypted",
        },
        {
            "name": "fast-to-hub",
            "from": "spoke0",
            "to": "hub/shared",
            "expect": {"latency_ms_below": 2.0},
        },
        {
            "name": "dns-to-hub",
            "from": last,
            "to": "hub",
            "protocol": "Udp",
            "port": 53,
            "expect": "reachable",
        },
        {
            "name": "within-spoke-icmp",
            "from": "spoke0/data",
            "to": "spoke0/app",
            "protocol": "Icmp",
            "expect": "reachable",
        },
    ]


def brute_force_overlaps(fabric: Fabric) -> int:
    nets = [IPv4Network(p) for v in fabric.vnets.values() for p in v.address_prefixes]
    return sum(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def timed(work):
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def compile_every_route(fabric: Fabric) -> int:
    """Compile the effective routes of every subnet; the number of routes."""
    plane = ControlPlane(fabric)
    return sum(
        len(plane.routes(vnet.name, subnet.name).routes)
        for vnet in fabric.vnets.values()
        for subnet in vnet.subnets
    )


def avnm_case(label: str, build) -> dict:
    """Build, validate and compile one AVNM topology; times, routes per second, peak memory."""
    fabric, build_s = timed(build)
    findings, validate_s = timed(lambda: validate(fabric))
    routes, compile_s = timed(lambda: compile_every_route(fabric))
    return {
        "case": label,
        "vnets": len(fabric.vnets),
        "build_s": build_s,
        "validate_s": validate_s,
        "validate_errors": sum(f.severity == "Error" for f in findings),
        "routes": routes,
        "compile_s": compile_s,
        "validate_and_compile_s": validate_s + compile_s,
        "routes_per_s": routes / compile_s if compile_s else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def avnm_report(spokes: int, mesh_vnets: int) -> list[dict]:
    """N8.2's scale: a 1,000-spoke AVNM hub-and-spoke and a 250-VNet mesh."""
    avnm_case("warm-up", lambda: mesh(10))
    return [
        avnm_case(
            f"avnm hub-and-spoke, {spokes} spokes",
            lambda: hub_spoke(spokes, use_hub_gateway=False),
        ),
        avnm_case(f"avnm mesh, {mesh_vnets} VNets", lambda: mesh(mesh_vnets)),
    ]


def print_avnm(rows: list[dict]) -> None:
    for row in rows:
        print(
            f"{row['case']}: validate {row['validate_s'] * 1e3:.0f} ms "
            f"({row['validate_errors']} errors), {row['routes']} effective routes compiled in "
            f"{row['compile_s'] * 1e3:.0f} ms ({row['routes_per_s']:,.0f} routes/s); "
            f"peak RSS {row['peak_rss_mb']:.0f} MB"
        )


def timed_cpu(work):
    """The result, wall seconds and this process's CPU seconds (the machine may be shared:
    CPU time is the figure that does not depend on the other tenants)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spokes", type=int, default=PEERINGS_PER_VNET)
    parser.add_argument("--avnm-spokes", type=int, default=SPOKES_PER_AVNM_HUB)
    parser.add_argument("--mesh", type=int, default=VNETS_PER_CONNECTED_GROUP)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-matrix", action="store_true", help="skip the all-pairs matrix")
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
    matrix(hub_and_spokes(10), protocol="Tcp", port=443)  # warm up
    pairs, matrix_s, matrix_cpu_s = None, None, None
    if not args.no_matrix:
        grid, matrix_s, matrix_cpu_s = timed_cpu(lambda: matrix(plane, protocol="Tcp", port=443))
        pairs = len(grid.pairs)
        del grid
    checker, atoms_s = timed(lambda: Checker(plane))
    intents = []
    for intent in parse_intents({"intents": policy_intents(args.spokes)}):
        result, _, cpu_s = timed_cpu(lambda intent=intent: checker.check(intent))
        intents.append(
            {
                "name": intent.name,
                "holds": result.holds,
                "atoms": result.atoms,
                "evaluated": result.evaluated,
                "seconds": result.seconds,
                "cpu_s": cpu_s,
            }
        )
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
        "matrix_pairs": pairs,
        "matrix_s": matrix_s,
        "matrix_cpu_s": matrix_cpu_s,
        "matrix_pair_us": matrix_s / pairs * 1e6 if pairs else None,
        "atom_index_s": atoms_s,
        "intents": intents,
        "intent_max_s": max(i["seconds"] for i in intents),
        "intent_max_cpu_s": max(i["cpu_s"] for i in intents),
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
        if pairs:
            print(
                f"matrix of all {pairs} ordered subnet pairs (Tcp 443): {matrix_s:.1f} s "
                f"({matrix_cpu_s:.1f} s CPU; {report['matrix_pair_us']:.0f} us per pair; "
                "target < 10 s)"
            )
        print(f"atom cuts of the whole fabric collected in {atoms_s * 1e3:.0f} ms")
        for row in intents:
            print(
                f"  intent {row['name']:<25} {'holds' if row['holds'] else 'FAILS':<6}"
                f"{row['atoms']:>8} atoms {row['evaluated']:>7} packets "
                f"{row['seconds'] * 1e3:>8.1f} ms ({row['cpu_s'] * 1e3:.1f} ms CPU; "
                "target < 1 s)"
            )
    report["avnm"] = avnm_report(args.avnm_spokes, args.mesh)
    if not args.json:
        print_avnm(report["avnm"])
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
