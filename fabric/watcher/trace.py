"""The connectivity trace: a forwarding Path rendered as Network Watcher's connection
troubleshoot shows it (hops with issues, a status, a reason, a latency estimate)."""

from __future__ import annotations

import html

import attrs

from fabric.control.encryption import Protection, posture
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
    OnPremises,
    Path,
    PlatformArrival,
    ServiceEndpointEgress,
    Stranded,
    TunnelHop,
    resolve,
)
from fabric.control.plane import ControlPlane
from fabric.model import ExpressRouteCircuit

REACHABLE = "Reachable"
UNREACHABLE = "Unreachable"


@attrs.frozen(slots=True)
class Issue:
    """A Network-Watcher-style issue on a hop (origin, severity, type, context)."""

    type: str
    origin: str = "Local"
    severity: str = "Error"
    context: dict[str, str] = attrs.field(factory=dict)

    def to_json(self) -> dict:
        return {
            "origin": self.origin,
            "severity": self.severity,
            "type": self.type,
            "context": dict(self.context),
        }


@attrs.frozen(slots=True)
class Hop:
    """One node the packet passes: what it is, its name and address, and what went wrong."""

    type: str
    name: str
    address: str
    issues: tuple[Issue, ...] = ()
    detail: str = ""
    # How the packet is protected on the stretch that reaches this hop (for the source: the
    # stretch it sends on); see fabric.control.encryption.
    encryption: Protection | None = None

    def to_json(self) -> dict:
        return {
            "type": self.type,
            "name": self.name,
            "address": self.address,
            "issues": [i.to_json() for i in self.issues],
            "encryption": self.encryption.to_json() if self.encryption else None,
            "detail": self.detail,
        }


@attrs.frozen(slots=True)
class Trace:
    """The result of a connectivity check (pybatfish-like: disposition, hops, reason)."""

    connection_status: str
    hops: tuple[Hop, ...]
    reason: str | None
    latency_ms: float | None
    path: Path

    @property
    def reachable(self) -> bool:
        return self.connection_status == REACHABLE

    @property
    def code(self) -> str | None:
        """The code of the first blocking cause (None when reachable)."""
        drop = self.path.drop
        return drop.code if drop else None

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of every blocking cause on the path, the first one first."""
        return tuple(drop.code for drop in self.path.blockers)

    def to_json(self) -> dict:
        """DESIGN.md's ``connectivity --json`` shape."""
        return {
            "connection_status": self.connection_status,
            "hops": [hop.to_json() for hop in self.hops],
            "reason": self.reason,
            "latency_ms": self.latency_ms,
        }

    def __str__(self) -> str:
        lines = [f"{self.connection_status}" + (f": {self.reason}" if self.reason else "")]
        # Columns as wide as their longest entry needs (at least the usual widths), so that a
        # long name never runs into the next column.
        kind_w = max([21, *(len(hop.type) for hop in self.hops)]) + 1
        name_w = max([27, *(len(hop.name) for hop in self.hops)]) + 1
        ip_w = max([15, *(len(hop.address) for hop in self.hops)]) + 1
        for i, hop in enumerate(self.hops, 1):
            problems = "; ".join(
                f"{issue.type} {' '.join(f'{k}={v}' for k, v in issue.context.items())}".strip()
                for issue in hop.issues
            )
            encryption = f"  [{hop.encryption.label}]" if hop.encryption else ""
            lines.append(
                f"  {i:>2}. {hop.type:<{kind_w}}{hop.name:<{name_w}}"
                f"{hop.address:<{ip_w}} {hop.detail}"
                + encryption
                + (f"  !! {problems}" if problems else "")
            )
        for drop in self.path.blockers[1:]:
            lines.append(f"  also blocking: {drop.reason}")
        if self.latency_ms is not None:
            lines.append(f"  estimated one-way latency: {self.latency_ms:.3f} ms")
        elif self.reachable and self.path.latency_gap:
            lines.append(f"  one-way latency unknown: {self.path.latency_gap}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{i}</td><td>{html.escape(h.type)}</td><td>{html.escape(h.name)}</td>"
            f"<td>{html.escape(h.address)}</td><td>{html.escape(h.detail)}</td>"
            f"<td>{html.escape(h.encryption.label if h.encryption else '')}</td>"
            f"<td>{html.escape('; '.join(x.type for x in h.issues))}</td></tr>"
            for i, h in enumerate(self.hops, 1)
        )
        head = html.escape(self.connection_status + (f": {self.reason}" if self.reason else ""))
        return (
            f"<p><b>{head}</b></p><table><tr><th>#</th><th>type</th><th>name</th>"
            f"<th>address</th><th>detail</th><th>encryption</th><th>issues</th></tr>{rows}</table>"
        )


