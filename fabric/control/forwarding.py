"""Forwarding: the one place that decides where a packet goes, hop by hop, and why it stops.

``resolve`` follows a packet from a NIC on the control plane: the source NIC's outbound NSG,
then the route that wins in each FIB it meets (subnet or gateway), across peerings, connected
groups, appliances, Azure Firewalls, VPN tunnels and ExpressRoute circuits, to the destination
NIC's inbound NSG. The answer is a ``Path``: typed steps (``Egress``, ``Leg``, ``Crossing``,
``GroupCrossing``, ``ApplianceHop``, ``FirewallHop``, ``GatewayHop``, ``TunnelHop``,
``CircuitHop``, ``LocationLeg``, ``Arrival``, ``InternetEgress``, ``ServiceEndpointEgress``,
``ApplianceEgress``, ``Stranded``) and one outcome, ``Deliver`` (to a NIC in the fabric),
``Forward`` (out of the modelled fabric: the internet, on-premises, an Azure service over its
service endpoint, or what an NVA announced to Route Server) or ``Drop`` (a stable CamelCase
code, the detail a user can act on, and the resources concerned). The watcher renders a Path;
the dataplane compiles it into nodes; nothing else decides a hop.

An NSG deny does not end the walk: the path goes on as if allowed, so that every blocking
cause on the way is listed (``Path.blockers``), the first one being the outcome.
"""

from __future__ import annotations

import functools
import zlib

import attrs

from fabric.catalogue.latency import LatencyModel, UnknownRegionPair
from fabric.control.addressing import (
    AddressError,
    IPAddress,
    IPNetwork,
    is_internet,
    is_multicast_or_broadcast,
    is_platform,
    parse_address,
    reserved_role,
    valid_networks,
)
from fabric.control.avnm import ConnectedGroup
from fabric.control.connections import (
    MSEE_ON_PREMISES,
    connection_is_site,
    connection_status,
    gateway_addresses,
    gateway_for_vnet,
    msee_route,
)
from fabric.control.explain import explain_no_route, transit_blocker
from fabric.control.expressroute import fastpath_supported
from fabric.control.firewall import FIREWALL_SUBNET, FirewallVerdict
from fabric.control.firewall import evaluate as evaluate_firewall
from fabric.control.ipsec import Negotiated, negotiate
from fabric.control.nat import carries, serving
from fabric.control.nsg import Packet5Tuple, Verdict
from fabric.control.plane import (
    ControlPlane,
    FirewallAddress,
    LocateError,
    Location,
    QuestionError,
)
from fabric.control.routeserver import branch_to_branch
from fabric.control.routing import RouteEntry, SubnetRoutes
from fabric.model import (
    Connection,
    ExpressRouteCircuit,
    Firewall,
    Host,
    LocalNetworkGateway,
    NatGateway,
    Peering,
    VNet,
    VpnGateway,
    suggest,
)
from fabric.model.records import PROTOCOLS

MAX_HOPS = 32
PORTLESS = ("Icmp", "Esp", "Ah")
HOST_RESERVED_UDP_PORT = 65330  # §1.4: 'UDP source port 65330 is reserved for the host'
EPHEMERAL_PORT = 60000  # the source port of a question that names none (IP flow verify: '*')
INTERNET = "Internet"
ON_PREMISES = "OnPremises"
ON_PREMISES_REGION = "on-premises"  # where a Leg to a site ends
AZURE_PLATFORM = "AzurePlatform"
AZURE_SERVICE = "AzureService"  # N16: delivered to the service over its endpoint
BEYOND_APPLIANCE = "BeyondAppliance"  # N15: out through the NVA that announced the prefix
# Outcomes outside the model: no latency beyond the fabric's own.
_UNMEASURED = (INTERNET, AZURE_SERVICE, BEYOND_APPLIANCE)


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

    def settled(self, latency_ms: float | None) -> Leg:
        """This leg with its latency (``attrs.evolve`` is slow for a million paths)."""
        return Leg(self.source_region, self.region, latency_ms, self.source_zone, self.zone)

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
class GroupCrossing:
    """A Virtual Network Manager connected group crossed from ``vnet`` to ``remote`` (N8.1):
    direct, like a peering, but with no peering object."""

    group: ConnectedGroup
    vnet: VNet
    remote: VNet

    @property
    def kind(self) -> str:
        """The next hop type Azure shows for it: ``ConnectedGroup``."""
        return "ConnectedGroup"


@attrs.frozen(slots=True)
class ApplianceHop:
    """A network virtual appliance (a NIC with IP forwarding) that forwards the packet."""

    host: Host
    vnet: VNet
    route: RouteEntry
    processing_ms: float


