"""Packets through the fabric: VM egress queues, virtual switches, peering links and IPsec
gateway tunnels as nodes on the event engine.

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

from collections.abc import Callable

from fabric.catalogue.latency import LatencyModel
from fabric.catalogue.skus import lookup
from fabric.catalogue.vmsizes import egress_mbps
from fabric.control.forwarding import Drop, Path, resolve
from fabric.control.ipsec import Negotiated, negotiate
from fabric.control.plane import ControlPlane
from fabric.model import Host, VpnGateway
from fabric.sim.capture import Capture
from fabric.sim.plans import (
    DecapStep,
    DelayStep,
    DropStep,
    EncapStep,
    GatewayStep,
    InstanceStep,
    LinkStep,
    NicStep,
    PlanStep,
    SinkStep,
    SwitchStep,
    TapStep,
    TunnelStep,
    capture_points,
    compile_plan,
)
from simulator import Delay, RateServer, Simulation
from simulator.units import NS_PER_S

Stage = Callable[["Packet"], None]

__all__ = ["MIN_SERVICE_NS", "Dataplane", "Packet", "advance", "tie_order"]

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
    """A VNet peering link in one direction: propagation delay only, no cap (§2.8)."""

    __slots__ = ("bytes", "delay", "name", "packets")

    def __init__(self, sim: Simulation, name: str, delay_ns: int) -> None:
        self.name = name
        self.delay = Delay(sim, delay_ns, advance, name=name)
        self.packets = 0
        self.bytes = 0

    def carry(self, packet: Packet) -> None:
        self.packets += 1
        self.bytes += packet.wire
        self.delay.put(packet)


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


def decapsulate(packet: Packet) -> None:
    """At the remote gateway the inner packet continues alone."""
    packet.wire = packet.size
    advance(packet)


class Dataplane:
    """Builds and holds the nodes; resolves each flow's path once, from the control plane."""

    def __init__(self, sim: Simulation, plane: ControlPlane, params: LatencyModel) -> None:
        self.sim = sim
        self.plane = plane
        self.params = params
        self.nics: dict[str, RateServer] = {}  # by VM: its NICs share one egress cap
        self.switches: dict[str, VirtualSwitch] = {}
        self.peering_links: dict[str, PeeringLink] = {}
        self.tunnels: dict[str, GatewayTunnel] = {}
        self.instances: dict[str, list[RateServer]] = {}
        self.delays: list[Delay] = []
        self.capture: Capture | None = None
        self.queue_drops: dict[str, Drop] = {}  # server name -> the Drop it reports

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
            link = self.peering_links[step.name] = PeeringLink(self.sim, step.name, step.delay_ns)
        return link

    def gateway_instances(self, gateway: VpnGateway) -> list[RateServer]:
        servers = self.instances.get(gateway.name)
        if servers is None:
            spec = lookup(gateway.sku, gateway.generation)
            rate = round(spec.aggregate_mbps * 1e6)
            buffer_bytes = round(rate * self.params.gateway_buffer_ms / 8_000)
            count = 2 if gateway.active_active else 1
            servers = []
            for i in range(count):
                name = f"gateway/{gateway.name}/{i}"
                servers.append(
                    RateServer(
                        self.sim,
                        rate,
                        advance,
                        self._queue_drop(name, "GatewayQueueFull", f"gateway {gateway.name}"),
                        buffer_bytes=buffer_bytes,
                        name=name,
                        min_service_ns=MIN_SERVICE_NS,
                        tie_order=tie_order,
                    )
                )
            self.instances[gateway.name] = servers
        return servers

    def tunnel(self, connection_name: str) -> GatewayTunnel:
        tunnel = self.tunnels.get(connection_name)
        if tunnel is None:
            fabric = self.plane.fabric
            connection = fabric.connections[connection_name]
            gateway = fabric.gateways[connection.from_gateway]
            spec = lookup(gateway.sku, gateway.generation)
            cipher = negotiate(connection.ipsec_policy)
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
            # Active-active: connections are spread over the two instances in name order
            # (our assumption; Azure does not document the placement).
            index = sorted(
                c for c in fabric.connections if fabric.connections[c].from_gateway == gateway.name
            )
            instance = instances[index.index(connection_name) % len(instances)]
            tunnel = GatewayTunnel(
                connection_name, cipher, server, instance, self.params.tunnel_mtu_bytes
            )
            self.tunnels[connection_name] = tunnel
        return tunnel

    def server_of(self, step: PlanStep) -> RateServer:
        """The queueing server a plan step names (NIC, tunnel, or gateway instance)."""
        if isinstance(step, NicStep):
            return self.nic(step.host)
        if isinstance(step, TunnelStep):
            return self.tunnel(step.connection).server
        if isinstance(step, InstanceStep):
            return self.tunnel(step.connection).instance
        if isinstance(step, GatewayStep):  # transit without a tunnel: the first instance
            return self.gateway_instances(self.plane.fabric.gateways[step.gateway])[0]
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
        destination: Host,
        protocol: str,
        port: int | None,
        source_port: int | None,
        sink: Stage,
        *,
        established: bool = False,
    ) -> tuple[tuple[Stage, ...], Path]:
        """The stages a flow's packets pass, compiled from the control plane's path."""
        path = resolve(
            self.plane,
            source.ip,
            destination.ip,
            protocol,
            port,
            source_port=source_port,
            established=established,
        )
        return tuple(self.stage(step, sink) for step in self.plan(path, source)), path

    def plan(self, path: Path, source: Host) -> tuple[PlanStep, ...]:
        """The plan of a flow (see ``fabric.sim.plans``); both engines build from it."""
        return compile_plan(path, source, self.capture.name if self.capture else None)

    def stage(self, step: PlanStep, sink: Stage) -> Stage:
        """The event-engine stage for one plan step."""
        if isinstance(step, NicStep):
            server = self.server_of(step)
            return lambda p: server.put(p, p.wire)  # a VM's egress cap meters what it sends
        if isinstance(step, TunnelStep | InstanceStep | GatewayStep):
            server = self.server_of(step)
            return lambda p: server.put(p, p.payload)  # measured caps meter payload
        if isinstance(step, SwitchStep):
            return self.switch(step.vnet).forward
        if isinstance(step, LinkStep):
            return self.peering_link(step).carry
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
        raise TypeError(f"no stage for {step!r}")
