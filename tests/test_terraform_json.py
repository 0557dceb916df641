"""``terraform show -json`` documents: a saved plan (computed values unknown, resolved through
the plan's configuration where they are plain references) and the state after apply (every
value known). Both describe the same hub, spoke and firewall."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.io import InputError, detect_format, load_topology, to_yaml
from fabric.io.native import load_native
from fabric.io.terraform import diagnostics as codes
from fabric.io.yamlsource import load_yaml

SHOW = Path(__file__).resolve().parent / "data" / "terraform" / "show"


@pytest.fixture(scope="module", params=["plan.json", "state.json"])
def document(request):
    return load_topology(SHOW / request.param)


def test_detected_by_content():
    for name in ("plan.json", "state.json"):
        assert detect_format(json.loads((SHOW / name).read_text())) == "terraform-json"
    assert detect_format({"format_version": "1.0"}) == "terraform-json"  # an empty state


def test_vnets_subnets_and_modules(document):
    fabric = document.fabric
    assert document.source_format == "terraform"
    assert {n: v.address_prefixes for n, v in fabric.vnets.items()} == {
        "plan-hub": ("10.0.0.0/16",),
        "plan-spoke": ("10.1.0.0/16",),
    }
    assert [(s.name, s.address_prefix) for s in fabric.vnets["plan-hub"].subnets] == [
        ("AzureFirewallSubnet", "10.0.1.0/26"),
        ("nva", "10.0.2.0/24"),
    ]
    workload = fabric.vnets["plan-spoke"].subnet("workload")
    assert (workload.route_table, workload.service_endpoints) == (
        "plan-spoke-rt",
        ("Microsoft.Storage",),
    )


def test_peerings_through_module_outputs_and_inputs(document):
    fabric = document.fabric
    assert {key: p.remote_vnet for key, p in fabric.peerings.items()} == {
        ("plan-hub", "hub-to-spoke"): "plan-spoke",
        ("plan-spoke", "spoke-to-hub"): "plan-hub",
    }


def test_firewall_and_the_route_to_it(document):
    firewall = document.fabric.firewalls["plan-fw"]
    assert (firewall.vnet, firewall.sku_tier, firewall.threat_intel_mode) == (
        "plan-hub",
        "Premium",
        "Deny",
    )
    (route,) = document.fabric.route_tables["plan-spoke-rt"].routes
    assert (route.next_hop_type, route.next_hop_ip_address) == ("VirtualAppliance", "10.0.1.4")
    assert document.fabric.route_tables["plan-spoke-rt"].disable_bgp_route_propagation


def test_plan_derives_what_the_state_knows():
    plan, state = load_topology(SHOW / "plan.json"), load_topology(SHOW / "state.json")
    # The plan does not know the firewall's address: the route gets the derived one, said so.
    assert plan.fabric.firewalls["plan-fw"].private_ip is None
    derived = [f for f in plan.findings if f.code == codes.UNKNOWN_VALUE]
    assert [f.resources for f in derived] == [("module.spoke.azurerm_route_table.this",)]
    assert "N11.5" in derived[0].message
    # The state does, and the NIC's address Azure gave (.7, not the next free .4).
    assert state.fabric.firewalls["plan-fw"].private_ip == "10.0.1.4"
    (nic,) = state.fabric.vnets["plan-hub"].hosts
    assert (nic.name, nic.ip, nic.enable_ip_forwarding) == ("plan-nva-0", "10.0.2.7", True)
    (planned,) = plan.fabric.vnets["plan-hub"].hosts
    assert planned.ip == "10.0.2.4"
    assert [f.code for f in state.findings] == [codes.PROVIDER_IGNORED, codes.NOT_MODELLED]
    # No policy and no rule collection here: the rules are unknown, not "none".
    assert state.findings[1].resources == ("azurerm_firewall.hub",)
    assert state.fabric.firewalls["plan-fw"].network_rule_collections is None


def test_round_trip(document):
    again = load_native(load_yaml(to_yaml(document)), "round-trip.yaml")
    assert again.fabric == document.fabric


def test_malformed_documents_give_findings_not_tracebacks(tmp_path):
    data = json.loads((SHOW / "state.json").read_text())
    resources = data["values"]["root_module"]["resources"]
    resources[1]["values"]["address_space"] = "not-a-list"
    resources[2]["values"] = None
    resources[4]["values"]["ip_configuration"] = [{"subnet_id": 42}]
    resources.append({"address": "azurerm_route.x", "type": "azurerm_route", "values": {}})
    data["values"]["root_module"]["child_modules"][0]["resources"] = "nonsense"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    document = load_topology(path)
    assert document.findings
    assert all(f.message.startswith(str(path)) or not f.resources for f in document.findings)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    yield path


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["plan.json", "state.json"]), st.data())
def test_any_value_anywhere_gives_findings_not_tracebacks(name, data):
    document = json.loads((SHOW / name).read_text())
    paths = [p for p in _leaves(document) if p]
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        node = document
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = data.draw(_JSON_VALUES)
        paths = [p for p in _leaves(document) if p]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / name
        target.write_text(json.dumps(document))
        try:
            loaded = load_topology(target)
        except InputError as problem:  # e.g. the document is no longer Terraform JSON
            loaded, rendered = None, problem.render()
        if loaded is None:
            assert rendered.startswith(str(target))
            return
        assert all(f.message for f in loaded.findings)
