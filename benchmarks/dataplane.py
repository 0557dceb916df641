"""Dataplane speed: a hub-and-spoke with 10 flows and about 1,000,000 packets on the event
engine, against a SimPy model of the same paths (queues and delays only, no LPM or NSG) run on
the same packet times in the same process.

Packet-hops are traversals of queueing and delay elements (NIC, peering link, leg, tunnel and
gateway servers), counted the same way in both models. The last line of stdout is JSON:
{"packet_hops_per_s", "simpy_packet_hops_per_s", "simpy_ratio", "packets", ...}.

Run: python benchmarks/dataplane.py [--json] [--scale 1.0] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time

from fabric.catalogue.latency import LatencyModel
from fabric.model.container import Fabric
from fabric.model.traffic import FlowSpec
from fabric.sim.runs import simulate
from fabric.sim.traffic import open_loop_trace
from simulator import Simulation
from simulator.units import serialisation_ns


def topology() -> Fabric:
    """Hub with a VPN gateway to a DR VNet in another region, an NVA, four transit spokes."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.subnet("hub", "fw", "10.0.2.0/24")
    fabric.host("hub", "nva", "fw", "10.0.2.4", enable_ip_forwarding=True, bandwidth_mbps=25000)
    fabric.gateway("hub-gw", "hub", "VpnGw3", generation="Generation2")
    fabric.vnet("dr", "northeurope", "10.50.0.0/16")
    fabric.subnet("dr", "GatewaySubnet", "10.50.255.0/27")
    fabric.subnet("dr", "app", "10.50.1.0/24")
    fabric.host("dr", "dr-vm", "app", "10.50.1.4", bandwidth_mbps=8000)
    fabric.gateway("dr-gw", "dr", "VpnGw3", generation="Generation2")
    fabric.connect("hub-gw", "dr-gw", shared_key="abc123")
    for i in range(1, 5):
        fabric.vnet(f"spoke{i}", "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(f"spoke{i}", "app", f"10.{i}.0.0/24")
        fabric.host(f"spoke{i}", f"vm{i}", "app", f"10.{i}.0.4", bandwidth_mbps=8000)
        fabric.peer("hub", f"spoke{i}", a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    return fabric


def flows(scale: float) -> list[FlowSpec]:
    """4 peering flows, 4 spoke-to-DR flows over the tunnel, 2 DR-to-spoke: 10 in all, below
    every cap so that neither model drops (SimPy's model has no finite buffers)."""
    duration = 1.2 * scale
    specs = [
        FlowSpec(
            f"peer{i}",
            f"vm{i}",
            "nva",
            rate_mbps=1500,
            packet_bytes=1000,
            pattern="poisson",
            duration_s=duration,
        )
        for i in range(1, 5)
    ]
    specs += [
        FlowSpec(
            f"vpn{i}",
            f"vm{i}",
            "dr-vm",
            rate_mbps=100,
            packet_bytes=1000,
            pattern="poisson",
            duration_s=duration,
        )
        for i in range(1, 5)
    ]
    specs += [
        FlowSpec(
            f"back{i}",
            "dr-vm",
            f"vm{i}",
            rate_mbps=100,
            packet_bytes=1000,
            pattern="poisson",
            duration_s=duration,
        )
        for i in (1, 2)
    ]
    return specs


def simpy_run(fabric: Fabric, specs: list[FlowSpec], seed: int) -> tuple[int, float]:
    """The same paths in SimPy: Resources for servers, timeouts for delays; returns hops, s."""
    import simpy

    from fabric.control.forwarding import resolve
    from fabric.control.plane import ControlPlane
    from fabric.model.traffic import HEADER_BYTES
    from fabric.sim import plans
    from fabric.sim.dataplane import Dataplane

    params = LatencyModel()
    plane = ControlPlane(fabric, latency=params)
    nodes = Dataplane(Simulation(), plane, params)  # only to read the servers' rates
    env = simpy.Environment()
    servers: dict[str, simpy.Resource] = {}
    hops = [0]

    def server(name: str) -> simpy.Resource:
        if name not in servers:
            servers[name] = simpy.Resource(env, capacity=1)
        return servers[name]

    def path_for(spec: FlowSpec) -> list[tuple]:
        """The flow's plan as SimPy elements: delays, and servers that meter whole packets
        (a VM's egress) or payload (the gateways' measured caps)."""
        _, src = fabric.find_host(spec.src)
        _, dst = fabric.find_host(spec.dst)
        route = resolve(plane, src.ip, dst.ip, spec.protocol, spec.destination_port)
        path: list[tuple] = []
        for step in plans.compile_plan(route, src):
            if isinstance(step, plans.DelayStep | plans.LinkStep):
                path.append(("delay", step.delay_ns))
            elif isinstance(step, plans.SERVER_STEPS):
                rate = nodes.server_of(step)
                payload = not isinstance(step, plans.NicStep)
                path.append(("server", rate.name, rate.rate_bps, rate.min_service_ns, payload))
        return path

    def packet(path: list[tuple], size: int, header: int):
        for element in path:
            hops[0] += 1
            if element[0] == "delay":
                yield env.timeout(element[1])
            else:
                _, name, rate, floor, payload = element
                metered = size - header if payload else size
                with server(name).request() as request:
                    yield request
                    yield env.timeout(max(serialisation_ns(metered, rate), floor))

    def source(times: list[int], sizes: list[int], path: list[tuple], header: int):
        now = 0
        for t, size in zip(times, sizes, strict=True):
            yield env.timeout(t - now)
            now = t
            env.process(packet(path, size, header))

    sim = Simulation(seed=seed)  # the same random streams as vnetsim's flows
    for spec in specs:
        times, sizes = open_loop_trace(
            spec, sim.stream(f"flow/{spec.name}"), None, params.send_jitter_us
        )
        header = HEADER_BYTES[spec.protocol]
        env.process(source(times.tolist(), sizes.tolist(), path_for(spec), header))
    start = time.perf_counter()
    env.run()
    return hops[0], time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the duration")
    parser.add_argument("--profile", action="store_true", help="print where vnetsim's time goes")
    args = parser.parse_args(argv)
    fabric = topology()
    specs = flows(args.scale)
    simulate(fabric, flows(0.01), engine="events")  # warm up
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    result = simulate(fabric, specs, seed=1, engine="events")  # the event engine, as asked
    if profiler:
        profiler.disable()
    packets = sum(f.sent for f in result.flows)
    dropped = sum(f.dropped for f in result.flows)
    ours = result.packet_hops / result.wall_s
    try:
        simpy_hops, simpy_s = simpy_run(fabric, specs, seed=1)
    except ImportError:
        print("SimPy is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    theirs = simpy_hops / simpy_s
    report = {
        "packets": packets,
        "dropped": dropped,
        "packet_hops": result.packet_hops,
        "switch_visits": result.switch_visits,
        "wall_s": result.wall_s,
        "packet_hops_per_s": ours,
        "packets_per_s": packets / result.wall_s,
        "simpy_packet_hops": simpy_hops,
        "simpy_wall_s": simpy_s,
        "simpy_packet_hops_per_s": theirs,
        "simpy_ratio": ours / theirs,
    }
    if not args.json:
        print(
            f"{packets:,} packets ({dropped} dropped), {result.packet_hops:,} packet-hops "
            f"(+{result.switch_visits:,} switch visits)"
        )
        print(f"vnetsim: {result.wall_s:.2f} s wall, {ours:,.0f} packet-hops/s")
        print(
            f"SimPy:   {simpy_s:.2f} s wall, {theirs:,.0f} packet-hops/s "
            f"({simpy_hops:,} hops)  ->  ratio {ours / theirs:.2f}"
        )
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
            print(text.getvalue())
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
