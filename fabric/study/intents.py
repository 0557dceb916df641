"""Network policy as tests: intents such as "spoke1 never reaches spoke2" or "the spokes reach
on-premises on 443, through the firewall", checked exhaustively over every address and port.

An intent names sources and destinations (VNets, subnets, VMs, on-premises sites, prefixes,
``Internet``), optionally a protocol and ports, and what to expect:

* ``unreachable``: no packet from any source address to any destination address gets through,
  whatever the protocol (Tcp, Udp, Icmp unless one is named), port and source port;
* ``reachable``: every source address reaches every destination address; with a protocol
  and ports named, on each of them; without, on at least one (as a client picks its source port,
  at least one source port will do). ``through: [names]``: every packet that gets through
  passes each named appliance, gateway, connection, firewall or VNet;
* ``encrypted``: reachable, and no stretch of any path carries the packet in the clear
  (``fabric.control.encryption``);
* ``{latency_ms_below: X}``: reachable, and every path's one-way latency estimate is below X ms.

The address and port spaces are split into atoms (``fabric.study.atoms``); one representative
per atom is sent through ``fabric.control.forwarding`` (the one owner of every decision), so the
answer holds for every address, not a sample. A failing intent comes with a concrete
counterexample: source and destination address, protocol, port, the hop that decides and the
rule or route there, which ``vnetsim connectivity`` with the same arguments confirms.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path as FilePath
from typing import Any

import attrs

from fabric.control.encryption import encrypted_throughout
from fabric.control.forwarding import (
    EPHEMERAL_PORT,
    PORTLESS,
    ApplianceHop,
    Arrival,
    Crossing,
    Deliver,
    Egress,
    FirewallHop,
    GatewayHop,
    Leg,
    OnPremises,
    Path,
    TunnelHop,
    canonical,
    follow,
)
from fabric.control.nsg import Packet5Tuple
from fabric.control.plane import ControlPlane, LocateError, Location
from fabric.control.ports import PortRangeError, parse_port_ranges
from fabric.io.errors import InputError, Problem, read_text
from fabric.io.yamlsource import line_of, load_yaml
from fabric.model import Fabric, suggest
from fabric.study.atoms import FAVOURITE_PORTS, AtomIndex, Span, representative_port
from fabric.study.endpoints import EndpointError, Endpoints
from fabric.watcher.trace import Trace, render

ANY_PROTOCOLS = ("Tcp", "Udp", "Icmp")  # §5.1: what an NSG's "*" covers
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah")
ALL_PORTS = ((0, 65535),)
KEYS = ("name", "from", "to", "expect", "protocol", "port", "through", "description")
EXPECTATIONS = ("reachable", "unreachable", "encrypted", "latency_ms_below")


class IntentError(ValueError):
    """An intent that cannot be checked (a name that is not in the topology...)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


# -- intents -----------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Intent:
    """One statement about the network that must hold (see the module docstring)."""

    name: str
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    expect: str  # one of EXPECTATIONS
    protocol: str | None = None  # None: Tcp, Udp and Icmp
    ports: tuple[tuple[int, int], ...] | None = None  # None: every port
    through: tuple[str, ...] = ()
    latency_ms_below: float | None = None
    line: int | None = None

    @property
    def reachability(self) -> bool:
        """True for the expectations that need traffic to get through."""
        return self.expect != "unreachable"

    def describe(self) -> str:
        what = (
            self.expect
            if self.latency_ms_below is None
            else f"latency < {self.latency_ms_below} ms"
        )
        protocol = self.protocol or "any protocol"
        ports = (
            "" if self.ports is None else " port " + ",".join(_range_text(r) for r in self.ports)
        )
        via = f" through {', '.join(self.through)}" if self.through else ""
        return (
            f"{', '.join(self.sources)} -> {', '.join(self.destinations)} "
            f"({protocol}{ports}): {what}{via}"
        )


