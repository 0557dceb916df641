"""Offline Network Watcher: next hop, IP flow verify, effective routes and connectivity trace.

Every answer comes from ``ControlPlane`` (routes, NSG verdicts, peering and gateway state), the
same object the dataplane forwards with. The connectivity trace walks a packet hop by hop and
ends Reachable, or Unreachable with the hop and a reason a network engineer can act on.
"""

from __future__ import annotations

import html
from ipaddress import IPv4Address

import attrs

from fabric.catalogue.latency import UnknownRegionPair
from fabric.control.addressing import AddressError, parse_address, valid_networks
from fabric.control.connections import connection_status, gateway_addresses, gateway_for_vnet
from fabric.control.nsg import Packet5Tuple, Verdict
from fabric.control.peering import spaces_overlap
from fabric.control.plane import ControlPlane, LocateError, Location
from fabric.control.routing import RouteEntry
from fabric.model.records import PROTOCOLS, VNet, suggest

MAX_HOPS = 32
PORTLESS = ("Icmp", "Esp", "Ah")


class DiagnoseError(ValueError):
    """A question that cannot be asked (address in no subnet, bad protocol...)."""


@attrs.frozen(slots=True)
class Issue:
    """A Network-Watcher-style issue on a hop (origin, severity, type, context)."""

    type: str
    origin: str = "Local"
    severity: str = "Error"
    context: dict[str, str] = attrs.field(factory=dict)

    def to_json(self) -> dict:
        return {
            "origin": self.origin,
            "severity": self.severity,
            "type": self.type,
            "context": dict(self.context),
        }


@attrs.frozen(slots=True)
class Hop:
    """One node the packet passes: what it is, its name and address, and what went wrong."""

    type: str
    name: str
    address: str
    issues: tuple[Issue, ...] = ()
    detail: str = ""

    def to_json(self) -> dict:
        return {
            "type": self.type,
            "name": self.name,
            "address": self.address,
            "issues": [i.to_json() for i in self.issues],
        }


@attrs.frozen(slots=True)
class Step:
    """A piece of the path for the dataplane to build: a leg of travel (one-way ms), a peering
    crossed, an appliance, a VPN tunnel, or the delivery to the destination NIC."""

    kind: str  # "leg" | "peering" | "appliance" | "tunnel" | "deliver"
    name: str
    latency_ms: float | None = None


@attrs.frozen(slots=True)
class Trace:
    """The result of a connectivity check (pybatfish-like: disposition, hops, reason)."""

    connection_status: str
    hops: tuple[Hop, ...]
    reason: str | None
    latency_ms: float | None
    steps: tuple[Step, ...] = ()

    @property
    def reachable(self) -> bool:
        return self.connection_status == "Reachable"

    def to_json(self) -> dict:
        """DESIGN.md's ``connectivity --json`` shape."""
        return {
            "connection_status": self.connection_status,
            "hops": [hop.to_json() for hop in self.hops],
            "reason": self.reason,
            "latency_ms": self.latency_ms,
        }

    def __str__(self) -> str:
        lines = [f"{self.connection_status}" + (f": {self.reason}" if self.reason else "")]
        for i, hop in enumerate(self.hops, 1):
            problems = "; ".join(
                f"{issue.type} {' '.join(f'{k}={v}' for k, v in issue.context.items())}".strip()
                for issue in hop.issues
            )
            lines.append(
                f"  {i:>2}. {hop.type:<22}{hop.name:<28}{hop.address:<16}{hop.detail}"
                + (f"  !! {problems}" if problems else "")
            )
        if self.latency_ms is not None:
            lines.append(f"  estimated one-way latency: {self.latency_ms:.3f} ms")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{i}</td><td>{html.escape(h.type)}</td><td>{html.escape(h.name)}</td>"
            f"<td>{html.escape(h.address)}</td><td>{html.escape(h.detail)}</td>"
            f"<td>{html.escape('; '.join(x.type for x in h.issues))}</td></tr>"
            for i, h in enumerate(self.hops, 1)
        )
        head = html.escape(self.connection_status + (f": {self.reason}" if self.reason else ""))
        return (
            f"<p><b>{head}</b></p><table><tr><th>#</th><th>type</th><th>name</th>"
            f"<th>address</th><th>detail</th><th>issues</th></tr>{rows}</table>"
        )


