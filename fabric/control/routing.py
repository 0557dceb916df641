"""Effective routes of a subnet or a gateway, compiled into a pytricia longest-prefix-match FIB.

The one place that decides which route wins (azure-facts §4): system routes (§4.1-4.2), routes
learned by the VPN and ExpressRoute gateways (§3.9, §4.5, N1), user-defined routes (§4.3);
selection by longest prefix, then User > VirtualNetworkGateway > Default for equal prefixes,
and among gateway routes of one prefix ExpressRoute over VPN (N1.7), with system VNet and
peering routes never overridden by a more specific gateway route (§4.4 rule 3, applied before
rule 2). Routes an Azure Route Server learned from NVAs (N15, ``fabric.control.routeserver``)
are BGP routes like the gateways' (after them for one prefix: our order, the facts are silent).
A service endpoint (N16) adds, to its subnet only, a ``VirtualNetworkServiceEndpoint`` route per
service; with the service's prefixes known it wins over user and BGP routes of the same or a
shorter prefix (§4.4 rules 3 and 6), else it is listed with the service tag in place of the
prefixes and left out of the FIB.
A gateway forwards by its own FIB: the effective routes of its GatewaySubnet, whose
``VirtualNetworkGateway`` routes name the connection a packet leaves on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address, ip_network

import attrs

from fabric.catalogue.servicetags import (
    SERVICE_TAG_PREFIXES,
    endpoint_tag,
    is_service_tag,
    tag_level,
)
from fabric.control.addressing import (
    PRIVATE_RANGES,
    AddressError,
    Fib,
    IPAddress,
    IPNetwork,
    contains,
    parse_address,
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
from fabric.control.routeserver import NvaRoute, nva_routes, serving_route_server
from fabric.model.container import Fabric
from fabric.model.records import (
    UDR_NEXT_HOP_TYPES,
    Connection,
    Peering,
    Route,
    RouteServer,
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
SERVICE_ENDPOINT = "VirtualNetworkServiceEndpoint"
GATEWAY_SUBNET = "GatewaySubnet"

DEFAULT_ROUTES = (ip_network("0.0.0.0/0"), ip_network("::/0"))
# §4.4: for equal prefixes, user routes win over BGP (gateway) routes, which win over system;
# a service endpoint's route wins over all of them (rule 6), or ranks after the user routes
# where they may override it (``user_routes_override_endpoints``, N19 item 11).
_SOURCE_RANK = {USER: 1, GATEWAY: 3, DEFAULT: 4}
_ENDPOINT_RANK = 0
_ENDPOINT_RANK_OVERRIDDEN = 2
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
    as_path: tuple[int, ...] = ()  # N1.7: of a route learned over ExpressRoute (or from NVAs)
    route_server: RouteServer | None = None  # N15: it programmed this route (next hops: NVAs)
    service: str | None = None  # N16: the service of an endpoint route
    tag: str | None = None  # the service tag of an endpoint route or of a service-tag UDR

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
    fabric: Fabric, vnet: VNet, default_udr: bool, view: PeeringView | None = None
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
        # §4.7: Azure removes them once a 0.0.0.0/0 UDR is added.
        if default_udr:
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


@attrs.frozen(slots=True)
class ListedRoute:
    """A row of the effective routes that is not in the FIB: a service endpoint's route, or a
    service-tag user route, whose prefixes vnetsim does not know (N16, §4.3). Its address
    prefix is the service tag; it reads like a RouteEntry for the ``routes`` listing and
    ``--compare``."""

    source: str
    state: str
    prefix: str  # the service tag standing for the service's prefixes
    next_hop_type: str
    service: str
    next_hop_ip_address: tuple[str, ...] = ()
    name: str | None = None
    route_table: str | None = None

    def to_json(self) -> dict:
        """DESIGN.md's ``routes --json`` row."""
        return {
            "source": self.source,
            "state": self.state,
            "address_prefixes": [self.prefix],
            "next_hop_type": self.next_hop_type,
            "next_hop_ip_address": list(self.next_hop_ip_address),
            "name": self.name,
            "route_table": self.route_table,
        }


TagPrefixes = Mapping[str, tuple[IPNetwork, ...]]


