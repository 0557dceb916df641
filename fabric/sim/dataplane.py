"""Packets through the fabric: VM egress queues, virtual switches, peering links, IPsec
gateway tunnels, ExpressRoute gateways and circuits as nodes on the event engine.

A packet carries its path: a tuple of stages, each a plain callable ``stage(packet)``; queueing
elements hand the packet to ``advance`` when it leaves them. A flow's path is decided once, by
``fabric.control.forwarding.resolve`` (the same answer ``vnetsim connectivity`` renders), and
compiled into a plan (``fabric.sim.plans``) like a vswitch flow-table entry; every packet of
the flow follows it.

Time is integer nanoseconds, and ties are deterministic: packets that reach a server in the same
nanosecond follow ``simulator.queues.RateServer``'s tie rule with ``tie_order`` below (flow in
the order of the traffic list, then packet in the order the flow sent it), whichever upstream
event happened to run first; ``fabric.sim.batchplane`` applies the same rule, so both engines
give the same results packet for packet. Every server holds a packet for at least
``MIN_SERVICE_NS``, as that rule needs.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable

from fabric.catalogue.firewalls import FIREWALL_SPECS
from fabric.catalogue.firewalls import capacity_mbps as firewall_capacity
from fabric.catalogue.latency import LatencyModel
from fabric.catalogue.skus import express_route_sku, lookup
from fabric.catalogue.vmsizes import egress_mbps
from fabric.control.forwarding import Drop, OnPremises, Path, resolve
from fabric.control.ipsec import Negotiated, negotiate
from fabric.control.plane import ControlPlane
from fabric.model import ExpressRouteCircuit, Host, VpnGateway
from fabric.model.traffic import Address
from fabric.sim.capture import Capture
from fabric.sim.plans import (
    SERVER_STEPS,
    CircuitStep,
    DecapStep,
    DelayStep,
    DropStep,
    EncapStep,
    ExpressRouteGatewayStep,
    FirewallFlowStep,
    FirewallStep,
    GatewayStep,
    IngressStep,
    InstanceStep,
    LinkStep,
    NicStep,
    PlanStep,
    SinkStep,
    SizeLimitStep,
    SwitchStep,
    TapStep,
    TunnelStep,
    capture_points,
    compile_plan,
)
from simulator import Delay, RateServer, Simulation
from simulator.units import NS_PER_S

Stage = Callable[["Packet"], None]
Record = Callable[[int, "Packet"], None]  # a sink that only records: (time, packet)

# Steps a fused tail can take (see Dataplane._fused_tail): they count, delay, or end the path.
_TAIL_STEPS = (SwitchStep, LinkStep, DelayStep, DecapStep, SinkStep)

__all__ = [
    "CONGESTION_CODES",
    "MIN_SERVICE_NS",
    "Dataplane",
    "DelayCount",
    "Gate",
    "Packet",
    "advance",
    "tie_order",
]

# The codes of full queues (congestion); any other drop is a failure, or a configuration that
# stops the flow: an outage on an event run's timeline.
CONGESTION_CODES = frozenset({"NicQueueFull", "GatewayQueueFull", "TunnelQueueFull"})

# The clock's tick: no packet crosses a server in zero time (a serialisation that rounds to 0 ns,
# e.g. a few bytes at 100 Gbit/s, takes 1 ns), so every arrival of an instant is still there
# when the tie rule orders it.
MIN_SERVICE_NS = 1


class Packet:
    """One synthetic IP packet. ``size`` is the inner IP packet, ``payload`` what it carries
    for the application (size minus the IP and transport headers), ``wire`` what a link
    carries (ESP-encapsulated on a tunnel)."""

    __slots__ = (
        "esp_sequence",
        "flow",
        "hop",
        "path",
        "payload",
        "sent_ns",
        "seq",
        "size",
        "ttl",
        "wire",
    )

    def __init__(
        self, flow: object, seq: int, size: int, sent_ns: int, path: tuple, ttl: int, payload: int
    ):
        self.flow = flow
        self.seq = seq
        self.size = size
        self.payload = payload
        self.wire = size
        self.sent_ns = sent_ns
        self.path = path
        self.hop = 0
        self.ttl = ttl
        self.esp_sequence = 0


def tie_order(packet: Packet) -> tuple[int, int]:
    """The order of packets that reach one server in the same nanosecond: by flow (its rank,
    the order of the traffic list), then by packet (its number in the flow)."""
    return packet.flow.rank, packet.seq


def advance(packet: Packet) -> None:
    """Hand the packet to the next stage of its path."""
    packet.hop += 1
    packet.path[packet.hop](packet)


class VirtualSwitch:
    """One per VNet: forwards with the flow's cached decision, decrements the hop limit."""

    __slots__ = ("dataplane", "drop_reason", "name", "packets")

    def __init__(self, dataplane: Dataplane, name: str) -> None:
        self.dataplane = dataplane
        self.name = name
        self.packets = 0
        self.drop_reason = Drop("HopLimitExceeded", f"TTL reached 0 at the switch of {name}")

    def forward(self, packet: Packet) -> None:
        self.packets += 1
        packet.ttl -= 1
        if packet.ttl <= 0:
            packet.flow.dropped(packet, self.drop_reason)
            return
        # advance() inlined: every packet visits two or more switches.
        packet.hop += 1
        packet.path[packet.hop](packet)


