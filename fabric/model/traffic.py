"""The traffic of a scenario: one ``FlowSpec`` per flow of the ``traffic`` section.

The generators that turn a spec into packets live in ``fabric.sim.traffic``.
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

import attrs

from fabric.model.container import Fabric, FabricError
from fabric.model.records import Host, suggest

PATTERNS = ("cbr", "poisson", "onoff", "tcp")
# The classic simple IMIX at the IP layer: 7 x 40 B, 4 x 576 B, 1 x 1500 B.
SIZE_MIXES: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "imix": ((40, 576, 1500), (7 / 12, 4 / 12, 1 / 12)),
}
PROTOCOLS = ("Tcp", "Udp", "Icmp")
CONGESTION_CONTROLS = ("cubic", "reno")
ENGINES = ("auto", "events", "batch")  # which engine runs a scenario (simulation.engine)
# IP + transport headers: a packet's payload is its size minus these (TCP 20+20, UDP and
# ICMP 20+8). Goodput counts payload; a VM's egress cap meters whole packets.
HEADER_BYTES = {"Tcp": 40, "Udp": 28, "Icmp": 28}


# name, low, high: every number of a flow has a range (NaN and infinities fall outside it).
_RANGES = (
    ("rate_mbps", 0, 1_000_000),
    ("duration_s", 0, 86_400),
    ("on_s", 0, 86_400),
    ("off_s", 0, 86_400),
    ("start_s", 0, 86_400),
    ("packet_bytes", 29, 9000),
    ("destination_port", 0, 65535),
    ("source_port", 0, 65535),
    ("window_packets", 1, 1_000_000),
)
_POSITIVE = {"rate_mbps", "duration_s", "on_s", "off_s"}
_INTEGERS = {"packet_bytes", "destination_port", "source_port", "window_packets"}
_OPTIONAL = {"source_port", "window_packets"}


class TrafficError(ValueError):
    """A traffic entry that cannot be simulated; the message names the flow and the fix."""


@attrs.frozen(slots=True)
class FlowSpec:
    """One flow of a scenario. ``rate_mbps`` is the average offered rate (open loop)."""

    name: str
    src: str
    dst: str
    protocol: str = "Udp"
    destination_port: int = 443
    source_port: int | None = None
    rate_mbps: float = 100.0
    packet_bytes: int = 1400
    size_mix: str | None = None
    pattern: str = "cbr"
    start_s: float = 0.0
    duration_s: float = 1.0
    on_s: float = 0.01
    off_s: float = 0.01
    # TCP: the sender's congestion control (RFC 9438 CUBIC by default, as Linux and Windows),
    # and a fixed receive window in segments that overrides the receiver's OS profile.
    congestion_control: str = "cubic"
    window_packets: int | None = None

    @classmethod
    def from_mapping(cls, entry: dict[str, Any]) -> FlowSpec:
        """Build from a scenario's traffic entry, with clear errors for bad values."""
        try:
            spec = cls(**entry)
        except TypeError as problem:
            raise TrafficError(f"traffic {entry.get('name', '?')}: {problem}") from None
        spec.check()
        return spec

    def check(self) -> None:
        """Raise TrafficError naming the flow and the fix for values that cannot be simulated."""
        where = f"traffic {self.name}"
        if self.pattern not in PATTERNS:
            raise TrafficError(
                f"{where}: pattern {self.pattern!r}; {suggest(self.pattern, PATTERNS)}"
            )
        if self.protocol not in PROTOCOLS:
            raise TrafficError(
                f"{where}: protocol {self.protocol!r}; {suggest(self.protocol, PROTOCOLS)}"
            )
        if self.pattern == "tcp" and self.protocol != "Tcp":
            raise TrafficError(f"{where}: pattern tcp needs protocol Tcp")
        if self.size_mix is not None and self.size_mix not in SIZE_MIXES:
            raise TrafficError(
                f"{where}: size_mix {self.size_mix!r}; {suggest(self.size_mix, SIZE_MIXES)}"
            )
        for label, low, high in _RANGES:
            value = getattr(self, label)
            if label in _OPTIONAL and value is None:
                continue
            integral = label in _INTEGERS
            kind = int if integral else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind):
                what = "an integer" if integral else "a number"
                raise TrafficError(f"{where}: {label} must be {what}, got {value!r}")
            if not (low <= value <= high) or (label in _POSITIVE and not value > 0):
                bound = f"in ({low}, {high}]" if label in _POSITIVE else f"in [{low}, {high}]"
                raise TrafficError(f"{where}: {label} must be {bound}, got {value!r}")
        if self.congestion_control not in CONGESTION_CONTROLS:
            raise TrafficError(
                f"{where}: congestion_control {self.congestion_control!r}; "
                f"{suggest(self.congestion_control, CONGESTION_CONTROLS)}"
            )
        header = HEADER_BYTES[self.protocol]
        if self.pattern != "tcp" and self.packet_bytes <= header:
            raise TrafficError(
                f"{where}: packet_bytes {self.packet_bytes} leaves no payload after the "
                f"{header} bytes of {self.protocol}/IP headers"
            )

    @property
    def mean_packet_bytes(self) -> float:
        """Average packet size of the flow."""
        if self.size_mix is None:
            return float(self.packet_bytes)
        sizes, weights = SIZE_MIXES[self.size_mix]
        return float(sum(s * w for s, w in zip(sizes, weights, strict=True)))