def _range_text(ports: tuple[int, int]) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def parse_intents(data: Any, file: str = "<intents>") -> tuple[Intent, ...]:
    """Intents from a loaded YAML/JSON document: ``{intents: [...]}`` or a list; InputError with
    every problem (file, line, the key and the fix)."""
    items = data.get("intents") if isinstance(data, dict) else data
    if isinstance(data, dict):
        extra = [k for k in data if k != "intents"]
        if extra:
            raise InputError(
                file,
                [
                    Problem(
                        extra[0],
                        "unknown key; an intents file has 'intents:'",
                        line_of(data, extra[0]),
                    )
                ],
            )
    if not isinstance(items, list) or not items:
        raise InputError(file, [Problem("intents", "expected a non-empty list of intents")])
    problems: list[Problem] = []
    intents = []
    names: set[str] = set()
    for index, item in enumerate(items):
        where = f"intents[{index}]"
        try:
            intent = _intent(item, where)
        except IntentError as problem:
            problems.append(Problem(where, str(problem), problem.line or line_of(item)))
            continue
        if intent.name in names:
            problems.append(
                Problem(where, f"intent name {intent.name!r} is used twice", intent.line)
            )
        names.add(intent.name)
        intents.append(intent)
    if problems:
        raise InputError(file, problems)
    return tuple(intents)


def load_intents(path: str | FilePath) -> tuple[Intent, ...]:
    """Read an intents file (YAML or JSON); InputError naming the file and line."""
    import yaml

    text = read_text(path)
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark
        line = mark.line + 1 if mark else None
        raise InputError(
            str(path), [Problem("", f"not valid YAML/JSON: {problem.problem or problem}", line)]
        ) from None
    except (yaml.YAMLError, RecursionError) as problem:
        raise InputError(str(path), [Problem("", f"not valid YAML/JSON: {problem}")]) from None
    return parse_intents(data, str(path))


def _intent(item: Any, where: str) -> Intent:
    if not isinstance(item, dict):
        raise IntentError(f"an intent is a mapping with {', '.join(KEYS[:4])}, got {item!r}")
    line = line_of(item)
    for key in item:
        if key not in KEYS:
            raise IntentError(f"unknown key {key!r} ({suggest(key, KEYS)})", line_of(item, key))
    for key in ("name", "from", "to", "expect"):
        if key not in item:
            raise IntentError(f"missing {key!r}", line)
    name = item["name"]
    if not isinstance(name, str) or not name:
        raise IntentError(f"name must be a non-empty string, got {name!r}", line_of(item, "name"))
    expect, below = _expectation(item["expect"], line_of(item, "expect"))
    protocol = None
    if item.get("protocol") not in (None, "*", "Any", "any"):
        try:
            protocol = canonical(str(item["protocol"]), PROTOCOLS, "protocol")
        except ValueError as problem:
            raise IntentError(str(problem), line_of(item, "protocol")) from None
    ports = None
    if item.get("port") not in (None, "*"):
        ports = _ports(item["port"], line_of(item, "port"))
        if protocol is None:
            protocol = "Tcp"  # a port without a protocol: TCP, as vnetsim connectivity asks
        if protocol in PORTLESS:
            raise IntentError(f"{protocol} has no ports; drop 'port'", line_of(item, "port"))
    through = _names(item.get("through", []), "through", line_of(item, "through"), empty=True)
    if through and expect == "unreachable":
        raise IntentError("'through' applies to traffic that gets through; drop it", line)
    return Intent(
        name,
        _names(item["from"], "from", line_of(item, "from")),
        _names(item["to"], "to", line_of(item, "to")),
        expect,
        protocol,
        ports,
        through,
        below,
        line,
    )


