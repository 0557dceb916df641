"""Azure Virtual Network Manager from ARM templates and az/REST output: network managers,
network groups with static members, connectivity configurations (with ARM's 'True'/'False'
strings, N17.2) and the two sides of a cross-tenant scope (N7)."""

from __future__ import annotations

import json
from pathlib import Path

from fabric.control.plane import ControlPlane
from fabric.io import load_topology, to_yaml

DATA = Path(__file__).parent / "data"
SUB = "/subscriptions/1111/resourceGroups/rg/providers"


def hop_types(plane: ControlPlane, vnet: str, subnet: str) -> dict[str, str]:
    return {
        str(r.prefix): r.next_hop_type
        for r in plane.routes(vnet, subnet).routes
        if r.state == "Active" and r.source == "Default"
    }


def test_an_arm_hub_and_spoke_with_direct_connectivity_loads_and_routes(tmp_path):
    document = load_topology(DATA / "arm_avnm_hub_spoke.json")
    net = document.fabric
    assert net.network_groups["spokes"].members == ("spoke1", "spoke2")
    assert net.network_groups["spokes"].network_manager == "avnm"
    config = net.connectivity_configurations["hub-and-spoke"]
    assert config.hubs == ("hub",)
    assert config.delete_existing_peering is True  # from the string 'True'
    assert config.applies_to_groups[0].group_connectivity == "DirectlyConnected"
    assert config.applies_to_groups[0].use_hub_gateway is False
    assert config.connected_group_address_overlap == "Disallowed"
    plane = ControlPlane(net)
    assert hop_types(plane, "spoke1", "default")["10.0.0.0/16"] == "VNetPeering"
    assert hop_types(plane, "spoke1", "default")["10.2.0.0/16"] == "ConnectedGroup"
    assert [f.code for f in document.findings] == ["NetworkManagerDeploymentAssumed"]
    written = tmp_path / "out.yaml"
    written.write_text(to_yaml(document))
    assert load_topology(written).fabric == net


def test_a_mesh_parameter_switches_the_topology():
    document = load_topology(
        DATA / "arm_avnm_hub_spoke.json", parameter_values={"topology": "Mesh"}
    )
    plane = ControlPlane(document.fabric)
    assert hop_types(plane, "spoke1", "default")["10.2.0.0/16"] == "ConnectedGroup"
    assert "10.0.0.0/16" not in hop_types(plane, "spoke1", "default")  # the hub is no member


def rest_resources() -> list[dict]:
    nm = f"{SUB}/Microsoft.Network/networkManagers/nm"
    return [
        {
            "id": f"{SUB}/Microsoft.Network/virtualNetworks/{name}",
            "type": "Microsoft.Network/virtualNetworks",
            "name": name,
            "location": "westeurope",
            "properties": {
                "addressSpace": {"addressPrefixes": [prefix]},
                "subnets": [{"name": "app", "properties": {"addressPrefix": prefix}}],
            },
        }
        for name, prefix in (("a", "10.1.0.0/16"), ("b", "10.2.0.0/16"))
    ] + [
        {
            "id": nm,
            "type": "Microsoft.Network/networkManagers",
            "name": "nm",
            "properties": {"networkManagerScopes": {"subscriptions": ["/subscriptions/1111"]}},
        },
        {
            "id": f"{nm}/scopeConnections/fabrikam",
            "type": "Microsoft.Network/networkManagers/scopeConnections",
            "properties": {
                "tenantId": "fabrikam-tenant",
                "resourceId": "/subscriptions/2222",
                "connectionState": "Pending",
            },
        },
        {
            "id": "/subscriptions/2222/providers/Microsoft.Network/networkManagerConnections/c",
            "type": "Microsoft.Network/networkManagerConnections",
            "name": "c",
            "properties": {"networkManagerId": nm},
        },
        {
            "id": f"{nm}/networkGroups/g",
            "type": "Microsoft.Network/networkManagers/networkGroups",
            "properties": {},
        },
        *(
            {
                "id": f"{nm}/networkGroups/g/staticMembers/{v}",
                "type": "Microsoft.Network/networkManagers/networkGroups/staticMembers",
                "properties": {"resourceId": f"{SUB}/Microsoft.Network/virtualNetworks/{v}"},
            }
            for v in ("a", "b")
        ),
        {
            "id": f"{nm}/connectivityConfigurations/mesh",
            "type": "Microsoft.Network/networkManagers/connectivityConfigurations",
            "properties": {
                "connectivityTopology": "mesh",  # any case, Azure's spelling kept
                "appliesToGroups": [{"networkGroupId": f"{nm}/networkGroups/g"}],
                "isGlobal": "false",
            },
        },
    ]


def test_rest_output_loads_every_avnm_resource(tmp_path):
    path = tmp_path / "az.json"
    path.write_text(json.dumps(rest_resources()))
    document = load_topology(path)
    net = document.fabric
    manager = net.network_managers["nm"]
    assert manager.scope_subscriptions == ("1111",)
    assert [(s.tenant, s.subscription, s.connection_state) for s in manager.scope_connections] == [
        ("fabrikam-tenant", "2222", "Pending")
    ]
    consent = net.network_manager_connections["c"]
    assert (consent.subscription, consent.network_manager) == ("2222", "nm")
    assert net.connectivity_configurations["mesh"].connectivity_topology == "Mesh"
    assert hop_types(ControlPlane(net), "a", "app")["10.2.0.0/16"] == "ConnectedGroup"


def test_bad_avnm_resources_are_findings_naming_the_property(tmp_path):
    resources = rest_resources()
    resources[-1]["properties"]["connectivityTopology"] = "Star"
    resources[-2]["properties"]["resourceId"] = (
        f"{SUB}/Microsoft.Network/virtualNetworks/a/subnets/x"
    )
    path = tmp_path / "az.json"
    path.write_text(json.dumps(resources))
    document = load_topology(path)
    messages = [f.message for f in document.findings if f.code == "ImportInvalidResource"]
    assert any("connectivityTopology: 'Star' is not valid" in m for m in messages)
    assert len(messages) == 2
    assert document.fabric.connectivity_configurations == {}
