"""NICs that only open-loop flows' packets enter know each departure on arrival
(``Dataplane.in_order_sources``): the oracle is the same run with every NIC driven by events.
The results must be identical, packet for packet, whatever shares the NICs (TCP flows and
their ACKs, other flows of the VM, transit through an appliance) and however full they get."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.model.container import Fabric
from fabric.sim.dataplane import Dataplane
from fabric.sim.runs import simulate
from tests.helpers import assert_same_run, event_driven_nics
from tests.strategies import mixed_traffic


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mixed_traffic(
        max_flows=4, patterns=("cbr", "cbr", "poisson", "tcp"), hop_limits=(2, 64), jitter=False
    ),
    st.integers(0, 1000),
)
def test_departures_known_on_arrival_give_the_event_driven_results(scenario, seed):
    fabric, flows, parameters = scenario
    ours = simulate(fabric, flows, seed=seed, engine="events", parameters=parameters)
    with pytest.MonkeyPatch.context() as patch:
        event_driven_nics(patch)
        oracle = simulate(fabric, flows, seed=seed, engine="events", parameters=parameters)
    assert_same_run(ours, oracle)


def _two_vms() -> Fabric:
    fabric = Fabric()
    for i, region in ((1, "westeurope"), (2, "northeurope")):
        fabric.vnet(f"v{i}", region, f"10.{i}.0.0/16")
        fabric.subnet(f"v{i}", "app", f"10.{i}.0.0/24")
        fabric.host(f"v{i}", f"vm{i}", "app", f"10.{i}.0.4", bandwidth_mbps=1000)
    fabric.peer("v1", "v2")
    return fabric


def _cbr(name: str, src: str, dst: str, mbps: float) -> dict:
    return {"name": name, "src": src, "dst": dst, "protocol": "Udp", "pattern": "cbr",
            "rate_mbps": mbps, "packet_bytes": 1000, "duration_s": 0.02}  # fmt: skip


def test_an_overfull_nic_drops_the_same_packets_for_the_same_reason():
    """Two equal CBR flows at 800 Mbps each through a 1,000 Mbps NIC: same-instant arrivals,
    a full buffer, tail drops. (Jitter off: the flows' packets collide in time.)"""
    fabric = _two_vms()
    flows = [_cbr("a", "vm1", "vm2", 800), _cbr("b", "vm1", "vm2", 800)]
    parameters = {"send_jitter_us": 0.0}
    ours = simulate(fabric, flows, engine="events", parameters=parameters)
    assert sum(f.dropped for f in ours.flows) > 0  # the case is exercised
    with pytest.MonkeyPatch.context() as patch:
        event_driven_nics(patch)
        oracle = simulate(fabric, flows, engine="events", parameters=parameters)
    assert_same_run(ours, oracle)


def test_only_nics_that_open_loop_flows_alone_enter_know_departures_on_arrival():
    """vm1's NIC carries an open-loop flow and a TCP connection's data, vm2's an open-loop flow
    and that connection's ACKs: both stay event-driven. A NIC that open-loop flows alone
    enter knows its departures on arrival, and so do both NICs of a connection alone on them
    (``tests/test_in_order_connections.py``)."""
    from fabric.catalogue.latency import LatencyModel
    from fabric.control.plane import ControlPlane
    from fabric.model import FlowSpec
    from fabric.sim.flows import OpenLoopFlow, TcpFlow
    from simulator import Simulation

    fabric = _two_vms()
    sim = Simulation()

    def build(*specs):
        dataplane = Dataplane(sim, ControlPlane(fabric), LatencyModel())
        flows = [
            TcpFlow(spec, dataplane, sim, 0.02, rank=rank)
            if spec.pattern == "tcp"
            else OpenLoopFlow(spec, dataplane, sim, 0.02, rank=rank)
            for rank, spec in enumerate(specs)
        ]
        before = {id(f): (f.path[0], getattr(f, "ack_path", (None,))[0]) for f in flows}
        dataplane.in_order_sources(
            [f for f in flows if isinstance(f, OpenLoopFlow)],
            [f for f in flows if isinstance(f, TcpFlow)],
        )
        changed = []
        for flow in flows:
            if isinstance(flow, TcpFlow):  # it sends on wires instead (TcpFlow.send_on)
                changed.append((flow.wire is not None, flow.ack_wire is not None))
                continue
            first, ack_first = before[id(flow)]
            ack_path = getattr(flow, "ack_path", (None,))
            changed.append((flow.path[0] is not first, ack_path[0] is not ack_first))
        return changed

    udp1 = FlowSpec.from_mapping(_cbr("u1", "vm1", "vm2", 10))
    udp2 = FlowSpec.from_mapping(_cbr("u2", "vm2", "vm1", 10))
    tcp = FlowSpec("t", "vm1", "vm2", pattern="tcp", duration_s=0.02)
    assert build(udp1, udp2, tcp) == [(False, False), (False, False), (False, False)]
    assert build(tcp) == [(True, True)]
    assert build(udp1, tcp) == [(False, False), (False, False)]  # vm1's NIC is shared
    assert build(udp1, FlowSpec.from_mapping(_cbr("u3", "vm1", "vm2", 10))) == [
        (True, False),
        (True, False),
    ]


def _tcp(name: str, src: str, dst: str, duration_s: float) -> dict:
    return {"name": name, "src": src, "dst": dst, "protocol": "Tcp", "pattern": "tcp",
            "duration_s": duration_s}  # fmt: skip


def test_a_connection_held_by_tcp_small_queues_gives_the_event_driven_results():
    """Long enough for TCP small queues to hold the sender at its NIC: the queue it reads at an
    instant where a service starts is the same either way (rule 1: the next packet has
    started; an event-driven NIC once read one segment more there, and the latencies
    differed)."""
    fabric = _two_vms()  # 1 Gbps NICs, West Europe to North Europe
    flows = [_tcp("t", "vm1", "vm2", 0.2)]
    ours = simulate(fabric, flows, engine="events")
    with pytest.MonkeyPatch.context() as patch:
        event_driven_nics(patch)
        oracle = simulate(fabric, flows, engine="events")
    assert_same_run(ours, oracle)


def test_acks_and_a_shared_nic_give_the_event_driven_results():
    """A TCP connection and a CBR flow share the sender's NIC; the receiver's carries only the
    ACKs. The connection is not alone on its NICs, so both stay event-driven: what its sender
    reads of the shared queue at an instant depends on whether the CBR flow's packet of that
    instant has arrived, an order the in-order NICs would change."""
    fabric = Fabric()
    fabric.vnet("v", "westus", "10.1.0.0/16")
    fabric.subnet("v", "a", "10.1.0.0/24")
    fabric.subnet("v", "b", "10.1.1.0/24")
    fabric.host("v", "vm0", "a", "10.1.0.4")
    fabric.host("v", "vm1", "b", "10.1.1.4")
    udp = _cbr("u", "vm1", "vm0", 1000) | {"packet_bytes": 1400, "duration_s": 0.01}
    flows = [_tcp("t", "vm1", "vm0", 0.03), udp]
    ours = simulate(fabric, flows, seed=2, engine="events")
    with pytest.MonkeyPatch.context() as patch:
        event_driven_nics(patch)
        oracle = simulate(fabric, flows, seed=2, engine="events")
    assert_same_run(ours, oracle)
