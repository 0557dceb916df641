"""Plans: the path of a flow as the nodes its packets pass, compiled from a forwarding Path.

A plan is a tuple of typed steps. The event dataplane turns each step into a stage on the
engine; the batch dataplane turns the same steps into array arithmetic and vectorised queues.
Both therefore follow exactly the path that ``fabric.control.forwarding.resolve`` decided.
"""

from __future__ import annotations

import attrs

from fabric.catalogue.skus import EXPRESS_ROUTE_MAX_PACKET_BYTES
from fabric.control.forwarding import (
    ApplianceEgress,
    ApplianceHop,
    Arrival,
    CircuitHop,
    Crossing,
    Drop,
    Egress,
    FirewallHop,
    GatewayHop,
    GroupCrossing,
    InternetEgress,
    Leg,
    LocationLeg,
    OnPremises,
    Path,
    PlatformArrival,
    ServiceEndpointEgress,
    TunnelHop,
)
from fabric.model import Host, Peering
from simulator.units import milliseconds

_LEAVES = (InternetEgress, PlatformArrival, ServiceEndpointEgress, ApplianceEgress)


class SimulationError(ValueError):
    """A scenario that cannot be simulated (e.g. a region pair without latency data)."""


@attrs.frozen(slots=True)
class NicStep:
    """The egress queue of the VM that owns ``host`` (shared by all its NICs, N3.1)."""

    host: Host


@attrs.frozen(slots=True)
class SwitchStep:
    """The virtual switch of a VNet: decrements the hop limit."""

    vnet: str


@attrs.frozen(slots=True)
class LinkStep:
    """A VNet peering link (or a connected group, N8.1) in one direction: propagation delay
    only, no cap (§2.8). ``link`` None: a connected group, named by ``label``."""

    link: Peering | None
    delay_ns: int
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.link.vnet}/{self.link.name}" if self.link is not None else self.label


@attrs.frozen(slots=True)
class DelayStep:
    """A fixed delay: travel inside a region, or an appliance's processing."""

    delay_ns: int
    label: str


@attrs.frozen(slots=True)
class EncapStep:
    """ESP encapsulation at the start of a tunnel (the wire size grows)."""

    connection: str


@attrs.frozen(slots=True)
class TunnelStep:
    """The per-tunnel cap of a connection (Mbps and packets per second, §3.4)."""

    connection: str


@attrs.frozen(slots=True)
class InstanceStep:
    """The gateway a connection leaves by: its aggregate cap (§3.2), shared by every tunnel
    of the gateway, both instances of an active-active one included (§3.4: "per-gateway cap =
    aggregate benchmark"). It comes before the per-tunnel cap: the gateway takes the packets
    as the senders send them, then each tunnel's cipher meters its own."""

    connection: str


@attrs.frozen(slots=True)
class IngressStep:
    """The gateway a VNet-to-VNet tunnel arrives at: its aggregate cap in that direction (all
    tunnels share the gateway's bandwidth, §3.3; the receiving side decrypts too)."""

    gateway: str


@attrs.frozen(slots=True)
class GatewayStep:
    """A gateway instance traversed without a tunnel (gateway transit between spokes)."""

    gateway: str


@attrs.frozen(slots=True)
class FirewallStep:
    """An Azure Firewall's capacity, shared by every flow through it (N11.1, N11.2)."""

    firewall: str


@attrs.frozen(slots=True)
class FirewallFlowStep:
    """The cap of one connection through an Azure Firewall (its "fat flow" figure, N11.1)."""

    firewall: str
    flow: str


@attrs.frozen(slots=True)
class ExpressRouteGatewayStep:
    """An ExpressRoute gateway handling the packet on its way out to the circuit or in from it
    (``inbound``): a rate server at the SKU's Mbps and packets per second in each direction
    (our reading, as vnetsim meters a VPN gateway's figures on its sending side only: Azure
    does not say whether the figures are per direction or for both together)."""

    gateway: str
    inbound: bool

    @property
    def name(self) -> str:
        return f"gateway/{self.gateway}/{'in' if self.inbound else 'out'}"


