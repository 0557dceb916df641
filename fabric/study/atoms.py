"""Atoms: the equivalence classes of addresses and ports that the control plane distinguishes.

Every decision the forwarding walk takes about an address is membership in a prefix: a FIB's
longest match (every route of every subnet and gateway), an NSG rule's prefix or tag (the
VirtualNetwork tag as ``ControlPlane.tag_scope`` expands it, Internet, the platform tags,
application security group members), a subnet or address space (where a NIC is, where a packet
originated), the reserved addresses of a subnet, a declared NIC's address, and the special
ranges (private, multicast, broadcast, platform). Cut the address line at the first address of
each of those prefixes and one past its last: within one interval between two cuts, every one
of those memberships is the same, so every address of it gets the same answer. The same holds
for ports, cut at every port range an NSG rule names. Checking one representative per atom is
therefore checking every address and port (``tests/test_atoms.py`` proves it against brute
force on small fabrics).

Cuts are a superset of what one question needs (a cut that decides nothing only splits an atom
in two), which keeps the rule simple and safe.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from ipaddress import IPv4Address, IPv6Address, ip_network

import attrs

from fabric.catalogue.servicetags import INTERNET, PLATFORM_TAGS
from fabric.control.addressing import (
    MULTICAST,
    NOT_INTERNET,
    PLATFORM_ADDRESSES,
    IPAddress,
    IPNetwork,
    parse_address,
    prefix_text,
    reserved_addresses,
    valid_networks,
)
from fabric.control.connections import site_prefixes
from fabric.control.plane import ControlPlane
from fabric.control.ports import PortRangeError, parse_port_ranges

FAMILIES = (4, 6)
LIMITED_BROADCAST = ip_network("255.255.255.255/32")
PORTS = (0, 65535)
# A port atom is represented by a well-known port when it holds one, for readable answers.
FAVOURITE_PORTS = (443, 80, 22, 3389, 53, 1433)


@attrs.frozen(slots=True, order=True)
class Span:
    """An inclusive interval of addresses of one family, as integers."""

    version: int
    low: int
    high: int

    @classmethod
    def of(cls, net: IPNetwork) -> Span:
        return cls(net.version, int(net.network_address), int(net.broadcast_address))

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def address(self, offset: int = 0) -> IPAddress:
        """The address ``offset`` after the first."""
        kind = IPv4Address if self.version == 4 else IPv6Address
        return kind(self.low + offset)

    def __str__(self) -> str:
        first, last = self.address(), self.address(self.size - 1)
        return str(first) if self.size == 1 else f"{first}-{last}"


class AddressSet:
    """A set of addresses: sorted, disjoint, non-adjacent spans."""

    __slots__ = ("spans",)

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        self.spans = _normalise(spans)

    @classmethod
    def of(cls, nets: Iterable[IPNetwork]) -> AddressSet:
        return cls(Span.of(net) for net in nets)

    def __or__(self, other: AddressSet) -> AddressSet:
        return AddressSet((*self.spans, *other.spans))

    def __and__(self, other: AddressSet) -> AddressSet:
        out, i, j = [], 0, 0
        a, b = self.spans, other.spans
        while i < len(a) and j < len(b):
            x, y = a[i], b[j]
            if (x.version, x.high) < (y.version, y.low):
                i += 1
            elif (y.version, y.high) < (x.version, x.low):
                j += 1
            else:
                out.append(Span(x.version, max(x.low, y.low), min(x.high, y.high)))
                if x.high < y.high:
                    i += 1
                else:
                    j += 1
        return AddressSet(out)

    def __sub__(self, other: AddressSet) -> AddressSet:
        out, j = [], 0
        b = other.spans
        for x in self.spans:
            low = x.low
            while j < len(b) and (b[j].version, b[j].high) < (x.version, low):
                j += 1
            k = j
            while k < len(b) and b[k].version == x.version and b[k].low <= x.high:
                if b[k].low > low:
                    out.append(Span(x.version, low, b[k].low - 1))
                low = max(low, b[k].high + 1)
                k += 1
            if low <= x.high:
                out.append(Span(x.version, low, x.high))
        return AddressSet(out)

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __len__(self) -> int:
        """How many addresses (not spans) the set holds."""
        return sum(span.size for span in self.spans)

    def __contains__(self, address: IPAddress) -> bool:
        value = int(address)
        return any(s.version == address.version and s.low <= value <= s.high for s in self.spans)

    def addresses(self) -> Iterator[IPAddress]:
        """Every address, in order (for brute force on small sets)."""
        for span in self.spans:
            for offset in range(span.size):
                yield span.address(offset)

    def __repr__(self) -> str:
        return f"AddressSet({', '.join(map(str, self.spans))})"


def _normalise(spans: Iterable[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for span in sorted(spans):
        last = merged[-1] if merged else None
        if last is not None and last.version == span.version and span.low <= last.high + 1:
            merged[-1] = Span(span.version, last.low, max(last.high, span.high))
        else:
            merged.append(span)
    return tuple(merged)


class AtomIndex:
    """The cuts of one control plane: address cuts per family and port cuts (destination and
    source ports), collected once and shared by every question asked of the plane."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        cuts: dict[int, set[int]] = {4: set(), 6: set()}
        for net in _prefixes(plane):
            cuts[net.version].add(int(net.network_address))
            cuts[net.version].add(int(net.broadcast_address) + 1)
        self.cuts = {version: sorted(values) for version, values in cuts.items()}
        destination_ports, source_ports = set(), set()
        for nsg in plane.fabric.nsgs.values():
            for rule in nsg.security_rules:
                for target, ranges in (
                    (destination_ports, rule.destination_port_ranges),
                    (source_ports, rule.source_port_ranges),
                ):
                    try:
                        parsed = parse_port_ranges(ranges)
                    except PortRangeError:
                        continue  # such a rule matches nothing (validation reports it)
                    for low, high in parsed:
                        target.update((low, high + 1))
        self.port_cuts = sorted(destination_ports)
        self.source_port_cuts = sorted(source_ports)

    def address_atoms(self, addresses: AddressSet) -> list[Span]:
        """``addresses`` cut into atoms."""
        atoms = []
        for span in addresses.spans:
            cuts = self.cuts[span.version]
            low = span.low
            for cut in cuts[bisect_right(cuts, span.low) : bisect_left(cuts, span.high + 1)]:
                atoms.append(Span(span.version, low, cut - 1))
                low = cut
            atoms.append(Span(span.version, low, span.high))
        return atoms

    def port_atoms(
        self, ranges: Iterable[tuple[int, int]], *, source: bool = False
    ) -> list[tuple[int, int]]:
        """Inclusive port ranges cut into atoms (``source``: by source port cuts)."""
        cuts = self.source_port_cuts if source else self.port_cuts
        atoms = []
        for low, high in sorted(ranges):
            start = low
            for cut in cuts[bisect_right(cuts, low) : bisect_left(cuts, high + 1)]:
                atoms.append((start, cut - 1))
                start = cut
            atoms.append((start, high))
        return atoms