def connectivity(
    plane: ControlPlane,
    source: str,
    destination: str,
    *,
    protocol: str = "Tcp",
    port: int | None = 443,
    source_port: int | None = None,
    established: bool = False,
) -> Trace:
    """Follow a packet from the NIC at ``source`` to ``destination`` (``forwarding.resolve``)
    and render its path. ``established`` traces the reply of an allowed flow."""
    path = resolve(
        plane,
        source,
        destination,
        protocol,
        port,
        source_port=source_port,
        established=established,
    )
    return render(path)


def render(path: Path) -> Trace:
    """The trace of a path: one hop per node, every blocking cause as an issue on its hop."""
    hops: list[Hop] = []
    shown, issues_at = _window(path)
    protections = posture(path)
    for index, step in enumerate(shown):
        hop = _hop(step, path, protections[index])
        if hop is not None:
            hops.append(hop)
        for drop in issues_at.get(index + 1, ()):
            _attach(hops, drop)
    for drop in issues_at.get(0, ()):
        _attach(hops, drop)
    drop = path.drop
    if drop is not None:
        return Trace(UNREACHABLE, tuple(hops), drop.reason, None, path)
    return Trace(REACHABLE, tuple(hops), None, path.latency_ms, path)


def status(path: Path) -> str:
    """The connection status ``render(path)`` reports."""
    return REACHABLE if path.reachable else UNREACHABLE


def hop_names(path: Path) -> tuple[str, ...]:
    """The names of the hops ``render(path)`` shows, in order, without building the hops (a
    matrix of a million pairs needs only these)."""
    names = []
    for step in _shown(path):
        name = hop_name(step)
        if name is not None:
            names.append(name)
    return tuple(names)


def _window(path: Path) -> tuple[tuple, dict[int, list[Drop]]]:
    """The steps a trace shows and the blocking causes by the step they follow."""
    issues_at: dict[int, list[Drop]] = {}
    for drop in path.blockers:
        issues_at.setdefault(drop.at_step, []).append(drop)
    return _shown(path), issues_at


def _shown(path: Path) -> tuple:
    """The steps a trace shows: up to the last blocking cause (at least the source)."""
    blockers = path.blockers
    if not blockers:
        last = len(path.steps)
    elif len(blockers) == 1:  # the usual case: a million of them in a matrix
        last = blockers[0].at_step
    else:
        last = max(drop.at_step for drop in blockers)
    return path.steps[: max(last, 1)]


def _attach(hops: list[Hop], drop: Drop) -> None:
    if not hops:
        return
    issue = Issue(drop.issue, drop.origin, "Error", dict(drop.context))
    hop = hops[-1]
    hops[-1] = Hop(
        hop.type, hop.name, hop.address, (*hop.issues, issue), hop.detail, hop.encryption
    )


def _hop(step, path: Path, encryption: Protection | None = None) -> Hop | None:
    hop = _node(step, path)
    if hop is None or encryption is None:
        return hop
    return Hop(hop.type, hop.name, hop.address, hop.issues, hop.detail, encryption)


_AT_A_NIC = (Egress, Arrival)  # a tuple: isinstance takes it faster than a union


def hop_name(step) -> str | None:
    """The name of the hop a step shows as (None: a leg, which is travel, not a node)."""
    if isinstance(step, _AT_A_NIC):
        return step.location.name
    if isinstance(step, Crossing):
        return f"{step.vnet.name}/{step.link.name}"
    if isinstance(step, GroupCrossing):
        return f"{step.vnet.name}/{step.group.name}"
    if isinstance(step, ApplianceHop | ApplianceEgress):
        return step.host.name
    if isinstance(step, ServiceEndpointEgress):
        return step.route.service or step.route.tag or "-"
    if isinstance(step, FirewallHop):
        return step.firewall.name
    if isinstance(step, GatewayHop):
        return step.gateway.name
    if isinstance(step, CircuitHop):
        return step.circuit.name
    if isinstance(step, TunnelHop):
        return step.site.name if step.site is not None else step.remote_gateway.name
    if isinstance(step, OnPremises):
        return step.site.name
    if isinstance(step, PlatformArrival):
        return str(step.address)
    if isinstance(step, InternetEgress):
        return "Internet"
    if isinstance(step, Stranded):
        return step.vnet.name
    return None  # legs are travel, not nodes