@attrs.frozen(slots=True)
class FirewallHop:
    """An Azure Firewall that the packet is routed to (a UDR to its private IP): its network
    rules decide (``verdict``), then it forwards by AzureFirewallSubnet's routes. ``derived``:
    the input did not state the firewall's private IP; it is the one Azure allocates (N11.5)."""

    firewall: Firewall
    vnet: VNet
    route: RouteEntry
    address: IPAddress
    derived: bool
    verdict: FirewallVerdict | None  # None for the reply of an allowed flow (stateful)
    processing_ms: float


@attrs.frozen(slots=True)
class GatewayHop:
    """The packet enters a gateway (VPN or ExpressRoute; from its VNet or a spoke), by
    ``route``; the gateway spends ``processing_ms`` on it. ``circuit``: it came down that
    ExpressRoute circuit from the MSEE (N1.6's second gateway of a hairpin)."""

    gateway: VpnGateway
    vnet: VNet
    route: RouteEntry
    addresses: tuple[str, ...]
    processing_ms: float
    circuit: ExpressRouteCircuit | None = None

    @property
    def express_route(self) -> bool:
        """True for an ExpressRoute gateway."""
        return self.gateway.gateway_type == "ExpressRoute"


@attrs.frozen(slots=True)
class CircuitHop:
    """The packet crosses ExpressRoute circuit ``circuit`` on ``connection`` of ExpressRoute
    gateway ``gateway``: out of Azure to the MSEE pair at the circuit's peering location
    (``toward_azure`` False), or from the MSEE down to ``gateway``'s VNet (True). Going down,
    ``bypassed`` says FastPath sends it past the gateway straight to the VM host (N1.4), and
    ``note`` why FastPath does or does not apply; ``ecmp`` counts the connections of equal
    preference the flow was hashed over (N1.7)."""

    connection: Connection
    gateway: VpnGateway
    circuit: ExpressRouteCircuit
    toward_azure: bool
    bypassed: bool = False
    note: str = ""
    ecmp: int = 1


@attrs.frozen(slots=True)
class LocationLeg:
    """Travel between a region and a peering location (the MSEE's metro), one way, either
    way; ``latency_ms`` settled like a Leg (``LatencyModel.peering_location_tail_rtt_ms``)."""

    region: str
    location: str
    to_location: bool
    latency_ms: float | None = None

    @property
    def label(self) -> str:
        ends = (self.region, self.location)
        return "->".join(ends if self.to_location else ends[::-1])

    def settled(self, latency_ms: float | None) -> LocationLeg:
        """This leg with its latency."""
        return LocationLeg(self.region, self.location, self.to_location, latency_ms)


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
    """The packet reaches on-premises: the site at the far end of a site-to-site tunnel, or
    the network behind an ExpressRoute circuit (at its peering location)."""

    site: LocalNetworkGateway | ExpressRouteCircuit
    connection: Connection


@attrs.frozen(slots=True)
class PlatformArrival:
    """The host answers a platform address (DNS/DHCP/health VIP, instance metadata)."""

    address: IPAddress


@attrs.frozen(slots=True)
class InternetEgress:
    """The packet leaves for the internet by ``route``, through ``nat_gateway`` when the
    subnet whose route sends it there has one (N18.1: it replaces that subnet's internet
    destination)."""

    route: RouteEntry
    nat_gateway: NatGateway | None = None


@attrs.frozen(slots=True)
class ServiceEndpointEgress:
    """The packet leaves for an Azure service by its service endpoint route (N16): straight
    to the service, past any NVA or firewall a UDR would send it to."""

    route: RouteEntry


@attrs.frozen(slots=True)
class ApplianceEgress:
    """The packet leaves the modelled network through NVA ``host``, which announced
    ``route.prefix`` to Route Server (N15): what is behind it (an SD-WAN, its own internet
    edge) is outside the model."""

    host: Host
    vnet: VNet
    route: RouteEntry


@attrs.frozen(slots=True)
class Stranded:
    """The packet is in ``vnet`` but no NIC there holds the destination."""

    vnet: VNet
    how: str


Step = Egress | Leg | Crossing | GroupCrossing | ApplianceHop | FirewallHop | GatewayHop
Step = Step | TunnelHop | Arrival | OnPremises | PlatformArrival | InternetEgress | Stranded
Step = Step | CircuitHop | LocationLeg | ServiceEndpointEgress | ApplianceEgress