@attrs.frozen(slots=True)
class CircuitStep:
    """One direction of an ExpressRoute circuit: a rate server at its bandwidth (N1.5: the
    bandwidth is duplex), metering whole packets (a provisioned line rate), no ESP."""

    circuit: str
    toward_azure: bool

    @property
    def name(self) -> str:
        return f"circuit/{self.circuit}/{'in' if self.toward_azure else 'out'}"


@attrs.frozen(slots=True)
class SizeLimitStep:
    """Packets larger than ``limit_bytes`` stop here, for ``drop``'s reason (N1.1: an
    ExpressRoute gateway passes TCP/UDP packets of at most 1,400 bytes, and no fragments)."""

    limit_bytes: int
    drop: Drop


@attrs.frozen(slots=True)
class DecapStep:
    """ESP decapsulation at the far gateway: the inner packet continues alone. ``connection``
    is the tunnel's (a packet that arrives while that tunnel is down is lost)."""

    connection: str | None = None


@attrs.frozen(slots=True)
class TapStep:
    """A capture tap; ``tunnel`` is (connection, outer source, outer destination) on ESP."""

    tunnel: tuple[str, str, str] | None = None


@attrs.frozen(slots=True)
class SinkStep:
    """Delivery: the destination NIC (or the internet) receives the packet."""


@attrs.frozen(slots=True)
class DropStep:
    """The packet stops here, for the path's reason."""

    drop: Drop


PlanStep = (
    NicStep
    | SwitchStep
    | LinkStep
    | DelayStep
    | EncapStep
    | TunnelStep
    | InstanceStep
    | IngressStep
    | GatewayStep
    | FirewallStep
    | FirewallFlowStep
    | ExpressRouteGatewayStep
    | CircuitStep
    | SizeLimitStep
    | DecapStep
    | TapStep
    | SinkStep
    | DropStep
)
SERVER_STEPS = (
    NicStep,
    TunnelStep,
    InstanceStep,
    IngressStep,
    GatewayStep,
    ExpressRouteGatewayStep,
    CircuitStep,
    FirewallFlowStep,
    FirewallStep,
)


def _ns(value_ms: float | None, what: str, fix: str = "the region pair under region_rtt_ms") -> int:
    if value_ms is None:
        raise SimulationError(f"no latency data for {what}; add {fix} in simulation.parameters")
    return milliseconds(value_ms)


