output "vnet_id" {
  value = azurerm_virtual_network.this.id
}

output "workload_subnet_id" {
  value = azurerm_subnet.workload.id
}
