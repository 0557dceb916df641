"""Azure Virtual Network Manager from Terraform (azurerm): managers, network groups with static
members, connectivity and security admin configurations, and the deployments that commit them
(N8.2: a configuration applies once committed). Read through the same assembly as ARM's
resources, so the same rules decide membership and admin-rule matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric.control.plane import ControlPlane
from fabric.io import load_topology, to_yaml
from fabric.io.native import load_native
from fabric.io.terraform import diagnostics as codes
from fabric.io.yamlsource import load_yaml
from fabric.watcher.ipflow import ip_flow

MAIN = Path(__file__).resolve().parent / "data" / "terraform" / "avnm" / "main.tf"


def load(tmp_path: Path, text: str):
    (tmp_path / "main.tf").write_text(text)
    return load_topology(tmp_path)


def finding_codes(document) -> list[str]:
    return [f.code for f in document.findings]


def ssh_access(net, src: str = "10.1.0.4", dst: str = "10.0.0.4") -> str | None:
    verdict = ip_flow(ControlPlane(net), src, dst, protocol="Tcp", port=22, direction="Inbound")
    return verdict.admin_access


@pytest.fixture(scope="module")
def estate():
    return load_topology(MAIN)


def test_groups_members_and_configurations_are_read(estate):
    net = estate.fabric
    assert net.network_managers["network-manager"].scope_subscriptions == ()  # a data source
    assert net.network_groups["network-group"].members == ("vnet-0", "vnet-1", "vnet-2")
    mesh = net.connectivity_configurations["connectivity-config"]
    assert (mesh.connectivity_topology, mesh.network_manager) == ("Mesh", "network-manager")
    star = net.connectivity_configurations["hub-and-spoke"]
    assert star.hubs == ("hub",)
    assert star.delete_existing_peering is True
    assert star.applies_to_groups[0].group_connectivity == "DirectlyConnected"
    (collection,) = net.security_admin_configurations["admin-conf"].rule_collections
    (rule,) = collection.rules
    assert (rule.name, rule.access, rule.priority, rule.destination_port_ranges) == (
        "deny-ssh",
        "Deny",
        1,
        ("22",),
    )
    assert codes.INVALID_RESOURCE not in finding_codes(estate)


def test_the_configurations_route_and_decide(estate):
    plane = ControlPlane(estate.fabric)
    hops = {str(r.prefix): r.next_hop_type for r in plane.routes("vnet-0", "default").routes}
    assert hops["10.1.0.0/16"] == "ConnectedGroup"
    assert hops["10.100.0.0/16"] == "VNetPeering"  # the hub of the hub-and-spoke
    assert ssh_access(estate.fabric) == "Deny"


def test_a_round_trip_through_the_native_format_keeps_everything(estate):
    again = load_native(load_yaml(to_yaml(estate)), "round-trip.yaml")
    assert again.fabric == estate.fabric


def test_a_configuration_no_deployment_commits_is_left_out(tmp_path):
    text = MAIN.read_text()
    start = text.index('resource "azurerm_network_manager_deployment" "commit_admin"')
    document = load(tmp_path, text[:start])
    assert "admin-conf" not in document.fabric.security_admin_configurations
    assert ssh_access(document.fabric) is None
    (message,) = [
        f.message for f in document.findings if f.code == "NetworkManagerConfigurationNotDeployed"
    ]
    assert "admin-conf is not committed" in message


def test_without_deployments_every_configuration_is_taken_as_deployed(tmp_path):
    text = MAIN.read_text()
    document = load(tmp_path, text[: text.index('resource "azurerm_network_manager_deployment"')])
    assert ssh_access(document.fabric) == "Deny"
    assert "NetworkManagerDeploymentAssumed" in finding_codes(document)


def test_a_deployment_in_another_region_is_a_warning(tmp_path):
    text = MAIN.read_text().replace(
        'location           = "westeurope"\n  scope_access       = "SecurityAdmin"',
        'location           = "eastus"\n  scope_access       = "SecurityAdmin"',
    )
    document = load(tmp_path, text)
    messages = [
        f.message for f in document.findings if f.code == "NetworkManagerConfigurationNotDeployed"
    ]
    assert any("committed to eastus but reaches VNets in westeurope" in m for m in messages)


def test_a_bad_action_is_an_error_naming_the_address_and_property(tmp_path):
    document = load(tmp_path, MAIN.read_text().replace('"Deny"', '"Block"'))
    (error,) = [f for f in document.findings if f.code == codes.INVALID_RESOURCE]
    assert "azurerm_network_manager_admin_rule.deny_ssh" in error.message
    assert "access: 'Block' is not valid" in error.message
    assert (
        document.fabric.security_admin_configurations["admin-conf"].rule_collections[0].rules == ()
    )


def test_a_misspelt_argument_is_named(tmp_path):
    document = load(
        tmp_path, MAIN.read_text().replace('connectivity_topology = "Mesh"', 'topology = "Mesh"')
    )
    assert codes.UNKNOWN_ARGUMENT in finding_codes(document)
    assert "connectivity-config" not in document.fabric.connectivity_configurations


def test_a_static_member_of_an_undeclared_vnet_is_reported(tmp_path):
    text = MAIN.read_text().replace(
        "target_virtual_network_id = azurerm_virtual_network.vnet[count.index].id",
        'target_virtual_network_id = "/subscriptions/1/resourceGroups/x/providers/'
        'Microsoft.Network/virtualNetworks/elsewhere"',
    )
    document = load(tmp_path, text)
    assert document.fabric.network_groups["network-group"].members == ()
