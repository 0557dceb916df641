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


def receiver(os_profile: str | None = None):
    """A TCP flow to b-vm driven by hand: ``arrive(seq)`` delivers a data segment at the
    clock's time; the ACKs it sends are listed in ``acks`` as (time, number), not sent."""
    from fabric.catalogue.latency import LatencyModel
    from fabric.control.plane import ControlPlane
    from fabric.sim.dataplane import Dataplane, Packet
    from fabric.sim.flows import TcpFlow
    from simulator import Simulation

    fabric, _ = peered(os_profile)
    sim = Simulation()
    dataplane = Dataplane(sim, ControlPlane(fabric), LatencyModel())
    flow = TcpFlow(
        FlowSpec("t", "a-vm", "b-vm", pattern="tcp", duration_s=1.0), dataplane, sim, 1.0
    )
    acks: list[tuple[int, int]] = []
    flow.ack_path = (lambda ack: acks.append((sim.now, ack.seq)),)
    flow.stop_ns = 0  # the sender sends nothing new of its own here

    def arrive(seq: int) -> None:
        flow.outstanding[seq] = 0
        flow.delivered(Packet(flow, seq, flow.segment_bytes, 0, flow.path, 64, flow.mss))

    return sim, flow, arrive, acks


@pytest.mark.parametrize(
    ("os_profile", "policy"), [(None, tcp.LINUX_ACKS), ("windows", tcp.WINDOWS_ACKS)]
)
def test_a_lone_segment_waits_for_the_delayed_ack_timer(os_profile, policy):
    sim, _, arrive, acks = receiver(os_profile)
    quick = policy.quick_acks
    for seq in range(quick):  # the quick ACKs: one per segment, at once
        sim.now = seq * 1_000
        arrive(seq)
        assert acks[-1] == (sim.now, seq)
    sim.now = start = 1_000_000
    arrive(quick)
    assert len(acks) == quick  # it waits for a companion
    sim.run()  # none comes: the timer acknowledges it
    assert acks[-1] == (start + policy.delay_ns, quick)
    arrive(quick + 1)
    assert len(acks) == quick + 1  # a new lone one waits
    arrive(quick + 2)
    assert acks[-1] == (sim.now, quick + 2)  # with its companion: at once


def test_a_window_of_one_or_two_segments_never_waits_for_the_timer():
    """Reading half the window or more opens it twofold; Linux then sends the window update
    at once (tcp_cleanup_rbuf), so a one-segment window carries one segment per round trip."""
    acks, delivered = acks_and_delivered(None, duration_s=0.5, window_packets=1)
    assert acks == delivered
    assert delivered > 0.5 / 0.002  # a round trip here is about 1 ms; the timer is 40 ms


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


def test_segments_after_a_gap_are_acknowledged_at_once_for_a_round_trip():
    """RFC 5681 §4.2: out-of-order data is acknowledged at once; the first ACK after the gap
    carries the segment that waited for a companion too. As the model never fills a gap, the
    receiver stays out of order for the round trip a retransmission would take, then delays
    its ACKs again; the sender takes every covered segment off its books."""
    sim, flow, arrive, acks = receiver()
    flow.quick_acks = 0
    for seq in (0, 1, 2):
        arrive(seq)
    assert [seq for _, seq in acks] == [1]  # 0 and 1 together; 2 waits
    flow.outstanding[3] = 0  # segment 3 is lost on the way
    for seq in (4, 5, 6):
        arrive(seq)
    assert [seq for _, seq in acks] == [1, 4, 5, 6]  # after the gap: each at once
    assert flow.ack_covers == {1: [0, 1], 4: [2, 4], 5: [5], 6: [6]}
    sim.now = flow._round_trip_ns() + 1  # a round trip later: in order again
    for seq in (7, 8):
        arrive(seq)
    assert [seq for _, seq in acks] == [1, 4, 5, 6, 8]
    from fabric.sim.dataplane import Packet

    sim.now += 1_000_000  # the ACKs come back a millisecond later
    for _, seq in list(acks):
        flow.on_reverse(Packet(flow.reverse, seq, 40, 0, flow.ack_path, 64, 0))
    assert list(flow.outstanding) == [3]  # only the lost one is still outstanding


@pytest.mark.parametrize("offset_us", [0, 370, 740, 1110, 1480, 1850])
def test_a_flow_whose_acks_were_lost_resumes_when_the_way_back_returns(offset_us):
    """Only the way back breaks for half a second (a None route on the receiver's subnet):
    the ACKs of the data in flight are lost. Their segments stay in flight for the sender
    until a later ACK or its retransmission timer, so the flow carries on once the route is
    back (it used to write them off at once and, with nothing left to time out, stop)."""
    import attrs

    fabric, _ = peered()
    fabric.route_table("b-rt")
    subnet = attrs.evolve(fabric.vnets["b"].subnets[0], route_table="b-rt")
    fabric.set_vnet(attrs.evolve(fabric.vnets["b"], subnets=(subnet,)))
    blackhole = {"name": "blackhole", "address_prefix": "10.0.0.0/16", "next_hop_type": "None"}
    events = [
        {"at_s": 0.2 + offset_us / 1e6, "action": "route_change", "target": "b-rt",
         "route": blackhole},
        {"at_s": 0.7, "action": "route_change", "target": "b-rt", "remove": "blackhole"},
    ]  # fmt: skip
    spec = FlowSpec("t", "a-vm", "b-vm", pattern="tcp", duration_s=1.5, window_packets=4)
    result = simulate(fabric, [spec], events=events, parameters={"route_propagation_delay_s": 0})
    flow = result.flow("t")
    assert flow.sent == flow.delivered + flow.dropped
    assert flow.delivered_at_ns.max() > 1.4e9  # it delivered until the end


def test_the_timer_samples_the_earliest_covered_segment_the_congestion_control_the_newest():
    """An ACK that covers a segment which waited for the delayed-ACK timer: RFC 7323 §4.3
    gives the retransmission timer the earliest segment's round trip (the wait included);
    the congestion control (HyStart++'s delay signal) gets the newest's, as Linux's ca_rtt."""
    sender = tcp.TcpSender(tcp.Cubic())
    sender.on_ack(50_000_000, 2, 45_000_000, 5_000_000)
    assert sender.rto.srtt_ns == 45_000_000
    assert sender.cc.srtt_ns == 5_000_000
    assert sender.cc.hystart.current_round_min_rtt_ns == 5_000_000
