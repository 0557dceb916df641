# A branch office over site-to-site IPsec with BGP, written for the azurerm 3.x provider
# (enable_bgp, disable_bgp_route_propagation, enable_ip_forwarding, address_prefix),
# with application security groups and a Route Server peered with an NVA.
provider "azurerm" {
  features {}
}

variable "shared_key" {
  type      = string
  sensitive = true
  default   = "Branch-Key-0001"
}

locals {
  rg       = "branch-rg"
  location = "northeurope"
}

resource "azurerm_network_security_group" "app" {
  name                = "app-nsg"
  location            = local.location
  resource_group_name = local.rg
}

resource "azurerm_application_security_group" "web" {
  name                = "asg-web"
  location            = local.location
  resource_group_name = local.rg
}

resource "azurerm_application_security_group" "db" {
  name                = "asg-db"
  location            = local.location
  resource_group_name = local.rg
}

resource "azurerm_network_security_rule" "web_to_db" {
  name                                       = "web-to-db"
  resource_group_name                        = local.rg
  network_security_group_name                = azurerm_network_security_group.app.name
  priority                                   = 110
  direction                                  = "Inbound"
  access                                     = "Allow"
  protocol                                   = "Tcp"
  source_port_range                          = "*"
  destination_port_ranges                    = ["1433", "1434"]
  source_application_security_group_ids      = [azurerm_application_security_group.web.id]
  destination_application_security_group_ids = [azurerm_application_security_group.db.id]
}

resource "azurerm_network_security_rule" "deny_db" {
  name                        = "deny-db"
  resource_group_name         = local.rg
  network_security_group_name = azurerm_network_security_group.app.name
  priority                    = 120
  direction                   = "Inbound"
  access                      = "Deny"
  protocol                    = "*"
  source_port_range           = "*"
  destination_port_range      = "1433"
  source_address_prefix       = "*"
  destination_address_prefix  = "*"
}

resource "azurerm_virtual_network" "azure" {
  name                = "azure-vnet"
  location            = local.location
  resource_group_name = local.rg
  address_space       = ["10.50.0.0/16"]

  subnet {
    name           = "app"
    address_prefix = "10.50.1.0/24"
    security_group = azurerm_network_security_group.app.id
  }

  subnet {
    name           = "RouteServerSubnet"
    address_prefix = "10.50.3.0/27"
  }

  subnet {
    name           = "nva"
    address_prefix = "10.50.4.0/24"
  }
}

resource "azurerm_subnet" "gateway" {
  name                 = "GatewaySubnet"
  resource_group_name  = local.rg
  virtual_network_name = "azure-vnet"
  address_prefix       = "10.50.255.0/27"
}

resource "azurerm_route_table" "app" {
  name                          = "app-rt"
  location                      = local.location
  resource_group_name           = local.rg
  disable_bgp_route_propagation = true
}

resource "azurerm_route" "to_branch" {
  name                = "to-branch"
  resource_group_name = local.rg
  route_table_name    = azurerm_route_table.app.name
  address_prefix      = "192.168.0.0/16"
  next_hop_type       = "VirtualNetworkGateway"
}

resource "azurerm_route" "via_nva" {
  name                   = "via-nva"
  resource_group_name    = local.rg
  route_table_name       = azurerm_route_table.app.name
  address_prefix         = "172.16.0.0/12"
  next_hop_type          = "VirtualAppliance"
  next_hop_in_ip_address = azurerm_network_interface.nva.private_ip_address
}

resource "azurerm_subnet_route_table_association" "app" {
  subnet_id      = "${azurerm_virtual_network.azure.id}/subnets/app"
  route_table_id = azurerm_route_table.app.id
}

resource "azurerm_network_interface" "web" {
  name                = "web-nic"
  location            = local.location
  resource_group_name = local.rg

  ip_configuration {
    name                          = "ipconfig"
    subnet_id                     = "${azurerm_virtual_network.azure.id}/subnets/app"
    private_ip_address_allocation = "Dynamic"
  }
}

resource "azurerm_network_interface" "db" {
  name                          = "db-nic"
  location                      = local.location
  resource_group_name           = local.rg
  enable_accelerated_networking = true

  ip_configuration {
    name                          = "ipconfig"
    subnet_id                     = tolist(azurerm_virtual_network.azure.subnet)[0].id
    private_ip_address_allocation = "Static"
    private_ip_address            = "10.50.1.4"
  }
}

