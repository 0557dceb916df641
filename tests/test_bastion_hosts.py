"""Azure Bastion hosts (N18.2): the subnet a host needs, the Developer SKU's lack of peering
support and Bastion's one-tenant reach, in the native format and from ARM and Terraform."""

from __future__ import annotations

import pytest

from fabric.checks import validate
from fabric.io import InputError, load_topology
from fabric.io.arm import load_arm
from fabric.model import Fabric
from tests.helpers import round_trip


def hub_and_spoke(sku: str, *, bastion_subnet: bool = True, spoke_tenant: str | None = None):
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16", tenant="contoso")
    if bastion_subnet:
        fabric.subnet("hub", "AzureBastionSubnet", "10.0.0.0/26")
    fabric.subnet("hub", "app", "10.0.1.0/24")
    fabric.vnet("spoke", "westeurope", "10.1.0.0/16", tenant=spoke_tenant or "contoso")
    fabric.subnet("spoke", "app", "10.1.1.0/24")
    fabric.peer("hub", "spoke")
    if spoke_tenant is not None:  # each tenant's admins may peer with the other's VNet (N7)
        fabric.permission("in-spoke", "contoso", "spoke", role="Network Contributor")
        fabric.permission("in-hub", spoke_tenant, "hub", role="Network Contributor")
    fabric.bastion("bastion", "hub", sku)
    return fabric


def bastion_findings(fabric) -> list[str]:
    return [f.code for f in validate(fabric) if "bastion/" in " ".join(f.resources)]


@pytest.mark.parametrize("sku", ["Basic", "Standard", "Premium"])
def test_a_bastion_in_its_subnet_reaching_a_peered_vnet_is_fine(sku):
    assert bastion_findings(hub_and_spoke(sku)) == []


def test_a_bastion_without_azure_bastion_subnet_cannot_be_deployed():
    fabric = hub_and_spoke("Standard", bastion_subnet=False)
    (finding,) = [f for f in validate(fabric) if f.code == "BastionSubnetMissing"]
    assert finding.severity == "Error"
    assert "AzureBastionSubnet" in finding.message


def test_the_developer_sku_needs_no_subnet_and_reaches_no_peered_vnet():
    fabric = hub_and_spoke("Developer", bastion_subnet=False)
    (finding,) = [f for f in validate(fabric) if f.code == "BastionDeveloperSkuNoPeering"]
    assert finding.severity == "Warning"
    assert "spoke" in finding.message
    alone = Fabric()
    alone.vnet("dev", "westeurope", "10.9.0.0/16")
    alone.bastion("b", "dev", "Developer")
    assert bastion_findings(alone) == []


def test_bastion_does_not_reach_a_vnet_peered_from_another_tenant():
    fabric = hub_and_spoke("Standard", spoke_tenant="fabrikam")
    (finding,) = [f for f in validate(fabric) if f.code == "BastionNotAcrossTenants"]
    assert "spoke" in finding.message
    assert bastion_findings(hub_and_spoke("Standard", spoke_tenant="contoso")) == []


def test_a_bastion_in_an_undeclared_vnet_is_reported():
    fabric = Fabric()
    fabric.bastion("b", "nowhere")
    assert [f.code for f in validate(fabric)] == ["ReferencedResourceNotFound"]


NATIVE = """
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets: [{name: AzureBastionSubnet, address_prefix: 10.0.0.0/26}]
bastions:
  - {name: hub-bastion, vnet: hub, sku: SKU}
"""


def test_native_bastions_load_and_round_trip(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text(NATIVE.replace("SKU", "Standard"))
    document = round_trip(load_topology(path))
    (host,) = document.fabric.bastions.values()
    assert (host.name, host.vnet, host.sku) == ("hub-bastion", "hub", "Standard")


def test_a_native_bastion_of_an_unknown_sku_is_refused_with_its_line(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text(NATIVE.replace("SKU", "Gold"))
    with pytest.raises(InputError) as raised:
        load_topology(path)
    assert "b.yaml:8" in raised.value.render()
    assert "Developer" in raised.value.render()


# -- importers --------------------------------------------------------------------------------

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def _arm_bastion(sku: dict | None, properties: dict) -> dict:
    resource = {
        "type": "Microsoft.Network/bastionHosts",
        "apiVersion": "2023-09-01",
        "name": "b",
        "location": "westeurope",
        "properties": properties,
    }
    if sku is not None:
        resource["sku"] = sku
    vnet = {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-09-01",
        "name": "hub",
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [
                {"name": "AzureBastionSubnet", "properties": {"addressPrefix": "10.0.0.0/26"}}
            ],
        },
    }
    return {"$schema": SCHEMA, "resources": [vnet, resource]}


SUBNET = "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'hub', 'AzureBastionSubnet')]"


def test_arm_bastion_hosts_are_read_with_their_sku_and_vnet():
    body = _arm_bastion(
        {"name": "standard"},
        {"ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": SUBNET}}}]},
    )
    fabric, findings = load_arm(body, None, "b.json")
    assert findings == []
    assert fabric.bastions["b"].vnet == "hub"
    assert fabric.bastions["b"].sku == "Standard"  # enumerations ignore case, as Azure's
    unset, _ = load_arm(_arm_bastion(None, body["resources"][1]["properties"]), None, "b.json")
    assert unset.bastions["b"].sku == "Basic"  # Azure's default


