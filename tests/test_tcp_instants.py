"""What a TCP connection does at an instant where several of its events fall does not depend
on the order they run in (``fabric.sim.flows.TcpFlow``): timers wait for the instant's
packets, each end reads the other's state as it stood when the instant began, and a lost ACK
is covered only by ACKs sent after it. ``tests/test_in_order_connections.py`` checks whole
runs on an engine that shuffles every instant; these pin each rule on its own."""

from __future__ import annotations

import pytest

from fabric.sim import tcp
from fabric.sim.dataplane import Packet
from tests.test_delayed_ack import receiver


@pytest.mark.parametrize("timer_scheduled_first", [True, False])
def test_a_segment_due_when_the_delayed_ack_timer_fires_is_acknowledged_with_the_waiting_one(
    timer_scheduled_first,
):
    sim, flow, arrive, acks = receiver()
    flow.quick_acks = 0
    due = tcp.LINUX_ACKS.delay_ns
    if not timer_scheduled_first:  # the segment's event is scheduled before the timer's
        sim.schedule_at(due, lambda _: arrive(1))
    arrive(0)  # a lone segment at t = 0: the timer is set for 40 ms
    if timer_scheduled_first:
        sim.schedule_at(due, lambda _: arrive(1))
    sim.run()
    assert acks == [(due, 1)]  # one ACK for both, at 40 ms
    assert flow.ack_covers == {1: [0, 1]}


def _ack(flow, seq: int, sent_ns: int = 0) -> Packet:
    return Packet(flow.reverse, seq, 40, sent_ns, flow.ack_path, 64, 0)


@pytest.mark.parametrize("ack_first", [True, False])
def test_each_end_reads_the_other_as_the_instant_began(ack_first):
    """An ACK (with an RTT sample) reaches the sender as a segment that grows the receive
    window reaches the receiver: the receiver reads the SRTT from before the ACK, the sender
    the window from before the segment, in either order."""
    sim, flow, arrive, _ = receiver()
    flow.quick_acks = 0
    sim.now = 1_000_000
    arrive(0)
    arrive(1)  # ACK 1 covers 0 and 1, sent at 0 by the books
    srtt_before = flow.sender.rto.srtt_ns
    window_before = flow.receiver.window_bytes
    seen: list = []
    sim.now = 3_000_000

    class Growing(tcp.ReceiveWindow):
        def on_data(self, now_ns, nbytes, rtt_ns):
            seen.append(rtt_ns)
            self.window_bytes = 10 * window_before
            return self.window_bytes

    flow.receiver = Growing(flow.receiver.profile)
    flow.receiver.window_bytes = window_before
    flow.outstanding[2] = 0
    steps = [lambda: flow.on_reverse(_ack(flow, 1)), lambda: arrive(2)]
    for step in steps if ack_first else reversed(steps):
        step()
    assert flow.sender.rto.srtt_ns != srtt_before  # the ACK did take a sample
    assert seen == [srtt_before]
    assert window_seen(flow) == window_before
    sim.now += 1  # the next instant sees both changes
    assert window_seen(flow) == 10 * window_before
    assert flow._srtt_seen(sim.now) == flow.sender.rto.srtt_ns


def window_seen(flow) -> int:
    """The receive window the sender's next send would go by (nothing is sent)."""
    asked: list[int] = []

    def usable(_sender: object, receive_window_bytes: int) -> int:
        asked.append(receive_window_bytes)
        return 0

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(flow.sender), "usable_window_bytes", usable)
        flow._pump()
    return asked[0]


def test_a_lost_ack_is_covered_only_by_an_ack_sent_after_it():
    sim, flow, arrive, _ = receiver()
    flow.quick_acks = 0
    for seq in range(4):
        arrive(seq)
    assert flow.ack_covers == {1: [0, 1], 3: [2, 3]}
    sim.now = 1_000
    flow.on_reverse_lost(_ack(flow, 3, sent_ns=0))  # the later ACK is lost first
    flow.on_reverse(_ack(flow, 1, sent_ns=0))  # the earlier one does not cover it
    assert sorted(flow.outstanding) == [2, 3]
    arrive(4)
    arrive(5)
    sim.now = 2_000
    flow.on_reverse(_ack(flow, 5, sent_ns=1_000))  # one sent after it does
    assert flow.outstanding == {}
    assert flow.unconfirmed == []
