"""Events on the engine: failures, repairs and configuration changes at their times.

An ``EventRunner`` schedules a scenario's events (``fabric.model.events.Event``) and plays each
through the handler registered for its action in ``HANDLERS`` (adding an action is one
``@handles`` function here plus its row in ``fabric.model.events.ACTIONS``). Two kinds of
effect:

* Elements fail and recover (gateway instances, tunnels, VMs, peering links): their gates
  (``fabric.sim.dataplane.Gate``) drop the packets that reach them, with a code, and what an
  element held when it failed (its queue, the packet in service, packets on a peering link)
  is dropped with the same code. The control plane does not change: routes still point at the
  failed element, as Azure's do until something withdraws them.
* Configuration changes edit a copy of the Fabric (``fabric.model.events.edit``: §2.2's
  Disconnected survivor included). When a change takes effect, a new ``ControlPlane`` is
  compiled (subnet FIBs lazily, as flows ask) and every flow re-resolves its path; packets
  already on their way keep the path they were sent on and are dropped if they reach an
  element that is now down. A flow keeps its NSG flow records (§5.3, ``resolve(records=)``).

Recovery follows named parameters of ``LatencyModel``:

* active-standby gateway, active instance down: every tunnel of the gateway stops until the
  standby takes over after an outage drawn uniformly from ``active_standby_planned_{min,max}_s``
  (10-15 s) or ``..._unplanned_{min,max}_s`` (60-180 s), N2.1; the standby going down costs
  nothing (but leaves no standby);
* active-active gateway, instance down: only the tunnels placed on it stop, and move to the
  other instance after ``active_active_failover_s`` (N2.2; Azure publishes no number);
* a tunnel down: static routes stay (packets are lost until it returns); routes learned over a
  BGP session are withdrawn after ``bgp_hold_time_s`` (180 s, N1.8), and traffic then takes
  another path if one exists; when the tunnel returns they come back after
  ``route_propagation_delay_s``;
* an ExpressRoute circuit's link down: what reaches the MSEE for on-premises over it is lost
  (``CircuitDown``); the BGP session's loss is detected after ``bfd_detection_s`` (0.9 s, BFD
  300 ms x 3, on by default on private peering, N1.8) or, on a circuit with ``bfd: false``,
  ``bgp_hold_time_s`` (180 s); the withdrawal of the routes learned over the circuit reaches
  the NICs ``route_propagation_delay_s`` later, and traffic then takes the other path (a VPN,
  another circuit) if one offers the prefix. The link back: routes return after
  ``route_propagation_delay_s``. The MSEE's hairpin between linked VNets does not cross the
  link and carries on;
* route table edits and new peerings take effect after ``route_propagation_delay_s`` (§2.7:
  "a few seconds"); a deleted peering and NSG rule changes act at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from fabric.catalogue.latency import LatencyModel
from fabric.control.connections import partner, runs_bgp
from fabric.control.forwarding import CircuitHop, Drop, TunnelHop
from fabric.control.plane import ControlPlane
from fabric.model import ExpressRouteCircuit, Fabric
from fabric.model.events import (
    ACTIONS,
    Event,
    EventError,
    edit,
    vm_names,
    without_circuit_routes,
)
from fabric.sim.dataplane import Dataplane, home_instance
from simulator import Simulation
from simulator.units import NS_PER_S

Handler = Callable[["EventRunner", int, Event], None]
HANDLERS: dict[str, Handler] = {}


def handles(action: str) -> Callable[[Handler], Handler]:
    """Register the handler of ``action`` (a name of ``fabric.model.events.ACTIONS``)."""

    def register(handler: Handler) -> Handler:
        if action not in ACTIONS:
            raise ValueError(f"{action!r} is not in fabric.model.events.ACTIONS")
        HANDLERS[action] = handler
        return handler

    return register


@attrs.frozen(slots=True)
class EventOutcome:
    """What one event did: its effects in time order (seconds, sentence), the flows' packets
    it cost, and the outage it drew (an active-standby failover), if any."""

    index: int
    at_s: float
    action: str
    target: str
    label: str
    effects: tuple[tuple[float, str], ...]
    packets_lost: int
    outage_s: float | None = None

    def to_json(self) -> dict:
        data = {
            "index": self.index,
            "at_s": self.at_s,
            "action": self.action,
            "target": self.target,
            "effects": [{"at_s": round(t, 9), "what": what} for t, what in self.effects],
            "packets_lost": self.packets_lost,
        }
        if self.outage_s is not None:
            data["outage_s"] = round(self.outage_s, 6)
        return data


class GatewayRuntime:
    """The two instances of one VPN gateway during a run (N2.3): which are up; for
    active-standby which one is active (None while the standby takes over); for active-active
    which instances' tunnels have moved to the other one."""

    def __init__(self, name: str, active_active: bool) -> None:
        self.name = name
        self.active_active = active_active
        self.up = [True, True]
        self.active: int | None = 0
        self.failing = False  # active-standby: a takeover is under way
        self.outage: tuple[Drop, int] | None = None  # why it carries nothing, and the event
        self.moved: set[int] = set()
        self.lost: dict[int, tuple[Drop, int]] = {}  # active-active: per instance

    def serving(self, home: int) -> tuple[int | None, tuple[Drop, int] | None]:
        """The instance that carries tunnels placed on ``home`` now, or None and why not."""
        if not self.active_active:
            return (self.active, None) if self.active is not None else (None, self.outage)
        if self.up[home]:
            return home, None
        other = 1 - home
        if home in self.moved and self.up[other]:
            return other, None
        return None, self.lost.get(other if home in self.moved else home, self.lost.get(home))


