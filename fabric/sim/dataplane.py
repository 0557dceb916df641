"""Packets through the fabric: NICs, virtual switches, peering links and IPsec gateway tunnels
as nodes on the event engine.

A packet carries its path: a tuple of stages, each a plain callable ``stage(packet)``; queueing
elements hand the packet to ``advance`` when it leaves them. The path of a flow is decided by
the source VNet's virtual switch on the flow's first packet, from the control plane's trace (the
same route lookup and NSG evaluation that ``vnetsim connectivity`` shows), and cached like a
vswitch flow table; every later packet of the flow follows the cached path.
"""

from __future__ import annotations

from collections.abc import Callable

from fabric.catalogue.latency import LatencyModel
from fabric.catalogue.skus import lookup
from fabric.catalogue.vmsizes import egress_mbps
from fabric.control.ipsec import Negotiated, negotiate
from fabric.control.plane import ControlPlane
from fabric.model.records import VpnGateway
from fabric.watcher.diagnose import Trace, connectivity
from simulator import Delay, RateServer, Simulation
from simulator.units import NS_PER_S, milliseconds

Stage = Callable[["Packet"], None]


class SimulationError(ValueError):
    """A scenario that cannot be simulated (e.g. a region pair without latency data)."""


class Packet:
    """One synthetic IP packet. ``size`` is the inner IP packet; ``wire`` what a link carries."""

    __slots__ = ("flow", "hop", "path", "sent_ns", "seq", "size", "ttl", "wire")

    def __init__(self, flow: object, seq: int, size: int, sent_ns: int, path: tuple, ttl: int):
        self.flow = flow
        self.seq = seq
        self.size = size
        self.wire = size
        self.sent_ns = sent_ns
        self.path = path
        self.hop = 0
        self.ttl = ttl


def advance(packet: Packet) -> None:
    """Hand the packet to the next stage of its path."""
    packet.hop += 1
    packet.path[packet.hop](packet)