def test_an_arm_developer_bastion_names_its_vnet_directly():
    vnet_id = "[resourceId('Microsoft.Network/virtualNetworks', 'hub')]"
    body = _arm_bastion({"name": "Developer"}, {"virtualNetwork": {"id": vnet_id}})
    fabric, findings = load_arm(body, None, "b.json")
    assert findings == []
    assert (fabric.bastions["b"].vnet, fabric.bastions["b"].sku) == ("hub", "Developer")


def test_an_arm_bastion_without_a_vnet_or_of_an_unknown_sku_is_an_import_error():
    _, findings = load_arm(_arm_bastion({"name": "Basic"}, {}), None, "b.json")
    assert [f.code for f in findings] == ["ImportInvalidResource"]
    assert "AzureBastionSubnet" in findings[0].message
    body = _arm_bastion(
        {"name": "Gold"},
        {"ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": SUBNET}}}]},
    )
    _, findings = load_arm(body, None, "b.json")
    assert [f.code for f in findings] == ["ImportInvalidResource"]
    assert "Developer" in findings[0].message


TERRAFORM = """
resource "azurerm_virtual_network" "hub" {
  name                = "hub"
  location            = "westeurope"
  resource_group_name = "rg"
  address_space       = ["10.0.0.0/16"]
}
resource "azurerm_subnet" "bastion" {
  name                 = "AzureBastionSubnet"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.hub.name
  address_prefixes     = ["10.0.0.0/26"]
}
resource "azurerm_bastion_host" "b" {
  name                = "b"
  location            = "westeurope"
  resource_group_name = "rg"
  sku                 = "Standard"
  ip_configuration {
    name                 = "ip"
    subnet_id            = azurerm_subnet.bastion.id
    public_ip_address_id = "pip"
  }
}
resource "azurerm_bastion_host" "dev" {
  name                = "dev"
  location            = "westeurope"
  resource_group_name = "rg"
  sku                 = "Developer"
  virtual_network_id  = azurerm_virtual_network.hub.id
}
"""


def test_terraform_bastion_hosts_are_read(tmp_path):
    (tmp_path / "main.tf").write_text(TERRAFORM)
    document = load_topology(tmp_path)
    assert {name: (b.vnet, b.sku) for name, b in document.fabric.bastions.items()} == {
        "b": ("hub", "Standard"),
        "dev": ("hub", "Developer"),
    }
    assert not [f for f in document.findings if "bastion" in f.message.lower()]


def test_a_bastion_in_a_vnet_defined_elsewhere_is_not_called_subnetless():
    """A template that adds a Bastion host to an existing VNet (by ID): that VNet's subnets are
    not in the input, so nothing is said about them."""
    vnet_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hub"
    body = {
        "$schema": SCHEMA,
        "resources": [
            {
                "type": "Microsoft.Network/bastionHosts",
                "apiVersion": "2023-09-01",
                "name": "b",
                "location": "westeurope",
                "properties": {
                    "ipConfigurations": [
                        {
                            "name": "ip",
                            "properties": {
                                "subnet": {"id": f"{vnet_id}/subnets/AzureBastionSubnet"}
                            },
                        }
                    ]
                },
            }
        ],
    }
    fabric, findings = load_arm(body, None, "b.json")
    assert [f.code for f in findings] == ["VnetNotInInput"]
    assert fabric.bastions["b"].vnet == "hub"
    assert bastion_findings(fabric) == []


def test_a_bastion_outside_azure_bastion_subnet_is_an_import_error(tmp_path):
    other = "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'hub', 'app')]"
    body = _arm_bastion(
        {"name": "Basic"},
        {"ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": other}}}]},
    )
    _, findings = load_arm(body, None, "b.json")
    assert [f.code for f in findings] == ["ImportInvalidResource"]
    assert "AzureBastionSubnet" in findings[0].message
    (tmp_path / "main.tf").write_text(
        TERRAFORM.replace("azurerm_subnet.bastion.id", "azurerm_subnet.app.id")
        + """
resource "azurerm_subnet" "app" {
  name                 = "app"
  resource_group_name  = "rg"
  virtual_network_name = azurerm_virtual_network.hub.name
  address_prefixes     = ["10.0.1.0/24"]
}
"""
    )
    document = load_topology(tmp_path)
    assert "b" not in document.fabric.bastions
    assert [f.code for f in document.findings if f.severity == "Error"] == ["ImportInvalidResource"]
