"""``Fabric``: the container of a topology, and the Python API that builds and edits it.

Records are frozen; the Fabric holds them in dicts keyed by name (peerings by (vnet, name)),
so two fabrics built in different orders compare equal. Every edit goes through a method here,
which keeps the Azure-side effects of an edit (a deleted peering side leaves the other
``Disconnected``; a changed address space leaves peers out of sync) in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from fabric.model.records import (
    AdminRule,
    AdminRuleCollection,
    ApplicationSecurityGroup,
    BastionHost,
    BgpSettings,
    Connection,
    ConnectivityConfiguration,
    ExpressRouteCircuit,
    Firewall,
    FirewallRuleCollection,
    GroupItem,
    Host,
    IpsecPolicy,
    LocalNetworkGateway,
    NatGateway,
    NetworkGroup,
    NetworkManager,
    NetworkManagerConnection,
    Nsg,
    Peering,
    Permission,
    Route,
    RouteServer,
    RouteTable,
    SecurityAdminConfiguration,
    SecurityRule,
    Subnet,
    VNet,
    VpnGateway,
    suggest,
)


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    """One name or several, as a tuple."""
    return (value,) if isinstance(value, str) else tuple(value)


class FabricError(KeyError):
    """An API call that names a resource that does not exist, or repeats a name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@attrs.define(slots=True, eq=True)
