"""The native YAML format: loading, round trips, and clear errors for every kind of bad input."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fabric
from fabric.checks import has_errors, validate
from fabric.cli import main
from fabric.io import InputError, load_topology, to_yaml
from fabric.io.native import NativeDocument, dump_native
from fabric.model.container import Fabric
from tests.strategies import fabrics

DESIGN_EXAMPLE = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27}
      - {name: workload, address_prefix: 10.0.1.0/24, nsg: hub-nsg, route_table: hub-rt}
    hosts:
      - {name: hub-vm, subnet: workload, ip: 10.0.1.4, nsg: hub-nsg, bandwidth_mbps: 8000}
  - name: spoke1
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets: [{name: app, address_prefix: 10.1.0.0/24}]
    hosts: [{name: spoke-vm, subnet: app, ip: 10.1.0.4}]
peerings:
  - {name: hub-to-spoke1, from: hub, to: spoke1, allow_virtual_network_access: true,
     allow_forwarded_traffic: false, allow_gateway_transit: true, use_remote_gateways: false}
  - {name: spoke1-to-hub, from: spoke1, to: hub, use_remote_gateways: true}
gateways:
  - {name: hub-gw, vnet: hub, sku: VpnGw2, generation: Generation2, vpn_type: RouteBased,
     active_active: false, bgp_asn: 65515}
nsgs:
  - name: hub-nsg
    security_rules:
      - {name: allow-https, priority: 100, direction: Inbound, access: Allow, protocol: Tcp,
         source_address_prefix: "*", source_port_range: "*",
         destination_address_prefix: 10.0.1.0/24, destination_port_range: "443"}
route_tables:
  - name: hub-rt
    disable_bgp_route_propagation: false
    routes:
      - {name: default-to-fw, address_prefix: 0.0.0.0/0, next_hop_type: VirtualAppliance,
         next_hop_ip_address: 10.0.1.4}
traffic:
  - {name: web, src: hub-vm, dst: spoke-vm, protocol: Udp, destination_port: 443,
     rate_mbps: 200, packet_bytes: 1400, pattern: poisson, start_s: 0, duration_s: 1.0}
simulation: {duration_s: 2.0, seed: 1}
"""


def write(tmp_path, text: str, name: str = "topology.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_design_example_loads_and_equals_the_python_api_build(tmp_path):
    document = load_topology(write(tmp_path, DESIGN_EXAMPLE))
    from fabric.model.records import Route, SecurityRule

    api = Fabric()
    api.nsg(
        "hub-nsg",
        [
            SecurityRule(
                "allow-https", 100, "Inbound", "Allow", "Tcp", "*", "*", "10.0.1.0/24", "443"
            )
        ],
    )
    api.route_table("hub-rt", [Route("default-to-fw", "0.0.0.0/0", "VirtualAppliance", "10.0.1.4")])
    api.vnet("spoke1", "westeurope", ["10.1.0.0/16"])
    api.subnet("spoke1", "app", "10.1.0.0/24")
    api.host("spoke1", "spoke-vm", "app", "10.1.0.4")
    api.vnet("hub", "westeurope", ["10.0.0.0/16"])
    api.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    api.subnet("hub", "workload", "10.0.1.0/24", nsg="hub-nsg", route_table="hub-rt")
    api.host("hub", "hub-vm", "workload", "10.0.1.4", nsg="hub-nsg", bandwidth_mbps=8000)
    api.gateway("hub-gw", "hub", "VpnGw2", generation="Generation2")
    api.peer_one_side("hub", "spoke1", name="hub-to-spoke1", allow_gateway_transit=True)
    api.peer_one_side("spoke1", "hub", name="spoke1-to-hub", use_remote_gateways=True)
    assert document.fabric == api
    assert document.simulation == {"duration_s": 2.0, "seed": 1}
    assert document.traffic[0]["rate_mbps"] == 200
    assert fabric.load(write(tmp_path, DESIGN_EXAMPLE)) == api


def test_yaml_round_trip_of_the_design_example(tmp_path):
    document = load_topology(write(tmp_path, DESIGN_EXAMPLE))
    again = load_topology(write(tmp_path, to_yaml(document), "again.yaml"))
    assert again == document


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fabrics())
def test_random_valid_fabrics_validate_load_and_round_trip(tmp_path, fabric):
    assert not has_errors(validate(fabric)), validate(fabric)
    text = to_yaml(NativeDocument(fabric))
    assert load_topology(write(tmp_path, text)).fabric == fabric


