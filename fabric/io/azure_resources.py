"""Azure resource objects (as ARM deploys them and as az/REST returns them) into a Fabric.

One mapping serves both importers: ``fabric.io.arm`` evaluates a template into resource
objects, ``fabric.io.rest`` reads them as az/REST printed them; both hand the objects here.
Each resource is ``{"type", "name", "id"?, "location"?, "properties", "sku"?}``; child
resources carry their full type (``Microsoft.Network/virtualNetworks/subnets``) and the name
``parent/child``. Problems become findings; what can be loaded is loaded.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import attrs

from fabric.control.addressing import AddressError, parse_prefix, reserved_addresses
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error, warning
from fabric.model.records import (
    Connection,
    Host,
    IpsecPolicy,
    Nsg,
    Peering,
    Route,
    RouteTable,
    SecurityRule,
    Subnet,
    VNet,
    VpnGateway,
)

VNET = "microsoft.network/virtualnetworks"
SUBNET = "microsoft.network/virtualnetworks/subnets"
PEERING = "microsoft.network/virtualnetworks/virtualnetworkpeerings"
NSG = "microsoft.network/networksecuritygroups"
RULE = "microsoft.network/networksecuritygroups/securityrules"
ROUTE_TABLE = "microsoft.network/routetables"
ROUTE = "microsoft.network/routetables/routes"
GATEWAY = "microsoft.network/virtualnetworkgateways"
CONNECTION = "microsoft.network/connections"
NIC = "microsoft.network/networkinterfaces"
ACCEPTED_NOT_MODELLED = frozenset({"microsoft.network/publicipaddresses"})
MODELLED = frozenset(
    {VNET, SUBNET, PEERING, NSG, RULE, ROUTE_TABLE, ROUTE, GATEWAY, CONNECTION, NIC}
)
UNKNOWN_REGION = "unknown"

_PROTOCOLS = {
    "tcp": "Tcp",
    "udp": "Udp",
    "icmp": "Icmp",
    "esp": "Esp",
    "ah": "Ah",
    "*": "*",
    "any": "*",
}


@attrs.define
class AzureResource:
    """One resource object, with where it came from (for findings)."""

    type: str
    name: str
    properties: dict[str, Any]
    location: str | None = None
    sku: dict[str, Any] | None = None
    origin: str = ""  # e.g. "resources[3]" or "value[0]"


def name_from_id(resource_id: Any, kind: str) -> str | None:
    """The name after ``/<kind>/`` in a resource ID (case-insensitive), else None."""
    if not isinstance(resource_id, str):
        return None
    parts = resource_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == kind.lower():
            return parts[i + 1]
    return None


def _ref_id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else None


def _region(location: Any) -> str:
    """ARM locations are written both ways ('East US', 'eastus'); keep the compact form."""
    if not isinstance(location, str) or not location:
        return UNKNOWN_REGION
    return "".join(location.split()).lower()


def _plural(props: dict, singular: str, plural: str, default: Any = "*") -> Any:
    values = props.get(plural)
    if values:
        return [str(v) for v in values]
    value = props.get(singular)
    return default if value in (None, "") else str(value)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.fabric = Fabric()
        self.findings: list[Finding] = []
        self.subnets: dict[str, list[Subnet]] = {}
        self.hosts: dict[str, list[Host]] = {}
        self.vnet_meta: dict[str, tuple[str, tuple[str, ...]]] = {}

    def note(self, finding: Finding) -> None:
        self.findings.append(finding)

    def bad(self, resource: AzureResource, problem: Exception | str) -> None:
        self.note(
            error(
                "ImportInvalidResource",
                f"{self.source}: {resource.origin} {resource.type} {resource.name!r}: {problem}",
                f"{resource.type}/{resource.name}",
            )
        )

    # -- per type --------------------------------------------------------------------------

    def vnet(self, r: AzureResource) -> None:
        props = r.properties
        prefixes = tuple((props.get("addressSpace") or {}).get("addressPrefixes") or ())
        self.vnet_meta[r.name] = (_region(r.location), prefixes)
        self.subnets.setdefault(r.name, [])
        for item in props.get("subnets") or ():
            self.subnet(
                AzureResource(
                    SUBNET,
                    f"{r.name}/{item.get('name')}",
                    item.get("properties") or {},
                    origin=f"{r.origin}.properties.subnets",
                )
            )
        for item in props.get("virtualNetworkPeerings") or ():
            self.peering(
                AzureResource(
                    PEERING,
                    f"{r.name}/{item.get('name')}",
                    item.get("properties") or {},
                    origin=f"{r.origin}.properties.virtualNetworkPeerings",
                )
            )

    def subnet(self, r: AzureResource) -> None:
        vnet, _, name = r.name.partition("/")
        props = r.properties
        prefix = props.get("addressPrefix") or next(iter(props.get("addressPrefixes") or ()), None)
        if not name or prefix is None:
            self.bad(r, "a subnet needs a name and properties.addressPrefix")
            return
        subnet = Subnet(
            name,
            str(prefix),
            name_from_id(_ref_id(props.get("networkSecurityGroup")), "networkSecurityGroups"),
            name_from_id(_ref_id(props.get("routeTable")), "routeTables"),
        )
        existing = self.subnets.setdefault(vnet, [])
        if any(s.name == name for s in existing):
            return  # declared inline and as a child resource: the same subnet
        existing.append(subnet)

    def peering(self, r: AzureResource) -> None:
        vnet, _, name = r.name.partition("/")
        props = r.properties
        remote_id = _ref_id(props.get("remoteVirtualNetwork"))
        remote = name_from_id(remote_id, "virtualNetworks")
        if not name or remote is None:
            self.bad(
                r,
                "properties.remoteVirtualNetwork.id must be a VNet's resource ID, "
                f"got {remote_id!r}",
            )
            return
        state = props.get("peeringState")
        space = (props.get("remoteAddressSpace") or {}).get("addressPrefixes")
        try:
            link = Peering(
                name,
                vnet,
                remote,
                bool(props.get("allowVirtualNetworkAccess", True)),
                bool(props.get("allowForwardedTraffic", False)),
                bool(props.get("allowGatewayTransit", False)),
                bool(props.get("useRemoteGateways", False)),
                state if state in ("Initiated", "Connected", "Disconnected") else None,
                tuple(space) if space else None,
            )
        except (TypeError, ValueError) as problem:
            self.bad(r, problem)
            return
        self.pending_peerings.append((r, link))

    def nsg(self, r: AzureResource) -> None:
        rules = []
        for item in r.properties.get("securityRules") or ():
            rule = self.rule(
                AzureResource(
                    RULE,
                    f"{r.name}/{item.get('name')}",
                    item.get("properties") or {},
                    origin=f"{r.origin}.properties.securityRules",
                )
            )
            if rule is not None:
                rules.append(rule)
        previous = self.fabric.nsgs.get(r.name)
        merged = (*(previous.security_rules if previous else ()), *rules)
        self.fabric.nsgs[r.name] = Nsg(r.name, merged)

    def rule(self, r: AzureResource) -> SecurityRule | None:
        _, _, name = r.name.partition("/")
        p = r.properties
        try:
            return SecurityRule(
                name,
                int(p.get("priority")),
                str(p.get("direction")),
                str(p.get("access")),
                _PROTOCOLS.get(str(p.get("protocol", "*")).lower(), str(p.get("protocol"))),
                _plural(p, "sourceAddressPrefix", "sourceAddressPrefixes"),
                _plural(p, "sourcePortRange", "sourcePortRanges"),
                _plural(p, "destinationAddressPrefix", "destinationAddressPrefixes"),
                _plural(p, "destinationPortRange", "destinationPortRanges"),
                p.get("description") or None,
            )
        except (TypeError, ValueError) as problem:
            self.bad(r, problem)
            return None

    def child_rule(self, r: AzureResource) -> None:
        nsg_name = r.name.partition("/")[0]
        rule = self.rule(r)
        if rule is not None:
            current = self.fabric.nsgs.get(nsg_name) or Nsg(nsg_name)
            self.fabric.nsgs[nsg_name] = Nsg(nsg_name, (*current.security_rules, rule))

    def route_table(self, r: AzureResource) -> None:
        routes = []
        for item in r.properties.get("routes") or ():
            route = self.route(
                AzureResource(
                    ROUTE,
                    f"{r.name}/{item.get('name')}",
                    item.get("properties") or {},
                    origin=f"{r.origin}.properties.routes",
                )
            )
            if route is not None:
                routes.append(route)
        previous = self.fabric.route_tables.get(r.name)
        disable = bool(r.properties.get("disableBgpRoutePropagation", False))
        self.fabric.route_tables[r.name] = RouteTable(
            r.name, (*(previous.routes if previous else ()), *routes), disable
        )

    def route(self, r: AzureResource) -> Route | None:
        p = r.properties
        try:
            return Route(
                r.name.partition("/")[2],
                str(p.get("addressPrefix")),
                str(p.get("nextHopType")),
                p.get("nextHopIpAddress") or None,
            )
        except (TypeError, ValueError) as problem:
            self.bad(r, problem)
            return None

    def child_route(self, r: AzureResource) -> None:
        table = r.name.partition("/")[0]
        route = self.route(r)
        if route is not None:
            current = self.fabric.route_tables.get(table) or RouteTable(table)
            self.fabric.route_tables[table] = attrs.evolve(current, routes=(*current.routes, route))

    def gateway(self, r: AzureResource) -> None:
        p = r.properties
        if str(p.get("gatewayType", "Vpn")).lower() != "vpn":
            self.note(
                warning(
                    "ResourceNotModelled",
                    f"{self.source}: {r.origin} gateway {r.name} is {p.get('gatewayType')}; "
                    "vnetsim models VPN gateways only",
                    f"gateway/{r.name}",
                )
            )
            return
        vnet = None
        for config in p.get("ipConfigurations") or ():
            vnet = vnet or name_from_id(
                _ref_id((config.get("properties") or {}).get("subnet")), "virtualNetworks"
            )
        if vnet is None:
            self.bad(r, "no ipConfigurations[].properties.subnet.id names the gateway's VNet")
            return
        sku = (p.get("sku") or r.sku or {}).get("name") or "VpnGw1"
        bgp = p.get("bgpSettings") or {}
        try:
            self.fabric.gateways[r.name] = VpnGateway(
                r.name,
                vnet,
                str(sku),
                str(p.get("vpnGatewayGeneration") or "Generation1"),
                str(p.get("vpnType") or "RouteBased"),
                bool(p.get("activeActive", False)),
                int(bgp.get("asn", 65515)),
                bool(p.get("enableBgp", False)),
            )
        except (TypeError, ValueError) as problem:
            self.bad(r, problem)

    def connection(self, r: AzureResource) -> None:
        p = r.properties
        kind = str(p.get("connectionType", "Vnet2Vnet"))
        first = name_from_id(_ref_id(p.get("virtualNetworkGateway1")), "virtualNetworkGateways")
        second = name_from_id(_ref_id(p.get("virtualNetworkGateway2")), "virtualNetworkGateways")
        if kind != "Vnet2Vnet" or first is None or second is None:
            self.note(
                warning(
                    "ResourceNotModelled",
                    f"{self.source}: {r.origin} connection {r.name} is {kind}; vnetsim models "
                    "Vnet2Vnet connections between two virtual network gateways",
                    f"connection/{r.name}",
                )
            )
            return
        policy = None
        policies = p.get("ipsecPolicies") or ()
        try:
            if policies:
                q = policies[0]
                policy = IpsecPolicy(
                    q.get("ikeEncryption"),
                    q.get("ikeIntegrity"),
                    q.get("dhGroup"),
                    q.get("ipsecEncryption"),
                    q.get("ipsecIntegrity"),
                    q.get("pfsGroup"),
                    int(q.get("saLifeTimeSeconds", 27000)),
                    int(q.get("saDataSizeKilobytes", 102400000)),
                )
            status = p.get("connectionStatus")
            self.fabric.connections[r.name] = Connection(
                r.name,
                first,
                second,
                "Vnet2Vnet",
                p.get("sharedKey") or None,
                bool(p.get("enableBgp", False)),
                policy,
                status
                if status in ("Connected", "NotConnected", "Connecting", "Unknown")
                else None,
            )
        except (TypeError, ValueError) as problem:
            self.bad(r, problem)

    def nic(self, r: AzureResource) -> None:
        p = r.properties
        configs = p.get("ipConfigurations") or ()
        if not configs:
            self.bad(r, "a network interface needs ipConfigurations")
            return
        config = configs[0].get("properties") or {}
        subnet_id = _ref_id(config.get("subnet"))
        vnet, subnet = (
            name_from_id(subnet_id, "virtualNetworks"),
            name_from_id(subnet_id, "subnets"),
        )
        if vnet is None or subnet is None:
            self.bad(r, "ipConfigurations[0].properties.subnet.id must name a VNet subnet")
            return
        self.pending_nics.append(
            (
                r,
                vnet,
                subnet,
                config.get("privateIPAddress"),
                name_from_id(_ref_id(p.get("networkSecurityGroup")), "networkSecurityGroups"),
                bool(p.get("enableIPForwarding", False)),
            )
        )

    # -- assembly --------------------------------------------------------------------------

    def build(self, resources: list[AzureResource]) -> tuple[Fabric, list[Finding]]:
        self.pending_peerings: list[tuple[AzureResource, Peering]] = []
        self.pending_nics: list[tuple] = []
        handlers = {
            VNET: self.vnet,
            SUBNET: self.subnet,
            PEERING: self.peering,
            NSG: self.nsg,
            RULE: self.child_rule,
            ROUTE_TABLE: self.route_table,
            ROUTE: self.child_route,
            GATEWAY: self.gateway,
            CONNECTION: self.connection,
            NIC: self.nic,
        }
        for resource in resources:
            if not isinstance(resource.type, str) or not isinstance(resource.name, str):
                self.bad(resource, "its type and name must be strings")
                continue
            kind = resource.type.lower()
            if kind not in MODELLED:
                resource.properties = {}
            elif not isinstance(resource.properties, dict):
                self.bad(resource, "properties must be an object")
                continue
            handler = handlers.get(kind)
            if handler is not None:
                try:
                    handler(resource)
                except (AttributeError, TypeError, ValueError, KeyError) as problem:
                    # A value of the wrong shape somewhere inside (a list for an object...).
                    self.bad(resource, f"unexpected shape of its properties ({problem})")
            elif kind not in ACCEPTED_NOT_MODELLED:
                self.note(
                    warning(
                        "ResourceNotModelled",
                        f"{self.source}: {resource.origin} {resource.type} {resource.name!r} "
                        "is not modelled by vnetsim and was left out",
                        f"{resource.type}/{resource.name}",
                    )
                )
        self._assemble()
        return self.fabric, self.findings

    def _vnet_record(self, name: str) -> bool:
        """Make sure VNet ``name`` exists in the fabric; False when it cannot be built."""
        if name in self.fabric.vnets:
            return True
        if name not in self.vnet_meta:
            self.note(
                warning(
                    "VnetNotInInput",
                    f"{self.source}: VNet {name} is referenced but not defined in this file; its "
                    "address space and region are unknown here",
                    f"vnet/{name}",
                )
            )
            self.vnet_meta[name] = (UNKNOWN_REGION, ())
        region, prefixes = self.vnet_meta[name]
        external = region == UNKNOWN_REGION and not prefixes
        try:
            self.fabric.vnets[name] = VNet(
                name, region, prefixes, tuple(self.subnets.get(name, ())), external=external
            )
        except (TypeError, ValueError) as problem:
            self.note(error("ImportInvalidResource", f"{self.source}: VNet {name!r}: {problem}"))
            return False
        return True

    def _assemble(self) -> None:
        for name in list(self.vnet_meta) + [s for s in self.subnets if s not in self.vnet_meta]:
            self._vnet_record(name)
        for resource, link in self.pending_peerings:
            if not self._vnet_record(link.vnet):
                self.bad(resource, f"its VNet {link.vnet!r} could not be built")
                continue
            if (link.vnet, link.name) in self.fabric.peerings:
                continue
            if link.remote_address_space is not None and link.remote_vnet in self.vnet_meta:
                live = self.vnet_meta[link.remote_vnet][1]
                if sorted(live) == sorted(link.remote_address_space):
                    link = attrs.evolve(link, remote_address_space=None)
            self.fabric.peerings[(link.vnet, link.name)] = link
        for name, gateway in list(self.fabric.gateways.items()):
            if not self._vnet_record(gateway.vnet):
                del self.fabric.gateways[name]
        for resource, vnet, subnet, ip, nsg, forwarding in self.pending_nics:
            if not self._vnet_record(vnet):
                self.bad(resource, f"its VNet {vnet!r} could not be built")
                continue
            record = self.fabric.vnets[vnet]
            if subnet not in record.subnet_names:
                self.bad(resource, f"its subnet {vnet}/{subnet} is not defined")
                continue
            address = ip or self._next_free_ip(record, subnet)
            if address is None:
                self.bad(resource, f"no free address left in {vnet}/{subnet}")
                continue
            try:
                host = Host(
                    resource.name, subnet, str(address), nsg, enable_ip_forwarding=forwarding
                )
            except (TypeError, ValueError) as problem:
                self.bad(resource, problem)
                continue
            self.fabric.vnets[vnet] = attrs.evolve(record, hosts=(*record.hosts, host))

    def _next_free_ip(self, vnet: VNet, subnet_name: str) -> str | None:
        """Azure assigns dynamic addresses from the first usable one (.4) upward."""
        try:
            net = parse_prefix(vnet.subnet(subnet_name).address_prefix)
        except AddressError:
            return None
        taken = {h.ip for h in vnet.hosts} | {str(a) for a in reserved_addresses(net)}
        for offset in range(4, net.num_addresses - 1):
            candidate = str(IPv4Address(int(net.network_address) + offset))
            if candidate not in taken:
                return candidate
        return None


def build_fabric(resources: list[AzureResource], source: str) -> tuple[Fabric, list[Finding]]:
    """A Fabric from resource objects, with the findings of what could not be modelled."""
    return _Builder(source).build(resources)
