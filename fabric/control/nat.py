"""NAT gateway (N18.1): which NAT gateway a subnet's internet traffic leaves through, and what
it carries. A NAT gateway replaces the subnet's internet destination only: whether a packet
reaches that destination at all (or a default route sends it to an appliance, a gateway or over
ExpressRoute first) is the route's question, answered in ``fabric.control.routing``."""

from __future__ import annotations

from fabric.model.container import Fabric
from fabric.model.records import NatGateway

PROTOCOLS = ("Tcp", "Udp")  # N18.1: TCP and UDP only, no ICMP


def serving(fabric: Fabric, vnet: str, subnet: str) -> NatGateway | None:
    """The NAT gateway that subnet ``vnet``/``subnet`` names, if it names one that exists."""
    record = fabric.vnets.get(vnet)
    if record is None or subnet not in record.subnet_names:
        return None
    name = record.subnet(subnet).nat_gateway
    return fabric.nat_gateways.get(name) if name is not None else None


def subnets_using(fabric: Fabric, name: str) -> list[tuple[str, str]]:
    """The (VNet, subnet) pairs that name NAT gateway ``name``, in declaration order."""
    return [
        (vnet.name, subnet.name)
        for vnet in fabric.vnets.values()
        for subnet in vnet.subnets
        if subnet.nat_gateway == name
    ]


def carries(protocol: str) -> bool:
    """Whether a NAT gateway translates packets of ``protocol`` (TCP and UDP only)."""
    return protocol in PROTOCOLS
