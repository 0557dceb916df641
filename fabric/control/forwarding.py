"""Forwarding: the one place that decides where a packet goes, hop by hop, and why it stops.

``resolve`` follows a packet from a NIC on the control plane: the source NIC's outbound NSG,
then the route that wins in each FIB it meets (subnet or gateway), across peerings, appliances
and VPN tunnels, to the destination NIC's inbound NSG. The answer is a ``Path``: typed steps
(``Egress``, ``Leg``, ``Crossing``, ``ApplianceHop``, ``GatewayHop``, ``TunnelHop``,
``Arrival``, ``InternetEgress``, ``Stranded``) and one outcome, ``Deliver`` (to a NIC in the
fabric), ``Forward`` (out of the modelled fabric: the internet) or ``Drop`` (a stable CamelCase
code, the detail a user can act on, and the resources concerned). The watcher renders a Path;
the dataplane compiles it into nodes; nothing else decides a hop.

An NSG deny does not end the walk: the path goes on as if allowed, so that every blocking
cause on the way is listed (``Path.blockers``), the first one being the outcome.
"""

from __future__ import annotations

import attrs

from fabric.catalogue.latency import LatencyModel, UnknownRegionPair
from fabric.control.addressing import (
    AddressError,
    IPAddress,
    is_internet,
    is_multicast_or_broadcast,
    is_platform,
    parse_address,
    reserved_role,
    valid_networks,
)
from fabric.control.connections import (
    connection_is_site,
    connection_status,
    gateway_addresses,
    gateway_for_vnet,
)
from fabric.control.explain import explain_no_route, transit_blocker
from fabric.control.ipsec import Negotiated, negotiate
from fabric.control.nsg import Packet5Tuple, Verdict
from fabric.control.plane import ControlPlane, LocateError, Location, QuestionError
from fabric.control.routing import RouteEntry, SubnetRoutes
from fabric.model import Connection, Host, LocalNetworkGateway, Peering, VNet, VpnGateway, suggest
from fabric.model.records import PROTOCOLS

MAX_HOPS = 32
PORTLESS = ("Icmp", "Esp", "Ah")
EPHEMERAL_PORT = 60000  # the source port of a question that names none (IP flow verify: '*')
INTERNET = "Internet"
ON_PREMISES = "OnPremises"
ON_PREMISES_REGION = "on-premises"  # where a Leg to a site ends
AZURE_PLATFORM = "AzurePlatform"


# -- outcomes --------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Drop:
    """Why the packet stops: a stable code (Azure's name where it has one), the detail, the
    resources concerned, and how Network Watcher files it (issue type, origin, context)."""

    code: str
    detail: str
    resources: tuple[str, ...] = ()
    issue: str = "UserDefinedRoute"
    origin: str = "Local"
    context: dict[str, str] = attrs.field(factory=dict)
    at_step: int = 0  # how many steps the packet had taken when it stopped

    @property
    def reason(self) -> str:
        """``Code: detail``, the sentence the connectivity trace prints."""
        return f"{self.code}: {self.detail}" if self.detail else self.code


@attrs.frozen(slots=True)
class Deliver:
    """The packet reaches a NIC in the fabric."""

    location: Location


@attrs.frozen(slots=True)
class Forward:
    """The packet leaves the modelled fabric: to the internet, or to an on-premises site."""

    to: str
    address: IPAddress


Outcome = Deliver | Forward | Drop


# -- steps -----------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Egress:
    """The source NIC sends the packet into its VNet."""

    location: Location


@attrs.frozen(slots=True)
class Leg:
    """Travel from one node to the next, one way: within a region (zone-aware) or between
    regions; ``latency_ms`` None means no latency data for the region pair. Settled once the
    path is known (``settle``): see ``LatencyModel`` for the rule."""

    source_region: str
    region: str
    latency_ms: float | None
    source_zone: str | None = None
    zone: str | None = None

    @property
    def label(self) -> str:
        return f"{self.source_region}->{self.region}"

    @property
    def crosses_regions(self) -> bool:
        return self.source_region != self.region


