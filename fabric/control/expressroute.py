"""ExpressRoute (azure-facts.md Part II N1): the rules of a connection from an ExpressRoute
gateway to a circuit, what the gateway learns over its connections, and which gateway SKUs
allow FastPath. ``fabric.control.connections`` asks these for its ExpressRoute connections.

Facts:
* N1.1: the gateway SKUs (``fabric.catalogue.skus.express_route_sku``); the Basic SKU is
  deprecated for ExpressRoute (N13.3).
* N1.5: a Local circuit reaches only the region(s) at its metro, Standard its geopolitical area,
  Premium every region (``fabric.catalogue.circuits.reach``); a link from another subscription
  needs an authorization key; on-premises may advertise 4,000 IPv4 routes into private peering
  (10,000 on Premium), above which the BGP session drops until it is under the limit again.
* N1.6: every VNet linked to a circuit is in one routing domain, but a gateway learns the
  prefixes another VNet's gateway advertises through the MSEE only when it allows remote VNet
  traffic (``allow_remote_vnet_traffic``, off by default); on-premises prefixes are not affected.
* N1.7: for one prefix over several ExpressRoute connections the connection's weight decides
  first (higher wins), then the shorter AS path, and equal ones share the traffic (ECMP). Routes
  learned over ExpressRoute carry AS path ``12076-<on-premises ASN>``.
* N1.4: FastPath (``express_route_gateway_bypass``) needs UltraPerformance, ErGw3AZ or ErGwScale
  with at least 10 scale units.
"""

from __future__ import annotations

from collections.abc import Callable

from fabric.catalogue import circuits as catalogue
from fabric.catalogue.skus import ExpressRouteSkuSpec, UnknownSku, express_route_sku
from fabric.control.addressing import IPNetwork, valid_networks
from fabric.control.links import LearnedRoute, TunnelProblem, accepted
from fabric.model import Connection, ExpressRouteCircuit, Fabric, VpnGateway

GATEWAY_ASN = 65515  # §3.9: what an Azure gateway's routes carry as origin AS


def gateway_spec(gateway: VpnGateway) -> ExpressRouteSkuSpec:
    """The SKU figures of an ExpressRoute gateway (UnknownSku when not a known ER SKU)."""
    return express_route_sku(gateway.sku, gateway.scale_units)


def fastpath_supported(gateway: VpnGateway) -> bool:
    """N1.4: UltraPerformance, ErGw3AZ, ErGwScale with >= 10 scale units."""
    try:
        return gateway_spec(gateway).fastpath
    except UnknownSku:
        return False


def provisioned(circuit: ExpressRouteCircuit) -> bool:
    """True unless Azure reported the provider has not (or no longer) provisioned it."""
    state = circuit.service_provider_provisioning_state
    return state is None or state == catalogue.PROVISIONED


def on_premises_routes(circuit: ExpressRouteCircuit) -> tuple[IPNetwork, ...]:
    """What on-premises advertises into the circuit's private peering (IPv4 and IPv6); nothing
    while the count is above the tier's limit, which drops the BGP session (N1.5)."""
    prefixes = tuple(valid_networks(circuit.on_premises_prefixes))
    if bgp_session_dropped(circuit):
        return ()
    return prefixes


def bgp_session_dropped(circuit: ExpressRouteCircuit) -> bool:
    """N1.5: more IPv4 prefixes than the tier allows drop the private-peering BGP session."""
    ipv4 = [p for p in valid_networks(circuit.on_premises_prefixes) if p.version == 4]
    return len(ipv4) > catalogue.ON_PREMISES_ROUTES[circuit.sku_tier]


def as_path(circuit: ExpressRouteCircuit) -> tuple[int, ...]:
    """N1.7: the AS path of an on-premises route learned over ``circuit``: 12076 and the
    on-premises ASN (0 when not given), repeated by on-premises prepending."""
    return (catalogue.AZURE_ASN, *([circuit.peer_asn or 0] * (1 + circuit.as_path_prepend)))


VNET_AS_PATH = (catalogue.AZURE_ASN, GATEWAY_ASN)  # a VNet's prefix relayed by the MSEE


def subscription_of(fabric: Fabric, gateway: VpnGateway) -> str | None:
    vnet = fabric.vnets.get(gateway.vnet)
    return vnet.subscription if vnet is not None else None


