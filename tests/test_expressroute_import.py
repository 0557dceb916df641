"""ExpressRoute in every input format: circuits, their private peering, ExpressRoute gateways
and connections from ARM templates (shaped like the published quickstart that creates a circuit
with private peering and an ExpressRoute gateway), az/REST bodies (shaped like the REST spec's
examples), Terraform (azurerm), and the native YAML of DESIGN.md; every load round-trips
through the native format."""

from __future__ import annotations

import json

import pytest

from fabric.checks import validate
from fabric.cli import main
from fabric.control.plane import ControlPlane
from fabric.io import InputError, load_topology
from fabric.watcher import connectivity
from tests.helpers import rid, round_trip


def codes(document) -> list[str]:
    return [f.code for f in document.findings]


# -- ARM ------------------------------------------------------------------------------------------

ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {
        "circuitName": {"type": "string", "defaultValue": "er-ckt01"},
        "tier": {"type": "string", "defaultValue": "Premium", "allowedValues": ["Premium"]},
        "family": {"type": "string", "defaultValue": "MeteredData"},
        "bandwidthInMbps": {"type": "int", "defaultValue": 50},
        "peerASN": {"type": "int", "defaultValue": 65001},
        "gatewaySku": {"type": "string", "defaultValue": "ErGw1AZ"},
    },
    "resources": [
        {
            "type": "Microsoft.Network/expressRouteCircuits",
            "apiVersion": "2021-05-01",
            "name": "[parameters('circuitName')]",
            "location": "eastus",
            "sku": {
                "name": "[format('{0}_{1}', parameters('tier'), parameters('family'))]",
                "tier": "[parameters('tier')]",
                "family": "[parameters('family')]",
            },
            "properties": {
                "serviceProviderProperties": {
                    "serviceProviderName": "Equinix",
                    "peeringLocation": "Washington DC",
                    "bandwidthInMbps": "[parameters('bandwidthInMbps')]",
                },
                "allowClassicOperations": False,
            },
        },
        {
            "type": "Microsoft.Network/expressRouteCircuits/peerings",
            "apiVersion": "2021-05-01",
            "name": "[format('{0}/{1}', parameters('circuitName'), 'AzurePrivatePeering')]",
            "properties": {
                "peeringType": "AzurePrivatePeering",
                "peerASN": "[parameters('peerASN')]",
                "primaryPeerAddressPrefix": "192.168.10.16/30",
                "secondaryPeerAddressPrefix": "192.168.10.20/30",
                "vlanId": 100,
            },
            "dependsOn": [
                "[resourceId('Microsoft.Network/expressRouteCircuits', parameters('circuitName'))]"
            ],
        },
        {
            "type": "Microsoft.Network/virtualNetworks",
            "apiVersion": "2021-05-01",
            "name": "vnet1",
            "location": "eastus",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.10.10.0/24"]},
                "subnets": [
                    {"name": "subnet1", "properties": {"addressPrefix": "10.10.10.0/25"}},
                    {"name": "GatewaySubnet", "properties": {"addressPrefix": "10.10.10.224/27"}},
                ],
            },
        },
        {
            "type": "Microsoft.Network/virtualNetworkGateways",
            "apiVersion": "2021-05-01",
            "name": "er-gw",
            "location": "eastus",
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "gwIPconf",
                        "properties": {
                            "subnet": {
                                "id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', "
                                "'vnet1', 'GatewaySubnet')]"
                            }
                        },
                    }
                ],
                "gatewayType": "ExpressRoute",
                "sku": {"name": "[parameters('gatewaySku')]", "tier": "[parameters('gatewaySku')]"},
                "vpnType": "RouteBased",
            },
        },
        {
            "type": "Microsoft.Network/connections",
            "apiVersion": "2021-05-01",
            "name": "er-gw-to-ckt",
            "location": "eastus",
            "properties": {
                "connectionType": "ExpressRoute",
                "virtualNetworkGateway1": {
                    "id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'er-gw')]"
                },
                "peer": {
                    "id": "[resourceId('Microsoft.Network/expressRouteCircuits', "
                    "parameters('circuitName'))]"
                },
                "routingWeight": 10,
                "expressRouteGatewayBypass": "false",
            },
        },
    ],
}