def _node(step, path: Path) -> Hop | None:
    name = hop_name(step)
    if name is None:
        return None
    if isinstance(step, Egress):
        where = step.location
        return Hop(
            "Source",
            name,
            str(path.packet.source),
            detail=f"{where.vnet.name}/{where.subnet.name}",
        )
    destination = str(path.packet.destination)
    if isinstance(step, Crossing):
        return Hop(step.kind, name, "-", detail=f"{step.vnet.name} -> {step.remote.name}")
    if isinstance(step, GroupCrossing):
        group = step.group
        return Hop(
            step.kind,
            name,
            "-",
            detail=f"{step.vnet.name} -> {step.remote.name}; connected group of Virtual Network "
            f"Manager configuration {group.configuration} (no peering)",
        )
    if isinstance(step, ApplianceHop):
        server = step.route.route_server
        learned = f" learned by Route Server {server.name} (BGP)" if server is not None else ""
        spread = len(step.route.next_hop_ip_address) if server is not None else 1
        ecmp = f"; ECMP over {spread} NVAs" if spread > 1 else ""
        return Hop(
            "VirtualAppliance",
            name,
            step.host.ip,
            detail=f"{step.vnet.name}/{step.host.subnet}; route {step.route.prefix}{learned}"
            + ecmp,
        )
    if isinstance(step, ApplianceEgress):
        server = step.route.route_server
        return Hop(
            "BeyondAppliance",
            name,
            destination,
            detail=f"out through NVA {step.host.name}, which announced {step.route.prefix} to "
            f"Route Server {server.name if server else '-'}: beyond it is outside the model",
        )
    if isinstance(step, ServiceEndpointEgress):
        route = step.route
        return Hop(
            "ServiceEndpoint",
            name,
            destination,
            detail=f"route {route.prefix} (VirtualNetworkServiceEndpoint, service tag "
            f"{route.tag}): to the Azure service, outside the model",
        )
    if isinstance(step, FirewallHop):
        derived = "; private IP derived (N11.5)" if step.derived else ""
        if step.verdict is None:
            decided = "reply of an allowed flow (stateful)"
        elif not step.verdict.known:
            decided = "rules not in this input: assumed to allow"
        elif step.verdict.rule is None:
            decided = "no rule matches: default deny"
        else:
            action = "Allow" if step.verdict.allowed else "Deny"
            decided = f"rule {step.verdict.collection}/{step.verdict.rule} ({action})"
        return Hop(
            "AzureFirewall",
            name,
            str(step.address),
            detail=f"{step.vnet.name}; route {step.route.prefix}; {decided}{derived}",
        )
    if isinstance(step, GatewayHop):
        how = f"route {step.route.prefix}" if step.route is not None else "no route"
        if step.circuit is not None:
            how = f"from circuit {step.circuit.name}; {how}"
        return Hop(
            "VirtualNetworkGateway",
            name,
            ", ".join(step.addresses) or "-",
            detail=f"{step.vnet.name}; {how}",
        )
    if isinstance(step, CircuitHop):
        return _circuit_hop(step)
    if isinstance(step, TunnelHop) and step.site is not None:
        return Hop(
            "LocalNetworkGateway",
            name,
            ", ".join(step.remote_addresses),
            detail=f"on premises; tunnel {step.connection.name}",
        )
    if isinstance(step, TunnelHop):
        return Hop(
            "VirtualNetworkGateway",
            name,
            ", ".join(step.remote_addresses) or "-",
            detail=f"{step.remote_vnet.name}; tunnel {step.connection.name}",
        )
    if isinstance(step, OnPremises):
        if isinstance(step.site, ExpressRouteCircuit):
            where = f"delivered on premises via circuit {step.site.name} at peering location "
            return Hop("OnPremises", name, destination, detail=where + _at(step.site))
        return Hop("OnPremises", name, destination, detail="delivered on premises")
    if isinstance(step, Arrival):
        where = step.location
        return Hop(
            "Destination",
            name,
            destination,
            detail=f"{where.vnet.name}/{where.subnet.name}; {step.how}",
        )
    if isinstance(step, PlatformArrival):
        return Hop("AzurePlatform", name, destination, detail="answered by the host")
    if isinstance(step, InternetEgress):
        nat = step.nat_gateway
        through = f"; out through NAT gateway {nat.name} (SNAT, N18.1)" if nat else ""
        return Hop("Internet", name, destination, detail=f"route {step.route.prefix}{through}")
    if isinstance(step, Stranded):
        return Hop("VnetLocal", name, destination, detail=step.how)
    return None


def _at(circuit: ExpressRouteCircuit) -> str:
    return circuit.peering_location


def _circuit_hop(step: CircuitHop) -> Hop:
    """An ExpressRoute circuit crossed, naming it and its peering location (the MSEE's metro):
    up from a gateway to the MSEE, or down from it to a gateway (the hairpin, N1.6)."""
    circuit = step.circuit
    if not step.toward_azure:
        spread = f"; ECMP over {step.ecmp} connections" if step.ecmp > 1 else ""
        detail = (
            f"up from {step.gateway.name} over {step.connection.name} to the MSEE at peering "
            f"location {_at(circuit)}{spread}"
        )
    else:
        detail = (
            f"hairpin at peering location {_at(circuit)}: down over {step.connection.name} to "
            f"{step.gateway.name}" + (f"; {step.note}" if step.note else "")
        )
    # The MSEE's address is not modelled: the hop's address is where it is, the metro.
    return Hop("ExpressRouteCircuit", circuit.name, _at(circuit), detail=detail)
