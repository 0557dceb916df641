"""Receivers delay their ACKs as the receiving OS does (RFC 1122 §4.2.3.2, RFC 5681 §4.2;
``fabric.sim.tcp.AckPolicy``): Linux acknowledges the first 16 segments one by one, then one
ACK per two segments, a lone segment within 40 ms; Windows one per two from the start, a lone
one within 200 ms. The ACKs are real packets on the reverse path, so their count is what the
receiver's NIC carries."""

from __future__ import annotations

import pytest

from fabric.model.container import Fabric
from fabric.model.traffic import FlowSpec
from fabric.sim import tcp
from fabric.sim.runs import simulate


def peered(os_profile: str | None = None, rtt_ms: float | None = None) -> tuple[Fabric, dict]:
    """Two peered VNets, one VM in each (the receiver with ``os_profile``)."""
    fabric = Fabric()
    regions = ("westeurope", "northeurope" if rtt_ms else "westeurope")
    for i, (name, region) in enumerate(zip(("a", "b"), regions, strict=True)):
        fabric.vnet(name, region, f"10.{i}.0.0/16")
        fabric.subnet(name, "app", f"10.{i}.1.0/24")
        options = {"os_profile": os_profile} if name == "b" and os_profile else {}
        fabric.host(name, f"{name}-vm", "app", f"10.{i}.1.4", bandwidth_mbps=2000, **options)
    fabric.peer("a", "b")
    parameters = {"region_rtt_ms": {"westeurope/northeurope": rtt_ms}} if rtt_ms else {}
    return fabric, parameters


def acks_and_delivered(os_profile: str | None, **flow) -> tuple[int, int]:
    """ACKs the receiver sent (its NIC's packets less the SYN-ACK) and segments delivered."""
    fabric, parameters = peered(os_profile, flow.pop("rtt_ms", None))
    spec = FlowSpec("bulk", "a-vm", "b-vm", pattern="tcp", **flow)
    result = simulate(fabric, [spec], parameters=parameters)
    nic = next(e for e in result.elements if e.name == "nic/b-vm")
    return nic.packets - 1, result.flow("bulk").delivered - 1  # less the handshake's packets


@pytest.mark.parametrize(
    ("os_profile", "quick"), [(None, 16), ("linux", 16), ("windows", 0), ("tuned", 16)]
)
def test_a_bulk_receiver_acknowledges_every_second_segment_after_its_quick_acks(os_profile, quick):
    window = {"window_packets": 2_000} if os_profile == "tuned" else {}  # the host asks for one
    acks, delivered = acks_and_delivered(os_profile, duration_s=0.05, **window)
    assert delivered > 5_000
    # One ACK per two segments after the quick ones; the last segment may be alone (its ACK
    # then waits for the timer, after the run's horizon or not).
    assert quick + (delivered - quick) // 2 <= acks <= quick + (delivered - quick + 1) // 2


def test_a_lone_segment_waits_for_the_delayed_ack_timer():
    """A one-segment window: after the quick ACKs each segment's ACK waits 40 ms (Linux's
    TCP_ATO_MIN), so a round trip costs 40 ms more than the path's ~1 ms."""
    acks, delivered = acks_and_delivered(None, duration_s=0.5, window_packets=1)
    assert acks == delivered
    policy = tcp.LINUX_ACKS
    after_quick = delivered - policy.quick_acks
    # 16 quick round trips of about a millisecond, then one per 40 ms plus the path
    assert after_quick == pytest.approx(0.5e9 / (policy.delay_ns + 1e6), abs=1.5)


def test_windows_waits_200_ms_and_has_no_quick_start():
    acks, delivered = acks_and_delivered("windows", duration_s=1.0, window_packets=1)
    assert acks == delivered
    assert delivered == pytest.approx(1e9 / (tcp.WINDOWS_ACKS.delay_ns + 1e6), abs=1)


def test_an_even_window_still_carries_window_over_rtt():
    """Delayed ACKs cost a window-limited flow nothing when the window holds an even number of
    segments (each flight's ACKs cover it whole); §7.3's window / RTT holds."""
    rtt_ms, segments = 30, 44
    fabric, parameters = peered(rtt_ms=rtt_ms)
    spec = FlowSpec(
        "t", "a-vm", "b-vm", pattern="tcp", window_packets=segments, duration_s=100 * rtt_ms / 1e3
    )
    result = simulate(fabric, [spec], parameters=parameters)
    expected = segments * 1_460 * 8 / (rtt_ms / 1e3) / 1e6
    assert result.flow("t").steady_mbps == pytest.approx(expected, rel=0.015)


def test_ack_policies_by_os_profile():
    assert tcp.ack_policy("linux") is tcp.LINUX_ACKS
    assert tcp.ack_policy("tuned") is tcp.LINUX_ACKS
    for name in ("windows", "Windows-Experimental", "untuned-windows-iperf"):
        assert tcp.ack_policy(name) is tcp.WINDOWS_ACKS
    with pytest.raises(ValueError, match="every_segments"):
        tcp.AckPolicy(every_segments=0)


def test_a_segment_after_a_gap_is_acknowledged_at_once_with_what_waited():
    """RFC 5681 §4.2: out-of-order data is acknowledged at once; the ACK carries the segment
    that waited for a companion too, and the sender takes both off its books."""
    from fabric.catalogue.latency import LatencyModel
    from fabric.control.plane import ControlPlane
    from fabric.sim.dataplane import Dataplane, Packet
    from fabric.sim.flows import TcpFlow
    from simulator import Simulation

    fabric, _ = peered()
    sim = Simulation()
    dataplane = Dataplane(sim, ControlPlane(fabric), LatencyModel())
    flow = TcpFlow(
        FlowSpec("t", "a-vm", "b-vm", pattern="tcp", duration_s=1.0), dataplane, sim, 1.0
    )
    acks: list[Packet] = []
    flow.ack_path = (acks.append,)
    flow.quick_acks = 0
    flow.stop_ns = 0  # the sender sends nothing new of its own here

    def arrive(seq: int) -> list[int]:
        flow.outstanding[seq] = 0
        flow.delivered(Packet(flow, seq, flow.segment_bytes, 0, flow.path, 64, flow.mss))
        return [ack.seq for ack in acks]

    assert arrive(0) == []  # waits for a companion
    assert arrive(1) == [1]  # one ACK for 0 and 1
    assert arrive(2) == [1]
    flow.outstanding[3] = 0  # segment 3 is lost on the way
    assert arrive(4) == [1, 4]  # after the gap: at once, covering 2 and 4
    assert flow.ack_covers == {1: [0, 1], 4: [2, 4]}
    sim.now = 1_000_000  # the ACKs come back a millisecond later
    for ack in acks:
        flow.on_reverse(ack)
    assert list(flow.outstanding) == [3]  # only the lost one is still outstanding
