"""What a name in a question stands for: the addresses of a VNet, subnet, VM, on-premises site,
prefix or the internet, as an ``AddressSet`` (for intents, exhaustive over every address).

An endpoint is an address a NIC can hold or a packet can go to. So the five addresses Azure
reserves in each subnet (§1.2) are never endpoints, and neither are GatewaySubnet and
RouteServerSubnet when a whole VNet is named: nothing but the gateway (§1.3) or the route server
(N15) may be deployed there. A source must be in a subnet (a NIC sends it).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from ipaddress import ip_network

from fabric.control.addressing import NOT_INTERNET, AddressError, parse_address, valid_networks
from fabric.control.connections import site_prefixes
from fabric.control.plane import ControlPlane
from fabric.model import suggest
from fabric.study.atoms import AddressSet, Span

INFRASTRUCTURE_SUBNETS = ("GatewaySubnet", "RouteServerSubnet")
INTERNET = "Internet"


class EndpointError(ValueError):
    """A name that stands for nothing in the topology; the message says what exists."""


class Endpoints:
    """Resolves names to address sets for one control plane (subnet sets built once)."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        fabric = plane.fabric
        reserved = []
        self.subnets: dict[tuple[str, str], AddressSet] = {}
        for vnet in fabric.vnets.values():
            for subnet in vnet.subnets:
                nets = valid_networks(subnet.prefixes)
                self.subnets[(vnet.name, subnet.name)] = AddressSet.of(nets)
                for net in nets:
                    if net.version == 4:  # §1.2: the first four and the last
                        base = int(net.network_address)
                        reserved.extend(
                            (Span(4, base, base + 3), Span(4, *(2 * [int(net.broadcast_address)])))
                        )
        self.reserved = AddressSet(reserved)
        self.in_subnets = AddressSet(s for a in self.subnets.values() for s in a.spans)

    # -- one name

    def resolve(self, name: str, *, source: bool) -> AddressSet:
        """The addresses ``name`` stands for; as a source, only those in a subnet."""
        addresses = self._named(str(name), source) - self.reserved
        if source:
            addresses = addresses & self.in_subnets
            if not addresses:
                raise EndpointError(
                    f"{name!r} holds no address of a subnet, so no NIC can send from it; name "
                    "a VNet, subnet, VM or prefix inside the topology"
                )
        elif not addresses:
            raise EndpointError(f"{name!r} holds no address a packet can be sent to")
        return addresses

    def union(self, names: tuple[str, ...], *, source: bool) -> AddressSet:
        return AddressSet(
            span for name in names for span in self.resolve(name, source=source).spans
        )

    def _named(self, name: str, source: bool) -> AddressSet:
        plane = self.plane
        fabric = plane.fabric
        if any(c in name for c in "*?["):
            found = self._pattern(name, source)
            if found is None:
                raise EndpointError(
                    f"the pattern {name!r} matches nothing: no VNet, vnet/subnet or VM name"
                )
            return found
        host = plane.host_named(name)
        if host is not None:
            try:
                return AddressSet.of([ip_network(parse_address(host.ip))])
            except AddressError:
                raise EndpointError(f"VM {name} has no valid IP address ({host.ip!r})") from None
        if name in fabric.vnets:
            return AddressSet(
                span
                for subnet in fabric.vnets[name].subnets
                if subnet.name not in INFRASTRUCTURE_SUBNETS
                for span in self.subnets[(name, subnet.name)].spans
            )
        vnet_name, slash, subnet_name = name.partition("/")
        if slash and (vnet_name, subnet_name) in self.subnets:
            return self.subnets[(vnet_name, subnet_name)]
        holders = [key for key in self.subnets if key[1] == name]
        if len(holders) == 1:
            return self.subnets[holders[0]]
        if len(holders) > 1:
            options = ", ".join(f"{v}/{s}" for v, s in holders)
            raise EndpointError(f"subnet {name!r} is in several VNets; write one of: {options}")
        site = fabric.local_network_gateways.get(name)
        if site is not None:
            if source:
                raise EndpointError(
                    f"{name!r} is an on-premises site: traffic from it is outside the model; "
                    "name it as a destination"
                )
            return AddressSet.of(site_prefixes(site))
        if name == INTERNET:
            return self._internet()
        try:
            if "/" in name:
                return AddressSet.of(valid_networks([name]) or [ip_network(name)])
            return AddressSet.of([ip_network(parse_address(name))])
        except (AddressError, ValueError):
            pass
        names = [
            *fabric.vnets,
            *(f"{v}/{s}" for v, s in self.subnets),
            *(h.name for v in fabric.vnets.values() for h in v.hosts),
            *fabric.local_network_gateways,
        ]
        raise EndpointError(
            f"{name!r} is no VNet, subnet (vnet/subnet), VM, on-premises site, prefix or "
            f"'Internet' of this topology ({suggest(name, names)})"
        )

    def _pattern(self, pattern: str, source: bool) -> AddressSet | None:
        """The union of every VNet, ``vnet/subnet`` and VM whose name matches a shell-style
        pattern (``spoke*``, ``*/app``), or None when nothing matches."""
        fabric = self.plane.fabric
        names = [
            *(n for n in fabric.vnets if fnmatchcase(n, pattern)),
            *(f"{v}/{s}" for v, s in self.subnets if fnmatchcase(f"{v}/{s}", pattern)),
            *(
                h.name
                for v in fabric.vnets.values()
                for h in v.hosts
                if fnmatchcase(h.name, pattern)
            ),
        ]
        if not names:
            return None
        return AddressSet(span for name in names for span in self._named(name, source).spans)

    def _internet(self) -> AddressSet:
        """IPv4 space the internet routes, less every VNet's space (§5.4's Internet tag)."""
        spaces = [
            net
            for vnet in self.plane.fabric.vnets.values()
            for net in valid_networks(vnet.address_prefixes)
        ]
        return AddressSet.of([ip_network("0.0.0.0/0")]) - AddressSet.of([*NOT_INTERNET, *spaces])
