"""Next hop (Network Watcher §6.2): the route that wins for a destination at a NIC."""

from __future__ import annotations

import attrs

from fabric.control.forwarding import locate_source, parse_ip
from fabric.control.plane import ControlPlane, Location
from fabric.control.routing import RouteEntry


@attrs.frozen(slots=True)
class NextHop:
    """The winning route (None: no route at all) at the NIC that asked."""

    route: RouteEntry | None
    location: Location

    @property
    def next_hop_type(self) -> str:
        return self.route.next_hop_type if self.route else "None"

    def to_json(self) -> dict:
        """DESIGN.md's ``next-hop --json`` shape."""
        route = self.route
        if route is None:
            return {
                "next_hop_type": "None",
                "next_hop_ip_address": None,
                "route_table": None,
                "address_prefix": None,
            }
        ips = route.next_hop_ip_address
        return {
            "next_hop_type": route.next_hop_type,
            "next_hop_ip_address": ips[0] if ips else None,
            "route_table": route.route_table_label,
            "address_prefix": str(route.prefix),
        }


def next_hop(plane: ControlPlane, source: str, destination: str) -> NextHop:
    """The route that wins for ``destination`` at the NIC with address ``source``."""
    location = locate_source(plane, source)
    address = parse_ip(destination, "--dst", plane)
    route = plane.routes(location.vnet.name, location.subnet.name).lookup(address)
    return NextHop(route, location)
