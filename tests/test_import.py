"""Importers: every corpus file loads (ARM templates with their parameters, az/REST JSON), the
tests assert what the files define, the expression evaluator agrees with a reference, and
malformed templates give findings or a clear InputError, never a traceback."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.cli import main
from fabric.control.peering import peering_state
from fabric.control.plane import ControlPlane
from fabric.io import InputError, load_topology, to_yaml
from fabric.io.arm import load_arm
from fabric.io.arm_expressions import ExpressionError, Scope
from fabric.watcher import connectivity

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(
    not CORPUS.exists(), reason="the shared corpus is not beside the repo"
)


def arm(
    name: str,
    template: str = "azuredeploy.json",
    parameters: str | None = "azuredeploy.parameters.json",
):
    folder = CORPUS / "arm" / name
    params = folder / parameters if parameters and (folder / parameters).exists() else None
    return load_topology(folder / template, parameters=params)


def codes(document) -> list[str]:
    return [f.code for f in document.findings]


# -- ARM corpus --------------------------------------------------------------------------------


def test_vnet_to_vnet_vpn_template():
    document = arm("vnet-to-vnet-vpn")
    fabric = document.fabric
    assert {n: v.address_prefixes for n, v in fabric.vnets.items()} == {
        "Vnet1": ("192.168.100.0/24",),
        "Vnet2": ("192.168.101.0/24",),
    }
    assert fabric.vnets["Vnet1"].region == "northeurope"
    assert fabric.vnets["Vnet1"].subnet("GatewaySubnet").address_prefix == "192.168.100.16/28"
    assert {g.name: (g.vnet, g.vpn_type) for g in fabric.gateways.values()} == {
        "Vnet1Gw": ("Vnet1", "RouteBased"),
        "Vnet2Gw": ("Vnet2", "RouteBased"),
    }
    assert {
        c.name: (c.from_gateway, c.to_gateway, c.shared_key) for c in fabric.connections.values()
    } == {
        "Vnet1Connection": ("Vnet1Gw", "Vnet2Gw", "secretKey"),
        "Vnet2Connection": ("Vnet2Gw", "Vnet1Gw", "secretKey"),
    }
    assert [f.severity for f in validate(fabric)] == ["Warning", "Warning"]  # /28 gateway subnets
    trace = connectivity(
        ControlPlane(fabric), "192.168.100.4", "192.168.101.4", protocol="Tcp", port=443
    )
    assert trace.reachable


def test_vnet_to_vnet_bgp_template_without_its_shared_key_says_so_and_connects():
    """Its key is a secure parameter with no value (none ever is, offline): both connections
    take it from that one parameter, so they share whatever key the deployment supplies, and
    the tunnel comes up; each key says how it was read."""
    document = arm("vnet-to-vnet-bgp", parameters=None)
    fabric = document.fabric
    assert {n: v.address_prefixes for n, v in fabric.vnets.items()} == {
        "vNet1-westeurope": ("10.0.0.0/23",),
        "vnet2-westeurope": ("10.0.2.0/23",),
    }
    gateways = {g.name: (g.sku, g.enable_bgp, g.bgp_asn) for g in fabric.gateways.values()}
    assert all(enable for _, enable, _ in gateways.values())
    assert len({asn for _, _, asn in gateways.values()}) == 2
    assert all(c.enable_bgp for c in fabric.connections.values())
    assert "ArmMissingParameter" in codes(document)
    assumed = [f for f in document.findings if f.code == "ArmSecretAssumed"]
    assert len(assumed) == 2
    assert all("sharedKey" in f.message and "--parameter" in f.message for f in assumed)
    assert not [f for f in validate(fabric) if f.severity == "Error"]
    assert not [f for f in validate(fabric) if f.code.startswith("SharedKey")]
    trace = connectivity(ControlPlane(fabric), "10.0.0.4", "10.0.2.4", protocol="Tcp", port=22)
    assert trace.reachable


def test_vnet_to_vnet_peering_template():
    fabric = arm("vnet-to-vnet-peering").fabric
    assert {n: v.address_prefixes for n, v in fabric.vnets.items()} == {
        "vNet1peeringtest": ("10.0.0.0/24",),
        "vNet2peeringtest": ("192.168.0.0/24",),
    }
    assert len(fabric.peerings) == 2
    assert all(peering_state(fabric, p) == "Connected" for p in fabric.peerings.values())


def test_bastion_hub_spoke_template_peers_hub_and_spoke_and_places_the_nic():
    document = arm("bastion-hub-spoke-vnet")
    fabric = document.fabric
    assert set(fabric.vnets) == {"vnet-hub", "vnet-spoke"}
    assert all(peering_state(fabric, p) == "Connected" for p in fabric.peerings.values())
    hosts = [(h.name, h.ip) for v in fabric.vnets.values() for h in v.hosts]
    assert len(hosts) == 1
    assert hosts[0][1] == "10.1.0.4"  # a dynamic address: the first usable one of the subnet
    assert "ResourceNotModelled" in codes(document)  # Bastion and the VM are left out, said so
    # The VM's admin name and password (parameters with no value offline) are not the
    # network's: warnings on the parameters, no error, so questions about it are answered.
    assert [f.code for f in document.findings if f.severity == "Error"] == []


def test_hub_and_spoke_sandbox_with_conditions_and_gateway_transit():
    document = arm("hub-and-spoke-sandbox")
    fabric = document.fabric
    assert {n: v.address_prefixes for n, v in fabric.vnets.items()} == {
        "hubVnet": ("192.168.0.0/20",),
        "spokeDevVnet": ("10.10.0.0/16",),
        "spokeProdVnet": ("10.100.0.0/16",),
    }
    assert "GatewaySubnet" in fabric.vnets["hubVnet"].subnet_names
    assert len(fabric.peerings) == 4
    transit = [
        p for p in fabric.peerings.values() if p.use_remote_gateways or p.allow_gateway_transit
    ]
    assert bool(fabric.gateways) == bool(transit)  # the condition picks one peering flavour
    assert not [f for f in document.findings if f.severity == "Error"]


def test_mspnp_hub_spoke_loads_despite_firewalls_and_runtime_references():
    document = arm("mspnp-azure-hub-spoke", parameters=None)
    fabric = document.fabric
    assert set(fabric.vnets) == {
        "vnet-westeurope-hub",
        "vnet-westeurope-spoke-one",
        "vnet-westeurope-spoke-two",
    }
    assert len(fabric.peerings) == 4
    assert fabric.vnets["vnet-westeurope-hub"].address_prefixes == ("10.0.0.0/22",)
    assert {"nsg-spoke-resources", "nsg-westeurope-bastion"} <= set(fabric.nsgs)
    # The UDR's next hop reads the firewall's read-only private IP: derived (N11.5), said so.
    (route,) = fabric.route_tables["route-to-westeurope-hub-fw"].routes
    assert (route.address_prefix, route.next_hop_ip_address) == ("0.0.0.0/0", "10.0.3.4")
    (derived,) = [f for f in document.findings if f.code == "ArmValueDerived"]
    assert derived.severity == "Warning"
    assert "privateIPAddress" in derived.message
    assert "AzureFirewallSubnet" in derived.message
    assert "ResourceNotModelled" in codes(document)
    # the reference() to an inline subnet of the same template resolves:
    rule = next(
        r
        for r in fabric.nsgs["nsg-spoke-resources"].security_rules
        if r.name == "AllowBastionRdpFromHub"
    )
    assert rule.source_address_prefixes[0].endswith("/26")


def test_nsg_dmz_template_rules():
    fabric = arm("nsg-dmz-in-vnet").fabric
    assert set(fabric.nsgs) == {"fensg", "appnsg", "dbnsg"}
    assert {len(n.security_rules) for n in fabric.nsgs.values()} == {2, 3, 4}
    subnets = {s.name: s.nsg for s in fabric.vnets["First_ARM_VNet"].subnets}
    assert subnets == {"FESubnet": "fensg", "AppSubnet": "appnsg", "DBSubnet": "dbnsg"}
    assert not [f for f in validate(fabric) if f.severity == "Error"]


def test_user_defined_routes_appliance_template():
    fabric = arm("userdefined-routes-appliance").fabric
    table = fabric.route_tables["BasicNVA"]
    route = table.routes[0]
    assert (route.address_prefix, route.next_hop_type, route.next_hop_ip_address) == (
        "10.1.2.0/24",
        "VirtualAppliance",
        "10.1.1.4",
    )
    hosts = {h.ip: h for h in fabric.vnets["Contoso_Network"].hosts}
    assert hosts["10.1.1.4"].enable_ip_forwarding  # the NVA NIC, from a copy loop
    assert len(hosts) == 3


def test_existing_vnet_peering_templates_and_their_prerequisites():
    document = arm("existing-vnet-to-vnet-peering")
    assert "VnetNotInInput" in codes(document)
    (link,) = document.fabric.peerings.values()
    assert document.fabric.vnets[link.vnet].external
    prereq = arm("existing-vnet-to-vnet-peering", "prereqs/prereq.azuredeploy.json", None)
    assert {n: v.address_prefixes for n, v in prereq.fabric.vnets.items()} == {
        "local-vnet": ("10.0.0.0/16",),
        "remote-vnet": ("11.0.0.0/16",),
    }


def test_parameters_file_with_an_undeclared_parameter_is_invalid_template():
    """The published parameters file gives one parameter the template does not declare:
    Azure refuses such a deployment (InvalidTemplate)."""
    document = arm("existing-vnet-to-vnet-peering")
    (finding,) = [f for f in document.findings if f.severity == "Error"]
    assert finding.code == "InvalidTemplate"
    assert "existingLocalVirtualNetworkResourceGroupName" in finding.message


def test_prereq_whose_placeholders_give_two_vnets_one_name_is_a_duplicate_not_a_merge():
    """Every name in the prereq parameters file is GEN-UNIQUE: the two VNets collide. The
    importer used to merge them (the second's space over the first's subnets)."""
    document = arm(
        "vnet-peering-create",
        "prereqs/prereq.azuredeploy.json",
        "prereqs/prereq.azuredeploy.parameters.json",
    )
    (finding,) = [f for f in document.findings if f.code == "DuplicateResource"]
    assert "GEN-UNIQUE" in finding.message
    (vnet,) = document.fabric.vnets.values()
    assert vnet.address_prefixes == ("10.0.0.0/16",)  # the first one, as declared


def test_every_corpus_template_loads_with_comments_added(tmp_path):
    """The same answers when each template is rewritten with // and /* */ comments."""
    for path in sorted((CORPUS / "arm").rglob("*.json")):
        if "parameters" in path.name:
            continue
        text = path.read_text(encoding="utf-8-sig")
        commented = "// " + path.name + "\n/* a\n block */" + text.replace("\n", " // c\n", 3)
        copy_path = tmp_path / path.name
        copy_path.write_text(commented)
        assert load_topology(copy_path).fabric == load_topology(path).fabric, path