@attrs.frozen(slots=True)
class Path:
    """Where a packet goes: its steps and the outcome (Deliver, Forward or Drop)."""

    packet: Packet5Tuple
    source: Location
    steps: tuple[Step, ...]
    outcome: Outcome
    blockers: tuple[Drop, ...] = ()  # every blocking cause, the outcome first
    # The NSG flow records this path's packets leave: (NIC, direction) where an NSG allowed
    # them before anything stopped them (§5.3: an existing flow keeps passing there).
    records: frozenset[tuple[str, str]] = frozenset()

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
            isinstance(self.outcome, Forward) and self.outcome.to in _UNMEASURED
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
    def latency_gap(self) -> str | None:
        """Why ``latency_ms`` is None on a path that gets through (None: it is known)."""
        if not self.reachable:
            return None
        if isinstance(self.outcome, Forward) and self.outcome.to in _UNMEASURED:
            return f"the path leaves for {self.outcome.to}, which is outside the model"
        for step in self.steps:
            if isinstance(step, Leg) and step.latency_ms is None:
                return (
                    f"no published round trip between {step.source_region} and {step.region} "
                    "(§7.2); add it under simulation.parameters.region_rtt_ms"
                )
            if isinstance(step, LocationLeg) and step.latency_ms is None:
                return (
                    f"no known round trip between {step.region} and peering location "
                    f"{step.location}; add it under simulation.parameters.peering_location_rtt_ms"
                )
        return None

    @property
    def firewalls(self) -> tuple[str, ...]:
        """The Azure Firewalls the path passes, in order."""
        return tuple(s.firewall.name for s in self.steps if isinstance(s, FirewallHop))

    @property
    def crosses_tunnel(self) -> bool:
        """True when the path goes through a VPN tunnel (TCP then uses the clamped MSS)."""
        return any(isinstance(step, TunnelHop) for step in self.steps)

    @property
    def through_express_route_gateway(self) -> bool:
        """True when an ExpressRoute gateway handles the packet (not bypassed by FastPath):
        its packets must fit 1,400 bytes (N1.1)."""
        return any(isinstance(step, GatewayHop) and step.express_route for step in self.steps)

    def tcp_mss(self, latency: LatencyModel) -> int:
        """The MSS a TCP flow on this path uses: the VPN clamp through a tunnel (§3.8), at most
        ``express_route_tcp_mss_bytes`` through an ExpressRoute gateway (N1.1), else the
        default."""
        mss = latency.vpn_tcp_mss_bytes if self.crosses_tunnel else latency.tcp_mss_bytes
        if self.through_express_route_gateway:
            mss = min(mss, latency.express_route_tcp_mss_bytes)
        return mss


@functools.lru_cache(maxsize=4096)
def _text(prefix: IPNetwork) -> str:
    """A route's prefix as text, worked out once: a drop names its route, and a matrix drops
    a million packets by the same few routes."""
    return str(prefix)


# isinstance takes a tuple faster than a union built at each call (a matrix asks per pair)
_LEGS = (Leg, LocationLeg)
_PROCESSING = (ApplianceHop, FirewallHop, GatewayHop, TunnelHop)


def _step_latency(step: Step) -> float | None:
    if isinstance(step, _LEGS):
        return step.latency_ms
    if isinstance(step, _PROCESSING):
        return step.processing_ms
    return 0.0


def settle(steps: list[Step], latency: LatencyModel) -> list[Step]:
    """Give every leg its latency once the whole path is known (``LatencyModel`` documents
    the rule): a path inside one region adds its in-region legs (zone-aware); a path between
    regions takes the published region-pair figures, which are end to end (VM to VM), so the
    in-region legs around them add nothing."""
    legs = [s for s in steps if isinstance(s, _LEGS)]
    if not legs:
        return steps
    # A peering-location figure is end to end as well (N4.1 measured host to VM).
    across = any(isinstance(leg, LocationLeg) or leg.crosses_regions for leg in legs)
    settled = []
    for step in steps:
        if isinstance(step, Leg):
            step = step.settled(_leg_ms(step, latency, across))
        elif isinstance(step, LocationLeg):
            try:
                rtt = latency.peering_location_round_trip_ms(step.location, step.region)
                step = step.settled(rtt / 2)
            except UnknownRegionPair:
                step = step.settled(None)
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
    # A host's name says which VNet it is in, even where address spaces overlap (N8.1 lets
    # mesh members overlap).
    try:
        return plane.locate(ip, plane.host_vnet(address))
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
    records: frozenset[tuple[str, str]] = frozenset(),
) -> Path:
    """The path of a packet from the NIC at ``source`` to ``destination``.

    ``established`` follows the reply of an allowed flow: NSGs are stateful and let it pass.
    ``records`` are the (NIC, direction) pairs where the flow already holds an NSG flow record
    (an earlier ``Path.records``): there the NSG lets it pass whatever its rules say now (§5.3:
    a rule change affects only new connections); a NIC the flow meets for the first time, on a
    changed route, evaluates it as a new flow.
    """
    start = locate_source(plane, source)
    destination_ip = parse_ip(destination, "--dst", plane)
    source_ip = parse_ip(source, "--src", plane)
    packet = make_packet(protocol, source_ip, destination_ip, port, source_port)
    return follow(plane, start, packet, established=established, records=records)


def follow(
    plane: ControlPlane,
    start: Location,
    packet: Packet5Tuple,
    *,
    established: bool = False,
    records: frozenset[tuple[str, str]] = frozenset(),
) -> Path:
    """The path of ``packet`` sent by the NIC at ``start`` (already located and parsed):
    ``resolve`` without the parsing, for callers that ask many questions (matrices, intents).
    A TCP question also checks the reply (``_check_return``)."""
    path = _Walk(plane, packet, start, established, records).run()
    if not established and packet.protocol == "Tcp":
        if isinstance(path.outcome, Deliver):
            path = _check_return(plane, path)
        elif path.steps and isinstance(path.steps[-1], OnPremises):
            path = _check_return(plane, path, _from_premises(plane, path))
    return path


