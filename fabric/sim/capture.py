"""Packet capture: taps on the dataplane that record packets at a host, peering link, gateway or
connection, written as a standard pcap file (nanosecond timestamps, raw IPv4) that Wireshark
and tshark open. Headers are real IPv4/UDP/TCP/ICMP; on tunnel segments the packet is shown as
ESP in an outer IPv4 header between the two gateways. Payload bytes are not stored: each record
keeps the headers and the packet's full length (pcap's captured length < original length).
"""

from __future__ import annotations

import struct
import zlib
from ipaddress import IPv4Address
from pathlib import Path

PCAP_MAGIC_NANOSECONDS = 0xA1B23C4D
LINKTYPE_RAW = 101  # raw IPv4/IPv6, no link-layer header
PROTOCOL_NUMBERS = {"Icmp": 1, "Tcp": 6, "Udp": 17, "Esp": 50, "Ah": 51}


class CaptureError(ValueError):
    """A capture point that does not exist; the message lists the ones that do."""


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(
    src: str, dst: str, protocol: int, total_length: int, ident: int, ttl: int
) -> bytes:
    """A 20-byte IPv4 header with a correct checksum (DF set, as VMs send)."""
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        min(total_length, 0xFFFF),
        ident & 0xFFFF,
        0x4000,
        ttl,
        protocol,
        0,
        IPv4Address(src).packed,
        IPv4Address(dst).packed,
    )
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:]


class Capture:
    """Records packets at one named point of the dataplane; ``write`` produces the pcap file."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[tuple[int, bytes, int]] = []  # (time ns, headers, original length)

    def record(self, now_ns: int, packet, tunnel: tuple[str, str, str] | None = None) -> None:
        """Record ``packet`` as it is now (inner, or ESP-encapsulated on a tunnel)."""
        flow = packet.flow
        src, dst, protocol, sport, dport = flow.five_tuple
        inner = self._inner_headers(packet, src, dst, protocol, sport, dport)
        if tunnel is None:
            self.records.append((now_ns, inner, packet.size))
            return
        connection, outer_src, outer_dst = tunnel
        sequence = packet.esp_sequence  # given at encapsulation: the same at every tap
        spi = zlib.crc32(connection.encode()) or 1
        outer = ipv4_header(
            outer_src, outer_dst, PROTOCOL_NUMBERS["Esp"], packet.wire, sequence, 64
        )
        self.records.append((now_ns, outer + struct.pack("!II", spi, sequence), packet.wire))

    @staticmethod
    def _inner_headers(packet, src, dst, protocol, sport, dport) -> bytes:
        number = PROTOCOL_NUMBERS.get(protocol, 17)
        ip = ipv4_header(src, dst, number, packet.size, packet.seq, packet.ttl)
        if protocol == "Tcp":
            segment = packet.size - 40
            flags = 0x18 if segment > 0 else 0x10  # PSH+ACK with data, else a bare ACK
            return ip + struct.pack(
                "!HHIIBBHHH",
                sport,
                dport,
                (packet.seq * max(segment, 1)) & 0xFFFFFFFF,
                0,
                0x50,
                flags,
                0xFFFF,
                0,
                0,
            )
        if protocol == "Udp":
            return ip + struct.pack("!HHHH", sport, dport, max(8, packet.size - 20), 0)
        return ip + struct.pack("!BBHHH", 8, 0, 0, 1, packet.seq & 0xFFFF)

    def write(self, path: str | Path) -> int:
        """Write the pcap file; returns the number of packets."""
        with open(path, "wb") as out:
            out.write(
                struct.pack("<IHHiIII", PCAP_MAGIC_NANOSECONDS, 2, 4, 0, 0, 65535, LINKTYPE_RAW)
            )
            for now_ns, data, original in self.records:
                seconds, nanos = divmod(now_ns, 1_000_000_000)
                out.write(struct.pack("<IIII", seconds, nanos, len(data), original))
                out.write(data)
        return len(self.records)
