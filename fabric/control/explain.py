"""Why no usable route reaches a destination, as the code and detail a user can act on.

When the FIB gives no route (or a system route to None), the plain answer "no route" is true
but useless; the cause is usually one of a few documented situations: overlapping spaces,
a peering that is not Connected, non-transitive peering (§2.5), a VPN connection that is not
up, or gateway transit that is not configured (§2.6). Each answer is ``(code, detail,
resources)``; ``fabric.control.forwarding`` turns it into a Drop.
"""

from __future__ import annotations

from fabric.control.addressing import IPAddress
from fabric.control.connections import connection_status, gateway_for_vnet
from fabric.control.plane import ControlPlane
from fabric.model import VNet

Explanation = tuple[str, str, tuple[str, ...]]


_MEMO_KEY = "explain"  # where a plane keeps what its explanations learned


class _Known:
    """What explanations of one plane learned (a plane is read-only once built): the cause
    between two VNets, by their names, and the VNets that hold an address."""

    __slots__ = ("causes", "holders", "remotes")

    def __init__(self) -> None:
        self.causes: dict[tuple[str, str], Explanation | None] = {}
        self.remotes: dict[str, frozenset[str]] = {}  # VNet -> the VNets it is peered with
        # by family, then the address as an integer (an address object hashes through a
        # formatted string: a tenth of a matrix's time went to it)
        self.holders: dict[int, dict[int, list[VNet]]] = {4: {}, 6: {}}


def transit_blocker(plane: ControlPlane, vnet: VNet) -> Explanation | None:
    """Why a VNet peered with a gateway VNet cannot use that gateway, if it is so peered."""
    fabric = plane.fabric
    for link in plane.peerings.links_of(vnet.name):
        remote_gateways = fabric.gateways_in(link.remote_vnet, None)  # VPN or ExpressRoute
        if not remote_gateways:
            continue
        missing = plane.peerings.transit_blockers(link, remote_gateways[0])
        if missing:
            return (
                "GatewayTransitNotConfigured",
                f"{vnet.name} is peered with {link.remote_vnet}, which has gateway "
                f"{remote_gateways[0].name}, but {' and '.join(missing)}",
                (f"peering/{vnet.name}/{link.name}", f"gateway/{remote_gateways[0].name}"),
            )
    return None


def _transit_to_learned(
    plane: ControlPlane, here: VNet, destination: IPAddress
) -> Explanation | None:
    """A destination outside every VNet (on-premises) that the gateway of a VNet peered with
    ``here`` has learned, while gateway transit to that gateway does not work: why not (§2.6;
    §9: a Basic gateway carries no transit, and a trace that needs it names the SKU)."""
    fabric = plane.fabric
    if fabric.gateways_in(here.name, None):
        return None  # a VNet with a gateway of its own uses no remote one (§2.6)
    for link in plane.peerings.links_of(here.name):
        for gateway in fabric.gateways_in(link.remote_vnet, None):
            learned = plane.learned.get(gateway.name, ())
            if not any(destination in route.prefix for route in learned):
                continue
            missing = plane.peerings.transit_blockers(link, gateway)
            if missing:
                return (
                    "GatewayTransitNotConfigured",
                    f"{destination} is reached through gateway {gateway.name} in "
                    f"{link.remote_vnet}, which {here.name} is peered with, but "
                    f"{' and '.join(missing)}",
                    (f"peering/{here.name}/{link.name}", f"gateway/{gateway.name}"),
                )
    return None


