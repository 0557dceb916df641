variable "prefix" {
  type        = string
  description = "Prefix of every name."
}

variable "location" {
  type    = string
  default = "West Europe"
}

variable "hub_space" {
  type    = string
  default = "10.0.0.0/16"
}

variable "spokes" {
  description = "Spoke VNets by short name."
  type = map(object({
    address_space = string
    workload_nsg  = optional(bool, true)
  }))
}

variable "nva_count" {
  type    = number
  default = 2
}