def tag_networks(prefixes: Mapping[str, Iterable[str]] | None = None) -> dict:
    """Service tag -> its prefixes as networks (default: the catalogue's), for compilation."""
    table = SERVICE_TAG_PREFIXES if prefixes is None else prefixes
    return {tag: tuple(valid_networks(texts)) for tag, texts in table.items()}


def service_endpoint_routes(
    subnet: Subnet, tags: TagPrefixes
) -> tuple[list[RouteEntry], list[ListedRoute]]:
    """N16/§4.2: one ``VirtualNetworkServiceEndpoint`` route per service with an endpoint on
    ``subnet``: a RouteEntry per prefix when the service tag's prefixes are known, else a
    listed row with the tag as its prefix (not in the FIB: traffic to the service is not
    simulated, and validation says so). Regions are not modelled: one row per service."""
    routes, listed = [], []
    for service in dict.fromkeys(subnet.service_endpoints):
        tag = endpoint_tag(service)
        known = tags.get(tag)
        if not known:
            listed.append(ListedRoute(DEFAULT, ACTIVE, tag, SERVICE_ENDPOINT, service))
            continue
        routes += [
            RouteEntry(DEFAULT, ACTIVE, net, SERVICE_ENDPOINT, service=service, tag=tag)
            for net in known
        ]
    return routes, listed


def route_server_routes(
    fabric: Fabric,
    vnet: VNet,
    nva: dict[str, list[NvaRoute]] | None = None,
    view: PeeringView | None = None,
) -> list[RouteEntry]:
    """N15: the routes the Route Server serving ``vnet`` (its own, or the hub's through
    use_remote_gateways, N15.2) learned from NVAs: BGP routes whose next hops are the NVAs."""
    server = serving_route_server(fabric, vnet.name, view)
    if server is None:
        return []
    learned = nva.get(server.name, []) if nva is not None else nva_routes(fabric)[server.name]
    return [
        RouteEntry(
            GATEWAY,
            ACTIVE,
            route.prefix,
            "VirtualNetworkGateway",
            route.next_hops,
            as_path=route.as_path,
            route_server=server,
        )
        for route in learned
    ]


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
    route: Route,
    gateway_available: bool,
    express_route_coexists: bool = False,
    reachable: Callable[[str], bool] | None = None,
) -> str | None:
    """Why a user route cannot carry traffic (§4.3), or None. The route still wins its prefix
    and shows Invalid; traffic it takes is dropped, naming it. ``reachable`` says whether a
    next hop IP is directly reachable (in the VNet, a Connected peer or a connected-group
    member: §4.3 "otherwise the UDR is invalid")."""
    hop = route.next_hop_type
    if hop not in UDR_NEXT_HOP_TYPES:
        return f"next hop type {hop!r} is not allowed in a user-defined route"
    if hop == "VirtualAppliance" and not route.next_hop_ip_address:
        return "a VirtualAppliance route needs a next hop IP address"
    if (
        hop == "VirtualAppliance"
        and reachable is not None
        and not reachable(route.next_hop_ip_address)
    ):
        return (
            f"next hop {route.next_hop_ip_address} is not directly reachable: it is in no "
            "subnet of the VNet, a Connected peer or a connected-group member (§4.3)"
        )
    if hop == "VirtualNetworkGateway" and not gateway_available:
        return "next hop VirtualNetworkGateway, but no VPN gateway serves this VNet"
    if hop == "VirtualNetworkGateway" and express_route_coexists:
        return (
            "next hop VirtualNetworkGateway cannot be used where VPN and ExpressRoute gateways "
            "coexist (§4.3)"
        )
    return None


def user_routes(
    table: RouteTable,
    gateway_available: bool = True,
    express_route_coexists: bool = False,
    tags: TagPrefixes | None = None,
    reachable: Callable[[str], bool] | None = None,
) -> list[RouteEntry]:
    """§4.3: the route table's UDRs. A service-tag route becomes one route per prefix of the
    tag when ``tags`` knows them; otherwise it is kept out of the FIB (validation names it)."""
    routes = []
    for route in table.routes:
        tag = None
        if is_service_tag(route.address_prefix):
            tag = route.address_prefix
            nets = (tags or {}).get(tag, ())
        else:
            try:
                nets = (parse_prefix(route.address_prefix),)
            except AddressError:
                continue
        hops = (route.next_hop_ip_address,) if route.next_hop_ip_address else ()
        broken = broken_because(route, gateway_available, express_route_coexists, reachable)
        routes += [
            RouteEntry(
                USER,
                ACTIVE,
                net,
                route.next_hop_type,
                hops,
                route.name,
                table.name,
                broken=broken,
                tag=tag,
            )
            for net in nets
        ]
    return routes


