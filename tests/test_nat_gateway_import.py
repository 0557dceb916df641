"""NAT gateways in every input format: an ARM template shaped like the published NAT gateway
quickstart (a public IP, a NAT gateway, a VNet whose subnet names it), az/REST bodies (as
``az network nat gateway show`` and ``az network vnet show`` print them), Terraform (azurerm's
NAT gateway and its three association resources), and the native YAML; every load
round-trips through the native format, and the trace names the NAT gateway."""

from __future__ import annotations

import json

import pytest

from fabric.checks import validate
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.watcher import connectivity
from tests.helpers import rid, round_trip


def codes(document) -> list[str]:
    return [f.code for f in document.findings]


def errors(fabric) -> list[str]:
    return [f.code for f in validate(fabric) if f.severity == "Error"]


def leaves_through(fabric, source: str) -> str:
    """The detail of the trace's Internet hop from ``source`` to a public address."""
    trace = connectivity(ControlPlane(fabric), source, "203.0.113.10")
    assert trace.reachable, trace.reason
    return trace.hops[-1].detail


# -- ARM ------------------------------------------------------------------------------------------

ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"natGatewayName": {"type": "string", "defaultValue": "myNATgateway"}},
    "resources": [
        {
            "type": "Microsoft.Network/publicIPAddresses",
            "apiVersion": "2021-05-01",
            "name": "myPublicIP",
            "location": "eastus",
            "sku": {"name": "Standard"},
            "properties": {"publicIPAddressVersion": "IPv4", "publicIPAllocationMethod": "Static"},
        },
        {
            "type": "Microsoft.Network/natGateways",
            "apiVersion": "2021-05-01",
            "name": "[parameters('natGatewayName')]",
            "location": "eastus",
            "sku": {"name": "Standard"},
            "properties": {
                "idleTimeoutInMinutes": 10,
                "publicIpAddresses": [
                    {"id": "[resourceId('Microsoft.Network/publicIPAddresses', 'myPublicIP')]"}
                ],
            },
            "dependsOn": ["[resourceId('Microsoft.Network/publicIPAddresses', 'myPublicIP')]"],
        },
        {
            "type": "Microsoft.Network/virtualNetworks",
            "apiVersion": "2021-05-01",
            "name": "myVNet",
            "location": "eastus",
            "properties": {
                "addressSpace": {"addressPrefixes": ["192.168.0.0/16"]},
                "subnets": [
                    {
                        "name": "mySubnet",
                        "properties": {
                            "addressPrefix": "192.168.0.0/24",
                            "natGateway": {
                                "id": "[resourceId('Microsoft.Network/natGateways', "
                                "parameters('natGatewayName'))]"
                            },
                        },
                    }
                ],
            },
            "dependsOn": [
                "[resourceId('Microsoft.Network/natGateways', parameters('natGatewayName'))]"
            ],
        },
    ],
}


def test_arm_nat_gateway_its_public_ip_and_the_subnet_that_names_it(tmp_path):
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(ARM))
    document = load_topology(path)
    gateway = document.fabric.nat_gateways["myNATgateway"]
    assert gateway.public_ip_addresses == ("myPublicIP",)
    assert gateway.idle_timeout_in_minutes == 10
    assert document.fabric.vnets["myVNet"].subnet("mySubnet").nat_gateway == "myNATgateway"
    # the public IP is read only by name, through the NAT gateway; the resource is said so
    assert codes(document) == ["ResourceNotModelled"]
    assert "publicIPAddresses" in document.findings[0].message
    assert errors(document.fabric) == []
    assert "NAT gateway myNATgateway" in leaves_through(document.fabric, "192.168.0.4")
    round_trip(document)


def test_arm_idle_timeout_defaults_to_4_minutes(tmp_path):
    body = json.loads(json.dumps(ARM))
    del body["resources"][1]["properties"]["idleTimeoutInMinutes"]
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(body))
    assert load_topology(path).fabric.nat_gateways["myNATgateway"].idle_timeout_in_minutes == 4


# -- az/REST --------------------------------------------------------------------------------------


NAT = {
    "id": rid("natGateways", "app-nat"),
    "name": "app-nat",
    "type": "Microsoft.Network/natGateways",
    "location": "westeurope",
    "sku": {"name": "Standard"},
    "properties": {
        "provisioningState": "Succeeded",
        "idleTimeoutInMinutes": "30",
        "publicIpAddresses": [{"id": rid("publicIPAddresses", "app-pip")}],
        "publicIpPrefixes": [{"id": rid("publicIPPrefixes", "app-prefix")}],
        "subnets": [{"id": rid("virtualNetworks", "app") + "/subnets/web"}],
    },
}
VNET = {
    "id": rid("virtualNetworks", "app"),
    "name": "app",
    "type": "Microsoft.Network/virtualNetworks",
    "location": "westeurope",
    "properties": {
        "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
        "subnets": [
            {
                "name": "web",
                "id": rid("virtualNetworks", "app") + "/subnets/web",
                "properties": {
                    "addressPrefix": "10.1.1.0/24",
                    "natGateway": {"id": rid("natGateways", "app-nat")},
                },
            },
            {
                "name": "db",
                "id": rid("virtualNetworks", "app") + "/subnets/db",
                "properties": {"addressPrefix": "10.1.2.0/24"},
            },
        ],
    },
}


