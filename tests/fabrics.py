"""Topologies from azure-facts.md's documented examples, built with the Python API."""

from __future__ import annotations

from fabric.model.container import Fabric
from fabric.model.records import Route

# §4.7's route table Subnet1-rt: the user routes with their documented names
SUBNET1_ROUTES = (
    Route("Within-VNet1", "10.0.0.0/16", "VirtualAppliance", "10.0.100.4"),
    Route("Within-Subnet1", "10.0.0.0/24", "VnetLocal"),
    Route("ToVNet2-1-Drop", "10.1.0.0/16", "None"),
    Route("ToVNet2-2-Drop", "10.2.0.0/16", "None"),
    Route("To-On-Prem", "10.10.0.0/16", "VirtualAppliance", "10.0.100.4"),
    Route("Default-NVA", "0.0.0.0/0", "VirtualAppliance", "10.0.100.4"),
)


def routing_example(with_route_table: bool = True) -> Fabric:
    """§4.7 / TC-RT-3, TC-RT-4. On-premises 10.10.0.0/16 is stood in for by a VNet behind a
    VNet-to-VNet connection (vnetsim models Vnet2Vnet tunnels), which gives the gateway the same
    learned route. The storage service endpoint (route ID10) is left out here; tests that need
    it add it (tests/test_service_endpoints.py, tests/test_fact_sheet_cases.py)."""
    fabric = Fabric()
    fabric.vnet("Virtual-network-1", "eastus", "10.0.0.0/16")
    fabric.vnet("Virtual-network-2", "eastus", ["10.1.0.0/16", "10.2.0.0/16"])
    fabric.vnet("OnPrem", "eastus", "10.10.0.0/16")
    if with_route_table:
        fabric.route_table(
            "Subnet1-rt",
            SUBNET1_ROUTES,
        )
    fabric.subnet(
        "Virtual-network-1",
        "Subnet1",
        "10.0.0.0/24",
        route_table="Subnet1-rt" if with_route_table else None,
    )
    fabric.subnet("Virtual-network-1", "Subnet2", "10.0.1.0/24")
    fabric.subnet("Virtual-network-1", "NVA", "10.0.100.0/24")
    fabric.subnet("Virtual-network-1", "GatewaySubnet", "10.0.255.0/27")
    fabric.host("Virtual-network-1", "nva", "NVA", "10.0.100.4", enable_ip_forwarding=True)
    fabric.host("Virtual-network-1", "vm1", "Subnet1", "10.0.0.4")
    fabric.host("Virtual-network-1", "vm2", "Subnet2", "10.0.1.4")
    fabric.subnet("Virtual-network-2", "app", "10.1.0.0/24")
    fabric.subnet("OnPrem", "GatewaySubnet", "10.10.255.0/27")
    fabric.subnet("OnPrem", "servers", "10.10.5.0/24")
    fabric.gateway("vnet1-gw", "Virtual-network-1", "VpnGw1")
    fabric.gateway("onprem-gw", "OnPrem", "VpnGw1")
    fabric.connect("vnet1-gw", "onprem-gw", shared_key="abc123")
    fabric.peer("Virtual-network-1", "Virtual-network-2")
    return fabric


def hub_and_spokes(*, transit: bool = True, remote: bool = True) -> Fabric:
    """Hub with a VPN gateway to a remote VNet; two spokes peered with the hub."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.subnet("hub", "fw", "10.0.2.0/24")
    fabric.host("hub", "nva", "fw", "10.0.2.4", enable_ip_forwarding=True)
    fabric.gateway("hub-gw", "hub", "VpnGw2", generation="Generation2")
    for i in (1, 2):
        name = f"spoke{i}"
        fabric.vnet(name, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(name, "app", f"10.{i}.0.0/24")
        fabric.host(name, f"vm{i}", "app", f"10.{i}.0.4")
        fabric.peer("hub", name, a_allows_gateway_transit=transit, b_uses_remote_gateways=transit)
    if remote:
        fabric.vnet("dr", "northeurope", "10.50.0.0/16")
        fabric.subnet("dr", "GatewaySubnet", "10.50.255.0/27")
        fabric.subnet("dr", "app", "10.50.1.0/24")
        fabric.host("dr", "dr-vm", "app", "10.50.1.4")
        fabric.gateway("dr-gw", "dr", "VpnGw2", generation="Generation2")
        fabric.connect("hub-gw", "dr-gw", shared_key="abc123")
    return fabric
