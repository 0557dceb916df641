"""azurerm resource instances (from HCL or from ``terraform show -json``) into a Fabric.

Both Terraform paths hand this module the same thing: resource instances with their address,
type and attribute values, some of which may be ``Unknown``. Names and references are read from
values and Azure resource IDs (``name_from_id``, as the ARM/REST importers do); a name that is
unknown offline keeps its display text (``${var.prefix}-vnet``) so references still agree.
Gaps become findings naming the Terraform address and the fix; what can be built is built.

Computed values that the model can derive are derived, and said so: a NIC with dynamic
allocation gets the next free address from .4 (static addresses are placed first), and a route
whose next hop is a firewall's ``ip_configuration[0].private_ip_address`` gets the firewall's
address (from the state, else the first usable address of AzureFirewallSubnet, N11.5).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address
from typing import Any

import attrs

from fabric.control.addressing import AddressError, parse_prefix, reserved_addresses
from fabric.io.azure_resources import _PROTOCOLS, UNKNOWN_REGION, name_from_id
from fabric.io.terraform import azapi
from fabric.io.terraform import diagnostics as codes
from fabric.io.terraform.azurerm_avnm import TYPES as AVNM_TYPES
from fabric.io.terraform.azurerm_avnm import AvnmMapper
from fabric.io.terraform.diagnostics import Report
from fabric.io.terraform.modules import ResourceInstance
from fabric.io.terraform.values import EvalError, Unknown, to_string
from fabric.io.terraform.view import InstanceView
from fabric.model.container import Fabric
from fabric.model.records import (
    BASTION_SUBNET,
    ApplicationSecurityGroup,
    BastionHost,
    BgpPeer,
    BgpSettings,
    Connection,
    ExpressRouteCircuit,
    Firewall,
    FirewallNetworkRule,
    FirewallRuleCollection,
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

# Accepted without a finding: they carry nothing a reachability model needs.
ACCEPTED = frozenset(
    {
        "azurerm_resource_group",
        "azurerm_public_ip",
        "azurerm_public_ip_prefix",
        "azurerm_network_watcher",
        "azurerm_ssh_public_key",
        "azurerm_virtual_machine_extension",
        "azurerm_managed_disk",
        "azurerm_virtual_machine_data_disk_attachment",
        "azurerm_express_route_circuit_authorization",  # a key: connections carry the one used
    }
)
_NIC_IP = re.compile(
    r"^(?P<nic>.*azurerm_network_interface\.[^.]+?)"
    r"\.(?:private_ip_address|private_ip_addresses\[0\]|ip_configuration\[0\]\.private_ip_address)$"
)
_FIREWALL_IP = re.compile(
    r"^(?P<fw>.*azurerm_firewall\.[^.]+?)\.ip_configuration\[0\]\.private_ip_address$"
)


@attrs.define
class _SubnetSpec:
    view: InstanceView  # the resource that declared it, for findings
    name: str
    prefix: str | None
    nsg: str | None = None
    route_table: str | None = None
    service_endpoints: tuple[str, ...] = ()
    nat_gateway: str | None = None


@attrs.define
class _NatSpec:
    """A NAT gateway as read so far: its association resources add its public IPs."""

    view: InstanceView
    idle_timeout: int | None
    addresses: list[str] = attrs.field(factory=list)
    prefixes: list[str] = attrs.field(factory=list)


@attrs.define
class _VNetSpec:
    view: InstanceView  # the resource that declared it (or first referred to it), for findings
    name: str
    region: str
    prefixes: tuple[str, ...]
    encryption: bool = False
    subnets: dict[str, _SubnetSpec] = attrs.field(factory=dict)
    external: bool = False


@attrs.define
class _NicSpec:
    view: InstanceView
    name: str
    vnet: str
    subnet: str
    ip: str | None
    forwarding: bool
    accelerated: bool | None
    nsg: str | None = None
    groups: list[str] = attrs.field(factory=list)
    vm: str | None = None
    vm_size: str | None = None
    zone: str | None = None
    os_profile: str | None = None


@attrs.define
class _PendingRoute:
    view: InstanceView
    table: str
    name: str
    prefix: str
    next_hop_type: str
    next_hop: Any


class _Mapper:
    """Builds the Fabric from instances; one method per azurerm type."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.fabric = Fabric()
        self.vnets: dict[str, _VNetSpec] = {}
        self.rules: dict[str, list[SecurityRule]] = {}
        self.tables: dict[str, tuple[list[_PendingRoute], bool]] = {}
        self.nics: dict[str, _NicSpec] = {}
        self.nic_by_address: dict[str, str] = {}
        self.firewall_by_address: dict[str, str] = {}
        self.collections: dict[str, list[FirewallRuleCollection]] = {}
        self.bgp_peers: dict[str, list[tuple[InstanceView, str, Any, int]]] = {}
        self.first_seen: dict[tuple[str, str], str] = {}
        self.circuit_asns: dict[str, int] = {}  # circuit -> its private peering's peer ASN
        self.port_locations: dict[str, str] = {}  # ExpressRoute Direct port -> metro
        self.nat_gateways: dict[str, _NatSpec] = {}
        self.avnm = AvnmMapper(self.fabric, report)

    def _unique(self, view: InstanceView, kind: str, name: str) -> bool:
        """True the first time a ``kind`` named ``name`` is met; a finding afterwards."""
        key = (kind, name)
        if key in self.first_seen:
            view.invalid(
                f"another {kind} is also named {name!r} ({self.first_seen[key]}); vnetsim keys "
                f"{kind}s by name, so this one was left out: give it a distinct name"
            )
            return False
        self.first_seen[key] = view.address
        return True

    # -- networks ----------------------------------------------------------------------------

    def virtual_network(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "VNet", name):
            return
        prefixes = view.strings("address_space", consequence="the VNet has no address space here")
        if prefixes is None and not view.has("address_space"):
            view.warn(
                "address_space is not set (an IPAM pool allocates it); the VNet has no address "
                "space here",
                codes.INVALID_RESOURCE,
            )
        spec = _VNetSpec(view, name, view.region(), prefixes or ())
        spec.encryption = bool(view.blocks("encryption"))
        self.vnets[name] = spec
        for block in view.blocks("subnet", quiet=True):
            self._subnet(block, spec, block.raw("security_group"), block.raw("route_table_id"))

    def subnet(self, view: InstanceView) -> None:
        vnet = view.name("virtual_network_name")
        if vnet is None:
            return
        spec = self._vnet(view, vnet)
        nsg = view.raw("network_security_group_id_wo")
        table = view.raw("route_table_id_wo")
        self._subnet(view, spec, nsg, table)

    def _subnet(self, view: InstanceView, vnet: _VNetSpec, nsg_id: Any, table_id: Any) -> None:
        name = view.name()
        if name is None:
            return
        prefixes = view.strings("address_prefixes", consequence="the subnet was left out")
        if prefixes is None:
            prefixes = view.strings("address_prefix", consequence="the subnet was left out")
        if not prefixes:
            if not view.has("address_prefixes") and not view.has("address_prefix"):
                view.invalid(f"subnet {name!r}: address_prefixes is required; set it")
            return
        if len(prefixes) > 1:
            view.warn(
                f"subnet {name!r} has {len(prefixes)} address prefixes; vnetsim models the "
                f"first ({prefixes[0]}) only",
                codes.NOT_MODELLED,
            )
        endpoints = list(view.strings("service_endpoints") or ())
        for block in view.blocks("service_endpoint"):
            service = block.text("service")
            if service:
                endpoints.append(service)
        spec = vnet.subnets.get(name)
        if spec is None:
            spec = vnet.subnets[name] = _SubnetSpec(view, name, prefixes[0])
        elif spec.prefix != prefixes[0]:
            view.invalid(
                f"VNet {vnet.name} already has a subnet named {name!r} with prefix "
                f"{spec.prefix}; keep one"
            )
            return
        # Otherwise the same subnet seen twice: inline in the VNet's state and as a resource.
        spec.service_endpoints = tuple(dict.fromkeys((*spec.service_endpoints, *endpoints)))
        if nsg_id not in (None, ""):
            self._attach_nsg(view, spec, nsg_id)
        if table_id not in (None, ""):
            self._attach_table(view, spec, table_id)

    def _vnet(self, view: InstanceView, name: str) -> _VNetSpec:
        """The VNet ``name``, made external (with a finding) when this input does not define it."""
        if name not in self.vnets:
            view.warn(
                f"VNet {name} is referenced but not defined in this configuration; its address "
                "space and region are unknown here (load the configuration that defines it too)",
                codes.VNET_NOT_IN_INPUT,
            )
            self.vnets[name] = _VNetSpec(view, name, UNKNOWN_REGION, (), external=True)
        return self.vnets[name]

    def _subnet_of(self, view: InstanceView, key: str) -> _SubnetSpec | None:
        vnet = view.ref(key, "virtualNetworks", required=True)
        subnet = view.ref(key, "subnets", required=True)
        if vnet is None or subnet is None:
            return None
        spec = self.vnets.get(vnet)
        if spec is None or subnet not in spec.subnets:
            view.invalid(
                f"{key} names subnet {vnet}/{subnet}, which this configuration does not define"
            )
            return None
        return spec.subnets[subnet]

    @staticmethod
    def _defined(view: InstanceView, label: str, name: str, table: Any, holder: str) -> bool:
        """Whether this configuration defines ``label`` ``name`` (is in ``table``); if not, a
        finding that ``holder`` was loaded without it."""
        if name in table:
            return True
        view.warn(
            f"{label} {name!r} is not defined in this configuration, so what it holds is "
            f"unknown here; {holder} was loaded without it",
            codes.NOT_MODELLED,
        )
        return False

    def _attach_nsg(self, view: InstanceView, subnet: _SubnetSpec, nsg_id: Any) -> None:
        name = _id_name(nsg_id, "networkSecurityGroups")
        if self._defined(view, "NSG", name, self.rules, f"subnet {subnet.name}"):
            subnet.nsg = name

    def _attach_table(self, view: InstanceView, subnet: _SubnetSpec, table_id: Any) -> None:
        name = _id_name(table_id, "routeTables")
        if self._defined(view, "route table", name, self.tables, f"subnet {subnet.name}"):
            subnet.route_table = name

    def subnet_network_security_group_association(self, view: InstanceView) -> None:
        subnet = self._subnet_of(view, "subnet_id")
        if subnet is not None:
            self._attach_nsg(view, subnet, view.raw("network_security_group_id"))

    def subnet_route_table_association(self, view: InstanceView) -> None:
        subnet = self._subnet_of(view, "subnet_id")
        if subnet is not None:
            self._attach_table(view, subnet, view.raw("route_table_id"))

    # -- NAT gateways (N18.1) ----------------------------------------------------------------

    def nat_gateway(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "NAT gateway", name):
            return
        sku = view.text("sku_name")
        if sku is not None and sku.lower() != "standard":
            view.warn(
                f"sku_name {sku}: vnetsim models the Standard NAT gateway (N18.1) and read it so",
                codes.NOT_MODELLED,
            )
        self.nat_gateways[name] = _NatSpec(view, view.integer("idle_timeout_in_minutes", 4))

    def subnet_nat_gateway_association(self, view: InstanceView) -> None:
        subnet = self._subnet_of(view, "subnet_id")
        if subnet is None:
            return
        name = _id_name(view.raw("nat_gateway_id"), "natGateways")
        if self._defined(view, "NAT gateway", name, self.nat_gateways, f"subnet {subnet.name}"):
            subnet.nat_gateway = name

    def nat_gateway_public_ip_association(self, view: InstanceView) -> None:
        self._nat_public_ip(view, "public_ip_address_id", "publicIPAddresses")

    def nat_gateway_public_ip_prefix_association(self, view: InstanceView) -> None:
        self._nat_public_ip(view, "public_ip_prefix_id", "publicIPPrefixes")

    def _nat_public_ip(self, view: InstanceView, key: str, kind: str) -> None:
        """A public IP or prefix associated with a NAT gateway, by name."""
        gateway = view.ref("nat_gateway_id", "natGateways", required=True)
        address = view.ref(key, kind, required=True)
        if gateway is None or address is None:
            return
        spec = self.nat_gateways.get(gateway)
        if spec is None:
            view.warn(
                f"NAT gateway {gateway} is not defined in this configuration; the association "
                "was left out",
                codes.NOT_MODELLED,
            )
            return
        (spec.addresses if kind == "publicIPAddresses" else spec.prefixes).append(address)

    def virtual_network_peering(self, view: InstanceView) -> None:
        name, vnet = view.name(), view.name("virtual_network_name")
        remote = view.ref("remote_virtual_network_id", "virtualNetworks", required=True)
        if name is None or vnet is None or remote is None:
            return
        self._vnet(view, vnet)
        self._vnet(view, remote)
        link = self._record(
            view,
            Peering,
            name,
            vnet,
            remote,
            view.flag("allow_virtual_network_access", True),
            view.flag("allow_forwarded_traffic", False),
            view.flag("allow_gateway_transit", False),
            view.flag("use_remote_gateways", False),
        )
        if link is None:
            return
        if (vnet, name) in self.fabric.peerings:
            view.invalid(f"VNet {vnet} already has a peering named {name!r}; keep one")
            return
        self.fabric.peerings[(vnet, name)] = link

    # -- security and routing -------------------------------------------------------------

    def network_security_group(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "NSG", name):
            return
        rules = self.rules[name] = []
        for block in view.blocks("security_rule"):
            rule = self._rule(block)
            if rule is not None:
                rules.append(rule)

    def network_security_rule(self, view: InstanceView) -> None:
        nsg = view.name("network_security_group_name")
        rule = self._rule(view)
        if nsg is None or rule is None:
            return
        if nsg not in self.rules:
            view.warn(
                f"NSG {nsg} is not defined in this configuration; the rule was left out",
                codes.NOT_MODELLED,
            )
            return
        self.rules[nsg].append(rule)

    def _rule(self, view: InstanceView) -> SecurityRule | None:
        name = view.name()
        protocol = view.text("protocol", required=True)
        if name is None or protocol is None:
            return None

        def side(single: str, plural: str) -> tuple[str, ...]:
            values = view.strings(plural)
            if values:
                return values
            value = view.text(single)
            return (value,) if value else ("*",)

        groups = {
            key: tuple(
                n
                for n in (name_from_id(i, "applicationSecurityGroups") for i in ids)
                if n is not None
            )
            for key in ("source", "destination")
            for ids in [view.strings(f"{key}_application_security_group_ids") or ()]
        }
        return self._record(
            view,
            SecurityRule,
            name,
            view.integer("priority", None),
            view.text("direction", required=True) or "",
            view.text("access", required=True) or "",
            _PROTOCOLS.get(protocol.lower(), protocol),
            side("source_address_prefix", "source_address_prefixes"),
            side("source_port_range", "source_port_ranges"),
            side("destination_address_prefix", "destination_address_prefixes"),
            side("destination_port_range", "destination_port_ranges"),
            view.text("description"),
            groups["source"],
            groups["destination"],
        )

    def route_table(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "route table", name):
            return
        disable = view.flag("disable_bgp_route_propagation", False)
        if view.has("bgp_route_propagation_enabled"):
            enabled = view.flag("bgp_route_propagation_enabled", True)
            if view.has("disable_bgp_route_propagation") and disable == enabled:
                view.invalid(
                    "bgp_route_propagation_enabled and disable_bgp_route_propagation disagree; "
                    "keep bgp_route_propagation_enabled (provider 4.x)"
                )
            disable = not enabled
        routes: list[_PendingRoute] = []
        self.tables[name] = (routes, disable)
        for block in view.blocks("route"):
            self._route(block, name, routes)

    def route(self, view: InstanceView) -> None:
        table = view.name("route_table_name")
        if table is None:
            return
        if table not in self.tables:
            view.warn(
                f"route table {table} is not defined in this configuration; the route was left out",
                codes.NOT_MODELLED,
            )
            return
        self._route(view, table, self.tables[table][0])

    def _route(self, view: InstanceView, table: str, routes: list[_PendingRoute]) -> None:
        name = view.name()
        prefix = view.text("address_prefix", required=True, consequence="the route was left out")
        hop_type = view.text("next_hop_type", required=True)
        if name is None or prefix is None or hop_type is None:
            return
        routes.append(
            _PendingRoute(view, table, name, prefix, hop_type, view.raw("next_hop_in_ip_address"))
        )

    def application_security_group(self, view: InstanceView) -> None:
        name = view.name()
        if name is not None and self._unique(view, "application security group", name):
            self.fabric.application_security_groups[name] = ApplicationSecurityGroup(name)

    # -- NICs and VMs -----------------------------------------------------------------------

    def network_interface(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "network interface", name):
            return
        configs = view.blocks("ip_configuration")
        if not configs:
            view.invalid("a network interface needs an ip_configuration block")
            return
        primary = next((c for c in configs if c.flag("primary", False, quiet=True)), configs[0])
        if len(configs) > 1:
            view.warn(
                f"has {len(configs)} ip_configuration blocks; vnetsim models the primary one",
                codes.NOT_MODELLED,
            )
        subnet_id = primary.raw("subnet_id")
        vnet, subnet = (
            primary.ref("subnet_id", "virtualNetworks"),
            primary.ref("subnet_id", "subnets"),
        )
        if vnet is None or subnet is None:
            if subnet_id is None:
                view.invalid("ip_configuration.subnet_id is required; set it to the subnet's id")
            return
        ip = None
        allocation = (primary.text("private_ip_address_allocation") or "Dynamic").lower()
        address = primary.raw("private_ip_address")
        if isinstance(address, str) and address:
            ip = address
        elif isinstance(address, Unknown) and allocation == "static":
            view.warn(
                f"private_ip_address is not known offline ({address.reason}); vnetsim gave the "
                "NIC the next free address of its subnet instead"
            )
        elif allocation == "static":
            view.invalid(
                "private_ip_address_allocation is Static but private_ip_address is not set"
            )
        forwarding = view.flag("ip_forwarding_enabled", view.flag("enable_ip_forwarding", False))
        accelerated = None
        for key in ("accelerated_networking_enabled", "enable_accelerated_networking"):
            if view.has(key):
                accelerated = view.flag(key, False)
        self.nics[name] = _NicSpec(view, name, vnet, subnet, ip, forwarding, accelerated)
        self.nic_by_address[view.address] = name

    def _nic_of(self, view: InstanceView, key: str = "network_interface_id") -> _NicSpec | None:
        name = view.ref(key, "networkInterfaces", required=True)
        if name is None:
            return None
        if name not in self.nics:
            view.invalid(f"{key} names NIC {name!r}, which this configuration does not define")
            return None
        return self.nics[name]

    def network_interface_security_group_association(self, view: InstanceView) -> None:
        nic = self._nic_of(view)
        nsg = view.ref("network_security_group_id", "networkSecurityGroups", required=True)
        if nic and nsg and self._defined(view, "NSG", nsg, self.rules, f"NIC {nic.name}"):
            nic.nsg = nsg

    def network_interface_application_security_group_association(self, view: InstanceView) -> None:
        nic = self._nic_of(view)
        group = view.ref(
            "application_security_group_id", "applicationSecurityGroups", required=True
        )
        if nic is None or group is None:
            return
        groups = self.fabric.application_security_groups
        defined = self._defined(
            view, "application security group", group, groups, f"NIC {nic.name}"
        )
        if defined and group not in nic.groups:
            nic.groups.append(group)

    def virtual_machine(self, view: InstanceView) -> None:
        name = view.name()
        if name is None:
            return
        kind = view.instance.type
        size = view.text("size") or view.text("vm_size")
        zone = view.raw("zone")
        zones = view.strings("zones")
        if zone is None and zones:
            zone = zones[0]
        os_profile = None
        if kind == "azurerm_linux_virtual_machine" or view.blocks("os_profile_linux_config"):
            os_profile = "linux"
        elif kind == "azurerm_windows_virtual_machine" or view.blocks("os_profile_windows_config"):
            os_profile = "windows"
        for nic_id in view.strings("network_interface_ids") or ():
            nic = self.nics.get(name_from_id(nic_id, "networkInterfaces") or "")
            if nic is None:
                view.warn(
                    f"network interface {nic_id!r} is not defined in this configuration",
                    codes.NOT_MODELLED,
                )
                continue
            nic.vm, nic.vm_size, nic.os_profile = name, size, os_profile
            nic.zone = None if zone is None or isinstance(zone, Unknown) else str(zone)

    # -- gateways and sites -----------------------------------------------------------------

    def virtual_network_gateway(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "gateway", name):
            return
        configs = view.blocks("ip_configuration")
        vnet = next(
            (c.ref("subnet_id", "virtualNetworks") for c in configs if c.has("subnet_id")), None
        )
        if vnet is None:
            view.invalid("no ip_configuration.subnet_id names the gateway's GatewaySubnet; set it")
            return
        self._vnet(view, vnet)
        kind = view.text("type", required=True) or "Vpn"
        kind = {"vpn": "Vpn", "expressroute": "ExpressRoute"}.get(kind.lower(), kind)
        generation = view.text("generation")
        if generation in (None, "None"):
            generation = "Generation1"
        bgp = view.blocks("bgp_settings")
        asn = bgp[0].integer("asn", 65515) if bgp else 65515
        enable_bgp = view.flag("bgp_enabled", view.flag("enable_bgp", False))
        gateway = self._record(
            view,
            VpnGateway,
            name,
            vnet,
            view.text("sku", required=True) or "",
            generation,
            view.text("vpn_type") or "RouteBased",
            view.flag("active_active", False),
            asn,
            enable_bgp,
            kind,
            view.flag("remote_vnet_traffic_enabled", False),  # N1.6: off by default
        )
        if gateway is not None:
            self.fabric.gateways[name] = gateway

    def local_network_gateway(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "local network gateway", name):
            return
        bgp = None
        blocks = view.blocks("bgp_settings")
        if blocks:
            block = blocks[0]
            asn = block.integer("asn", None)
            if asn is None:
                view.invalid("bgp_settings.asn is required; set the on-premises ASN")
            else:
                bgp = self._record(
                    view,
                    BgpSettings,
                    asn,
                    block.text("bgp_peering_address"),
                    block.integer("peer_weight", 0) or 0,
                )
        site = self._record(
            view,
            LocalNetworkGateway,
            name,
            view.strings("address_space") or (),
            view.text("gateway_address"),
            view.text("gateway_fqdn"),
            bgp,
            view.region() if view.has("location") else None,
        )
        if site is not None:
            self.fabric.local_network_gateways[name] = site

    def virtual_network_gateway_connection(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "connection", name):
            return
        kind = view.text("type", required=True)
        source = view.ref("virtual_network_gateway_id", "virtualNetworkGateways", required=True)
        if kind is None or source is None:
            return
        target_keys = {
            "Vnet2Vnet": ("peer_virtual_network_gateway_id", "virtualNetworkGateways"),
            "IPsec": ("local_network_gateway_id", "localNetworkGateways"),
            "ExpressRoute": ("express_route_circuit_id", "expressRouteCircuits"),
        }
        if kind not in target_keys:
            view.warn(
                f"a connection of type {kind} is not modelled; it was left out",
                codes.NOT_MODELLED,
            )
            return
        key, id_kind = target_keys[kind]
        target = view.ref(key, id_kind, required=True)
        if target is None:
            return
        policy = None
        policies = view.blocks("ipsec_policy")
        if policies:
            q = policies[0]
            policy = self._record(
                view,
                IpsecPolicy,
                q.text("ike_encryption", required=True),
                q.text("ike_integrity", required=True),
                q.text("dh_group", required=True),
                q.text("ipsec_encryption", required=True),
                q.text("ipsec_integrity", required=True),
                q.text("pfs_group", required=True),
                q.integer("sa_lifetime", 27_000),
                q.integer("sa_datasize", 102_400_000),
            )
            if policy is None:
                return
        enable_bgp = view.flag("bgp_enabled", view.flag("enable_bgp", False))
        connection = self._record(
            view,
            Connection,
            name,
            source,
            target,
            kind,
            view.secret("shared_key"),
            enable_bgp,
            policy,
            use_policy_based_traffic_selectors=view.flag(
                "use_policy_based_traffic_selectors", False
            ),
            connection_protocol=view.text("connection_protocol") or None,
            dpd_timeout_seconds=view.integer("dpd_timeout_seconds", None),
            routing_weight=view.integer("routing_weight", 10),  # the provider's default
            express_route_gateway_bypass=view.flag("express_route_gateway_bypass", False),
            authorization_key=view.secret("authorization_key"),
        )
        if connection is None:
            return
        if view.flag("private_link_fast_path_enabled", False, quiet=True):
            view.warn("FastPath to private endpoints is not modelled (N1.4)", codes.NOT_MODELLED)
        targets = {
            "Vnet2Vnet": self.fabric.gateways,
            "IPsec": self.fabric.local_network_gateways,
            "ExpressRoute": self.fabric.express_route_circuits,
        }[kind]
        missing = [
            g for g, table in ((source, self.fabric.gateways), (target, targets)) if g not in table
        ]
        if missing:
            view.warn(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined "
                "in this configuration; the connection was left out (load the configuration "
                "that defines the other end too)",
                codes.NOT_MODELLED,
            )
            return
        self.fabric.connections[name] = connection

    # -- ExpressRoute circuits ------------------------------------------------------------

    def express_route_port(self, view: InstanceView) -> None:
        name, location = view.name(), view.text("peering_location")
        if name is not None and location is not None:
            self.port_locations[name.lower()] = location

    def express_route_circuit_peering(self, view: InstanceView) -> None:
        """Private peering gives the on-premises ASN (the AS path, N1.7); Microsoft peering is
        not modelled."""
        kind = view.text("peering_type", required=True)
        circuit = view.name("express_route_circuit_name")
        if kind is None or circuit is None:
            return
        if kind != "AzurePrivatePeering":
            view.warn(
                f"{kind} is not modelled (private peering only: VNets, not Microsoft services)",
                codes.NOT_MODELLED,
            )
            return
        asn = view.integer("peer_asn", None)
        if asn is not None:
            self.circuit_asns[circuit] = asn

    def express_route_circuit(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "ExpressRoute circuit", name):
            return
        port = view.ref("express_route_port_id", "expressRoutePorts")
        location = view.text("peering_location")
        if location is None and port is not None:
            location = self.port_locations.get(port.lower())
        if location is None:
            where = "the express_route_port it uses" if port else "peering_location"
            view.invalid(f"the circuit has no peering location here; set {where}")
            return
        mbps = view.integer("bandwidth_in_mbps", None)
        gbps = view.raw("bandwidth_in_gbps")
        if mbps is None and isinstance(gbps, int | float) and not isinstance(gbps, bool):
            mbps = round(gbps * 1000)
        if mbps is None:
            view.invalid("bandwidth_in_mbps (or bandwidth_in_gbps with a Direct port) is required")
            return
        sku = view.blocks("sku")
        tier = sku[0].text("tier") if sku else None
        family = sku[0].text("family") if sku else None
        state = view.text("service_provider_provisioning_state")
        circuit = self._record(
            view,
            ExpressRouteCircuit,
            name,
            location,
            mbps,
            tier or "Standard",
            family or "MeteredData",
            (),
            view.text("service_provider_name"),
            port,
            self.circuit_asns.get(name),
            0,
            state,
        )
        if circuit is None:
            return
        self.fabric.express_route_circuits[name] = circuit
        view.warn(
            "Terraform does not say what on-premises advertises over the circuit, so it carries "
            "no on-premises traffic here: add on_premises_prefixes to the circuit in the native "
            "YAML",
            "CircuitOnPremisesPrefixesUnknown",
        )

    # -- firewall and route server --------------------------------------------------------

    def bastion_host(self, view: InstanceView) -> None:
        """``azurerm_bastion_host`` (N18.2): its SKU and VNet, from the subnet of its
        ``ip_configuration`` or, for the Developer SKU, ``virtual_network_id``."""
        name = view.name()
        if name is None or not self._unique(view, "Bastion host", name):
            return
        vnet = None
        for config in view.blocks("ip_configuration"):
            if config.has("subnet_id"):
                vnet = config.ref("subnet_id", "virtualNetworks")
                subnet = config.ref("subnet_id", "subnets")
                if subnet is not None and subnet.lower() != BASTION_SUBNET.lower():
                    view.invalid(
                        f"ip_configuration.subnet_id is subnet {subnet} of {vnet}; a Bastion "
                        f"host goes in the subnet named {BASTION_SUBNET} (N18.2)"
                    )
                    return
        if vnet is None:
            vnet = view.ref("virtual_network_id", "virtualNetworks")
        if vnet is None:
            view.invalid(
                "no ip_configuration.subnet_id (its AzureBastionSubnet) or, for the Developer "
                "SKU, virtual_network_id names its VNet; set one"
            )
            return
        self._vnet(view, vnet)
        record = self._record(view, BastionHost, name, vnet, view.text("sku") or "Basic")
        if record is not None:
            self.fabric.bastions[name] = record

    def firewall(self, view: InstanceView) -> None:
        name = view.name()
        if name is None or not self._unique(view, "firewall", name):
            return
        if view.blocks("virtual_hub") or view.text("sku_name") == "AZFW_Hub":
            view.warn("a secured-hub (Virtual WAN) firewall is not modelled", codes.NOT_MODELLED)
            return
        configs = view.blocks("ip_configuration")
        vnet, private_ip = None, None
        for config in configs:
            if config.has("subnet_id"):
                vnet = config.ref("subnet_id", "virtualNetworks")
                address = config.raw("private_ip_address")
                private_ip = address if isinstance(address, str) and address else None
        if vnet is None:
            view.invalid("no ip_configuration.subnet_id names the AzureFirewallSubnet; set it")
            return
        self._vnet(view, vnet)
        policy = view.ref("firewall_policy_id", "firewallPolicies")
        tier = view.text("sku_tier") or "Standard"
        record = self._record(
            view,
            Firewall,
            name,
            vnet,
            tier,
            private_ip,
            None,
            policy,
            view.text("threat_intel_mode") or "Alert",
        )
        if record is None:
            return
        if policy is not None:
            view.warn(
                f"the firewall's rules live in firewall policy {policy}, which vnetsim does not "
                "read; its rules are unknown here",
                codes.NOT_MODELLED,
            )
        self.fabric.firewalls[name] = record
        self.firewall_by_address[view.address] = name

    def firewall_network_rule_collection(self, view: InstanceView) -> None:
        name = view.name()
        firewall = view.name("azure_firewall_name")
        if name is None or firewall is None:
            return
        rules = []
        for block in view.blocks("rule"):
            rule_name = block.name()
            if rule_name is None:
                continue
            if (
                block.has("destination_fqdns")
                or block.has("source_ip_groups")
                or block.has("destination_ip_groups")
            ):
                view.warn(
                    f"rule {rule_name!r} matches FQDNs or IP groups, which the model does not "
                    "hold; the rule was left out",
                    codes.NOT_MODELLED,
                )
                continue
            rule = self._record(
                view,
                FirewallNetworkRule,
                rule_name,
                block.strings("protocols") or ("Any",),
                block.strings("source_addresses") or ("*",),
                block.strings("destination_addresses") or ("*",),
                block.strings("destination_ports") or ("*",),
            )
            if rule is not None:
                rules.append(rule)
        collection = self._record(
            view,
            FirewallRuleCollection,
            name,
            view.integer("priority", None),
            view.text("action", required=True) or "",
            tuple(rules),
        )
        if collection is None:
            return
        if firewall not in self.fabric.firewalls:
            view.warn(
                f"firewall {firewall} is not defined in this configuration; the collection was "
                "left out",
                codes.NOT_MODELLED,
            )
            return
        self.collections.setdefault(firewall, []).append(collection)

    def route_server(self, view: InstanceView) -> None:
        name = view.name()
        vnet = view.ref("subnet_id", "virtualNetworks", required=True)
        if name is None or vnet is None or not self._unique(view, "route server", name):
            return
        self._vnet(view, vnet)
        server = self._record(
            view,
            RouteServer,
            name,
            vnet,
            view.flag("branch_to_branch_traffic_enabled", False),
        )
        if server is not None:
            self.fabric.route_servers[name] = server

    def route_server_bgp_connection(self, view: InstanceView) -> None:
        name = view.name()
        server = view.ref("route_server_id", "virtualHubs", required=True)
        peer_ip = view.raw("peer_ip")
        if peer_ip is None:
            view.invalid("peer_ip is required; set the NVA's address")
        asn = view.integer("peer_asn", None)
        if asn is None:
            view.invalid("peer_asn is required; set the NVA's ASN")
        if name is None or server is None or peer_ip is None or asn is None:
            return
        self.bgp_peers.setdefault(server, []).append((view, name, peer_ip, asn))

    # -- records and assembly ---------------------------------------------------------------

    def _record(self, view: InstanceView, record: type, *args: Any, **kwargs: Any) -> Any:
        try:
            return record(*args, **kwargs)
        except (TypeError, ValueError) as problem:
            view.invalid(str(problem))
            return None

    def network_manager_resource(self, view: InstanceView) -> None:
        """Azure Virtual Network Manager (``fabric.io.terraform.azurerm_avnm``)."""
        self.avnm.read(view)

    def build(self) -> Fabric:
        """The Fabric, once every instance has been read."""
        for name, rules in self.rules.items():
            self.fabric.nsgs[name] = Nsg(name, tuple(rules))
        self._firewall_rules()
        self._vnets(self._hosts())
        self.avnm.finish()
        for name, (routes, disable) in self.tables.items():
            resolved = [r for r in (self._resolve_route(p) for p in routes) if r is not None]
            self.fabric.route_tables[name] = RouteTable(name, tuple(resolved), disable)
        for server, peers in self.bgp_peers.items():
            self._route_server_peers(server, peers)
        for name, spec in self.nat_gateways.items():
            gateway = self._record(
                spec.view,
                NatGateway,
                name,
                tuple(spec.addresses),
                tuple(spec.prefixes),
                None,
                spec.idle_timeout,
            )
            if gateway is not None:
                self.fabric.nat_gateways[name] = gateway
        return self.fabric

    def _firewall_rules(self) -> None:
        for firewall, collections in self.collections.items():
            current = self.fabric.firewalls.get(firewall)
            if current is not None and current.firewall_policy is None:
                ordered = sorted(collections, key=lambda c: c.priority)
                self.fabric.firewalls[firewall] = attrs.evolve(
                    current, network_rule_collections=tuple(ordered)
                )
        for address, name in self.firewall_by_address.items():
            firewall = self.fabric.firewalls[name]
            if firewall.firewall_policy is None and firewall.network_rule_collections is None:
                self.report.warning(
                    codes.NOT_MODELLED,
                    "",
                    address,
                    "the firewall has no firewall policy and no network rule collection in this "
                    "configuration, so its rules are unknown here (without rules Azure Firewall "
                    "denies everything); load the configuration that holds its rules too",
                )

    def _vnets(self, hosts: dict[str, list[Host]]) -> None:
        for name, spec in self.vnets.items():
            subnets = [
                self._record(
                    sub.view,
                    Subnet,
                    sub.name,
                    sub.prefix,
                    sub.nsg,
                    sub.route_table,
                    sub.service_endpoints,
                    nat_gateway=sub.nat_gateway,
                )
                for sub in spec.subnets.values()
            ]
            vnet = self._record(
                spec.view,
                VNet,
                name,
                spec.region,
                spec.prefixes,
                tuple(s for s in subnets if s is not None),
                tuple(hosts.get(name, ())),
                encryption=spec.encryption,
                external=spec.external,
            )
            if vnet is not None:
                self.fabric.vnets[name] = vnet

    def _route_server_peers(
        self, server: str, peers: list[tuple[InstanceView, str, Any, int]]
    ) -> None:
        records = []
        for view, name, raw_ip, asn in peers:
            if server not in self.fabric.route_servers:
                view.warn(
                    f"route server {server} is not defined in this configuration; the BGP peer "
                    "was left out",
                    codes.NOT_MODELLED,
                )
                continue
            address = self._address(view, "peer_ip", raw_ip, "the BGP peer was left out")
            peer = self._record(view, BgpPeer, name, address, asn) if address else None
            if peer is not None:
                records.append(peer)
        if records:
            current = self.fabric.route_servers[server]
            self.fabric.route_servers[server] = attrs.evolve(
                current, bgp_connections=tuple(records)
            )

    def _hosts(self) -> dict[str, list[Host]]:
        """NICs as hosts: static addresses first, then dynamic ones from .4 upwards."""
        hosts: dict[str, list[Host]] = {}
        ordered = sorted(self.nics.values(), key=lambda n: n.ip is None)
        taken: dict[tuple[str, str], set[str]] = {}
        for nic in ordered:
            vnet = self.vnets.get(nic.vnet)
            subnet = vnet.subnets.get(nic.subnet) if vnet else None
            if vnet is None or subnet is None:
                nic.view.invalid(
                    f"its subnet {nic.vnet}/{nic.subnet} is not defined in this configuration"
                )
                continue
            used = taken.setdefault((nic.vnet, nic.subnet), set())
            ip = nic.ip or _next_free(subnet.prefix, used)
            if ip is None:
                nic.view.invalid(f"no free address is left in {nic.vnet}/{nic.subnet}")
                continue
            used.add(ip)
            nic.ip = ip
            host = self._record(
                nic.view,
                Host,
                nic.name,
                nic.subnet,
                ip,
                nic.nsg,
                enable_ip_forwarding=nic.forwarding,
                vm_size=nic.vm_size,
                vm=nic.vm if nic.vm and nic.vm != nic.name else None,
                zone=nic.zone,
                os_profile=nic.os_profile,
                application_security_groups=tuple(nic.groups),
                accelerated_networking=nic.accelerated,
            )
            if host is not None:
                hosts.setdefault(nic.vnet, []).append(host)
        return hosts

    def _resolve_route(self, pending: _PendingRoute) -> Route | None:
        view, hop = pending.view, pending.next_hop
        if hop is not None:
            hop = self._address(view, "next_hop_in_ip_address", hop, "the route was left out")
            if hop is None:
                return None
        return self._record(view, Route, pending.name, pending.prefix, pending.next_hop_type, hop)

    def _address(self, view: InstanceView, key: str, value: Any, consequence: str) -> str | None:
        """An IP address argument; a computed one gets the address it will have: a NIC's,
        or a firewall's (N11.5)."""
        if not isinstance(value, Unknown):
            try:
                return to_string(value) or None
            except EvalError:
                view.invalid(f"{key} must be an IP address, got {value!r}")
                return None
        origin = value.origin or ""
        nic = _NIC_IP.match(origin)
        if nic and nic.group("nic") in self.nic_by_address:
            spec = self.nics[self.nic_by_address[nic.group("nic")]]
            if spec.ip is not None:
                return spec.ip
        firewall = _FIREWALL_IP.match(origin)
        if firewall and firewall.group("fw") in self.firewall_by_address:
            record = self.fabric.firewalls[self.firewall_by_address[firewall.group("fw")]]
            address = record.private_ip or self._firewall_address(record.vnet)
            if address is not None:
                if record.private_ip is None:
                    view.warn(
                        f"{key} is the firewall's private IP, which Azure "
                        f"assigns; vnetsim used {address}, the first usable address of "
                        "AzureFirewallSubnet (N11.5). Load the state (`terraform show -json`) "
                        "for the real one",
                    )
                return address
        view.warn(f"{key} is not known offline ({value.reason}); {consequence}")
        return None

    def _firewall_address(self, vnet: str) -> str | None:
        spec = self.vnets.get(vnet)
        subnet = spec.subnets.get("AzureFirewallSubnet") if spec else None
        return _next_free(subnet.prefix, set()) if subnet else None


