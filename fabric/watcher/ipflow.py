"""IP flow verify (Network Watcher §6.1): the NSG verdict for one flow at one NIC."""

from __future__ import annotations

from fabric.control.forwarding import canonical, locate_source, make_packet, parse_ip
from fabric.control.nsg import Verdict
from fabric.control.plane import ControlPlane

DIRECTIONS = ("Inbound", "Outbound")


def ip_flow(
    plane: ControlPlane,
    source: str,
    destination: str,
    *,
    protocol: str,
    port: int | None,
    direction: str,
    source_port: int | None = None,
) -> Verdict:
    """NSG verdict at the VM whose IP is ``source`` (Outbound) or ``destination`` (Inbound)."""
    direction = canonical(direction, DIRECTIONS, "direction")
    src, dst = parse_ip(source, "--src", plane), parse_ip(destination, "--dst", plane)
    outbound = direction == "Outbound"
    location = locate_source(
        plane, source if outbound else destination, "--src" if outbound else "--dst"
    )
    verdict, _ = plane.nsg_verdict(
        location, direction, make_packet(protocol, src, dst, port, source_port)
    )
    return verdict