def _expectation(value: Any, line: int | None) -> tuple[str, float | None]:
    if isinstance(value, str) and value in EXPECTATIONS[:3]:
        return value, None
    if isinstance(value, dict) and set(value) == {"latency_ms_below"}:
        below = value["latency_ms_below"]
        if isinstance(below, bool) or not isinstance(below, int | float) or not below > 0:
            raise IntentError(
                f"latency_ms_below must be a positive number of ms, got {below!r}", line
            )
        return "latency_ms_below", float(below)
    raise IntentError(
        f"expect {value!r} is not valid; expected reachable, unreachable, encrypted or "
        "{latency_ms_below: MS}",
        line,
    )


def _names(value: Any, key: str, line: int | None, empty: bool = False) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if (not values and not empty) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) and str(v) for v in values
    ):
        raise IntentError(f"{key} must be a name or a list of names, got {value!r}", line)
    return tuple(str(v) for v in values)


def _ports(value: Any, line: int | None) -> tuple[tuple[int, int], ...]:
    values = value if isinstance(value, list) else [value]
    try:
        return parse_port_ranges(str(v) for v in values)
    except PortRangeError as problem:
        raise IntentError(f"port {value!r}: {problem}", line) from None


# -- answers -----------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Counterexample:
    """One packet that breaks an intent, and where and why (a ``connectivity`` question with
    the same arguments shows the same trace)."""

    source: str
    destination: str
    protocol: str
    port: int | None
    source_port: int | None
    code: str  # the drop code, or what was expected: Reachable, NotThrough, NotEncrypted...
    reason: str
    hop: str | None  # the hop that decides
    rule: str | None  # the NSG rule or route there
    trace: Trace = attrs.field(repr=False, eq=False)

    def to_json(self) -> dict:
        return {
            "src": self.source,
            "dst": self.destination,
            "protocol": self.protocol,
            "port": self.port,
            "source_port": self.source_port,
            "code": self.code,
            "reason": self.reason,
            "hop": self.hop,
            "rule": self.rule,
            "connection_status": self.trace.connection_status,
        }

    def command(self) -> str:
        """The ``vnetsim connectivity`` arguments that show this packet's trace."""
        port = f" --port {self.port}" if self.port is not None else ""
        if self.source_port not in (None, EPHEMERAL_PORT):
            port += f" --src-port {self.source_port}"
        return f"--src {self.source} --dst {self.destination} --protocol {self.protocol}{port}"

    def __str__(self) -> str:
        port = f" port {self.port}" if self.port is not None else ""
        where = f" at {self.hop}" if self.hop else ""
        rule = f" ({self.rule})" if self.rule else ""
        return (
            f"{self.source} -> {self.destination} {self.protocol}{port}: {self.code}{where}"
            f"{rule}: {self.reason}"
        )


@attrs.frozen(slots=True)
class IntentResult:
    """Whether one intent holds, over how many atoms, and a counterexample when it fails."""

    intent: Intent
    holds: bool
    counterexample: Counterexample | None
    atoms: int  # address-pair x protocol x port classes in the intent's space
    evaluated: int  # packets sent through the control plane to decide it
    seconds: float = attrs.field(eq=False, default=0.0)

    def to_json(self) -> dict:
        return {
            "name": self.intent.name,
            "holds": self.holds,
            "counterexample": self.counterexample.to_json() if self.counterexample else None,
            "atoms": self.atoms,
            "evaluated": self.evaluated,
        }

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "FAILS"
        head = f"{verdict:<6} {self.intent.name}: {self.intent.describe()} ({self.atoms} atoms)"
        if self.counterexample is None:
            return head
        return f"{head}\n       counterexample: {self.counterexample}"