def _ip(text: str, label: str) -> IPv4Address:
    try:
        return parse_address(text)
    except AddressError as problem:
        raise DiagnoseError(f"{label}: {problem}") from None


def _where(plane: ControlPlane, address: str, label: str) -> Location:
    try:
        return plane.locate(address)
    except LocateError as problem:
        raise DiagnoseError(f"{label} {problem}") from None


def make_packet(
    protocol: str,
    source: IPv4Address,
    destination: IPv4Address,
    port: int | None,
    source_port: int | None = None,
) -> Packet5Tuple:
    """Build the 5-tuple a question is about; ports only for TCP/UDP."""
    if protocol not in PROTOCOLS or protocol == "*":
        choices = [p for p in PROTOCOLS if p != "*"]
        raise DiagnoseError(f"protocol {protocol!r} is not valid; {suggest(protocol, choices)}")
    if protocol in PORTLESS:
        return Packet5Tuple(protocol, source, destination, None, None)
    for value, label in ((port, "port"), (source_port, "source port")):
        if value is not None and not 0 <= value <= 65535:
            raise DiagnoseError(f"{label} {value} is outside 0-65535")
    # An ephemeral source port when none is given (IP flow verify accepts '*' for it).
    return Packet5Tuple(
        protocol,
        source,
        destination,
        60000 if source_port is None else source_port,
        port if port is not None else 0,
    )


# -- next hop and effective routes ----------------------------------------------------------


def next_hop(
    plane: ControlPlane, source: str, destination: str
) -> tuple[RouteEntry | None, Location]:
    """The route that wins for ``destination`` at the NIC with address ``source``."""
    location = _where(plane, source, "--src")
    dst = _ip(destination, "--dst")
    return plane.routes(location.vnet.name, location.subnet.name).lookup(dst), location


def next_hop_json(route: RouteEntry | None) -> dict:
    """DESIGN.md's ``next-hop --json`` shape."""
    if route is None:
        return {
            "next_hop_type": "None",
            "next_hop_ip_address": None,
            "route_table": None,
            "address_prefix": None,
        }
    return {
        "next_hop_type": route.next_hop_type,
        "next_hop_ip_address": route.next_hop_ip_address[0] if route.next_hop_ip_address else None,
        "route_table": route.route_table_label,
        "address_prefix": str(route.prefix),
    }


# -- IP flow verify -------------------------------------------------------------------------


def ip_flow(
    plane: ControlPlane,
    source: str,
    destination: str,
    protocol: str,
    port: int | None,
    direction: str,
    source_port: int | None = None,
) -> Verdict:
    """NSG verdict at the VM whose IP is ``source`` (Outbound) or ``destination`` (Inbound)."""
    if direction not in ("Inbound", "Outbound"):
        raise DiagnoseError(
            f"direction {direction!r} is not valid; {suggest(direction, ('Inbound', 'Outbound'))}"
        )
    src, dst = _ip(source, "--src"), _ip(destination, "--dst")
    at = source if direction == "Outbound" else destination
    location = _where(plane, at, "--src" if direction == "Outbound" else "--dst")
    verdict, _ = plane.nsg_verdict(
        location, direction, make_packet(protocol, src, dst, port, source_port)
    )
    return verdict


# -- connectivity trace ---------------------------------------------------------------------


@attrs.define
class _Walk:
    """Mutable state of one trace."""

    plane: ControlPlane
    packet: Packet5Tuple
    hops: list[Hop] = attrs.field(factory=list)
    region: str = ""
    latency_ms: float | None = 0.0
    via_gateway: bool = False
    established: bool = False  # a reply of an allowed flow: NSGs let it pass (stateful)
    steps: list[Step] = attrs.field(factory=list)

    def leg(self, to_region: str, extra_ms: float = 0.0) -> None:
        """The packet travels from the last node's region to ``to_region`` (one-way)."""
        try:
            one_way = self.plane.latency.one_way_ms(self.region, to_region) + extra_ms
        except UnknownRegionPair:
            one_way = None
        self.steps.append(Step("leg", f"{self.region}->{to_region}", one_way))
        if self.latency_ms is not None:
            self.latency_ms = None if one_way is None else self.latency_ms + one_way
        self.region = to_region

    def nsg(self, location: Location, direction: str) -> Verdict:
        """The NSG verdict here, or Allow for the reply of an established flow."""
        if self.established:
            return Verdict("Allow", "EstablishedFlow", None, direction)
        return self.plane.nsg_verdict(location, direction, self.packet)[0]

    def fail(self, reason: str, issue: Issue | None = None) -> Trace:
        if issue is not None and self.hops:
            last = self.hops[-1]
            self.hops[-1] = attrs.evolve(last, issues=(*last.issues, issue))
        return Trace("Unreachable", tuple(self.hops), reason, None, tuple(self.steps))

    def done(self) -> Trace:
        latency = None if self.latency_ms is None else round(self.latency_ms, 6)
        return Trace("Reachable", tuple(self.hops), None, latency, tuple(self.steps))