def listed_tag_routes(
    table: RouteTable, tags: TagPrefixes, endpoint_tags: set[str]
) -> list[ListedRoute]:
    """§4.3: the service-tag UDRs whose prefixes vnetsim lacks, listed by their tag (not in the
    FIB, like the endpoint rows of N16). Beside an endpoint of the same service (the tag or its
    regional form) such a route is Invalid: the endpoint's routes cannot be overridden (§4.4
    rule 6), unless ``endpoint_tags`` is empty because user routes are set to override them."""
    rows = []
    for route in table.routes:
        tag = route.address_prefix
        if not is_service_tag(tag) or tags.get(tag):
            continue
        state = INVALID if tag.split(".")[0] in endpoint_tags else ACTIVE
        hops = (route.next_hop_ip_address,) if route.next_hop_ip_address else ()
        rows.append(
            ListedRoute(USER, state, tag, route.next_hop_type, "", hops, route.name, table.name)
        )
    return rows


def _rank(route: RouteEntry, endpoint_rank: int = _ENDPOINT_RANK) -> tuple[int, int]:
    """For one prefix (lower wins): §4.4 rule 6, a service endpoint's route first; rule 2 by
    source; among user routes, explicit prefixes over service tags and then rule 4's tag order;
    among BGP routes N1.7's ExpressRoute over VPN, then Route Server (N15)."""
    if route.source == DEFAULT and route.next_hop_type == SERVICE_ENDPOINT:
        return (endpoint_rank, 0)
    if route.source == USER:
        return (_SOURCE_RANK[USER], 0 if route.tag is None else 1 + tag_level(route.tag))
    if route.route_server is not None:
        return (_SOURCE_RANK[route.source], 2)
    express_route = route.gateway is not None and route.gateway.gateway_type == "ExpressRoute"
    return (_SOURCE_RANK[route.source], 0 if express_route else 1)


def select(
    routes: list[RouteEntry], user_routes_override_endpoints: bool = False
) -> list[RouteEntry]:
    """Mark shadowed routes Invalid (§4.4); the order of the input is kept.
    ``user_routes_override_endpoints``: a user route (explicit or service tag) wins over a
    service endpoint's route of the same prefix, as older UDR pages and a field report have it
    (N16, N19 item 11); default False, the current UDR page: it cannot be overridden."""
    endpoint = _ENDPOINT_RANK_OVERRIDDEN if user_routes_override_endpoints else _ENDPOINT_RANK
    protected = [
        r.prefix for r in routes if r.source == DEFAULT and r.next_hop_type in _PROTECTED_HOPS
    ]
    best: dict[IPNetwork, tuple[int, int]] = {}
    for route in routes:
        rank = _rank(route, endpoint)
        if route.source == GATEWAY and any(contains(p, route.prefix) for p in protected):
            continue  # rule 3: such a gateway route never wins
        if route.prefix not in best or rank < best[route.prefix]:
            best[route.prefix] = rank
    selected = []
    for route in routes:
        wins = best.get(route.prefix) == _rank(route, endpoint)
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
    listed: tuple[ListedRoute, ...] = ()  # rows shown but not in the FIB (N16)

    @property
    def listing(self) -> tuple[RouteEntry | ListedRoute, ...]:
        """Every row of the effective routes as Azure lists them: the routes, then the service
        endpoint rows whose prefixes are not known."""
        return (*self.routes, *self.listed)

    def lookup(self, destination: IPAddress | str) -> RouteEntry | None:
        """The route that wins for ``destination`` (None: no route at all)."""
        if isinstance(destination, str):
            destination = ip_address(destination)
        return self.fib.get(destination)

    def frame(self):
        """The effective routes as a pandas DataFrame (needs the ``frame`` extra)."""
        from fabric.model.frames import data_frame

        return data_frame(r.to_json() | {"address_prefixes": str(r.prefix)} for r in self.listing)


