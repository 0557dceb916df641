"""Effective routes of a subnet or a gateway, compiled into a pytricia longest-prefix-match FIB.

The one place that decides which route wins (azure-facts §4): system routes (§4.1-4.2), routes
learned by the VPN and ExpressRoute gateways (§3.9, §4.5, N1), user-defined routes (§4.3);
selection by longest prefix, then User > VirtualNetworkGateway > Default for equal prefixes,
and among gateway routes of one prefix ExpressRoute over VPN (N1.7), with system VNet and
peering routes never overridden by a more specific gateway route (§4.4 rule 3, applied before
rule 2).
A gateway forwards by its own FIB: the effective routes of its GatewaySubnet, whose
``VirtualNetworkGateway`` routes name the connection a packet leaves on.
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import attrs

from fabric.catalogue.servicetags import is_service_tag
from fabric.control.addressing import (
    PRIVATE_RANGES,
    AddressError,
    Fib,
    IPAddress,
    IPNetwork,
    contains,
    parse_prefix,
    valid_networks,
)
from fabric.control.avnm import GroupLink, Overlap
from fabric.control.connections import (
    gateway_addresses,
    gateway_for_vnet,
    learned_routes,
    serving_gateways,
)
from fabric.control.peering import PeeringView, remote_prefixes
from fabric.model.container import Fabric
from fabric.model.records import (
    UDR_NEXT_HOP_TYPES,
    Connection,
    Peering,
    Route,
    RouteTable,
    Subnet,
    VNet,
    VpnGateway,
)

DEFAULT = "Default"
USER = "User"
GATEWAY = "VirtualNetworkGateway"
ACTIVE = "Active"
INVALID = "Invalid"
SYSTEM_ROUTE = "System Route"

DEFAULT_ROUTES = (ip_network("0.0.0.0/0"), ip_network("::/0"))
# §4.4: for equal prefixes, user routes win over BGP (gateway) routes, which win over system.
_SOURCE_RANK = {USER: 0, GATEWAY: 1, DEFAULT: 2}
# §4.4 rule 3: system routes a more specific gateway route may not steal from.
# A ConnectedGroup route (N8.1) is treated as a peering route (the facts are silent).
_PROTECTED_HOPS = (
    "VnetLocal",
    "VNetPeering",
    "VNetGlobalPeering",
    "ConnectedGroup",
    "VirtualNetworkServiceEndpoint",
)


@attrs.frozen(slots=True)
class RouteEntry:
    """One row of a subnet's effective routes."""

    source: str
    state: str
    prefix: IPNetwork
    next_hop_type: str
    next_hop_ip_address: tuple[str, ...] = ()
    name: str | None = None  # the UDR's name
    route_table: str | None = None  # the UDR's route table
    peering: Peering | None = None  # the link a VNet peering route crosses
    gateway: VpnGateway | None = None  # the gateway a learned route goes through
    connection: Connection | None = None  # the connection a learned route leaves on
    broken: str | None = None  # why a user route cannot carry traffic (it stays Invalid)
    group_link: GroupLink | None = None  # the connected group a ConnectedGroup route crosses
    overlap: Overlap | None = None  # the connected-group overlap a None route drops (N8.1)
    alternatives: tuple[Connection, ...] = ()  # ECMP: further connections of equal preference
    as_path: tuple[int, ...] = ()  # N1.7: of a route learned over ExpressRoute

    @property
    def connections(self) -> tuple[Connection, ...]:
        """Every connection a learned route may leave on (ECMP), the primary first."""
        return (self.connection, *self.alternatives) if self.connection else ()

    @property
    def route_table_label(self) -> str:
        """What Network Watcher's next hop prints: the route table, or 'System Route'."""
        return self.route_table or SYSTEM_ROUTE

    def to_json(self) -> dict:
        """DESIGN.md's ``routes --json`` row."""
        return {
            "source": self.source,
            "state": self.state,
            "address_prefixes": [str(self.prefix)],
            "next_hop_type": self.next_hop_type,
            "next_hop_ip_address": list(self.next_hop_ip_address),
            "name": self.name,
            "route_table": self.route_table,
        }