resource "azurerm_network_interface" "nva" {
  name                 = "nva-nic"
  location             = local.location
  resource_group_name  = local.rg
  enable_ip_forwarding = true

  ip_configuration {
    name                          = "ipconfig"
    subnet_id                     = "${azurerm_virtual_network.azure.id}/subnets/nva"
    private_ip_address_allocation = "Dynamic"
  }
}

resource "azurerm_network_interface_application_security_group_association" "web" {
  network_interface_id          = azurerm_network_interface.web.id
  application_security_group_id = azurerm_application_security_group.web.id
}

resource "azurerm_network_interface_application_security_group_association" "db" {
  network_interface_id          = azurerm_network_interface.db.id
  application_security_group_id = azurerm_application_security_group.db.id
}

resource "azurerm_network_interface_security_group_association" "db" {
  network_interface_id      = azurerm_network_interface.db.id
  network_security_group_id = azurerm_network_security_group.app.id
}

resource "azurerm_virtual_machine" "db" {
  name                  = "db-vm"
  location              = local.location
  resource_group_name   = local.rg
  network_interface_ids = [azurerm_network_interface.db.id]
  vm_size               = "Standard_D4s_v5"
  zones                 = ["2"]

  os_profile_windows_config {
    provision_vm_agent = true
  }
}

resource "azurerm_public_ip" "gateway" {
  name                = "gw-pip"
  location            = local.location
  resource_group_name = local.rg
  allocation_method   = "Static"
  sku                 = "Standard"
}

resource "azurerm_virtual_network_gateway" "azure" {
  name                = "azure-gw"
  location            = local.location
  resource_group_name = local.rg
  type                = "Vpn"
  vpn_type            = "RouteBased"
  sku                 = "VpnGw1"
  enable_bgp          = true

  bgp_settings {
    asn = 65515
  }

  ip_configuration {
    public_ip_address_id = azurerm_public_ip.gateway.id
    subnet_id            = azurerm_subnet.gateway.id
  }
}

resource "azurerm_local_network_gateway" "branch" {
  name                = "branch-office"
  location            = local.location
  resource_group_name = local.rg
  gateway_address     = "203.0.113.10"
  address_space       = ["192.168.0.0/16"]

  bgp_settings {
    asn                 = 65050
    bgp_peering_address = "192.168.255.254"
  }
}

resource "azurerm_virtual_network_gateway_connection" "branch" {
  name                               = "azure-to-branch"
  location                           = local.location
  resource_group_name                = local.rg
  type                               = "IPsec"
  virtual_network_gateway_id         = azurerm_virtual_network_gateway.azure.id
  local_network_gateway_id           = azurerm_local_network_gateway.branch.id
  shared_key                         = var.shared_key
  enable_bgp                         = true
  use_policy_based_traffic_selectors = true
  dpd_timeout_seconds                = 45

  ipsec_policy {
    dh_group         = "DHGroup14"
    ike_encryption   = "AES256"
    ike_integrity    = "SHA256"
    ipsec_encryption = "GCMAES256"
    ipsec_integrity  = "GCMAES256"
    pfs_group        = "PFS2048"
    sa_lifetime      = 3600
  }
}

resource "azurerm_public_ip" "route_server" {
  name                = "ars-pip"
  location            = local.location
  resource_group_name = local.rg
  allocation_method   = "Static"
  sku                 = "Standard"
}

resource "azurerm_route_server" "hub" {
  name                             = "hub-ars"
  location                         = local.location
  resource_group_name              = local.rg
  sku                              = "Standard"
  public_ip_address_id             = azurerm_public_ip.route_server.id
  subnet_id                        = "${azurerm_virtual_network.azure.id}/subnets/RouteServerSubnet"
  branch_to_branch_traffic_enabled = true
}

resource "azurerm_route_server_bgp_connection" "nva" {
  name            = "nva-peer"
  route_server_id = azurerm_route_server.hub.id
  peer_asn        = 65001
  peer_ip         = azurerm_network_interface.nva.private_ip_address
}