def _id_name(value: Any, kind: str) -> str:
    """The ``kind`` name in a resource ID (its display text when unknown), else the text."""
    text = str(value.display if isinstance(value, Unknown) else value)
    return name_from_id(text, kind) or text


def _next_free(prefix: str | None, taken: set[str]) -> str | None:
    """Azure assigns dynamic addresses from the first usable one (.4) upward."""
    try:
        network = parse_prefix(prefix or "")
    except AddressError:
        return None
    reserved = {str(a) for a in reserved_addresses(network)}
    for offset in range(4, network.num_addresses - 1):
        candidate = str(IPv4Address(int(network.network_address) + offset))
        if candidate not in taken and candidate not in reserved:
            return candidate
    return None


# Which method maps which type, in the order they run: what is referred to (an NSG from a
# subnet, a gateway from a connection) is read before what refers to it.
_ORDER: tuple[tuple[str, Callable[[_Mapper, InstanceView], None]], ...] = (
    ("azurerm_network_security_group", _Mapper.network_security_group),
    ("azurerm_network_security_rule", _Mapper.network_security_rule),
    ("azurerm_route_table", _Mapper.route_table),
    ("azurerm_route", _Mapper.route),
    ("azurerm_application_security_group", _Mapper.application_security_group),
    ("azurerm_local_network_gateway", _Mapper.local_network_gateway),
    ("azurerm_nat_gateway", _Mapper.nat_gateway),
    ("azurerm_nat_gateway_public_ip_association", _Mapper.nat_gateway_public_ip_association),
    (
        "azurerm_nat_gateway_public_ip_prefix_association",
        _Mapper.nat_gateway_public_ip_prefix_association,
    ),
    ("azurerm_virtual_network", _Mapper.virtual_network),
    ("azurerm_subnet", _Mapper.subnet),
    (
        "azurerm_subnet_network_security_group_association",
        _Mapper.subnet_network_security_group_association,
    ),
    ("azurerm_subnet_route_table_association", _Mapper.subnet_route_table_association),
    ("azurerm_subnet_nat_gateway_association", _Mapper.subnet_nat_gateway_association),
    ("azurerm_network_interface", _Mapper.network_interface),
    (
        "azurerm_network_interface_security_group_association",
        _Mapper.network_interface_security_group_association,
    ),
    (
        "azurerm_network_interface_application_security_group_association",
        _Mapper.network_interface_application_security_group_association,
    ),
    ("azurerm_linux_virtual_machine", _Mapper.virtual_machine),
    ("azurerm_windows_virtual_machine", _Mapper.virtual_machine),
    ("azurerm_virtual_machine", _Mapper.virtual_machine),
    ("azurerm_virtual_network_gateway", _Mapper.virtual_network_gateway),
    ("azurerm_express_route_port", _Mapper.express_route_port),
    ("azurerm_express_route_circuit_peering", _Mapper.express_route_circuit_peering),
    ("azurerm_express_route_circuit", _Mapper.express_route_circuit),
    ("azurerm_virtual_network_gateway_connection", _Mapper.virtual_network_gateway_connection),
    ("azurerm_virtual_network_peering", _Mapper.virtual_network_peering),
    ("azurerm_firewall", _Mapper.firewall),
    ("azurerm_bastion_host", _Mapper.bastion_host),
    ("azurerm_firewall_network_rule_collection", _Mapper.firewall_network_rule_collection),
    ("azurerm_route_server", _Mapper.route_server),
    ("azurerm_route_server_bgp_connection", _Mapper.route_server_bgp_connection),
    *((kind, _Mapper.network_manager_resource) for kind in sorted(AVNM_TYPES)),
)
MODELLED = frozenset(kind for kind, _ in _ORDER)


