"""VPN gateway connections: whether a VNet-to-VNet tunnel is up, and what each gateway learns.

§3.6/TC-VPN-1: a tunnel needs a connection resource on each gateway with the same shared key
(§9: a missing key means a random one, so keyless sides never match), the same IPsec/IKE policy
and RouteBased gateways. §3.9: without BGP a gateway learns the address space behind the other
gateway; with BGP on every connection along the way it also learns what that gateway learned
(never a default route, never a prefix that overlaps its own space).
"""

from __future__ import annotations

from collections import deque
from ipaddress import IPv4Network

import attrs

from fabric.catalogue.skus import UnknownSku, lookup
from fabric.control.addressing import AddressError, parse_prefix, valid_networks
from fabric.control.peering import PeeringView, remote_prefixes
from fabric.model.container import Fabric
from fabric.model.records import Connection, VpnGateway

CONNECTED = "Connected"
NOT_CONNECTED = "NotConnected"


@attrs.frozen(slots=True)
class ConnectionStatus:
    """``Connected`` or ``NotConnected`` with the reason code when not."""

    status: str
    reason: str | None = None

    @property
    def up(self) -> bool:
        """True when the tunnel carries traffic."""
        return self.status == CONNECTED


def partner(fabric: Fabric, connection: Connection) -> Connection | None:
    """The connection resource on the other gateway that points back, if any."""
    for other in fabric.connections.values():
        if (
            other.from_gateway == connection.to_gateway
            and other.to_gateway == connection.from_gateway
            and other.connection_type == connection.connection_type
        ):
            return other
    return None


def connection_status(fabric: Fabric, connection: Connection) -> ConnectionStatus:
    """Whether this Vnet2Vnet connection's tunnel is up, and if not, why."""
    if connection.connection_type != "Vnet2Vnet":
        return ConnectionStatus(NOT_CONNECTED, "ConnectionTypeNotModelled")
    local = fabric.gateways.get(connection.from_gateway)
    remote = fabric.gateways.get(connection.to_gateway)
    if local is None or remote is None:
        return ConnectionStatus(NOT_CONNECTED, "GatewayNotFound")
    if local.vpn_type != "RouteBased" or remote.vpn_type != "RouteBased":
        return ConnectionStatus(NOT_CONNECTED, "Vnet2VnetRequiresRouteBased")
    for gateway in (local, remote):
        try:
            lookup(gateway.sku, gateway.generation)
        except UnknownSku:
            return ConnectionStatus(NOT_CONNECTED, "InvalidGatewaySku")
    other = partner(fabric, connection)
    if other is None:
        return ConnectionStatus(NOT_CONNECTED, "ConnectionNotConnected")
    if connection.shared_key is None or connection.shared_key != other.shared_key:
        return ConnectionStatus(NOT_CONNECTED, "SharedKeyMismatch")
    if connection.ipsec_policy != other.ipsec_policy:
        return ConnectionStatus(NOT_CONNECTED, "IpsecPolicyMismatch")
    if connection.connection_status is not None and connection.connection_status != CONNECTED:
        return ConnectionStatus(NOT_CONNECTED, f"ReportedStatus{connection.connection_status}")
    return ConnectionStatus(CONNECTED)


def _bgp(fabric: Fabric, connection: Connection) -> bool:
    other = partner(fabric, connection)
    return bool(connection.enable_bgp and other is not None and other.enable_bgp)


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
    fabric: Fabric, vnet: str, view: PeeringView | None = None
) -> VpnGateway | None:
    """The VPN gateway that serves ``vnet``: its own, or the hub's through gateway transit."""
    own = fabric.gateways_in(vnet)
    if own:
        return own[0]
    view = view or PeeringView(fabric)
    for link in view.links_of(vnet):
        remote = fabric.gateways_in(link.remote_vnet)
        if remote and not view.transit_blockers(link, remote[0]):
            return remote[0]
    return None


def owned_prefixes(
    fabric: Fabric, gateway: VpnGateway, view: PeeringView | None = None
) -> tuple[IPv4Network, ...]:
    """What a gateway advertises as its own: its VNet's space plus its transit spokes' spaces."""
    view = view or PeeringView(fabric)
    prefixes: list[IPv4Network] = []
    vnet = fabric.vnets.get(gateway.vnet)
    if vnet is not None:
        prefixes.extend(valid_networks(vnet.address_prefixes))
    spokes = set(transit_spokes(fabric, gateway, view))
    for link in view.links_of(gateway.vnet):
        if link.remote_vnet in spokes:
            prefixes.extend(remote_prefixes(fabric, link))
    return tuple(dict.fromkeys(prefixes))


@attrs.frozen(slots=True)
class LearnedRoute:
    """A prefix a gateway reaches through one of its connections."""

    prefix: IPv4Network
    connection: str  # the local connection resource the traffic leaves on
    origin_gateway: str  # the gateway that owns the prefix
    as_path_length: int


def learned_routes(
    fabric: Fabric, view: PeeringView | None = None
) -> dict[str, list[LearnedRoute]]:
    """For every gateway, the prefixes it reaches over its up connections (static + BGP)."""
    view = view or PeeringView(fabric)
    up = {name: c for name, c in fabric.connections.items() if connection_status(fabric, c).up}
    by_gateway: dict[str, list[Connection]] = {}
    for connection in up.values():
        by_gateway.setdefault(connection.from_gateway, []).append(connection)
    owned = {name: owned_prefixes(fabric, g, view) for name, g in fabric.gateways.items()}
    result: dict[str, list[LearnedRoute]] = {}
    for name in fabric.gateways:
        own = owned[name]
        routes: dict[IPv4Network, LearnedRoute] = {}
        # Breadth-first over connections: first the direct neighbours (static or BGP), then,
        # across BGP-enabled connections only, what the neighbours learned.
        queue: deque[tuple[str, str, int]] = deque()
        seen = {name}
        for connection in sorted(by_gateway.get(name, []), key=lambda c: c.name):
            queue.append((connection.to_gateway, connection.name, 1))
        while queue:
            gateway, via, hops = queue.popleft()
            if gateway in seen:
                continue
            seen.add(gateway)
            for prefix in owned[gateway]:
                if prefix.prefixlen == 0 or any(prefix.overlaps(mine) for mine in own):
                    continue  # §3.9: never a default route, never one overlapping own space
                routes.setdefault(prefix, LearnedRoute(prefix, via, gateway, hops))
            first_hop = up[via]
            if not _bgp(fabric, first_hop) and hops == 1:
                continue
            for onward in sorted(by_gateway.get(gateway, []), key=lambda c: c.name):
                if _bgp(fabric, onward) and _bgp(fabric, first_hop):
                    queue.append((onward.to_gateway, via, hops + 1))
        result[name] = sorted(routes.values(), key=lambda r: (r.prefix, r.connection))
    return result


def gateway_addresses(fabric: Fabric, gateway: VpnGateway) -> tuple[str, ...]:
    """The gateway's private IPs in GatewaySubnet: the first usable address (.4), and .5 for
    the second instance of an active-active gateway. Our assumption: Azure assigns them from
    the start of GatewaySubnet, and effective routes show them as the next hop."""
    vnet = fabric.vnets.get(gateway.vnet)
    if vnet is None or "GatewaySubnet" not in vnet.subnet_names:
        return ()
    try:
        net = parse_prefix(vnet.subnet("GatewaySubnet").address_prefix)
    except AddressError:
        return ()
    count = 2 if gateway.active_active else 1
    return tuple(str(net.network_address + 4 + i) for i in range(count))