def _reachable(fabric: Fabric, vnet: VNet, view: PeeringView) -> Callable[[str], bool]:
    """Whether an appliance's address is directly reachable from ``vnet`` (§4.3): in a
    subnet of it, of a Connected peer or of a connected-group member. An address that does
    not parse, or a neighbour outside the input (its subnets unknown), is given the benefit of
    the doubt."""
    neighbours = [fabric.vnets[n] for n in view.neighbours(vnet.name) if n in fabric.vnets]
    if any(n.external for n in neighbours):
        return lambda _: True
    nets = [net for n in neighbours for s in n.subnets for net in valid_networks(s.prefixes)]

    def reachable(text: str) -> bool:
        try:
            address = parse_address(text)
        except AddressError:
            return True  # reported by validation (InvalidNextHopIpAddress)
        return any(address in net for net in nets)

    return reachable


def compile_subnet(
    fabric: Fabric,
    vnet: VNet,
    subnet: Subnet,
    learned: dict | None = None,
    view: PeeringView | None = None,
    *,
    for_gateway: bool = False,
    nva: dict[str, list[NvaRoute]] | None = None,
    tags: TagPrefixes | None = None,
    user_routes_override_endpoints: bool = False,
) -> SubnetRoutes:
    """Effective routes of one subnet, compiled into a pytricia FIB. ``for_gateway``: the
    gateway's own FIB, which always holds what it learned (propagation is a subnet setting).
    ``nva``: what each Route Server learned (``routeserver.nva_routes``, computed if None);
    ``tags``: service-tag prefixes (``tag_networks()``, the catalogue's, if None)."""
    view = view or PeeringView(fabric)
    tags = tag_networks() if tags is None else tags
    table = fabric.route_tables.get(subnet.route_table) if subnet.route_table else None
    serving = gateway_for_vnet(fabric, vnet.name, view)
    coexists = serving is not None and (
        gateway_for_vnet(fabric, vnet.name, view, "ExpressRoute") is not None
    )
    udrs = (
        user_routes(table, serving is not None, coexists, tags, _reachable(fabric, vnet, view))
        if table is not None
        else []
    )
    # §4.7: Azure removed the reserved None routes "when the 0.0.0.0/0 UDR was added"; the
    # sheet ties it to the route, not to its next hop (an appliance in the example), so any
    # active IPv4 default UDR does it: forced tunnelling to a gateway sends private ranges
    # there too.
    default_udr = any(
        r.prefix.prefixlen == 0 and r.prefix.version == 4 and r.state == ACTIVE for r in udrs
    )
    routes = system_routes(fabric, vnet, default_udr, view)
    listed: list[ListedRoute] = []
    if not for_gateway:  # N16: endpoints do not apply to traffic from on-premises
        endpoint_routes, listed = service_endpoint_routes(subnet, tags)
        routes += endpoint_routes
    if for_gateway or table is None or not table.disable_bgp_route_propagation:  # §4.5
        routes += gateway_routes(fabric, vnet, learned, view)
        nvas = route_server_routes(fabric, vnet, nva, view)
        # N15.2: the gateways get the NVAs' routes only with branch-to-branch on.
        at_gateway = for_gateway or subnet.name == GATEWAY_SUBNET
        if nvas and (not at_gateway or nvas[0].route_server.allow_branch_to_branch_traffic):
            routes += nvas
    routes += udrs
    if table is not None:
        endpoints = set() if user_routes_override_endpoints else {row.prefix for row in listed}
        listed += listed_tag_routes(table, tags, endpoints)
    routes = select(routes, user_routes_override_endpoints)
    fib = Fib()
    for route in routes:
        if route.state == ACTIVE:
            fib[route.prefix] = attrs.evolve(route, state=INVALID) if route.broken else route
    # A broken user route still wins its prefix (traffic it takes is dropped); it shows Invalid.
    routes = [attrs.evolve(r, state=INVALID) if r.broken else r for r in routes]
    return SubnetRoutes(vnet.name, subnet.name, tuple(routes), fib, tuple(listed))