def build_fabric(instances: Iterable[ResourceInstance], report: Report) -> Fabric:
    """The Fabric the managed azurerm instances describe; findings go to ``report``."""
    managed = [i for i in instances if not i.data]
    network_azapi: list[ResourceInstance] = []
    by_type: dict[str, list[ResourceInstance]] = {}
    others: dict[str, list[str]] = {}
    for instance in managed:
        provider = instance.type.split("_", 1)[0]
        if instance.type == "azapi_resource" and azapi.network_type(instance):
            network_azapi.append(instance)  # read as the ARM resource it deploys
        elif provider != "azurerm":
            others.setdefault(provider, []).append(instance.address)
        elif instance.type in MODELLED:
            by_type.setdefault(instance.type, []).append(instance)
        elif instance.type not in ACCEPTED:
            report.warning(
                codes.NOT_MODELLED,
                instance.where,
                instance.address,
                f"{instance.type} is not modelled by vnetsim and was left out",
            )
    if others:
        count = sum(len(a) for a in others.values())
        report.warning(
            codes.PROVIDER_IGNORED,
            "",
            "",
            f"{count} resource(s) of provider(s) {', '.join(sorted(others))} were ignored: "
            "vnetsim reads azurerm resources only",
        )
    mapper = _Mapper(report)
    for kind, method in _ORDER:
        for instance in by_type.get(kind, ()):
            method(mapper, InstanceView(instance, instance.values, report))
    read = azapi.prepare(network_azapi, report)
    if read is not None:  # before the build: NICs may sit in subnets azapi declares
        azapi.inject(read, mapper.vnets, (_VNetSpec, _SubnetSpec), report)
    fabric = mapper.build()
    if read is not None:
        azapi.finish(read, fabric)
    return fabric
