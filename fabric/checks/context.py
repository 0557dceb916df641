"""What every check shares: the fabric, its peering index, and each prefix parsed once."""

from __future__ import annotations

from ipaddress import IPv4Network

from fabric.control.addressing import (
    AddressError,
    parse_prefix,
)
from fabric.control.peering import PeeringView
from fabric.model.container import Fabric


class Context:
    """Parsed prefixes shared by the checks, so each string is parsed once."""

    def __init__(self, fabric: Fabric) -> None:
        self.fabric = fabric
        self.view = PeeringView(fabric)
        self.space: dict[str, list[tuple[str, IPv4Network]]] = {}
        self.bad_space: dict[str, list[tuple[str, str]]] = {}
        for vnet in fabric.vnets.values():
            good, bad = [], []
            for text in vnet.address_prefixes:
                try:
                    good.append((text, parse_prefix(text)))
                except AddressError as problem:
                    bad.append((text, str(problem)))
            self.space[vnet.name] = good
            self.bad_space[vnet.name] = bad
        self.subnets: dict[tuple[str, str], IPv4Network | None] = {}
        for vnet in fabric.vnets.values():
            for subnet in vnet.subnets:
                try:
                    self.subnets[(vnet.name, subnet.name)] = parse_prefix(subnet.address_prefix)
                except AddressError:
                    self.subnets[(vnet.name, subnet.name)] = None

    def networks(self, vnet: str) -> list[IPv4Network]:
        return [net for _, net in self.space.get(vnet, [])]


def r(kind: str, *names: str) -> str:
    return "/".join((kind, *names))


def overlap_text(pairs: list[tuple[IPv4Network, IPv4Network]]) -> str:
    return ", ".join(f"{a} and {b}" for a, b in pairs)
