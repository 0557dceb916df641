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

Estates at scale (issue 18), for a hub with 500 and with 5,000 spokes: ``validate_s`` (in
process), ``compile_s`` (every subnet's effective routes), and the command line as a user runs
it, a fresh interpreter per call: ``next_hop_cli_s``, ``connectivity_cli_s`` and
``validate_cli_s`` with the per-file document cache warm (median of ``--repeat`` calls; targets
< 0.5 s, < 0.5 s and < 3 s), the same cold (``VNETSIM_CACHE=off``: parse the YAML), and the
floors measured in the same run: a bare ``python -c pass`` and ``import fabric.cli``. Child CPU
seconds sit beside each wall figure, as the machine may be shared. The calls run with bytecode
caching on (as an installed package has its .pyc files), whatever PYTHONDONTWRITEBYTECODE says.

Run: python benchmarks/control_plane.py [--spokes N] [--no-matrix] [--avnm-spokes N]
     [--mesh N] [--scale-spokes 500,5000] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Network
from pathlib import Path

import yaml

from fabric.catalogue.limits import (
    PEERINGS_PER_VNET,
    SPOKES_PER_AVNM_HUB,
    VNETS_PER_CONNECTED_GROUP,
)
from fabric.checks import validate
from fabric.control.plane import ControlPlane
from fabric.io.native import dump_native
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


def _cli(arguments: list[str], env: dict) -> tuple[float, float, int]:
    """Wall and CPU seconds of one ``vnetsim`` call in a fresh interpreter, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from fabric.cli import main; sys.exit(main())",
            *arguments,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"vnetsim {' '.join(arguments)} failed: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def _median_cli(arguments: list[str], env: dict, repeat: int) -> tuple[float, float]:
    runs = [_cli(arguments, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _python(code: str, env: dict, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``python -c code`` (the start-up floors)."""
    runs = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append((wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def scale_case(spokes: int, repeat: int, folder: Path) -> dict:
    """Validate, compile and ask questions of a hub with ``spokes`` spokes, in process and as
    command-line calls (cache warm and cold), beside the interpreter's own start-up floors."""
    fabric = hub_and_spokes(spokes)
    _, validate_s, validate_cpu_s = timed_cpu(lambda: validate(fabric))

    def compile_all() -> int:
        plane = ControlPlane(fabric)
        return sum(
            len(plane.routes(v.name, s.name).routes)
            for v in fabric.vnets.values()
            for s in v.subnets
        )

    routes, compile_s, compile_cpu_s = timed_cpu(compile_all)
    src, dst = "10.128.0.4", f"10.{128 + (spokes - 1) // 64}.{((spokes - 1) % 64) * 4}.9"

    def one_question():
        plane = ControlPlane(fabric)
        return next_hop(plane, src, dst)

    _, question_s, _ = timed_cpu(one_question)
    path = folder / f"hub-{spokes}.yaml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(dump_native(fabric, (), {}, ()), Dumper=dumper, sort_keys=False))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["VNETSIM_CACHE_DIR"] = str(folder / "cache")
    env.pop("VNETSIM_CACHE", None)
    cold = {**env, "VNETSIM_CACHE": "off"}
    hop = ["next-hop", str(path), "--src", src, "--dst", dst, "--json"]
    trace = ["connectivity", str(path), "--src", src, "--dst", "10.0.1.9", "--json"]
    check = ["validate", str(path), "--json"]
    _cli(hop, env)  # warm up: bytecode and the document cache
    hop_s, hop_cpu_s = _median_cli(hop, env, repeat)
    trace_s, trace_cpu_s = _median_cli(trace, env, repeat)
    check_s, check_cpu_s = _median_cli(check, env, repeat)
    hop_cold_s, hop_cold_cpu_s, _ = _cli(hop, cold)
    check_cold_s, check_cold_cpu_s, _ = _cli(check, cold)
    floor_s, floor_cpu_s = _python("pass", env, repeat)
    import_s, import_cpu_s = _python("import fabric.cli", env, repeat)
    return {
        "spokes": spokes,
        "yaml_bytes": path.stat().st_size,
        "validate_s": validate_s,
        "validate_cpu_s": validate_cpu_s,
        "compile_s": compile_s,
        "compile_cpu_s": compile_cpu_s,
        "routes": routes,
        "one_question_in_process_s": question_s,
        "next_hop_cli_s": hop_s,
        "next_hop_cli_cpu_s": hop_cpu_s,
        "connectivity_cli_s": trace_s,
        "connectivity_cli_cpu_s": trace_cpu_s,
        "validate_cli_s": check_s,
        "validate_cli_cpu_s": check_cpu_s,
        "next_hop_cli_cold_s": hop_cold_s,
        "next_hop_cli_cold_cpu_s": hop_cold_cpu_s,
        "validate_cli_cold_s": check_cold_s,
        "validate_cli_cold_cpu_s": check_cold_cpu_s,
        "python_startup_floor_s": floor_s,
        "python_startup_floor_cpu_s": floor_cpu_s,
        "import_cli_s": import_s,
        "import_cli_cpu_s": import_cpu_s,
        "next_hop_cli_over_import": hop_s / import_s if import_s else None,
    }


def print_scale(row: dict) -> None:
    print(
        f"hub + {row['spokes']} spokes ({row['yaml_bytes'] / 1e6:.1f} MB of YAML): validate "
        f"{row['validate_s']:.2f} s, compile all {row['routes']} routes {row['compile_s']:.2f} s, "
        f"one question in process {row['one_question_in_process_s'] * 1e3:.0f} ms"
    )
    print(
        f"  CLI, cache warm: next-hop {row['next_hop_cli_s']:.2f} s "
        f"({row['next_hop_cli_cpu_s']:.2f} s CPU), connectivity {row['connectivity_cli_s']:.2f} s "
        f"({row['connectivity_cli_cpu_s']:.2f} s CPU), validate {row['validate_cli_s']:.2f} s "
        f"({row['validate_cli_cpu_s']:.2f} s CPU); cold: next-hop "
        f"{row['next_hop_cli_cold_s']:.2f} s, validate {row['validate_cli_cold_s']:.2f} s"
    )
    print(
        f"  floors: python -c pass {row['python_startup_floor_s'] * 1e3:.0f} ms, "
        f"import fabric.cli {row['import_cli_s'] * 1e3:.0f} ms "
        f"({row['import_cli_cpu_s'] * 1e3:.0f} ms CPU)"
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
    parser.add_argument(
        "--scale-spokes",
        default="500,5000",
        help="hub sizes for the scale cases, comma-separated ('' to skip)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="CLI calls per median")
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
    with tempfile.TemporaryDirectory(prefix="vnetsim-scale-") as folder:
        for spokes in [int(n) for n in args.scale_spokes.split(",") if n.strip()]:
            row = scale_case(spokes, args.repeat, Path(folder))
            report[f"spokes_{spokes}"] = row
            if not args.json:
                print_scale(row)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
