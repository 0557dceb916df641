"""The event dataplane's fused tails (``Dataplane._fused_tail``): the steps after a plan's last
queueing server run as one stage when the packet leaves that server. The oracle is the same
run stage by stage (fusing turned off): the results must be identical, packet for packet, for
open-loop and TCP flows, with hop limits that the paths reach or not."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.model.container import Fabric
from fabric.sim.dataplane import Dataplane
from fabric.sim.runs import simulate
from tests.helpers import assert_same_run
from tests.strategies import mixed_traffic


def _step_by_step(monkeypatch) -> None:
    monkeypatch.setattr(Dataplane, "_fusable_from", lambda self, plan: None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_traffic(), st.integers(0, 1000))
def test_fused_tails_give_the_results_of_the_stage_by_stage_run(scenario, seed):
    fabric, flows, parameters = scenario
    fused = simulate(fabric, flows, seed=seed, engine="events", parameters=parameters)
    with pytest.MonkeyPatch.context() as patch:
        _step_by_step(patch)
        stepwise = simulate(fabric, flows, seed=seed, engine="events", parameters=parameters)
    assert_same_run(fused, stepwise)


def _peered() -> Fabric:
    fabric = Fabric()
    for i, region in ((1, "westeurope"), (2, "northeurope")):
        fabric.vnet(f"v{i}", region, f"10.{i}.0.0/16")
        fabric.subnet(f"v{i}", "app", f"10.{i}.0.0/24")
        fabric.host(f"v{i}", f"vm{i}", "app", f"10.{i}.0.4")
    fabric.peer("v1", "v2")
    return fabric


FLOWS = [
    {"name": "udp", "src": "vm1", "dst": "vm2", "protocol": "Udp", "pattern": "cbr",
     "rate_mbps": 100, "packet_bytes": 1000, "duration_s": 0.01},
    {"name": "tcp", "src": "vm2", "dst": "vm1", "protocol": "Tcp", "pattern": "tcp",
     "duration_s": 0.2},
]  # fmt: skip


def test_a_global_peering_path_is_fused_and_agrees_with_the_stage_by_stage_run(monkeypatch):
    fabric = _peered()
    fused = simulate(fabric, FLOWS, engine="events")
    assert fused.flows[0].delivered == fused.flows[0].sent > 0
    assert fused.flows[1].delivered > 100
    # The last delivery ends the run, though no event delivered the open-loop packets.
    assert fused.end_s * 1e9 >= max(int(f.delivered_at_ns.max()) for f in fused.flows)
    _step_by_step(monkeypatch)
    assert_same_run(fused, simulate(fabric, FLOWS, engine="events"))


def test_no_fusing_where_the_hop_limit_can_be_reached_or_a_capture_reads_the_clock():
    fabric = _peered()
    parameters = {"hop_limit": 2}  # two switches on the way: the second drops every packet
    result = simulate(fabric, FLOWS[:1], engine="events", parameters=parameters)
    assert result.flows[0].delivered == 0
    assert result.flows[0].drop_reasons == {"HopLimitExceeded": result.flows[0].sent}
    captured = simulate(fabric, FLOWS[:1], engine="events", capture="vm2")
    seen_at = [record[0] for record in captured.capture.records]  # the tap at vm2's NIC
    assert seen_at == captured.flows[0].delivered_at_ns.tolist()


def test_a_delay_in_a_fused_tail_still_counts_its_packet_hops(monkeypatch):
    fabric = _peered()
    fused = simulate(fabric, FLOWS[:1], engine="events")
    _step_by_step(monkeypatch)
    stepwise = simulate(fabric, FLOWS[:1], engine="events")
    assert fused.packet_hops == stepwise.packet_hops > 0
    assert fused.switch_visits == stepwise.switch_visits == 2 * fused.flows[0].sent