class PeeringLink:
    """A VNet peering link in one direction: propagation delay only, no cap (§2.8). Its delay
    is the path's: a leg inside a region adds the in-region figure, while on a path between
    regions the region pair's end-to-end figure is elsewhere and the leg adds nothing
    (``fabric.control.forwarding.settle``), so each delay has its own line on the link."""

    __slots__ = ("bytes", "delays", "name", "packets", "sim")

    def __init__(self, sim: Simulation, name: str) -> None:
        self.sim = sim
        self.name = name
        self.delays: dict[int, Delay] = {}
        self.packets = 0
        self.bytes = 0

    def carrier(self, delay_ns: int) -> Stage:
        """The stage that carries a packet over the link with ``delay_ns``."""
        delay = self.delays.get(delay_ns)
        if delay is None:
            delay = self.delays[delay_ns] = Delay(self.sim, delay_ns, advance, name=self.name)

        def carry(packet: Packet) -> None:
            self.packets += 1
            self.bytes += packet.wire
            delay.put(packet)

        return carry

    def flush(self) -> list[Packet]:
        """Take every packet on the link off it (the link is gone)."""
        return [packet for delay in self.delays.values() for packet in delay.flush()]


class GatewayTunnel:
    """One connection leaving a gateway: ESP encapsulation, the per-tunnel cap for the
    negotiated cipher (Mbps and packets per second, §3.4), then the gateway instance that all
    tunnels of the gateway share (its aggregate cap, §3.2), with a finite buffer.

    Calibration (``fabric.catalogue.skus``): Microsoft's figures are measured throughput, so the
    Mbps caps meter payload bytes; ESP and headers still show in wire bytes (links, capture,
    fragmentation above the MTU) and every packet counts against the pps cap."""

    __slots__ = ("cipher", "instance", "mtu", "name", "sequence", "server")

    def __init__(
        self, name: str, cipher: Negotiated, server: RateServer, instance: RateServer, mtu: int
    ) -> None:
        self.name = name
        self.cipher = cipher
        self.server = server
        self.instance = instance
        self.mtu = mtu
        self.sequence = 0

    def encapsulate(self, packet: Packet) -> None:
        packet.wire = self.cipher.esp.wire_bytes(packet.size, self.mtu)
        self.sequence += 1
        packet.esp_sequence = self.sequence
        advance(packet)


class DelayCount:
    """The counter of a fixed delay whose packets are not held as events (a fused tail, the
    batch path): its ``arrivals`` count as packet-hops, as a Delay element's do."""

    __slots__ = ("arrivals", "name")

    def __init__(self, name: str, arrivals: int = 0) -> None:
        self.name = name
        self.arrivals = arrivals


class FusedTail:
    """What the steps of a fused tail count (``Dataplane._fused_tail``), tallied per packet
    and added to the elements at the end of the run: packets, wire bytes as they leave the
    last server, inner bytes (what links after a decapsulation carry), the latest delivery."""

    __slots__ = (
        "decapsulates",
        "delays",
        "inner",
        "last_ns",
        "links",
        "packets",
        "switches",
        "wire",
    )

    def __init__(self) -> None:
        self.switches: list[VirtualSwitch] = []
        self.links: list[tuple[PeeringLink, bool]] = []  # with: after a decapsulation?
        self.delays: list[DelayCount] = []
        self.decapsulates = False
        self.packets = 0
        self.wire = 0
        self.inner = 0
        self.last_ns = 0

    def count(self, packet: Packet) -> None:
        """Tally one packet and apply the tail to it (hop limit, wire size)."""
        self.packets += 1
        self.wire += packet.wire
        self.inner += packet.size
        packet.ttl -= len(self.switches)
        if self.decapsulates:
            packet.wire = packet.size

    def settle(self) -> None:
        """Add the tally to the elements' counters, once: it is then reset."""
        for node in self.switches:
            node.packets += self.packets
        for link, inner in self.links:
            link.packets += self.packets
            link.bytes += self.inner if inner else self.wire
        for counter in self.delays:
            counter.arrivals += self.packets
        self.packets = self.wire = self.inner = 0


