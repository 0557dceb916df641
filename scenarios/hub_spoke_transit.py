"""Hub-and-spoke with gateway transit: which VM pairs reach each other, through what, and why not.

Run: python scenarios/hub_spoke_transit.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.scenarios import path
from fabric.watcher import connectivity


def matrix(name: str = "hub_spoke_transit", port: int = 443) -> list[dict]:
    """One record per ordered pair of hosts: status, the path's hop types, the reason."""
    fabric = load_topology(path(name)).fabric
    plane = ControlPlane(fabric)
    hosts = [(h.name, h.ip) for v in fabric.vnets.values() for h in v.hosts]
    rows = []
    for src, src_ip in hosts:
        for dst, dst_ip in hosts:
            if src == dst:
                continue
            trace = connectivity(plane, src_ip, dst_ip, protocol="Tcp", port=port)
            rows.append(
                {
                    "src": src,
                    "dst": dst,
                    "status": trace.connection_status,
                    "via": " > ".join(h.type for h in trace.hops[1:-1]) or "direct",
                    "reason": trace.reason,
                    "code": trace.code,
                    "latency_ms": trace.latency_ms,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = matrix()
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        what = row["via"] if row["status"] == "Reachable" else row["reason"]
        print(f"{row['src']:>7} -> {row['dst']:<7} {row['status']:<12} {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
