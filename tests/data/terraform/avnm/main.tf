terraform {
  required_providers {
    azurerm = { source = "hashicorp/azurerm", version = "~> 3.0" }
  }
}
provider "azurerm" {
  features {}
}
data "azurerm_subscription" "current" {}

resource "azurerm_resource_group" "rg" {
  name     = "rg-avnm"
  location = "westeurope"
}

resource "azurerm_virtual_network" "vnet" {
  count               = 3
  name                = "vnet-${count.index}"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  address_space       = ["10.${count.index}.0.0/16"]
  subnet {
    name           = "default"
    address_prefix = "10.${count.index}.0.0/24"
  }
}

resource "azurerm_network_manager" "nm" {
  name                = "network-manager"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  scope_accesses      = ["Connectivity", "SecurityAdmin"]
  description         = "example network manager"
  scope {
    subscription_ids = [data.azurerm_subscription.current.id]
  }
}

resource "azurerm_network_manager_network_group" "group" {
  name               = "network-group"
  network_manager_id = azurerm_network_manager.nm.id
}

resource "azurerm_network_manager_static_member" "members" {
  count                     = 3
  name                      = "member-${count.index}"
  network_group_id          = azurerm_network_manager_network_group.group.id
  target_virtual_network_id = azurerm_virtual_network.vnet[count.index].id
}

resource "azurerm_network_manager_connectivity_configuration" "mesh" {
  name                  = "connectivity-config"
  network_manager_id    = azurerm_network_manager.nm.id
  connectivity_topology = "Mesh"
  applies_to_group {
    group_connectivity = "None"
    network_group_id   = azurerm_network_manager_network_group.group.id
  }
}

resource "azurerm_virtual_network" "hub" {
  name                = "hub"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  address_space       = ["10.100.0.0/16"]
  subnet {
    name           = "shared"
    address_prefix = "10.100.1.0/24"
  }
}

resource "azurerm_network_manager_connectivity_configuration" "hub_spoke" {
  name                            = "hub-and-spoke"
  network_manager_id              = azurerm_network_manager.nm.id
  connectivity_topology           = "HubAndSpoke"
  delete_existing_peering_enabled = true
  applies_to_group {
    group_connectivity = "DirectlyConnected"
    network_group_id   = azurerm_network_manager_network_group.group.id
    use_hub_gateway    = false
  }
  hub {
    resource_id   = azurerm_virtual_network.hub.id
    resource_type = "Microsoft.Network/virtualNetworks"
  }
}

resource "azurerm_network_manager_security_admin_configuration" "admin" {
  name               = "admin-conf"
  network_manager_id = azurerm_network_manager.nm.id
}

resource "azurerm_network_manager_admin_rule_collection" "rc" {
  name                            = "rule-collection"
  security_admin_configuration_id = azurerm_network_manager_security_admin_configuration.admin.id
  network_group_ids               = [azurerm_network_manager_network_group.group.id]
}

resource "azurerm_network_manager_admin_rule" "deny_ssh" {
  name                     = "deny-ssh"
  admin_rule_collection_id = azurerm_network_manager_admin_rule_collection.rc.id
  action                   = "Deny"
  direction                = "Inbound"
  priority                 = 1
  protocol                 = "Tcp"
  destination_port_ranges  = ["22"]
  source {
    address_prefix_type = "IPPrefix"
    address_prefix      = "*"
  }
}

resource "azurerm_network_manager_deployment" "commit" {
  network_manager_id = azurerm_network_manager.nm.id
  location           = "westeurope"
  scope_access       = "Connectivity"
  configuration_ids = [
    azurerm_network_manager_connectivity_configuration.mesh.id,
    azurerm_network_manager_connectivity_configuration.hub_spoke.id,
  ]
}

resource "azurerm_network_manager_deployment" "commit_admin" {
  network_manager_id = azurerm_network_manager.nm.id
  location           = "westeurope"
  scope_access       = "SecurityAdmin"
  configuration_ids  = [azurerm_network_manager_security_admin_configuration.admin.id]
}
