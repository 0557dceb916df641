"""IP flow verify (Network Watcher §6.1): the NSG verdict for one flow at one NIC."""

from __future__ import annotations

from fabric.control.forwarding import (
    PORTLESS,
    QuestionError,
    canonical,
    locate_source,
    make_packet,
    parse_ip,
)
from fabric.control.nsg import Verdict
from fabric.control.plane import ControlPlane
from fabric.model.records import PROTOCOLS

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
    protocol = canonical(protocol, tuple(p for p in PROTOCOLS if p != "*"), "protocol")
    if port is None and protocol not in PORTLESS:
        # §6.1: IP flow verify takes one destination port; none would silently mean port 0.
        raise QuestionError(
            f"a {protocol} flow needs its destination port (--port N): IP flow verify "
            "checks one port (§6.1)"
        )
    src, dst = parse_ip(source, "--src", plane), parse_ip(destination, "--dst", plane)
    outbound = direction == "Outbound"
    location = locate_source(
        plane, source if outbound else destination, "--src" if outbound else "--dst"
    )
    verdict, _ = plane.nsg_verdict(
        location, direction, make_packet(protocol, src, dst, port, source_port)
    )
    return verdict