class Wire:
    """One way of a TCP connection alone on its NICs (``Dataplane.in_order_sources``): the NIC,
    whose departures are known on arrival, and the fused tail after it, for the connection to
    send on without packets, stages or an event per item. ``depart(seq, nbytes)`` is the
    NIC's ``depart_in_order`` (the item is its sequence number); an item reaches the far end
    ``delay_ns`` after it leaves, so items arrive in the order they were sent: ``arrivals``
    holds those on their way as ``(arrival time, seq, sent time)``, oldest first, for the
    connection to run (``TcpFlow._drain``).
    ``tally`` is the tail's, counted by the sender for what it carries (wire and inner bytes
    equal: nothing before the NIC encapsulates)."""

    __slots__ = ("arrivals", "delay_ns", "depart", "tally")

    def __init__(self, depart: Callable[[object, int], int], tally: FusedTail, delay_ns: int):
        self.depart = depart
        self.tally = tally
        self.delay_ns = delay_ns
        self.arrivals: deque[tuple[int, int, int]] = deque()


def _size_limit(limit: int, drop: Drop) -> Stage:
    def check(packet: Packet) -> None:
        if packet.size > limit:
            packet.flow.dropped(packet, drop)
        else:
            advance(packet)

    return check


class Gate:
    """Whether an element that can fail carries packets now (runs with events only): ``down``
    is None while it does, else the Drop its packets get. ``cause`` is the event that closed
    it; ``tally`` counts the flows' packets it dropped by cause. ``server`` is the gateway
    instance a transit gate currently sends to."""

    __slots__ = ("cause", "down", "name", "server", "tally")

    def __init__(self, name: str, tally: Counter) -> None:
        self.name = name
        self.down: Drop | None = None
        self.cause: int | None = None
        self.tally = tally
        self.server: RateServer | None = None

    def drop(self, packet: Packet) -> None:
        """Drop ``packet`` for the gate's reason."""
        if getattr(packet.flow, "stats", None) is not None:  # a flow's packet, not an ACK
            self.tally[self.cause] += 1
        packet.flow.dropped(packet, self.down)


def home_instance(fabric, connection_name: str, count: int) -> int:
    """The instance a connection's tunnel is placed on: connections of one gateway are spread
    over its ``count`` instances in name order (our assumption; Azure does not document the
    placement of tunnels on an active-active gateway's instances)."""
    gateway = fabric.connections[connection_name].from_gateway
    index = sorted(c for c in fabric.connections if fabric.connections[c].from_gateway == gateway)
    return index.index(connection_name) % count


def decapsulate(packet: Packet) -> None:
    """At the remote gateway the inner packet continues alone."""
    packet.wire = packet.size
    advance(packet)