def explain_no_route(
    plane: ControlPlane, here: VNet, destination: IPAddress, fallback: str
) -> Explanation:
    """Turn 'no usable route from ``here``' into the reason a user can act on."""
    known = plane.memo.get(_MEMO_KEY)
    if known is None:
        known = plane.memo[_MEMO_KEY] = _Known()
    by_value = known.holders[destination.version]
    holders = by_value.get(int(destination))
    if holders is None:
        holders = by_value[int(destination)] = plane.vnets_containing(destination)
    if len(holders) == 1 and holders[0].name != here.name:  # the usual case, a million times
        targets = holders
    else:
        targets = [v for v in holders if v.name != here.name]
    in_here = len(targets) < len(holders)
    if in_here and targets:
        return (
            "AddressSpacesOverlap",
            f"{destination} is in both {here.name} and {targets[0].name}",
            (f"vnet/{here.name}", f"vnet/{targets[0].name}"),
        )
    if in_here:
        return (
            "DestinationNotInSubnet",
            f"{destination} is in {here.name}'s space but in no subnet",
            (f"vnet/{here.name}",),
        )
    if len(targets) > 1:
        names = ", ".join(v.name for v in targets)
        return (
            "AddressSpacesOverlap",
            f"{destination} is in several VNets ({names})",
            tuple(f"vnet/{v.name}" for v in targets),
        )
    if not targets:
        blocked = _transit_to_learned(plane, here, destination)
        if blocked is not None:
            return blocked
        return fallback, f"no route from {here.name} reaches {destination}", (f"vnet/{here.name}",)
    target = targets[0]
    found = _between(plane, known, here, target)
    if found is not None:
        return found
    pair = (f"vnet/{here.name}", f"vnet/{target.name}")
    return fallback, f"no route from {here.name} reaches {target.name} ({destination})", pair


def _between(plane: ControlPlane, known: _Known, here: VNet, target: VNet) -> Explanation | None:
    """Why nothing connects VNet ``here`` to VNet ``target`` (None: no known cause), decided
    once per plane and pair of VNets: it depends on them alone, not on the address asked
    about, and a matrix asks it for every pair of their subnets."""
    key = (here.name, target.name)
    causes = known.causes
    if key not in causes:
        causes[key] = _cause(plane, known, here, target)
    return causes[key]


def _cause(plane: ControlPlane, known: _Known, here: VNet, target: VNet) -> Explanation | None:
    """Overlap, a missing or unconnected peering, non-transitive peering, a VPN connection
    that is down, a shared circuit's filter, gateway transit not configured: the first that
    applies."""
    fabric = plane.fabric
    pair = (f"vnet/{here.name}", f"vnet/{target.name}")
    if plane.peerings.overlap(here.name, target.name):
        return (
            "AddressSpacesOverlap",
            f"{here.name} and {target.name} overlap, so Azure refuses to peer or connect them; "
            "give them disjoint address spaces",
            pair,
        )
    names = {here.name, target.name}
    for link in plane.peerings.absent_links():
        if {link.vnet, link.remote_vnet} == names:
            gap = plane.peerings.blocked.get((link.vnet, link.name))
            code = "LinkedAuthorizationFailed" if gap else "PeeringDeletedByNetworkManager"
            return code, plane.peerings.absent(link) or "", (f"peering/{link.vnet}/{link.name}",)
    avnm = _network_manager(plane, here, target)
    if avnm is not None:
        return avnm
    links = [
        p
        for vnet, remote in ((here.name, target.name), (target.name, here.name))
        for p in plane.peerings.links_of(vnet)
        if p.remote_vnet == remote
    ]
    for link in links:
        if plane.peerings.across_clouds(link):  # §2.1: it stays Initiated whatever is declared
            return (
                "PeeringAcrossClouds",
                f"peering {link.vnet}/{link.name} joins VNets in different clouds ({here.region} "
                f"and {target.region}); global peering works only within one cloud (public, "
                "China or Government), so it never connects (§2.1): connect them another way",
                (f"peering/{link.vnet}/{link.name}",),
            )
        state = plane.peerings.state(link)
        if state != "Connected":
            fix = (
                "its other side was deleted, and a Disconnected link cannot be re-used: delete "
                "it and re-create both sides (§2.2)"
                if state == "Disconnected"
                else "both sides must exist for traffic to flow"
            )
            return (
                "PeeringNotConnected",
                f"peering {link.vnet}/{link.name} is {state}; {fix}",
                (f"peering/{link.vnet}/{link.name}",),
            )
    if not links:
        mine = _connected_remotes(plane, known, here.name)
        common = sorted(mine & _connected_remotes(plane, known, target.name))
        if common:
            return (
                "PeeringNotTransitive",
                f"{here.name} and {target.name} are both peered with {common[0]}, but peering "
                f"is not transitive; peer them directly, or route through an appliance or the "
                f"gateway in {common[0]}",
                (*pair, f"vnet/{common[0]}"),
            )
    here_gateway = gateway_for_vnet(fabric, here.name, plane.peerings)
    there_gateway = gateway_for_vnet(fabric, target.name, plane.peerings)
    if here_gateway is not None and there_gateway is not None:
        for connection in fabric.connections.values():
            if {connection.from_gateway, connection.to_gateway} == {
                here_gateway.name,
                there_gateway.name,
            }:
                status = connection_status(fabric, connection)
                if not status.up:
                    return (
                        "VpnConnectionNotConnected",
                        f"{connection.name} ({status.reason})",
                        (f"connection/{connection.name}",),
                    )
    shared = shared_circuit_filter(plane, here, target)
    if shared is not None:
        return shared
    for vnet, gateway in ((here, here_gateway), (target, there_gateway)):
        if gateway is None:
            blocker = transit_blocker(plane, vnet)
            if blocker is not None:
                return blocker
    return None


