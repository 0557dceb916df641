"""IPv4 prefixes: parsing with helpful errors, overlap checks, reserved and forbidden addresses.

Facts from ../shared/reference/azure-facts.md §1.1-1.2 (AD:articles/virtual-network/
virtual-networks-faq.md): forbidden ranges, /29 minimum and /2 maximum subnet, five reserved
addresses per subnet (the first four and the last).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

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
SMALLEST_SUBNET_PREFIXLEN = 29  # §1.2: smallest IPv4 subnet /29
LARGEST_SUBNET_PREFIXLEN = 2  # §1.2: largest IPv4 subnet /2 (current FAQ)
RESERVED_PER_SUBNET = 5  # §1.2: first four and the last address


class AddressError(ValueError):
    """A string that is not a usable IPv4 prefix or address; the message says how to fix it."""


def parse_prefix(text: str) -> IPv4Network:
    """Parse ``a.b.c.d/len``; host bits set or IPv6 give an AddressError with the fix."""
    if not isinstance(text, str):
        raise AddressError(f"{text!r} is not a CIDR prefix string like '10.0.0.0/16'")
    if "/" not in text:
        raise AddressError(f"'{text}' has no prefix length; write it as CIDR, e.g. '{text}/32'")
    try:
        return IPv4Network(text, strict=True)
    except ValueError as error:
        if ":" in text:
            raise AddressError(
                f"'{text}' is IPv6; vnetsim models IPv4 address spaces only"
            ) from None
        try:
            loose = IPv4Network(text, strict=False)
        except ValueError:
            raise AddressError(f"'{text}' is not a valid IPv4 CIDR prefix ({error})") from None
        raise AddressError(
            f"'{text}' has host bits set; for /{loose.prefixlen} the prefix is '{loose}'"
        ) from None


def parse_address(text: str) -> IPv4Address:
    """Parse a single IPv4 address with a helpful error."""
    try:
        return IPv4Address(text)
    except (ValueError, TypeError):
        raise AddressError(f"{text!r} is not a valid IPv4 address, e.g. '10.0.1.4'") from None


def overlapping_pairs(
    left: Iterable[IPv4Network], right: Iterable[IPv4Network]
) -> list[tuple[IPv4Network, IPv4Network]]:
    """Every (a, b) with a from ``left`` and b from ``right`` that share an address."""
    right = list(right)
    return [(a, b) for a in left for b in right if a.overlaps(b)]


def reserved_addresses(subnet: IPv4Network) -> tuple[IPv4Address, ...]:
    """The five addresses Azure keeps in every subnet: network, gateway, two DNS, broadcast."""
    base = subnet.network_address
    return (base, base + 1, base + 2, base + 3, subnet.broadcast_address)


def usable_host_count(subnet: IPv4Network) -> int:
    """Addresses a VM can be given: ``2**(32 - len) - 5`` (derived from §1.2)."""
    return max(0, subnet.num_addresses - RESERVED_PER_SUBNET)


def forbidden_range_hit(prefix: IPv4Network) -> IPv4Network | None:
    """The forbidden range that ``prefix`` overlaps, if any."""
    for forbidden in FORBIDDEN_RANGES:
        if prefix.overlaps(forbidden):
            return forbidden
    return None


def valid_networks(texts: Iterable[str]) -> list[IPv4Network]:
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
    "forbidden_range_hit",
    "overlapping_pairs",
    "parse_address",
    "parse_prefix",
    "reserved_addresses",
    "usable_host_count",
]
