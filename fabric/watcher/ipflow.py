"""IP flow verify (Network Watcher §6.1): the NSG verdict for one flow at one NIC."""

from __future__ import annotations

from fabric.control.forwarding import locate_source, make_packet, parse_ip
from fabric.control.nsg import Verdict
from fabric.control.plane import ControlPlane, QuestionError
from fabric.model import suggest

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
    if direction not in DIRECTIONS:
        raise QuestionError(
            f"direction {direction!r} is not valid; {suggest(direction, DIRECTIONS)}"
        )
    src, dst = parse_ip(source, "--src"), parse_ip(destination, "--dst")
    outbound = direction == "Outbound"
    location = locate_source(
        plane, source if outbound else destination, "--src" if outbound else "--dst"
    )
    verdict, _ = plane.nsg_verdict(
        location, direction, make_packet(protocol, src, dst, port, source_port)
    )
    return verdict