def _nsg_issue(verdict: Verdict, origin: str) -> Issue:
    return Issue(
        "NetworkSecurityRule",
        origin,
        "Error",
        {"RuleName": verdict.rule_name or "", "Nsg": verdict.nsg or ""},
    )


def connectivity(
    plane: ControlPlane,
    source: str,
    destination: str,
    protocol: str = "Tcp",
    port: int | None = 443,
    source_port: int | None = None,
    *,
    established: bool = False,
) -> Trace:
    """Follow a packet from the NIC at ``source`` to ``destination`` on the control plane.

    ``established`` traces the reply of an allowed flow: NSGs are stateful and let it pass.
    """
    start = _where(plane, source, "--src")
    dst = _ip(destination, "--dst")
    packet = make_packet(protocol, _ip(source, "--src"), dst, port, source_port)
    walk = _Walk(plane, packet, region=start.vnet.region, established=established)
    walk.hops.append(
        Hop("Source", start.name, source, detail=f"{start.vnet.name}/{start.subnet.name}")
    )
    verdict = walk.nsg(start, "Outbound")
    if not verdict.allowed:
        return walk.fail(
            f"DeniedByNsg: {verdict.nsg}/{verdict.rule_name}", _nsg_issue(verdict, "Outbound")
        )
    return _forward(
        walk, start.vnet, start.subnet.name, plane.routes(start.vnet.name, start.subnet.name), dst
    )


def _forward(walk: _Walk, vnet: VNet, subnet: str, table, dst: IPv4Address) -> Trace:
    plane = walk.plane
    seen: set[tuple[str, str, str]] = set()
    for _ in range(MAX_HOPS):
        route = table.lookup(dst)
        key = (vnet.name, subnet, str(route.prefix) if route else "-")
        if key in seen:
            return walk.fail(
                f"RoutingLoop: the packet returned to {vnet.name}/{subnet} by route {key[2]}",
                Issue("UserDefinedRoute", "Outbound"),
            )
        seen.add(key)
        if route is None:
            return walk.fail(
                _explain(plane, vnet, dst, "NoRouteToDestination"),
                Issue("UserDefinedRoute", "Outbound"),
            )
        hop = route.next_hop_type
        if hop == "None":
            reason = (
                "NextHopNone"
                if route.source == "User"
                else _explain(plane, vnet, dst, "NextHopNone")
            )
            issue = Issue(
                "UserDefinedRoute",
                "Outbound",
                "Error",
                {"Route": route.name or str(route.prefix), "RouteTable": route.route_table_label},
            )
            return walk.fail(reason, issue)
        if hop == "Internet":
            if plane.vnets_containing(dst):
                return walk.fail(
                    _explain(plane, vnet, dst, "NoRouteToDestination"),
                    Issue("UserDefinedRoute", "Outbound"),
                )
            walk.hops.append(Hop("Internet", "Internet", str(dst), detail=f"route {route.prefix}"))
            walk.latency_ms = None  # the internet part of the path is outside the model
            return walk.done()
        if hop == "VnetLocal":
            return _deliver(walk, vnet, dst, f"route {route.prefix} (VnetLocal)")
        if hop in ("VNetPeering", "VNetGlobalPeering"):
            link_vnet, link_name = route.via.split("/", 1)
            remote = plane.fabric.vnets[plane.fabric.peerings[(link_vnet, link_name)].remote_vnet]
            problem = _cross_peering(walk, vnet, remote, link_name)
            if problem is not None:
                return problem
            return _deliver(walk, remote, dst, f"via peering {link_name}")
        if hop == "VirtualAppliance":
            result = _through_appliance(walk, vnet, route, dst)
            if isinstance(result, Trace):
                return result
            vnet, subnet = result
            table = plane.routes(vnet.name, subnet)
            continue
        if hop == "VirtualNetworkGateway":
            result = _through_gateway(walk, vnet, dst, route)
            if isinstance(result, Trace):
                return result
            vnet = result
            subnet = "GatewaySubnet"
            table = plane.gateway_subnet_routes(vnet.name)
            continue
        return walk.fail(f"UnsupportedNextHop: {hop}")
    return walk.fail(
        f"RoutingLoop: more than {MAX_HOPS} hops", Issue("UserDefinedRoute", "Outbound")
    )


