"""Who reaches whom: the reachability of every ordered pair of subnets (or of declared VMs), for
one protocol and port or for a common set of services, each with its reason code and path.

A subnet stands for a VM in it: the first usable address that no declared VM holds (a
hypothetical NIC: the subnet's routes and NSG, no NIC NSG, as the diagnostics take it). A VM is
its NIC. Each pair is one trace through ``fabric.control.forwarding`` (nothing is re-decided
here); to check every address of a subnet rather than one VM, state an intent
(``fabric.study.intents``). GatewaySubnet and RouteServerSubnet hold no VM (§1.3, N15) and are
left out.
"""

from __future__ import annotations

import gc
import html
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path as FilePath

import attrs

from fabric.control.addressing import AddressError, parse_address, valid_networks
from fabric.control.encryption import encrypted_throughout
from fabric.control.forwarding import EPHEMERAL_PORT, PORTLESS, canonical, follow
from fabric.control.nsg import Packet5Tuple
from fabric.control.plane import ControlPlane, Location
from fabric.model import Fabric
from fabric.study.endpoints import INFRASTRUCTURE_SUBNETS
from fabric.watcher.trace import hop_names, status

# The services a matrix asks about unless told one (Tcp 22, 443, 3389, Udp 53, Icmp).
COMMON_SERVICES: tuple[tuple[str, int | None], ...] = (
    ("Tcp", 22),
    ("Tcp", 443),
    ("Tcp", 3389),
    ("Udp", 53),
    ("Icmp", None),
)
DEFAULT_PORT = 443  # a protocol named without a port: as vnetsim connectivity asks
GRID_LIMIT = 40  # beyond this many endpoints the human output summarises
REACHABLE = "Reachable"


