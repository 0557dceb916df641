"""The model: what a user declares, as frozen attrs records, and the ``Fabric`` that holds them.

Owns: the records (VNets, subnets, hosts, peerings, gateways, connections, NSGs, route tables,
traffic, timed events), the ``Fabric`` container and its edit API, and ``Finding`` (what checks
report).
May import: nothing of ``fabric`` outside this package (it is the bottom layer).
"""

from fabric.model.container import Fabric, FabricError
from fabric.model.findings import Finding, error, warning
from fabric.model.records import (
    ApplicationSecurityGroup,
    BgpPeer,
    BgpSettings,
    Connection,
    ConnectivityConfiguration,
    ExpressRouteCircuit,
    Firewall,
    FirewallNetworkRule,
    FirewallRuleCollection,
    GroupItem,
    Host,
    IpsecPolicy,
    LocalNetworkGateway,
    NetworkGroup,
    NetworkManager,
    NetworkManagerConnection,
    Nsg,
    Peering,
    Permission,
    Route,
    RouteServer,
    RouteTable,
    ScopeConnection,
    SecurityRule,
    Subnet,
    VNet,
    VpnGateway,
    suggest,
)
from fabric.model.traffic import FlowSpec, TrafficError

__all__ = [
    "ApplicationSecurityGroup",
    "BgpPeer",
    "BgpSettings",
    "Connection",
    "ConnectivityConfiguration",
    "ExpressRouteCircuit",
    "Fabric",
    "FabricError",
    "Finding",
    "Firewall",
    "FirewallNetworkRule",
    "FirewallRuleCollection",
    "FlowSpec",
    "GroupItem",
    "Host",
    "IpsecPolicy",
    "LocalNetworkGateway",
    "NetworkGroup",
    "NetworkManager",
    "NetworkManagerConnection",
    "Nsg",
    "Peering",
    "Permission",
    "Route",
    "RouteServer",
    "RouteTable",
    "ScopeConnection",
    "SecurityRule",
    "Subnet",
    "TrafficError",
    "VNet",
    "VpnGateway",
    "error",
    "suggest",
    "warning",
]
