"""What every check shares: the fabric, its peering index, and each prefix parsed once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabric.control.addressing import AddressError, IPNetwork, parse_prefix, valid_networks
from fabric.control.peering import PeeringView
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error
from fabric.model.records import suggest

if TYPE_CHECKING:
    from fabric.control.plane import ControlPlane


class Context:
    """Parsed prefixes shared by the checks, so each string is parsed once."""

    def __init__(self, fabric: Fabric) -> None:
        self.fabric = fabric
        self.view = PeeringView(fabric)
        self._plane: ControlPlane | None = None
        self.space: dict[str, list[tuple[str, IPNetwork]]] = {}
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
        # (vnet, subnet) -> the subnet's ranges that parse (invalid ones are reported apart)
        self.subnets: dict[tuple[str, str], list[IPNetwork]] = {
            (vnet.name, subnet.name): valid_networks(subnet.prefixes)
            for vnet in fabric.vnets.values()
            for subnet in vnet.subnets
        }

    @property
    def plane(self) -> ControlPlane:
        """The fabric's control plane, built once on first use and shared by the checks that
        ask it questions (most checks need none, and it copies the fabric)."""
        if self._plane is None:
            from fabric.control.plane import ControlPlane

            self._plane = ControlPlane(self.fabric)
        return self._plane

    def networks(self, vnet: str) -> list[IPNetwork]:
        return [net for _, net in self.space.get(vnet, [])]


def r(kind: str, *names: str) -> str:
    return "/".join((kind, *names))


def overlap_text(pairs: list[tuple[IPNetwork, IPNetwork]]) -> str:
    return ", ".join(f"{a} and {b}" for a, b in pairs)


def unresolved(name: str) -> bool:
    """A name that holds a value unknown offline (Terraform's ``${var.prefix}-nsg`` placeholder,
    already reported by the importer): its spelling rules cannot be checked."""
    return "${" in name


def vnet_not_declared(fabric: Fabric, what: str, vnet: str, resource: str) -> Finding:
    """The error for ``what`` (e.g. "firewall fw") placed in a VNet the input does not declare."""
    return error(
        "ReferencedResourceNotFound",
        f"{what} is in VNet {vnet!r}, which is not declared ({suggest(vnet, fabric.vnets)})",
        resource,
    )