def _from_premises(plane: ControlPlane, path: Path) -> Path | None:
    """The reply of a request that ended on premises: it comes back into Azure at the gateway
    the request left by (over the same tunnel, or up the same circuit) and follows that
    gateway's routes (its GatewaySubnet's, N11.6: where a UDR sends spoke prefixes to the
    hub firewall). None when the path names no such gateway."""
    gateway = next(
        (s.gateway for s in reversed(path.steps) if isinstance(s, TunnelHop | CircuitHop)), None
    )
    if gateway is None:
        return None
    vnet = plane.fabric.vnets[gateway.vnet]
    if "GatewaySubnet" not in vnet.subnet_names:
        return None
    start = Location(vnet, vnet.subnet("GatewaySubnet"), None)
    walk = _Walk(plane, path.packet.reply(), start, True)
    walk.via_gateway = True  # forwarded by the gateway: no allow_forwarded_traffic needed (§2.6)
    outcome = walk.forward(vnet, plane.gateway_routes(gateway), gateway)
    if isinstance(outcome, Drop):
        walk.blockers.append(outcome)
    if walk.blockers:
        outcome = walk.blockers[0]
    steps = tuple(settle(walk.steps, plane.latency))
    return Path(walk.packet, walk.start, steps, outcome, tuple(walk.blockers), frozenset())


def _check_return(plane: ControlPlane, path: Path, back: Path | None = None) -> Path:
    """A TCP connection needs its reply to get back (the handshake), and to pass the same
    stateful firewalls (N11.6): a reply
    that bypasses one (or meets one the request did not pass) leaves that firewall without the
    connection's state, and it drops what follows. Added as a blocker at the firewall.
    ``back``: the reply's path when it does not start at the destination's NIC (on
    premises: ``_from_premises``)."""
    hops = [s for s in path.steps if isinstance(s, FirewallHop)]
    packet = path.packet
    if back is None:
        if not isinstance(path.outcome, Deliver):
            return path
        back = _Walk(plane, packet.reply(), path.outcome.location, True).run()
    returned = {s.firewall.name for s in back.steps if isinstance(s, FirewallHop)}
    missed = [h for h in hops if h.firewall.name not in returned]
    met = sorted(returned - {h.firewall.name for h in hops})
    if not back.reachable:
        drop = attrs.evolve(
            back.drop,
            code="ReturnPathBroken",
            detail=f"the reply from {packet.destination} to {packet.source} does not get "
            f"back, so TCP never completes its handshake: {back.drop.reason}",
            at_step=len(path.steps),
        )
        blockers = (*path.blockers, drop)
        return attrs.evolve(path, outcome=blockers[0], blockers=blockers)
    if not (missed or met):
        return path
    premises = back.source.host is None and back.source.subnet.name == "GatewaySubnet"
    where_back = (
        f"the GatewaySubnet of {back.source.vnet.name} (the reply comes in there)"
        if premises
        else "the destination's subnet"
    )
    if missed:
        hop = missed[0]
        where = path.steps.index(hop) + 1
        detail = (
            f"the reply from {packet.destination} to {packet.source} does not pass firewall "
            f"{hop.firewall.name} ({hop.address}), so the firewall never sees the connection "
            "set up and drops its next packets (N11.6); route the reply through it too: a UDR "
            f"in {where_back} sending {packet.source}'s prefix to {hop.address}"
        )
        name = hop.firewall.name
    else:
        where = len(path.steps)
        name = met[0]
        detail = (
            f"the reply from {packet.destination} to {packet.source} passes firewall {name}, "
            "which the request did not, so the firewall has no state for it and drops it "
            "(N11.6); route both directions through the same firewall"
        )
    drop = Drop(
        "AsymmetricRoutingThroughFirewall",
        detail,
        (f"firewall/{name}",),
        issue="AsymmetricRouting",
        origin="Outbound",
        context={"Firewall": name},
        at_step=where,
    )
    blockers = tuple(sorted((*path.blockers, drop), key=lambda d: d.at_step))
    return attrs.evolve(path, outcome=blockers[0], blockers=blockers)


# -- the walk --------------------------------------------------------------------------------


def _place(vnet: VNet, table: SubnetRoutes, route: RouteEntry | None, forwarder: Host | None):
    """Where a packet is in a walk, for the loop guard: the VNet, the FIB, the route it takes
    (one route per prefix in a FIB: its identity stands for its prefix) and the appliance
    forwarding it (an NVA in the source's own subnet is no loop)."""
    return (vnet.name, id(table), id(route), forwarder.name if forwarder else "")