@attrs.frozen(slots=True)
class Endpoint:
    """One row/column of the matrix: a subnet (``vnet/subnet``) or a VM, and the address that
    stands for it."""

    label: str
    vnet: str
    subnet: str
    address: str
    host: str | None = None

    def to_json(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen(slots=True)
class Pair:
    """The answer for one ordered pair and one service."""

    src: str
    dst: str
    protocol: str
    port: int | None
    connection_status: str
    reason_code: str | None
    path: tuple[str, ...]  # the names of the hops, source first
    reason: str | None = None
    latency_ms: float | None = None
    encrypted: bool = False  # no stretch of the path in the clear (fabric.control.encryption)

    @property
    def reachable(self) -> bool:
        return self.connection_status == REACHABLE

    @property
    def service(self) -> str:
        return service_label(self.protocol, self.port)

    def to_json(self) -> dict:
        """DESIGN.md's ``matrix --json`` row (and the service, reason, latency, encryption)."""
        return {
            "src": self.src,
            "dst": self.dst,
            "protocol": self.protocol,
            "port": self.port,
            "connection_status": self.connection_status,
            "reason_code": self.reason_code,
            "path": list(self.path),
            "reason": self.reason,
            "latency_ms": self.latency_ms,
            "encrypted": self.encrypted,
        }


def service_label(protocol: str, port: int | None) -> str:
    return protocol if port is None else f"{protocol}/{port}"


@attrs.frozen(slots=True, eq=False)
class Matrix:
    """Reachability of every ordered pair of endpoints, for each service."""

    endpoints: tuple[Endpoint, ...]
    services: tuple[tuple[str, int | None], ...]
    pairs: tuple[Pair, ...]

    def to_json(self) -> dict:
        """DESIGN.md's ``matrix --json`` shape: ``{"pairs": [...]}`` (with the endpoints and
        services asked about)."""
        return {
            "pairs": [pair.to_json() for pair in self.pairs],
            "endpoints": [endpoint.to_json() for endpoint in self.endpoints],
            "services": [{"protocol": p, "port": n} for p, n in self.services],
        }

    def pair(self, src: str, dst: str, protocol: str | None = None, port: int | None = None):
        """The pair ``src`` -> ``dst`` (for the only service, or the one named)."""
        for pair in self.pairs:
            same = protocol is None or (pair.protocol == protocol and pair.port == port)
            if pair.src == src and pair.dst == dst and same:
                return pair
        raise KeyError(f"no pair {src} -> {dst}" + (f" for {protocol}/{port}" if protocol else ""))

    def counts(self) -> Counter:
        """How many pairs end in each status or reason code."""
        return Counter(pair.reason_code or REACHABLE for pair in self.pairs)

    def frame(self):
        """The pairs as a pandas DataFrame (needs the ``frame`` extra)."""
        from fabric.model.frames import data_frame

        rows = [pair.to_json() | {"path": " > ".join(pair.path)} for pair in self.pairs]
        return data_frame(rows)

    # -- human output

    def __str__(self) -> str:
        if len(self.endpoints) > GRID_LIMIT:
            return self._summary()
        return "\n\n".join(self._grid(service) for service in self.services)

    def _grid(self, service: tuple[str, int | None]) -> str:
        labels = [e.label for e in self.endpoints]
        legend = _legend(p.reason_code for p in self.pairs)
        cells = {(p.src, p.dst): p for p in self.pairs if (p.protocol, p.port) == service}
        width = max(len(label) for label in labels) if labels else 0
        lines = [f"{service_label(*service)}: row reaches column? ('+' yes, letters: legend)"]
        lines.append(" " * (width + 5) + " ".join(f"{i % 100:>2}" for i in range(len(labels))))
        for i, src in enumerate(labels):
            row = []
            for dst in labels:
                pair = cells.get((src, dst))
                row.append(" ." if pair is None else f" {_mark(pair, legend)}")
            lines.append(f"{i:>3}  {src:<{width}}" + " " + " ".join(row))
        for code, letter in legend.items():
            lines.append(f"  {letter}  {code}")
        return "\n".join(lines)

    def _summary(self) -> str:
        lines = [f"{len(self.endpoints)} endpoints, {len(self.pairs)} pairs (grid omitted)"]
        for service in self.services:
            counts = Counter(
                p.reason_code or REACHABLE for p in self.pairs if (p.protocol, p.port) == service
            )
            parts = ", ".join(f"{code} {n}" for code, n in counts.most_common())
            lines.append(f"  {service_label(*service)}: {parts}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(p.src)}</td><td>{html.escape(p.dst)}</td>"
            f"<td>{html.escape(p.service)}</td><td>{html.escape(p.connection_status)}</td>"
            f"<td>{html.escape(p.reason_code or '')}</td>"
            f"<td>{html.escape(' > '.join(p.path))}</td></tr>"
            for p in self.pairs
        )
        return (
            "<table><tr><th>src</th><th>dst</th><th>service</th><th>status</th><th>reason</th>"
            f"<th>path</th></tr>{rows}</table>"
        )

    # -- figures

    def figure(self):
        """A heatmap per service: rows reach columns (green), or the reason code's colour."""
        from matplotlib.patches import Patch

        from fabric.sim import figures

        labels = [e.label for e in self.endpoints]
        codes = [REACHABLE, *sorted({p.reason_code for p in self.pairs if p.reason_code})]
        colours = _colours(len(codes))
        index = {label: i for i, label in enumerate(labels)}
        size = max(4.0, min(16.0, 0.25 * len(labels) + 3))
        fig, axes = figures.figure(
            1, len(self.services), size=(size * len(self.services), size), squeeze=False
        )
        for axis, service in zip(axes[0], self.services, strict=True):
            grid = [[(1.0, 1.0, 1.0)] * len(labels) for _ in labels]
            for pair in self.pairs:
                if (pair.protocol, pair.port) == service:
                    code = pair.reason_code or REACHABLE
                    grid[index[pair.src]][index[pair.dst]] = colours[codes.index(code)]
            axis.imshow(grid, interpolation="nearest")
            axis.set_title(service_label(*service))
            ticks = range(len(labels)) if len(labels) <= GRID_LIMIT else []
            axis.set_xticks(list(ticks), [labels[i] for i in ticks], rotation=90, fontsize=6)
            axis.set_yticks(list(ticks), [labels[i] for i in ticks], fontsize=6)
            axis.set_xlabel("destination")
            axis.set_ylabel("source")
        handles = [Patch(color=colours[i], label=code) for i, code in enumerate(codes)]
        fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=7)
        fig.subplots_adjust(bottom=0.2)
        return fig

    def write(self, stem: str | FilePath) -> list[FilePath]:
        """Write the heatmap as ``stem``.png and ``stem``.svg (the SVG byte for byte stable)."""
        from fabric.sim import figures

        return figures.save(self.figure(), FilePath(stem))


def _colours(count: int) -> list[tuple[float, float, float]]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    reasons = [palette(i % 10)[:3] for i in (1, 3, 4, 5, 6, 7, 8, 9, 0)]
    return [(0.17, 0.63, 0.17), *[reasons[i % len(reasons)] for i in range(count - 1)]]


