"""A TCP connection that meets no other flow (its NICs carry only its data and its ACKs, each
way a NIC and a fused tail) lets both NICs know their departures on arrival
(``Dataplane.in_order_sources``): its segments and ACKs are then scheduled at their delivery
as they are sent, earlier than the event-driven NICs schedule them, so the connection's own
events of one nanosecond run in another order. Its results must not change: the oracle is
the same run with every NIC driven by events. Rates and delays are chosen so that the ends'
events often fall in one nanosecond (segments of 1,000-1,500 ns, delays in whole
microseconds); flows run long enough for TCP small queues, delayed-ACK timers and Windows'
200 ms timer to act."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fabric.model.container import Fabric
from fabric.sim.runs import simulate
from tests.helpers import ShuffledTies, assert_same_run, event_driven_nics

REGIONS = ("westeurope", "westeurope", "westeurope", "northeurope")


@st.composite
def connections(draw) -> tuple[Fabric, list[dict]]:
    """Up to three connections, each between VMs of its own; sometimes an open-loop flow
    between two more VMs, or one that shares a connection's NIC (that connection then stays
    event-driven, and the run must still be the same)."""
    fabric = Fabric()
    flows: list[dict] = []
    count = draw(st.integers(1, 3))
    for i in range(count):
        ends = []
        for side in ("s", "r"):
            vnet = f"v{i}{side}"
            fabric.vnet(vnet, draw(st.sampled_from(REGIONS)), f"10.{2 * i + (side == 'r')}.0.0/16")
            fabric.subnet(vnet, "app", f"10.{2 * i + (side == 'r')}.0.0/24")
            fabric.host(
                vnet,
                f"vm{i}{side}",
                "app",
                f"10.{2 * i + (side == 'r')}.0.4",
                bandwidth_mbps=draw(st.sampled_from([600, 1000, 1200, 8000, 12000])),
                os_profile=draw(st.sampled_from(["linux", "windows"])),
            )
            ends.append(vnet)
        fabric.peer(*ends)
        flow = {
            "name": f"t{i}",
            "src": f"vm{i}s",
            "dst": f"vm{i}r",
            "protocol": "Tcp",
            "pattern": "tcp",
            "start_s": draw(st.sampled_from([0.0, 0.0, 0.001])),
            "duration_s": draw(st.sampled_from([0.03, 0.08, 0.25])),
        }
        if draw(st.booleans()):
            flow["window_packets"] = draw(st.sampled_from([1, 2, 7, 45]))
        flows.append(flow)
    if draw(st.booleans()):
        i = draw(st.integers(0, count - 1))
        src, dst = draw(st.sampled_from([(f"vm{i}s", f"vm{i}r"), (f"vm{i}r", f"vm{i}s")]))
        rate = draw(st.sampled_from([50, 400]))
        udp = {"name": "u", "src": src, "dst": dst, "protocol": "Udp", "pattern": "cbr",
               "rate_mbps": rate, "packet_bytes": 1400, "duration_s": 0.02}  # fmt: skip
        flows.append(udp)
    return fabric, flows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(connections(), st.integers(0, 1000), st.sampled_from([None, None, 1_000, 3_000]))
def test_a_connection_alone_on_its_nics_gives_the_event_driven_results(scenario, seed, buffer):
    """``buffer``: the NICs' queue in bytes, at times below a segment or two, so that segments
    and ACKs are tail-dropped there (the packets a wire's drops stand for, ``TcpFlow``)."""
    fabric, flows = scenario
    parameters = {"send_jitter_us": 0.0}
    if buffer is not None:
        parameters["nic_buffer_bytes"] = buffer
    ours = simulate(fabric, flows, seed=seed, engine="events", parameters=parameters)
    with pytest.MonkeyPatch.context() as patch:
        event_driven_nics(patch)
        oracle = simulate(fabric, flows, seed=seed, engine="events", parameters=parameters)
    assert_same_run(ours, oracle)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(connections(), st.integers(0, 1000), st.booleans())
def test_a_connection_gives_the_same_results_whatever_the_order_of_an_instants_events(
    scenario, shuffle_seed, in_order
):
    """The property the in-order NICs rest on, tested directly: the same run on an engine that
    shuffles every instant's events (``tests.helpers.ShuffledTies``), with the NICs driven by
    events or knowing their departures on arrival."""
    import fabric.sim.runs as runs

    fabric, flows = scenario
    parameters = {"send_jitter_us": 0.0}
    with pytest.MonkeyPatch.context() as patch:
        if not in_order:
            event_driven_nics(patch)
        ours = simulate(fabric, flows, engine="events", parameters=parameters)
        engines = []

        def shuffled(seed):
            engines.append(ShuffledTies(seed, shuffle_seed=shuffle_seed))
            return engines[-1]

        patch.setattr(runs, "Simulation", shuffled)
        oracle = simulate(fabric, flows, engine="events", parameters=parameters)
    assume(engines[0].shuffled > 0)  # instants with more than one event did occur
    assert_same_run(ours, oracle)


@pytest.mark.parametrize(
    ("receiver_mbps", "buffer", "dropping"), [(1, 1_600, "nic/b-vm"), (1_000, 1_000, "nic/a-vm")]
)
def test_drops_on_a_connections_wires_are_those_of_its_packets(receiver_mbps, buffer, dropping):
    """NIC buffers of about one segment: ACKs queue and are tail-dropped at a receiver whose
    NIC is very slow; segments at the sender's when its buffer is below a segment (TCP small
    queues keep a sender's own queue within half its buffer). Each drop on a wire reaches the
    connection as the packet it stands for (a lost ACK's segments, a lost segment's SACK), so
    the run is the event-driven one."""
    fabric = Fabric()
    for i, (vnet, mbps) in enumerate((("a", 1000), ("b", receiver_mbps))):
        fabric.vnet(vnet, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(vnet, "app", f"10.{i}.1.0/24")
        fabric.host(vnet, f"{vnet}-vm", "app", f"10.{i}.1.4", bandwidth_mbps=mbps)
    fabric.peer("a", "b")
    flows = [{"name": "t", "src": "a-vm", "dst": "b-vm", "protocol": "Tcp", "pattern": "tcp",
              "duration_s": 0.05}]  # fmt: skip
    parameters = {"send_jitter_us": 0.0, "nic_buffer_bytes": buffer}
    ours = simulate(fabric, flows, engine="events", parameters=parameters)
    with pytest.MonkeyPatch.context() as patch:
        event_driven_nics(patch)
        oracle = simulate(fabric, flows, engine="events", parameters=parameters)
    assert_same_run(ours, oracle)
    nic = {element["name"]: element for element in ours.to_json()["elements"]}
    assert nic[dropping]["drops"], nic


def test_an_event_scheduled_behind_a_connections_back_is_refused_not_run_out_of_order():
    """While a connection runs its wires (``TcpFlow._drain``) it knows the engine's next event
    from its own scheduling (``TcpFlow._at``); an event scheduled some other way meanwhile
    would have to run in the past: the run stops with an error instead."""
    from fabric.sim import tcp

    fabric = Fabric()
    for i, vnet in enumerate(("a", "b")):
        fabric.vnet(vnet, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(vnet, "app", f"10.{i}.1.0/24")
        fabric.host(vnet, f"{vnet}-vm", "app", f"10.{i}.1.4", bandwidth_mbps=1000)
    fabric.peer("a", "b")
    flows = [{"name": "t", "src": "a-vm", "dst": "b-vm", "protocol": "Tcp", "pattern": "tcp",
              "duration_s": 0.01}]  # fmt: skip
    sims = []

    class Sneaky(tcp.ReceiveWindow):
        def on_data(self, now_ns, nbytes, rtt_ns):
            if len(sims) == 1:
                sims.append(sims[0].schedule(1, lambda _: None))
            return super().on_data(now_ns, nbytes, rtt_ns)

    import fabric.sim.runs as runs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tcp, "ReceiveWindow", Sneaky)
        engine = runs.Simulation
        patch.setattr(runs, "Simulation", lambda seed: sims.append(engine(seed)) or sims[0])
        with pytest.raises(RuntimeError, match=r"without TcpFlow\._at"):
            simulate(fabric, flows, engine="events", parameters={"send_jitter_us": 0.0})


def _pair(sender_mbps: float, receiver_mbps: float, os_profile: str = "linux") -> Fabric:
    fabric = Fabric()
    for i, (vnet, mbps) in enumerate((("a", sender_mbps), ("b", receiver_mbps))):
        fabric.vnet(vnet, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(vnet, "app", f"10.{i}.1.0/24")
        fabric.host(
            vnet, f"{vnet}-vm", "app", f"10.{i}.1.4", bandwidth_mbps=mbps, os_profile=os_profile
        )
    fabric.peer("a", "b")
    return fabric


@pytest.mark.parametrize(
    ("sender", "receiver", "os_profile", "window", "buffer", "hop_ms", "duration_s"),
    [
        # Segments put on the wire by a pump outside a drain (TSQ's resume) arrive before the
        # pending drain, which they supersede: an 8 Gbps sender, a slow receiver, tiny buffers.
        (8000, 50, "linux", None, 200, 0.001, 0.2),
        (8000, 1, "linux", None, 200, 0.001, 0.2),
        # ACKs sent outside a drain (the delayed-ACK timer) arrive before the pending drain.
        (0.2, 1000, "linux", None, None, None, 3.0),
        # Retransmission timeouts with items still on the wires (Windows' 200 ms ACK timer).
        (8000, 50, "windows", 45, 1600, None, 1.0),
        (1000, 0.2, "windows", 45, 100, None, 1.0),
    ],
)
def test_wake_ups_that_supersede_a_pending_drain_and_timeouts_with_items_on_the_wires(
    sender, receiver, os_profile, window, buffer, hop_ms, duration_s
):
    """Wire runs the random scenarios above seldom reach (found by mutating the wakes-ups away,
    which these catch): each equals the run with event-driven NICs, and the wires end empty."""
    from fabric.sim import flows as flow_module

    fabric = _pair(sender, receiver, os_profile)
    flow = {"name": "t", "src": "a-vm", "dst": "b-vm", "protocol": "Tcp", "pattern": "tcp",
            "duration_s": duration_s}  # fmt: skip
    if window is not None:
        flow["window_packets"] = window
    parameters: dict = {"send_jitter_us": 0.0}
    if buffer is not None:
        parameters["nic_buffer_bytes"] = buffer
    if hop_ms is not None:
        parameters["in_region_one_way_ms"] = hop_ms
    wired = []
    send_on = flow_module.TcpFlow.send_on
    with pytest.MonkeyPatch.context() as patch:

        def spy(connection, wire, ack_wire):
            wired.append((wire, ack_wire))
            send_on(connection, wire, ack_wire)

        patch.setattr(flow_module.TcpFlow, "send_on", spy)
        ours = simulate(fabric, [flow], engine="events", parameters=parameters)
    ((wire, ack_wire),) = wired
    assert not wire.arrivals  # every item was run
    assert not ack_wire.arrivals
    with pytest.MonkeyPatch.context() as patch:
        event_driven_nics(patch)
        oracle = simulate(fabric, [flow], engine="events", parameters=parameters)
    assert_same_run(ours, oracle)
