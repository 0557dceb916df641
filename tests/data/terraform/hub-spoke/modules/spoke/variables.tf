variable "name" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "address_space" {
  type = string
}

variable "workload_nsg" {
  type    = bool
  default = true
}

variable "hub_vnet_id" {
  type = string
}

variable "firewall_ip" {
  type = string
}