def _cross_peering(walk: _Walk, here: VNet, remote: VNet, link_name: str) -> Trace | None:
    """Cross the peering from ``here`` to ``remote``; returns a failed trace or None."""
    plane = walk.plane
    fabric = plane.fabric
    link = fabric.peerings[(here.name, link_name)]
    back = plane.peerings.counterpart(link)
    kind = "VNetGlobalPeering" if here.region != remote.region else "VNetPeering"
    walk.steps.append(Step("peering", f"{here.name}/{link_name}"))
    walk.hops.append(
        Hop(kind, f"{here.name}/{link_name}", "-", detail=f"{here.name} -> {remote.name}")
    )
    if not plane.peerings.is_connected(link):
        return walk.fail(
            f"PeeringNotConnected: {here.name}/{link_name} is {plane.peerings.state(link)}",
            Issue("PeeringNotConnected"),
        )
    if plane.block_peering_without_vnet_access and not (
        link.allow_virtual_network_access and back is not None and back.allow_virtual_network_access
    ):
        return walk.fail(
            f"PeeringAccessBlocked: allow_virtual_network_access is off on "
            f"{here.name}/{link_name} or its remote side",
            Issue("PeeringAccessBlocked"),
        )
    # §2.6/§9: packets not originating in the sending VNet need allow_forwarded_traffic on the
    # receiving VNet's link, unless an Azure VPN gateway forwarded them.
    originated_here = any(
        walk.packet.source in net for net in valid_networks(here.address_prefixes)
    )
    if (
        not originated_here
        and not walk.via_gateway
        and back is not None
        and not back.allow_forwarded_traffic
    ):
        return walk.fail(
            f"ForwardedTrafficNotAllowed: {remote.name}/{back.name} does not allow forwarded "
            f"traffic from {here.name} (source {walk.packet.source} is outside {here.name})",
            Issue(
                "ForwardedTrafficNotAllowed",
                "Inbound",
                "Error",
                {"Peering": f"{remote.name}/{back.name}"},
            ),
        )
    return None


def _deliver(walk: _Walk, vnet: VNet, dst: IPv4Address, detail: str) -> Trace:
    """Hand the packet to the destination NIC in ``vnet``: inbound NSGs decide."""
    plane = walk.plane
    try:
        location = plane.locate(dst, vnet.name)
    except LocateError:
        walk.hops.append(Hop("VnetLocal", vnet.name, str(dst), detail=detail))
        elsewhere = [v for v in plane.vnets_containing(dst) if v.name != vnet.name]
        if elsewhere:
            return walk.fail(
                f"AddressSpacesOverlap: {dst} is in both {vnet.name} and "
                f"{elsewhere[0].name}; traffic stays in {vnet.name}",
                Issue("UserDefinedRoute"),
            )
        return walk.fail(
            f"DestinationNotInSubnet: {dst} is in VNet {vnet.name}'s space but in "
            "none of its subnets",
            Issue("UserDefinedRoute"),
        )
    walk.hops.append(
        Hop(
            "Destination",
            location.name,
            str(dst),
            detail=f"{location.vnet.name}/{location.subnet.name}; {detail}",
        )
    )
    walk.leg(location.vnet.region)
    verdict = walk.nsg(location, "Inbound")
    if not verdict.allowed:
        return walk.fail(
            f"DeniedByNsg: {verdict.nsg}/{verdict.rule_name}", _nsg_issue(verdict, "Inbound")
        )
    walk.steps.append(Step("deliver", location.name))
    return walk.done()


