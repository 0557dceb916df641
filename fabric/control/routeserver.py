"""Azure Route Server (azure-facts.md N15): which BGP sessions with NVAs are up, what the Route
Server learns over them, and which VNets it programs the routes into. ``fabric.control.routing``
turns them into effective routes; forwarding sends their traffic to the NVA.

Facts:
* N15.1: a managed BGP speaker in a VNet's ``RouteServerSubnet``; it learns routes from NVAs
  and programs them into the VMs' effective routes. Control plane only: data goes VM -> NVA
  directly, never through the Route Server. An NVA's ASN is 16-bit and not reserved (65515-65520
  and §3.9's list); a session Azure refuses carries nothing. No IPv6. The same prefix from
  several NVAs with equal AS-path length: every copy is programmed and VM hosts spread flows
  (ECMP); a shorter AS path wins outright. System routes for the VNet, peerings and service
  endpoints beat more specific Route Server routes (§4.4 rule 3: ``routing.select``).
* N15.2: a spoke peered with ``use_remote_gateways`` (the hub's link allowing gateway transit,
  the peering Connected) gets the NVA routes too. Branch-to-branch (off by default) exchanges
  routes between the NVAs and the VNet's VPN/ExpressRoute gateway.
* N15.3: at most 8 BGP peers; at most 1,000 routes per peer (4,000 once raised by a support
  case): above it the session is torn down and nothing is learned from that peer.

How the effective-route listing shows a Route Server route is not in the fact sheet. vnetsim
shows it as the BGP route it is (§3.9: learned BGP routes have source and next hop type
``VirtualNetworkGateway``) with the NVA's address as next hop IP (every ECMP NVA's), since the
data goes to the NVA (N15.1).
"""

from __future__ import annotations

import attrs

from fabric.catalogue import routeserver as figures
from fabric.control.addressing import AddressError, IPNetwork, parse_address, valid_networks
from fabric.control.links import TunnelProblem
from fabric.control.peering import CONNECTED, PeeringView
from fabric.model import Fabric
from fabric.model.records import BgpPeer, RouteServer, VpnGateway

ROUTE_SERVER_SUBNET = "RouteServerSubnet"


@attrs.frozen(slots=True)
class NvaRoute:
    """A prefix the Route Server learned and programs: from ``peers`` (several: ECMP, all of
    the shortest AS path, in name order), with the AS path they announced."""

    prefix: IPNetwork
    server: RouteServer
    peers: tuple[BgpPeer, ...]
    as_path: tuple[int, ...]

    @property
    def next_hops(self) -> tuple[str, ...]:
        """The NVAs' addresses: where the data goes (N15.1)."""
        return tuple(peer.peer_ip for peer in self.peers)


def peer_asn_problem(asn: object) -> str | None:
    """N15.1: why Azure refuses ``asn`` as an NVA's ASN (None: it accepts it)."""
    if isinstance(asn, bool) or not isinstance(asn, int) or asn < 1:
        return f"ASN {asn!r} is not a positive integer"
    if asn > figures.MAX_PEER_ASN:
        return f"ASN {asn} is a 32-bit ASN; Route Server peers need a 16-bit ASN"
    low, high = figures.RESERVED_PEER_ASN_RANGE
    if low <= asn <= high or asn in figures.RESERVED_PEER_ASNS:
        return f"ASN {asn} is reserved by Azure or IANA (N15.1, §3.9)"
    return None


def peer_problems(server: RouteServer, peer: BgpPeer, index: int) -> list[TunnelProblem]:
    """Every reason the session with ``peer`` (the ``index``-th of the server's peers) is
    refused or carries nothing (empty: it is up and all its IPv4 prefixes are learned)."""
    where = f"route server {server.name} peer {peer.name}"
    resource = f"route_server/{server.name}/bgp_connection/{peer.name}"
    problems = []
    if index >= figures.BGP_PEERS:
        problems.append(
            TunnelProblem(
                "TooManyRouteServerPeers",
                f"{where}: route server {server.name} has {len(server.bgp_connections)} BGP "
                f"peers; at most {figures.BGP_PEERS} (N15.3), so this one is refused",
                (resource,),
                refused=True,
            )
        )
    why = peer_asn_problem(peer.peer_asn)
    if why is not None:
        problems.append(
            TunnelProblem(
                "InvalidRouteServerPeerAsn",
                f"{where}: {why}; use 64512-65514 or 65521-65534",
                (resource,),
                refused=True,
            )
        )
    try:
        parse_address(peer.peer_ip)
    except AddressError as problem:
        problems.append(
            TunnelProblem("InvalidBgpPeerIp", f"{where}: {problem}", (resource,), refused=True)
        )
    count = len(peer.advertised_prefixes)
    if count > figures.ROUTES_PER_PEER:
        problems.append(
            TunnelProblem(
                "RouteServerPeerRouteLimitExceeded",
                f"{where} advertises {count} routes; above {figures.ROUTES_PER_PEER} per peer "
                "the Route Server tears the session down and learns nothing from it (N15.3); "
                f"summarise, or have the limit raised to {figures.ROUTES_PER_PEER_RAISED} by a "
                "support case (vnetsim applies the default)",
                (resource,),
            )
        )
    ipv6 = [p for p in valid_networks(peer.advertised_prefixes) if p.version == 6]
    if ipv6:
        problems.append(
            TunnelProblem(
                "RouteServerIpv6NotSupported",
                f"{where} advertises IPv6 prefixes ({', '.join(map(str, ipv6[:3]))}); Route "
                "Server does not support IPv6 (N15.1), so they are not learned",
                (resource,),
                blocks=False,
            )
        )
    return problems


