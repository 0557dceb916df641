"""The documented pitfalls, troubleshot the way a user would: validate, trace, simulate.

For each pitfall scenario (overlapping_spaces, one_sided_peering, nsg_blocks_traffic) this
prints the validation findings, the connectivity trace of every flow, and what a short
simulation delivered. Run: python scenarios/pitfalls.py [NAME ...]
"""

from __future__ import annotations

import argparse
import sys

from fabric.checks import validate
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.scenarios import path
from fabric.sim.runs import simulate
from fabric.watcher import connectivity

PITFALLS = ("overlapping_spaces", "one_sided_peering", "nsg_blocks_traffic")


def troubleshoot(name: str) -> dict:
    """Findings, traces and simulated delivery for one pitfall scenario."""
    document = load_topology(path(name))
    fabric = document.fabric
    findings = validate(fabric)
    plane = ControlPlane(fabric)
    traces = {}
    for flow in document.traffic:
        src = fabric.find_host(flow["src"])[1].ip
        dst = fabric.find_host(flow["dst"])[1].ip
        traces[flow["name"]] = connectivity(
            plane,
            src,
            dst,
            protocol=flow.get("protocol", "Udp"),
            port=flow.get("destination_port", 443),
        )
    result = simulate(fabric, document.traffic)
    return {"findings": findings, "traces": traces, "result": result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(PITFALLS))
    args = parser.parse_args(argv)
    for name in args.names:
        report = troubleshoot(name)
        print(f"=== {name}")
        print("$ vnetsim validate")
        for finding in report["findings"] or ["(no findings)"]:
            print(f"  {finding}")
        for flow, trace in report["traces"].items():
            print(f"$ vnetsim connectivity ({flow})")
            print("  " + str(trace).replace("\n", "\n  "))
        for flow in report["result"].flows:
            print(
                f"simulated {flow.name}: {flow.delivered}/{flow.sent} delivered "
                f"{dict(flow.drop_reasons) or ''}"
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
