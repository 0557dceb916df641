"""Azure resource objects (as ARM deploys them and as az/REST returns them) into a Fabric.

One mapping serves both importers: ``fabric.io.arm`` evaluates a template into resource
objects, ``fabric.io.rest`` reads them as az/REST printed them; both hand the objects here.
Each resource is ``{"type", "name", "id"?, "location"?, "properties", "sku"?}``; child
resources carry their full type (``Microsoft.Network/virtualNetworks/subnets``) and the name
``parent/child``. Property names are read ignoring case, booleans and numbers written as
strings are read as such (``fabric.io.azure_values``). Problems become findings; what can be
loaded is loaded, and nothing is merged or widened silently.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

import attrs

from fabric.control.addressing import AddressError, parse_prefix, reserved_addresses
from fabric.io import azure_avnm, azure_firewall
from fabric.io.anycase import any_case
from fabric.io.azure_names import canonical_names
from fabric.io.azure_values import (
    BadValueError,
    choice,
    flag,
    integer,
    ref_id,
    ref_ids,
    strings,
    text,
    whole,
)
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error, warning
from fabric.model.records import (
    ACCESSES,
    BASTION_SKUS,
    BASTION_SUBNET,
    CIRCUIT_FAMILIES,
    CIRCUIT_PROVISIONING_STATES,
    CIRCUIT_TIERS,
    CONNECTION_PROTOCOLS,
    CONNECTION_TYPES,
    DIRECTIONS,
    FIREWALL_TIERS,
    GATEWAY_TYPES,
    UDR_NEXT_HOP_TYPES,
    VPN_TYPES,
    ApplicationSecurityGroup,
    BastionHost,
    BgpPeer,
    BgpSettings,
    Connection,
    ExpressRouteCircuit,
    Firewall,
    Host,
    IpsecPolicy,
    LocalNetworkGateway,
    NatGateway,
    Nsg,
    Peering,
    Route,
    RouteServer,
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
VM = "microsoft.compute/virtualmachines"  # read for its size and NICs only
LOCAL_GATEWAY = "microsoft.network/localnetworkgateways"
FIREWALL = "microsoft.network/azurefirewalls"
FIREWALL_POLICY = "microsoft.network/firewallpolicies"
RULE_GROUP = "microsoft.network/firewallpolicies/rulecollectiongroups"
ASG = "microsoft.network/applicationsecuritygroups"
HUB = "microsoft.network/virtualhubs"
HUB_IP_CONFIG = "microsoft.network/virtualhubs/ipconfigurations"
HUB_BGP = "microsoft.network/virtualhubs/bgpconnections"
CIRCUIT = "microsoft.network/expressroutecircuits"
CIRCUIT_PEERING = "microsoft.network/expressroutecircuits/peerings"
CIRCUIT_AUTHORIZATION = "microsoft.network/expressroutecircuits/authorizations"
GLOBAL_REACH = "microsoft.network/expressroutecircuits/peerings/connections"
DIRECT_PORT = "microsoft.network/expressrouteports"
NAT_GATEWAY = "microsoft.network/natgateways"
BASTION = "microsoft.network/bastionhosts"
# Property paths of modelled types that the importer never reads (matched at the start of the
# path under ``properties``, lower case): a problem evaluating one is not the network's, so it
# is not reported: a VM's admin name and password (secure parameters, never given offline:
# only its size and NICs are read), a NIC's public IP (often named from a DNS-label parameter).
UNREAD: dict[str, re.Pattern[str]] = {
    VM: re.compile(r"(?!hardwareprofile\b|networkprofile\b)"),
    NIC: re.compile(r"ipconfigurations\[\d+\]\.properties\.publicipaddress\b"),
}
# Property paths of modelled types that hold secrets the deployment supplies (directly under
# ``properties``, lower case): a connection's pre-shared key and its ExpressRoute authorization
# key. Templates take them from a secure parameter, which is never given offline, or from Key
# Vault through the parameters file: there the importer reads a stand-in for the value, the
# same wherever that parameter supplies it (``ArmSecretAssumed``).
SECRETS: dict[str, frozenset[str]] = {
    CONNECTION: frozenset({"sharedkey", "authorizationkey"}),
}
# Containers with nothing to model: no finding for them. A circuit's authorizations only hold
# keys: a connection carries the key it uses.
ACCEPTED_NOT_MODELLED = frozenset({"microsoft.resources/resourcegroups", CIRCUIT_AUTHORIZATION})
MODELLED = frozenset(
    {
        VNET,
        SUBNET,
        PEERING,
        NSG,
        RULE,
        ROUTE_TABLE,
        ROUTE,
        GATEWAY,
        CONNECTION,
        NIC,
        VM,
        LOCAL_GATEWAY,
        FIREWALL,
        FIREWALL_POLICY,
        RULE_GROUP,
        ASG,
        HUB,
        HUB_IP_CONFIG,
        HUB_BGP,
        *azure_avnm.TYPES,
        CIRCUIT,
        CIRCUIT_PEERING,
        GLOBAL_REACH,
        DIRECT_PORT,
        NAT_GATEWAY,
        BASTION,
    }
)
UNKNOWN_REGION = "unknown"
# What ARM evaluation puts for the deployment's own subscription (``subscription()``, a
# ``resourceId()`` without one), which only Azure knows: in a template's IDs it says nothing.
PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
_BROKEN = object()  # a firewall policy whose rules could not be read (an error is noted)
ROUTE_SERVER_SUBNET = "RouteServerSubnet"
CONNECTION_STATES = ("Connected", "NotConnected", "Connecting", "Unknown")

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
    resource_id: str | None = None  # the full ID, when the input gives it (az/REST)


@attrs.frozen
class _VnetMeta:
    region: str
    prefixes: tuple[str, ...]
    encryption: bool = False


def _deployment(resource: AzureResource) -> str:
    """The deployment a template resource belongs to, from its origin: the path of its
    ``resources`` list (``resources[14].properties.template`` for a nested one)."""
    origin = resource.origin.split("<", 1)[0]
    return origin.rsplit("resources[", 1)[0]


def name_from_id(resource_id: Any, kind: str) -> str | None:
    """The name after ``/<kind>/`` in a resource ID (case-insensitive), else None."""
    if not isinstance(resource_id, str):
        return None
    parts = resource_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == kind.lower():
            return parts[i + 1]
    return None


def subscription_in(resource_id: Any, unknown: str | None = None) -> str | None:
    """The subscription a resource ID names (``/subscriptions/<id>/...``), else None (also
    when it is ``unknown``, a stand-in for a subscription not known)."""
    found = azure_avnm.subscription_of(resource_id)
    if not found or (unknown is not None and found.lower() == unknown.lower()):
        return None
    return found


def _protocol(value: Any) -> str | None:
    """A connection's IKE version; absent, the gateway's own (IKEv1 on PolicyBased, §3.1)."""
    if value is None or value == "":
        return None
    return choice(value, CONNECTION_PROTOCOLS, "connectionProtocol")


def _region(location: Any) -> str:
    """ARM locations are written both ways ('East US', 'eastus'); keep the compact form."""
    if not isinstance(location, str) or not location:
        return UNKNOWN_REGION
    return "".join(location.split()).lower()


def _names(references: Any, kind: str) -> tuple[str, ...]:
    """The names of the ``kind`` resources a list of ``{"id": ...}`` references names."""
    return tuple(name for i in ref_ids(references) if (name := name_from_id(i, kind)))


def _side(props: dict, singular: str, plural: str) -> tuple[str, ...]:
    """An NSG rule's prefixes or ports: the plural list, else the singular value."""
    values = strings(props.get(plural), plural)
    return values or strings(props.get(singular), singular)