# next hop type -> the _Walk method that handles it (a name: built once, not per hop)
_HANDLERS = {
    "None": "next_hop_none",
    "Internet": "internet",
    "VnetLocal": "vnet_local",
    "VNetPeering": "peering",
    "VNetGlobalPeering": "peering",
    "ConnectedGroup": "connected_group",
    "VirtualAppliance": "appliance",
    "VirtualNetworkGateway": "gateway",
    "VirtualNetworkServiceEndpoint": "service_endpoint",
}


class _Walk:
    """The mutable state of one resolution: where the packet is, what it has crossed."""

    __slots__ = (
        "appliance_host",
        "blockers",
        "established",
        "fib",
        "handed_to_appliance",
        "packet",
        "passed",
        "plane",
        "records",
        "region",
        "start",
        "steps",
        "via_gateway",
        "zone",
    )

    def __init__(
        self,
        plane: ControlPlane,
        packet: Packet5Tuple,
        start: Location,
        established: bool,
        records: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.plane = plane
        self.packet = packet
        self.start = start
        self.established = established
        self.records = records
        self.passed: list[tuple[str, str]] = []  # NSG checks passed before any blocker
        self.steps: list[Step] = []
        self.blockers: list[Drop] = []
        self.region = start.vnet.region
        self.zone = start.host.zone if start.host else None
        self.via_gateway = False  # forwarded by an Azure VPN gateway (§2.6: no flag needed)
        self.appliance_host: Host | None = None  # the NVA forwarding the packet right now
        self.handed_to_appliance = False  # the last hop handed the packet to an NVA
        self.fib: SubnetRoutes | None = None  # the FIB whose route decides the current hop

    # -- bookkeeping

    def run(self) -> Path:
        self.steps.append(Egress(self.start))
        outcome = self.unicast_only()
        if outcome is None and self.packet.source_port == HOST_RESERVED_UDP_PORT:
            outcome = self.host_port()  # (the port alone first: a matrix asks a million times)
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
        records = frozenset(self.passed)
        return Path(self.packet, self.start, steps, outcome, tuple(self.blockers), records)

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

    def host_port(self) -> Drop | None:
        """UDP source port 65330 is reserved for the host (§1.4): a VM's packet from it is
        not carried."""
        packet = self.packet
        if packet.protocol == "Udp" and packet.source_port == HOST_RESERVED_UDP_PORT:
            return self.drop(
                "ReservedSourcePort",
                f"UDP source port {HOST_RESERVED_UDP_PORT} is reserved for the Azure host "
                "(§1.4); use another source port",
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
        key = (location.name, direction)
        guarded = self.plane.filtered(location)
        if guarded and key not in self.records:  # no NSG or admin rule there: allowed
            verdict, _ = self.plane.nsg_verdict(location, direction, self.packet)
            if not verdict.allowed:
                self.blockers.append(self._nsg_drop(verdict))
                return
        if not self.blockers:
            self.passed.append(key)

    def _nsg_drop(self, verdict: Verdict) -> Drop:
        if verdict.admin_configuration is not None:  # §5.3: before any NSG
            return self.drop(
                "DeniedBySecurityAdminRule",
                f"security admin rule {verdict.rule_name} of configuration "
                f"{verdict.admin_configuration} denies it (evaluated before NSGs, §5.3)",
                f"security_admin_configuration/{verdict.admin_configuration}",
                issue="NetworkSecurityRule",
                origin=verdict.direction,
                context={
                    "RuleName": verdict.rule_name or "",
                    "SecurityAdminConfiguration": verdict.admin_configuration,
                },
            )
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
        seen: set[tuple[str, int, str, str]] = set()
        for _ in range(MAX_HOPS):
            route = table.lookup(destination)
            key = None
            if seen:  # the packet moved on at least once: has it been here before?
                key = _place(vnet, table, route, self.appliance_host)
                if key in seen:
                    return self.drop(
                        "RoutingLoop",
                        f"the packet returned to {vnet.name}/{table.subnet} by route "
                        f"{route.prefix if route else '-'}",
                        f"vnet/{vnet.name}",
                        origin="Outbound",
                    )
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
            self.handed_to_appliance = False
            self.fib = table
            forwarder = self.appliance_host  # who forwards it here (part of the place)
            result = getattr(self, handler)(vnet, route, gateway)
            if not self.handed_to_appliance:
                self.appliance_host = None
            if isinstance(result, tuple):  # the packet moved on: (vnet, table, gateway)
                seen.add(key or _place(vnet, table, route, forwarder))
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
        label = route.name or _text(route.prefix)
        context = {"Route": label, "RouteTable": route.route_table_label}
        if route.overlap is not None:
            overlap = route.overlap
            config = overlap.group.configuration
            holders = ", ".join((*overlap.owners, *overlap.outside))
            return self.drop(
                "ConnectedGroupAddressOverlap",
                f"{overlap.prefix} is claimed by several VNets of connected group "
                f"{overlap.group.name} ({holders}): Virtual Network Manager removes an "
                "overlapping prefix from the mesh and drops traffic to it (N8.1); give the "
                "members disjoint spaces",
                *(f"vnet/{name}" for name in (*overlap.owners, *overlap.outside)),
                f"connectivity_configuration/{config}",
                origin="Outbound",
                context=context,
            )
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
                context={"Route": route.name or _text(route.prefix)},
            )
        nat = serving(self.plane.fabric, vnet.name, self.fib.subnet) if self.fib else None
        if nat is not None and not carries(self.packet.protocol):
            return self.drop(
                "NatGatewayProtocolNotSupported",
                f"{self.packet.protocol} to the internet from {vnet.name}/{self.fib.subnet} "
                f"leaves through NAT gateway {nat.name}, which carries TCP and UDP only (N18.1)",
                f"nat_gateway/{nat.name}",
                issue="NatGatewayProtocol",
                origin="Outbound",
                context={"NatGateway": nat.name, "Protocol": self.packet.protocol},
            )
        self.steps.append(InternetEgress(route, nat))
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

    def connected_group(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None):
        link = route.group_link
        remote = self.plane.fabric.vnets[link.remote_vnet]
        self.steps.append(GroupCrossing(link.group, vnet, remote))
        return self.arrive(remote, route, f"via connected group {link.group.name}")

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

    def service_endpoint(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None):
        """N16: straight to the Azure service, out of the modelled fabric; no NVA or firewall
        sees it (a gateway's FIB holds no endpoint route: not for traffic from on-premises)."""
        self.steps.append(ServiceEndpointEgress(route))
        return Forward(AZURE_SERVICE, self.packet.destination)

    def appliance(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None):
        ip = route.next_hop_ip_address[0] if route.next_hop_ip_address else ""
        return self.to_appliance(vnet, route, ip)

    def nva(self, vnet: VNet, route: RouteEntry):
        """N15: a route Route Server programmed: the data goes straight to the NVA that
        announced it (one of them by a hash of the 5-tuple when several share it, ECMP), which
        forwards it by its own subnet's routes. At that NVA itself, such a route means the NVA
        announced the prefix: the packet leaves through it, out of the modelled network."""
        here = self.appliance_host
        if here is not None and _same_address(here.ip, route.next_hop_ip_address):
            self.steps.append(ApplianceEgress(here, vnet, route))
            return Forward(BEYOND_APPLIANCE, self.packet.destination)
        ip, _ = self.pick_among(route.next_hop_ip_address)
        return self.to_appliance(vnet, route, ip)

    def to_appliance(self, vnet: VNet, route: RouteEntry, ip: str):
        """To the NVA (or Azure Firewall) at ``ip``, in ``vnet`` or a VNet reached from it."""
        plane = self.plane
        candidates = [vnet] + [
            plane.fabric.vnets[link.remote_vnet]
            for link in plane.peerings.links_of(vnet.name)
            if link.remote_vnet in plane.fabric.vnets and plane.peerings.state(link) == "Connected"
        ]
        # N8.1: an appliance in another member of a connected group is reached through it.
        mesh = plane.peerings.mesh.routes if plane.peerings.deployment.groups else {}
        members = {r.link.remote_vnet: r.link.group for r in mesh.get(vnet.name, ())}
        candidates += [plane.fabric.vnets[name] for name in members]
        for where in candidates:
            found = plane.firewall_at(ip, where.name)
            if found is not None:
                return self.firewall(vnet, where, route, found, members.get(where.name))
            host = plane.host_by_ip(ip, where.name)
            if host is None:
                continue
            link = next(
                (p for p in plane.peerings.links_of(vnet.name) if p.remote_vnet == where.name),
                None,
            )
            if where.name != vnet.name and link is not None:
                problem = self.cross(vnet, where, link)
                if problem is not None:
                    return problem
            elif where.name != vnet.name:
                self.steps.append(GroupCrossing(members[where.name], vnet, where))
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
            self.appliance_host, self.handed_to_appliance = host, True
            return where, plane.routes(where.name, host.subnet), None
        if route.route_server is not None:
            server = route.route_server
            return self.drop(
                "NextHopApplianceNotFound",
                f"route {route.prefix} that Route Server {server.name} learned goes to NVA {ip}, "
                f"but no NIC with that IP is in {vnet.name} or its connected peers",
                f"route_server/{server.name}",
                origin="Outbound",
                context={"Route": str(route.prefix), "RouteTable": route.route_table_label},
            )
        return self.drop(
            "NextHopApplianceNotFound",
            f"no NIC with IP {ip} in {vnet.name} or its connected peers "
            f"(route {route.name or route.prefix})",
            f"route_table/{route.route_table}/route/{route.name}",
            origin="Outbound",
            context={"Route": route.name or ""},
        )

    def firewall(
        self, vnet: VNet, where: VNet, route: RouteEntry, found: FirewallAddress, group=None
    ):
        """An Azure Firewall at the route's next hop, in ``vnet`` or a VNet reached from it by
        peering or through connected ``group``: its rules decide (stateful), then it forwards
        by AzureFirewallSubnet's routes (N11.4-N11.7)."""
        plane = self.plane
        firewall = found.firewall
        if where.name != vnet.name:
            link = next(
                (p for p in plane.peerings.links_of(vnet.name) if p.remote_vnet == where.name),
                None,
            )
            if link is not None:
                problem = self.cross(vnet, where, link)
                if problem is not None:
                    return problem
            else:
                self.steps.append(GroupCrossing(group, vnet, where))
        self.leg(where.region)
        verdict = None if self.established else evaluate_firewall(firewall, self.packet)
        self.steps.append(
            FirewallHop(
                firewall,
                where,
                route,
                found.address,
                found.derived,
                verdict,
                plane.latency.firewall_processing_ms,
            )
        )
        if verdict is not None and not verdict.allowed:
            return self.drop(
                "DeniedByFirewall",
                verdict.describe(firewall.name),
                f"firewall/{firewall.name}",
                issue="FirewallRule",
                origin="Inbound",
                context={"Firewall": firewall.name}
                | ({"RuleName": f"{verdict.collection}/{verdict.rule}"} if verdict.rule else {}),
            )
        if FIREWALL_SUBNET not in where.subnet_names:
            return self.drop(
                "FirewallSubnetMissing",
                f"firewall {firewall.name} needs a subnet named exactly {FIREWALL_SUBNET} in "
                f"VNet {where.name} to forward from",
                f"firewall/{firewall.name}",
            )
        self.via_gateway = False
        return where, plane.routes(where.name, FIREWALL_SUBNET), None

    def gateway(self, vnet: VNet, route: RouteEntry, gateway: VpnGateway | None):
        plane = self.plane
        fabric = plane.fabric
        if route.route_server is not None:  # N15: to the NVA, never through a gateway
            return self.nva(vnet, route)
        if gateway is not None:  # already at a gateway: the route names the tunnel to take
            if route.connection is None:
                return self.no_gateway_route(gateway)
            if route.gateway is not None and route.gateway.name != gateway.name:
                if not branch_to_branch(fabric, gateway, route.gateway):
                    return self.no_transit(gateway, route)
                gateway = route.gateway  # N15.2: Route Server relays between the gateways
                self.steps.append(
                    GatewayHop(
                        gateway,
                        fabric.vnets[gateway.vnet],
                        route,
                        gateway_addresses(fabric, gateway),
                        self.processing(gateway),
                    )
                )
            connection, ecmp = self.pick(route)
            if connection.connection_type == "ExpressRoute":
                return self.circuit(gateway, connection, ecmp)
            return self.tunnel(gateway, connection)
        # A learned route names its gateway; a user route VirtualNetworkGateway means the VPN
        # gateway (§4.3: never an ExpressRoute one).
        serving = route.gateway or gateway_for_vnet(fabric, vnet.name, plane.peerings)
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
        processing = self.processing(serving)
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
        cipher = negotiate(connection.ipsec_policy, gateway.vpn_type)
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

    # -- ExpressRoute

    def processing(self, gateway: VpnGateway) -> float:
        """What one traversal of ``gateway`` costs (an assumption per gateway type)."""
        latency = self.plane.latency
        if gateway.gateway_type == "ExpressRoute":
            return latency.express_route_gateway_processing_ms
        return latency.gateway_processing_ms

    def pick(self, route: RouteEntry) -> tuple[Connection, int]:
        """The connection this flow leaves on: the route's, or among equal ones (ECMP, N1.7)."""
        return self.pick_among(route.connections)

    def pick_among(self, choices: tuple):
        """One of ``choices`` for this flow, and how many there were: among several (ECMP,
        N1.7, N15.1) by a hash of the 5-tuple (our choice: Azure does not document its hash)."""
        if len(choices) == 1:
            return choices[0], 1
        packet = self.packet
        flow = f"{packet.protocol}|{packet.source}|{packet.destination}|"
        flow += f"{packet.source_port}|{packet.destination_port}"
        return choices[zlib.crc32(flow.encode()) % len(choices)], len(choices)

    def no_transit(self, gateway: VpnGateway, route: RouteEntry) -> Drop:
        """N1.7: no transit between a VNet's VPN and ExpressRoute gateways unless Azure Route
        Server in the VNet has branch-to-branch on and the VPN gateway uses ASN 65515."""
        other = route.gateway
        return self.drop(
            "NoTransitBetweenGateways",
            f"gateway {gateway.name} would hand {self.packet.destination} to gateway "
            f"{other.name} ({route.prefix}); traffic transits between a VPN and an ExpressRoute "
            "gateway only through Azure Route Server with branch-to-branch on and the VPN "
            "gateway on ASN 65515 (N1.7, N15.2)",
            f"gateway/{gateway.name}",
            f"gateway/{other.name}",
            origin="Outbound",
        )

    def location_leg(self, region: str, location: str, to_location: bool) -> None:
        """Travel between ``region`` and a peering location (``settle`` gives the latency)."""
        self.steps.append(LocationLeg(region, location, to_location))
        self.region = region if not to_location else self.region
        self.zone = None

    def circuit(self, gateway: VpnGateway, connection: Connection, ecmp: int = 1):
        """Up ExpressRoute ``connection`` of ``gateway`` to the MSEE at the circuit's peering
        location (N1.6), then on-premises, or down another VNet's connection (the hairpin)."""
        plane = self.plane
        fabric = plane.fabric
        status = connection_status(fabric, connection)
        if not status.up:
            return self.drop(
                "ExpressRouteConnectionNotConnected",
                f"{connection.name} ({status.reason}: {status.message})",
                f"connection/{connection.name}",
                issue="ExpressRouteConnectionNotConnected",
            )
        circuit = fabric.express_route_circuits[connection.to_gateway]
        here = fabric.vnets[gateway.vnet]
        self.steps.append(CircuitHop(connection, gateway, circuit, False, ecmp=ecmp))
        self.location_leg(here.region, circuit.peering_location, True)
        destination = self.packet.destination
        target = msee_route(fabric, circuit, destination, connection, plane.peerings)
        if target is None:
            return self.drop(
                "NoRouteAtPeeringLocation",
                f"the MSEE of circuit {circuit.name} at {circuit.peering_location} has no route "
                f"to {destination}",
                f"express_route_circuit/{circuit.name}",
                origin="Outbound",
            )
        if target == MSEE_ON_PREMISES:
            self.steps.append(OnPremises(circuit, connection))
            return Forward(ON_PREMISES, destination)
        return self.down(circuit, target)

    def down(self, circuit: ExpressRouteCircuit, connection: Connection):
        """From the MSEE down ``connection`` to its gateway's VNet: through the gateway, or
        past it with FastPath where N1.4 allows."""
        plane = self.plane
        fabric = plane.fabric
        gateway = fabric.gateways[connection.from_gateway]
        vnet = fabric.vnets[gateway.vnet]
        table = plane.gateway_routes(gateway)
        route = table.lookup(self.packet.destination)
        bypassed, note = fastpath(self.plane, connection, gateway, circuit, route)
        self.steps.append(CircuitHop(connection, gateway, circuit, True, bypassed, note))
        self.location_leg(vnet.region, circuit.peering_location, False)
        self.region = vnet.region
        if not bypassed:
            addresses = gateway_addresses(fabric, gateway)
            hop = GatewayHop(gateway, vnet, route, addresses, self.processing(gateway), circuit)
            self.steps.append(hop)
        self.via_gateway = True  # §2.6: what a gateway forwards needs no forwarded-traffic flag
        return vnet, table, gateway


def _same_address(ip: str, others: tuple[str, ...]) -> bool:
    """True when ``ip`` is one of ``others`` (as addresses, whatever their spelling)."""
    try:
        mine = parse_address(ip)
        return any(parse_address(other) == mine for other in others)
    except AddressError:
        return ip in others


def fastpath(
    plane: ControlPlane,
    connection: Connection,
    gateway: VpnGateway,
    circuit: ExpressRouteCircuit,
    route: RouteEntry | None,
) -> tuple[bool, str]:
    """Whether FastPath takes a packet from the circuit past ``gateway`` (N1.4), and why.

    Traffic from the circuit into the VNet only (the direction FastPath is documented for);
    our decision: any packet arriving from the MSEE, whatever its origin, since the MSEE does
    not tell on-premises packets from hairpinned ones. To the hub VNet on every circuit; to a
    spoke over (regional) VNet peering, or by a user route on GatewaySubnet, only on
    ExpressRoute Direct circuits; never across global peering."""
    if not connection.express_route_gateway_bypass:
        return False, ""
    if not fastpath_supported(gateway):
        return False, f"FastPath is set but gateway {gateway.name} ({gateway.sku}) lacks it"
    if route is None:
        return False, "no route at the gateway"
    kind = "ExpressRoute Direct" if circuit.direct else "a provider circuit"
    if route.source == "User":
        if circuit.direct:
            return True, "FastPath (user route on GatewaySubnet, ExpressRoute Direct)"
        return False, f"FastPath does not take user routes on {kind}: via the gateway"
    if route.next_hop_type == "VnetLocal":
        return True, "FastPath: straight to the VM host"
    if route.next_hop_type == "VNetPeering":
        if circuit.direct:
            return True, "FastPath over VNet peering (ExpressRoute Direct)"
        return False, f"FastPath does not reach peered VNets on {kind}: via the gateway"
    if route.next_hop_type == "VNetGlobalPeering":
        return False, "FastPath does not support global VNet peering: via the gateway"
    return False, f"FastPath does not apply to next hop {route.next_hop_type}"
