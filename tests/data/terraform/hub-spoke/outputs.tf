output "spoke_vnet_ids" {
  value = { for name, spoke in module.spoke : name => spoke.vnet_id }
}

output "nva_addresses" {
  value = azurerm_network_interface.nva[*].private_ip_address
}