def system_routes(
    fabric: Fabric, vnet: VNet, default_to_appliance: bool, view: PeeringView | None = None
) -> list[RouteEntry]:
    """§4.1-4.2 default routes: VNet ranges, Internet, the reserved None ranges, peerings."""
    own = valid_networks(vnet.address_prefixes)
    routes = [RouteEntry(DEFAULT, ACTIVE, net, "VnetLocal") for net in own]
    for default in DEFAULT_ROUTES:  # one per family the VNet uses
        if default.version == 4 or any(net.version == 6 for net in own):
            routes.append(RouteEntry(DEFAULT, ACTIVE, default, "Internet"))
    for reserved in PRIVATE_RANGES:
        # §4.1: equal to or a supernet of a VNet range -> the VNet route replaces it.
        if any(contains(net, reserved) for net in own):
            continue
        # §4.7: Azure removes them once a 0.0.0.0/0 UDR sends traffic to an appliance.
        if default_to_appliance:
            continue
        routes.append(RouteEntry(DEFAULT, ACTIVE, reserved, "None"))
    view = view or PeeringView(fabric)
    for link in view.connected_links(vnet.name):
        remote = fabric.vnets.get(link.remote_vnet)
        global_peering = remote is not None and remote.region != vnet.region
        hop = "VNetGlobalPeering" if global_peering else "VNetPeering"
        for net in remote_prefixes(fabric, link):
            routes.append(RouteEntry(DEFAULT, ACTIVE, net, hop, peering=link))
    return routes + connected_group_routes(vnet, view, routes)


def connected_group_routes(
    vnet: VNet, view: PeeringView | None, existing: list[RouteEntry]
) -> list[RouteEntry]:
    """N8.1: a connected group member's routes to the other members (next hop
    ``ConnectedGroup``), and a ``None`` route for each prefix removed because members overlap
    (unless the VNet routes that very prefix itself)."""
    if view is None or not view.deployment.groups:
        return []
    mesh = view.mesh
    routes = [
        RouteEntry(DEFAULT, ACTIVE, r.prefix, "ConnectedGroup", group_link=r.link)
        for r in mesh.routes.get(vnet.name, ())
    ]
    taken = {r.prefix for r in existing} | {r.prefix for r in routes}
    for overlap in mesh.drops.get(vnet.name, ()):
        if overlap.prefix not in taken:
            routes.append(RouteEntry(DEFAULT, ACTIVE, overlap.prefix, "None", overlap=overlap))
    return routes


def gateway_routes(
    fabric: Fabric, vnet: VNet, learned: dict | None = None, view: PeeringView | None = None
) -> list[RouteEntry]:
    """§4.2: routes the serving VPN and ExpressRoute gateways learned (own or through gateway
    transit)."""
    view = view or PeeringView(fabric)
    gateways = serving_gateways(fabric, vnet.name, view)
    if not gateways:
        return []
    learned = learned if learned is not None else learned_routes(fabric, view)
    routes = []
    for gateway in gateways:
        address = gateway_addresses(fabric, gateway)
        routes += [
            RouteEntry(
                GATEWAY,
                ACTIVE,
                route.prefix,
                "VirtualNetworkGateway",
                address,
                gateway=gateway,
                connection=fabric.connections[route.connection],
                alternatives=tuple(fabric.connections[c] for c in route.alternatives),
                as_path=route.as_path,
            )
            for route in learned.get(gateway.name, [])
        ]
    return routes


def broken_because(
    route: Route, gateway_available: bool, express_route_coexists: bool = False
) -> str | None:
    """Why a user route cannot carry traffic (§4.3), or None. The route still wins its prefix
    and shows Invalid; traffic it takes is dropped, naming it."""
    hop = route.next_hop_type
    if hop not in UDR_NEXT_HOP_TYPES:
        return f"next hop type {hop!r} is not allowed in a user-defined route"
    if hop == "VirtualAppliance" and not route.next_hop_ip_address:
        return "a VirtualAppliance route needs a next hop IP address"
    if hop == "VirtualNetworkGateway" and not gateway_available:
        return "next hop VirtualNetworkGateway, but no VPN gateway serves this VNet"
    if hop == "VirtualNetworkGateway" and express_route_coexists:
        return (
            "next hop VirtualNetworkGateway cannot be used where VPN and ExpressRoute gateways "
            "coexist (§4.3)"
        )
    return None