class EventRunner:
    """Plays ``events`` on ``dataplane`` during a run of ``horizon_ns``; ``flows`` re-resolve
    their paths when the control plane changes."""

    def __init__(
        self,
        sim: Simulation,
        dataplane: Dataplane,
        params: LatencyModel,
        events: Sequence[Event],
        flows: Sequence,
        horizon_ns: int,
    ) -> None:
        self.sim = sim
        self.dataplane = dataplane
        self.params = params
        self.events = list(events)
        self.flows = list(flows)
        self.horizon_ns = horizon_ns
        self.declared = dataplane.plane.fabric.copy()  # settings a re-created link takes
        self.fabric = dataplane.plane.fabric.copy()  # the configuration now in effect
        self.gateways = {
            g.name: GatewayRuntime(g.name, g.active_active)
            for g in self.fabric.gateways.values()
            if g.gateway_type == "Vpn"
        }
        self.forced: dict[str, tuple[Drop, int]] = {}  # tunnels taken down, by connection
        self.withdrawn: dict[str, str | None] = {}  # connection -> its status before BGP lost it
        # circuits whose link failed: the record before its routes were withdrawn, and those
        # whose session loss is detected but not yet withdrawn at the NICs
        self.circuit_routes: dict[str, ExpressRouteCircuit] = {}
        self.detected: set[str] = set()
        self.effects: list[list[tuple[int, str]]] = [[] for _ in self.events]
        self.drawn: dict[int, float] = {}

    # -- scheduling

    def start(self) -> None:
        """Schedule every event inside the run; note the ones after its end."""
        for index in sorted(range(len(self.events)), key=lambda i: self.events[i].at_s):
            at = round(self.events[index].at_s * NS_PER_S)
            if at >= self.horizon_ns:
                self.effects[index].append((at, "not reached: after the end of the run"))
                continue
            self.sim.schedule_at(at, self._fire, index)

    def _fire(self, index: int) -> None:
        event = self.events[index]
        HANDLERS[event.action](self, index, event)

    def note(self, index: int, what: str) -> None:
        """Record what event ``index`` did now."""
        self.effects[index].append((self.sim.now, what))

    def after(self, index: int, delay_s: float, action: Callable[[], None], what: str) -> None:
        """Run ``action`` ``delay_s`` from now, if that is inside the run (else note that
        ``what`` would happen after its end)."""
        delay = round(delay_s * NS_PER_S)
        if self.sim.now + delay >= self.horizon_ns:
            self.note(
                index,
                f"{what} would come at {(self.sim.now + delay) / NS_PER_S:.3f} s, "
                "after the end of the run",
            )
            return
        self.sim.schedule(delay, lambda _: action())

    def draw_outage(self, index: int, planned: bool) -> tuple[float, float, float]:
        """An active-standby failover's outage, uniform on the documented range (N2.1), from
        the event's own random stream: (outage, low, high) in seconds."""
        p = self.params
        if planned:
            low, high = p.active_standby_planned_min_s, p.active_standby_planned_max_s
        else:
            low, high = p.active_standby_unplanned_min_s, p.active_standby_unplanned_max_s
        outage = float(self.sim.stream(f"event/{index}").uniform(low, high))
        self.drawn[index] = outage
        return outage, low, high

    # -- losses

    def lose(self, packets: list, drop: Drop, cause: int) -> None:
        """Drop what a failed element held."""
        for packet in packets:
            if getattr(packet.flow, "stats", None) is not None:
                self.dataplane.lost[cause] += 1
            packet.flow.dropped(packet, drop)

    def flush_instance(self, gateway: str, index: int, drop: Drop, cause: int) -> None:
        """Drop the packets a gateway instance's server holds (the one server of an
        active-standby gateway stands for its active instance)."""
        servers = self.dataplane.instances.get(gateway)
        if servers and index < len(servers) and len(set(servers)) == len(servers):
            # (an active-active gateway's instances share one server: what it holds is not
            # the failed instance's alone, and its tunnels' gates stop what comes next)
            self.lose(servers[index].flush(), drop, cause)

    # -- the state of tunnels and transit, from the gateways and the tunnels taken down

    def tunnel_state(self, name: str) -> tuple[int | None, tuple[Drop, int] | None]:
        """(the local instance carrying connection ``name``, None) or (None, why it is down)."""
        if name in self.forced:
            return None, self.forced[name]
        connection = self.fabric.connections[name]
        local = self.gateways.get(connection.from_gateway)
        if local is None:
            return 0, None
        serving, reason = local.serving(home_instance(self.fabric, name, 2))
        if serving is None:
            return None, reason
        back = partner(self.fabric, connection) if connection.connection_type != "IPsec" else None
        remote = self.gateways.get(back.from_gateway) if back is not None else None
        if remote is not None:
            far, why = remote.serving(home_instance(self.fabric, back.name, 2))
            if far is None:
                return None, why
        return serving, None

    def refresh(self) -> None:
        """Open and close the gates of tunnels and gateway transit, move active-active tunnels
        to the instance that serves them, and drop what a tunnel that just failed held."""
        dataplane = self.dataplane
        for name in sorted(self.fabric.connections):
            if self.fabric.connections[name].connection_type not in ("Vnet2Vnet", "IPsec"):
                continue
            serving, reason = self.tunnel_state(name)
            gate = dataplane.gate(f"tunnel/{name}")
            tunnel = dataplane.tunnels.get(name)
            if reason is None:
                gate.down = gate.cause = None
                if tunnel is not None:
                    servers = dataplane.instances[self.fabric.connections[name].from_gateway]
                    tunnel.instance = servers[serving if len(servers) > 1 else 0]
                continue
            was_up = gate.down is None
            gate.down, gate.cause = reason
            if was_up and tunnel is not None:
                self.lose(tunnel.server.flush(), *reason)
        for name, runtime in self.gateways.items():
            gate = dataplane.gate(f"transit/{name}")
            serving, reason = runtime.serving(0)
            if reason is None:
                gate.down = gate.cause = None
                servers = dataplane.instances.get(name)
                if servers:
                    gate.server = servers[serving if len(servers) > 1 else 0]
            else:
                gate.down, gate.cause = reason

    # -- configuration

    def apply(self, fabric: Fabric, cause: int) -> None:
        """Make ``fabric`` the configuration in effect: compile a new control plane, re-resolve
        every flow, and close the gates of peering links that no longer carry traffic."""
        self.fabric = fabric
        old = self.dataplane.plane
        plane = ControlPlane(fabric, latency=self.params, **old.switches())
        dataplane = self.dataplane
        dataplane.plane = plane
        dataplane.cause = cause
        try:
            for flow in self.flows:
                flow.reroute(dataplane)
        finally:
            dataplane.cause = None
        now_s = self.sim.now / NS_PER_S
        for name, gate in sorted(dataplane.gates.items()):
            if not name.startswith("peering/"):
                continue
            vnet, _, link_name = name.removeprefix("peering/").partition("/")
            link = fabric.peerings.get((vnet, link_name))
            state = plane.peerings.state(link) if link is not None else "deleted"
            if state == "Connected":
                gate.down = gate.cause = None
                continue
            if gate.down is None:
                gate.down = Drop(
                    "PeeringNotConnected",
                    f"{vnet}/{link_name} is {state} since {now_s:g} s: packets on it are lost",
                    (f"peering/{vnet}/{link_name}",),
                    issue="PeeringNotConnected",
                )
                gate.cause = cause
                link_node = dataplane.peering_links.get(f"{vnet}/{link_name}")
                if link_node is not None:
                    self.lose(link_node.flush(), gate.down, cause)
        self.refresh()

    def change(self, index: int, event: Event) -> None:
        """Apply a configuration event to the configuration now in effect."""
        try:
            fabric, what = edit(event, self.fabric, self.declared)
        except EventError as problem:
            self.note(index, f"no effect: {problem}")
            return
        self.apply(fabric, index)
        self.note(index, f"{what}; flows re-resolved")

    def results(self) -> tuple[EventOutcome, ...]:
        """What each event did, in the order the scenario lists them."""
        return tuple(
            EventOutcome(
                index,
                event.at_s,
                event.action,
                event.target,
                event.label(),
                tuple((t / NS_PER_S, what) for t, what in self.effects[index]),
                self.dataplane.lost.get(index, 0),
                self.drawn.get(index),
            )
            for index, event in enumerate(self.events)
        )