@attrs.frozen(slots=True)
class Address:
    """A flow's destination that is no declared host: an IPv4 address beyond the NICs vnetsim
    sends from (on-premises behind a VPN or ExpressRoute connection, the internet). It
    receives whatever reaches it; it never sends, so only open-loop flows go to it."""

    ip: str

    @property
    def name(self) -> str:
        return self.ip


def address_destination(dst: str) -> Address | None:
    """``dst`` as an Address when it is an IPv4 address (None otherwise)."""
    try:
        address = ip_address(dst)
    except ValueError:
        return None
    return Address(str(address)) if address.version == 4 else None


def address_problem(fabric: Fabric, address: Address) -> str | None:
    """Why ``address`` cannot be a flow's destination beyond the declared hosts: a declared
    host holds it (name the host), or it lies in a VNet's address space, where only a
    declared host receives (None: it is beyond the VNets, e.g. on-premises)."""
    target = ip_address(address.ip)
    for vnet in fabric.vnets.values():
        for host in vnet.hosts:
            if host.ip == address.ip:
                return (
                    f"dst {address.ip} is host {host.name}'s address: name the host ({host.name})"
                )
        for prefix in vnet.address_prefixes:
            try:
                inside = target in ip_network(prefix, strict=False)
            except ValueError:
                continue
            if inside:
                return (
                    f"dst {address.ip} is in VNet {vnet.name}'s address space ({prefix}) but "
                    "no declared host has it: declare the host and name it"
                )
    return None


def flow_endpoints(fabric: Fabric, spec: FlowSpec) -> tuple[Host, Host | Address]:
    """The flow's sending host and its receiver: a declared host, or, for an open-loop flow,
    an IPv4 address beyond every VNet (on-premises, the internet). TrafficError names the
    flow and the fix."""
    where = f"traffic {spec.name}"
    try:
        source = fabric.find_host(spec.src)[1]
    except FabricError as problem:
        raise TrafficError(f"{where}: {problem}") from None
    try:
        return source, fabric.find_host(spec.dst)[1]
    except FabricError as problem:
        address = address_destination(spec.dst)
        if address is None:
            raise TrafficError(f"{where}: {problem}") from None
    why = address_problem(fabric, address)
    if why is not None:
        raise TrafficError(f"{where}: {why}")
    if spec.pattern == "tcp":
        raise TrafficError(f"{where}: {TCP_TO_ADDRESS}")
    return source, address


TCP_TO_ADDRESS = (
    "a TCP flow needs a declared host at both ends (its replies are sent from a NIC); to an "
    "address beyond the VNets (on-premises, the internet) send an open-loop flow (pattern "
    "cbr, poisson or onoff)"
)