def _through_appliance(walk: _Walk, vnet: VNet, route: RouteEntry, dst: IPv4Address):
    plane = walk.plane
    ip = route.next_hop_ip_address[0] if route.next_hop_ip_address else ""
    candidates = [vnet] + [
        plane.fabric.vnets[link.remote_vnet]
        for link in plane.fabric.peerings_of(vnet.name)
        if link.remote_vnet in plane.fabric.vnets and plane.peerings.is_connected(link)
    ]
    for where in candidates:
        host = plane.host_by_ip(ip, where.name)
        if host is None:
            continue
        if where.name != vnet.name:
            link = next(
                p for p in plane.fabric.peerings_of(vnet.name) if p.remote_vnet == where.name
            )
            problem = _cross_peering(walk, vnet, where, link.name)
            if problem is not None:
                return problem
        location = plane.locate(ip, where.name)
        walk.leg(where.region)
        walk.hops.append(
            Hop(
                "VirtualAppliance",
                host.name,
                ip,
                detail=f"{where.name}/{host.subnet}; route {route.prefix}",
            )
        )
        verdict = walk.nsg(location, "Inbound")
        if not verdict.allowed:
            return walk.fail(
                f"DeniedByNsg: {verdict.nsg}/{verdict.rule_name}", _nsg_issue(verdict, "Inbound")
            )
        if not host.enable_ip_forwarding:
            return walk.fail(
                f"IpForwardingDisabled: appliance {host.name} ({ip}) does not have IP "
                "forwarding enabled on its NIC, so it drops packets not addressed to it",
                Issue("IpForwardingDisabled"),
            )
        walk.steps.append(Step("appliance", host.name, plane.latency.appliance_processing_ms))
        verdict = walk.nsg(location, "Outbound")
        if not verdict.allowed:
            return walk.fail(
                f"DeniedByNsg: {verdict.nsg}/{verdict.rule_name}", _nsg_issue(verdict, "Outbound")
            )
        if walk.latency_ms is not None:
            walk.latency_ms += plane.latency.appliance_processing_ms
        walk.via_gateway = False
        return where, host.subnet
    return walk.fail(
        f"NextHopApplianceNotFound: no NIC with IP {ip} in {vnet.name} or its connected "
        f"peers (route {route.name or route.prefix})",
        Issue("UserDefinedRoute", "Outbound", "Error", {"Route": route.name or ""}),
    )


def _through_gateway(walk: _Walk, vnet: VNet, dst: IPv4Address, route: RouteEntry):
    plane = walk.plane
    fabric = plane.fabric
    gateway = gateway_for_vnet(fabric, vnet.name, plane.peerings)
    if gateway is None:
        return walk.fail(
            _transit_reason(plane, vnet)
            or f"NoGateway: VNet {vnet.name} has no VPN gateway "
            "and uses none through gateway transit",
            Issue("UserDefinedRoute", "Outbound"),
        )
    hub = fabric.vnets[gateway.vnet]
    walk.leg(hub.region)  # to the gateway: in the VNet, or across the peering to the hub
    address = ", ".join(gateway_addresses(fabric, gateway)) or "-"
    walk.hops.append(
        Hop(
            "VirtualNetworkGateway",
            gateway.name,
            address,
            detail=f"{hub.name}; route {route.prefix}",
        )
    )
    learned = [r for r in plane.learned.get(gateway.name, []) if dst in r.prefix]
    if not learned:
        return walk.fail(
            f"NoRouteOnGateway: gateway {gateway.name} has no connection that reaches {dst}",
            Issue("UserDefinedRoute", "Outbound"),
        )
    best = max(learned, key=lambda r: r.prefix.prefixlen)
    connection = fabric.connections[best.connection]
    status = connection_status(fabric, connection)
    if not status.up:
        return walk.fail(f"VpnConnectionNotConnected: {connection.name} ({status.reason})")
    remote_gateway = fabric.gateways[connection.to_gateway]
    remote_vnet = fabric.vnets[remote_gateway.vnet]
    walk.steps.append(Step("tunnel", connection.name))
    walk.leg(remote_vnet.region, 2 * plane.latency.gateway_processing_ms)
    remote_address = ", ".join(gateway_addresses(fabric, remote_gateway)) or "-"
    walk.hops.append(
        Hop(
            "VirtualNetworkGateway",
            remote_gateway.name,
            remote_address,
            detail=f"{remote_vnet.name}; tunnel {connection.name}",
        )
    )
    walk.via_gateway = True
    return remote_vnet