# -- handlers ---------------------------------------------------------------------------------


def _seconds(run: EventRunner) -> str:
    return f"{run.sim.now / NS_PER_S:g} s"


def _homed(run: EventRunner, gateway: str, instance: int) -> list[str]:
    return sorted(
        name
        for name, c in run.fabric.connections.items()
        if c.from_gateway == gateway and home_instance(run.fabric, name, 2) == instance
    )


@handles("gateway_instance_down")
def _instance_down(run: EventRunner, index: int, event: Event) -> None:
    gateway = run.gateways[event.target]
    i = event.instance
    assert i is not None
    kind = "planned maintenance" if event.planned else "unplanned failure"
    if not gateway.up[i]:
        run.note(index, f"instance {i} of {gateway.name} is already down: no change")
        return
    gateway.up[i] = False
    if gateway.active_active:
        failover = run.params.active_active_failover_s
        drop = Drop(
            "GatewayInstanceDown",
            f"instance {i} of active-active gateway {gateway.name} went down at {_seconds(run)} "
            f"({kind}); its tunnels move to instance {1 - i} after {failover:g} s "
            "(active_active_failover_s, N2.2)",
            (f"gateway/{gateway.name}",),
        )
        gateway.lost[i] = (drop, index)
        run.flush_instance(gateway.name, i, drop, index)
        tunnels = ", ".join(_homed(run, gateway.name, i)) or "none"
        run.note(
            index,
            f"instance {i} of {gateway.name} down ({kind}): its tunnels ({tunnels}) "
            "stop carrying traffic",
        )

        def move() -> None:
            if gateway.up[i]:
                return  # back before the move
            gateway.moved.add(i)
            if gateway.up[1 - i]:
                run.note(index, f"tunnels of instance {i} moved to instance {1 - i}")
            else:
                run.note(index, f"instance {1 - i} is down too: {gateway.name} carries nothing")
            run.refresh()

        run.after(index, failover, move, f"the move to instance {1 - i}")
    elif gateway.active is None:
        run.note(index, f"instance {i} of {gateway.name} down ({kind}) while it carries nothing")
        return
    elif gateway.active != i:
        run.note(
            index,
            f"standby instance {i} of {gateway.name} down ({kind}): no interruption, but no "
            "standby until it returns",
        )
        return
    else:
        outage, low, high = run.draw_outage(index, event.planned)
        drop = Drop(
            "GatewayFailover",
            f"active instance {i} of gateway {gateway.name} went down at {_seconds(run)} "
            f"({kind}); the standby takes over after {outage:.1f} s (N2.1: {low:g}-{high:g} s)",
            (f"gateway/{gateway.name}",),
        )
        gateway.active = None
        gateway.failing = True
        gateway.outage = (drop, index)
        run.flush_instance(gateway.name, 0, drop, index)
        run.note(
            index,
            f"active instance {i} of {gateway.name} down ({kind}): every tunnel of the gateway "
            f"stops; the standby takes over in {outage:.1f} s (drawn from {low:g}-{high:g} s)",
        )

        def take_over() -> None:
            gateway.failing = False
            for candidate in (1 - i, i):
                if gateway.up[candidate]:
                    gateway.active = candidate
                    gateway.outage = None
                    run.note(index, f"instance {candidate} is active: tunnels carry traffic again")
                    break
            else:
                gateway.outage = (
                    Drop(
                        "GatewayInstanceDown",
                        f"both instances of gateway {gateway.name} are down",
                        (f"gateway/{gateway.name}",),
                    ),
                    index,
                )
                run.note(index, f"no instance of {gateway.name} is up: down until one returns")
            run.refresh()

        run.after(index, outage, take_over, "the standby's takeover")
    run.refresh()


