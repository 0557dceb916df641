"""Gateway connections: whether a tunnel is up (and every reason it is not), which gateway serves
a VNet, and what each gateway learns.

The one owner of the tunnel rules; validation reports ``connection_problems`` as findings and
forwarding asks ``connection_status``. Facts (azure-facts.md):
* §3.6/TC-VPN-1: a VNet-to-VNet tunnel needs a connection resource on each gateway with the same
  shared key (§9: a missing key means a random one, so keyless sides never match) and RouteBased
  gateways (§3.1). A site-to-site (IPsec) connection goes to a local network gateway (N12).
* §3.7: a custom IPsec/IKE policy: GCM encryption needs the same GCM integrity; quick-mode SA
  lifetime at least 300 s and 1,024 KB; not on Basic or PolicyBased gateways (N12.2); the two
  ends of a Vnet2Vnet pair must agree on algorithms (lifetimes are local, need not match).
* §3.2/§3.3/§3.9/§9: Basic has no BGP, whichever flag asks for it; BGP runs on a connection only
  when the connection's own flag is set (N12.2).
* §3.9: without BGP a gateway learns the address space behind the other end; with BGP on every
  connection along the way it also learns what that gateway learned; never a default route,
  never a prefix equal to or inside its own VNet's space (a superset is accepted, TC-BGP-1);
  4,000 BGP routes per gateway at most: above it the BGP session drops (§3.5).
* N15.2: with branch-to-branch on, a VNet's gateways and its Route Server exchange routes: the
  gateway advertises what the NVAs announced to its BGP peers like routes it learned (and
  toward an ExpressRoute circuit they count against its 1,000 advertised routes); off, they
  do not (``fabric.control.routeserver``; the gateway's FIB is ``routing``'s concern).
* N1 (ExpressRoute): an ExpressRoute connection links an ExpressRoute gateway to a circuit
  (``fabric.control.expressroute`` owns its rules); over it the gateway learns what on-premises
  advertises into the circuit's private peering and, when it allows remote VNet traffic (N1.6),
  the spaces of the other VNets linked to the same circuit; N1.7 picks among circuits.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterator, Mapping

import attrs

from fabric.catalogue import circuits as circuit_limits
from fabric.catalogue.limits import BGP_ROUTES_PER_GATEWAY
from fabric.catalogue.skus import UnknownSku, lookup
from fabric.control.addressing import (
    AddressError,
    IPNetwork,
    parse_address,
    parse_prefix,
    valid_networks,
)
from fabric.control.expressroute import (
    express_route_problems,
    express_route_routes,
    on_premises_routes,
)
from fabric.control.links import LearnedRoute, TunnelProblem, accepted
from fabric.control.peering import PeeringView, remote_prefixes
from fabric.control.routeserver import branch_to_branch, exchanges_with_gateways
from fabric.control.routeserver import learned as nva_learned
from fabric.model import (
    Connection,
    ExpressRouteCircuit,
    Fabric,
    IpsecPolicy,
    LocalNetworkGateway,
    VpnGateway,
)

CONNECTED = "Connected"
NOT_CONNECTED = "NotConnected"
DEFAULT_ASN = 65515  # §3.9: assigned to every gateway, even with BGP off
MIN_SA_LIFETIME_SECONDS = 300  # §3.7
MIN_SA_DATA_KILOBYTES = 1024  # §3.7
MODELLED_TYPES = ("Vnet2Vnet", "IPsec", "ExpressRoute")


@attrs.frozen(slots=True)
class ConnectionStatus:
    """``Connected`` or ``NotConnected`` with the reason code (and its message) when not."""

    status: str
    reason: str | None = None
    message: str = ""

    @property
    def up(self) -> bool:
        """True when the tunnel carries traffic."""
        return self.status == CONNECTED


def partner(fabric: Fabric, connection: Connection) -> Connection | None:
    """The Vnet2Vnet connection resource on the other gateway that points back, if any."""
    for other in fabric.connections.values():
        if (
            other.from_gateway == connection.to_gateway
            and other.to_gateway == connection.from_gateway
            and other.connection_type == connection.connection_type
        ):
            return other
    return None


def remote_end(
    fabric: Fabric, connection: Connection
) -> VpnGateway | LocalNetworkGateway | ExpressRouteCircuit | None:
    """What the connection reaches: a gateway (Vnet2Vnet), a local network gateway (IPsec) or
    an ExpressRoute circuit (ExpressRoute)."""
    if connection.connection_type == "IPsec":
        return fabric.local_network_gateways.get(connection.to_gateway)
    if connection.connection_type == "ExpressRoute":
        return fabric.express_route_circuits.get(connection.to_gateway)
    return fabric.gateways.get(connection.to_gateway)


def is_basic(gateway: VpnGateway) -> bool:
    """True for the Basic SKU (no BGP, no custom policy, no transit, no active-active)."""
    return gateway.sku == "Basic"


def algorithms(policy: IpsecPolicy | None) -> tuple | None:
    """What the two ends must agree on: the algorithms and groups, not the lifetimes."""
    if policy is None:
        return None
    return (
        policy.ike_encryption,
        policy.ike_integrity,
        policy.dh_group,
        policy.ipsec_encryption,
        policy.ipsec_integrity,
        policy.pfs_group,
    )


def policy_problems(policy: IpsecPolicy, where: str, resource: str) -> list[TunnelProblem]:
    """§3.7 rules of one custom IPsec/IKE policy."""
    problems = []
    for phase, encryption, integrity in (
        ("IKE", policy.ike_encryption, policy.ike_integrity),
        ("IPsec", policy.ipsec_encryption, policy.ipsec_integrity),
    ):
        if encryption.startswith("GCM") and integrity != encryption:
            problems.append(
                TunnelProblem(
                    "GcmIntegrityMismatch",
                    f"{where}: {phase} encryption {encryption} needs the same GCM algorithm and "
                    f"key length for integrity ({encryption}), not {integrity}",
                    (resource,),
                    refused=True,
                )
            )
    if policy.sa_lifetime_seconds < MIN_SA_LIFETIME_SECONDS:
        problems.append(
            TunnelProblem(
                "SaLifetimeTooShort",
                f"{where}: quick mode SA lifetime {policy.sa_lifetime_seconds} s is below the "
                f"minimum of {MIN_SA_LIFETIME_SECONDS} s",
                (resource,),
                refused=True,
            )
        )
    if policy.sa_data_size_kilobytes < MIN_SA_DATA_KILOBYTES:
        problems.append(
            TunnelProblem(
                "SaDataSizeTooSmall",
                f"{where}: quick mode SA data size {policy.sa_data_size_kilobytes} KB is below "
                f"the minimum of {MIN_SA_DATA_KILOBYTES} KB",
                (resource,),
                refused=True,
            )
        )
    return problems


def connection_problems(fabric: Fabric, connection: Connection) -> list[TunnelProblem]:
    """Every reason ``connection`` is refused or does not carry traffic (empty: it is up)."""
    resource = f"connection/{connection.name}"
    where = f"connection {connection.name}"
    if connection.connection_type not in MODELLED_TYPES:
        return [
            TunnelProblem(
                "ConnectionTypeNotModelled",
                f"{where} is {connection.connection_type}; vnetsim models Vnet2Vnet and IPsec "
                "(site-to-site) connections, so it carries no simulated traffic",
                (resource,),
            )
        ]
    local = fabric.gateways.get(connection.from_gateway)
    remote = remote_end(fabric, connection)
    if local is None or remote is None:
        return [TunnelProblem("GatewayNotFound", f"{where}: an end is not declared", (resource,))]
    mismatch = _type_problems(connection, local, remote, where, resource)
    if mismatch:
        return mismatch
    if connection.connection_type == "ExpressRoute":
        problems = express_route_problems(fabric, connection, local, remote, where, resource)
        problems += _advertised_problems(fabric, connection, local, where, resource)
        return problems + _reported(connection, where, resource)
    problems: list[TunnelProblem] = []
    gateways = [local] + ([remote] if isinstance(remote, VpnGateway) else [])
    for gateway in gateways:
        try:
            lookup(gateway.sku, gateway.generation)
        except UnknownSku as unknown:
            problems.append(
                TunnelProblem(
                    "InvalidGatewaySku", f"gateway {gateway.name}: {unknown}", (resource,)
                )
            )
    if connection.connection_type == "Vnet2Vnet":
        for gateway in gateways:
            if gateway.vpn_type != "RouteBased":  # §3.1
                problems.append(
                    TunnelProblem(
                        "Vnet2VnetRequiresRouteBased",
                        f"{where}: gateway {gateway.name} is {gateway.vpn_type}; VNet-to-VNet "
                        "connections need RouteBased gateways on both sides",
                        (resource, f"gateway/{gateway.name}"),
                        refused=True,
                    )
                )
    problems += _ike_problems(connection, gateways, where, resource)
    problems += _bgp_problems(fabric, connection, gateways, where, resource)
    problems += _policy_problems(fabric, connection, gateways, where, resource)
    problems += _pairing_problems(fabric, connection, local, remote, where, resource)
    return problems + _reported(connection, where, resource)


def _ike_problems(
    connection: Connection, gateways: list[VpnGateway], where: str, resource: str
) -> list[TunnelProblem]:
    """§3.1: a PolicyBased gateway speaks IKEv1 only; a connection that asks it for IKEv2 is
    refused. (Unset, the protocol is the gateway's own: IKEv1 there, IKEv2 on RouteBased.)"""
    if connection.connection_protocol != "IKEv2":
        return []
    return [
        TunnelProblem(
            "PolicyBasedGatewayRequiresIkev1",
            f"{where} asks for IKEv2, but gateway {gateway.name} is PolicyBased, which supports "
            "IKEv1 only (§3.1): set connection_protocol to IKEv1, or use a RouteBased gateway",
            (resource, f"gateway/{gateway.name}"),
            refused=True,
        )
        for gateway in gateways
        if gateway.vpn_type == "PolicyBased"
    ]


def _reported(connection: Connection, where: str, resource: str) -> list[TunnelProblem]:
    """A status other than Connected that Azure reported (REST import)."""
    reported = connection.connection_status
    if reported is not None and reported != CONNECTED:
        return [
            TunnelProblem(
                f"ReportedStatus{reported}",
                f"{where}: Azure reported the connection as {reported}",
                (resource,),
            )
        ]
    return []


def _advertised_problems(
    fabric: Fabric, connection: Connection, gateway: VpnGateway, where: str, resource: str
) -> list[TunnelProblem]:
    """N1.1: an ExpressRoute gateway advertises at most 1,000 IPv4 routes to the circuit;
    above it the connection goes down until the count drops again. N15.2: with branch-to-
    branch on, the NVAs' routes count too."""
    ipv4 = [p for p in owned_prefixes(fabric, gateway) if p.version == 4]
    ipv4 += [p for p in nva_prefixes(fabric, gateway.vnet) if p.version == 4]
    if len(ipv4) <= circuit_limits.GATEWAY_ADVERTISED_ROUTES:
        return []
    return [
        TunnelProblem(
            "GatewayAdvertisedRouteLimitExceeded",
            f"{where}: gateway {gateway.name} would advertise {len(ipv4)} IPv4 prefixes (its "
            "VNet and transit spokes) to the circuit; above "
            f"{circuit_limits.GATEWAY_ADVERTISED_ROUTES} the connection goes down (N1.1): "
            "summarise the address spaces",
            (resource, f"gateway/{gateway.name}"),
        )
    ]


def _type_problems(
    connection: Connection, local: VpnGateway, remote, where: str, resource: str
) -> list[TunnelProblem]:
    """§3.1/N1: an ExpressRoute connection joins an ExpressRoute gateway to a circuit; the
    other types join VPN gateways."""
    wanted = "ExpressRoute" if connection.connection_type == "ExpressRoute" else "Vpn"
    ends = [local] + ([remote] if isinstance(remote, VpnGateway) else [])
    return [
        TunnelProblem(
            "GatewayTypeMismatch",
            f"{where} is {connection.connection_type}, but gateway {gateway.name} is of type "
            f"{gateway.gateway_type}; a {connection.connection_type} connection needs "
            f"{'an ExpressRoute' if wanted == 'ExpressRoute' else 'a VPN'} gateway",
            (resource, f"gateway/{gateway.name}"),
            refused=True,
        )
        for gateway in ends
        if gateway.gateway_type != wanted
    ]


def _bgp_problems(
    fabric: Fabric, connection: Connection, gateways: list, where: str, resource: str
) -> list[TunnelProblem]:
    """§9: BGP asked of a Basic gateway by the connection flag (the gateway flag and ASN are
    checked with the gateway); such a connection carries no BGP routes but stays up."""
    if not connection.enable_bgp:
        return []
    return [
        TunnelProblem(
            "BgpNotSupportedOnSku",
            f"{where} enables BGP, but gateway {gateway.name} is Basic, which has no BGP; use "
            "VpnGw1 or larger, or turn BGP off on the connection",
            (resource, f"gateway/{gateway.name}"),
            refused=True,
            blocks=False,
        )
        for gateway in gateways
        if is_basic(gateway)
    ]


def _policy_problems(
    fabric: Fabric, connection: Connection, gateways: list, where: str, resource: str
) -> list[TunnelProblem]:
    policy = connection.ipsec_policy
    if policy is None:
        return []
    problems = policy_problems(policy, where, resource)
    for gateway in gateways:
        if is_basic(gateway) or gateway.vpn_type == "PolicyBased":  # §3.7, N12.2
            problems.append(
                TunnelProblem(
                    "CustomIpsecPolicyNotSupported",
                    f"{where} sets a custom IPsec/IKE policy, but gateway {gateway.name} is "
                    f"{gateway.sku} {gateway.vpn_type}; custom policies need a RouteBased "
                    "VpnGw1 or larger gateway",
                    (resource, f"gateway/{gateway.name}"),
                    refused=True,
                )
            )
    return problems


def _pairing_problems(
    fabric: Fabric, connection: Connection, local, remote, where: str, resource: str
) -> list[TunnelProblem]:
    if connection.connection_type == "IPsec":
        if connection.shared_key is None:
            return [
                TunnelProblem(
                    "SharedKeyMissing",
                    f"{where} has no shared key: Azure generates one that the on-premises "
                    "device cannot know, so the tunnel does not come up; set shared_key",
                    (resource,),
                )
            ]
        return []
    other = partner(fabric, connection)
    if other is None:  # TC-VPN-1: only one side created -> not connected
        return [
            TunnelProblem(
                "ConnectionNotConnected",
                f"{where} ({local.name} -> {remote.name}) has no partner connection from "
                f"{remote.name} back to {local.name}; create it with the same shared key",
                (resource,),
            )
        ]
    pair = (resource, f"connection/{other.name}")
    problems = []
    if connection.shared_key is None or connection.shared_key != other.shared_key:
        problems.append(
            TunnelProblem(
                "SharedKeyMismatch",
                f"connections {connection.name} and {other.name} do not share one key, so the "
                "tunnel does not come up; set the same shared_key on both",
                pair,
            )
        )
    if algorithms(connection.ipsec_policy) != algorithms(other.ipsec_policy):
        problems.append(
            TunnelProblem(
                "IpsecPolicyMismatch",
                f"connections {connection.name} and {other.name} have different IPsec/IKE "
                "algorithms, so IKE negotiation fails; use the same policy on both",
                pair,
            )
        )
    return problems


def connection_status(fabric: Fabric, connection: Connection) -> ConnectionStatus:
    """Whether this connection's tunnel is up, and if not, the first reason why."""
    for problem in connection_problems(fabric, connection):
        if problem.blocks:
            return ConnectionStatus(NOT_CONNECTED, problem.code, problem.message)
    return ConnectionStatus(CONNECTED)


def runs_bgp(fabric: Fabric, connection: Connection) -> bool:
    """BGP runs on a connection when its own flag is set (and its partner's, for Vnet2Vnet)
    and no end is a Basic gateway (§9)."""
    if not connection.enable_bgp:
        return False
    local = fabric.gateways.get(connection.from_gateway)
    if local is None or is_basic(local):
        return False
    if connection.connection_type == "IPsec":
        site = fabric.local_network_gateways.get(connection.to_gateway)
        return site is not None and site.bgp_settings is not None
    other = partner(fabric, connection)
    remote = fabric.gateways.get(connection.to_gateway)
    return bool(
        other is not None and other.enable_bgp and remote is not None and not is_basic(remote)
    )


def transit_spokes(
    fabric: Fabric, gateway: VpnGateway, view: PeeringView | None = None
) -> list[str]:
    """VNets that use ``gateway`` through gateway transit (PeeringView.transit_blockers)."""
    view = view or PeeringView(fabric)
    spokes = []
    for link in view.links_of(gateway.vnet):
        back = view.counterpart(link)
        if back is not None and not view.transit_blockers(back, gateway):
            spokes.append(link.remote_vnet)
    return spokes


def gateway_for_vnet(
    fabric: Fabric, vnet: str, view: PeeringView | None = None, gateway_type: str = "Vpn"
) -> VpnGateway | None:
    """The gateway of ``gateway_type`` (VPN by default, or ExpressRoute) that serves ``vnet``:
    its own, or the hub's through gateway transit (§2.6: a VNet that has a gateway of its own
    uses no remote one)."""
    own = fabric.gateways_in(vnet, gateway_type)
    if own:
        return own[0]
    if fabric.gateways_in(vnet, None):  # a gateway of the other type of its own
        return None
    view = view or PeeringView(fabric)
    for link in view.links_of(vnet):
        remote = fabric.gateways_in(link.remote_vnet, gateway_type)
        if remote and not view.transit_blockers(link, remote[0]):
            return remote[0]
    return None


def serving_gateways(
    fabric: Fabric, vnet: str, view: PeeringView | None = None
) -> list[VpnGateway]:
    """Every gateway whose learned routes ``vnet``'s subnets get: the VPN and the ExpressRoute
    one (own or the hub's), VPN first."""
    view = view or PeeringView(fabric)
    found = (gateway_for_vnet(fabric, vnet, view, kind) for kind in ("Vpn", "ExpressRoute"))
    return [gateway for gateway in found if gateway is not None]


def owned_prefixes(
    fabric: Fabric, gateway: VpnGateway, view: PeeringView | None = None
) -> tuple[IPNetwork, ...]:
    """What a gateway advertises as its own: its VNet's space plus its transit spokes' spaces."""
    view = view or PeeringView(fabric)
    prefixes: list[IPNetwork] = []
    vnet = fabric.vnets.get(gateway.vnet)
    if vnet is not None:
        prefixes.extend(valid_networks(vnet.address_prefixes))
    spokes = set(transit_spokes(fabric, gateway, view))
    for link in view.links_of(gateway.vnet):
        if link.remote_vnet in spokes:
            prefixes.extend(remote_prefixes(fabric, link))
    return tuple(dict.fromkeys(prefixes))


def site_prefixes(site: LocalNetworkGateway) -> tuple[IPNetwork, ...]:
    """The on-premises prefixes behind a local network gateway (N12.1): static routes."""
    return tuple(valid_networks(site.address_prefixes))


def nva_prefixes(fabric: Fabric, vnet: str) -> tuple[IPNetwork, ...]:
    """What the NVAs announced to ``vnet``'s Route Server, when it exchanges routes with the
    VNet's gateways (branch-to-branch on, N15.2); else nothing."""
    server = exchanges_with_gateways(fabric, vnet)
    return tuple(route.prefix for route in nva_learned(server)) if server is not None else ()


def bgp_peer_route(site: LocalNetworkGateway) -> tuple[IPNetwork, ...]:
    """N12.4 (2021, 2023): over a BGP connection the gateway "will internally add a route of
    your BGP peer IP address" to the tunnel: the peer's /32 (or /128)."""
    bgp = site.bgp_settings
    if bgp is None or not bgp.bgp_peering_address:
        return ()
    try:
        address = parse_address(bgp.bgp_peering_address)
    except AddressError:
        return ()  # reported by validation (InvalidBgpPeeringAddress)
    return (parse_prefix(f"{address}/{address.max_prefixlen}"),)


def advertised_by_site(site: LocalNetworkGateway) -> tuple[IPNetwork, ...]:
    """What an on-premises BGP speaker announces (a modelling input of its BGP settings)."""
    bgp = site.bgp_settings
    return tuple(valid_networks(bgp.advertised_prefixes)) if bgp is not None else ()


def learned_routes(
    fabric: Fabric, view: PeeringView | None = None
) -> dict[str, list[LearnedRoute]]:
    """For every gateway, the prefixes it reaches over its up connections (static + BGP)."""
    return dict(LearnedRoutes(fabric, view))


class LearnedRoutes(Mapping[str, list[LearnedRoute]]):
    """``learned_routes`` computed per gateway on first use, for a question that meets one or
    two gateways of a large estate (a 5,000-spoke hub: its gateway's own prefixes alone take
    5,000 peering-state derivations). Reads the fabric it was given: build a new one after an
    edit."""

    def __init__(self, fabric: Fabric, view: PeeringView | None = None) -> None:
        self.fabric = fabric
        self.view = view or PeeringView(fabric)
        self._learning: _Learning | None = None
        self._routes: dict[str, list[LearnedRoute]] = {}

    def __getitem__(self, name: str) -> list[LearnedRoute]:
        routes = self._routes.get(name)
        if routes is None:
            gateway = self.fabric.gateways[name]
            if self._learning is None:
                self._learning = _Learning(self.fabric, self.view)
            learning = self._learning
            routes = (
                express_route_routes(
                    self.fabric,
                    gateway,
                    learning.by_gateway,
                    learning.owned,
                    learning.towards_circuit,
                )
                if gateway.gateway_type == "ExpressRoute"
                else learning.table(name).routes()
            )
            self._routes[name] = routes
        return routes

    def __iter__(self) -> Iterator[str]:
        return iter(self.fabric.gateways)

    def __len__(self) -> int:
        return len(self.fabric.gateways)


def bgp_route_count(fabric: Fabric, gateway: VpnGateway, view: PeeringView | None = None) -> int:
    """How many routes ``gateway`` would learn over BGP sessions, before the §3.5 limit."""
    return len(_Learning(fabric, view or PeeringView(fabric)).table(gateway.name).by_bgp)


class _Learning:
    """The up connections of a fabric, indexed for the learning walk of each gateway."""

    def __init__(self, fabric: Fabric, view: PeeringView) -> None:
        self.fabric = fabric
        self.view = view
        up = [c for c in fabric.connections.values() if connection_status(fabric, c).up]
        self.by_gateway: dict[str, list[Connection]] = {}
        for connection in sorted(up, key=lambda c: c.name):
            self.by_gateway.setdefault(connection.from_gateway, []).append(connection)
        self._owned: dict[str, tuple[IPNetwork, ...]] = {}
        self._span_cache: dict[str, dict[int, tuple[list[int], list[int]]]] = {}

    def owned(self, gateway: str) -> tuple[IPNetwork, ...]:
        if gateway not in self._owned:
            record = self.fabric.gateways.get(gateway)
            found = owned_prefixes(self.fabric, record, self.view) if record else ()
            self._owned[gateway] = found
        return self._owned[gateway]

    def towards_circuit(self, gateway: str) -> tuple[IPNetwork, ...]:
        """What ExpressRoute gateway ``gateway`` announces to its circuits: its own prefixes,
        and with Route Server branch-to-branch in its VNet (N15.2: ER <-> S2S VPN transit; the
        VPN gateway on ASN 65515, N1.7) what the VNet's VPN gateway learned from its sites."""
        own = self.owned(gateway)
        record = self.fabric.gateways.get(gateway)
        if record is None or exchanges_with_gateways(self.fabric, record.vnet) is None:
            return own
        relayed = [
            prefix
            for vpn in self.fabric.gateways_in(record.vnet)
            if branch_to_branch(self.fabric, record, vpn)
            for prefix in self.sites_of(vpn.name)
            if prefix.prefixlen
        ]
        return tuple(dict.fromkeys((*own, *relayed)))

    def sites_of(self, gateway: str) -> list[IPNetwork]:
        """What a gateway learned from its sites (it advertises them to its BGP peers, §3.9):
        their prefixes, and what they announce over BGP sessions; and, with branch-to-branch
        on, what the NVAs announced to its VNet's Route Server (N15.2)."""
        sites = self.fabric.local_network_gateways
        record = self.fabric.gateways.get(gateway)
        found = list(nva_prefixes(self.fabric, record.vnet)) if record is not None else []
        for c in self.by_gateway.get(gateway, []):
            if connection_is_site(c):
                found += site_prefixes(sites[c.to_gateway])
                if runs_bgp(self.fabric, c):
                    found += advertised_by_site(sites[c.to_gateway])
        return found

    def table(self, name: str) -> _RouteTable:
        """What gateway ``name`` learns. Breadth-first: the direct neighbours first (a site's
        prefixes, or the space behind the other gateway); across BGP sessions also what that
        gateway advertises (its connected sites and what it learned over its own sessions)."""
        fabric = self.fabric
        if not self.by_gateway.get(name):  # nothing to learn from: skip its own prefixes
            return _RouteTable(())
        table = _RouteTable(self.owned(name))
        queue: deque[tuple[str, Connection, tuple[str, ...]]] = deque()
        for connection in self.by_gateway.get(name, []):
            if connection_is_site(connection):
                site = fabric.local_network_gateways[connection.to_gateway]
                table.learn(site_prefixes(site), connection, False)
                if runs_bgp(fabric, connection):  # §3.9: on-premises may even announce 0/0
                    table.learn(bgp_peer_route(site), connection, False)
                    table.learn(advertised_by_site(site), connection, True)
            else:
                queue.append((connection.to_gateway, connection, ()))
        seen = {name}
        while queue:
            target, first_hop, between = queue.popleft()
            if target in seen:
                continue
            seen.add(target)
            bgp = runs_bgp(fabric, first_hop)
            table.learn(self._passed(self.owned(target), between), first_hop, bgp)
            if not bgp:
                continue
            # §3.9: a gateway never advertises a default route to its BGP peers, nor a
            # route it learned that overlaps its VNet prefixes (its own and its spokes').
            relayed = [p for p in self.sites_of(target) if p.prefixlen]
            table.learn(self._passed(relayed, (*between, target)), first_hop, bgp)
            for onward in self.by_gateway.get(target, []):
                if not connection_is_site(onward) and runs_bgp(fabric, onward):
                    queue.append((onward.to_gateway, first_hop, (*between, target)))
        return table

    def _passed(self, prefixes, relays: tuple[str, ...]) -> list[IPNetwork]:
        """§3.9: the ``prefixes`` that every gateway in ``relays`` advertises onward: none
        that overlaps a relay's VNet prefixes (which also drops what it filtered on import)."""
        spans = [self._spans(relay) for relay in relays]
        return [p for p in prefixes if not any(_overlaps(p, span) for span in spans)]

    def _spans(self, gateway: str) -> dict[int, tuple[list[int], list[int]]]:
        """Per IP version, the gateway's VNet prefixes as sorted first addresses with the
        running maximum of last addresses (a hub may own thousands of spokes' prefixes)."""
        found = self._span_cache.get(gateway)
        if found is None:
            found = {}
            for version in (4, 6):
                ranges = sorted(
                    (int(n.network_address), int(n.broadcast_address))
                    for n in self.owned(gateway)
                    if n.version == version
                )
                highest, running = [], -1
                for _, last in ranges:
                    running = max(running, last)
                    highest.append(running)
                found[version] = ([first for first, _ in ranges], highest)
            self._span_cache[gateway] = found
        return found


def _overlaps(prefix: IPNetwork, spans: dict[int, tuple[list[int], list[int]]]) -> bool:
    """Whether ``prefix`` overlaps one of the ranges of ``spans`` (``_Learning._spans``)."""
    firsts, highest = spans[prefix.version]
    index = bisect_right(firsts, int(prefix.broadcast_address)) - 1
    return index >= 0 and highest[index] >= int(prefix.network_address)


class _RouteTable:
    """What one gateway has learned so far, first come first kept, with the BGP-learned ones
    marked (§3.5: above 4,000 of them the BGP session drops, and they are all lost)."""

    def __init__(self, own: tuple[IPNetwork, ...]) -> None:
        self.own = own
        self.learned: dict[IPNetwork, LearnedRoute] = {}
        self.by_bgp: set[IPNetwork] = set()

    def learn(self, prefixes, via: Connection, bgp: bool) -> None:
        for prefix in prefixes:
            if accepted(prefix, self.own) and prefix not in self.learned:
                self.learned[prefix] = LearnedRoute(prefix, via.name)
                if bgp:
                    self.by_bgp.add(prefix)

    def routes(self) -> list[LearnedRoute]:
        kept = self.learned.values()
        if len(self.by_bgp) > BGP_ROUTES_PER_GATEWAY:
            kept = [r for r in kept if r.prefix not in self.by_bgp]
        return sorted(kept, key=lambda r: (r.prefix, r.connection))


def connection_is_site(connection: Connection) -> bool:
    """True for a site-to-site connection (its far end is a local network gateway)."""
    return connection.connection_type == "IPsec"


def gateway_addresses(fabric: Fabric, gateway: VpnGateway) -> tuple[str, ...]:
    """The gateway's private IPs in GatewaySubnet: the first usable address (.4), and .5 for
    the second instance of an active-active gateway. Our assumption: Azure assigns them from
    the start of GatewaySubnet, and effective routes show them as the next hop. An ExpressRoute
    gateway shows two instances (N1.3: it has at least two), after the VPN gateway's addresses
    when both share the GatewaySubnet."""
    vnet = fabric.vnets.get(gateway.vnet)
    if vnet is None or "GatewaySubnet" not in vnet.subnet_names:
        return ()
    try:
        net = parse_prefix(vnet.subnet("GatewaySubnet").address_prefix)
    except AddressError:
        return ()
    first = 4
    if gateway.gateway_type == "ExpressRoute":
        count = 2
        first += sum(2 if g.active_active else 1 for g in fabric.gateways_in(gateway.vnet)[:1])
    else:
        count = 2 if gateway.active_active else 1
    return tuple(str(net.network_address + first + i) for i in range(count))


MSEE_ON_PREMISES = "OnPremises"  # what msee_route answers for the on-premises side of a circuit


def circuit_connections(fabric: Fabric, circuit: str) -> list[Connection]:
    """The ExpressRoute connections to ``circuit`` that are up, in name order."""
    return [
        c
        for name, c in sorted(fabric.connections.items())
        if c.connection_type == "ExpressRoute"
        and c.to_gateway == circuit
        and connection_status(fabric, c).up
    ]


def msee_route(
    fabric: Fabric,
    circuit: ExpressRouteCircuit,
    destination,
    arriving: Connection,
    view: PeeringView | None = None,
) -> Connection | str | None:
    """Where the MSEE pair at ``circuit``'s peering location sends ``destination`` that came up
    ``arriving``: ``MSEE_ON_PREMISES``, down another up connection of the circuit to its gateway
    (N1.6: all VNets linked to a circuit are one routing domain; the MSEE learned each one's
    space from its gateway, and with branch-to-branch what its VPN gateway learned), or None.
    Longest prefix first; between on-premises and a VNet announcing the same prefix, the VNet."""
    view = view or PeeringView(fabric)
    best: tuple | None = None
    for prefix in on_premises_routes(circuit):
        if destination in prefix:
            key = (-prefix.prefixlen, 1, "")
            if best is None or key < best[0]:
                best = (key, MSEE_ON_PREMISES)
    for connection in circuit_connections(fabric, circuit.name):
        gateway = fabric.gateways.get(connection.from_gateway)
        if gateway is None or connection.from_gateway == arriving.from_gateway:
            continue
        announced = (
            _Learning(fabric, view).towards_circuit(gateway.name)  # branch-to-branch (N15.2)
            if exchanges_with_gateways(fabric, gateway.vnet) is not None
            else owned_prefixes(fabric, gateway, view)
        )
        for prefix in announced:
            if destination in prefix:
                key = (-prefix.prefixlen, 0, connection.name)
                if best is None or key < best[0]:
                    best = (key, connection)
    return best[1] if best is not None else None
