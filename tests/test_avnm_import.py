"""Azure Virtual Network Manager from ARM templates and az/REST output: network managers,
network groups with static members, connectivity configurations (with ARM's 'True'/'False'
strings, N17.2) and the two sides of a cross-tenant scope (N7)."""

from __future__ import annotations

import json
from pathlib import Path

from fabric.control.plane import ControlPlane
from fabric.io import load_topology, to_yaml
from fabric.watcher.ipflow import ip_flow

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


# -- security admin configurations (§5.3) ---------------------------------------------------


def verdict(net, port: int, direction: str = "Inbound"):
    """IP flow verify of 10.2.0.4 (spoke2) -> 10.1.0.4 (spoke1), at the end ``direction``."""
    plane = ControlPlane(net)
    return ip_flow(plane, "10.2.0.4", "10.1.0.4", protocol="Tcp", port=port, direction=direction)


def test_an_arm_security_admin_configuration_loads_with_its_collections_and_rules(tmp_path):
    document = load_topology(DATA / "arm_avnm_security_admin.json")
    net = document.fabric
    config = net.security_admin_configurations["baseline"]
    assert (config.network_manager, config.description) == ("avnm", "org baseline")
    (collection,) = config.rule_collections
    assert (collection.name, collection.applies_to_groups) == ("blocked", ("spokes",))
    deny, always = collection.rules
    # A NetworkGroup address item stands for its members' address spaces.
    assert deny.destination_address_prefixes == ("10.1.0.0/16", "10.2.0.0/16")
    assert (deny.access, deny.priority, deny.destination_port_ranges) == ("Deny", 10, ("22",))
    assert deny.source_port_ranges == ("*",)  # [] is any port
    assert always.destination_address_prefixes == ("*",)  # [] is any address
    assert always.source_address_prefixes == ("VirtualNetwork",)
    codes = sorted(f.code for f in document.findings)
    assert codes == ["NetworkManagerDeploymentAssumed", "ResourceNotModelled"]
    assert "Default admin rule" in next(
        f.message for f in document.findings if f.code == "ResourceNotModelled"
    )
    written = tmp_path / "out.yaml"
    written.write_text(to_yaml(document))
    assert load_topology(written).fabric == net


def test_imported_admin_rules_decide_before_nsgs():
    net = load_topology(DATA / "arm_avnm_security_admin.json").fabric
    denied = verdict(net, 22)
    assert (denied.access, denied.admin_access, denied.rule_name) == ("Deny", "Deny", "deny-ssh")
    assert verdict(net, 443).admin_access == "AlwaysAllow"
    assert verdict(net, 80).admin_access is None  # no admin rule: the NSGs decide
    assert verdict(net, 22, "Outbound").admin_access is None  # an Inbound rule


def test_a_parameter_changes_the_denied_port():
    document = load_topology(
        DATA / "arm_avnm_security_admin.json", parameter_values={"denyPort": "3389"}
    )
    assert verdict(document.fabric, 22).admin_access is None
    assert verdict(document.fabric, 3389).admin_access == "Deny"


def rest_admin_resources() -> list[dict]:
    nm = f"{SUB}/Microsoft.Network/networkManagers/nm"
    config = f"{nm}/securityAdminConfigurations/sac"
    return [
        *rest_resources(),
        {
            "id": config,
            "type": "Microsoft.Network/networkManagers/securityAdminConfigurations",
            "properties": {},
        },
        {
            "id": f"{config}/ruleCollections/rc",
            "type": "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections",
            "properties": {"appliesToGroups": [{"networkGroupId": f"{nm}/networkGroups/g"}]},
        },
        {
            "id": f"{config}/ruleCollections/rc/rules/deny-rdp",
            "type": (
                "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections/rules"
            ),
            "kind": "Custom",
            "properties": {
                "access": "deny",  # any case
                "direction": "Inbound",
                "priority": 1,
                "protocol": "Any",
                "sources": [{"addressPrefix": "Internet", "addressPrefixType": "ServiceTag"}],
                "destinationPortRanges": ["3389"],
            },
        },
    ]


def test_rest_output_loads_security_admin_rules(tmp_path):
    path = tmp_path / "az.json"
    path.write_text(json.dumps(rest_admin_resources()))
    net = load_topology(path).fabric
    (rule,) = net.security_admin_configurations["sac"].rule_collections[0].rules
    assert (rule.name, rule.access, rule.protocol) == ("deny-rdp", "Deny", "*")
    assert rule.source_address_prefixes == ("Internet",)


def import_messages(tmp_path, resources: list[dict]) -> tuple[list[str], dict]:
    path = tmp_path / "az.json"
    path.write_text(json.dumps(resources))
    document = load_topology(path)
    messages = [f.message for f in document.findings if f.code == "ImportInvalidResource"]
    return messages, document.fabric.security_admin_configurations


def test_a_bad_admin_rule_is_a_finding_naming_the_property(tmp_path):
    resources = rest_admin_resources()
    resources[-1]["properties"]["access"] = "Block"
    messages, configs = import_messages(tmp_path, resources)
    assert len(messages) == 1
    assert "access: 'Block' is not valid" in messages[0]
    assert configs["sac"].rule_collections[0].rules == ()


def test_a_bad_rule_collection_is_a_finding_and_so_are_its_rules(tmp_path):
    resources = rest_admin_resources()
    resources[-2]["properties"]["appliesToGroups"] = [{"networkGroupId": f"{SUB}/nope"}]
    messages, configs = import_messages(tmp_path, resources)
    assert "appliesToGroups[0].networkGroupId" in messages[0]
    assert "rule collection sac/rc is not in this input" in messages[1]
    assert configs["sac"].rule_collections == ()


def test_a_rule_of_an_unknown_collection_is_a_finding(tmp_path):
    resources = rest_admin_resources()
    resources[-1]["id"] = resources[-1]["id"].replace("/rc/", "/other/")
    messages, _ = import_messages(tmp_path, resources)
    assert len(messages) == 1
    assert "rule collection sac/other is not in this input" in messages[0]


def test_a_network_group_address_item_of_no_members_matches_no_address():
    """A Deny rule 'from group blocked' where blocked has no members denies nothing (an empty
    address list would mean any address; an empty group does not)."""
    net = load_topology(DATA / "arm_avnm_empty_group_rule.json").fabric
    verdict = ip_flow(
        ControlPlane(net), "10.0.0.4", "10.1.0.4", protocol="Tcp", port=443, direction="Inbound"
    )
    assert verdict.admin_access is None