def _corruptions():
    """(mutation name, function that corrupts a native document in place)."""

    def unknown_key(doc, draw):
        target = draw(st.sampled_from(doc["vnets"]))
        target[draw(st.sampled_from(["adress_prefixes", "regoin", "subnet", "x"]))] = 1

    def wrong_type(doc, draw):
        target = draw(st.sampled_from(doc["vnets"]))
        key = draw(st.sampled_from(["name", "region", "address_prefixes", "subnets"]))
        target[key] = draw(st.sampled_from([12, True, {"a": 1}, 3.5, [1, 2]]))

    def missing_key(doc, draw):
        target = draw(st.sampled_from(doc["vnets"]))
        del target[draw(st.sampled_from(["name", "region", "address_prefixes"]))]

    def dangling_reference(doc, draw):
        vnet = draw(st.sampled_from(doc["vnets"]))
        vnet["subnets"][0]["nsg"] = "no-such-nsg"

    def duplicate_name(doc, draw):
        doc["vnets"].append(dict(doc["vnets"][0], subnets=[], hosts=[]))

    def bad_enum(doc, draw):
        doc.setdefault("gateways", []).append(
            {"name": "g", "vnet": doc["vnets"][0]["name"], "sku": "VpnGw1", "vpn_type": "Routed"}
        )

    def not_a_list(doc, draw):
        doc[draw(st.sampled_from(["vnets", "nsgs", "peerings"]))] = "oops"

    return [
        unknown_key,
        wrong_type,
        missing_key,
        dangling_reference,
        duplicate_name,
        bad_enum,
        not_a_list,
    ]


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fabrics(), st.sampled_from(_corruptions()), st.data())
def test_corrupted_documents_always_give_a_clear_input_error(tmp_path, fabric, corrupt, data):
    document = dump_native(fabric)
    corrupt(document, data.draw)
    path = write(tmp_path, yaml.safe_dump(document))
    with pytest.raises(InputError) as caught:
        load_topology(path)
    rendered = caught.value.render()
    assert str(path) in rendered
    assert all(problem.message for problem in caught.value.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vnets: [\n  {name: a,\n", "not valid YAML/JSON"),
        ("vnetz: []\n", "unknown key 'vnetz'; did you mean 'vnets'?"),
        (
            "vnets:\n  - {name: a, region: r, address_prefixes: 10.0.0.0/16, subnet: []}\n",
            "vnets[0].subnet: unknown key 'subnet'; did you mean 'subnets'?",
        ),
        (
            "vnets:\n  - {name: a, region: 5, address_prefixes: 10.0.0.0/16}\n",
            "vnets[0].region: expected a string, got int 5",
        ),
        ("vnets:\n  - {name: a, address_prefixes: 10.0.0.0/16}\n", "missing required key 'region'"),
        (
            "peerings:\n  - {name: p, from: a, to: b}\n",
            "peerings[0].from: VNet 'a' is not declared",
        ),
        (
            "vnets:\n  - {name: a, region: r, address_prefixes: 10.0.0.0/16}\n"
            "  - {name: a, region: r, address_prefixes: 10.1.0.0/16}\n",
            "duplicate VNet name 'a'",
        ),
        ("", "the file is empty"),
        ("- 1\n- 2\n", "expected a mapping, got a list"),
    ],
)
def test_bad_input_messages_name_the_place_and_the_fix(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_topology(path)
    assert expected in caught.value.render()


def test_errors_carry_line_numbers(tmp_path):
    path = write(
        tmp_path,
        "vnets:\n  - name: a\n    region: r\n    address_prefixes: [10.0.0.0/16]\n"
        "    subnets:\n      - {name: s, adress_prefix: 10.0.0.0/24}\n",
    )
    with pytest.raises(InputError) as caught:
        load_topology(path)
    assert f"{path}:6: vnets[0].subnets[0].adress_prefix" in caught.value.render()


def test_cli_validate_exit_codes_and_json_shape(tmp_path, capsys):
    good = write(tmp_path, DESIGN_EXAMPLE)
    assert main(["validate", str(good), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True
    assert all(set(f) == {"code", "severity", "message", "resources"} for f in out["findings"])

    bad = write(tmp_path, DESIGN_EXAMPLE.replace("10.1.0.0/16]", "10.0.0.0/16]"), "bad.yaml")
    assert main(["validate", str(bad)]) == 1
    text = capsys.readouterr().out
    assert "INVALID" in text
    assert "VnetAddressSpacesOverlap" in text

    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert "missing.yaml: no such file" in err
    assert "Traceback" not in err


def test_shipped_scenarios_load_and_validate():
    from pathlib import Path

    invalid_on_purpose = {"overlapping_spaces"}  # a pitfall scenario: its error is the point
    for path in sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.yaml")):
        document = load_topology(path)
        assert has_errors(validate(document.fabric)) == (path.stem in invalid_on_purpose), path


@pytest.mark.parametrize(
    ("zone", "ok"), [(1, True), ("3", True), (4, False), ("westeurope-1", False)]
)
def test_a_host_zone_is_one_of_a_regions_three(zone, ok):
    from fabric.io import InputError
    from fabric.io.native import load_native
    from fabric.io.yamlsource import load_yaml

    text = f"""
vnets:
  - name: a
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets: [{{name: s, address_prefix: 10.0.1.0/24}}]
    hosts: [{{name: h, subnet: s, ip: 10.0.1.4, zone: {zone!r}}}]
"""
    if ok:
        assert load_native(load_yaml(text), "z.yaml").fabric.vnets["a"].hosts[0].zone == str(zone)
    else:
        with pytest.raises(InputError, match="availability zone"):
            load_native(load_yaml(text), "z.yaml")