def user_routes(
    table: RouteTable, gateway_available: bool = True, express_route_coexists: bool = False
) -> list[RouteEntry]:
    """§4.3: the route table's UDRs (service-tag routes are kept out of the FIB: vnetsim has no
    tag-to-prefix data; validation names them)."""
    routes = []
    for route in table.routes:
        if is_service_tag(route.address_prefix):
            continue
        try:
            net = parse_prefix(route.address_prefix)
        except AddressError:
            continue
        hops = (route.next_hop_ip_address,) if route.next_hop_ip_address else ()
        broken = broken_because(route, gateway_available, express_route_coexists)
        routes.append(
            RouteEntry(
                USER,
                ACTIVE,
                net,
                route.next_hop_type,
                hops,
                route.name,
                table.name,
                broken=broken,
            )
        )
    return routes


def _rank(route: RouteEntry) -> tuple[int, int]:
    """§4.4 rule 2 by source; N1.7: for one prefix, ExpressRoute over VPN."""
    express_route = route.gateway is not None and route.gateway.gateway_type == "ExpressRoute"
    return (_SOURCE_RANK[route.source], 0 if express_route else 1)


def select(routes: list[RouteEntry]) -> list[RouteEntry]:
    """Mark shadowed routes Invalid (§4.4); the order of the input is kept."""
    protected = [
        r.prefix for r in routes if r.source == DEFAULT and r.next_hop_type in _PROTECTED_HOPS
    ]
    best: dict[IPNetwork, tuple[int, int]] = {}
    for route in routes:
        rank = _rank(route)
        if route.source == GATEWAY and any(contains(p, route.prefix) for p in protected):
            continue  # rule 3: such a gateway route never wins
        if route.prefix not in best or rank < best[route.prefix]:
            best[route.prefix] = rank
    selected = []
    for route in routes:
        wins = best.get(route.prefix) == _rank(route)
        if route.source == GATEWAY and any(contains(p, route.prefix) for p in protected):
            wins = False
        selected.append(route if wins else attrs.evolve(route, state=INVALID))
    return selected


@attrs.frozen(slots=True, eq=False)
class SubnetRoutes:
    """A subnet's effective routes and the compiled longest-prefix-match table of the winners."""

    vnet: str
    subnet: str
    routes: tuple[RouteEntry, ...]
    fib: Fib

    def lookup(self, destination: IPAddress | str) -> RouteEntry | None:
        """The route that wins for ``destination`` (None: no route at all)."""
        if isinstance(destination, str):
            destination = ip_address(destination)
        return self.fib.get(destination)

    def frame(self):
        """The effective routes as a pandas DataFrame (needs the ``frame`` extra)."""
        from fabric.model.frames import data_frame

        return data_frame(r.to_json() | {"address_prefixes": str(r.prefix)} for r in self.routes)


def compile_subnet(
    fabric: Fabric,
    vnet: VNet,
    subnet: Subnet,
    learned: dict | None = None,
    view: PeeringView | None = None,
    *,
    for_gateway: bool = False,
) -> SubnetRoutes:
    """Effective routes of one subnet, compiled into a pytricia FIB. ``for_gateway``: the
    gateway's own FIB, which always holds what it learned (propagation is a subnet setting)."""
    view = view or PeeringView(fabric)
    table = fabric.route_tables.get(subnet.route_table) if subnet.route_table else None
    serving = gateway_for_vnet(fabric, vnet.name, view)
    coexists = serving is not None and (
        gateway_for_vnet(fabric, vnet.name, view, "ExpressRoute") is not None
    )
    udrs = user_routes(table, serving is not None, coexists) if table is not None else []
    # §4.7: the reserved None routes go when a 0.0.0.0/0 UDR sends traffic to an appliance.
    default_to_appliance = any(
        r.prefix.prefixlen == 0 and r.prefix.version == 4 and r.next_hop_type == "VirtualAppliance"
        for r in udrs
    )
    routes = system_routes(fabric, vnet, default_to_appliance, view)
    if for_gateway or table is None or not table.disable_bgp_route_propagation:  # §4.5
        routes += gateway_routes(fabric, vnet, learned, view)
    routes += udrs
    routes = select(routes)
    fib = Fib()
    for route in routes:
        if route.state == ACTIVE:
            fib[route.prefix] = attrs.evolve(route, state=INVALID) if route.broken else route
    # A broken user route still wins its prefix (traffic it takes is dropped); it shows Invalid.
    routes = [attrs.evolve(r, state=INVALID) if r.broken else r for r in routes]
    return SubnetRoutes(vnet.name, subnet.name, tuple(routes), fib)