@attrs.frozen(slots=True)
class Crossing:
    """A VNet peering link crossed from ``vnet`` to ``remote``."""

    link: Peering
    vnet: VNet
    remote: VNet

    @property
    def kind(self) -> str:
        """``VNetPeering`` or ``VNetGlobalPeering``."""
        return "VNetGlobalPeering" if self.vnet.region != self.remote.region else "VNetPeering"


@attrs.frozen(slots=True)
class ApplianceHop:
    """A network virtual appliance (a NIC with IP forwarding) that forwards the packet."""

    host: Host
    vnet: VNet
    route: RouteEntry
    processing_ms: float


@attrs.frozen(slots=True)
class GatewayHop:
    """The packet enters a VPN gateway (from its VNet or a spoke), by ``route``; the gateway
    spends ``processing_ms`` on it."""

    gateway: VpnGateway
    vnet: VNet
    route: RouteEntry
    addresses: tuple[str, ...]
    processing_ms: float


@attrs.frozen(slots=True)
class TunnelHop:
    """An IPsec tunnel from ``gateway`` over ``connection`` to ``remote_gateway`` (in
    ``remote_vnet``) or to an on-premises site (``site``). The leg across it follows as a Leg;
    ``processing_ms`` is what the far gateway spends (0 for a site: its device is outside)."""

    connection: Connection
    gateway: VpnGateway
    remote_gateway: VpnGateway | None
    remote_vnet: VNet | None
    site: LocalNetworkGateway | None
    cipher: Negotiated
    processing_ms: float
    gateway_addresses: tuple[str, ...]
    remote_addresses: tuple[str, ...]


@attrs.frozen(slots=True)
class Arrival:
    """The packet reaches the destination NIC (before its inbound NSG), by ``route``."""

    location: Location
    route: RouteEntry | None
    how: str


@attrs.frozen(slots=True)
class OnPremises:
    """The packet reaches the on-premises site at the far end of a site-to-site tunnel."""

    site: LocalNetworkGateway
    connection: Connection


@attrs.frozen(slots=True)
class PlatformArrival:
    """The host answers a platform address (DNS/DHCP/health VIP, instance metadata)."""

    address: IPAddress


@attrs.frozen(slots=True)
class InternetEgress:
    """The packet leaves for the internet by ``route``."""

    route: RouteEntry


@attrs.frozen(slots=True)
class Stranded:
    """The packet is in ``vnet`` but no NIC there holds the destination."""

    vnet: VNet
    how: str


Step = Egress | Leg | Crossing | ApplianceHop | GatewayHop | TunnelHop | Arrival
Step = Step | OnPremises | PlatformArrival | InternetEgress | Stranded


@attrs.frozen(slots=True)
class Path:
    """Where a packet goes: its steps and the outcome (Deliver, Forward or Drop)."""

    packet: Packet5Tuple
    source: Location
    steps: tuple[Step, ...]
    outcome: Outcome
    blockers: tuple[Drop, ...] = ()  # every blocking cause, the outcome first

    @property
    def reachable(self) -> bool:
        """True when the packet is delivered or leaves for the internet."""
        return not isinstance(self.outcome, Drop)

    @property
    def drop(self) -> Drop | None:
        """The first blocking cause, if any."""
        return self.outcome if isinstance(self.outcome, Drop) else None

    @property
    def latency_ms(self) -> float | None:
        """One-way latency along the path (None when unreachable, when a leg has no latency
        data, or when the path leaves for the internet, which is outside the model)."""
        if not self.reachable or (
            isinstance(self.outcome, Forward) and self.outcome.to == INTERNET
        ):
            return None
        total = 0.0
        for step in self.steps:
            value = _step_latency(step)
            if value is None:
                return None
            total += value
        return round(total, 6)

    @property
    def crosses_tunnel(self) -> bool:
        """True when the path goes through a VPN tunnel (TCP then uses the clamped MSS)."""
        return any(isinstance(step, TunnelHop) for step in self.steps)


