"""ExpressRoute primary, site-to-site VPN backup: which path wins for on-premises, and why.

Run: python scenarios/expressroute_primary_vpn_backup.py [--json]

For the same prefix learned over ExpressRoute and over VPN, Azure uses ExpressRoute (azure-facts
N1.7); a more specific prefix over VPN still wins by longest prefix; when the circuit stops
carrying traffic, the VPN route is the one left. Each case is a trace from the spoke VM.
"""

from __future__ import annotations

import argparse
import json
import sys

import attrs

from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.model import Fabric
from fabric.scenarios import path
from fabric.watcher import connectivity

NAME = "expressroute_primary_vpn_backup"
SPOKE_VM = "10.1.1.4"
ON_PREMISES = "172.20.1.10"  # in 172.20.0.0/16, announced over both
MORE_SPECIFIC = "172.20.99.10"  # in 172.20.99.0/24, over the VPN only


def topology() -> Fabric:
    return load_topology(path(NAME)).fabric


def deprovisioned(fabric: Fabric) -> Fabric:
    """The what-if: the provider deprovisions the circuit (it carries nothing)."""
    changed = fabric.copy()
    circuit = changed.express_route_circuits["er-ams"]
    changed.express_route_circuits["er-ams"] = attrs.evolve(
        circuit, service_provider_provisioning_state="NotProvisioned"
    )
    return changed


def gateway_routes(fabric: Fabric, prefix: str = "172.20.0.0/16") -> list[dict]:
    """The spoke's effective routes for ``prefix``: one per gateway that learned it."""
    plane = ControlPlane(fabric)
    return [
        {"gateway": r.gateway.name, "state": r.state, "next_hop_ip": list(r.next_hop_ip_address)}
        for r in plane.routes("spoke", "app").routes
        if str(r.prefix) == prefix and r.gateway is not None
    ]


def cases() -> list[dict]:
    """The three cases: same prefix, more specific over VPN, circuit gone."""
    fabric = topology()
    rows = []
    for label, topo, destination in (
        ("same prefix over both", fabric, ON_PREMISES),
        ("more specific over VPN", fabric, MORE_SPECIFIC),
        ("circuit deprovisioned", deprovisioned(fabric), ON_PREMISES),
    ):
        trace = connectivity(ControlPlane(topo), SPOKE_VM, destination, port=443)
        rows.append(
            {
                "case": label,
                "destination": destination,
                "status": trace.connection_status,
                "path": [f"{h.type} {h.name}" for h in trace.hops],
                "via": next(
                    (h.name for h in trace.hops if h.type == "VirtualNetworkGateway"), None
                ),
                "latency_ms": trace.latency_ms,
                "routes": gateway_routes(topo),
            }
        )
    return rows


WHY = {
    "same prefix over both": "the same prefix over ExpressRoute and VPN: ExpressRoute wins (N1.7)",
    "more specific over VPN": "longest prefix match comes first: the VPN's /24 wins (N1.7)",
    "circuit deprovisioned": "only the VPN route is left: the backup takes over",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = cases()
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        print(f"{row['case']}: {row['destination']} via {row['via']} ({WHY[row['case']]})")
        print("   " + " > ".join(row["path"]))
        for route in row["routes"]:
            print(f"   172.20.0.0/16 from {route['gateway']}: {route['state']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
