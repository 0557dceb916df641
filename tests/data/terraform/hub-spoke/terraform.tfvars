prefix = "contoso"

spokes = {
  spoke1 = { address_space = "10.1.0.0/16" }
  spoke2 = { address_space = "10.2.0.0/16", workload_nsg = false }
}