def compile_plan(path: Path, source: Host, capture: str | None = None) -> tuple[PlanStep, ...]:
    """The plan of a flow from ``source`` along ``path``. ``capture`` names the one point
    (host, peering link ``vnet/link``, gateway or connection) whose packets are recorded."""
    drop = path.drop
    steps = path.steps[: drop.at_step] if drop is not None else path.steps
    plan: list[PlanStep] = []

    def tap(point: str, tunnel: tuple[str, str, str] | None = None) -> None:
        if capture == point:
            plan.append(TapStep(tunnel))

    pending: Crossing | GroupCrossing | None = None
    tunnel: TunnelHop | None = None
    for index, step in enumerate(steps):
        if isinstance(step, Egress):
            plan.append(NicStep(source))
            tap(source.name)
            plan.append(SwitchStep(step.location.vnet.name))
        elif isinstance(step, Crossing | GroupCrossing):
            pending = step
        elif isinstance(step, Leg):
            delay = _ns(step.latency_ms, step.label)
            if pending is not None:
                if isinstance(pending, GroupCrossing):
                    label = f"{pending.vnet.name}/{pending.group.name}"
                    tap(label)
                    plan.append(LinkStep(None, delay, label))
                else:
                    tap(f"{pending.vnet.name}/{pending.link.name}")
                    plan.append(LinkStep(pending.link, delay))
                plan.append(SwitchStep(pending.remote.name))
                pending = None
            elif delay:
                plan.append(DelayStep(delay, step.label))
            if tunnel is not None and tunnel.remote_gateway is not None:
                remote = tunnel.remote_gateway.name
                # the receiving gateway queues what arrives at its aggregate, then spends its
                # processing time on it
                plan.append(IngressStep(remote))
                plan.append(DelayStep(milliseconds(tunnel.processing_ms), f"gateway/{remote}"))
                tap(remote, _outer(tunnel))
                plan += [DecapStep(tunnel.connection.name), SwitchStep(tunnel.remote_vnet.name)]
            tunnel = None
        elif isinstance(step, ApplianceHop):
            plan.append(DelayStep(milliseconds(step.processing_ms), f"appliance/{step.host.name}"))
            plan.append(NicStep(step.host))
            tap(step.host.name)
            plan.append(SwitchStep(step.vnet.name))
        elif isinstance(step, FirewallHop):
            name = step.firewall.name
            if step.processing_ms:
                plan.append(DelayStep(milliseconds(step.processing_ms), f"firewall/{name}"))
            plan += [FirewallFlowStep(name, str(path.packet)), FirewallStep(name)]
            tap(name)
            plan.append(SwitchStep(step.vnet.name))
        elif isinstance(step, GatewayHop):
            following = steps[index + 1] if index + 1 < len(steps) else None
            if step.express_route:
                plan.append(_size_limit(step.gateway.name))
                plan.append(ExpressRouteGatewayStep(step.gateway.name, step.circuit is not None))
                tap(step.gateway.name)
            elif not isinstance(following, TunnelHop):
                plan.append(GatewayStep(step.gateway.name))
                tap(step.gateway.name)
            plan.append(DelayStep(milliseconds(step.processing_ms), f"gateway/{step.gateway.name}"))
        elif isinstance(step, TunnelHop):
            name = step.connection.name
            plan += [EncapStep(name), InstanceStep(name), TunnelStep(name)]
            if capture in (name, step.gateway.name):
                plan.append(TapStep(_outer(step)))
            tunnel = step
        elif isinstance(step, CircuitHop):
            plan.append(CircuitStep(step.circuit.name, step.toward_azure))
            tap(step.circuit.name)
        elif isinstance(step, LocationLeg):
            fix = f"'{step.location}/{step.region}' under peering_location_rtt_ms"
            delay = _ns(step.latency_ms, step.label, fix)
            if delay:
                plan.append(DelayStep(delay, step.label))
        elif isinstance(step, OnPremises) and drop is None:
            plan.append(SinkStep())
        elif isinstance(step, Arrival) and drop is None:
            if step.location.host is not None:
                tap(step.location.host.name)
            plan.append(SinkStep())
        elif isinstance(step, _LEAVES) and drop is None:  # out of the modelled fabric
            plan.append(SinkStep())
    if drop is not None:
        plan.append(DropStep(drop))
    return tuple(plan)


def _size_limit(gateway: str) -> SizeLimitStep:
    limit = EXPRESS_ROUTE_MAX_PACKET_BYTES
    return SizeLimitStep(
        limit,
        Drop(
            "ExpressRoutePacketTooLarge",
            f"ExpressRoute gateway {gateway} passes TCP/UDP packets of at most {limit} bytes and "
            "no fragments (N1.1, N9 item 3): send smaller packets, or use FastPath",
            (f"gateway/{gateway}",),
        ),
    )


def _outer(tunnel: TunnelHop) -> tuple[str, str, str]:
    """(connection, outer source, outer destination) as a capture shows the ESP packet."""

    def first(addresses: tuple[str, ...]) -> str:
        return addresses[0] if addresses else "0.0.0.0"

    return (tunnel.connection.name, first(tunnel.gateway_addresses), first(tunnel.remote_addresses))


def capture_points(fabric) -> list[str]:
    """Names a capture may name: hosts, peering links (vnet/link), gateways, connections,
    firewalls, ExpressRoute circuits."""
    hosts = [h.name for v in fabric.vnets.values() for h in v.hosts]
    links = [f"{vnet}/{name}" for vnet, name in fabric.peerings]
    circuits = list(fabric.express_route_circuits)
    named = [*fabric.gateways, *fabric.connections, *fabric.firewalls, *circuits]
    return sorted([*hosts, *links, *named])