def _transit_reason(plane: ControlPlane, vnet: VNet) -> str | None:
    """Why a VNet that is peered with a gateway VNet cannot use that gateway, if it is."""
    fabric = plane.fabric
    for link in fabric.peerings_of(vnet.name):
        remote_gateways = fabric.gateways_in(link.remote_vnet)
        if not remote_gateways:
            continue
        back = plane.peerings.counterpart(link)
        missing = []
        if not link.use_remote_gateways:
            missing.append(f"{vnet.name}/{link.name}.use_remote_gateways")
        if back is None or not back.allow_gateway_transit:
            missing.append(f"{link.remote_vnet}/{back.name if back else '?'}.allow_gateway_transit")
        if not plane.peerings.is_connected(link):
            missing.append(f"a Connected peering (it is {plane.peerings.state(link)})")
        if missing:
            return (
                f"GatewayTransitNotConfigured: {vnet.name} is peered with {link.remote_vnet}, "
                f"which has gateway {remote_gateways[0].name}, but {' and '.join(missing)} "
                "is not set"
            )
    return None


def _explain(plane: ControlPlane, here: VNet, dst: IPv4Address, fallback: str) -> str:
    """Turn 'no usable route' into the reason a user can act on."""
    fabric = plane.fabric
    targets = [v for v in plane.vnets_containing(dst) if v.name != here.name]
    in_here = any(v.name == here.name for v in plane.vnets_containing(dst))
    if in_here and targets:
        return f"AddressSpacesOverlap: {dst} is in both {here.name} and {targets[0].name}"
    if in_here:
        return f"DestinationNotInSubnet: {dst} is in {here.name}'s space but in no subnet"
    if len(targets) > 1:
        names = ", ".join(v.name for v in targets)
        return f"AddressSpacesOverlap: {dst} is in several VNets ({names})"
    if not targets:
        return fallback
    target = targets[0]
    if spaces_overlap(fabric, here.name, target.name):
        return (
            f"AddressSpacesOverlap: {here.name} and {target.name} overlap, so Azure refuses "
            "to peer or connect them; give them disjoint address spaces"
        )
    for link in fabric.peerings.values():
        if {link.vnet, link.remote_vnet} == {
            here.name,
            target.name,
        } and not plane.peerings.is_connected(link):
            return (
                f"PeeringNotConnected: peering {link.vnet}/{link.name} is "
                f"{plane.peerings.state(link)}; both sides must exist for traffic to flow"
            )
    for link in fabric.peerings.values():
        if {link.vnet, link.remote_vnet} == {here.name, target.name}:
            break
    else:
        mine = {
            p.remote_vnet for p in fabric.peerings_of(here.name) if plane.peerings.is_connected(p)
        }
        theirs = {
            p.remote_vnet for p in fabric.peerings_of(target.name) if plane.peerings.is_connected(p)
        }
        common = sorted(mine & theirs)
        if common:
            return (
                f"PeeringNotTransitive: {here.name} and {target.name} are both peered with "
                f"{common[0]}, but peering is not transitive; peer them directly, or route "
                f"through an appliance or the gateway in {common[0]}"
            )
    here_gw, there_gw = (
        gateway_for_vnet(fabric, here.name, plane.peerings),
        gateway_for_vnet(fabric, target.name, plane.peerings),
    )
    if here_gw is not None and there_gw is not None:
        for connection in fabric.connections.values():
            if {connection.from_gateway, connection.to_gateway} == {here_gw.name, there_gw.name}:
                status = connection_status(fabric, connection)
                if not status.up:
                    return f"VpnConnectionNotConnected: {connection.name} ({status.reason})"
    for vnet, gateway in ((here, here_gw), (target, there_gw)):
        if gateway is None:
            reason = _transit_reason(plane, vnet)
            if reason:
                return reason
    return f"{fallback}: no route from {here.name} reaches {target.name} ({dst})"