def test_arm_circuit_private_peering_gateway_and_connection(tmp_path):
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(ARM))
    document = load_topology(path)
    fabric = document.fabric
    circuit = fabric.express_route_circuits["er-ckt01"]
    assert (circuit.peering_location, circuit.bandwidth_mbps, circuit.sku_tier) == (
        "Washington DC",
        50,
        "Premium",
    )
    assert (circuit.sku_family, circuit.service_provider_name, circuit.peer_asn) == (
        "MeteredData",
        "Equinix",
        65001,
    )
    assert circuit.on_premises_prefixes == ()  # not in ARM: said, not invented
    assert codes(document) == ["CircuitOnPremisesPrefixesUnknown"]
    gateway = fabric.gateways["er-gw"]
    assert (gateway.gateway_type, gateway.sku, gateway.allow_remote_vnet_traffic) == (
        "ExpressRoute",
        "ErGw1AZ",
        False,  # N1.6: off unless the template turns it on
    )
    connection = fabric.connections["er-gw-to-ckt"]
    assert (connection.connection_type, connection.from_gateway, connection.to_gateway) == (
        "ExpressRoute",
        "er-gw",
        "er-ckt01",
    )
    assert (connection.routing_weight, connection.express_route_gateway_bypass) == (10, False)
    assert [f.code for f in validate(fabric) if f.severity == "Error"] == []
    round_trip(document)


def test_arm_direct_circuit_takes_its_ports_peering_location(tmp_path):
    body = json.loads(json.dumps(ARM))
    circuit = body["resources"][0]
    circuit["properties"] = {
        "expressRoutePort": {"id": "[resourceId('Microsoft.Network/expressRoutePorts', 'port1')]"},
        "bandwidthInGbps": 10,
    }
    body["resources"].append(
        {
            "type": "Microsoft.Network/expressRoutePorts",
            "apiVersion": "2021-05-01",
            "name": "port1",
            "location": "eastus",
            "properties": {"peeringLocation": "Amsterdam", "bandwidthInGbps": 100},
        }
    )
    path = tmp_path / "direct.json"
    path.write_text(json.dumps(body))
    record = load_topology(path).fabric.express_route_circuits["er-ckt01"]
    assert (record.peering_location, record.bandwidth_mbps, record.direct) == (
        "Amsterdam",
        10_000,
        True,
    )


def test_arm_microsoft_peering_and_global_reach_are_said_not_modelled(tmp_path):
    body = json.loads(json.dumps(ARM))
    body["resources"][0]["properties"]["peerings"] = [
        {"name": "MicrosoftPeering", "properties": {"peeringType": "MicrosoftPeering"}},
        {
            "name": "AzurePrivatePeering",
            "properties": {
                "peeringType": "AzurePrivatePeering",
                "peerASN": 65002,
                "connections": [{"name": "gr", "properties": {"addressPrefix": "10.9.0.0/29"}}],
            },
        },
    ]
    path = tmp_path / "peerings.json"
    path.write_text(json.dumps(body))
    document = load_topology(path)
    messages = [f.message for f in document.findings if f.code == "ResourceNotModelled"]
    assert any("MicrosoftPeering" in m for m in messages)
    assert any("Global Reach" in m for m in messages)


# -- az/REST --------------------------------------------------------------------------------------