class _Builder:
    def __init__(self, source: str, strict_duplicates: bool, from_template: bool = False) -> None:
        self.source = source
        self.strict_duplicates = strict_duplicates
        self.from_template = from_template
        self.fabric = Fabric()
        self.findings: list[Finding] = []
        self.subnets: dict[str, list[Subnet]] = {}
        self.vnet_meta: dict[str, _VnetMeta] = {}
        self.seen: dict[tuple[str, str], AzureResource] = {}
        self.pending_peerings: list[tuple[AzureResource, Peering]] = []
        self.pending_nics: list[tuple] = []
        self.vm_of_nic: dict[str, tuple[str, str | None]] = {}  # NIC -> (VM, its size)
        self.pending_connections: list[tuple[AzureResource, Connection]] = []
        self.pending_firewalls: list[tuple[AzureResource, Firewall, str | None]] = []
        self.policies: dict[str, AzureResource] = {}
        self.rule_groups: dict[str, list[AzureResource]] = defaultdict(list)
        self.hubs: dict[str, AzureResource] = {}
        self.hub_subnets: dict[str, list[str]] = defaultdict(list)
        self.hub_peers: dict[str, list[tuple[AzureResource, BgpPeer]]] = defaultdict(list)
        self.asg_refs: set[str] = set()
        self.avnm = azure_avnm.Assembly(self.fabric, self, self._vnet_record)  # added last
        self.pending_circuits: list[tuple[AzureResource, dict]] = []
        self.circuit_asns: dict[str, int] = {}  # circuit -> its private peering's peer ASN
        self.port_locations: dict[str, str] = {}  # ExpressRoute Direct port -> metro
        # VNet -> (subscription, where it was read, from the VNet's own resource ID or not)
        self.vnet_subscriptions: dict[str, tuple[str, str, bool]] = {}

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

    def not_modelled(self, resource: AzureResource, why: str, code: str = "ResourceNotModelled"):
        self.note(
            warning(
                code,
                f"{self.source}: {resource.origin} {resource.type} {resource.name!r} {why}",
                f"{resource.type}/{resource.name}",
            )
        )

    # -- VNets, subnets, peerings ------------------------------------------------------------

    def saw_subscription(self, vnet: str, resource_id: Any, origin: str, own: bool) -> None:
        """Note the subscription that ``resource_id`` puts VNet ``vnet`` in: its own ID (or a
        child's) wins over a reference from elsewhere (a peering's remote VNet); two that
        differ are a warning, since vnetsim names VNets by name."""
        unknown = PLACEHOLDER_SUBSCRIPTION if self.from_template else None
        subscription = subscription_in(resource_id, unknown)
        if subscription is None:
            return
        known = self.vnet_subscriptions.get(vnet)
        if known is None or (own and not known[2]):
            self.vnet_subscriptions[vnet] = (subscription, origin, own)
        if known is not None and known[0].lower() != subscription.lower():
            kept = self.vnet_subscriptions[vnet]
            self.note(
                warning(
                    "VnetSubscriptionsDiffer",
                    f"{self.source}: {origin} puts VNet {vnet} in subscription {subscription}, "
                    f"but {known[1]} puts it in {known[0]}; vnetsim names VNets by name and "
                    f"keeps {kept[0]} ({'its own resource ID' if kept[2] else 'read first'}). "
                    "Two VNets of one name in two subscriptions cannot be modelled together: "
                    "load them separately",
                    f"vnet/{vnet}",
                )
            )

    def vnet(self, r: AzureResource) -> None:
        self.saw_subscription(r.name, r.resource_id, r.origin, True)
        props = r.properties
        prefixes = strings((props.get("addressSpace") or {}).get("addressPrefixes"), "addressSpace")
        encryption = flag(props.get("encryption") or {}, "enabled", False)
        enforcement = (props.get("encryption") or {}).get("enforcement")
        if encryption and str(enforcement).lower() == "dropunencrypted":
            self.note(
                warning(
                    "EncryptionEnforcementNotSupported",
                    f"{self.source}: VNet {r.name} asks for encryption enforcement "
                    "DropUnencrypted, which Azure does not support (N5: only AllowUnencrypted "
                    "at GA); vnetsim models AllowUnencrypted: traffic of VMs that cannot "
                    "encrypt flows unencrypted instead of being dropped",
                    f"vnet/{r.name}",
                )
            )
        self.vnet_meta[r.name] = _VnetMeta(_region(r.location), prefixes, encryption)
        self.subnets.setdefault(r.name, [])
        for i, item in enumerate(props.get("subnets") or ()):
            self._child(self.subnet, "subnets", r, item, f"subnets[{i}]")
        for i, item in enumerate(props.get("virtualNetworkPeerings") or ()):
            self._child(
                self.peering, "virtualNetworkPeerings", r, item, f"virtualNetworkPeerings[{i}]"
            )

    def _child(self, handler: Callable, kind: str, parent: AzureResource, item: Any, path: str):
        """Hand an inline child (``kind`` "subnets" of a VNet...) to its handler; a problem with
        it is a finding about the child, and the parent still loads."""
        if not isinstance(item, dict):
            self.bad(parent, f"properties.{path} is not an object")
            return None
        child = AzureResource(
            f"{parent.type}/{kind}",
            f"{parent.name}/{item.get('name')}",
            item.get("properties") or {},
            origin=f"{parent.origin}.properties.{path}",
        )
        return self._run(handler, child)

    def _run(self, handler: Callable, resource: AzureResource) -> Any:
        try:
            return handler(resource)
        except (AttributeError, TypeError, ValueError, KeyError) as problem:
            # BadValueError says which property; other errors mean a value of the wrong shape.
            detail = (
                problem if isinstance(problem, BadValueError) else f"unexpected shape ({problem})"
            )
            self.bad(resource, detail)
            return None

    def subnet(self, r: AzureResource) -> None:
        vnet, _, name = r.name.partition("/")
        self.saw_subscription(vnet, r.resource_id, r.origin, True)
        props = r.properties
        listed = strings(props.get("addressPrefixes"), "addressPrefixes")
        prefix = text(props, "addressPrefix") or (listed[0] if listed else None)
        if not name or prefix is None:
            self.bad(r, "a subnet needs a name and properties.addressPrefix")
            return
        if len(listed) > 1:
            self.not_modelled(
                r, f"has {len(listed)} address prefixes; vnetsim models only the first, {prefix}"
            )
        endpoints = tuple(
            str(item.get("service"))
            for item in props.get("serviceEndpoints") or ()
            if isinstance(item, dict) and item.get("service")
        )
        subnet = Subnet(
            name,
            prefix,
            name_from_id(ref_id(props.get("networkSecurityGroup")), "networkSecurityGroups"),
            name_from_id(ref_id(props.get("routeTable")), "routeTables"),
            endpoints,
            nat_gateway=name_from_id(ref_id(props.get("natGateway")), "natGateways"),
        )
        existing = self.subnets.setdefault(vnet, [])
        same = next((s for s in existing if s.name == name), None)
        if same is None:
            existing.append(subnet)
        elif same != subnet:
            self.note(
                warning(
                    "SubnetDeclaredTwice",
                    f"{self.source}: {r.origin} subnet {vnet}/{name} is declared inline in its "
                    f"VNet and again as a resource with different settings ({same.address_prefix}"
                    f" vs {subnet.address_prefix}); Azure applies whichever deploys last. "
                    "vnetsim keeps the inline one; declare it once",
                    f"subnet/{vnet}/{name}",
                )
            )

    def peering(self, r: AzureResource) -> None:
        vnet, _, name = r.name.partition("/")
        props = r.properties
        remote_id = ref_id(props.get("remoteVirtualNetwork"))
        remote = name_from_id(remote_id, "virtualNetworks")
        if not name or remote is None:
            self.bad(
                r,
                "properties.remoteVirtualNetwork.id must be a VNet's resource ID, "
                f"got {remote_id!r}",
            )
            return
        self.saw_subscription(vnet, r.resource_id, r.origin, True)
        where = f"{r.origin} peering {vnet}/{name} (properties.remoteVirtualNetwork.id)"
        self.saw_subscription(remote, remote_id, where, False)
        state = props.get("peeringState")
        space = (props.get("remoteAddressSpace") or {}).get("addressPrefixes")
        link = Peering(
            name,
            vnet,
            remote,
            flag(props, "allowVirtualNetworkAccess", True),
            flag(props, "allowForwardedTraffic", False),
            flag(props, "allowGatewayTransit", False),
            flag(props, "useRemoteGateways", False),
            state if state in ("Initiated", "Connected", "Disconnected") else None,
            strings(space, "remoteAddressSpace.addressPrefixes") if space else None,
        )
        self.pending_peerings.append((r, link))

    # -- NSGs and route tables -----------------------------------------------------------------

    def nsg(self, r: AzureResource) -> None:
        rules = [
            self._child(self.rule, "securityRules", r, item, f"securityRules[{i}]")
            for i, item in enumerate(r.properties.get("securityRules") or ())
        ]
        previous = self.fabric.nsgs.get(r.name)
        merged = (*(previous.security_rules if previous else ()), *(x for x in rules if x))
        self.fabric.nsgs[r.name] = Nsg(r.name, merged)

    def rule(self, r: AzureResource) -> SecurityRule:
        _, _, name = r.name.partition("/")
        p = r.properties
        groups = {}
        for side in ("source", "destination"):
            names = _names(p.get(f"{side}ApplicationSecurityGroups"), "applicationSecurityGroups")
            prefixes = _side(p, f"{side}AddressPrefix", f"{side}AddressPrefixes")
            if names and prefixes:
                raise BadValueError(
                    f"the {side} names both address prefixes and application security groups; "
                    "Azure requires exactly one of them (N14.2)"
                )
            groups[side] = names
            self.asg_refs.update(names)
        protocol = str(p.get("protocol", "*"))
        return SecurityRule(
            name,
            whole(p.get("priority"), "properties.priority"),
            choice(p.get("direction"), DIRECTIONS, "direction"),
            choice(p.get("access"), ACCESSES, "access"),
            _PROTOCOLS.get(protocol.lower(), protocol),
            _side(p, "sourceAddressPrefix", "sourceAddressPrefixes") or ("*",),
            _side(p, "sourcePortRange", "sourcePortRanges") or ("*",),
            _side(p, "destinationAddressPrefix", "destinationAddressPrefixes") or ("*",),
            _side(p, "destinationPortRange", "destinationPortRanges") or ("*",),
            text(p, "description"),
            groups["source"],
            groups["destination"],
        )

    def child_rule(self, r: AzureResource) -> None:
        nsg_name = r.name.partition("/")[0]
        rule = self.rule(r)
        current = self.fabric.nsgs.get(nsg_name) or Nsg(nsg_name)
        self.fabric.nsgs[nsg_name] = Nsg(nsg_name, (*current.security_rules, rule))

    def route_table(self, r: AzureResource) -> None:
        routes = [
            self._child(self.route, "routes", r, item, f"routes[{i}]")
            for i, item in enumerate(r.properties.get("routes") or ())
        ]
        previous = self.fabric.route_tables.get(r.name)
        disable = flag(r.properties, "disableBgpRoutePropagation", False)
        self.fabric.route_tables[r.name] = RouteTable(
            r.name, (*(previous.routes if previous else ()), *(x for x in routes if x)), disable
        )

    def route(self, r: AzureResource) -> Route:
        p = r.properties
        return Route(
            r.name.partition("/")[2],
            text(p, "addressPrefix") or "",
            choice(p.get("nextHopType"), UDR_NEXT_HOP_TYPES, "nextHopType"),
            text(p, "nextHopIpAddress"),
        )

    def child_route(self, r: AzureResource) -> None:
        table = r.name.partition("/")[0]
        route = self.route(r)
        current = self.fabric.route_tables.get(table) or RouteTable(table)
        self.fabric.route_tables[table] = attrs.evolve(current, routes=(*current.routes, route))

    # -- gateways, sites and connections -------------------------------------------------------

    def gateway(self, r: AzureResource) -> None:
        p = r.properties
        kind = p.get("gatewayType") or "Vpn"
        if str(kind).lower() not in {t.lower() for t in GATEWAY_TYPES}:
            self.not_modelled(r, f"is a {kind} gateway; vnetsim models Vpn and ExpressRoute ones")
            return
        kind = choice(kind, GATEWAY_TYPES, "gatewayType")
        vnet = next(
            (
                name
                for config in p.get("ipConfigurations") or ()
                if (name := self._config_vnet(config)) is not None
            ),
            None,
        )
        if vnet is None:
            self.bad(r, "no ipConfigurations[].properties.subnet.id names the gateway's VNet")
            return
        self._subnet_subscription(p.get("ipConfigurations"), r.origin)
        sku_name = (p.get("sku") or r.sku or {}).get("name")
        sku = sku_name or ("VpnGw1" if kind == "Vpn" else "Standard")  # legacy names pass as is
        bgp = p.get("bgpSettings") or {}
        bounds = (p.get("autoScaleConfiguration") or {}).get("bounds") or {}
        self.fabric.gateways[r.name] = VpnGateway(
            r.name,
            vnet,
            str(sku),
            text(p, "vpnGatewayGeneration") or "Generation1",
            choice(p.get("vpnType"), VPN_TYPES, "vpnType", "RouteBased"),
            flag(p, "activeActive", False),
            integer(bgp, "asn", 65515),
            flag(p, "enableBgp", False),
            kind,
            # N1.6: off unless set (a gateway created before the change reports it true).
            flag(p, "allowRemoteVnetTraffic", False),
            integer(any_case(bounds), "min") if kind == "ExpressRoute" else None,
        )

    def _subnet_subscription(self, configs: Any, origin: str) -> None:
        """Note the subscription of the VNet an ipConfiguration's subnet ID names."""
        for config in configs if isinstance(configs, list) else ():
            vnet = self._config_vnet(config)
            if vnet is not None:
                subnet = ref_id((config.get("properties") or {}).get("subnet"))
                self.saw_subscription(vnet, subnet, f"{origin} ipConfigurations", True)
                return

    @staticmethod
    def _config_vnet(config: Any) -> str | None:
        if not isinstance(config, dict):
            return None
        subnet = (config.get("properties") or {}).get("subnet")
        return name_from_id(ref_id(subnet), "virtualNetworks")

    def local_network_gateway(self, r: AzureResource) -> None:
        p = r.properties
        space = p.get("localNetworkAddressSpace") or {}
        bgp = p.get("bgpSettings")
        settings = None
        if isinstance(bgp, dict) and bgp:
            asn = integer(bgp, "asn")
            if asn is None:
                raise BadValueError("properties.bgpSettings needs an asn")
            peer = text(bgp, "bgpPeeringAddress")
            settings = BgpSettings(asn, peer, integer(bgp, "peerWeight", 0))
        location = _region(r.location)
        self.fabric.local_network_gateways[r.name] = LocalNetworkGateway(
            r.name,
            strings(space.get("addressPrefixes"), "localNetworkAddressSpace.addressPrefixes"),
            text(p, "gatewayIpAddress"),
            text(p, "fqdn"),
            settings,
            None if location == UNKNOWN_REGION else location,
        )

    def connection(self, r: AzureResource) -> None:
        p = r.properties
        first = name_from_id(ref_id(p.get("virtualNetworkGateway1")), "virtualNetworkGateways")
        implied = "IPsec" if p.get("localNetworkGateway2") else "Vnet2Vnet"
        kind = choice(p.get("connectionType"), CONNECTION_TYPES, "connectionType", implied)
        if kind == "Vnet2Vnet":
            to = name_from_id(ref_id(p.get("virtualNetworkGateway2")), "virtualNetworkGateways")
        elif kind == "IPsec":
            to = name_from_id(ref_id(p.get("localNetworkGateway2")), "localNetworkGateways")
        elif kind == "ExpressRoute":
            to = name_from_id(ref_id(p.get("peer")), "expressRouteCircuits")
        else:
            self.not_modelled(
                r,
                f"is a {kind} connection; vnetsim models Vnet2Vnet, IPsec (site-to-site) and "
                "ExpressRoute ones",
            )
            return
        if first is None or to is None:
            wanted = {
                "Vnet2Vnet": "virtualNetworkGateway2",
                "IPsec": "localNetworkGateway2",
                "ExpressRoute": "peer (the circuit)",
            }[kind]
            self.bad(r, f"a {kind} connection needs virtualNetworkGateway1.id and {wanted}.id")
            return
        status = p.get("connectionStatus")
        connection = Connection(
            r.name,
            first,
            to,
            kind,
            text(p, "sharedKey"),
            flag(p, "enableBgp", False),
            self._ipsec_policy(r, p.get("ipsecPolicies") or ()),
            status if status in CONNECTION_STATES else None,
            flag(p, "usePolicyBasedTrafficSelectors", False),
            _protocol(p.get("connectionProtocol")),
            integer(p, "dpdTimeoutSeconds"),
            integer(p, "routingWeight", 0),
            flag(p, "expressRouteGatewayBypass", False),
            text(p, "authorizationKey"),
        )
        self._connection_extras(r)
        self.pending_connections.append((r, connection))

    def _connection_extras(self, r: AzureResource) -> None:
        """Settings that change which traffic a tunnel carries, which vnetsim does not model:
        said, so that no verdict about such traffic is taken at face value."""
        unmodelled = {
            "ingressNatRules": "NAT rules (translated addresses are not simulated)",
            "egressNatRules": "NAT rules (translated addresses are not simulated)",
            "trafficSelectorPolicies": "custom traffic selectors (vnetsim sends every prefix)",
            "enablePrivateLinkFastPath": "FastPath to private endpoints (not modelled, N1.4)",
        }
        named = sorted({label for key, label in unmodelled.items() if r.properties.get(key)})
        if named:
            self.not_modelled(
                r, f"uses {' and '.join(named)}; the connection is loaded without them"
            )

    def _ipsec_policy(self, r: AzureResource, policies: Any) -> IpsecPolicy | None:
        if not policies:
            return None
        if len(policies) > 1:
            self.bad(r, f"has {len(policies)} ipsecPolicies; Azure allows one; the first is used")
        q = policies[0]
        return IpsecPolicy(
            q.get("ikeEncryption"),
            q.get("ikeIntegrity"),
            q.get("dhGroup"),
            q.get("ipsecEncryption"),
            q.get("ipsecIntegrity"),
            q.get("pfsGroup"),
            integer(q, "saLifeTimeSeconds", 27000),
            integer(q, "saDataSizeKilobytes", 102400000),
        )

    # -- NICs and application security groups ----------------------------------------------------

    def nic(self, r: AzureResource) -> None:
        p = r.properties
        configs = [c for c in p.get("ipConfigurations") or () if isinstance(c, dict)]
        if not configs:
            self.bad(r, "a network interface needs ipConfigurations")
            return
        config = configs[0].get("properties") or {}
        subnet_id = ref_id(config.get("subnet"))
        vnet, subnet = (
            name_from_id(subnet_id, "virtualNetworks"),
            name_from_id(subnet_id, "subnets"),
        )
        if vnet is None or subnet is None:
            self.bad(r, "ipConfigurations[0].properties.subnet.id must name a VNet subnet")
            return
        self.saw_subscription(vnet, subnet_id, f"{r.origin} ipConfigurations[0]", True)
        groups: list[str] = []
        for item in configs:
            listed = (item.get("properties") or {}).get("applicationSecurityGroups")
            for group_id in ref_ids(listed):
                name = name_from_id(group_id, "applicationSecurityGroups")
                if name and name not in groups:
                    groups.append(name)
        self.asg_refs.update(groups)
        accelerated = p.get("enableAcceleratedNetworking")
        options = {
            "enable_ip_forwarding": flag(p, "enableIPForwarding", False),
            "application_security_groups": tuple(groups),
            "vm": name_from_id(ref_id(p.get("virtualMachine")), "virtualMachines"),
            "accelerated_networking": None
            if accelerated is None
            else flag(p, "enableAcceleratedNetworking", False),
        }
        address = text(config, "privateIPAddress")
        nsg = name_from_id(ref_id(p.get("networkSecurityGroup")), "networkSecurityGroups")
        self.pending_nics.append((r, vnet, subnet, address, nsg, options))

    def vm(self, r: AzureResource) -> None:
        """A virtual machine: its size (the egress cap of its NICs, N3.1) and which NICs are
        its own; nothing else of it is modelled."""
        p = r.properties
        size = text(p.get("hardwareProfile") or {}, "vmSize")
        profile = p.get("networkProfile") or {}
        for nic_id in ref_ids(profile.get("networkInterfaces")):
            nic = name_from_id(nic_id, "networkInterfaces")
            if nic is not None:
                self.vm_of_nic[nic] = (r.name, size)
        self.not_modelled(
            r,
            "is read only for its size (the egress cap of its NICs, N3.1) and which NICs are "
            "its own; the rest of it is not modelled",
        )

    def asg(self, r: AzureResource) -> None:
        self.fabric.application_security_groups[r.name] = ApplicationSecurityGroup(r.name)

    # -- ExpressRoute circuits -----------------------------------------------------------------

    def circuit(self, r: AzureResource) -> None:
        """``Microsoft.Network/expressRouteCircuits`` (N1.5); built once every resource is read,
        since a Direct circuit's peering location is its port's."""
        for i, item in enumerate(r.properties.get("peerings") or ()):
            self._child(self.circuit_peering, "peerings", r, item, f"peerings[{i}]")
        self.pending_circuits.append((r, r.properties))

    def circuit_peering(self, r: AzureResource) -> None:
        """Private peering gives the on-premises ASN (the AS path, N1.7); Microsoft peering is
        not modelled; Global Reach connections under it are reported apart."""
        circuit, _, name = r.name.partition("/")
        p = r.properties
        kind = text(p, "peeringType") or name
        if str(kind).lower() == "azureprivatepeering":
            asn = integer(p, "peerASN")
            if asn is not None:
                self.circuit_asns[circuit] = asn
            for i, item in enumerate(p.get("connections") or ()):
                self._child(self.global_reach, "connections", r, item, f"connections[{i}]")
            return
        self.not_modelled(
            r, f"is {kind}; vnetsim models private peering only (VNets, not Microsoft services)"
        )

    def global_reach(self, r: AzureResource) -> None:
        self.not_modelled(
            r,
            "is an ExpressRoute Global Reach connection (circuit to circuit, on-premises to "
            "on-premises); not modelled",
        )

    def direct_port(self, r: AzureResource) -> None:
        location = text(r.properties, "peeringLocation")
        if location:
            self.port_locations[r.name.lower()] = location

    def _finish_circuit(self, r: AzureResource, p: dict) -> None:
        sku = any_case(r.sku or p.get("sku") or {})
        provider = any_case(p.get("serviceProviderProperties") or {})
        port = name_from_id(ref_id(p.get("expressRoutePort")), "expressRoutePorts")
        location = text(provider, "peeringLocation")
        if port is not None:
            location = location or self.port_locations.get(port.lower())
        if location is None:
            where = (
                f"its ExpressRoute Direct port {port!r} (load the port with it)"
                if port is not None
                else "serviceProviderProperties.peeringLocation"
            )
            raise BadValueError(f"no peering location: set {where}")
        gbps = p.get("bandwidthInGbps")
        mbps = integer(provider, "bandwidthInMbps")
        if mbps is None and gbps is not None:
            mbps = round(float(gbps) * 1000)
        if mbps is None:
            raise BadValueError(
                "no bandwidth: set serviceProviderProperties.bandwidthInMbps (or bandwidthInGbps "
                "on an ExpressRoute Direct circuit)"
            )
        state = p.get("serviceProviderProvisioningState")
        record = ExpressRouteCircuit(
            r.name,
            location,
            mbps,
            choice(sku.get("tier"), CIRCUIT_TIERS, "sku.tier", "Standard"),
            choice(sku.get("family"), CIRCUIT_FAMILIES, "sku.family", "MeteredData"),
            (),
            text(provider, "serviceProviderName"),
            port,
            self.circuit_asns.get(r.name),
            0,
            choice(state, CIRCUIT_PROVISIONING_STATES, "serviceProviderProvisioningState")
            if state
            else None,
        )
        self.fabric.express_route_circuits[r.name] = record
        self.not_modelled(
            r,
            "does not say what on-premises advertises over it (ARM and az/REST carry no "
            "on-premises routes), so it carries no on-premises traffic here: add "
            "on_premises_prefixes to the circuit in the native YAML",
            "CircuitOnPremisesPrefixesUnknown",
        )

    # -- Azure Firewall ----------------------------------------------------------------------------

    def firewall(self, r: AzureResource) -> None:
        p = r.properties
        if p.get("virtualHub"):
            self.not_modelled(r, "is a secured virtual hub (vWAN) firewall; not modelled")
            return
        configs = [c for c in p.get("ipConfigurations") or () if isinstance(c, dict)]
        with_subnet = [c for c in configs if self._config_vnet(c) is not None]
        if not with_subnet:
            self.bad(r, "no ipConfigurations[].properties.subnet.id names its AzureFirewallSubnet")
            return
        self._subnet_subscription(with_subnet, r.origin)
        sku = p.get("sku") or r.sku or {}
        tier = choice(sku.get("tier"), FIREWALL_TIERS, "sku.tier", "Standard")
        policy = name_from_id(ref_id(p.get("firewallPolicy")), "firewallPolicies")
        classic = None
        if policy is None:
            classic = tuple(azure_firewall.classic_collections(p, r.origin, self._firewall_note))
        record = Firewall(
            r.name,
            self._config_vnet(with_subnet[0]),
            tier,
            text(with_subnet[0].get("properties") or {}, "privateIPAddress"),
            classic,
            policy,
            text(p, "threatIntelMode") or "Alert",
        )
        self.pending_firewalls.append((r, record, policy))

    def _firewall_note(self, code: str, message: str) -> None:
        self.note(warning(code, f"{self.source}: {message}"))

    def firewall_policy(self, r: AzureResource) -> None:
        self.policies[r.name.lower()] = r

    def rule_group(self, r: AzureResource) -> None:
        self.rule_groups[r.name.partition("/")[0].lower()].append(r)

    def _policy_rules(self, policy: str, seen: tuple[str, ...] = ()) -> list | None:
        """The network rule collections of a policy and its base policies (parents first);
        None when a policy or one of its groups is not in the input."""
        key = policy.lower()
        resource = self.policies.get(key)
        if resource is None or key in seen:
            return None
        groups = self.rule_groups.get(key, [])
        loaded = {g.name.partition("/")[2].lower() for g in groups}
        listed = {
            (name_from_id(i, "ruleCollectionGroups") or "").lower()
            for i in ref_ids(resource.properties.get("ruleCollectionGroups"))
        }
        if listed - loaded:  # az/REST lists the policy's groups by ID; one is missing
            return None
        base = name_from_id(ref_id(resource.properties.get("basePolicy")), "firewallPolicies")
        inherited: list = []
        if base is not None:
            inherited = self._policy_rules(base, (*seen, key))
            if inherited is None:
                return None
        triples = [(g.name.partition("/")[2], g.properties, g.origin) for g in groups]
        return inherited + azure_firewall.policy_collections(triples, policy, self._firewall_note)

    def _finish_firewall(self, resource: AzureResource, record: Firewall, policy: str | None):
        if policy is not None:
            try:
                collections = self._policy_rules(policy)
            except (AttributeError, TypeError, ValueError, KeyError) as problem:
                self.bad(resource, f"its firewall policy {policy!r}: {problem}")
                collections = _BROKEN
            if collections is None:
                self.not_modelled(
                    resource,
                    f"uses firewall policy {policy!r}, which (or one of whose rule collection "
                    "groups or base policies) is not in this input; its rules are not known, so "
                    "vnetsim cannot say what it allows. Load the policy and its "
                    "ruleCollectionGroups with it",
                    "FirewallRulesUnknown",
                )
            elif collections is not _BROKEN:
                record = attrs.evolve(record, network_rule_collections=tuple(collections))
            policy_resource = self.policies.get(policy.lower())
            if policy_resource is not None and not text(resource.properties, "threatIntelMode"):
                mode = text(policy_resource.properties, "threatIntelMode")
                record = attrs.evolve(record, threat_intel_mode=mode or record.threat_intel_mode)
        if self._vnet_record(record.vnet):
            self.fabric.firewalls[record.name] = record

    # -- NAT gateway ----------------------------------------------------------------------------

    def nat_gateway(self, r: AzureResource) -> None:
        """``Microsoft.Network/natGateways`` (N18.1): its public IPs and prefixes by name and
        its idle timeout; the subnets that use it name it (``properties.natGateway.id``)."""
        p = r.properties
        sku = text(any_case(p.get("sku") or r.sku or {}), "name")
        if sku is not None and sku.lower() != "standard":
            self.not_modelled(
                r,
                f"is of SKU {sku}; vnetsim models the Standard NAT gateway (N18.1) and read it so",
            )
        self.fabric.nat_gateways[r.name] = NatGateway(
            r.name,
            _names(p.get("publicIpAddresses"), "publicIPAddresses"),
            _names(p.get("publicIpPrefixes"), "publicIPPrefixes"),
            None,
            integer(p, "idleTimeoutInMinutes", 4),
        )

    # -- Azure Bastion --------------------------------------------------------------------------

    def bastion(self, r: AzureResource) -> None:
        """``Microsoft.Network/bastionHosts`` (N18.2): its SKU and VNet, from the subnet of its
        IP configuration (``AzureBastionSubnet``) or, for the Developer SKU, which has none,
        ``properties.virtualNetwork.id``. Unset, the SKU is Basic, Azure's default."""
        p = r.properties
        sku_object = r.sku if isinstance(r.sku, dict) else p.get("sku")
        sku = text(any_case(sku_object), "name") if isinstance(sku_object, dict) else None
        sku = sku or "Basic"
        canonical = {choice.lower(): choice for choice in BASTION_SKUS}.get(sku.lower())
        if canonical is None:
            self.bad(r, f"sku.name must be one of {', '.join(BASTION_SKUS)}, got {sku!r}")
            return
        subnet_ids = (
            ref_id((config.get("properties") or {}).get("subnet"))
            for config in p.get("ipConfigurations") or ()
            if isinstance(config, dict)
        )
        subnet_id = next((s for s in subnet_ids if name_from_id(s, "virtualNetworks")), None)
        vnet = name_from_id(subnet_id, "virtualNetworks")
        subnet = name_from_id(subnet_id, "subnets")
        if subnet is not None and subnet.lower() != BASTION_SUBNET.lower():
            self.bad(
                r,
                f"its IP configuration is in subnet {subnet} of {vnet}; a Bastion host goes "
                f"in the subnet named {BASTION_SUBNET} (N18.2)",
            )
            return
        if vnet is None:
            vnet = name_from_id(ref_id(p.get("virtualNetwork")), "virtualNetworks")
        if vnet is None:
            self.bad(
                r,
                "no ipConfigurations[].properties.subnet.id (its AzureBastionSubnet) or, for the "
                "Developer SKU, virtualNetwork.id names its VNet",
            )
            return
        self.fabric.bastions[r.name] = BastionHost(r.name, vnet, canonical)

    # -- Route Server ---------------------------------------------------------------------------

    def hub(self, r: AzureResource) -> None:
        self.hubs[r.name.lower()] = r
        for config in r.properties.get("ipConfigurations") or ():
            subnet_id = ref_id(((config or {}).get("properties") or {}).get("subnet"))
            if subnet_id:
                self.hub_subnets[r.name.lower()].append(subnet_id)
        for i, item in enumerate(r.properties.get("bgpConnections") or ()):
            if isinstance(item, dict) and item.get("properties"):
                self._child(self.hub_bgp, "bgpConnections", r, item, f"bgpConnections[{i}]")

    def hub_ip_config(self, r: AzureResource) -> None:
        subnet_id = ref_id(r.properties.get("subnet"))
        if subnet_id is None:
            raise BadValueError("properties.subnet.id is required")
        self.hub_subnets[r.name.partition("/")[0].lower()].append(subnet_id)

    def hub_bgp(self, r: AzureResource) -> None:
        hub, _, name = r.name.partition("/")
        p = r.properties
        peer_ip = text(p, "peerIp")
        if peer_ip is None:
            raise BadValueError("properties.peerIp is required")
        asn = integer(p, "peerAsn")
        if asn is None:
            raise BadValueError("properties.peerAsn is required")
        self.hub_peers[hub.lower()].append((r, BgpPeer(name, peer_ip, asn)))

    def _finish_hub(self, key: str, r: AzureResource) -> None:
        subnets = self.hub_subnets.get(key, [])
        server = [
            s for s in subnets if (name_from_id(s, "subnets") or "").lower() == "routeserversubnet"
        ]
        if not server:
            why = (
                "is a Virtual WAN hub; not modelled"
                if r.properties.get("virtualWan")
                else "has no ipConfiguration in a RouteServerSubnet in this input; if it is a "
                "Route Server, load its ipConfigurations child with it"
            )
            self.not_modelled(r, why)
            return
        vnet = name_from_id(server[0], "virtualNetworks")
        if vnet is None or not self._vnet_record(vnet):
            self.bad(r, "its RouteServerSubnet's VNet could not be built")
            return
        peers = tuple(peer for _, peer in self.hub_peers.get(key, ()))
        self.fabric.route_servers[r.name] = RouteServer(
            r.name, vnet, flag(r.properties, "allowBranchToBranchTraffic", False), peers
        )

    # -- Azure Virtual Network Manager (fabric.io.azure_avnm) ----------------------------------

    def avnm_resource(self, r: AzureResource) -> None:
        """Read now (a bad value is reported against the resource), add once the VNets the
        resources name are built (``_assemble_avnm``)."""
        self.avnm.read(r)

    def _assemble_avnm(self) -> None:
        configurations = self.avnm.finish()
        if configurations:
            self.note(
                warning(
                    "NetworkManagerDeploymentAssumed",
                    f"{self.source}: configuration(s) {', '.join(configurations)} are modelled "
                    "as deployed; Azure applies a configuration only once it is committed to a "
                    "region, and each commit replaces that region's set (N8.2)",
                )
            )

    # -- assembly --------------------------------------------------------------------------

    def handlers(self) -> dict[str, Callable[[AzureResource], Any]]:
        return {
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
            VM: self.vm,
            LOCAL_GATEWAY: self.local_network_gateway,
            FIREWALL: self.firewall,
            FIREWALL_POLICY: self.firewall_policy,
            RULE_GROUP: self.rule_group,
            ASG: self.asg,
            HUB: self.hub,
            HUB_IP_CONFIG: self.hub_ip_config,
            HUB_BGP: self.hub_bgp,
            **dict.fromkeys(azure_avnm.TYPES, self.avnm_resource),
            CIRCUIT: self.circuit,
            CIRCUIT_PEERING: self.circuit_peering,
            GLOBAL_REACH: self.global_reach,
            DIRECT_PORT: self.direct_port,
            NAT_GATEWAY: self.nat_gateway,
            BASTION: self.bastion,
        }

    def build(self, resources: list[AzureResource]) -> tuple[Fabric, list[Finding]]:
        handlers = self.handlers()
        for resource in self._redeployed(canonical_names(resources)):
            if not isinstance(resource.type, str) or not isinstance(resource.name, str):
                self.bad(resource, "its type and name must be strings")
                continue
            kind = resource.type.lower()
            if kind not in MODELLED:
                if kind not in ACCEPTED_NOT_MODELLED:
                    self.not_modelled(resource, "is not modelled by vnetsim and was left out")
                continue
            if not isinstance(resource.properties, dict):
                self.bad(resource, "properties must be an object")
                continue
            if self._duplicate(resource):
                continue
            resource.properties = any_case(resource.properties)
            self._run(handlers[kind], resource)
        self._assemble()
        return self.fabric, self.findings

    def _redeployed(self, resources: list[AzureResource]) -> list[AzureResource]:
        """Resources with a definition that a later deployment (a nested one) redefines left
        out: each deployment is its own template, and redeploying a resource with new settings
        (a subnet again, now with its NSG) is how templates update what they created. Azure
        ends with the definition deployed last, which dependsOn orders; vnetsim keeps the later
        one in the template's order, and says so. Two definitions in one template are an
        error (``_duplicate``)."""
        if not self.from_template:
            return resources
        last: dict[tuple[str, str], AzureResource] = {}
        for resource in resources:
            if isinstance(resource.type, str) and isinstance(resource.name, str):
                last[(resource.type.lower(), resource.name.lower())] = resource
        kept = []
        for resource in resources:
            if not isinstance(resource.type, str) or not isinstance(resource.name, str):
                kept.append(resource)
                continue
            later = last[(resource.type.lower(), resource.name.lower())]
            if later is resource or _deployment(later) == _deployment(resource):
                kept.append(resource)
                continue
            self.note(
                warning(
                    "ResourceRedeployed",
                    f"{self.source}: {resource.origin} {resource.type} {resource.name!r} is "
                    f"deployed again by another deployment at {later.origin}; vnetsim keeps "
                    "that later definition (Azure ends with the one deployed last: make it "
                    "depend on the first with dependsOn)",
                    f"{resource.type}/{resource.name}",
                )
            )
        return kept

    def _duplicate(self, resource: AzureResource) -> bool:
        """True (with a finding unless it is the same object twice in REST input) when a
        resource of this type and name was already read."""
        key = (resource.type.lower(), resource.name.lower())
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = resource
            return False
        same = first.properties == resource.properties and first.location == resource.location
        if same and not self.strict_duplicates:
            return True
        why = (
            "Azure rejects a template that defines a resource twice (InvalidTemplate)"
            if self.strict_duplicates
            else "two resources of one name (in two resource groups or subscriptions?) cannot "
            "both be modelled, since vnetsim names resources by name"
        )
        self.note(
            error(
                "DuplicateResource",
                f"{self.source}: {resource.origin} {resource.type} {resource.name!r} is also "
                f"defined at {first.origin}; {why}. The first one is kept and this one left "
                "out: rename or remove one",
                f"{resource.type}/{resource.name}",
            )
        )
        return True

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
            self.vnet_meta[name] = _VnetMeta(UNKNOWN_REGION, ())
        meta = self.vnet_meta[name]
        external = meta.region == UNKNOWN_REGION and not meta.prefixes
        subscription = self.vnet_subscriptions.get(name, (None,))[0]
        if self.from_template and not external:
            subscription = None  # deployed by the template's one principal: see build_fabric
        try:
            self.fabric.vnets[name] = VNet(
                name,
                meta.region,
                meta.prefixes,
                tuple(self.subnets.get(name, ())),
                subscription=subscription,  # from resource IDs; a tenant is not in them
                encryption=meta.encryption,
                external=external,
            )
        except (TypeError, ValueError) as problem:
            self.note(error("ImportInvalidResource", f"{self.source}: VNet {name!r}: {problem}"))
            return False
        return True

    def _assemble(self) -> None:
        for name in list(self.vnet_meta) + [s for s in self.subnets if s not in self.vnet_meta]:
            self._vnet_record(name)
        self._assemble_peerings()
        for name, gateway in list(self.fabric.gateways.items()):
            if not self._vnet_record(gateway.vnet):
                del self.fabric.gateways[name]
        for name, host in list(self.fabric.bastions.items()):
            if not self._vnet_record(host.vnet):
                del self.fabric.bastions[name]
        for resource, properties in self.pending_circuits:
            self._run(lambda _, r=resource, p=properties: self._finish_circuit(r, p), resource)
        self._assemble_connections()
        self._assemble_nics()
        for resource, record, policy in self.pending_firewalls:
            self._finish_firewall(resource, record, policy)
        for key, hub in self.hubs.items():
            self._run(lambda _, k=key, h=hub: self._finish_hub(k, h), hub)
        for hub in set(self.hub_peers) - set(self.hubs):
            resource = self.hub_peers[hub][0][0]
            self.bad(resource, f"its Route Server {hub!r} is not in this input")
        self._assemble_avnm()
        self._external_references()
        for name in sorted(self.asg_refs - set(self.fabric.application_security_groups)):
            # Referenced by a NIC or a rule; an ASG has nothing but its name to know.
            self.fabric.application_security_groups[name] = ApplicationSecurityGroup(name)

    def _external_references(self) -> None:
        """An NSG, route table or NAT gateway that a subnet or NIC names by resource ID but this
        input does not hold (another file or resource group, a partial export): left out with a
        warning, as a VNet outside the input is, since its settings are unknown here."""
        fabric = self.fabric
        missing: dict[tuple[str, str], list[str]] = {}
        for vnet in list(fabric.vnets.values()):
            subnets = []
            for subnet in vnet.subnets:
                changes = {}
                if subnet.nsg is not None and subnet.nsg not in fabric.nsgs:
                    missing.setdefault(("NSG", subnet.nsg), []).append(f"{vnet.name}/{subnet.name}")
                    changes["nsg"] = None
                if subnet.route_table is not None and subnet.route_table not in fabric.route_tables:
                    key = ("route table", subnet.route_table)
                    missing.setdefault(key, []).append(f"{vnet.name}/{subnet.name}")
                    changes["route_table"] = None
                if subnet.nat_gateway is not None and subnet.nat_gateway not in fabric.nat_gateways:
                    key = ("NAT gateway", subnet.nat_gateway)
                    missing.setdefault(key, []).append(f"{vnet.name}/{subnet.name}")
                    changes["nat_gateway"] = None
                subnets.append(attrs.evolve(subnet, **changes) if changes else subnet)
            hosts = []
            for host in vnet.hosts:
                if host.nsg is not None and host.nsg not in fabric.nsgs:
                    missing.setdefault(("NSG", host.nsg), []).append(f"NIC {host.name}")
                    host = attrs.evolve(host, nsg=None)
                hosts.append(host)
            if tuple(subnets) != vnet.subnets or tuple(hosts) != vnet.hosts:
                fabric.vnets[vnet.name] = attrs.evolve(vnet, subnets=subnets, hosts=hosts)
        for (kind, name), users in missing.items():
            self.note(
                warning(
                    "ReferencedResourceNotInInput",
                    f"{self.source}: {kind} {name}, used by {', '.join(users)}, is not in this "
                    f"input, so what it holds is unknown here and it was left out (nothing of "
                    f"it applies); load the file that declares it too",
                    *(f"vnet/{u}" if not u.startswith("NIC ") else f"host/{u[4:]}" for u in users),
                )
            )

    def _assemble_peerings(self) -> None:
        for resource, link in self.pending_peerings:
            if not self._vnet_record(link.vnet):
                self.bad(resource, f"its VNet {link.vnet!r} could not be built")
                continue
            if link.remote_address_space is not None and link.remote_vnet in self.vnet_meta:
                live = self.vnet_meta[link.remote_vnet].prefixes
                if sorted(live) == sorted(link.remote_address_space):
                    link = attrs.evolve(link, remote_address_space=None)
            if link.remote_address_space is None and link.remote_vnet not in self.vnet_meta:
                # Known only by reference (an existing VNet elsewhere): declare it external,
                # as the native format does, so that the written YAML loads the same way.
                self._vnet_record(link.remote_vnet)
            first = self.fabric.peerings.get((link.vnet, link.name))
            if first is not None:
                if first != link:
                    self.note(
                        warning(
                            "PeeringDeclaredTwice",
                            f"{self.source}: {resource.origin} peering {link.vnet}/{link.name} "
                            "is declared twice (inline in its VNet and as a resource, or in two "
                            "az outputs) with different settings; vnetsim keeps the first. "
                            "Declare it once",
                            f"peering/{link.vnet}/{link.name}",
                        )
                    )
                continue
            self.fabric.peerings[(link.vnet, link.name)] = link

    def _assemble_connections(self) -> None:
        """Connections whose ends are both loaded; the others are left out, said so."""
        for resource, connection in self.pending_connections:
            far = {
                "IPsec": self.fabric.local_network_gateways,
                "ExpressRoute": self.fabric.express_route_circuits,
            }.get(connection.connection_type, self.fabric.gateways)
            missing = [
                name
                for name, table in (
                    (connection.from_gateway, self.fabric.gateways),
                    (connection.to_gateway, far),
                )
                if name not in table
            ]
            if missing:
                self.note(
                    warning(
                        "ConnectionEndNotInInput",
                        f"{self.source}: {resource.origin} connection {resource.name!r} "
                        f"({connection.connection_type}) names {', '.join(map(repr, missing))}, "
                        "not loaded from this input; the connection is left out. Load the "
                        "gateways with it (one JSON list, or one template)",
                        f"connection/{resource.name}",
                    )
                )
                continue
            self.fabric.connections[connection.name] = connection

    def _assemble_nics(self) -> None:
        for resource, vnet, subnet, ip, nsg, options in self.pending_nics:
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
            vm, size = self.vm_of_nic.get(resource.name, (None, None))
            if vm is not None:
                options = {**options, "vm": options.get("vm") or vm, "vm_size": size}
            if options.get("vm") == resource.name:
                options["vm"] = None  # a VM of one NIC named like it: the NIC is the VM
            try:
                host = Host(resource.name, subnet, str(address), nsg, **options)
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


def build_fabric(
    resources: list[AzureResource],
    source: str,
    *,
    strict_duplicates: bool = False,
    from_template: bool = False,
) -> tuple[Fabric, list[Finding]]:
    """A Fabric from resource objects, with the findings of what could not be modelled.
    ``strict_duplicates``: every second definition of a resource is an error (templates);
    otherwise the same object read twice is taken once (az/REST pages).

    A VNet's ``subscription`` is the one its resource ID names (or the ID of a subnet, peering,
    gateway, firewall or NIC in it), else the one a peering's ``remoteVirtualNetwork.id``
    names. Tenants are not in resource IDs and stay unset. ``from_template``: the resources
    are one ARM deployment's. Then IDs in ``PLACEHOLDER_SUBSCRIPTION`` (the deployment's own
    subscription, which only Azure knows) name none, and the VNets the template deploys get
    none: one principal deploys them all and holds every action on them, so no link between
    them is refused for a permission (§2.9). The VNets it only references keep the
    subscription their ID names (a ``resourceId()`` with a subscription, a literal ID)."""
    return _Builder(source, strict_duplicates, from_template).build(resources)