@attrs.frozen(slots=True)
class CheckResult:
    """The answer of ``check``: every intent's result."""

    results: tuple[IntentResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.holds for result in self.results)

    def to_json(self) -> dict:
        """DESIGN.md's ``check --json`` shape."""
        return {"passed": self.passed, "intents": [r.to_json() for r in self.results]}

    def __str__(self) -> str:
        failed = sum(not r.holds for r in self.results)
        lines = [str(r) for r in self.results]
        lines.append(
            f"{len(self.results) - failed} of {len(self.results)} intents hold"
            + (f"; {failed} fail" if failed else "")
        )
        return "\n".join(lines)

    def frame(self):
        """The results as a pandas DataFrame, one row per intent (needs the ``frame`` extra)."""
        from fabric.model.frames import data_frame

        rows = []
        for result in self.results:
            row = {"name": result.intent.name, "holds": result.holds, "atoms": result.atoms}
            example = result.counterexample.to_json() if result.counterexample else {}
            rows.append(row | {f"counterexample_{k}": v for k, v in example.items()})
        return data_frame(rows)


# -- checking ----------------------------------------------------------------------------------


def check(
    topology: Fabric | ControlPlane, intents: Iterable[Intent | dict] | str | FilePath
) -> CheckResult:
    """Check every intent against the topology (see the module docstring).

    ``intents`` is a list of ``Intent`` records or mappings in the file's spelling, or the path
    of an intents file. IntentError for an intent that names what the topology lacks.
    """
    plane = topology if isinstance(topology, ControlPlane) else ControlPlane(topology)
    if isinstance(intents, str | FilePath):
        intents = load_intents(intents)
    else:
        intents = [
            i if isinstance(i, Intent) else _intent(i, f"intents[{n}]")
            for n, i in enumerate(intents)
        ]
    checker = Checker(plane)
    return CheckResult(tuple(checker.check(intent) for intent in intents))