def _legend(codes: Iterable[str | None]) -> dict[str, str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    found = sorted({c for c in codes if c})
    return {code: letters[i % len(letters)] for i, code in enumerate(found)}


def _mark(pair: Pair, legend: dict[str, str]) -> str:
    return "+" if pair.reachable else legend.get(pair.reason_code or "", "?")


# -- building one ------------------------------------------------------------------------------


def services_for(protocol: str | None, port: int | None) -> tuple[tuple[str, int | None], ...]:
    """The services of a question: the one named, or the common set."""
    if protocol is None and port is None:
        return COMMON_SERVICES
    name = canonical(protocol or "Tcp", ("Tcp", "Udp", "Icmp", "Esp", "Ah"), "protocol")
    if name in PORTLESS:
        return ((name, None),)
    if port is not None and not 0 <= port <= 65535:
        from fabric.control.plane import QuestionError

        raise QuestionError(f"port {port} is outside 0-65535")
    return ((name, DEFAULT_PORT if port is None else port),)


def subnet_endpoints(plane: ControlPlane) -> list[Endpoint]:
    """One endpoint per subnet that can hold a VM, at its first usable address no VM holds."""
    endpoints = []
    for vnet in plane.fabric.vnets.values():
        held = {h.ip for h in vnet.hosts}
        for subnet in vnet.subnets:
            if subnet.name in INFRASTRUCTURE_SUBNETS:
                continue
            address = _first_free(subnet.prefixes, held)
            if address is not None:
                label = f"{vnet.name}/{subnet.name}"
                endpoints.append(Endpoint(label, vnet.name, subnet.name, address))
    return endpoints


def host_endpoints(plane: ControlPlane) -> list[Endpoint]:
    """One endpoint per declared VM NIC whose address parses."""
    endpoints = []
    for vnet in plane.fabric.vnets.values():
        for host in vnet.hosts:
            try:
                parse_address(host.ip)
            except AddressError:
                continue  # reported by validation (InvalidIpAddress)
            endpoints.append(Endpoint(host.name, vnet.name, host.subnet, host.ip, host.name))
    return endpoints


def _first_free(prefixes: tuple[str, ...], held: set[str]) -> str | None:
    """The first usable address (§1.2: after the four reserved) that no declared VM holds."""
    for net in valid_networks(prefixes):
        first = int(net.network_address) + (4 if net.version == 4 else 1)
        last = int(net.broadcast_address) - (1 if net.version == 4 else 0)
        candidates = range(first, min(last, first + 4096) + 1)
        kind = type(net.network_address)
        for value in candidates:
            text = str(kind(value))
            if text not in held:
                return text
        if first <= last:
            return str(kind(first))
    return None


def matrix(
    topology: Fabric | ControlPlane,
    *,
    protocol: str | None = None,
    port: int | None = None,
    hosts: bool = False,
    services: Iterable[tuple[str, int | None]] | None = None,
) -> Matrix:
    """Reachability of every ordered pair of subnets (``hosts``: of declared VMs).

    ``protocol``/``port`` name one service (a protocol alone: port 443); neither gives the
    common set (Tcp 22, 443, 3389, Udp 53, Icmp); ``services`` lists them explicitly.
    """
    plane = topology if isinstance(topology, ControlPlane) else ControlPlane(topology)
    asked = tuple(services) if services is not None else services_for(protocol, port)
    endpoints = host_endpoints(plane) if hosts else subnet_endpoints(plane)
    located: list[tuple[Endpoint, Location]] = []
    for endpoint in endpoints:
        try:
            location = plane.locate(endpoint.address, endpoint.vnet)
        except LookupError:
            continue  # a host outside its subnet: reported by validation
        located.append((endpoint, location))
    addresses = [parse_address(endpoint.address) for endpoint, _ in located]
    pairs = []
    shared: dict = {}  # one copy of each path and reason, however many pairs share it
    with _collector_paused():
        for protocol, port in asked:
            source_port = None if port is None else EPHEMERAL_PORT
            for i, (source, location) in enumerate(located):
                for j, (destination, _) in enumerate(located):
                    if i != j:
                        packet = Packet5Tuple(
                            protocol, addresses[i], addresses[j], source_port, port
                        )
                        pair = _pair(plane, packet, source, location, destination, shared)
                        pairs.append(pair)
    return Matrix(tuple(e for e, _ in located), asked, tuple(pairs))


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while the pairs are built: a matrix keeps
    millions of objects alive, and each full collection would walk all of them again (a fifth
    of the time at 500 spokes). Tracing a pair makes no reference cycles (a test holds it), so
    nothing waits for the collector meanwhile; it resumes as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _pair(plane, packet, source, location, destination, shared: dict) -> Pair:
    """The pair as ``connectivity`` reports it (``render``'s status, hop names, reason and
    latency), read off the path without rendering every hop."""
    path = follow(plane, location, packet)
    drop = path.drop
    names = hop_names(path)
    names = shared.setdefault(names, names)
    if drop is not None:
        reason = drop.reason
        return Pair(
            source.label,
            destination.label,
            packet.protocol,
            packet.destination_port,
            status(path),
            drop.code,
            names,
            shared.setdefault(reason, reason),
        )
    return Pair(
        source.label,
        destination.label,
        packet.protocol,
        packet.destination_port,
        status(path),
        None,
        names,
        None,
        path.latency_ms,
        encrypted_throughout(path)[0],  # no stretch of the path in the clear
    )