@handles("gateway_instance_up")
def _instance_up(run: EventRunner, index: int, event: Event) -> None:
    gateway = run.gateways[event.target]
    i = event.instance
    assert i is not None
    if gateway.up[i]:
        run.note(index, f"instance {i} of {gateway.name} is already up: no change")
        return
    gateway.up[i] = True
    if gateway.active_active:
        gateway.moved.discard(i)
        gateway.lost.pop(i, None)
        run.note(index, f"instance {i} of {gateway.name} back: its tunnels return to it")
    elif gateway.active is None and not gateway.failing:
        gateway.active = i
        gateway.outage = None
        run.note(index, f"instance {i} of {gateway.name} back and active: tunnels carry traffic")
    else:
        run.note(index, f"instance {i} of {gateway.name} back, as the standby")
    run.refresh()


def _pair(run: EventRunner, name: str) -> list[str]:
    connection = run.fabric.connections[name]
    back = partner(run.fabric, connection) if connection.connection_type != "IPsec" else None
    return [name] + ([back.name] if back is not None else [])


@handles("tunnel_down")
def _tunnel_down(run: EventRunner, index: int, event: Event) -> None:
    pair = _pair(run, event.target)
    if all(name in run.forced for name in pair):
        run.note(index, f"the tunnel of {event.target} is already down: no change")
        return
    for name in pair:
        run.forced[name] = (
            Drop(
                "TunnelDown",
                f"the IPsec tunnel of {' / '.join(pair)} went down at {_seconds(run)}",
                (f"connection/{name}",),
                issue="VpnConnectionNotConnected",
            ),
            index,
        )
    run.note(index, f"tunnel {' / '.join(pair)} down: packets into it are lost")
    run.refresh()
    connection = run.fabric.connections[event.target]
    if not runs_bgp(run.fabric, connection):
        run.note(index, "static routes stay in place: traffic for them is lost until it returns")
        return
    hold = run.params.bgp_hold_time_s

    def withdraw() -> None:
        if run.forced.get(event.target, (None, None))[1] != index:
            return  # the tunnel came back first
        fabric = run.fabric.copy()
        for name in pair:
            run.withdrawn[name] = fabric.connections[name].connection_status
            fabric.connections[name] = attrs.evolve(
                fabric.connections[name], connection_status="NotConnected"
            )
        run.apply(fabric, index)
        run.note(
            index,
            f"BGP hold timer expired ({hold:g} s, bgp_hold_time_s): routes learned over "
            f"{event.target} withdrawn; flows re-resolved",
        )

    run.after(index, hold, withdraw, "the BGP hold timer's expiry")