def test_vnet_peering_create_with_a_placeholder_remote_id_is_a_clear_finding():
    document = arm("vnet-peering-create")
    (finding,) = [f for f in document.findings if f.code == "ImportInvalidResource"]
    assert "GET-PREREQ-existingRemoteVirtualNetworkId" in finding.message
    assert "resource ID" in finding.message


ALZ_VALUES = {
    "vNetRgName": "rg-spoke",
    "vNetName": "vnet-spoke",
    "vNetLocation": "westeurope",
    "vNetCidrRange": "10.20.0.0/16",
    "hubResourceId": "/subscriptions/1111/resourceGroups/rg-hub/providers/"
    "Microsoft.Network/virtualNetworks/vnet-hub",
}


def test_alz_nested_deployments_without_required_parameters_say_how_to_pass_them():
    document = load_topology(CORPUS / "arm" / "alz-spoke-vnet-peering" / "vnetPeering.json")
    assert document.fabric.vnets == {}
    missing = [f for f in document.findings if f.code == "ArmMissingParameter"]
    assert {f.resources[0] for f in missing} == set(ALZ_VALUES)
    assert all("--parameter" in f.message and "parameter_values" in f.message for f in missing)


def test_alz_nested_deployments_evaluate_two_levels_with_inner_and_outer_scope():
    """Level 1 (outer scope) is evaluated by the root first; the level-2 deployment (inner
    scope, in another subscription) sees its own parameters, and its ``[[`` escapes become
    expressions only there."""
    path = CORPUS / "arm" / "alz-spoke-vnet-peering" / "vnetPeering.json"
    document = load_topology(path, parameter_values=ALZ_VALUES)
    fabric = document.fabric
    assert fabric.vnets["vnet-spoke"].address_prefixes == ("10.20.0.0/16",)
    assert fabric.vnets["vnet-hub"].external
    links = {(p.vnet, p.name): p.remote_vnet for p in fabric.peerings.values()}
    assert links == {
        ("vnet-spoke", "peerToHub"): "vnet-hub",
        ("vnet-hub", "vnet-spoke"): "vnet-spoke",
    }
    assert [f.code for f in document.findings] == ["VnetNotInInput"]


