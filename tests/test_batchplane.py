"""The vectorised dataplane gives exactly the event engine's results (hypothesis, random
fabrics and open-loop traffic), and the engine choice is explicit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.cli import main
from fabric.scenarios import path
from fabric.sim.plans import SimulationError
from fabric.sim.runs import simulate
from tests.strategies import fabrics


@st.composite
def open_loop_scenarios(draw):
    fabric = draw(fabrics(max_vnets=4))
    hosts = [h.name for v in fabric.vnets.values() for h in v.hosts]
    flows = []
    for i in range(draw(st.integers(1, 4)) if hosts else 0):
        flows.append(
            {
                "name": f"f{i}",
                "src": draw(st.sampled_from(hosts)),
                "dst": draw(st.sampled_from(hosts)),
                "protocol": draw(st.sampled_from(["Udp", "Tcp"])),
                "pattern": draw(st.sampled_from(["cbr", "poisson", "onoff"])),
                "rate_mbps": draw(st.sampled_from([5, 300, 2000, 9000])),
                "packet_bytes": draw(st.sampled_from([64, 700, 1400])),
                "size_mix": draw(st.sampled_from([None, "imix"])),
                "destination_port": draw(st.sampled_from([443, 22])),
                "duration_s": draw(st.sampled_from([0.002, 0.01])),
                "start_s": draw(st.sampled_from([0.0, 0.001])),
            }
        )
    for flow in flows:
        if flow["size_mix"] is None:
            del flow["size_mix"]
    return fabric, flows


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(open_loop_scenarios(), st.integers(0, 1000))
def test_batch_and_event_engines_give_identical_results(scenario, seed):
    fabric, flows = scenario
    events = simulate(fabric, flows, seed=seed, engine="events")
    batch = simulate(fabric, flows, seed=seed, engine="batch")
    assert batch.engine == "batch"
    assert json.dumps(events.to_json()) == json.dumps(batch.to_json())
    for a, b in zip(events.flows, batch.flows, strict=True):
        np.testing.assert_array_equal(a.latency_ns, b.latency_ns)
        np.testing.assert_array_equal(a.delivered_at_ns, b.delivered_at_ns)


def test_auto_uses_batch_for_open_loop_and_events_for_tcp():
    from fabric.io import load_topology

    document = load_topology(path("peering_vs_vpn_same_region"))
    udp_only = [t for t in document.traffic if t["pattern"] != "tcp"]
    assert simulate(document.fabric, udp_only, duration_s=0.01).engine == "batch"
    assert simulate(document.fabric, document.traffic, duration_s=0.01).engine == "events"
    with pytest.raises(SimulationError, match="closed-loop TCP"):
        simulate(document.fabric, document.traffic, duration_s=0.01, engine="batch")


def test_cli_engine_flag(capsys):
    assert (
        main(["run", str(path("sku_ladder")), "--engine", "batch", "--duration", "0.01", "--json"])
        == 0
    )
    batch = capsys.readouterr().out
    assert (
        main(["run", str(path("sku_ladder")), "--engine", "events", "--duration", "0.01", "--json"])
        == 0
    )
    assert capsys.readouterr().out == batch


def test_a_flow_that_sends_nothing_lists_its_path_elements_in_both_engines():
    """A flow that starts after the run ends sends no packet; both engines still list the
    elements on its path (its NIC and its peering link), with nothing counted."""
    from fabric.model.container import Fabric

    fabric = Fabric()
    for i, name in enumerate(("a", "b")):
        fabric.vnet(name, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(name, "app", f"10.{i}.1.0/24")
        fabric.host(name, f"{name}-vm", "app", f"10.{i}.1.4")
    fabric.peer("a", "b")
    late = {"name": "late", "src": "a-vm", "dst": "b-vm", "rate_mbps": 10, "start_s": 0.5}
    listed = {}
    for engine in ("events", "batch"):
        result = simulate(fabric, [{**late, "duration_s": 0.1}], duration_s=0.2, engine=engine)
        assert result.flow("late").sent == 0
        listed[engine] = [(e.name, e.packets) for e in result.elements]
    assert listed["batch"] == listed["events"] == [("nic/a-vm", 0), ("peering/a/a-to-b", 0)]