class Checker:
    """Checks intents against one control plane, sharing its atoms and endpoint sets."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.index = AtomIndex(plane)
        self.endpoints = Endpoints(plane)

    def check(self, intent: Intent) -> IntentResult:
        started = time.perf_counter()
        try:
            sources = self.endpoints.union(intent.sources, source=True)
            destinations = self.endpoints.union(intent.destinations, source=False)
        except EndpointError as problem:
            raise IntentError(f"intent {intent.name}: {problem}", intent.line) from None
        self._known_through(intent)
        source_atoms = self.index.address_atoms(sources)
        destination_atoms = self.index.address_atoms(destinations)
        groups = self._packet_groups(intent)
        classes = sum(len(group) for group in groups)
        atoms = len(source_atoms) * len(destination_atoms) * classes
        evaluated = 0
        failure = None
        for source_atom in source_atoms:
            for location in self._locations(source_atom):
                for destination_atom in destination_atoms:
                    count, failure = self._pair(
                        intent, location, source_atom, destination_atom, groups
                    )
                    evaluated += count
                    if failure is not None:
                        break
                if failure is not None:
                    break
            if failure is not None:
                break
        return IntentResult(
            intent, failure is None, failure, atoms, evaluated, time.perf_counter() - started
        )

    # -- the space

    def _packet_groups(self, intent: Intent) -> list[list[tuple[str, int | None, int | None]]]:
        """Packet classes (protocol, port, source port) in groups: a reachability intent needs
        one packet of each group through; every class of every group is a distinct atom."""
        protocols = [intent.protocol] if intent.protocol else list(ANY_PROTOCOLS)
        source_ports = self.index.port_atoms(ALL_PORTS, source=True)

        def classes(protocol: str, port_atoms) -> list[tuple[str, int | None, int | None]]:
            if protocol in PORTLESS:
                return [(protocol, None, None)]
            return [
                (
                    protocol,
                    representative_port(port),
                    representative_port(source, EPHEMERAL_PORT),
                )
                for port in _favourite_first(port_atoms)
                for source in _favourite_first(source_ports, EPHEMERAL_PORT)
            ]

        port_atoms = self.index.port_atoms(intent.ports or ALL_PORTS)
        if intent.ports is not None:  # each named port class must get through (or none may)
            return [classes(protocol, [atom]) for protocol in protocols for atom in port_atoms]
        if intent.protocol is not None:
            return [classes(protocol, port_atoms) for protocol in protocols]
        return [[c for protocol in protocols for c in classes(protocol, port_atoms)]]

    def _locations(self, atom: Span) -> Iterator[Location]:
        """The NIC (declared or hypothetical) that sends from the atom's first address: one per
        VNet that holds it (several only when spaces overlap)."""
        address = atom.address()
        try:
            yield self.plane.locate(address)
            return
        except LocateError:
            pass
        for vnet in self.plane.vnets_containing(address):
            try:
                yield self.plane.locate(address, vnet.name)
            except LocateError:
                continue

    def _known_through(self, intent: Intent) -> None:
        known = _node_names(self.plane)
        for name in intent.through:
            if name not in known:
                raise IntentError(
                    f"intent {intent.name}: through {name!r} names no appliance, gateway, "
                    f"connection, firewall or VNet ({suggest(name, sorted(known))})",
                    intent.line,
                )

    # -- one address pair

    def _pair(self, intent, location, source_atom, destination_atom, groups):
        """Evaluate one address pair; (packets evaluated, the counterexample or None)."""
        source, destination = source_atom.address(), destination_atom.address()
        count = 0
        for group in groups:
            first: Path | None = None
            got_through = False
            for protocol, port, source_port in group:
                path = follow(
                    self.plane,
                    location,
                    Packet5Tuple(protocol, source, destination, source_port, port),
                )
                count += 1
                first = first or path
                if not intent.reachability:
                    if path.reachable:
                        return count, self._example(path, "Reachable", _reachable_reason(path))
                    continue
                if not path.reachable:
                    continue
                got_through = True
                problem = self._property(intent, path)
                if problem is not None:
                    return count, problem
                if intent.expect == "reachable" and not intent.through:
                    break  # one packet of the group through is enough
            if intent.reachability and not got_through:
                return count, self._example(first, None, None)
        return count, None

    def _property(self, intent: Intent, path: Path) -> Counterexample | None:
        """The counterexample when a path that gets through breaks the intent's condition."""
        if intent.through:
            names = _names_on(self.plane, path)
            missing = [n for n in intent.through if n not in names]
            if missing:
                return self._example(
                    path, "NotThrough", f"the path does not pass {', '.join(missing)}"
                )
        if intent.expect == "encrypted":
            encrypted, at = encrypted_throughout(path)
            if not encrypted:
                return self._example(path, "NotEncrypted", None, at)
        if intent.expect == "latency_ms_below":
            latency = path.latency_ms
            if latency is None:
                return self._example(
                    path,
                    "NoLatencyEstimate",
                    "no latency estimate for this path (a leg without data, or the internet)",
                )
            if latency >= intent.latency_ms_below:
                return self._example(
                    path,
                    "LatencyTooHigh",
                    f"estimated one-way latency {latency:.3f} ms is not below "
                    f"{intent.latency_ms_below} ms",
                )
        return None

    def _example(
        self, path: Path, code: str | None, reason: str | None, at_step: int | None = None
    ) -> Counterexample:
        trace = render(path)
        packet = path.packet
        hop, rule = None, None
        drop = path.drop
        if code is None and drop is not None:  # the packet is stopped: the first blocker
            code, reason = drop.code, drop.detail
            hop = next((h.name for h in trace.hops if h.issues), None)
            rule = _rule_of(drop)
        elif code == "NotEncrypted":
            clear = _hop_at(path, trace, at_step)
            hop = clear.name if clear else None
            reason = clear.encryption.detail if clear and clear.encryption else "not encrypted"
        elif code == "Reachable":
            hop, rule = _allowing(self.plane, path, trace)
        return Counterexample(
            str(packet.source),
            str(packet.destination),
            packet.protocol,
            packet.destination_port,
            packet.source_port,
            code or "Unreachable",
            reason or "",
            hop,
            rule,
            trace,
        )