def representative_port(atom: tuple[int, int], preferred: int | None = None) -> int:
    """The port that stands for an atom: ``preferred`` or a well-known port when it holds one."""
    low, high = atom
    for port in (preferred, *FAVOURITE_PORTS):
        if port is not None and low <= port <= high:
            return port
    return low


def _prefixes(plane: ControlPlane) -> Iterator[IPNetwork]:
    """Every prefix whose membership the control plane tests (see the module docstring)."""
    fabric = plane.fabric
    yield from NOT_INTERNET
    yield from MULTICAST
    yield LIMITED_BROADCAST
    for address in PLATFORM_ADDRESSES:
        yield ip_network(address)
    for addresses in PLATFORM_TAGS.values():
        yield from (ip_network(a) for a in addresses)
    for vnet in fabric.vnets.values():
        yield from valid_networks(vnet.address_prefixes)
        for subnet in vnet.subnets:
            for net in valid_networks(subnet.prefixes):
                yield net
                yield from (ip_network(a) for a in reserved_addresses(net))
            yield from (route.prefix for route in plane.routes(vnet.name, subnet.name).routes)
        for host in vnet.hosts:
            yield from _host_net(host.ip)
        scope = plane.tag_scope(vnet.name)
        yield from scope.virtual_network
        for members in scope.asg_members.values():
            yield from (ip_network(a) for a in members)
    for gateway in fabric.gateways.values():
        if gateway.vnet in fabric.vnets:
            yield from (route.prefix for route in plane.gateway_routes(gateway).routes)
    for site in fabric.local_network_gateways.values():
        yield from site_prefixes(site)
    for nsg in fabric.nsgs.values():
        for rule in nsg.security_rules:
            for value in (*rule.source_address_prefixes, *rule.destination_address_prefixes):
                yield from _rule_prefixes(value)


def _host_net(text: str) -> list[IPNetwork]:
    try:
        return [ip_network(parse_address(text))]
    except ValueError:
        return []


def _rule_prefixes(value: str) -> list[IPNetwork]:
    """The prefixes an NSG rule's address value tests (tags: see ``fabric.control.nsg``)."""
    if value == "*":
        return []
    if value in PLATFORM_TAGS:
        return [ip_network(a) for a in PLATFORM_TAGS[value]]
    if value == INTERNET:
        return list(NOT_INTERNET)  # and the VirtualNetwork scope, cut per VNet already
    if "/" in value or ":" in value or value[:1].isdigit():
        return valid_networks([prefix_text(value)])
    return []  # VirtualNetwork is cut per VNet; tags without contents match nothing