REST = [
    {
        "name": "circuitName",
        "id": rid("expressRouteCircuits", "circuitName"),
        "type": "Microsoft.Network/expressRouteCircuits",
        "location": "westeurope",
        "properties": {
            "provisioningState": "Succeeded",
            "peerings": [
                {
                    "name": "AzurePrivatePeering",
                    "properties": {"peeringType": "AzurePrivatePeering", "peerASN": 65010},
                }
            ],
            "authorizations": [],
            "serviceProviderProperties": {
                "serviceProviderName": "providerName",
                "peeringLocation": "Amsterdam",
                "bandwidthInMbps": 200,
            },
            "circuitProvisioningState": "Enabled",
            "serviceProviderProvisioningState": "NotProvisioned",
        },
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
    },
    {
        "name": "hub",
        "id": rid("virtualNetworks", "hub"),
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [
                {"name": "GatewaySubnet", "properties": {"addressPrefix": "10.0.255.0/27"}},
                {"name": "app", "properties": {"addressPrefix": "10.0.1.0/24"}},
            ],
        },
    },
    {
        "name": "hub-er",
        "id": rid("virtualNetworkGateways", "hub-er"),
        "type": "Microsoft.Network/virtualNetworkGateways",
        "location": "westeurope",
        "properties": {
            "gatewayType": "ExpressRoute",
            "sku": {"name": "ErGwScale", "tier": "ErGwScale"},
            "autoScaleConfiguration": {"bounds": {"min": 10, "max": 20}},
            "allowRemoteVnetTraffic": True,
            "ipConfigurations": [
                {
                    "name": "c",
                    "properties": {
                        "subnet": {"id": rid("virtualNetworks", "hub/subnets/GatewaySubnet")}
                    },
                }
            ],
        },
    },
    {
        "name": "hub-er-to-circuit",
        "id": rid("connections", "hub-er-to-circuit"),
        "type": "Microsoft.Network/connections",
        "location": "westeurope",
        "properties": {
            "connectionType": "ExpressRoute",
            "virtualNetworkGateway1": {"id": rid("virtualNetworkGateways", "hub-er")},
            "peer": {"id": rid("expressRouteCircuits", "circuitName")},
            "routingWeight": 0,
            "expressRouteGatewayBypass": True,
            "authorizationKey": "abc",
        },
    },
]


def test_rest_circuit_gateway_and_connection(tmp_path):
    path = tmp_path / "rest.json"
    path.write_text(json.dumps({"value": REST}))
    document = load_topology(path)
    fabric = document.fabric
    circuit = fabric.express_route_circuits["circuitName"]
    assert (circuit.service_provider_provisioning_state, circuit.peer_asn) == (
        "NotProvisioned",
        65010,
    )
    gateway = fabric.gateways["hub-er"]
    assert (gateway.sku, gateway.scale_units, gateway.allow_remote_vnet_traffic) == (
        "ErGwScale",
        10,
        True,
    )
    connection = fabric.connections["hub-er-to-circuit"]
    assert (connection.express_route_gateway_bypass, connection.authorization_key) == (
        True,
        "abc",
    )
    found = {f.code for f in validate(fabric)}
    assert "CircuitNotProvisioned" in found  # as Azure reported it: it carries nothing
    assert "FastPathNotSupportedOnSku" not in found  # ErGwScale at 10 units has FastPath
    round_trip(document)


# -- Terraform ------------------------------------------------------------------------------------

TF = """
resource "azurerm_resource_group" "rg" {
  name     = "rg-er"
  location = "westeurope"
}
resource "azurerm_virtual_network" "hub" {
  name                = "hub"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  address_space       = ["10.0.0.0/16"]
}
resource "azurerm_subnet" "gw" {
  name                 = "GatewaySubnet"
  resource_group_name  = azurerm_resource_group.rg.name
  virtual_network_name = azurerm_virtual_network.hub.name
  address_prefixes     = ["10.0.255.0/27"]
}
resource "azurerm_express_route_circuit" "ams" {
  name                  = "er-ams"
  resource_group_name   = azurerm_resource_group.rg.name
  location              = azurerm_resource_group.rg.location
  service_provider_name = "Equinix"
  peering_location      = "Amsterdam"
  bandwidth_in_mbps     = 1000
  sku {
    tier   = "Local"
    family = "UnlimitedData"
  }
}
resource "azurerm_express_route_circuit_peering" "private" {
  peering_type                  = "AzurePrivatePeering"
  express_route_circuit_name    = azurerm_express_route_circuit.ams.name
  resource_group_name           = azurerm_resource_group.rg.name
  peer_asn                      = 65010
  primary_peer_address_prefix   = "192.168.10.16/30"
  secondary_peer_address_prefix = "192.168.10.20/30"
  vlan_id                       = 100
}
resource "azurerm_virtual_network_gateway" "er" {
  name                        = "hub-er"
  location                    = azurerm_resource_group.rg.location
  resource_group_name         = azurerm_resource_group.rg.name
  type                        = "ExpressRoute"
  sku                         = "ErGw3AZ"
  remote_vnet_traffic_enabled = true
  ip_configuration {
    name      = "cfg"
    subnet_id = azurerm_subnet.gw.id
  }
}
resource "azurerm_virtual_network_gateway_connection" "er" {
  name                         = "hub-er-to-ams"
  location                     = azurerm_resource_group.rg.location
  resource_group_name          = azurerm_resource_group.rg.name
  type                         = "ExpressRoute"
  virtual_network_gateway_id   = azurerm_virtual_network_gateway.er.id
  express_route_circuit_id     = azurerm_express_route_circuit.ams.id
  routing_weight               = 0
  express_route_gateway_bypass = true
}
"""