def express_route_problems(
    fabric: Fabric,
    connection: Connection,
    gateway: VpnGateway,
    circuit: ExpressRouteCircuit,
    where: str,
    resource: str,
) -> list[TunnelProblem]:
    """Every reason an ExpressRoute connection is refused or carries nothing (empty: it is up)."""
    problems: list[TunnelProblem] = []
    links = (resource, f"gateway/{gateway.name}", f"express_route_circuit/{circuit.name}")
    try:
        spec = gateway_spec(gateway)
    except UnknownSku as unknown:
        return [
            TunnelProblem(
                "InvalidGatewaySku", f"gateway {gateway.name}: {unknown}", (resource,), True
            )
        ]
    low, high = catalogue.ROUTING_WEIGHT_RANGE
    weight = connection.routing_weight
    if isinstance(weight, bool) or not isinstance(weight, int) or not low <= weight <= high:
        problems.append(
            TunnelProblem(
                "InvalidRoutingWeight",
                f"{where}: routing weight {weight!r} is outside {low}-{high} (N1.7)",
                (resource,),
                refused=True,
            )
        )
    mine, theirs = subscription_of(fabric, gateway), circuit.subscription
    if mine and theirs and mine != theirs and connection.authorization_key is None:
        problems.append(
            TunnelProblem(
                "ExpressRouteAuthorizationRequired",
                f"{where}: gateway {gateway.name} is in subscription {mine} and circuit "
                f"{circuit.name} in {theirs}; a link from another subscription needs an "
                "authorization key from the circuit owner (N1.5): set authorization_key",
                links,
                refused=True,
            )
        )
    vnet = fabric.vnets.get(gateway.vnet)
    if vnet is not None and not vnet.external:
        verdict = catalogue.reach(circuit.sku_tier, circuit.peering_location, vnet.region)
        if verdict.allowed is False:
            problems.append(
                TunnelProblem(
                    "CircuitSkuCannotReachRegion",
                    f"{where}: circuit {circuit.name} cannot link VNet {vnet.name}: "
                    f"{verdict.why} (N1.5)",
                    links,
                    refused=True,
                )
            )
    if not provisioned(circuit):
        problems.append(
            TunnelProblem(
                "CircuitNotProvisioned",
                f"{where}: circuit {circuit.name} is "
                f"{circuit.service_provider_provisioning_state} by its provider, so it carries "
                "nothing until the provider provisions it",
                links,
            )
        )
    if connection.express_route_gateway_bypass and not spec.fastpath:
        units = f" with {spec.scale_units} scale unit(s)" if spec.scale_units else ""
        problems.append(
            TunnelProblem(
                "FastPathNotSupportedOnSku",
                f"{where} enables FastPath, but gateway {gateway.name} is {spec.name}{units}; "
                "FastPath needs UltraPerformance, ErGw3AZ or ErGwScale with at least 10 scale "
                "units (N1.4): traffic goes through the gateway",
                (resource, f"gateway/{gateway.name}"),
                refused=True,
                blocks=False,
            )
        )
    return problems


def express_route_routes(
    fabric: Fabric,
    gateway: VpnGateway,
    up: dict[str, list[Connection]],
    owned: Callable[[str], tuple[IPNetwork, ...]],
    advertised: Callable[[str], tuple[IPNetwork, ...]] | None = None,
) -> list[LearnedRoute]:
    """What ExpressRoute gateway ``gateway`` learns over its up connections (``up``: the up
    connections of every gateway), one route per prefix after N1.7's selection. ``owned``
    gives a gateway's own prefixes (what it filters on import), ``advertised`` what another
    gateway on the circuit announces (its own, by default)."""
    own = owned(gateway.name)
    offers: dict[IPNetwork, dict[str, tuple[int, tuple[int, ...]]]] = {}

    def offer(prefixes, connection: Connection, path: tuple[int, ...]) -> None:
        for prefix in prefixes:
            if not accepted(prefix, own):
                continue
            seen = offers.setdefault(prefix, {})
            current = seen.get(connection.name)
            candidate = (connection.routing_weight, path)
            if current is None or _better(candidate, current):
                seen[connection.name] = candidate

    mine = [c for c in up.get(gateway.name, []) if c.connection_type == "ExpressRoute"]
    for connection in mine:
        circuit = fabric.express_route_circuits[connection.to_gateway]
        offer(on_premises_routes(circuit), connection, as_path(circuit))
        if not gateway.allow_remote_vnet_traffic:  # N1.6: the receiving gateway filters
            continue
        for name, theirs in sorted(up.items()):
            if name == gateway.name:
                continue
            for other in theirs:
                if other.connection_type == "ExpressRoute" and other.to_gateway == circuit.name:
                    offer((advertised or owned)(name), connection, VNET_AS_PATH)
    routes = []
    for prefix, by_connection in offers.items():
        ranked = sorted(by_connection.items(), key=lambda item: (_key(item[1]), item[0]))
        best = _key(ranked[0][1])
        equal = [name for name, offer_ in ranked if _key(offer_) == best]
        weight, path = ranked[0][1]
        routes.append(LearnedRoute(prefix, equal[0], weight, path, tuple(equal[1:])))
    return sorted(routes, key=lambda r: (r.prefix.version, r.prefix, r.connection))


def _key(offer: tuple[int, tuple[int, ...]]) -> tuple[int, int]:
    """N1.7: weight first (higher wins), then AS-path length (shorter wins)."""
    weight, path = offer
    return (-weight, len(path))


def _better(a: tuple[int, tuple[int, ...]], b: tuple[int, tuple[int, ...]]) -> bool:
    return _key(a) < _key(b)