def _step_latency(step: Step) -> float | None:
    if isinstance(step, Leg):
        return step.latency_ms
    if isinstance(step, ApplianceHop | GatewayHop | TunnelHop):
        return step.processing_ms
    return 0.0


def settle(steps: list[Step], latency: LatencyModel) -> list[Step]:
    """Give every leg its latency once the whole path is known (``LatencyModel`` documents
    the rule): a path inside one region adds its in-region legs (zone-aware); a path between
    regions takes the published region-pair figures, which are end to end (VM to VM), so the
    in-region legs around them add nothing."""
    legs = [s for s in steps if isinstance(s, Leg)]
    across = any(leg.crosses_regions for leg in legs)
    settled = []
    for step in steps:
        if isinstance(step, Leg):
            step = attrs.evolve(step, latency_ms=_leg_ms(step, latency, across))
        settled.append(step)
    return settled


def _leg_ms(leg: Leg, latency: LatencyModel, path_crosses_regions: bool) -> float | None:
    if leg.crosses_regions:
        if leg.region == ON_PREMISES_REGION:
            return latency.on_premises_one_way_ms
        try:
            return latency.one_way_ms(leg.source_region, leg.region)
        except UnknownRegionPair:
            return None
    if path_crosses_regions:
        return 0.0
    return latency.in_region_ms(leg.source_zone, leg.zone)


# -- the question ----------------------------------------------------------------------------


def parse_ip(text: str, label: str, plane: ControlPlane | None = None) -> IPAddress:
    """An address of a question (or the name of a declared host), else a QuestionError naming
    the argument."""
    try:
        return parse_address(text)
    except AddressError as problem:
        host = plane.host_named(text) if plane is not None else None
        if host is not None:
            return parse_address(host.ip)
        hint = plane.host_hint(text) if plane is not None else ""
        raise QuestionError(f"{label}: {problem}{hint}") from None


def canonical(value: str, choices: tuple[str, ...], label: str) -> str:
    """``value`` in Azure's spelling, whatever its case (``tcp`` -> ``Tcp``)."""
    for choice in choices:
        if choice.lower() == str(value).lower():
            return choice
    raise QuestionError(f"{label} {value!r} is not valid; {suggest(value, choices)}")


def make_packet(
    protocol: str,
    source: IPAddress,
    destination: IPAddress,
    port: int | None,
    source_port: int | None = None,
) -> Packet5Tuple:
    """The 5-tuple a question is about; ports only for TCP/UDP."""
    protocol = canonical(protocol, tuple(p for p in PROTOCOLS if p != "*"), "protocol")
    if protocol in PORTLESS:
        return Packet5Tuple(protocol, source, destination, None, None)
    for value, label in ((port, "port"), (source_port, "source port")):
        if value is not None and not 0 <= value <= 65535:
            raise QuestionError(f"{label} {value} is outside 0-65535")
    return Packet5Tuple(
        protocol,
        source,
        destination,
        EPHEMERAL_PORT if source_port is None else source_port,
        port if port is not None else 0,
    )


def locate_source(plane: ControlPlane, address: str, label: str = "--src") -> Location:
    """The NIC (declared, or hypothetical in the subnet) that holds ``address`` (an IP or the
    name of a declared host)."""
    ip = parse_ip(address, label, plane)
    try:
        return plane.locate(ip)
    except LocateError as problem:
        raise QuestionError(f"{label} {problem}") from None


def resolve(
    plane: ControlPlane,
    source: str,
    destination: str,
    protocol: str = "Tcp",
    port: int | None = 443,
    *,
    source_port: int | None = None,
    established: bool = False,
) -> Path:
    """The path of a packet from the NIC at ``source`` to ``destination``.

    ``established`` follows the reply of an allowed flow: NSGs are stateful and let it pass.
    """
    start = locate_source(plane, source)
    destination_ip = parse_ip(destination, "--dst", plane)
    source_ip = parse_ip(source, "--src", plane)
    packet = make_packet(protocol, source_ip, destination_ip, port, source_port)
    return follow(plane, start, packet, established=established)