# -- REST corpus -------------------------------------------------------------------------------


def rest(name: str):
    return load_topology(CORPUS / "rest" / name)


def test_rest_vnet_with_gateway_subnet():
    fabric = rest("azcli-vnet-get-with-gatewaysubnet.json").fabric
    (vnet,) = fabric.vnets.values()
    assert (vnet.name, vnet.region, vnet.address_prefixes) == ("vnet2", "westus", ("11.0.0.0/16",))
    assert "GatewaySubnet" in vnet.subnet_names


def test_rest_gateway_keeps_sku_and_marks_its_vnet_external():
    document = rest("azcli-vnet-gateway-basic-get.json")
    (gateway,) = document.fabric.gateways.values()
    assert (gateway.name, gateway.vnet, gateway.sku) == ("gateway1", "vnet2", "Basic")
    assert document.fabric.vnets["vnet2"].external
    assert not [f for f in validate(document.fabric) if f.severity == "Error"]


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("azcli-vnet-peering-connected-useremotegateways.json", "Connected"),
        ("azcli-vnet-peering-initiated.json", "Initiated"),
        ("azcli-vnet-peering-list-connected-gatewaytransit.json", "Connected"),
    ],
)
def test_rest_peerings_keep_the_state_azure_reported(name, state):
    fabric = rest(name).fabric
    assert fabric.peerings
    assert {peering_state(fabric, p) for p in fabric.peerings.values()} == {state}