def test_terraform_circuit_gateway_and_connection(tmp_path):
    (tmp_path / "main.tf").write_text(TF)
    document = load_topology(tmp_path)
    fabric = document.fabric
    circuit = fabric.express_route_circuits["er-ams"]
    assert (circuit.sku_tier, circuit.sku_family, circuit.peer_asn) == (
        "Local",
        "UnlimitedData",
        65010,
    )
    assert fabric.gateways["hub-er"].allow_remote_vnet_traffic is True
    connection = fabric.connections["hub-er-to-ams"]
    assert (connection.to_gateway, connection.express_route_gateway_bypass) == ("er-ams", True)
    assert codes(document) == ["CircuitOnPremisesPrefixesUnknown"]
    assert [f for f in validate(fabric) if f.severity == "Error"] == []
    round_trip(document)


# -- native YAML -------------------------------------------------------------------------------

NATIVE = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: GatewaySubnet, address_prefix: 10.0.255.0/27}
      - {name: app, address_prefix: 10.0.1.0/24}
    hosts: [{name: vm, subnet: app, ip: 10.0.1.4}]
express_route_circuits:
  - {name: er-ams, peering_location: Amsterdam, bandwidth_mbps: 1000, sku_tier: Standard,
     on_premises_prefixes: [172.20.0.0/16]}
gateways:
  - {name: hub-er, vnet: hub, gateway_type: ExpressRoute, sku: ErGw1AZ}
connections:
  - {name: hub-er-to-ams, connection_type: ExpressRoute, from: hub-er, to: er-ams,
     routing_weight: 0, express_route_gateway_bypass: false}
"""


def test_design_md_keys_load_and_the_trace_names_circuit_and_peering_location(tmp_path):
    path = tmp_path / "er.yaml"
    path.write_text(NATIVE)
    document = load_topology(path)
    assert validate(document.fabric) == []
    trace = connectivity(ControlPlane(document.fabric), "vm", "172.20.1.1")
    circuit = [h for h in trace.hops if h.type == "ExpressRouteCircuit"]
    assert [(h.name, h.address) for h in circuit] == [("er-ams", "Amsterdam")]
    assert "Amsterdam" in str(trace)
    round_trip(document)


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (("to: er-ams,", "to: er-amss,"), "connections[0].to", "did you mean 'er-ams'"),
        (("sku_tier: Standard", "sku_tier: Gold"), "express_route_circuits[0]", "Premium"),
        (("bandwidth_mbps: 1000", "bandwidth_mbps: fast"), "bandwidth_mbps", "number"),
        (("peering_location:", "peering_locaton:"), "peering_locaton", "peering_location"),
    ],
)
def test_native_mistakes_are_located_and_explained(tmp_path, change, where, says):
    path = tmp_path / "bad.yaml"
    path.write_text(NATIVE.replace(*change))
    with pytest.raises(InputError) as caught:
        load_topology(path)
    text = str(caught.value)
    assert where in text
    assert says in text


def test_cli_validate_reports_expressroute_findings_as_json(tmp_path, capsys):
    path = tmp_path / "er.yaml"
    path.write_text(NATIVE.replace("bandwidth_mbps: 1000", "bandwidth_mbps: 300"))
    assert main(["validate", str(path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in out["findings"]] == ["InvalidCircuitBandwidth"]
    assert out["findings"][0]["resources"] == ["express_route_circuit/er-ams"]


def test_a_missing_circuit_in_rest_input_leaves_the_connection_out_and_says_so(tmp_path):
    path = tmp_path / "rest.json"
    path.write_text(json.dumps(REST[1:]))
    document = load_topology(path)
    assert "ConnectionEndNotInInput" in codes(document)
    assert document.fabric.connections == {}