def test_rest_nat_gateway_and_subnet(tmp_path):
    path = tmp_path / "rest.json"
    path.write_text(json.dumps({"value": [NAT, VNET]}))
    document = load_topology(path)
    gateway = document.fabric.nat_gateways["app-nat"]
    assert (gateway.public_ip_addresses, gateway.public_ip_prefixes) == (
        ("app-pip",),
        ("app-prefix",),
    )
    assert gateway.idle_timeout_in_minutes == 30  # a number written as a string, read as such
    vnet = document.fabric.vnets["app"]
    assert (vnet.subnet("web").nat_gateway, vnet.subnet("db").nat_gateway) == ("app-nat", None)
    assert codes(document) == []
    assert errors(document.fabric) == []
    assert "NAT gateway app-nat" in leaves_through(document.fabric, "10.1.1.4")
    assert "NAT" not in leaves_through(document.fabric, "10.1.2.4")
    round_trip(document)


def test_rest_subnet_naming_a_nat_gateway_not_in_the_input_is_said_and_left_out(tmp_path):
    path = tmp_path / "rest.json"
    path.write_text(json.dumps(VNET))
    document = load_topology(path)
    assert codes(document) == ["ReferencedResourceNotInInput"]
    assert "NAT gateway app-nat" in document.findings[0].message
    assert document.fabric.vnets["app"].subnet("web").nat_gateway is None
    assert errors(document.fabric) == []


# -- Terraform ------------------------------------------------------------------------------------

TF = """
resource "azurerm_resource_group" "rg" {
  name     = "rg-nat"
  location = "westeurope"
}
resource "azurerm_virtual_network" "app" {
  name                = "app"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  address_space       = ["10.1.0.0/16"]
}
resource "azurerm_subnet" "web" {
  name                 = "web"
  resource_group_name  = azurerm_resource_group.rg.name
  virtual_network_name = azurerm_virtual_network.app.name
  address_prefixes     = ["10.1.1.0/24"]
}
resource "azurerm_public_ip" "nat" {
  name                = "app-nat-pip"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  allocation_method   = "Static"
  sku                 = "Standard"
}
resource "azurerm_public_ip_prefix" "nat" {
  name                = "app-nat-prefix"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  prefix_length       = 30
}
resource "azurerm_nat_gateway" "app" {
  name                    = "app-nat"
  location                = azurerm_resource_group.rg.location
  resource_group_name     = azurerm_resource_group.rg.name
  sku_name                = "Standard"
  idle_timeout_in_minutes = 10
}
resource "azurerm_nat_gateway_public_ip_association" "app" {
  nat_gateway_id       = azurerm_nat_gateway.app.id
  public_ip_address_id = azurerm_public_ip.nat.id
}
resource "azurerm_nat_gateway_public_ip_prefix_association" "app" {
  nat_gateway_id      = azurerm_nat_gateway.app.id
  public_ip_prefix_id = azurerm_public_ip_prefix.nat.id
}
resource "azurerm_subnet_nat_gateway_association" "web" {
  subnet_id      = azurerm_subnet.web.id
  nat_gateway_id = azurerm_nat_gateway.app.id
}
"""


def test_terraform_nat_gateway_and_its_associations(tmp_path):
    (tmp_path / "main.tf").write_text(TF)
    document = load_topology(tmp_path)
    gateway = document.fabric.nat_gateways["app-nat"]
    assert (gateway.public_ip_addresses, gateway.public_ip_prefixes) == (
        ("app-nat-pip",),
        ("app-nat-prefix",),
    )
    assert gateway.idle_timeout_in_minutes == 10
    assert document.fabric.vnets["app"].subnet("web").nat_gateway == "app-nat"
    assert codes(document) == []
    assert errors(document.fabric) == []
    assert "NAT gateway app-nat" in leaves_through(document.fabric, "10.1.1.4")
    round_trip(document)


@pytest.mark.parametrize(
    ("drop", "says"),
    [
        ('resource "azurerm_nat_gateway" "app"', "NAT gateway 'app-nat' is not defined"),
        ("idle_timeout_in_minutes = 10", "has no argument 'idle_timeout_minutes'"),
    ],
)
def test_terraform_mistakes_are_findings_naming_the_address(tmp_path, drop, says):
    if drop.startswith("resource"):
        text = TF.replace(drop, 'resource "azurerm_nat_gateway" "other"').replace(
            '"app-nat"', '"other-nat"'
        )
        text = text.replace("azurerm_nat_gateway.app.id", '"' + rid("natGateways", "app-nat") + '"')
    else:
        text = TF.replace("idle_timeout_in_minutes", "idle_timeout_minutes")
    (tmp_path / "main.tf").write_text(text)
    document = load_topology(tmp_path)
    messages = " ".join(f.message for f in document.findings)
    assert says in messages


def test_a_sku_other_than_standard_is_said_and_read_as_standard(tmp_path):
    body = json.loads(json.dumps(ARM))
    body["resources"][1]["sku"] = {"name": "StandardV2"}
    path = tmp_path / "azuredeploy.json"
    path.write_text(json.dumps(body))
    document = load_topology(path)
    assert "myNATgateway" in document.fabric.nat_gateways
    (finding,) = [f for f in document.findings if "natGateways" in f.message]
    assert finding.code == "ResourceNotModelled"
    assert "SKU StandardV2" in finding.message
    (tmp_path / "main.tf").write_text(
        TF.replace('sku_name                = "Standard"', 'sku_name = "StandardV2"')
    )
    terraform = load_topology(tmp_path)
    assert [f.code for f in terraform.findings] == ["ResourceNotModelled"]
    assert "sku_name StandardV2" in terraform.findings[0].message