def test_rest_peering_flags():
    fabric = rest("azcli-vnet-peering-connected-useremotegateways.json").fabric
    (link,) = fabric.peerings.values()
    assert link.use_remote_gateways
    transit = rest("azcli-vnet-peering-list-connected-gatewaytransit.json").fabric
    assert any(p.allow_gateway_transit for p in transit.peerings.values())


def test_rest_spec_example_s2s_connection_without_its_gateways_is_a_clear_finding():
    document = rest("spec-example-connection-get-ipsec.json")
    nat, finding = document.findings
    assert "NAT rules" in nat.message  # the example carries ingress/egress NAT rules
    assert finding.code == "ConnectionEndNotInInput"
    assert "IPsec" in finding.message
    assert "'vpngw', 'localgw'" in finding.message
    assert not document.fabric.connections


# -- round trip and the command ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "vnet-to-vnet-vpn",
        "nsg-dmz-in-vnet",
        "userdefined-routes-appliance",
        "hub-and-spoke-sandbox",
        "bastion-hub-spoke-vnet",
    ],
)
def test_import_to_yaml_round_trips_to_an_equal_fabric(tmp_path, name):
    document = arm(name)
    path = tmp_path / "imported.yaml"
    path.write_text(to_yaml(document))
    assert load_topology(path).fabric == document.fabric


def test_import_command_writes_yaml_and_reports_findings(tmp_path, capsys):
    folder = CORPUS / "arm" / "vnet-to-vnet-vpn"
    out = tmp_path / "v2v.yaml"
    args = [
        "import",
        str(folder / "azuredeploy.json"),
        "--parameters",
        str(folder / "azuredeploy.parameters.json"),
        "--to",
        "yaml",
        "-o",
        str(out),
    ]
    assert main(args) == 0
    assert load_topology(out).fabric.gateways
    assert main(["import", str(folder / "azuredeploy.parameters.json")]) == 2
    assert "--parameters" in capsys.readouterr().err


# -- the expression language -------------------------------------------------------------------


def _string(draw):
    return draw(st.text(alphabet="abcXYZ-_ '0123456789", max_size=6))