class Dataplane:
    """Builds and holds the nodes; resolves each flow's path once, from the control plane."""

    def __init__(
        self, sim: Simulation, plane: ControlPlane, params: LatencyModel, *, dynamic: bool = False
    ) -> None:
        self.sim = sim
        self.plane = plane
        self.params = params
        # dynamic: the run has events, so elements that can fail check their gate per packet
        # (a run without events pays nothing for it).
        self.dynamic = dynamic
        self.gates: dict[str, Gate] = {}
        self.lost: Counter[int | None] = Counter()  # packets dropped by events, by event
        self.cause: int | None = None  # the event whose change is being compiled, if any
        self.nics: dict[str, RateServer] = {}  # by VM: its NICs share one egress cap
        self.switches: dict[str, VirtualSwitch] = {}
        self.peering_links: dict[str, PeeringLink] = {}
        self.tunnels: dict[str, GatewayTunnel] = {}
        self.instances: dict[str, list[RateServer]] = {}
        self.ingress: dict[str, RateServer] = {}  # gateway -> its inbound aggregate
        self.firewalls: dict[str, RateServer] = {}
        self.firewall_flows: dict[tuple[str, str], RateServer] = {}
        self.circuits: dict[str, RateServer] = {}  # by CircuitStep name (one per direction)
        self.express_route: dict[str, RateServer] = {}  # by ExpressRouteGatewayStep name
        self.delays: list[Delay] = []
        self.capture: Capture | None = None
        self.queue_drops: dict[str, Drop] = {}  # server name -> the Drop it reports
        self.fused: list[FusedTail] = []  # the tails run as one stage (see _fused_tail)
        # What in_order_sources needs: each NIC stage built (one per path through it) and its
        # server, and the fused tails by stage: those that only record, with a departure time,
        # and the others as (their tally, their summed delay, the sink).
        self._nic_stages: dict[Stage, RateServer] = {}
        self._record_tails: dict[Stage, Callable[[int, Packet], None]] = {}
        self._carried_tails: dict[Stage, tuple[FusedTail, int, Stage]] = {}

    # -- drops ------------------------------------------------------------------------------

    def _queue_drop(self, server_name: str, code: str, what: str) -> Callable:
        """The drop handler of one server; its Drop is also what the batch path reports."""
        drop = Drop(code, f"{what}: its buffer was full", (server_name,))
        self.queue_drops[server_name] = drop

        def dropped(packet: Packet, why: str) -> None:
            packet.flow.dropped(packet, drop)

        return dropped

    # -- nodes ------------------------------------------------------------------------------

    def nic(self, host: Host) -> RateServer:
        """The egress queue of ``host``'s VM, at its size's cap (or the host's override)."""
        key = host.vm_name
        server = self.nics.get(key)
        if server is None:
            name = f"nic/{key}"
            server = RateServer(
                self.sim,
                round(egress_mbps(host) * 1e6),
                advance,
                self._queue_drop(name, "NicQueueFull", f"the egress queue of VM {key}"),
                buffer_bytes=self.params.nic_buffer_bytes,
                name=name,
                min_service_ns=MIN_SERVICE_NS,
                tie_order=tie_order,
            )
            self.nics[key] = server
        return server

    def switch(self, vnet: str) -> VirtualSwitch:
        node = self.switches.get(vnet)
        if node is None:
            node = self.switches[vnet] = VirtualSwitch(self, vnet)
        return node

    def peering_link(self, step: LinkStep) -> PeeringLink:
        link = self.peering_links.get(step.name)
        if link is None:
            link = self.peering_links[step.name] = PeeringLink(self.sim, step.name)
        return link

    def gateway_instances(self, gateway: VpnGateway) -> list[RateServer]:
        servers = self.instances.get(gateway.name)
        if servers is None:
            # §3.4: "per-gateway cap = aggregate benchmark": the two instances of an
            # active-active gateway share one aggregate (one server, named for both).
            name = f"gateway/{gateway.name}/" + ("0+1" if gateway.active_active else "0")
            server = self._gateway_server(gateway, name, f"gateway {gateway.name}")
            servers = [server, server] if gateway.active_active else [server]
            self.instances[gateway.name] = servers
        return servers

    def gateway_ingress(self, name: str) -> RateServer:
        """The gateway's aggregate cap for what its VNet-to-VNet tunnels bring in (§3.3: the
        tunnels share the gateway's bandwidth; the receiving gateway decrypts). Our reading:
        each direction is metered at the aggregate (the figures do not say whether both
        directions add up to it)."""
        server = self.ingress.get(name)
        if server is None:
            gateway = self.plane.fabric.gateways[name]
            server = self.ingress[name] = self._gateway_server(
                gateway, f"gateway/{name}/in", f"gateway {name} (inbound)"
            )
        return server

    def _gateway_server(self, gateway: VpnGateway, name: str, what: str) -> RateServer:
        """A queueing server at the gateway's aggregate cap (a GatewayQueueFull drop at
        ``what`` when its buffer is full)."""
        spec = lookup(gateway.sku, gateway.generation)
        return self._buffered_server(name, spec.aggregate_mbps, "GatewayQueueFull", what)

    def express_route_gateway(self, step: ExpressRouteGatewayStep) -> RateServer:
        """One direction of an ExpressRoute gateway: a rate server at its SKU's Mbps and
        packets per second (N1.1: figures for the gateway, whatever its instance count); like
        the VPN figures its Mbps meter payload, and every packet counts against the pps cap."""
        server = self.express_route.get(step.name)
        if server is None:
            gateway = self.plane.fabric.gateways[step.gateway]
            spec = express_route_sku(gateway.sku, gateway.scale_units)
            rate = round(spec.mbps * 1e6)
            buffer_ms = self.params.gateway_buffer_ms
            direction = "from the circuit" if step.inbound else "to the circuit"
            server = self.express_route[step.name] = RateServer(
                self.sim,
                rate,
                advance,
                self._queue_drop(
                    step.name, "GatewayQueueFull", f"gateway {gateway.name} ({direction})"
                ),
                buffer_bytes=round(rate * buffer_ms / 8_000),
                buffer_packets=round(spec.pps * buffer_ms / 1_000),
                name=step.name,
                min_service_ns=max(-(-NS_PER_S // spec.pps), MIN_SERVICE_NS),
                tie_order=tie_order,
            )
        return server

    def circuit(self, step: CircuitStep) -> RateServer:
        """One direction of an ExpressRoute circuit at its bandwidth (N1.5: duplex), metering
        whole packets; burst above the bandwidth (N1.5: not guaranteed) is not modelled."""
        server = self.circuits.get(step.name)
        if server is None:
            circuit = self.plane.fabric.express_route_circuits[step.circuit]
            rate = round(circuit.bandwidth_mbps * 1e6)
            direction = "into Azure" if step.toward_azure else "out of Azure"
            server = self.circuits[step.name] = RateServer(
                self.sim,
                rate,
                advance,
                self._queue_drop(
                    step.name, "CircuitQueueFull", f"circuit {circuit.name} ({direction})"
                ),
                buffer_bytes=round(rate * self.params.gateway_buffer_ms / 8_000),
                name=step.name,
                min_service_ns=MIN_SERVICE_NS,
                tie_order=tie_order,
            )
        return server

    def tunnel(self, connection_name: str) -> GatewayTunnel:
        tunnel = self.tunnels.get(connection_name)
        if tunnel is None:
            fabric = self.plane.fabric
            connection = fabric.connections[connection_name]
            gateway = fabric.gateways[connection.from_gateway]
            spec = lookup(gateway.sku, gateway.generation)
            cipher = negotiate(connection.ipsec_policy, gateway.vpn_type)
            cap = spec.tunnel_cap(cipher.cipher_column)
            # Basic has no measured per-tunnel figure: its aggregate (100 Mbps) is the cap.
            rate = round((cap.mbps if cap else spec.aggregate_mbps) * 1e6)
            floor = -(-NS_PER_S // cap.pps) if cap else 0
            name = f"tunnel/{connection_name}"
            buffer_ms = self.params.gateway_buffer_ms
            server = RateServer(
                self.sim,
                rate,
                advance,
                self._queue_drop(name, "TunnelQueueFull", f"tunnel {connection_name}"),
                buffer_bytes=round(rate * buffer_ms / 8_000),
                buffer_packets=round(cap.pps * buffer_ms / 1_000) if cap else None,
                name=name,
                min_service_ns=max(floor, MIN_SERVICE_NS),
                tie_order=tie_order,
            )
            instances = self.gateway_instances(gateway)
            instance = instances[home_instance(fabric, connection_name, len(instances))]
            tunnel = GatewayTunnel(
                connection_name, cipher, server, instance, self.params.tunnel_mtu_bytes
            )
            self.tunnels[connection_name] = tunnel
        return tunnel

    def _buffered_server(self, name: str, rate_mbps: float, full: str, what: str) -> RateServer:
        """A queueing server at ``rate_mbps`` with ``gateway_buffer_ms`` of buffer (the
        gateways' and firewalls' assumption); a packet that does not fit is a ``full`` drop at
        ``what``."""
        rate = round(rate_mbps * 1e6)
        return RateServer(
            self.sim,
            rate,
            advance,
            self._queue_drop(name, full, what),
            buffer_bytes=round(rate * self.params.gateway_buffer_ms / 8_000),
            name=name,
            min_service_ns=MIN_SERVICE_NS,
            tie_order=tie_order,
        )

    def firewall(self, name: str) -> RateServer:
        """An Azure Firewall's capacity: out of the box unless the scenario sets
        ``firewall_capacity_mbps`` (N11.2), with the gateways' buffer assumption."""
        server = self.firewalls.get(name)
        if server is None:
            tier = self.plane.fabric.firewalls[name].sku_tier
            rate = firewall_capacity(tier, self.params.firewall_capacity_mbps)
            server = self._buffered_server(
                f"firewall/{name}", rate, "FirewallQueueFull", f"firewall {name}"
            )
            self.firewalls[name] = server
        return server

    def firewall_flow(self, name: str, flow: str) -> RateServer:
        """One connection's cap through an Azure Firewall (N11.1's single-flow figure)."""
        server = self.firewall_flows.get((name, flow))
        if server is None:
            spec = FIREWALL_SPECS[self.plane.fabric.firewalls[name].sku_tier]
            server = self._buffered_server(  # a name per connection: servers are keyed by it
                f"firewall/{name}/flow/{flow}",
                spec.single_flow_mbps,
                "FirewallQueueFull",
                f"firewall {name}'s single-connection cap ({spec.single_flow_mbps:g} Mbps)",
            )
            self.firewall_flows[(name, flow)] = server
        return server

    def gate(self, name: str) -> Gate:
        """The gate of a failable element: ``vm/<vm>``, ``tunnel/<connection>``,
        ``transit/<gateway>``, ``peering/<vnet>/<link>`` or ``circuit/<circuit>`` (its link
        to on-premises)."""
        gate = self.gates.get(name)
        if gate is None:
            gate = self.gates[name] = Gate(name, self.lost)
        return gate

    def server_of(self, step: PlanStep) -> RateServer:
        """The queueing server a plan step names (NIC, tunnel, gateway instance, circuit)."""
        if isinstance(step, NicStep):
            return self.nic(step.host)
        if isinstance(step, TunnelStep):
            return self.tunnel(step.connection).server
        if isinstance(step, InstanceStep):
            return self.tunnel(step.connection).instance
        if isinstance(step, IngressStep):
            return self.gateway_ingress(step.gateway)
        if isinstance(step, GatewayStep):  # transit without a tunnel: the first instance
            return self.gateway_instances(self.plane.fabric.gateways[step.gateway])[0]
        if isinstance(step, FirewallStep):
            return self.firewall(step.firewall)
        if isinstance(step, FirewallFlowStep):
            return self.firewall_flow(step.firewall, step.flow)
        if isinstance(step, CircuitStep):
            return self.circuit(step)
        if isinstance(step, ExpressRouteGatewayStep):
            return self.express_route_gateway(step)
        raise TypeError(f"{step!r} is not a queueing step")

    # -- capture ----------------------------------------------------------------------------

    def capture_points(self) -> list[str]:
        """Names a capture may name: hosts, peering links (vnet/link), gateways, connections."""
        return capture_points(self.plane.fabric)

    def _tap(self, tunnel: tuple[str, str, str] | None) -> Stage:
        capture, sim = self.capture, self.sim

        def tap(packet: Packet) -> None:
            capture.record(sim.now, packet, tunnel)
            packet.hop += 1
            packet.path[packet.hop](packet)

        return tap

    # -- paths ------------------------------------------------------------------------------

    def resolve(
        self,
        source: Host,
        destination: Host | Address,
        protocol: str,
        port: int | None,
        source_port: int | None,
        sink: Stage,
        *,
        established: bool = False,
        records: frozenset[tuple[str, str]] = frozenset(),
        record: Record | None = None,
    ) -> tuple[tuple[Stage, ...], Path]:
        """The stages a flow's packets pass, compiled from the control plane's path
        (``records``: where the flow holds NSG flow records, see ``resolve``). ``record``:
        what ``sink`` does, as a call with the time, when the sink only records the delivery
        (it need not then run at that time, see ``_fused_tail``)."""
        path = resolve(
            self.plane,
            source.ip,
            destination.ip,
            protocol,
            port,
            source_port=source_port,
            established=established,
            records=records,
        )
        if self.dynamic:
            sink = self._gated_sink(path, destination, sink)
        plan = self.plan(path, source)
        cut = self._fusable_from(plan)
        if cut is None:
            return tuple(self.stage(step, sink) for step in plan), path
        head = tuple(self.stage(step, sink) for step in plan[:cut])
        return (*head, self._fused_tail(plan[cut:], sink, record)), path

    def _fusable_from(self, plan: tuple[PlanStep, ...]) -> int | None:
        """Where a plan's tail starts if it can run as one stage (see ``_fused_tail``): the
        steps after its last queueing server, when they only count, change the wire size and
        delay, and end at the sink. None when it cannot: a run with events (elements fail
        and are flushed while packets are on them), a capture (taps read the clock), a hop
        limit that the plan's switches could reach, or another step in the tail."""
        if self.dynamic or self.capture is not None:
            return None
        if sum(isinstance(step, SwitchStep) for step in plan) >= self.params.hop_limit:
            return None
        servers = [i for i, step in enumerate(plan) if isinstance(step, SERVER_STEPS)]
        if not servers:
            return None
        last = servers[-1]
        if not isinstance(plan[-1], SinkStep):
            return None
        if not all(isinstance(step, _TAIL_STEPS) for step in plan[last + 1 :]):
            return None
        return last + 1

    def _fused_tail(self, tail: tuple[PlanStep, ...], sink: Stage, record: Record | None) -> Stage:
        """The steps after a plan's last server as one stage: the packet reaches the sink
        after the sum of the delays, with one event on the way (none for a sink that only
        records, ``record(time, packet)``) instead of one per delay and a call per step. The
        counters those steps keep (switch visits, link packets and bytes, delay arrivals) are
        tallied per tail and added to the elements by ``settle`` when the run is over: nothing
        reads them, or the packet, before then, so the results are the same packet for packet
        (the batch path, ``fabric.sim.batchplane``, counts the same way)."""
        tally = FusedTail()
        total_ns = 0
        for step in tail:
            if isinstance(step, SwitchStep):
                tally.switches.append(self.switch(step.vnet))
            elif isinstance(step, LinkStep):
                tally.links.append((self.peering_link(step), tally.decapsulates))
                total_ns += step.delay_ns
            elif isinstance(step, DelayStep):
                counter = DelayCount(step.label)
                self.delays.append(counter)
                tally.delays.append(counter)
                total_ns += step.delay_ns
            elif isinstance(step, DecapStep):
                tally.decapsulates = True
        self.fused.append(tally)
        hops, decapsulates = len(tally.switches), tally.decapsulates

        if record is not None:
            sim = self.sim

            def recorded_at(departure: int, packet: Packet) -> None:
                """The packet left the last server at ``departure`` (now, or a time known
                in advance, see ``in_order_sources``)."""
                # tally.count() inlined: this runs once per packet.
                tally.packets += 1
                tally.wire += packet.wire
                tally.inner += packet.size
                packet.ttl -= hops
                if decapsulates:
                    packet.wire = packet.size
                at = departure + total_ns
                if at > tally.last_ns:
                    tally.last_ns = at
                record(at, packet)

            def recorded(packet: Packet) -> None:
                recorded_at(sim.now, packet)

            self._record_tails[recorded] = recorded_at
            return recorded
        count = tally.count
        if total_ns == 0:

            def delivered(packet: Packet) -> None:
                count(packet)
                sink(packet)

            self._carried_tails[delivered] = (tally, 0, sink)
            return delivered
        travel = Delay(self.sim, total_ns, sink, name="tail")

        def carried(packet: Packet) -> None:
            count(packet)
            travel.put(packet)

        self._carried_tails[carried] = (tally, total_ns, sink)
        return carried

    def in_order_sources(self, open_loop: list, connections: list) -> None:
        """Let the VM NICs whose arrivals come in time and tie order know each departure on
        arrival (``RateServer.depart_in_order``): such a NIC needs no event per packet, and a
        packet whose path then runs as a fused tail (``_fused_tail``) needs one event at most,
        its delivery (none when the tail only records it). The results are those of the
        event-driven NIC, packet for packet. Called once the run's flows exist, before it
        starts; not in runs with events or a capture (as fused tails). In order are:

        * the NICs that only open-loop flows' packets enter, straight from their schedule
          (``OpenLoopSchedule`` sends an instant's packets in tie order);
        * both NICs of a TCP connection whose paths, each way, are its NIC and a fused tail,
          and whose NICs nothing else enters (its data one, its ACKs the other). Its sender
          sends in time and sequence order; it meets no other flow anywhere, so only the
          order of its own events could change when they are scheduled earlier, and its
          outcome does not depend on that order (``fabric.sim.flows.TcpFlow``). Such a
          connection sends on each way as a ``Wire`` (``TcpFlow.send_on``): no packet object,
          no stage and no event of the engine per segment or ACK.

        ``open_loop``, ``connections``: the run's open-loop and TCP flows; the first stage of
        the open-loop flows' ``path`` is rewritten here.
        """
        if self.dynamic or self.capture is not None:
            return
        entering: dict[str, list] = {}
        for flow in open_loop:
            server = self._nic_stages.get(flow.path[0])
            if server is not None:
                entering.setdefault(server.name, []).append(flow)
        paths_through = Counter(server.name for server in self._nic_stages.values())
        for server_name, flows in entering.items():
            if len(flows) != paths_through[server_name]:
                continue  # other paths (transit, replies, TCP) enter it too
            for flow in flows:
                flow.path = (self._in_order_stage(flow.path), *flow.path[1:])

        def alone(path: tuple[Stage, ...]) -> bool:
            server = self._nic_stages.get(path[0])
            return (
                server is not None
                and paths_through[server.name] == 1
                and len(path) == 2
                and path[1] in self._carried_tails
            )

        for connection in connections:
            if (
                alone(connection.path)
                and alone(connection.ack_path)
                and self._carried_tails[connection.path[1]][2] == connection.delivered
                and self._carried_tails[connection.ack_path[1]][2] == connection.on_reverse
            ):
                connection.send_on(
                    self._wire(connection.path, connection.segment_packet),
                    self._wire(connection.ack_path, connection.ack_packet),
                )

    def _wire(self, path: tuple[Stage, ...], packet: Callable[[object], Packet]) -> Wire:
        """``path`` (a NIC and a carried fused tail, alone) as a Wire; a tail-drop at its NIC
        reaches the usual drop handler as the packet ``packet(item)`` rebuilds."""
        server = self._nic_stages[path[0]]
        tally, delay_ns, _ = self._carried_tails[path[1]]
        drop = server.on_drop
        server.on_drop = lambda item, reason: drop(packet(item), reason)
        return Wire(server.depart_in_order, tally, delay_ns)

    def _in_order_stage(self, path: tuple[Stage, ...]) -> Stage:
        """The first stage of an open-loop flow's ``path``, a NIC whose departures are known
        on arrival."""
        depart = self._nic_stages[path[0]].depart_in_order
        tail_at = self._record_tails.get(path[1]) if len(path) > 1 else None
        if tail_at is not None:

            def recorded(packet: Packet) -> None:
                departure = depart(packet, packet.wire)
                if departure >= 0:
                    tail_at(departure, packet)

            return recorded
        schedule_at = self.sim.schedule_at

        def sent(packet: Packet) -> None:
            departure = depart(packet, packet.wire)
            if departure >= 0:
                schedule_at(departure, advance, packet)

        return sent

    def settle(self) -> int:
        """At the end of a run: add the fused tails' tallies to their elements' counters;
        returns the latest delivery they recorded without an event (0 if none)."""
        for tally in self.fused:
            tally.settle()
        return max((tally.last_ns for tally in self.fused), default=0)

    def _gated_sink(self, path: Path, destination: Host | Address, sink: Stage) -> Stage:
        """Delivery in a run with events: a stopped VM receives nothing, and nothing reaches
        on-premises over a circuit whose link is down (the gate at the MSEE's side of it)."""
        if isinstance(destination, Host):
            sink = self._gated(self.gate(f"vm/{destination.vm_name}"), sink)
        end = path.steps[-1] if path.steps else None
        if isinstance(end, OnPremises) and isinstance(end.site, ExpressRouteCircuit):
            sink = self._gated(self.gate(f"circuit/{end.site.name}"), sink)
        return sink

    def plan(self, path: Path, source: Host) -> tuple[PlanStep, ...]:
        """The plan of a flow (see ``fabric.sim.plans``); both engines build from it."""
        return compile_plan(path, source, self.capture.name if self.capture else None)

    @staticmethod
    def _gated(gate: Gate, stage: Stage) -> Stage:
        def gated(packet: Packet) -> None:
            if gate.down is None:
                stage(packet)
            else:
                gate.drop(packet)

        return gated

    def _dynamic_stage(self, step: PlanStep, sink: Stage) -> Stage | None:
        """The stage of a step whose element can fail, in a run with events (None: the step
        has nothing that fails)."""
        if isinstance(step, NicStep):
            server = self.server_of(step)
            return self._gated(
                self.gate(f"vm/{step.host.vm_name}"), lambda p: server.put(p, p.wire)
            )
        if isinstance(step, TunnelStep):
            server = self.server_of(step)
            gate = self.gate(f"tunnel/{step.connection}")
            return self._gated(gate, lambda p: server.put(p, p.payload))
        if isinstance(step, InstanceStep):  # the instance may change (active-active failover)
            tunnel = self.tunnel(step.connection)
            gate = self.gate(f"tunnel/{step.connection}")
            return self._gated(gate, lambda p: tunnel.instance.put(p, p.payload))
        if isinstance(step, GatewayStep):
            gate = self.gate(f"transit/{step.gateway}")
            if gate.server is None:
                gate.server = self.server_of(step)
            return self._gated(gate, lambda p: gate.server.put(p, p.payload))
        if isinstance(step, LinkStep):
            carrier = self.peering_link(step).carrier(step.delay_ns)
            return self._gated(self.gate(f"peering/{step.name}"), carrier)
        if isinstance(step, DecapStep) and step.connection is not None:
            return self._gated(self.gate(f"tunnel/{step.connection}"), decapsulate)
        if isinstance(step, DropStep) and self.cause is not None:
            drop, cause, tally = step.drop, self.cause, self.lost

            def dropped(packet: Packet) -> None:  # a path an event changed: count it there
                if getattr(packet.flow, "stats", None) is not None:
                    tally[cause] += 1
                packet.flow.dropped(packet, drop)

            return dropped
        return None

    def stage(self, step: PlanStep, sink: Stage) -> Stage:
        """The event-engine stage for one plan step."""
        if self.dynamic:
            stage = self._dynamic_stage(step, sink)
            if stage is not None:
                return stage
        if isinstance(step, NicStep | CircuitStep):
            server = self.server_of(step)
            stage = lambda p: server.put(p, p.wire)  # noqa: E731 - line rates meter what is sent
            if isinstance(step, NicStep):
                self._nic_stages[stage] = server
            return stage
        if isinstance(
            step,
            TunnelStep
            | InstanceStep
            | IngressStep
            | GatewayStep
            | ExpressRouteGatewayStep
            | FirewallStep
            | FirewallFlowStep,
        ):
            server = self.server_of(step)
            return lambda p: server.put(p, p.payload)  # measured caps meter payload
        if isinstance(step, SwitchStep):
            return self.switch(step.vnet).forward
        if isinstance(step, LinkStep):
            return self.peering_link(step).carrier(step.delay_ns)
        if isinstance(step, DelayStep):
            delay = Delay(self.sim, step.delay_ns, advance, name=step.label)
            self.delays.append(delay)
            return delay.put
        if isinstance(step, EncapStep):
            return self.tunnel(step.connection).encapsulate
        if isinstance(step, DecapStep):
            return decapsulate
        if isinstance(step, TapStep):
            return self._tap(step.tunnel)
        if isinstance(step, SinkStep):
            return sink
        if isinstance(step, DropStep):
            drop = step.drop
            return lambda packet: packet.flow.dropped(packet, drop)
        if isinstance(step, SizeLimitStep):
            return _size_limit(step.limit_bytes, step.drop)
        raise TypeError(f"no stage for {step!r}")
