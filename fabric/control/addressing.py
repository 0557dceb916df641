"""IP prefixes and addresses: parsing with helpful errors, reserved, forbidden and special space.

Facts from ../shared/reference/azure-facts.md §1.1-1.2 and §1.4 (AD:articles/virtual-network/
virtual-networks-faq.md): forbidden ranges, /29 minimum and /2 maximum IPv4 subnet, IPv6 subnets
of exactly /64 (VNets may be dual-stack), five reserved addresses per IPv4 subnet (the first
four and the last), multicast and broadcast blocked, and the host platform addresses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

import pytricia

from fabric.catalogue.servicetags import HOST_VIP, IMDS

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# §1.1: ranges that can never be added to a VNet address space.
FORBIDDEN_RANGES: tuple[IPv4Network, ...] = tuple(
    IPv4Network(p)
    for p in (
        "224.0.0.0/4",
        "255.255.255.255/32",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "168.63.129.16/32",
    )
)
# §4.1: private (RFC 1918) and shared (RFC 6598) ranges that get a system route to None.
PRIVATE_RANGES: tuple[IPv4Network, ...] = tuple(
    IPv4Network(p) for p in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
# Space the internet does not route: private and shared (above), this-network, loopback,
# link-local, multicast and reserved (RFC 6890); for IPv6 unique-local, link-local, multicast,
# loopback and unspecified. The Internet service tag excludes it (§5.4, TC-NW-2).
NOT_INTERNET: tuple[IPNetwork, ...] = (
    *PRIVATE_RANGES,
    *(
        ip_network(p)
        for p in (
            "0.0.0.0/8",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "224.0.0.0/4",
            "240.0.0.0/4",
            "fc00::/7",
            "fe80::/10",
            "ff00::/8",
            "::1/128",
            "::/128",
        )
    ),
)
MULTICAST = (IPv4Network("224.0.0.0/4"), IPv6Network("ff00::/8"))
LIMITED_BROADCAST = IPv4Address("255.255.255.255")
# the same ranges as integers: 224.0.0.0/4's top four bits, ff00::/8's top eight
_V4_BROADCAST = int(LIMITED_BROADCAST)
_V4_MULTICAST_TOP = int(MULTICAST[0].network_address) >> 28
_V6_MULTICAST_TOP = int(MULTICAST[1].network_address) >> 120
# §1.4: the host platform addresses (DNS, DHCP, health probes; the instance metadata service).
PLATFORM_ADDRESSES = (HOST_VIP, IMDS)
_PLATFORM_V4 = frozenset(int(a) for a in PLATFORM_ADDRESSES)  # both are IPv4

SMALLEST_SUBNET_PREFIXLEN = 29  # §1.2: smallest IPv4 subnet /29
LARGEST_SUBNET_PREFIXLEN = 2  # §1.2: largest IPv4 subnet /2 (current FAQ)
IPV6_SUBNET_PREFIXLEN = 64  # §1.2: an IPv6 subnet is exactly /64
RESERVED_PER_SUBNET = 5  # §1.2: first four and the last address


# a.b.c.d/n without leading zeros (ip_network rejects those; the slow path says why).
_CANONICAL_IPV4 = re.compile(
    r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
    r"/(0|[1-9][0-9]?)"
)


class AddressError(ValueError):
    """A string that is not a usable prefix or address; the message says how to fix it."""


def parse_prefix(text: str) -> IPNetwork:
    """Parse ``a.b.c.d/len`` or an IPv6 prefix; host bits set give an AddressError with the fix."""
    if not isinstance(text, str):
        raise AddressError(f"{text!r} is not a CIDR prefix string like '10.0.0.0/16'")
    return _parse_prefix(text)


@functools.lru_cache(maxsize=1 << 17)
def _parse_prefix(text: str) -> IPNetwork:
    """``parse_prefix`` of a string, memoised: checks, routing and tags parse the same prefixes
    over and over (a 5,000-spoke hub: ~40,000 parses per question). Networks are immutable, so
    sharing one object is safe; errors are not cached (lru_cache does not keep exceptions)."""
    match = _CANONICAL_IPV4.fullmatch(text)
    if match is not None:  # the usual spelling: integer arithmetic, ~2x faster than ip_network
        *octets, length = (int(group) for group in match.groups())
        value = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
        if max(octets) <= 255 and length <= 32 and not value & (0xFFFFFFFF >> length):
            return IPv4Network((value, length))
    if "/" not in text:
        length = 128 if ":" in text else 32
        raise AddressError(
            f"'{text}' has no prefix length; write it as CIDR, e.g. '{text}/{length}'"
        )
    try:
        return ip_network(text, strict=True)
    except ValueError as error:
        try:
            loose = ip_network(text, strict=False)
        except ValueError:
            raise AddressError(f"'{text}' is not a valid CIDR prefix ({error})") from None
        raise AddressError(
            f"'{text}' has host bits set; for /{loose.prefixlen} the prefix is '{loose}'"
        ) from None


def prefix_text(value: str) -> str:
    """An address field's value as a prefix to parse: a bare address is one host (/32, or /128
    for IPv6), as NSG rules and service-tag contents write them."""
    return value if "/" in value else f"{value}/{128 if ':' in value else 32}"


def parse_address(text: str) -> IPAddress:
    """Parse a single IPv4 or IPv6 address with a helpful error."""
    try:
        return ip_address(text)
    except (ValueError, TypeError):
        raise AddressError(f"{text!r} is not a valid IP address, e.g. '10.0.1.4'") from None


def contains(network: IPNetwork, other: IPNetwork) -> bool:
    """True when ``other`` is equal to or inside ``network`` (False across families)."""
    return network.version == other.version and other.subnet_of(network)


def reserved_addresses(subnet: IPNetwork) -> tuple[IPAddress, ...]:
    """The addresses Azure keeps in an IPv4 subnet: network, gateway, two DNS, broadcast."""
    if subnet.version != 4:
        return ()
    base = subnet.network_address
    return (base, base + 1, base + 2, base + 3, subnet.broadcast_address)


def reserved_role(address: IPAddress, subnet: IPNetwork) -> str | None:
    """What a reserved address of ``subnet`` is for (§1.2), or None for a usable address."""
    if subnet.version != 4 or address not in subnet:
        return None
    offset = int(address) - int(subnet.network_address)
    if offset == 0:
        return "the network address"
    if offset == 1:
        return "the default gateway, which answers no ping (§1.4)"
    if offset in (2, 3):
        return "an address that maps Azure DNS into the VNet"
    if address == subnet.broadcast_address:
        return "the broadcast address (broadcast is blocked in a VNet, §1.4)"
    return None


def forbidden_range_hit(prefix: IPNetwork) -> IPv4Network | None:
    """The forbidden range that ``prefix`` overlaps, if any."""
    for forbidden in FORBIDDEN_RANGES:
        if prefix.version == 4 and prefix.overlaps(forbidden):
            return forbidden
    return None


def is_internet(address: IPAddress) -> bool:
    """True for an address the public internet routes (not private, special or reserved)."""
    return not any(address in net for net in NOT_INTERNET)


def is_platform(address: IPAddress) -> bool:
    """True for the host platform addresses 168.63.129.16 and 169.254.169.254 (§1.4)."""
    return address.version == 4 and int(address) in _PLATFORM_V4


def is_multicast_or_broadcast(address: IPAddress) -> bool:
    """True for multicast and the limited broadcast, which a VNet blocks (§1.4)."""
    value = int(address)  # integer tests: a matrix asks this for a million packets
    if address.version == 4:
        return value == _V4_BROADCAST or value >> 28 == _V4_MULTICAST_TOP
    return value >> 120 == _V6_MULTICAST_TOP


class Fib:
    """Longest-prefix match over IPv4 and IPv6: one pytricia tree per family (a single tree
    mixes them up: an IPv4 default route would answer IPv6 lookups)."""

    __slots__ = ("_trees",)

    def __init__(self) -> None:
        self._trees = {4: pytricia.PyTricia(32), 6: pytricia.PyTricia(128)}

    # pytricia takes network objects as keys (3x faster than formatting them as strings).
    def __setitem__(self, prefix: IPNetwork, value: object) -> None:
        self._trees[prefix.version][prefix] = value

    def __contains__(self, prefix: IPNetwork) -> bool:
        return self._trees[prefix.version].has_key(prefix)

    def exact(self, prefix: IPNetwork) -> object:
        """The value stored at exactly ``prefix``."""
        return self._trees[prefix.version][prefix]

    def get(self, address: IPAddress) -> object | None:
        """The value of the longest prefix holding ``address`` (None: no prefix does)."""
        return self._trees[address.version].get(address)  # pytricia takes the address object

    def matches(self, address: IPAddress) -> list:
        """The values of every prefix holding ``address``, the most specific first."""
        tree = self._trees[address.version]
        found = []
        key = tree.get_key(address)
        while key is not None:
            found.append(tree[key])
            key = tree.parent(key)
        return found


def valid_networks(texts: Iterable[str]) -> list[IPNetwork]:
    """The prefixes that parse, in order; invalid ones are skipped (validation reports them
    as InvalidAddressPrefix, and routes, tags and traces simply do without them)."""
    networks = []
    for text in texts:
        try:
            networks.append(parse_prefix(text))
        except AddressError:
            continue
    return networks


__all__ = [
    "FORBIDDEN_RANGES",
    "PRIVATE_RANGES",
    "AddressError",
    "Fib",
    "IPAddress",
    "IPNetwork",
    "contains",
    "forbidden_range_hit",
    "is_internet",
    "is_multicast_or_broadcast",
    "is_platform",
    "parse_address",
    "parse_prefix",
    "reserved_addresses",
    "reserved_role",
]