def session_up(server: RouteServer, peer: BgpPeer, index: int) -> bool:
    """True when the BGP session with ``peer`` carries routes."""
    return not any(problem.blocks for problem in peer_problems(server, peer, index))


def learned(server: RouteServer) -> list[NvaRoute]:
    """What ``server`` learns and programs, one route per prefix: the shortest AS path wins,
    equal ones share it (ECMP, N15.1). IPv4 only."""
    offers: dict[IPNetwork, list[tuple[int, str, BgpPeer]]] = {}
    for index, peer in enumerate(server.bgp_connections):
        if not session_up(server, peer, index):
            continue
        length = 1 + peer.as_path_prepend
        for prefix in valid_networks(peer.advertised_prefixes):
            if prefix.version == 4:
                offers.setdefault(prefix, []).append((length, peer.name, peer))
    routes = []
    for prefix, found in offers.items():
        found.sort(key=lambda offer: offer[:2])
        best = found[0][0]
        peers = tuple(dict.fromkeys(peer for length, _, peer in found if length == best))
        path = (peers[0].peer_asn,) * best
        routes.append(NvaRoute(prefix, server, peers, path))
    return sorted(routes, key=lambda r: r.prefix)


def nva_routes(fabric: Fabric) -> dict[str, list[NvaRoute]]:
    """For every Route Server, what it programs."""
    return {name: learned(server) for name, server in sorted(fabric.route_servers.items())}


def route_server_in(fabric: Fabric, vnet: str) -> RouteServer | None:
    """The Route Server deployed in ``vnet`` (one per VNet, N15.1: the first by name)."""
    found = sorted((s for s in fabric.route_servers.values() if s.vnet == vnet), key=_name)
    return found[0] if found else None


def serving_route_server(
    fabric: Fabric, vnet: str, view: PeeringView | None = None
) -> RouteServer | None:
    """The Route Server whose routes ``vnet``'s subnets get: its own, or the hub's when ``vnet``
    uses the remote gateway or Route Server over a Connected peering whose hub side allows
    gateway transit (N15.2)."""
    own = route_server_in(fabric, vnet)
    if own is not None:
        return own
    view = view or PeeringView(fabric)
    for link in view.links_of(vnet):
        if not link.use_remote_gateways or view.state(link) != CONNECTED:
            continue
        back = view.counterpart(link)
        if back is None or not back.allow_gateway_transit:
            continue
        hub = route_server_in(fabric, link.remote_vnet)
        if hub is not None:
            return hub
    return None


def served_vnets(fabric: Fabric, server: RouteServer, view: PeeringView | None = None) -> list[str]:
    """The VNets whose VMs get ``server``'s routes: its own and its transit spokes."""
    view = view or PeeringView(fabric)
    spokes = [
        link.remote_vnet
        for link in view.links_of(server.vnet)
        if link.remote_vnet in fabric.vnets
        and serving_route_server(fabric, link.remote_vnet, view) == server
    ]
    return [server.vnet, *dict.fromkeys(spokes)]


def exchanges_with_gateways(fabric: Fabric, vnet: str) -> RouteServer | None:
    """The Route Server in ``vnet`` when it exchanges routes with the VNet's VPN and
    ExpressRoute gateways (branch-to-branch on, N15.2), else None."""
    server = route_server_in(fabric, vnet)
    return server if server is not None and server.allow_branch_to_branch_traffic else None


def branch_to_branch(fabric: Fabric, gateway: VpnGateway, other: VpnGateway) -> bool:
    """N1.7 (2025) and N15.2: a VNet's VPN and ExpressRoute gateways pass traffic (and routes)
    to each other only when the VNet's Route Server has branch-to-branch on and the VPN
    gateway uses ASN 65515, the Route Server's own."""
    if gateway.vnet != other.vnet or gateway.gateway_type == other.gateway_type:
        return False
    vpn = gateway if gateway.gateway_type == "Vpn" else other
    return (
        exchanges_with_gateways(fabric, gateway.vnet) is not None
        and vpn.bgp_asn == figures.ROUTE_SERVER_ASN
    )


def _name(server: RouteServer) -> str:
    return server.name
