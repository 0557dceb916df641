"""Spoke-to-spoke through a hub appliance: the latency of the extra hops, and what breaks.

Runs the scenario as written, then two broken variants (IP forwarding off on the NVA; forwarded
traffic not allowed on spoke2's link) and prints delivery, latency and the trace's reason.
Run: python scenarios/hub_spoke_nva.py [--duration S]
"""

from __future__ import annotations

import argparse
import sys

import attrs

from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.model.container import Fabric
from fabric.scenarios import path
from fabric.sim.runs import simulate
from fabric.watcher import connectivity


def variants(fabric: Fabric) -> dict[str, Fabric]:
    """The working design and the two documented ways to break it."""
    no_forwarding = fabric.copy()
    hub = no_forwarding.vnets["hub"]
    no_forwarding.set_vnet(
        attrs.evolve(
            hub, hosts=tuple(attrs.evolve(h, enable_ip_forwarding=False) for h in hub.hosts)
        )
    )
    no_forwarded_traffic = fabric.copy()
    no_forwarded_traffic.update_peering("spoke2", "spoke2-to-hub", allow_forwarded_traffic=False)
    return {
        "as designed": fabric,
        "NVA without IP forwarding": no_forwarding,
        "spoke2 link blocks forwarded traffic": no_forwarded_traffic,
    }


def run(duration_s: float = 0.2) -> list[dict]:
    document = load_topology(path("hub_spoke_nva"))
    rows = []
    for label, fabric in variants(document.fabric).items():
        result = simulate(fabric, document.traffic, duration_s=duration_s)
        plane = ControlPlane(fabric)
        for flow in result.flows:
            spec = next(t for t in document.traffic if t["name"] == flow.name)
            src = fabric.find_host(spec["src"])[1].ip
            dst = fabric.find_host(spec["dst"])[1].ip
            trace = connectivity(plane, src, dst, protocol="Udp", port=443)
            rows.append(
                {
                    "variant": label,
                    "flow": flow.name,
                    "sent": flow.sent,
                    "delivered": flow.delivered,
                    "latency_ms": flow.latency_ms()["mean"],
                    "hops": [h.type for h in trace.hops],
                    "reason": trace.reason,
                    "code": trace.code,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=0.2)
    args = parser.parse_args(argv)
    for row in run(args.duration):
        latency = f"{row['latency_ms']:.3f} ms" if row["latency_ms"] is not None else "-"
        outcome = " > ".join(row["hops"]) if row["reason"] is None else row["reason"]
        print(
            f"{row['variant']:<38}{row['flow']:<18}{row['delivered']:>7}/{row['sent']:<7}"
            f"{latency:>10}  {outcome}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