def shared_circuit_filter(plane: ControlPlane, here: VNet, target: VNet) -> Explanation | None:
    """N1.6: two VNets linked to one circuit whose gateway in ``here`` does not accept the
    other VNets' prefixes (allow_remote_vnet_traffic off, the default for new gateways)."""
    fabric = plane.fabric
    mine = gateway_for_vnet(fabric, here.name, plane.peerings, "ExpressRoute")
    theirs = gateway_for_vnet(fabric, target.name, plane.peerings, "ExpressRoute")
    if mine is None or theirs is None or mine.allow_remote_vnet_traffic:
        return None
    circuits = {
        c.to_gateway
        for c in fabric.connections.values()
        if c.connection_type == "ExpressRoute" and c.from_gateway == mine.name
    }
    for connection in fabric.connections.values():
        if connection.from_gateway == theirs.name and connection.to_gateway in circuits:
            return (
                "RemoteVnetTrafficNotAllowed",
                f"{here.name} and {target.name} share circuit {connection.to_gateway}, but "
                f"gateway {mine.name} does not allow traffic from remote virtual networks "
                "(off by default for new gateways, N1.6): set allow_remote_vnet_traffic on "
                "both gateways, or peer the VNets",
                (f"gateway/{mine.name}", f"express_route_circuit/{connection.to_gateway}"),
            )
    return None


def _connected_remotes(plane: ControlPlane, known: _Known, vnet: str) -> frozenset[str]:
    """The VNets ``vnet`` is peered with (Connected), worked out once per plane: a hub's
    500 links were read again for every pair of spokes."""
    found = known.remotes.get(vnet)
    if found is None:
        found = known.remotes[vnet] = frozenset(
            link.remote_vnet
            for link in plane.peerings.links_of(vnet)
            if plane.peerings.state(link) == "Connected"
        )
    return found


def _network_manager(plane: ControlPlane, here: VNet, target: VNet) -> Explanation | None:
    """N8.1/N7: a Virtual Network Manager configuration meant to connect the two VNets but
    left one out, or splits them into regional connected groups."""
    deployment = plane.peerings.deployment
    for exclusion in deployment.exclusions:
        if exclusion.vnet in (here.name, target.name):
            other = target.name if exclusion.vnet == here.name else here.name
            config = plane.fabric.connectivity_configurations[exclusion.configuration]
            members = {
                vnet
                for group in config.group_names
                for vnet in getattr(plane.fabric.network_groups.get(group), "members", ())
            } | set(config.hubs)
            if other in members:
                return (
                    exclusion.code,
                    exclusion.detail,
                    (f"vnet/{exclusion.vnet}", f"connectivity_configuration/{config.name}"),
                )
    mine = [g for g in deployment.groups if here.name in g.members]
    for group in mine:
        for other in deployment.groups:
            same = (other.configuration, other.network_group) == (
                group.configuration,
                group.network_group,
            )
            if same and other is not group and target.name in other.members:
                return (
                    "ConnectedGroupNotGlobal",
                    f"{here.name} ({here.region}) and {target.name} ({target.region}) are in "
                    f"configuration {group.configuration}, but its connected group is regional "
                    f"({group.name} and {other.name}); set is_global to connect across regions "
                    "(N8.1)",
                    (f"vnet/{here.name}", f"vnet/{target.name}"),
                )
    return None
