"""Run a scenario: build the dataplane on the engine, start the flows, drain, collect results.

``simulate`` is the Python entry point (notebooks); ``vnetsim run`` calls it too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fabric.catalogue.latency import LatencyModel
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric, FabricError
from fabric.model.events import Event, EventError, event_problems
from fabric.model.traffic import ENGINES, FlowSpec, TrafficError
from fabric.sim.batchplane import BatchUnsupported, run_batch
from fabric.sim.capture import Capture, CaptureError
from fabric.sim.dataplane import Dataplane
from fabric.sim.events import EventRunner
from fabric.sim.flows import OpenLoopFlow, OpenLoopSchedule, TcpFlow
from fabric.sim.plans import SimulationError
from fabric.sim.progress import Progress
from fabric.sim.results import ElementResult, FlowResult, SimulationResult
from simulator import Simulation
from simulator.units import NS_PER_S


def simulate(
    fabric: Fabric,
    traffic: Iterable[FlowSpec | dict[str, Any]],
    *,
    duration_s: float | None = None,
    seed: int = 1,
    parameters: LatencyModel | dict[str, Any] | None = None,
    progress: bool = False,
    block_peering_without_vnet_access: bool = False,
    capture: str | None = None,
    engine: str = "auto",
    events: Iterable[Event | dict[str, Any]] = (),
    samples: bool = True,
) -> SimulationResult:
    """Simulate ``traffic`` over ``fabric``; returns per-flow and per-element results.

    ``duration_s`` clips every flow (default: until the last flow ends); the run then drains,
    so every packet ends delivered or dropped. ``capture`` names a host, peering link
    (``vnet/link``), gateway or connection whose packets are recorded (``result.capture``).
    ``engine``: ``events`` (packet by packet), ``batch`` (vectorised, open-loop flows only) or
    ``auto`` (batch when it can, else events); both give the same results. ``events`` are
    timed failures and changes (``fabric.model.events.Event`` or mappings of its keys, as in a
    scenario's ``events:``); they need the event engine (``auto`` picks it), and the results
    then carry each event's effects and each flow's outages and throughput timeline. Events
    at or after the end of the run are reported as not reached.

    ``samples``: keep every delivered packet's latency, time and payload (the FlowResult
    arrays, for CDFs, figures and goodput over any window). False keeps only streaming
    recorders, so a flow's memory does not grow with its packets (a 30 s TCP flow at 8 Gbps
    is 20 million packets); the results' counts, throughputs and means are the same, and
    p50/p99 are within 0.1% either way (``fabric.sim.flows.QUANTILE_RELATIVE_ERROR``). Runs
    with events keep them regardless: outage windows are computed from them.
    """
    if engine not in ENGINES:
        raise SimulationError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    event_list = _events(events, fabric)
    specs = [t if isinstance(t, FlowSpec) else FlowSpec.from_mapping(dict(t)) for t in traffic]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TrafficError(f"flow names must be unique; repeated: {', '.join(duplicates)}")
    if isinstance(parameters, dict):
        try:
            parameters = LatencyModel().with_overrides(parameters)
        except (TypeError, ValueError) as problem:
            raise SimulationError(f"simulation.parameters: {problem}") from None
    params = parameters or LatencyModel()
    horizon_s = (
        duration_s
        if duration_s is not None
        else max((s.start_s + s.duration_s for s in specs), default=0.0)
    )
    plane = ControlPlane(
        fabric, latency=params, block_peering_without_vnet_access=block_peering_without_vnet_access
    )
    sim = Simulation(seed=seed)
    dataplane = Dataplane(sim, plane, params, dynamic=bool(event_list))
    if capture is not None:
        points = dataplane.capture_points()
        if capture not in points:
            raise CaptureError(f"no capture point {capture!r}; choose one of: {', '.join(points)}")
        dataplane.capture = Capture(capture)
    started = time.perf_counter()
    if engine != "events":
        try:
            records, end_ns = run_batch(dataplane, specs, horizon_s, samples=samples)
        except BatchUnsupported as why:
            if engine == "batch":
                raise SimulationError(
                    f"engine batch cannot run this scenario: {why}; use engine events (or auto)"
                ) from None
        else:
            sim.now = end_ns  # the batch path has simulated up to its last event
            wall_s = time.perf_counter() - started
            return _collect(records, dataplane, sim, horizon_s, seed, params, wall_s, "batch")
    flows = []
    for rank, spec in enumerate(specs):
        kind = TcpFlow if spec.pattern == "tcp" else OpenLoopFlow
        try:
            flows.append(kind(spec, dataplane, sim, horizon_s, rank=rank))
        except FabricError as problem:
            raise TrafficError(f"traffic {spec.name}: {problem}") from None
    if not samples and not event_list:
        for flow in flows:
            flow.stats.discard_samples()
    runner = None
    if event_list:  # scheduled first: an event applies before packets sent at its instant
        horizon_ns = round(horizon_s * NS_PER_S)
        runner = EventRunner(sim, dataplane, params, event_list, flows, horizon_ns)
        runner.start()
    open_loop = [f for f in flows if isinstance(f, OpenLoopFlow)]
    dataplane.in_order_sources(open_loop, [f for f in flows if isinstance(f, TcpFlow)])
    OpenLoopSchedule(sim, open_loop).start()
    for flow in flows:
        if isinstance(flow, TcpFlow):
            flow.start()
    bar = _progress(sim, horizon_s) if progress else None
    sim.run()
    sim.now = max(sim.now, dataplane.settle())  # deliveries recorded without events
    wall_s = time.perf_counter() - started
    if bar is not None:
        bar.close()
    outcomes = runner.results() if runner is not None else ()
    return _collect(flows, dataplane, sim, horizon_s, seed, params, wall_s, "events", outcomes)


def _events(events: Iterable[Event | dict[str, Any]], fabric: Fabric) -> list[Event]:
    """The events as records, checked against the fabric (SimulationError names the first
    problem; a scenario file's loader reports them all, with lines)."""
    try:
        found = [e if isinstance(e, Event) else Event.from_mapping(dict(e)) for e in events]
    except EventError as problem:
        raise SimulationError(str(problem)) from None
    problems = event_problems(found, fabric)
    if problems:
        index, key, message = problems[0]
        raise SimulationError(f"events[{index}].{key}: {message}")
    return found


def run_document(
    document: Any,
    *,
    duration_s: float | None = None,
    seed: int | None = None,
    progress: bool = False,
    capture: str | None = None,
    engine: str | None = None,
    samples: bool = True,
) -> SimulationResult:
    """Simulate a loaded scenario document (topology + traffic + simulation section); the
    arguments override the document's ``simulation`` section (``engine`` included);
    ``samples`` as for ``simulate``."""
    simulation = document.simulation
    return simulate(
        document.fabric,
        document.traffic,
        duration_s=duration_s if duration_s is not None else simulation.get("duration_s"),
        seed=seed if seed is not None else simulation.get("seed", 1),
        parameters=simulation.get("parameters"),
        progress=progress,
        capture=capture,
        engine=engine if engine is not None else simulation.get("engine", "auto"),
        events=getattr(document, "events", ()),
        samples=samples,
    )


# Peak resident memory per packet sent, measured 2026-11-30 as the slope between two runs (so
# without the interpreter and the model): scenarios/hub_spoke.yaml with one 1 Gbps CBR flow of
# 1 and 4 s (89k and 357k packets): 217 B with the event engine (an open-loop flow's send times
# and sizes are generated up front, as numpy arrays and Python lists), samples kept or not; with
# the batch engine (windowed: its temporaries are window-sized) 39 B with samples kept (24 B of
# them the samples), 12 B without (the send times), re-measured 2026-11-30 (an IMIX flow adds
# 8 B of sizes; the table keeps the larger figure); benchmarks/long_tcp.py (one TCP flow at
# 8 Gbps, 0.67M and 2M packets): 0 B when the flow streams its deliveries (bounded recorders),
# 48 B when its per-packet samples are kept. Rounded up: a warning threshold, not a promise.
BYTES_PER_PACKET = {"events": 224, "batch": 48, "auto": 224}  # open-loop flows
TCP_SAMPLE_BYTES_PER_PACKET = 48  # a TCP flow that keeps its samples; 0 when it streams


def _flow_packets(fabric: Fabric, spec: FlowSpec, horizon_s: float | None) -> float:
    """An upper estimate of the packets one flow sends (see ``estimate_packets``)."""
    from fabric.catalogue.vmsizes import egress_mbps

    seconds = spec.duration_s
    if horizon_s is not None:
        seconds = max(0.0, min(seconds, horizon_s - spec.start_s))
    if spec.pattern == "tcp":
        host = next((h for v in fabric.vnets.values() for h in v.hosts if h.name == spec.src), None)
        rate_mbps = egress_mbps(host) if host is not None else spec.rate_mbps
    else:
        rate_mbps = spec.rate_mbps
    return rate_mbps * 1e6 * seconds / (8 * max(1, spec.packet_bytes))


def estimate_packets(fabric: Fabric, specs: Iterable[FlowSpec], horizon_s: float | None) -> int:
    """An upper estimate of the packets a run sends: each open-loop flow at its rate, each TCP
    flow at its source VM's egress cap, over its duration clipped to ``horizon_s``."""
    return int(sum(_flow_packets(fabric, spec, horizon_s) for spec in specs))


def estimate_memory_bytes(
    fabric: Fabric,
    specs: Iterable[FlowSpec],
    horizon_s: float | None,
    engine: str,
    samples: bool = True,
) -> int:
    """Roughly how much memory a run needs beyond the model: BYTES_PER_PACKET for each
    open-loop packet, TCP_SAMPLE_BYTES_PER_PACKET for each TCP packet when samples are kept."""
    open_loop = tcp = 0.0
    for spec in specs:
        packets = _flow_packets(fabric, spec, horizon_s)
        if spec.pattern == "tcp":
            tcp += packets
        else:
            open_loop += packets
    per_tcp_packet = TCP_SAMPLE_BYTES_PER_PACKET if samples else 0
    return int(open_loop * BYTES_PER_PACKET.get(engine, 224) + tcp * per_tcp_packet)


def _progress(sim: Simulation, horizon_s: float) -> Progress:
    """A progress bar of simulated time, redrawn 50 times over the run."""
    total_ns = max(1, round(horizon_s * NS_PER_S))
    bar = Progress(total_ns, "simulating")
    step = max(1, total_ns // 50)

    def tick(_: object) -> None:
        bar.update(sim.now, f"{sim.now / NS_PER_S:.3f} of {horizon_s:.3f} s simulated, ")
        if sim.now + step <= total_ns:
            sim.schedule(step, tick)

    sim.schedule(step, tick)
    return bar


def _collect(
    flows,
    dataplane: Dataplane,
    sim: Simulation,
    horizon_s: float,
    seed: int,
    params: LatencyModel,
    wall_s: float,
    engine: str,
    events: tuple = (),
) -> SimulationResult:
    flow_results = [FlowResult.from_flow(flow, horizon_s) for flow in flows]
    end_ns = max(sim.now, 1)
    elements = []
    for _, servers in sorted(dataplane.instances.items()):
        for server in dict.fromkeys(servers):  # an active-active gateway's one shared server
            elements.append(
                ElementResult.from_server(server.name, "GatewayInstance", server, end_ns)
            )
    for _, server in sorted(dataplane.ingress.items()):
        elements.append(ElementResult.from_server(server.name, "GatewayIngress", server, end_ns))
    for name, tunnel in sorted(dataplane.tunnels.items()):
        elements.append(
            ElementResult.from_server(
                f"tunnel/{name}",
                "GatewayTunnel",
                tunnel.server,
                end_ns,
                cipher=tunnel.cipher.cipher_column,
            )
        )
    for name, server in sorted(dataplane.firewalls.items()):
        elements.append(ElementResult.from_server(f"firewall/{name}", "Firewall", server, end_ns))
    for name, server in sorted(dataplane.express_route.items()):
        elements.append(ElementResult.from_server(name, "ExpressRouteGateway", server, end_ns))
    for name, server in sorted(dataplane.circuits.items()):
        elements.append(ElementResult.from_server(name, "ExpressRouteCircuit", server, end_ns))
    for name, server in sorted(dataplane.nics.items()):
        elements.append(ElementResult.from_server(f"nic/{name}", "Nic", server, end_ns))
    for name, link in sorted(dataplane.peering_links.items()):
        elements.append(
            ElementResult(
                f"peering/{name}",
                "PeeringLink",
                link.packets,
                link.bytes,
                utilisation=None,
                peak_queue_packets=0,
                drops={},
            )
        )
    # Packet-hops: traversals of queueing and delay elements (NICs, tunnel and gateway servers,
    # peering links, legs); virtual-switch visits are counted apart.
    hops = sum(e.packets for e in elements) + sum(d.arrivals for d in dataplane.delays)
    return SimulationResult(
        flows=tuple(flow_results),
        elements=tuple(elements),
        seed=seed,
        duration_s=horizon_s,
        end_s=sim.now / NS_PER_S,
        packet_hops=hops,
        switch_visits=sum(s.packets for s in dataplane.switches.values()),
        wall_s=wall_s,
        parameters=params,
        capture=dataplane.capture,
        engine=engine,
        events=events,
    )
