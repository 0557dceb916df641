"""The traffic of a scenario: one ``FlowSpec`` per flow of the ``traffic`` section.

The generators that turn a spec into packets live in ``fabric.sim.traffic``.
"""

from __future__ import annotations

from typing import Any

import attrs

from fabric.model.records import suggest

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