@handles("tunnel_up")
def _tunnel_up(run: EventRunner, index: int, event: Event) -> None:
    pair = _pair(run, event.target)
    if not any(name in run.forced for name in pair):
        run.note(index, f"the tunnel of {event.target} is already up: no change")
        return
    for name in pair:
        run.forced.pop(name, None)
    run.note(index, f"tunnel {' / '.join(pair)} up")
    run.refresh()
    withdrawn = {name: run.withdrawn.pop(name) for name in pair if name in run.withdrawn}
    if not withdrawn:
        return
    delay = run.params.route_propagation_delay_s

    def relearn() -> None:
        fabric = run.fabric.copy()
        for name, status in withdrawn.items():
            fabric.connections[name] = attrs.evolve(
                fabric.connections[name], connection_status=status
            )
        run.apply(fabric, index)
        run.note(index, f"routes over {event.target} learned again; flows re-resolved")

    run.after(index, delay, relearn, "routes learned again")


def _exit(flow) -> str | None:
    """Where a flow leaves its VNets for on-premises or another VNet over a gateway: a circuit
    or a VPN connection (None: neither, e.g. over peering)."""
    path = flow.forwarding
    if path.drop is not None:
        return f"nowhere ({path.drop.code})"
    for step in path.steps:
        if isinstance(step, CircuitHop) and not step.toward_azure:
            return f"circuit {step.circuit.name}"
        if isinstance(step, TunnelHop):
            return f"VPN connection {step.connection.name}"
    return None