def _favourite_first(atoms, preferred: int | None = None):
    """Port atoms, those holding ``preferred`` or a well-known port first (a counterexample
    on port 443 reads better than one on port 0)."""
    wanted = [p for p in (preferred, *FAVOURITE_PORTS) if p is not None]

    def rank(atom: tuple[int, int]) -> int:
        return next((i for i, p in enumerate(wanted) if atom[0] <= p <= atom[1]), len(wanted))

    return sorted(atoms, key=rank)


def _rule_of(drop) -> str | None:
    context = drop.context
    if context.get("RuleName") or context.get("Nsg"):
        return f"nsg {context.get('Nsg')} rule {context.get('RuleName') or '(none matched)'}"
    if context.get("Route"):
        return f"route {context['Route']} of {context.get('RouteTable', 'System Route')}"
    return ", ".join(drop.resources) or None


def _reachable_reason(path: Path) -> str:
    outcome = path.outcome
    if isinstance(outcome, Deliver):
        return f"delivered to {outcome.location.name}"
    return f"forwarded to {outcome.to}"


def _allowing(plane: ControlPlane, path: Path, trace: Trace) -> tuple[str | None, str | None]:
    """The hop and NSG rule that let a packet in (the destination's inbound verdict), or out."""
    outcome = path.outcome
    last = trace.hops[-1].name if trace.hops else None
    if isinstance(outcome, Deliver):
        verdict, _ = plane.nsg_verdict(outcome.location, "Inbound", path.packet)
    else:
        verdict, _ = plane.nsg_verdict(path.source, "Outbound", path.packet)
    if verdict.admin_configuration is not None:
        return last, (
            f"security admin configuration {verdict.admin_configuration} rule "
            f"{verdict.rule_name} ({verdict.admin_access}) allows it"
        )
    if verdict.nsg is None:
        return last, "no NSG applies"
    return last, f"nsg {verdict.nsg} rule {verdict.rule_name} allows it"


def _hop_at(path: Path, trace: Trace, at_step: int | None):
    """The trace hop of step ``at_step`` (hops are the steps that are not legs, in order)."""
    if at_step is None:
        return None
    index = sum(1 for step in path.steps[:at_step] if not isinstance(step, Leg))
    return trace.hops[index] if index < len(trace.hops) else None


def _node_names(plane: ControlPlane) -> set[str]:
    fabric = plane.fabric
    names = set(fabric.vnets) | set(fabric.gateways) | set(fabric.connections)
    names |= set(fabric.firewalls) | set(fabric.local_network_gateways)
    for vnet in fabric.vnets.values():
        for host in vnet.hosts:
            names.update((host.name, host.ip))
    names.update(f"{vnet}/{name}" for vnet, name in fabric.peerings)
    names.update(name for _, name in fabric.peerings)
    return names


def _names_on(plane: ControlPlane, path: Path) -> set[str]:
    """Everything a path passes: appliances and Azure Firewalls (name and IP), gateways,
    connections, sites, circuits, peerings and VNets."""
    names: set[str] = set()
    for step in path.steps:
        if isinstance(step, Egress | Arrival):
            names.add(step.location.vnet.name)
        elif isinstance(step, ApplianceHop):
            names.update((step.host.name, step.host.ip, step.vnet.name))
        elif isinstance(step, FirewallHop):
            names.update((step.firewall.name, str(step.address), step.vnet.name))
        elif isinstance(step, GatewayHop):
            names.update((step.gateway.name, step.vnet.name))
        elif isinstance(step, TunnelHop):
            names.update((step.connection.name, step.gateway.name))
            if step.remote_gateway is not None:
                names.add(step.remote_gateway.name)
            if step.site is not None:
                names.add(step.site.name)
        elif isinstance(step, Crossing):
            names.update((step.link.name, f"{step.vnet.name}/{step.link.name}", step.remote.name))
        elif isinstance(step, OnPremises):
            names.add(step.site.name)
    return names
