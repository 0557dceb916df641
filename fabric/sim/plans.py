"""Plans: the path of a flow as the nodes its packets pass, compiled from a forwarding Path.

A plan is a tuple of typed steps. The event dataplane turns each step into a stage on the
engine; the batch dataplane turns the same steps into array arithmetic and vectorised queues.
Both therefore follow exactly the path that ``fabric.control.forwarding.resolve`` decided.
"""

from __future__ import annotations

import attrs

from fabric.control.forwarding import (
    ApplianceHop,
    Arrival,
    Crossing,
    Drop,
    Egress,
    GatewayHop,
    InternetEgress,
    Leg,
    OnPremises,
    Path,
    PlatformArrival,
    TunnelHop,
)
from fabric.model import Host, Peering
from simulator.units import milliseconds


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
    """A VNet peering link in one direction: propagation delay only, no cap (§2.8)."""

    link: Peering
    delay_ns: int

    @property
    def name(self) -> str:
        return f"{self.link.vnet}/{self.link.name}"


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
    """The gateway instance a connection is placed on (the aggregate cap, §3.2)."""

    connection: str


@attrs.frozen(slots=True)
class GatewayStep:
    """A gateway instance traversed without a tunnel (gateway transit between spokes)."""

    gateway: str


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
    | GatewayStep
    | DecapStep
    | TapStep
    | SinkStep
    | DropStep
)
SERVER_STEPS = (NicStep, TunnelStep, InstanceStep, GatewayStep)


def _ns(value_ms: float | None, what: str) -> int:
    if value_ms is None:
        raise SimulationError(
            f"no latency data for {what}; add the region pair under "
            "simulation.parameters.region_rtt_ms"
        )
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

    pending: Crossing | None = None
    tunnel: TunnelHop | None = None
    for index, step in enumerate(steps):
        if isinstance(step, Egress):
            plan.append(NicStep(source))
            tap(source.name)
            plan.append(SwitchStep(step.location.vnet.name))
        elif isinstance(step, Crossing):
            pending = step
        elif isinstance(step, Leg):
            delay = _ns(step.latency_ms, step.label)
            if pending is not None:
                tap(f"{pending.vnet.name}/{pending.link.name}")
                plan.append(LinkStep(pending.link, delay))
                plan.append(SwitchStep(pending.remote.name))
                pending = None
            elif delay:
                plan.append(DelayStep(delay, step.label))
            if tunnel is not None and tunnel.remote_gateway is not None:
                remote = tunnel.remote_gateway.name
                plan.append(DelayStep(milliseconds(tunnel.processing_ms), f"gateway/{remote}"))
                tap(remote, _outer(tunnel))
                plan += [DecapStep(tunnel.connection.name), SwitchStep(tunnel.remote_vnet.name)]
            tunnel = None
        elif isinstance(step, ApplianceHop):
            plan.append(DelayStep(milliseconds(step.processing_ms), f"appliance/{step.host.name}"))
            plan.append(NicStep(step.host))
            tap(step.host.name)
            plan.append(SwitchStep(step.vnet.name))
        elif isinstance(step, GatewayHop):
            following = steps[index + 1] if index + 1 < len(steps) else None
            if not isinstance(following, TunnelHop):
                plan.append(GatewayStep(step.gateway.name))
                tap(step.gateway.name)
            plan.append(DelayStep(milliseconds(step.processing_ms), f"gateway/{step.gateway.name}"))
        elif isinstance(step, TunnelHop):
            name = step.connection.name
            plan += [EncapStep(name), TunnelStep(name), InstanceStep(name)]
            if capture in (name, step.gateway.name):
                plan.append(TapStep(_outer(step)))
            tunnel = step
        elif isinstance(step, OnPremises) and drop is None:
            plan.append(SinkStep())
        elif isinstance(step, Arrival) and drop is None:
            if step.location.host is not None:
                tap(step.location.host.name)
            plan.append(SinkStep())
        elif isinstance(step, InternetEgress | PlatformArrival) and drop is None:
            plan.append(SinkStep())
    if drop is not None:
        plan.append(DropStep(drop))
    return tuple(plan)


def _outer(tunnel: TunnelHop) -> tuple[str, str, str]:
    """(connection, outer source, outer destination) as a capture shows the ESP packet."""

    def first(addresses: tuple[str, ...]) -> str:
        return addresses[0] if addresses else "0.0.0.0"

    return (tunnel.connection.name, first(tunnel.gateway_addresses), first(tunnel.remote_addresses))


def capture_points(fabric) -> list[str]:
    """Names a capture may name: hosts, peering links (vnet/link), gateways, connections."""
    hosts = [h.name for v in fabric.vnets.values() for h in v.hosts]
    links = [f"{vnet}/{name}" for vnet, name in fabric.peerings]
    return sorted([*hosts, *links, *fabric.gateways, *fabric.connections])