@st.composite
def expressions(draw, depth: int = 0):
    """(ARM expression text, value a reference evaluation gives)."""
    kind = draw(
        st.sampled_from(
            ["str", "int"]
            if depth > 2
            else [
                "str",
                "int",
                "concat",
                "lower",
                "length",
                "if",
                "add",
                "format",
                "split",
                "object",
                "range",
            ]
        )
    )
    if kind == "str":
        value = _string(draw)
        return "'" + value.replace("'", "''") + "'", value
    if kind == "int":
        value = draw(st.integers(0, 50))
        return str(value), value
    if kind == "concat":
        parts = [draw(strings(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
        return f"concat({', '.join(p for p, _ in parts)})", "".join(v for _, v in parts)
    if kind == "lower":
        text, value = draw(strings(depth + 1))
        return f"toLower({text})", value.lower()
    if kind == "length":
        text, value = draw(strings(depth + 1))
        return f"length({text})", len(value)
    if kind == "if":
        (a, av), (b, bv) = draw(strings(depth + 1)), draw(strings(depth + 1))
        (x, xv), (y, yv) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
        return f"if(equals({a}, {b}), {x}, {y})", xv if av == bv else yv
    if kind == "add":
        (a, av), (b, bv) = draw(integers(depth + 1)), draw(integers(depth + 1))
        return f"add({a}, {b})", av + bv
    if kind == "format":
        (a, av), (b, bv) = draw(strings(depth + 1)), draw(integers(depth + 1))
        return f"format('{{0}}/{{1}}', {a}, {b})", f"{av}/{bv}"
    if kind == "split":
        text, value = draw(strings(depth + 1))
        return f"last(split(concat('x-', {text}), '-'))", ("x-" + value).split("-")[-1]
    if kind == "object":
        text, value = draw(expressions(depth + 1))
        return f"createObject('key', {text}).key", value
    count = draw(st.integers(1, 5))
    index = draw(st.integers(0, count - 1))
    return f"range(3, {count})[{index}]", 3 + index


@st.composite
def strings(draw, depth: int):
    return draw(expressions(depth).filter(lambda e: isinstance(e[1], str)))


@st.composite
def integers(draw, depth: int):
    return draw(
        expressions(depth).filter(lambda e: isinstance(e[1], int) and not isinstance(e[1], bool))
    )


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(expressions())
def test_random_expressions_evaluate_like_the_reference(expression):
    text, expected = expression
    assert Scope().resolve(f"[{text}]") == expected


@given(st.text(alphabet="abc()[]',. 019-_", max_size=25))
def test_malformed_expressions_raise_only_expression_errors(text):
    with contextlib.suppress(ExpressionError):
        Scope().resolve(f"[{text}]")


def _mutations(value, draw, depth=0):
    """Randomly damage a JSON document: drop keys, change types, break expressions."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            action = draw(st.integers(0, 20))
            if action == 0:
                continue
            if action == 1:
                out[key] = draw(
                    st.sampled_from([None, 7, "x", [], {}, "[concat(", "[bogus('a')]", True])
                )
            else:
                out[key] = _mutations(item, draw, depth + 1)
        return out
    if isinstance(value, list):
        return [_mutations(item, draw, depth + 1) for item in value]
    return value


TEMPLATES = [
    "vnet-to-vnet-vpn",
    "hub-and-spoke-sandbox",
    "nsg-dmz-in-vnet",
    "userdefined-routes-appliance",
    "mspnp-azure-hub-spoke",
]


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TEMPLATES), st.data())
def test_malformed_templates_give_findings_never_a_traceback(name, data):
    folder = CORPUS / "arm" / name
    template = json.loads(
        (folder / "azuredeploy.json").read_text(encoding="utf-8-sig"), strict=False
    )
    damaged = _mutations(copy.deepcopy(template), data.draw)
    fabric, findings = load_arm(damaged, None, name)
    assert all(f.message for f in findings)
    validate(fabric)  # and what loaded can be validated


def test_unsupported_functions_are_named_with_their_path(tmp_path):
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "resources": [
            {
                "type": "Microsoft.Network/virtualNetworks",
                "name": "v",
                "location": "westus",
                "properties": {
                    "addressSpace": {"addressPrefixes": ["[pickZones('10.0.0.0/8', 16, 0)]"]}
                },
            }
        ],
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    document = load_topology(path)
    (finding,) = [f for f in document.findings if f.code == "ArmExpressionError"]
    assert "pickZones() is not supported" in finding.message
    assert "resources[0].properties.addressSpace.addressPrefixes[0]" in finding.message
    assert "v" in document.fabric.vnets  # the rest still loads


def test_unreadable_json_is_an_input_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"resources": [')
    with pytest.raises(InputError, match="not valid JSON"):
        load_topology(path)
