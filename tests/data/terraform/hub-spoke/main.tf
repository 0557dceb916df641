# A hub and two spokes: the spokes come from a local module, one instance per map entry.
terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 3.100"
    }
  }
}

provider "azurerm" {
  features {}
}

locals {
  hub_name = "${var.prefix}-hub"
  hub_subnets = {
    GatewaySubnet       = cidrsubnet(var.hub_space, 11, 2040)
    AzureFirewallSubnet = cidrsubnet(var.hub_space, 10, 1)
    nva                 = cidrsubnet(var.hub_space, 8, 2)
  }
  tags = merge({ owner = "netops" }, { env = lower("TEST") })
}

resource "azurerm_resource_group" "hub" {
  name     = "${var.prefix}-rg"
  location = var.location
}

resource "azurerm_virtual_network" "hub" {
  name                = local.hub_name
  location            = azurerm_resource_group.hub.location
  resource_group_name = azurerm_resource_group.hub.name
  address_space       = [var.hub_space]
  tags                = local.tags
}

resource "azurerm_subnet" "hub" {
  for_each             = local.hub_subnets
  name                 = each.key
  resource_group_name  = azurerm_resource_group.hub.name
  virtual_network_name = azurerm_virtual_network.hub.name
  address_prefixes     = [each.value]
}

resource "azurerm_public_ip" "fw" {
  name                = "${var.prefix}-fw-pip"
  location            = azurerm_resource_group.hub.location
  resource_group_name = azurerm_resource_group.hub.name
  allocation_method   = "Static"
  sku                 = "Standard"
}

resource "azurerm_firewall" "hub" {
  name                = "${var.prefix}-fw"
  location            = azurerm_resource_group.hub.location
  resource_group_name = azurerm_resource_group.hub.name
  sku_name            = "AZFW_VNet"
  sku_tier            = "Standard"

  ip_configuration {
    name                 = "configuration"
    subnet_id            = azurerm_subnet.hub["AzureFirewallSubnet"].id
    public_ip_address_id = azurerm_public_ip.fw.id
  }
}

resource "azurerm_firewall_network_rule_collection" "spokes" {
  name                = "spoke-to-spoke"
  azure_firewall_name = azurerm_firewall.hub.name
  resource_group_name = azurerm_resource_group.hub.name
  priority            = 100
  action              = "Allow"

  dynamic "rule" {
    for_each = var.spokes
    content {
      name                  = "from-${rule.key}"
      source_addresses      = [rule.value.address_space]
      destination_addresses = [for name, spoke in var.spokes : spoke.address_space if name != rule.key]
      destination_ports     = ["*"]
      protocols             = ["TCP", "UDP"]
    }
  }
}

resource "azurerm_network_interface" "nva" {
  count                 = var.nva_count
  name                  = format("%s-nva-%02d", var.prefix, count.index + 1)
  location              = azurerm_resource_group.hub.location
  resource_group_name   = azurerm_resource_group.hub.name
  ip_forwarding_enabled = true

  ip_configuration {
    name                          = "ipconfig"
    subnet_id                     = azurerm_subnet.hub["nva"].id
    private_ip_address_allocation = "Dynamic"
  }
}

resource "azurerm_linux_virtual_machine" "nva" {
  count                 = var.nva_count
  name                  = "${var.prefix}-nva-vm-${count.index + 1}"
  location              = azurerm_resource_group.hub.location
  resource_group_name   = azurerm_resource_group.hub.name
  size                  = "Standard_D2s_v5"
  zone                  = tostring(count.index + 1)
  admin_username        = "azureuser"
  network_interface_ids = [azurerm_network_interface.nva[count.index].id]

  admin_ssh_key {
    username   = "azureuser"
    public_key = file("${path.module}/id_rsa.pub")
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Standard_LRS"
  }

  source_image_reference {
    publisher = "Canonical"
    offer     = "0001-com-ubuntu-server-jammy"
    sku       = "22_04-lts"
    version   = "latest"
  }
}

resource "azurerm_public_ip" "gateway" {
  name                = "${var.prefix}-gw-pip"
  location            = azurerm_resource_group.hub.location
  resource_group_name = azurerm_resource_group.hub.name
  allocation_method   = "Static"
  sku                 = "Standard"
}

resource "azurerm_virtual_network_gateway" "hub" {
  name                = "${var.prefix}-vpngw"
  location            = azurerm_resource_group.hub.location
  resource_group_name = azurerm_resource_group.hub.name
  type                = "Vpn"
  vpn_type            = "RouteBased"
  sku                 = "VpnGw2"
  generation          = "Generation2"
  active_active       = false
  enable_bgp          = true

  bgp_settings {
    asn = 65010
  }

  ip_configuration {
    name                          = "vnetGatewayConfig"
    public_ip_address_id          = azurerm_public_ip.gateway.id
    private_ip_address_allocation = "Dynamic"
    subnet_id                     = azurerm_subnet.hub["GatewaySubnet"].id
  }
}

module "spoke" {
  source   = "./modules/spoke"
  for_each = var.spokes

  name                = "${var.prefix}-${each.key}"
  location            = var.location
  resource_group_name = azurerm_resource_group.hub.name
  address_space       = each.value.address_space
  workload_nsg        = each.value.workload_nsg
  hub_vnet_id         = azurerm_virtual_network.hub.id
  firewall_ip         = azurerm_firewall.hub.ip_configuration[0].private_ip_address

  depends_on = [azurerm_virtual_network_gateway.hub]
}

resource "azurerm_virtual_network_peering" "hub_to_spoke" {
  for_each                  = module.spoke
  name                      = "hub-to-${each.key}"
  resource_group_name       = azurerm_resource_group.hub.name
  virtual_network_name      = azurerm_virtual_network.hub.name
  remote_virtual_network_id = each.value.vnet_id
  allow_forwarded_traffic   = true
  allow_gateway_transit     = true
}

resource "azurerm_nat_gateway" "hub" {
  name                = "${var.prefix}-nat"
  location            = azurerm_resource_group.hub.location
  resource_group_name = azurerm_resource_group.hub.name
}

resource "random_string" "suffix" {
  length  = 6
  special = false
}
