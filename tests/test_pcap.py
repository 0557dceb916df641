"""Packet capture: the pcap file opens with a pcap library and matches the run's results."""

from __future__ import annotations

from decimal import Decimal

import dpkt
import pytest

from fabric.cli import main
from fabric.io import load_topology
from fabric.scenarios import path
from fabric.sim.capture import CaptureError
from fabric.sim.runs import run_document


def read(pcap_path):
    with open(pcap_path, "rb") as handle:
        return [(ts, dpkt.ip.IP(buf)) for ts, buf in dpkt.pcap.Reader(handle)]


def test_capture_at_the_destination_matches_delivered_packets_and_times(tmp_path):
    document = load_topology(path("hub_spoke"))
    result = run_document(document, duration_s=0.02, capture="dr-vm")
    pcap = tmp_path / "dr.pcap"
    count = result.capture.write(pcap)
    flow = result.flow("spoke1-to-dr")
    packets = read(pcap)
    assert count == len(packets) == flow.delivered
    stamps = [int(ts * Decimal(1_000_000_000)) for ts, _ in packets]
    assert stamps == flow.delivered_at_ns.tolist()
    ip = packets[0][1]
    assert ip.p == dpkt.ip.IP_PROTO_UDP
    assert (ip.src, ip.dst) == (bytes([10, 1, 0, 4]), bytes([10, 50, 1, 4]))
    assert ip.len == 1400
    assert ip.data.dport == 443


def test_capture_on_the_tunnel_shows_esp_between_the_gateways(tmp_path):
    pcap = tmp_path / "gw.pcap"
    code = main(
        [
            "run",
            str(path("hub_spoke")),
            "--duration",
            "0.02",
            "--capture",
            "hub-to-dr",
            "--pcap",
            str(pcap),
            "--json",
        ]
    )
    assert code == 0
    packets = read(pcap)
    assert packets
    ip = packets[0][1]
    assert ip.p == dpkt.ip.IP_PROTO_ESP
    assert (ip.src, ip.dst) == (bytes([10, 0, 255, 4]), bytes([10, 50, 255, 4]))
    assert ip.len == 1400 + 54 + 2  # GCM: 54 bytes + 2 of padding for a 1400-byte packet
    # ESP header after the 20-byte outer IPv4 header: SPI (4 bytes), then the sequence number.
    sequences = [int.from_bytes(bytes(p)[24:28], "big") for _, p in packets]
    assert sequences == list(range(1, len(packets) + 1))


def test_unknown_capture_point_is_a_clear_error(capsys):
    code = main(
        [
            "run",
            str(path("hub_spoke")),
            "--duration",
            "0.01",
            "--capture",
            "nowhere",
            "--pcap",
            "/tmp/never.pcap",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no capture point 'nowhere'" in err
    assert "hub-gw" in err
    with pytest.raises(CaptureError):
        run_document(load_topology(path("hub_spoke")), duration_s=0.01, capture="nowhere")