class Fabric:
    """A topology: VNets, peerings, gateways, connections, NSGs, route tables, on-premises sites,
    firewalls, application security groups, route servers, ExpressRoute circuits and NAT
    gateways."""

    vnets: dict[str, VNet] = attrs.field(factory=dict)
    peerings: dict[tuple[str, str], Peering] = attrs.field(factory=dict)
    gateways: dict[str, VpnGateway] = attrs.field(factory=dict)
    connections: dict[str, Connection] = attrs.field(factory=dict)
    nsgs: dict[str, Nsg] = attrs.field(factory=dict)
    route_tables: dict[str, RouteTable] = attrs.field(factory=dict)
    local_network_gateways: dict[str, LocalNetworkGateway] = attrs.field(factory=dict)
    firewalls: dict[str, Firewall] = attrs.field(factory=dict)
    application_security_groups: dict[str, ApplicationSecurityGroup] = attrs.field(factory=dict)
    route_servers: dict[str, RouteServer] = attrs.field(factory=dict)
    # Azure Virtual Network Manager (N8) and cross-subscription/tenant permissions (§2.9, N7)
    network_managers: dict[str, NetworkManager] = attrs.field(factory=dict)
    network_manager_connections: dict[str, NetworkManagerConnection] = attrs.field(factory=dict)
    network_groups: dict[str, NetworkGroup] = attrs.field(factory=dict)
    connectivity_configurations: dict[str, ConnectivityConfiguration] = attrs.field(factory=dict)
    security_admin_configurations: dict[str, SecurityAdminConfiguration] = attrs.field(factory=dict)
    permissions: dict[str, Permission] = attrs.field(factory=dict)
    express_route_circuits: dict[str, ExpressRouteCircuit] = attrs.field(factory=dict)
    nat_gateways: dict[str, NatGateway] = attrs.field(factory=dict)
    bastions: dict[str, BastionHost] = attrs.field(factory=dict)

    # -- adding resources -------------------------------------------------------------------

    def vnet(
        self,
        name: str,
        region: str,
        address_prefixes: str | Iterable[str],
        *,
        subnets: Iterable[Subnet] = (),
        hosts: Iterable[Host] = (),
        subscription: str | None = None,
        tenant: str | None = None,
    ) -> VNet:
        """Add a VNet; subnets and hosts may be given here or added later. ``subscription`` and
        ``tenant`` matter for peering permissions (§2.9) and AVNM scopes (N7)."""
        self._fresh(self.vnets, name, "VNet")
        prefixes = (address_prefixes,) if isinstance(address_prefixes, str) else address_prefixes
        vnet = VNet(
            name, region, tuple(prefixes), tuple(subnets), tuple(hosts), subscription, tenant
        )
        self.vnets[name] = vnet
        return vnet

    def subnet(
        self,
        vnet: str,
        name: str,
        address_prefix: str,
        *,
        nsg: str | None = None,
        route_table: str | None = None,
        service_endpoints: str | Iterable[str] = (),
        nat_gateway: str | None = None,
    ) -> Subnet:
        """Add a subnet to ``vnet`` (``service_endpoints``: services, N16; ``nat_gateway``: the
        NAT gateway its internet traffic leaves through, N18.1)."""
        current = self._get(self.vnets, vnet, "VNet")
        if name in current.subnet_names:
            raise FabricError(f"VNet {vnet} already has a subnet named {name!r}")
        endpoints = _names(service_endpoints)
        subnet = Subnet(name, address_prefix, nsg, route_table, endpoints, nat_gateway=nat_gateway)
        self.vnets[vnet] = attrs.evolve(current, subnets=(*current.subnets, subnet))
        return subnet

    def host(
        self,
        vnet: str,
        name: str,
        subnet: str,
        ip: str,
        *,
        nsg: str | None = None,
        bandwidth_mbps: float | None = None,
        enable_ip_forwarding: bool = False,
        **options: Any,
    ) -> Host:
        """Add a VM NIC (or an appliance, with ``enable_ip_forwarding``) to a subnet.

        ``options`` are the other Host fields: ``vm_size``, ``vm``, ``zone``, ``os_profile``,
        ``application_security_groups``, ``accelerated_networking``.
        """
        current = self._get(self.vnets, vnet, "VNet")
        current.subnet(subnet)
        if any(h.name == name for v in self.vnets.values() for h in v.hosts):
            raise FabricError(f"a host named {name!r} already exists")
        host = Host(
            name,
            subnet,
            ip,
            nsg,
            bandwidth_mbps=bandwidth_mbps,
            enable_ip_forwarding=enable_ip_forwarding,
            **options,
        )
        self.vnets[vnet] = attrs.evolve(current, hosts=(*current.hosts, host))
        return host

    def peer_one_side(
        self,
        vnet: str,
        remote_vnet: str,
        *,
        name: str | None = None,
        allow_virtual_network_access: bool = True,
        allow_forwarded_traffic: bool = False,
        allow_gateway_transit: bool = False,
        use_remote_gateways: bool = False,
    ) -> Peering:
        """Create the link that lives in ``vnet`` and points at ``remote_vnet`` (one side only).

        Creating the second side flips both to Connected (§2.2). A link whose state was reported
        by Azure (REST import) is left as reported, except Disconnected, which stays sticky.
        """
        self._get(self.vnets, vnet, "VNet")
        name = name or f"{vnet}-to-{remote_vnet}"
        if (vnet, name) in self.peerings:
            raise FabricError(f"VNet {vnet} already has a peering named {name!r}")
        link = Peering(
            name,
            vnet,
            remote_vnet,
            allow_virtual_network_access,
            allow_forwarded_traffic,
            allow_gateway_transit,
            use_remote_gateways,
        )
        self.peerings[(vnet, name)] = link
        for key, other in self.peerings.items():
            if (
                other.vnet == remote_vnet
                and other.remote_vnet == vnet
                and other.peering_state == "Initiated"
            ):
                self.peerings[key] = attrs.evolve(other, peering_state=None)
        return link

    def peer(
        self,
        a: str,
        b: str,
        *,
        allow_virtual_network_access: bool = True,
        allow_forwarded_traffic: bool = False,
        a_allows_gateway_transit: bool = False,
        b_uses_remote_gateways: bool = False,
        b_allows_gateway_transit: bool = False,
        a_uses_remote_gateways: bool = False,
    ) -> tuple[Peering, Peering]:
        """Peer ``a`` and ``b``: create both links (the usual case), with the same access flags.

        Hub-and-spoke transit: ``fabric.peer(hub, spoke, a_allows_gateway_transit=True,
        b_uses_remote_gateways=True)``.
        """
        common = {
            "allow_virtual_network_access": allow_virtual_network_access,
            "allow_forwarded_traffic": allow_forwarded_traffic,
        }
        ab = self.peer_one_side(
            a,
            b,
            allow_gateway_transit=a_allows_gateway_transit,
            use_remote_gateways=a_uses_remote_gateways,
            **common,
        )
        ba = self.peer_one_side(
            b,
            a,
            allow_gateway_transit=b_allows_gateway_transit,
            use_remote_gateways=b_uses_remote_gateways,
            **common,
        )
        return ab, ba

    def add_peering(self, peering: Peering) -> Peering:
        """Add a prepared peering record as it is (importers use this to keep reported state)."""
        self._get(self.vnets, peering.vnet, "VNet")
        key = (peering.vnet, peering.name)
        if key in self.peerings:
            raise FabricError(f"VNet {peering.vnet} already has a peering named {peering.name!r}")
        self.peerings[key] = peering
        return peering

    def unpeer(self, vnet: str, name: str) -> Peering:
        """Delete one side of a peering through the API: the other side becomes Disconnected.
        A peering that an Enforced AVNM configuration covers cannot be deleted (N8.1)."""
        link = self._get(self.peerings, (vnet, name), "peering")
        self._refuse_if_enforced(link, "deleted")
        del self.peerings[(vnet, name)]
        for key, other in self.peerings.items():
            if other.vnet == link.remote_vnet and other.remote_vnet == vnet:
                self.peerings[key] = attrs.evolve(other, peering_state="Disconnected")
        return link

    def update_peering(self, vnet: str, name: str, **changes: Any) -> Peering:
        """Change settings of one peering side (e.g. ``allow_forwarded_traffic=True``)."""
        link = self._get(self.peerings, (vnet, name), "peering")
        if set(changes) - {"remote_address_space"}:  # a sync is not a modification
            self._refuse_if_enforced(link, "modified")
        updated = attrs.evolve(link, **changes)
        self.peerings[(vnet, name)] = updated
        return updated

    def add_address_prefix(self, vnet: str, prefix: str) -> VNet:
        """Add a range to a VNet's space. Peers keep their old copy until synced (§2.3)."""
        current = self._get(self.vnets, vnet, "VNet")
        self._snapshot_remote_copies(current)
        updated = attrs.evolve(current, address_prefixes=(*current.address_prefixes, prefix))
        self.vnets[vnet] = updated
        return updated

    def remove_address_prefix(self, vnet: str, prefix: str) -> VNet:
        """Remove a range from a VNet's space; peers keep their old copy until synced."""
        current = self._get(self.vnets, vnet, "VNet")
        if prefix not in current.address_prefixes:
            raise FabricError(f"VNet {vnet} has no address prefix {prefix}")
        self._snapshot_remote_copies(current)
        kept = tuple(p for p in current.address_prefixes if p != prefix)
        updated = attrs.evolve(current, address_prefixes=kept)
        self.vnets[vnet] = updated
        return updated

    def sync_peering(self, vnet: str, name: str) -> Peering:
        """Run sync on the link in ``vnet``: it takes the remote VNet's current space (§2.3)."""
        return self.update_peering(vnet, name, remote_address_space=None)

    def _snapshot_remote_copies(self, changed: VNet) -> None:
        for key, link in self.peerings.items():
            if link.remote_vnet == changed.name and link.remote_address_space is None:
                self.peerings[key] = attrs.evolve(
                    link, remote_address_space=changed.address_prefixes
                )

    def gateway(
        self,
        name: str,
        vnet: str,
        sku: str,
        *,
        generation: str = "Generation1",
        vpn_type: str = "RouteBased",
        active_active: bool = False,
        bgp_asn: int = 65515,
        enable_bgp: bool = False,
    ) -> VpnGateway:
        """Add a VPN gateway to ``vnet`` (it lives in the VNet's GatewaySubnet)."""
        self._fresh(self.gateways, name, "gateway")
        self._get(self.vnets, vnet, "VNet")
        gateway = VpnGateway(
            name, vnet, sku, generation, vpn_type, active_active, bgp_asn, enable_bgp
        )
        self.gateways[name] = gateway
        return gateway

    def connect_one_side(
        self,
        name: str,
        from_gateway: str,
        to_gateway: str,
        *,
        shared_key: str | None,
        enable_bgp: bool = False,
        ipsec_policy: IpsecPolicy | None = None,
    ) -> Connection:
        """Create one Vnet2Vnet connection resource (a pair is needed for a tunnel)."""
        self._fresh(self.connections, name, "connection")
        connection = Connection(
            name, from_gateway, to_gateway, "Vnet2Vnet", shared_key, enable_bgp, ipsec_policy
        )
        self.connections[name] = connection
        return connection

    def connect(
        self,
        a: str,
        b: str,
        *,
        shared_key: str,
        enable_bgp: bool = False,
        ipsec_policy: IpsecPolicy | None = None,
    ) -> tuple[Connection, Connection]:
        """A VNet-to-VNet VPN between gateways ``a`` and ``b``: both connections, one key."""
        options = {"shared_key": shared_key, "enable_bgp": enable_bgp, "ipsec_policy": ipsec_policy}
        return (
            self.connect_one_side(f"{a}-to-{b}", a, b, **options),
            self.connect_one_side(f"{b}-to-{a}", b, a, **options),
        )

    def nsg(self, name: str, rules: Iterable[SecurityRule] = ()) -> Nsg:
        """Add a network security group with custom rules (default rules are implied)."""
        self._fresh(self.nsgs, name, "NSG")
        nsg = Nsg(name, tuple(rules))
        self.nsgs[name] = nsg
        return nsg

    def route_table(
        self,
        name: str,
        routes: Iterable[Route] = (),
        *,
        disable_bgp_route_propagation: bool = False,
    ) -> RouteTable:
        """Add a route table of user-defined routes."""
        self._fresh(self.route_tables, name, "route table")
        table = RouteTable(name, tuple(routes), disable_bgp_route_propagation)
        self.route_tables[name] = table
        return table

    def local_network_gateway(
        self,
        name: str,
        address_prefixes: str | Iterable[str] = (),
        *,
        gateway_ip_address: str | None = None,
        fqdn: str | None = None,
        bgp_asn: int | None = None,
        bgp_peering_address: str | None = None,
    ) -> LocalNetworkGateway:
        """Add an on-premises site: the prefixes behind its VPN device (N12.1)."""
        self._fresh(self.local_network_gateways, name, "local network gateway")
        prefixes = (address_prefixes,) if isinstance(address_prefixes, str) else address_prefixes
        bgp = BgpSettings(bgp_asn, bgp_peering_address) if bgp_asn is not None else None
        site = LocalNetworkGateway(name, tuple(prefixes), gateway_ip_address, fqdn, bgp)
        self.local_network_gateways[name] = site
        return site

    def connect_site(
        self,
        name: str,
        gateway: str,
        site: str,
        *,
        shared_key: str | None,
        enable_bgp: bool = False,
        ipsec_policy: IpsecPolicy | None = None,
        **options: Any,
    ) -> Connection:
        """A site-to-site (IPsec) connection from VPN gateway ``gateway`` to local network
        gateway ``site`` (N12.2); the on-premises device holds the other end."""
        self._fresh(self.connections, name, "connection")
        connection = Connection(
            name,
            gateway,
            site,
            "IPsec",
            shared_key,
            enable_bgp,
            ipsec_policy,
            **options,
        )
        self.connections[name] = connection
        return connection

    def firewall(
        self,
        name: str,
        vnet: str,
        *,
        sku_tier: str = "Standard",
        private_ip: str | None = None,
        network_rule_collections: Iterable[FirewallRuleCollection] | None = None,
    ) -> Firewall:
        """Add an Azure Firewall to ``vnet`` (it lives in AzureFirewallSubnet)."""
        self._fresh(self.firewalls, name, "firewall")
        self._get(self.vnets, vnet, "VNet")
        collections = None if network_rule_collections is None else tuple(network_rule_collections)
        firewall = Firewall(name, vnet, sku_tier, private_ip, collections)
        self.firewalls[name] = firewall
        return firewall

    def nat_gateway(
        self,
        name: str,
        *,
        public_ip_addresses: str | Iterable[str] = (),
        public_ip_prefixes: str | Iterable[str] = (),
        public_ip_count: int | None = None,
        idle_timeout_in_minutes: int = 4,
    ) -> NatGateway:
        """Add a NAT gateway (N18.1); subnets name it (``subnet(..., nat_gateway=name)``).
        ``public_ip_count`` stands for public IPs that are not named."""
        self._fresh(self.nat_gateways, name, "NAT gateway")
        gateway = NatGateway(
            name,
            _names(public_ip_addresses),
            _names(public_ip_prefixes),
            public_ip_count,
            idle_timeout_in_minutes,
        )
        self.nat_gateways[name] = gateway
        return gateway

    def bastion(self, name: str, vnet: str, sku: str = "Basic") -> BastionHost:
        """Add an Azure Bastion host in ``vnet`` (N18.2)."""
        self._fresh(self.bastions, name, "Bastion host")
        host = BastionHost(name, vnet, sku)
        self.bastions[name] = host
        return host

    def application_security_group(self, name: str) -> ApplicationSecurityGroup:
        """Add an application security group (NICs join it through their host record)."""
        self._fresh(self.application_security_groups, name, "application security group")
        group = ApplicationSecurityGroup(name)
        self.application_security_groups[name] = group
        return group

    def route_server(self, server: RouteServer) -> RouteServer:
        """Add an Azure Route Server record (it lives in RouteServerSubnet)."""
        self._fresh(self.route_servers, server.name, "route server")
        self._get(self.vnets, server.vnet, "VNet")
        self.route_servers[server.name] = server
        return server

    # -- Azure Virtual Network Manager and permissions ------------------------------------------

    def network_group(
        self, name: str, members: Iterable[str] = (), *, network_manager: str | None = None
    ) -> NetworkGroup:
        """Add an AVNM network group with static members (VNet names)."""
        self._fresh(self.network_groups, name, "network group")
        for member in members:
            self._get(self.vnets, member, "VNet")
        group = NetworkGroup(name, tuple(members), network_manager)
        self.network_groups[name] = group
        return group

    def connectivity_configuration(
        self,
        name: str,
        connectivity_topology: str,
        groups: str | GroupItem | Iterable[str | GroupItem],
        *,
        hubs: str | Iterable[str] = (),
        use_hub_gateway: bool = False,
        group_connectivity: str = "None",
        **options: Any,
    ) -> ConnectivityConfiguration:
        """Add (and deploy) an AVNM connectivity configuration over network ``groups`` (names,
        with ``use_hub_gateway`` and ``group_connectivity`` applied to each, or GroupItems).

        ``options`` are the other fields: ``is_global``, ``delete_existing_peering``,
        ``connected_group_address_overlap``, ``peering_enforcement``, ``network_manager``.
        Examples: ``connectivity_configuration("mesh", "Mesh", "spokes")``;
        ``connectivity_configuration("hs", "HubAndSpoke", "spokes", hubs="hub",
        use_hub_gateway=True)``.
        """
        self._fresh(self.connectivity_configurations, name, "connectivity configuration")
        if isinstance(groups, str | GroupItem):
            groups = (groups,)
        items = tuple(
            item
            if isinstance(item, GroupItem)
            else GroupItem(item, group_connectivity, use_hub_gateway)
            for item in groups
        )
        for item in items:
            self._get(self.network_groups, item.network_group, "network group")
        hub_names = _names(hubs)
        for hub in hub_names:
            self._get(self.vnets, hub, "VNet")
        config = ConnectivityConfiguration(name, connectivity_topology, items, hub_names, **options)
        self.connectivity_configurations[name] = config
        return config

    def security_admin_configuration(
        self,
        name: str,
        groups: str | Iterable[str],
        rules: Iterable[AdminRule],
        *,
        collection: str = "rules",
        network_manager: str | None = None,
    ) -> SecurityAdminConfiguration:
        """Add (and deploy) an AVNM security admin configuration with one rule collection
        (``collection``) of ``rules`` applied to the network ``groups`` (§5.3: evaluated
        before NSGs). Build richer ones as records with ``AdminRuleCollection``."""
        self._fresh(self.security_admin_configurations, name, "security admin configuration")
        names = _names(groups)
        for group in names:
            self._get(self.network_groups, group, "network group")
        rule_collection = AdminRuleCollection(collection, names, tuple(rules))
        config = SecurityAdminConfiguration(name, (rule_collection,), network_manager)
        self.security_admin_configurations[name] = config
        return config

    def permission(
        self,
        name: str,
        principal: str,
        scope: str,
        *,
        role: str | None = None,
        actions: Iterable[str] = (),
    ) -> Permission:
        """Grant the administrators of ``principal`` (a tenant or subscription) a role on
        ``scope`` (a VNet name or ``/subscriptions/<id>``); see ``Permission``."""
        self._fresh(self.permissions, name, "permission")
        grant = Permission(name, principal, scope, role, tuple(actions))
        self.permissions[name] = grant
        return grant

    def network_manager(self, manager: NetworkManager) -> NetworkManager:
        """Add an AVNM instance record (its tenant, scope and cross-tenant scope connections)."""
        self._fresh(self.network_managers, manager.name, "network manager")
        self.network_managers[manager.name] = manager
        return manager

    def network_manager_connection(
        self, name: str, subscription: str, network_manager: str, *, tenant: str | None = None
    ) -> NetworkManagerConnection:
        """The target tenant's consent to a network manager managing ``subscription`` (N7)."""
        self._fresh(self.network_manager_connections, name, "network manager connection")
        connection = NetworkManagerConnection(name, subscription, network_manager, tenant)
        self.network_manager_connections[name] = connection
        return connection

    def enforcing_configuration(self, link: Peering) -> ConnectivityConfiguration | None:
        """The deployed configuration with peering enforcement ``Enforced`` whose topology
        holds this peering (hub and spoke of a HubAndSpoke; two members of a Mesh), if any."""
        pair = {link.vnet, link.remote_vnet}
        for config in self.connectivity_configurations.values():
            if config.peering_enforcement != "Enforced":
                continue
            members = {
                vnet
                for group in config.group_names
                if group in self.network_groups
                for vnet in self.network_groups[group].members
            }
            if config.connectivity_topology == "Mesh":
                if pair <= members:
                    return config
            elif any(hub in pair and (pair - {hub}) <= members for hub in config.hubs):
                return config
        return None

    def _refuse_if_enforced(self, link: Peering, what: str) -> None:
        config = self.enforcing_configuration(link)
        if config is not None:
            raise FabricError(
                f"peering {link.vnet}/{link.name} cannot be {what} outside Virtual Network "
                f"Manager: configuration {config.name} sets peering_enforcement Enforced "
                "(N8.1); change the configuration instead"
            )

    def express_route_gateway(
        self,
        name: str,
        vnet: str,
        sku: str = "ErGw1AZ",
        *,
        allow_remote_vnet_traffic: bool = False,
        scale_units: int | None = None,
    ) -> VpnGateway:
        """Add an ExpressRoute gateway to ``vnet`` (it lives in the VNet's GatewaySubnet)."""
        self._fresh(self.gateways, name, "gateway")
        self._get(self.vnets, vnet, "VNet")
        gateway = VpnGateway(
            name,
            vnet,
            sku,
            gateway_type="ExpressRoute",
            allow_remote_vnet_traffic=allow_remote_vnet_traffic,
            scale_units=scale_units,
        )
        self.gateways[name] = gateway
        return gateway

    def express_route_circuit(
        self,
        name: str,
        peering_location: str,
        bandwidth_mbps: float,
        *,
        sku_tier: str = "Standard",
        on_premises_prefixes: str | Iterable[str] = (),
        **options: Any,
    ) -> ExpressRouteCircuit:
        """Add an ExpressRoute circuit (N1.5). ``options`` are the other ExpressRouteCircuit
        fields: ``sku_family``, ``express_route_port``, ``peer_asn``, ``as_path_prepend``,
        ``service_provider_name``, ``service_provider_provisioning_state``, ``subscription``,
        ``bfd``."""
        self._fresh(self.express_route_circuits, name, "ExpressRoute circuit")
        prefixes = (
            (on_premises_prefixes,)
            if isinstance(on_premises_prefixes, str)
            else tuple(on_premises_prefixes)
        )
        circuit = ExpressRouteCircuit(
            name,
            peering_location,
            bandwidth_mbps,
            sku_tier,
            on_premises_prefixes=prefixes,
            **options,
        )
        self.express_route_circuits[name] = circuit
        return circuit

    def connect_circuit(
        self,
        name: str,
        gateway: str,
        circuit: str,
        *,
        routing_weight: int = 0,
        express_route_gateway_bypass: bool = False,
        authorization_key: str | None = None,
    ) -> Connection:
        """An ExpressRoute connection from ExpressRoute gateway ``gateway`` to ``circuit``."""
        self._fresh(self.connections, name, "connection")
        connection = Connection(
            name,
            gateway,
            circuit,
            "ExpressRoute",
            routing_weight=routing_weight,
            express_route_gateway_bypass=express_route_gateway_bypass,
            authorization_key=authorization_key,
        )
        self.connections[name] = connection
        return connection

    def set_vnet(self, vnet: VNet) -> None:
        """Replace a VNet record wholesale (what-if edits made with ``attrs.evolve``)."""
        self._get(self.vnets, vnet.name, "VNet")
        self.vnets[vnet.name] = vnet

    # -- queries ----------------------------------------------------------------------------

    def find_host(self, name: str) -> tuple[VNet, Host]:
        """The VNet and host record of the host called ``name``."""
        for vnet in self.vnets.values():
            for host in vnet.hosts:
                if host.name == name:
                    return vnet, host
        names = [h.name for v in self.vnets.values() for h in v.hosts]
        raise FabricError(f"no host named {name!r} ({suggest(name, names)})")

    def gateways_in(self, vnet: str, gateway_type: str | None = "Vpn") -> list[VpnGateway]:
        """The gateways deployed in ``vnet`` (VPN gateways by default; None: every type)."""
        return [
            g
            for g in self.gateways.values()
            if g.vnet == vnet and (gateway_type is None or g.gateway_type == gateway_type)
        ]

    def peerings_of(self, vnet: str) -> list[Peering]:
        """The peering links that live in ``vnet``."""
        return [p for p in self.peerings.values() if p.vnet == vnet]

    def copy(self) -> Fabric:
        """An independent copy for what-if edits (records are frozen, so a shallow copy)."""
        return Fabric(
            **{field.name: dict(getattr(self, field.name)) for field in attrs.fields(Fabric)}
        )

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _fresh(table: dict, name: str, kind: str) -> None:
        if name in table:
            raise FabricError(f"a {kind} named {name!r} already exists")

    @staticmethod
    def _get(table: dict, name: Any, kind: str) -> Any:
        try:
            return table[name]
        except KeyError:
            names = [str(k) for k in table]
            raise FabricError(f"no {kind} named {name!r} ({suggest(name, names)})") from None