class VirtualSwitch:
    """One per VNet: forwards with the flow's cached decision, decrements the hop limit."""

    __slots__ = ("dataplane", "name", "packets")

    def __init__(self, dataplane: Dataplane, name: str) -> None:
        self.dataplane = dataplane
        self.name = name
        self.packets = 0

    def forward(self, packet: Packet) -> None:
        self.packets += 1
        packet.ttl -= 1
        if packet.ttl <= 0:
            self.dataplane.drop(packet, f"HopLimitExceeded: {self.name}")
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
    """One VNet-to-VNet connection leaving a gateway: ESP encapsulation, the per-tunnel cap for
    the negotiated cipher (Mbps and packets per second, §3.4), then the gateway instance that
    all tunnels of the gateway share (its aggregate cap, §3.2), with a finite buffer."""

    __slots__ = ("cipher", "instance", "mtu", "name", "server")

    def __init__(
        self, name: str, cipher: Negotiated, server: RateServer, instance: RateServer, mtu: int
    ) -> None:
        self.name = name
        self.cipher = cipher
        self.server = server
        self.instance = instance
        self.mtu = mtu

    def encapsulate(self, packet: Packet) -> None:
        wire = packet.size + self.cipher.esp.overhead(packet.size)
        if wire > self.mtu:  # fragmented into two outer packets: one more outer IPv4 header
            wire += 20
        packet.wire = wire
        advance(packet)

    def enter(self, packet: Packet) -> None:
        self.server.put(packet, packet.wire)

    def to_instance(self, packet: Packet) -> None:
        self.instance.put(packet, packet.wire)


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
        self.nics: dict[str, RateServer] = {}
        self.switches: dict[str, VirtualSwitch] = {}
        self.peering_links: dict[str, PeeringLink] = {}
        self.tunnels: dict[str, GatewayTunnel] = {}
        self.instances: dict[str, list[RateServer]] = {}
        self.delays: list[Delay] = []
        self.capture = None  # a fabric.pcap.Capture, set by simulate(capture=...)
        self.queue_labels: dict[str, str] = {}  # server name -> the drop reason it reports

    # -- drops ------------------------------------------------------------------------------

    def drop(self, packet: Packet, reason: str) -> None:
        """Every packet that does not arrive ends here, with its reason."""
        packet.flow.dropped(packet, reason)

    def _drop_stage(self, reason: str) -> Stage:
        return lambda packet: self.drop(packet, reason)

    def _on_queue_drop(self, label: str, server_name: str) -> Callable[[Packet, str], None]:
        """The drop handler of one server; the label is also what the batch path reports."""
        self.queue_labels[server_name] = label

        def dropped(packet: Packet, why: str) -> None:
            self.drop(packet, label if why == "BufferFullBytes" else f"{label} ({why})")

        return dropped

    # -- nodes ------------------------------------------------------------------------------

    def nic(self, host_name: str) -> RateServer:
        server = self.nics.get(host_name)
        if server is None:
            _, host = self.plane.fabric.find_host(host_name)
            rate = round(egress_mbps(host) * 1e6)
            server = RateServer(
                self.sim,
                rate,
                advance,
                self._on_queue_drop(f"NicQueueFull: {host_name}", f"nic/{host_name}"),
                buffer_bytes=self.params.nic_buffer_bytes,
                name=f"nic/{host_name}",
            )
            self.nics[host_name] = server
        return server

    def switch(self, vnet: str) -> VirtualSwitch:
        node = self.switches.get(vnet)
        if node is None:
            node = self.switches[vnet] = VirtualSwitch(self, vnet)
        return node

    def peering_link(self, name: str, delay_ns: int) -> PeeringLink:
        link = self.peering_links.get(name)
        if link is None:
            link = self.peering_links[name] = PeeringLink(self.sim, name, delay_ns)
        return link

    def gateway_instances(self, gateway: VpnGateway) -> list[RateServer]:
        servers = self.instances.get(gateway.name)
        if servers is None:
            spec = lookup(gateway.sku, gateway.generation)
            rate = round(spec.aggregate_mbps * 1e6)
            count = 2 if gateway.active_active else 1
            servers = [
                RateServer(
                    self.sim,
                    rate,
                    advance,
                    self._on_queue_drop(
                        f"GatewayQueueFull: {gateway.name}", f"gateway/{gateway.name}/{i}"
                    ),
                    buffer_bytes=self.params.gateway_buffer_bytes,
                    name=f"gateway/{gateway.name}/{i}",
                )
                for i in range(count)
            ]
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
            server = RateServer(
                self.sim,
                rate,
                advance,
                self._on_queue_drop(
                    f"TunnelQueueFull: {connection_name}", f"tunnel/{connection_name}"
                ),
                buffer_bytes=self.params.gateway_buffer_bytes,
                name=f"tunnel/{connection_name}",
                min_service_ns=floor,
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

    # -- capture taps -----------------------------------------------------------------------

    def capture_points(self) -> list[str]:
        """Names a capture may name: hosts, peering links (vnet/link), gateways, connections."""
        fabric = self.plane.fabric
        hosts = [h.name for v in fabric.vnets.values() for h in v.hosts]
        links = [f"{vnet}/{name}" for vnet, name in fabric.peerings]
        return sorted([*hosts, *links, *fabric.gateways, *fabric.connections])

    def _tap(self, tunnel: tuple[str, str, str] | None = None) -> Stage:
        capture, sim = self.capture, self.sim

        def tap(packet: Packet) -> None:
            capture.record(sim.now, packet, tunnel)
            packet.hop += 1
            packet.path[packet.hop](packet)

        return tap

    def _tunnel_tap_step(self, connection_name: str, egress: bool) -> list[tuple]:
        from fabric.control.connections import gateway_addresses

        if self.capture is None:
            return []
        fabric = self.plane.fabric
        connection = fabric.connections[connection_name]
        local = fabric.gateways[connection.from_gateway]
        remote = fabric.gateways[connection.to_gateway]
        point = self.capture.name
        if point not in (connection_name, local.name if egress else remote.name):
            return []
        outer = (
            (gateway_addresses(fabric, local) or ("0.0.0.0",))[0],
            (gateway_addresses(fabric, remote) or ("0.0.0.0",))[0],
        )
        return [("tap", (connection_name, *outer))]

    # -- paths ------------------------------------------------------------------------------

    def resolve(
        self,
        src_host: str,
        src_ip: str,
        dst_ip: str,
        protocol: str,
        port: int | None,
        source_port: int | None,
        sink: Stage,
        *,
        established: bool = False,
    ) -> tuple[tuple[Stage, ...], Trace]:
        """The stages a flow's packets pass, built from the control plane's trace."""
        trace = connectivity(
            self.plane, src_ip, dst_ip, protocol, port, source_port, established=established
        )
        plan = self.plan(trace, src_host, src_ip)
        return tuple(self.stage(step, sink) for step in plan), trace

    def plan(self, trace: Trace, src_host: str, src_ip: str) -> list[tuple]:
        """The path as data: ("nic", host), ("switch", vnet), ("peering", link, ns),
        ("delay", ns, name), ("encap" | "tunnel" | "instance", connection), ("decap",),
        ("tap", tunnel-or-None), ("sink",), ("drop", reason). The event engine and the batch
        path both build from this one plan."""
        location = self.plane.locate(src_ip)
        steps: list[tuple] = [("nic", src_host)]
        steps += self._tap_step(self._wants_host(src_host))
        steps.append(("switch", location.vnet.name))
        pending_peering: str | None = None
        pending_tunnel: str | None = None
        for step in trace.steps:
            if step.kind == "leg":
                if pending_peering is not None:
                    link_name, remote = pending_peering.split("->")
                    steps += self._tap_step(
                        self.capture is not None and self.capture.name == link_name
                    )
                    steps.append(("peering", pending_peering, milliseconds(self._checked(step))))
                    steps.append(("switch", remote))
                    pending_peering = None
                else:
                    steps.append(("delay", milliseconds(self._checked(step)), step.name))
                if pending_tunnel is not None:
                    connection = self.plane.fabric.connections[pending_tunnel]
                    remote_gateway = self.plane.fabric.gateways[connection.to_gateway]
                    steps += self._tunnel_tap_step(pending_tunnel, egress=False)
                    steps.append(("decap",))
                    steps.append(("switch", remote_gateway.vnet))
                    pending_tunnel = None
            elif step.kind == "peering":
                here, link_name = step.name.split("/", 1)
                remote = self.plane.fabric.peerings[(here, link_name)].remote_vnet
                pending_peering = f"{here}/{link_name}->{remote}"
            elif step.kind == "appliance":
                steps.append(("delay", milliseconds(self._checked(step)), f"appliance/{step.name}"))
                steps.append(("nic", step.name))
                steps += self._tap_step(self._wants_host(step.name))
                vnet, _ = self.plane.fabric.find_host(step.name)
                steps.append(("switch", vnet.name))
            elif step.kind == "tunnel":
                steps += [("encap", step.name), ("tunnel", step.name), ("instance", step.name)]
                steps += self._tunnel_tap_step(step.name, egress=True)
                pending_tunnel = step.name
            elif step.kind == "deliver":
                steps += self._tap_step(self._wants_host(step.name))
                steps.append(("sink",))
        if not trace.reachable:
            steps.append(("drop", trace.reason or "Unreachable"))
        elif trace.steps and trace.steps[-1].kind != "deliver":  # e.g. egress to the internet
            steps.append(("sink",))
        return steps

    def stage(self, step: tuple, sink: Stage) -> Stage:
        """The event-engine stage for one plan step."""
        kind = step[0]
        if kind == "nic":
            server = self.nic(step[1])
            return lambda p: server.put(p, p.wire)
        if kind == "switch":
            return self.switch(step[1]).forward
        if kind == "peering":
            return self.peering_link(step[1], step[2]).carry
        if kind == "delay":
            delay = Delay(self.sim, step[1], advance, name=step[2])
            self.delays.append(delay)
            return delay.put
        if kind in ("encap", "tunnel", "instance"):
            tunnel = self.tunnel(step[1])
            return {
                "encap": tunnel.encapsulate,
                "tunnel": tunnel.enter,
                "instance": tunnel.to_instance,
            }[kind]
        if kind == "decap":
            return decapsulate
        if kind == "tap":
            return self._tap(step[1])
        if kind == "sink":
            return sink
        return self._drop_stage(step[1])

    def _wants_host(self, host_name: str) -> bool:
        return self.capture is not None and self.capture.name == host_name

    @staticmethod
    def _tap_step(wanted: bool) -> list[tuple]:
        return [("tap", None)] if wanted else []

    @staticmethod
    def _checked(step) -> float:
        if step.latency_ms is None:
            raise SimulationError(
                f"no latency data for {step.name}; add the region pair under "
                "simulation.parameters.region_rtt_ms"
            )
        return step.latency_ms

    def tunnel_on_path(self, trace: Trace) -> bool:
        """True when the path crosses a VPN tunnel (TCP then uses the clamped MSS)."""
        return any(step.kind == "tunnel" for step in trace.steps)
