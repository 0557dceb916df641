"""``ControlPlane``: the compiled state that the diagnostics and the dataplane both read.

It snapshots a Fabric and answers, from one place each: which route wins (``fabric.routing``),
which rule decides (``fabric.nsg``), whether a peering carries traffic (``fabric.peering``) and
what a gateway learned (``fabric.connections``). Subnet FIBs are compiled on first use.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from ipaddress import ip_network

import attrs

from fabric.catalogue.latency import LatencyModel
from fabric.catalogue.servicetags import HOST_VIP
from fabric.control.addressing import (
    AddressError,
    Fib,
    IPAddress,
    parse_address,
    valid_networks,
)
from fabric.control.avnm import AdminRules, admin_rules
from fabric.control.connections import LearnedRoutes, serving_gateways
from fabric.control.firewall import derived_address
from fabric.control.nsg import Packet5Tuple, TagScope, Verdict, evaluate_chain
from fabric.control.peering import PeeringView, remote_prefixes
from fabric.control.routeserver import nva_routes, serving_route_server
from fabric.control.routing import SubnetRoutes, compile_subnet, tag_networks
from fabric.model.container import Fabric
from fabric.model.records import Firewall, Host, Subnet, VNet, VpnGateway


class LocateError(LookupError):
    """An address that no subnet (or more than one VNet) holds; the message says which."""


class QuestionError(ValueError):
    """A question that cannot be asked (an address in no subnet, a bad protocol...)."""


@attrs.frozen(slots=True)
class Location:
    """Where an address lives: its VNet and subnet, and its NIC when a host declares it."""

    vnet: VNet
    subnet: Subnet
    host: Host | None
    # The host's name, or a label for a hypothetical NIC in the subnet: made once, since
    # every NSG check and every shown hop asks for it.
    name: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        label = self.host.name if self.host else f"{self.vnet.name}/{self.subnet.name} (any NIC)"
        object.__setattr__(self, "name", label)


@attrs.frozen(slots=True)
class FirewallAddress:
    """An Azure Firewall at its private address; ``derived`` when the input did not state it
    and the address is the one Azure would allocate (N11.5)."""

    firewall: Firewall
    address: IPAddress
    derived: bool


class ControlPlane:
    """Compiled, read-only view of a Fabric for route lookups and NSG verdicts.

    Args:
        fabric: the topology (copied: later edits to it do not leak in).
        latency: the latency model (defaults to ``LatencyModel()``).
        block_peering_without_vnet_access: §9 switch. False (default) models the documented
            semantics of allow_virtual_network_access=false (only the VirtualNetwork tag
            shrinks); True blocks the peering outright, as one field report saw.
        service_tag_prefixes: service tag -> public prefixes, for service endpoint routes and
            service-tag UDRs (N16; default: ``catalogue.servicetags.SERVICE_TAG_PREFIXES``,
            empty: the fact sheet has none).
        user_routes_override_service_endpoints: N16/N19 item 11 switch. False (default) models
            the current UDR page: a service endpoint's route cannot be overridden; True lets a
            user route of the same prefix (a service-tag route, as one field report saw) win.
    """

    def __init__(
        self,
        fabric: Fabric,
        *,
        latency: LatencyModel | None = None,
        block_peering_without_vnet_access: bool = False,
        service_tag_prefixes: Mapping[str, Iterable[str]] | None = None,
        user_routes_override_service_endpoints: bool = False,
    ) -> None:
        self.fabric = fabric.copy()
        self.latency = latency or LatencyModel()
        self.block_peering_without_vnet_access = block_peering_without_vnet_access
        self.service_tag_prefixes = service_tag_prefixes
        self.user_routes_override_service_endpoints = user_routes_override_service_endpoints
        self.peerings = PeeringView(self.fabric)
        self.learned = LearnedRoutes(self.fabric, self.peerings)  # per gateway, on first use
        self.nva = nva_routes(self.fabric)  # what each Route Server learned from NVAs (N15)
        self._tags = tag_networks(service_tag_prefixes)
        self._routes: dict[tuple[str, str], SubnetRoutes] = {}  # (vnet, subnet) or gateway
        self._scopes: dict[str, TagScope] = {}
        self._members: dict[str, frozenset] | None = None
        # The indexes below are built on first use (a question about one flow in a 5,000-spoke
        # hub needs the subnet index, not the address spaces, and the NICs of two VNets).
        self._subnets: Fib | None = None  # subnet prefix -> [(vnet, subnet)] (several on overlaps)
        self._spaces: Fib | None = None  # VNet address prefix -> [vnet names] (several on overlaps)
        self._order = {name: i for i, name in enumerate(self.fabric.vnets)}
        self._hosts_by_ip: dict[str, dict[str, Host]] = {}  # vnet -> canonical IP -> NIC
        self._hosts_by_name = {h.name: h for v in self.fabric.vnets.values() for h in v.hosts}
        self._host_vnets = {h.name: v.name for v in self.fabric.vnets.values() for h in v.hosts}
        self._firewalls: dict[tuple[str, str], FirewallAddress] | None = None
        self._admin: AdminRules | None = None
        # What other modules work out from this read-only plane and keep, by their own key
        # (``explain``'s causes): a plain dict, faster than a weak map from planes.
        self.memo: dict[str, object] = {}

    @property
    def _subnet_index(self) -> Fib:
        if self._subnets is None:
            self._subnets = Fib()
            for vnet in self.fabric.vnets.values():
                for subnet in vnet.subnets:
                    for net in valid_networks(subnet.prefixes):
                        holders = self._subnets.exact(net) if net in self._subnets else []
                        self._subnets[net] = [*holders, (vnet.name, subnet.name)]
        return self._subnets

    @property
    def _space_index(self) -> Fib:
        if self._spaces is None:
            self._spaces = Fib()
            for vnet in self.fabric.vnets.values():
                for net in valid_networks(vnet.address_prefixes):
                    names = self._spaces.exact(net) if net in self._spaces else []
                    self._spaces[net] = [*names, vnet.name]
        return self._spaces

    def _hosts_in(self, vnet: str) -> dict[str, Host]:
        """The declared NICs of ``vnet`` by canonical address (built on first use)."""
        hosts = self._hosts_by_ip.get(vnet)
        if hosts is None:
            hosts = self._hosts_by_ip[vnet] = {}
            record = self.fabric.vnets.get(vnet)
            for host in record.hosts if record is not None else ():
                try:
                    hosts[str(parse_address(host.ip))] = host
                except AddressError:
                    continue  # reported by validation (InvalidIpAddress)
        return hosts

    # -- routes -----------------------------------------------------------------------------

    def routes(self, vnet: str, subnet: str) -> SubnetRoutes:
        """Effective routes and FIB of one subnet (compiled once, then cached)."""
        key = (vnet, subnet)
        compiled = self._routes.get(key)
        if compiled is None:
            record = self.fabric.vnets[vnet]
            compiled = compile_subnet(
                self.fabric,
                record,
                record.subnet(subnet),
                self.learned,
                self.peerings,
                **self._compile_options(),
            )
            self._routes[key] = compiled
        return compiled

    def gateway_routes(self, gateway: VpnGateway) -> SubnetRoutes:
        """The FIB a gateway forwards by (its GatewaySubnet's effective routes, learned routes
        always included; a VNet without a declared GatewaySubnet gets one's system routes)."""
        key = ("gateway", gateway.name)
        compiled = self._routes.get(key)
        if compiled is None:
            record = self.fabric.vnets[gateway.vnet]
            if "GatewaySubnet" in record.subnet_names:
                subnet = record.subnet("GatewaySubnet")
            else:  # reported by validation (GatewaySubnetMissing); route as if it existed
                subnet = Subnet("GatewaySubnet", (*record.address_prefixes, "0.0.0.0/32")[0])
            compiled = compile_subnet(
                self.fabric,
                record,
                subnet,
                self.learned,
                self.peerings,
                for_gateway=True,
                **self._compile_options(),
            )
            self._routes[key] = compiled
        return compiled

    def _compile_options(self) -> dict:
        return {
            "nva": self.nva,
            "tags": self._tags,
            "user_routes_override_endpoints": self.user_routes_override_service_endpoints,
        }

    def switches(self) -> dict:
        """The modelling switches this plane was built with (to build another one alike)."""
        return {
            "block_peering_without_vnet_access": self.block_peering_without_vnet_access,
            "service_tag_prefixes": self.service_tag_prefixes,
            "user_routes_override_service_endpoints": self.user_routes_override_service_endpoints,
        }

    # -- addresses --------------------------------------------------------------------------

    def locate(self, address: str | IPAddress, vnet: str | None = None) -> Location:
        """The subnet (and host) that holds ``address``; within ``vnet`` when given."""
        try:
            ip = parse_address(str(address))
        except AddressError as problem:
            raise LocateError(str(problem)) from None
        holders = self._holders(ip)
        if vnet is not None:
            holders = [h for h in holders if h[0] == vnet]
        if not holders:
            where = f"VNet {vnet}" if vnet else "this topology"
            raise LocateError(f"{ip} is in no subnet of {where}; name an address inside a subnet")
        vnets = sorted({v for v, _ in holders})
        if len(vnets) > 1:
            raise LocateError(
                f"{ip} is in subnets of several VNets ({', '.join(vnets)}): their address spaces "
                "overlap (AddressSpacesOverlap); fix the topology or say which VNet"
            )
        vnet_name, subnet_name = holders[0]
        record = self.fabric.vnets[vnet_name]
        return Location(record, record.subnet(subnet_name), self._hosts_in(vnet_name).get(str(ip)))

    def _holders(self, ip: IPAddress) -> list[tuple[str, str]]:
        """Every (vnet, subnet) whose prefix holds ``ip`` (more than one only on overlaps)."""
        return [holder for holders in self._subnet_index.matches(ip) for holder in holders]

    def vnets_containing(self, ip: IPAddress) -> list[VNet]:
        """VNets whose address space holds ``ip`` (several only when spaces overlap), in the
        fabric's order."""
        names = {name for names in self._space_index.matches(ip) for name in names}
        return [self.fabric.vnets[name] for name in sorted(names, key=self._order.__getitem__)]

    def host_named(self, name: str) -> Host | None:
        """The declared host called ``name``, if any."""
        return self._hosts_by_name.get(name)

    def host_vnet(self, name: str) -> str | None:
        """The VNet of the declared host called ``name`` (which of overlapping VNets it is in)."""
        return self._host_vnets.get(name)

    def host_hint(self, name: str) -> str:
        """'; did you mean host X?' when ``name`` is close to a declared host's name."""
        close = difflib.get_close_matches(str(name), list(self._hosts_by_name), n=1)
        return f"; did you mean host {close[0]!r}?" if close else ""

    def firewall_at(self, ip: str, vnet: str) -> FirewallAddress | None:
        """The Azure Firewall whose private IP is ``ip`` in ``vnet`` (stated, or derived as
        Azure allocates it, N11.5)."""
        if self._firewalls is None:
            self._firewalls = {}
            for firewall in sorted(self.fabric.firewalls.values(), key=lambda f: f.name):
                record = self.fabric.vnets.get(firewall.vnet)
                if record is None:
                    continue  # reported by validation
                derived = firewall.private_ip is None
                try:
                    address = (
                        derived_address(record, set(self._hosts_in(firewall.vnet)))
                        if derived
                        else parse_address(firewall.private_ip)
                    )
                except AddressError:
                    continue  # reported by validation
                if address is not None:
                    key = (firewall.vnet, str(address))
                    self._firewalls.setdefault(key, FirewallAddress(firewall, address, derived))
        try:
            return self._firewalls.get((vnet, str(parse_address(ip))))
        except AddressError:
            return None

    def host_by_ip(self, ip: str, vnet: str) -> Host | None:
        """The declared NIC with ``ip`` in ``vnet``."""
        try:
            return self._hosts_in(vnet).get(str(parse_address(ip)))
        except AddressError:
            return None

    # -- security ---------------------------------------------------------------------------

    def tag_scope(self, vnet: str) -> TagScope:
        """Service-tag contents for NSGs evaluated in ``vnet`` (§5.4): its own space, Connected
        peers whose local link allows VNet access, the members of its connected groups (N8.1,
        except overlapping prefixes), what its gateway reaches, the host VIP and
        the prefixes of the user-defined routes its subnets use; and the members of every
        application security group. A default route among those (a UDR 0.0.0.0/0, or one its
        gateway learned) puts 0.0.0.0/0 in the tag too: the tag "might also contain default
        routes" (§5.4), the known trap where AllowVnetInBound then admits every source."""
        scope = self._scopes.get(vnet)
        if scope is None:
            record = self.fabric.vnets[vnet]
            nets = valid_networks(record.address_prefixes)
            for link in self.peerings.connected_links(vnet):
                if link.allow_virtual_network_access:
                    nets.extend(remote_prefixes(self.fabric, link))
            if self.peerings.deployment.groups:  # N8.1: connected groups, like peerings
                nets.extend(r.prefix for r in self.peerings.mesh.routes.get(vnet, ()))
            for gateway in serving_gateways(self.fabric, vnet, self.peerings):  # VPN and ER
                nets.extend(route.prefix for route in self.learned.get(gateway.name, []))
            # N15: what a Route Server programs are BGP routes like the gateways' (our reading)
            server = serving_route_server(self.fabric, vnet, self.peerings)
            if server is not None:
                nets.extend(route.prefix for route in self.nva.get(server.name, []))
            nets.append(ip_network(HOST_VIP))
            for subnet in record.subnets:
                table = self.fabric.route_tables.get(subnet.route_table or "")
                if table is not None:
                    nets.extend(valid_networks(r.address_prefix for r in table.routes))
            unique = tuple(dict.fromkeys(nets))
            scope = TagScope(unique, self._asg_members())
            self._scopes[vnet] = scope
        return scope

    def _asg_members(self) -> dict[str, frozenset]:
        """Application security group -> the addresses of its member NICs (N14)."""
        if self._members is None:
            members: dict[str, set] = {}
            for vnet in self.fabric.vnets.values():
                for host in vnet.hosts:
                    for group in host.application_security_groups:
                        try:
                            members.setdefault(group, set()).add(parse_address(host.ip))
                        except AddressError:
                            continue
            self._members = {group: frozenset(ips) for group, ips in members.items()}
        return self._members

    @property
    def admin_rules(self) -> AdminRules:
        """The deployed security admin rules, per VNet (§5.3), worked out on first use."""
        if self._admin is None:
            self._admin = admin_rules(self.fabric)
        return self._admin

    def filtered(self, location: Location) -> bool:
        """Whether anything filters traffic at this NIC: an NSG on it or on its subnet, or
        a security admin rule for its VNet."""
        if location.subnet.nsg or (location.host is not None and location.host.nsg):
            return True
        return location.vnet.name in self.admin_rules.by_vnet

    def nsg_verdict(
        self, location: Location, direction: str, packet: Packet5Tuple
    ) -> tuple[Verdict, list[Verdict]]:
        """The decision at a NIC (declared or hypothetical) for one direction: the VNet's
        security admin rules, then its NSGs (§5.3)."""
        nsgs = self.fabric.nsgs
        nic = nsgs.get(location.host.nsg) if location.host and location.host.nsg else None
        subnet = nsgs.get(location.subnet.nsg) if location.subnet.nsg else None
        admin = self.admin_rules.of(location.vnet.name, direction)
        if nic is None and subnet is None and not admin:  # skip the tag scope's cost
            return evaluate_chain(None, None, direction, packet, TagScope((), {}))
        scope = self.tag_scope(location.vnet.name)
        return evaluate_chain(nic, subnet, direction, packet, scope, admin=admin)