def follow(
    plane: ControlPlane, start: Location, packet: Packet5Tuple, *, established: bool = False
) -> Path:
    """The path of ``packet`` sent by the NIC at ``start`` (already located and parsed):
    ``resolve`` without the parsing, for callers that ask many questions (matrices, intents)."""
    return _Walk(plane, packet, start, established).run()


# -- the walk --------------------------------------------------------------------------------


# next hop type -> the _Walk method that handles it (a name: built once, not per hop)
_HANDLERS = {
    "None": "next_hop_none",
    "Internet": "internet",
    "VnetLocal": "vnet_local",
    "VNetPeering": "peering",
    "VNetGlobalPeering": "peering",
    "VirtualAppliance": "appliance",
    "VirtualNetworkGateway": "gateway",
}


class _Walk:
    """The mutable state of one resolution: where the packet is, what it has crossed."""

    def __init__(
        self, plane: ControlPlane, packet: Packet5Tuple, start: Location, established: bool
    ) -> None:
        self.plane = plane
        self.packet = packet
        self.start = start
        self.established = established
        self.steps: list[Step] = []
        self.blockers: list[Drop] = []
        self.region = start.vnet.region
        self.zone = start.host.zone if start.host else None
        self.via_gateway = False  # forwarded by an Azure VPN gateway (§2.6: no flag needed)

    # -- bookkeeping

    def run(self) -> Path:
        self.steps.append(Egress(self.start))
        outcome = self.unicast_only()
        if outcome is None:
            self.nsg(self.start, "Outbound")
            outcome = self.platform()
        if outcome is None:
            table = self.plane.routes(self.start.vnet.name, self.start.subnet.name)
            outcome = self.forward(self.start.vnet, table)
        if isinstance(outcome, Drop):
            self.blockers.append(outcome)
        if self.blockers:
            outcome = self.blockers[0]
        steps = tuple(settle(self.steps, self.plane.latency))
        return Path(self.packet, self.start, steps, outcome, tuple(self.blockers))

    def platform(self) -> Outcome | None:
        """The host platform addresses answer whatever the UDRs say (§1.4)."""
        destination = self.packet.destination
        if is_platform(destination):
            self.steps.append(PlatformArrival(destination))
            return Forward(AZURE_PLATFORM, destination)
        return None

    def unicast_only(self) -> Drop | None:
        """Multicast and broadcast never leave the VM: a VNet blocks them (§1.4)."""
        destination = self.packet.destination
        if is_multicast_or_broadcast(destination):
            kind = "Multicast" if destination.is_multicast else "Broadcast"
            return self.drop(
                f"{kind}NotSupported",
                f"{destination} is {kind.lower()}; a VNet carries unicast only (§1.4)",
                origin="Outbound",
            )
        return None

    def drop(self, code: str, detail: str, *resources: str, **issue) -> Drop:
        return Drop(code, detail, tuple(resources), at_step=len(self.steps), **issue)

    def leg(self, region: str, zone: str | None = None) -> None:
        """The packet travels from the last node to one in ``region`` (and ``zone``, when
        known); ``settle`` gives the leg its latency once the path is complete."""
        self.steps.append(Leg(self.region, region, None, self.zone, zone))
        self.region = region
        self.zone = zone

    def nsg(self, location: Location, direction: str) -> None:
        """The NSG verdict at a NIC; a deny is recorded and the walk goes on."""
        if self.established:
            return
        verdict, _ = self.plane.nsg_verdict(location, direction, self.packet)
        if not verdict.allowed:
            self.blockers.append(self._nsg_drop(verdict))

    def _nsg_drop(self, verdict: Verdict) -> Drop:
        return self.drop(
            "DeniedByNsg",
            f"{verdict.nsg}/{verdict.rule_name}",
            f"nsg/{verdict.nsg}",
            issue="NetworkSecurityRule",
            origin=verdict.direction,
            context={"RuleName": verdict.rule_name or "", "Nsg": verdict.nsg or ""},
        )

    # -- forwarding

    def forward(
        self, vnet: VNet, table: SubnetRoutes, gateway: VpnGateway | None = None
    ) -> Outcome:
        """Follow the FIBs from ``table`` (a subnet's, or ``gateway``'s) to an outcome."""
        destination = self.packet.destination
        seen: set[tuple[str, int, str]] = set()
        for _ in range(MAX_HOPS):
            route = table.lookup(destination)
            key = (vnet.name, id(table), str(route.prefix) if route else "-")
            if key in seen:
                return self.drop(
                    "RoutingLoop",
                    f"the packet returned to {vnet.name}/{table.subnet} by route {key[2]}",
                    f"vnet/{vnet.name}",
                    origin="Outbound",
                )
            seen.add(key)
            handler = _HANDLERS.get(route.next_hop_type if route else "")
            if route is None:
                return self.no_route(vnet, "NoRouteToDestination", gateway)
            if route.broken:
                return self.drop(
                    "RouteInvalid",
                    f"route {route.name} ({route.prefix}) of route table {route.route_table} is "
                    f"invalid: {route.broken}; its traffic is dropped",
                    f"route_table/{route.route_table}/route/{route.name}",
                    origin="Outbound",
                    context={"Route": route.name or "", "RouteTable": route.route_table_label},
                )
            if handler is None:
                return self.drop(
                    "UnsupportedNextHop",
                    f"next hop {route.next_hop_type} of route {route.prefix} is not modelled",
                )
            result = getattr(self, handler)(vnet, route, gateway)
            if isinstance(result, tuple):  # the packet moved on: (vnet, table, gateway)
                vnet, table, gateway = result
                continue
            return result
        return self.drop("RoutingLoop", f"more than {MAX_HOPS} hops", origin="Outbound")

    def no_route(self, vnet: VNet, fallback: str, gateway: VpnGateway | None) -> Drop:
        code, detail, resources = explain_no_route(
            self.plane, vnet, self.packet.destination, fallback
        )
        return self.drop(code, detail, *resources, origin="Outbound")

    def next_hop_none(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None) -> Drop:
        context = {"Route": route.name or str(route.prefix), "RouteTable": route.route_table_label}
        if route.source == "User":
            return self.drop(
                "NextHopNone",
                f"route {route.name} ({route.prefix}) of route table {route.route_table} "
                "drops the packet",
                f"route_table/{route.route_table}/route/{route.name}",
                origin="Outbound",
                context=context,
            )
        if gateway is not None:
            return self.no_gateway_route(gateway)
        code, detail, resources = explain_no_route(
            self.plane, vnet, self.packet.destination, "NextHopNone"
        )
        return self.drop(code, detail, *resources, origin="Outbound", context=context)

    def no_gateway_route(self, gateway: VpnGateway) -> Drop:
        return self.drop(
            "NoRouteOnGateway",
            f"gateway {gateway.name} has no connection or route that reaches "
            f"{self.packet.destination}",
            f"gateway/{gateway.name}",
            origin="Outbound",
        )

    def internet(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None) -> Outcome:
        if gateway is not None:  # a gateway forwards into tunnels and VNets, not to the internet
            return self.no_gateway_route(gateway)
        if self.plane.vnets_containing(self.packet.destination):
            return self.no_route(vnet, "NoRouteToDestination", gateway)
        if not is_internet(self.packet.destination):
            return self.drop(
                "NotRoutableOnInternet",
                f"route {route.prefix} sends {self.packet.destination} to the internet, which "
                "does not route private or special address space",
                origin="Outbound",
                context={"Route": route.name or str(route.prefix)},
            )
        self.steps.append(InternetEgress(route))
        return Forward(INTERNET, self.packet.destination)

    def vnet_local(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None) -> Outcome:
        return self.arrive(vnet, route, f"route {route.prefix} (VnetLocal)")

    def peering(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None) -> Outcome:
        link = route.peering
        remote = self.plane.fabric.vnets[link.remote_vnet]
        problem = self.cross(vnet, remote, link)
        if problem is not None:
            return problem
        return self.arrive(remote, route, f"via peering {link.name}")

    def cross(self, here: VNet, remote: VNet, link: Peering) -> Drop | None:
        """Cross the peering from ``here`` to ``remote``; the Drop when it does not carry."""
        plane = self.plane
        back = plane.peerings.counterpart(link)
        self.steps.append(Crossing(link, here, remote))
        resource = f"peering/{here.name}/{link.name}"
        state = plane.peerings.state(link)
        if state != "Connected":
            return self.drop(
                "PeeringNotConnected",
                f"{here.name}/{link.name} is {state}",
                resource,
                issue="PeeringNotConnected",
            )
        if plane.block_peering_without_vnet_access and not (
            link.allow_virtual_network_access
            and back is not None
            and back.allow_virtual_network_access
        ):
            return self.drop(
                "PeeringAccessBlocked",
                f"allow_virtual_network_access is off on {here.name}/{link.name} or its remote "
                "side",
                resource,
                issue="PeeringAccessBlocked",
            )
        # §2.6/§9: packets not originating in the sending VNet need allow_forwarded_traffic on
        # the receiving VNet's link, unless an Azure VPN gateway forwarded them.
        originated_here = any(
            self.packet.source in net for net in valid_networks(here.address_prefixes)
        )
        if (
            not originated_here
            and not self.via_gateway
            and back is not None
            and not back.allow_forwarded_traffic
        ):
            return self.drop(
                "ForwardedTrafficNotAllowed",
                f"{remote.name}/{back.name} does not allow forwarded traffic from {here.name} "
                f"(source {self.packet.source} is outside {here.name})",
                f"peering/{remote.name}/{back.name}",
                issue="ForwardedTrafficNotAllowed",
                origin="Inbound",
                context={"Peering": f"{remote.name}/{back.name}"},
            )
        return None

    def arrive(self, vnet: VNet, route: RouteEntry | None, how: str) -> Outcome:
        """Hand the packet to the destination NIC in ``vnet``: its inbound NSGs decide."""
        plane = self.plane
        destination = self.packet.destination
        try:
            location = plane.locate(destination, vnet.name)
        except LocateError:
            self.steps.append(Stranded(vnet, how))
            elsewhere = [v for v in plane.vnets_containing(destination) if v.name != vnet.name]
            if elsewhere:
                return self.drop(
                    "AddressSpacesOverlap",
                    f"{destination} is in both {vnet.name} and {elsewhere[0].name}; traffic "
                    f"stays in {vnet.name}",
                    f"vnet/{vnet.name}",
                    f"vnet/{elsewhere[0].name}",
                )
            return self.drop(
                "DestinationNotInSubnet",
                f"{destination} is in VNet {vnet.name}'s space but in none of its subnets",
                f"vnet/{vnet.name}",
            )
        roles = [reserved_role(destination, n) for n in valid_networks(location.subnet.prefixes)]
        role = next((r for r in roles if r), None)
        if role is not None:  # §1.2: no VM holds these addresses
            self.steps.append(Stranded(vnet, how))
            return self.drop(
                "ReservedAddress",
                f"{destination} is {role} of subnet {vnet.name}/{location.subnet.name}, "
                "reserved by Azure: no VM holds it",
                f"vnet/{vnet.name}/subnet/{location.subnet.name}",
            )
        self.leg(location.vnet.region, location.host.zone if location.host else None)
        self.steps.append(Arrival(location, route, how))
        self.nsg(location, "Inbound")
        return Deliver(location)

    def appliance(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None):
        plane = self.plane
        ip = route.next_hop_ip_address[0] if route.next_hop_ip_address else ""
        candidates = [vnet] + [
            plane.fabric.vnets[link.remote_vnet]
            for link in plane.peerings.links_of(vnet.name)
            if link.remote_vnet in plane.fabric.vnets and plane.peerings.state(link) == "Connected"
        ]
        for where in candidates:
            host = plane.host_by_ip(ip, where.name)
            if host is None:
                continue
            if where.name != vnet.name:
                link = next(
                    p for p in plane.peerings.links_of(vnet.name) if p.remote_vnet == where.name
                )
                problem = self.cross(vnet, where, link)
                if problem is not None:
                    return problem
            location = plane.locate(ip, where.name)
            self.leg(where.region, host.zone)
            self.steps.append(
                ApplianceHop(host, where, route, plane.latency.appliance_processing_ms)
            )
            self.nsg(location, "Inbound")
            if not host.enable_ip_forwarding:
                return self.drop(
                    "IpForwardingDisabled",
                    f"appliance {host.name} ({ip}) does not have IP forwarding enabled on its "
                    "NIC, so it drops packets not addressed to it",
                    f"host/{host.name}",
                    issue="IpForwardingDisabled",
                )
            self.nsg(location, "Outbound")
            self.via_gateway = False
            return where, plane.routes(where.name, host.subnet), None
        return self.drop(
            "NextHopApplianceNotFound",
            f"no NIC with IP {ip} in {vnet.name} or its connected peers "
            f"(route {route.name or route.prefix})",
            f"route_table/{route.route_table}/route/{route.name}",
            origin="Outbound",
            context={"Route": route.name or ""},
        )

    def gateway(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None):
        plane = self.plane
        fabric = plane.fabric
        if gateway is not None:  # already at a gateway: the route names the tunnel to take
            if route.connection is None:
                return self.no_gateway_route(gateway)
            return self.tunnel(gateway, route.connection)
        serving = gateway_for_vnet(fabric, vnet.name, plane.peerings)
        if serving is None:
            blocker = transit_blocker(plane, vnet)
            if blocker is not None:
                code, detail, resources = blocker
                return self.drop(code, detail, *resources, origin="Outbound")
            return self.drop(
                "NoGateway",
                f"VNet {vnet.name} has no VPN gateway and uses none through gateway transit",
                f"vnet/{vnet.name}",
                origin="Outbound",
            )
        hub = fabric.vnets[serving.vnet]
        self.leg(hub.region)  # to the gateway: in the VNet, or across the peering to the hub
        addresses = gateway_addresses(fabric, serving)
        processing = plane.latency.gateway_processing_ms
        self.steps.append(GatewayHop(serving, hub, route, addresses, processing))
        self.via_gateway = True  # what the gateway forwards needs no allow_forwarded_traffic
        return hub, plane.gateway_routes(serving), serving

    def tunnel(self, gateway: VpnGateway, connection: Connection):
        plane = self.plane
        fabric = plane.fabric
        status = connection_status(fabric, connection)
        if not status.up:
            return self.drop(
                "VpnConnectionNotConnected",
                f"{connection.name} ({status.reason}: {status.message})",
                f"connection/{connection.name}",
                issue="VpnConnectionNotConnected",
            )
        processing = plane.latency.gateway_processing_ms
        cipher = negotiate(connection.ipsec_policy)
        local = gateway_addresses(fabric, gateway)
        if connection_is_site(connection):
            site = fabric.local_network_gateways[connection.to_gateway]
            self.steps.append(
                TunnelHop(
                    connection,
                    gateway,
                    None,
                    None,
                    site,
                    cipher,
                    0.0,
                    local,
                    (site.gateway_ip_address or site.fqdn or "-",),
                )
            )
            self.leg(ON_PREMISES_REGION)
            self.steps.append(OnPremises(site, connection))
            return Forward(ON_PREMISES, self.packet.destination)
        remote_gateway = fabric.gateways[connection.to_gateway]
        remote_vnet = fabric.vnets[remote_gateway.vnet]
        self.steps.append(
            TunnelHop(
                connection,
                gateway,
                remote_gateway,
                remote_vnet,
                None,
                cipher,
                processing,
                local,
                gateway_addresses(fabric, remote_gateway),
            )
        )
        self.leg(remote_vnet.region)
        self.via_gateway = True
        return remote_vnet, plane.gateway_routes(remote_gateway), remote_gateway
