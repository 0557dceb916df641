"""Diagram scale: a hub with the documented maximum of 500 peered spokes (§2.5), drawn.

Times each stage of ``vnetsim draw`` on the same topology: validation (the badges), the layout,
and each renderer (SVG, PNG, Mermaid, DOT), plus a highlighted path. The issue asks for a
readable picture in under 5 s; ``total_svg_s`` and ``total_png_s`` are what a user waits for
(validation + layout + one format). Warmed up on a small star first (imports, font cache).

Run: python benchmarks/draw.py [--spokes N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from fabric.catalogue.limits import PEERINGS_PER_VNET
from fabric.checks import validate
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.study.draw import layout, write


def star(spokes: int) -> Fabric:
    """Hub 10.0.0.0/16 with a VPN gateway and a firewall; spoke i a /22 in 10.128.0.0/9, using
    the hub's gateway."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.subnet("hub", "AzureFirewallSubnet", "10.0.254.0/26")
    fabric.gateway("hub-gw", "hub", "VpnGw2", generation="Generation2")
    fabric.firewall("hub-fw", "hub")
    for i in range(spokes):
        name = f"spoke{i}"
        base = f"10.{128 + i // 64}.{(i % 64) * 4}"
        fabric.vnet(name, "westeurope", f"{base}.0/22")
        fabric.subnet(name, "app", f"{base}.0/24")
        fabric.host(name, f"{name}-vm", "app", f"{base}.4")
        fabric.peer("hub", name, a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    return fabric


CPU: dict[str, float] = {}  # the same stages in process CPU time: steadier on a busy machine


def timed(work, name: str = ""):
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    if name:
        CPU[name] = time.process_time() - cpu
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spokes", type=int, default=PEERINGS_PER_VNET)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vnetsim-draw-") as folder:
        out = Path(folder)
        warm = star(30)
        for suffix in (".svg", ".png"):
            write(layout(warm), out / f"warm{suffix}")
        fabric = star(args.spokes)
        findings, validate_s = timed(lambda: validate(fabric), "validate")
        diagram, layout_s = timed(lambda: layout(fabric, findings=findings), "layout")
        report = {
            "spokes": args.spokes,
            "nodes": len(diagram.nodes),
            "edges": len(diagram.edges),
            "dense": diagram.dense,
            "canvas_inches": [round(diagram.width, 1), round(diagram.height, 1)],
            "validate_s": validate_s,
            "layout_s": layout_s,
        }
        for suffix in (".svg", ".png", ".mmd", ".dot"):
            target = out / f"star{suffix}"
            _, seconds = timed(lambda target=target: write(diagram, target), suffix[1:])
            report[f"{suffix[1:]}_s"] = seconds
            report[f"{suffix[1:]}_bytes"] = target.stat().st_size
        plane = ControlPlane(fabric)
        last = args.spokes - 1
        ends = ("spoke0-vm", f"spoke{last}-vm") if args.spokes > 1 else ("spoke0-vm", "hub-gw")
        marked, highlight_s = timed(
            lambda: layout(fabric, findings=findings, plane=plane, highlight=ends)
        )
        report["highlight_layout_s"] = highlight_s
        report["highlight_status"] = marked.highlight.status
    report["total_svg_s"] = validate_s + layout_s + report["svg_s"]
    report["total_png_s"] = validate_s + layout_s + report["png_s"]
    report["cpu_total_svg_s"] = CPU["validate"] + CPU["layout"] + CPU["svg"]
    report["cpu_total_png_s"] = CPU["validate"] + CPU["layout"] + CPU["png"]
    try:
        report["load_average"] = float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        report["load_average"] = None
    if not args.json:
        print(
            f"hub + {args.spokes} spokes: {report['nodes']} boxes, {report['edges']} lines; "
            f"validate {validate_s:.2f} s, layout {layout_s:.3f} s"
        )
        print(
            f"SVG {report['svg_s']:.2f} s ({report['svg_bytes'] / 1e6:.1f} MB), "
            f"PNG {report['png_s']:.2f} s ({report['png_bytes'] / 1e6:.1f} MB), "
            f"Mermaid {report['mmd_s'] * 1e3:.0f} ms, DOT {report['dot_s'] * 1e3:.0f} ms"
        )
        print(
            f"what a user waits for: {report['total_svg_s']:.2f} s to an SVG, "
            f"{report['total_png_s']:.2f} s to a PNG (CPU {report['cpu_total_svg_s']:.2f} s and "
            f"{report['cpu_total_png_s']:.2f} s; load average {report['load_average']})"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