def _reroute(run: EventRunner, index: int, fabric: Fabric) -> str:
    """Apply ``fabric`` and say which flows now leave another way."""
    before = {flow.spec.name: _exit(flow) for flow in run.flows}
    run.apply(fabric, index)
    moves = [
        f"{flow.spec.name} now over {now} (was {before[flow.spec.name]})"
        for flow in run.flows
        if (now := _exit(flow)) != before[flow.spec.name] and now is not None
    ]
    return "flows re-resolved" + (f": {'; '.join(moves)}" if moves else "")


@handles("circuit_link_down")
def _circuit_link_down(run: EventRunner, index: int, event: Event) -> None:
    name = event.target
    gate = run.dataplane.gate(f"circuit/{name}")
    if gate.down is not None:
        run.note(index, f"the link of circuit {name} is already down: no change")
        return
    circuit = run.fabric.express_route_circuits[name]
    p = run.params
    if circuit.bfd:
        detection = p.bfd_detection_s
        detector = f"BFD ({detection:g} s, bfd_detection_s: 300 ms x 3, N1.8)"
    else:
        detection = p.bgp_hold_time_s
        detector = f"the BGP hold timer ({detection:g} s, bgp_hold_time_s, N1.8; bfd: false)"
    gate.down = Drop(
        "CircuitDown",
        f"the link of circuit {name} to on-premises at {circuit.peering_location} went down "
        f"at {_seconds(run)}; routes still point at it until {detector} detects the loss",
        (f"express_route_circuit/{name}",),
    )
    gate.cause = index
    run.note(
        index,
        f"circuit {name} link down: packets to on-premises over it are lost until {detector} "
        "detects it and the routes learned over it are withdrawn",
    )
    delay = p.route_propagation_delay_s

    def withdraw() -> None:
        run.detected.discard(name)
        run.circuit_routes.setdefault(name, run.fabric.express_route_circuits[name])
        moved = _reroute(run, index, without_circuit_routes(run.fabric, name))
        run.note(index, f"routes learned over {name} gone from the NICs; {moved}")

    def detect() -> None:
        if gate.cause != index:
            return  # the link came back before the loss was detected
        run.detected.add(name)
        run.note(
            index,
            f"{detector} declared the BGP session over {name} down: its routes are withdrawn "
            f"and leave the NICs after {delay:g} s (route_propagation_delay_s)",
        )
        run.after(index, delay, withdraw, "the withdrawal at the NICs")

    run.after(index, detection, detect, f"the detection by {detector}")


@handles("circuit_link_up")
def _circuit_link_up(run: EventRunner, index: int, event: Event) -> None:
    name = event.target
    gate = run.dataplane.gate(f"circuit/{name}")
    if gate.down is None:
        run.note(index, f"the link of circuit {name} is already up: no change")
        return
    gate.down = gate.cause = None
    if name not in run.circuit_routes and name not in run.detected:
        run.note(index, f"circuit {name} link up before its loss was detected: routes unchanged")
        return
    delay = run.params.route_propagation_delay_s
    run.note(
        index,
        f"circuit {name} link up: the BGP session returns and its routes reach the NICs after "
        f"{delay:g} s (route_propagation_delay_s)",
    )

    def relearn() -> None:
        record = run.circuit_routes.pop(name, None)
        if record is None:
            return
        fabric = run.fabric.copy()
        fabric.express_route_circuits[name] = attrs.evolve(
            fabric.express_route_circuits[name], on_premises_prefixes=record.on_premises_prefixes
        )
        run.note(index, f"routes over {name} learned again; {_reroute(run, index, fabric)}")

    run.after(index, delay, relearn, "routes learned again")


@handles("peering_delete")
def _peering_delete(run: EventRunner, index: int, event: Event) -> None:
    run.change(index, event)  # a data path torn down: at once


@handles("nsg_rule_change")
def _nsg_rule_change(run: EventRunner, index: int, event: Event) -> None:
    run.change(index, event)  # no documented delay: at once


def _propagated(run: EventRunner, index: int, event: Event) -> None:
    delay = run.params.route_propagation_delay_s
    run.note(
        index,
        f"{event.action} made; its routes reach the NICs after {delay:g} s "
        "(route_propagation_delay_s)",
    )
    run.after(index, delay, lambda: run.change(index, event), "the change")


handles("peering_create")(_propagated)
handles("route_change")(_propagated)


@handles("vm_down")
def _vm_down(run: EventRunner, index: int, event: Event) -> None:
    vm = vm_names(run.fabric)[event.target]
    gate = run.dataplane.gate(f"vm/{vm}")
    if gate.down is not None:
        run.note(index, f"VM {vm} is already stopped: no change")
        return
    gate.down = Drop(
        "VmDown", f"VM {vm} stopped at {_seconds(run)}", (f"host/{vm}",), issue="VmNotRunning"
    )
    gate.cause = index
    nic = run.dataplane.nics.get(vm)
    if nic is not None:
        run.lose(nic.flush(), gate.down, index)
    run.note(index, f"VM {vm} stopped: it neither sends nor receives")


@handles("vm_up")
def _vm_up(run: EventRunner, index: int, event: Event) -> None:
    vm = vm_names(run.fabric)[event.target]
    gate = run.dataplane.gate(f"vm/{vm}")
    if gate.down is None:
        run.note(index, f"VM {vm} is already running: no change")
        return
    gate.down = gate.cause = None
    run.note(index, f"VM {vm} running again")
