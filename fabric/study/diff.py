"""What a change does: findings added and removed, effective routes that differ per subnet,
reachability pairs whose answer changes (with the reason before and after) and, with a
scenario's traffic, each flow's simulated throughput and latency before and after.

Both sides may come from any format (native YAML before, an ARM template after): the
comparison is of the model. Routes come from ``ControlPlane.routes``, reachability from
``fabric.study.matrix`` (so from ``fabric.control.forwarding``), findings from
``fabric.checks.validate``, flows from ``fabric.sim.runs.simulate``: nothing is re-decided here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from fabric.checks import validate
from fabric.checks.traffic import check_traffic
from fabric.control.plane import ControlPlane
from fabric.model import Fabric, Finding, FlowSpec, TrafficError
from fabric.sim.plans import SimulationError
from fabric.sim.runs import simulate
from fabric.study.matrix import Matrix, matrix, service_label

ABSENT = "Absent"  # a pair whose endpoint one side does not have


@attrs.frozen(slots=True)
class RouteChange:
    """The effective routes of one subnet that only one side has (rows of ``routes --json``)."""

    vnet: str
    subnet: str
    added: tuple[dict, ...]
    removed: tuple[dict, ...]

    def to_json(self) -> dict:
        return {
            "vnet": self.vnet,
            "subnet": self.subnet,
            "added": list(self.added),
            "removed": list(self.removed),
        }


@attrs.frozen(slots=True)
class ReachabilityChange:
    """A pair (and service) whose answer differs: status and reason code on each side."""

    src: str
    dst: str
    protocol: str
    port: int | None
    before: str  # Reachable | Unreachable | Absent
    after: str
    reason_before: str | None
    reason_after: str | None

    @property
    def reason_code(self) -> str | None:
        """The code that explains the change: why it breaks, or what stopped it before."""
        return self.reason_after or self.reason_before

    def to_json(self) -> dict:
        return {
            "src": self.src,
            "dst": self.dst,
            "protocol": self.protocol,
            "port": self.port,
            "before": self.before,
            "after": self.after,
            "reason_code": self.reason_code,
            "reason_before": self.reason_before,
            "reason_after": self.reason_after,
        }

    def __str__(self) -> str:
        def side(status: str, code: str | None) -> str:
            return f"{status} ({code})" if code else status

        return (
            f"{self.src} -> {self.dst} {service_label(self.protocol, self.port)}: "
            f"{side(self.before, self.reason_before)} -> {side(self.after, self.reason_after)}"
        )


@attrs.frozen(slots=True)
class FlowChange:
    """One flow of the scenario, simulated on both sides (None and an error when it could not
    be simulated on a side)."""

    name: str
    before: dict | None
    after: dict | None
    error_before: str | None = None
    error_after: str | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "error_before": self.error_before,
            "error_after": self.error_after,
        }

    def __str__(self) -> str:
        return f"{self.name}: {_flow_text(self.before, self.error_before)} -> " + _flow_text(
            self.after, self.error_after
        )


def _flow_text(summary: dict | None, problem: str | None) -> str:
    if summary is None:
        return f"not simulated ({problem})"
    latency = summary["latency_ms"]["mean"]
    mean = f"{latency:.3f} ms" if latency is not None else "-"
    return f"{summary['throughput_mbps']:.1f} Mbps, mean latency {mean}, {summary['path']}"


@attrs.frozen(slots=True, eq=False)
class Diff:
    """The answer of ``diff``."""

    findings_added: tuple[Finding, ...]
    findings_removed: tuple[Finding, ...]
    routes: tuple[RouteChange, ...]
    reachability: tuple[ReachabilityChange, ...]
    traffic: tuple[FlowChange, ...] | None = None
    before_matrix: Matrix | None = attrs.field(default=None, repr=False)
    after_matrix: Matrix | None = attrs.field(default=None, repr=False)

    @property
    def reachability_changed(self) -> bool:
        """True when any pair's reachability differs (``vnetsim diff`` exits 1)."""
        return bool(self.reachability)

    def to_json(self) -> dict:
        """DESIGN.md's ``diff --json`` shape (``traffic`` only when a scenario was given)."""
        out: dict[str, Any] = {
            "findings": {
                "added": [f.to_json() for f in self.findings_added],
                "removed": [f.to_json() for f in self.findings_removed],
            },
            "routes": [change.to_json() for change in self.routes],
            "reachability": [change.to_json() for change in self.reachability],
        }
        if self.traffic is not None:
            out["traffic"] = [flow.to_json() for flow in self.traffic]
        return out

    def __str__(self) -> str:
        lines = [
            f"findings: {len(self.findings_added)} added, {len(self.findings_removed)} removed"
        ]
        lines += [f"  + {f}" for f in self.findings_added]
        lines += [f"  - {f}" for f in self.findings_removed]
        lines.append(f"effective routes: {len(self.routes)} subnet(s) differ")
        for change in self.routes:
            lines.append(f"  {change.vnet}/{change.subnet}")
            lines += [f"    + {_route_text(row)}" for row in change.added]
            lines += [f"    - {_route_text(row)}" for row in change.removed]
        lines.append(f"reachability: {len(self.reachability)} pair(s) change")
        lines += [f"  {change}" for change in self.reachability]
        if self.traffic is not None:
            lines.append(f"traffic: {len(self.traffic)} flow(s), before -> after")
            lines += [f"  {flow}" for flow in self.traffic]
        return "\n".join(lines)

    def frame(self):
        """The reachability changes as a pandas DataFrame (needs the ``frame`` extra)."""
        from fabric.model.frames import data_frame

        return data_frame(change.to_json() for change in self.reachability)


def _route_text(row: dict) -> str:
    hops = ",".join(row["next_hop_ip_address"])
    name = f" ({row['name']})" if row.get("name") else ""
    return (
        f"{row['source']:<22}{row['state']:<8} {row['address_prefixes'][0]:<18} "
        f"{row['next_hop_type']} {hops}{name}".rstrip()
    )


# -- computing one -----------------------------------------------------------------------------


def diff(
    before: Fabric,
    after: Fabric,
    *,
    protocol: str | None = None,
    port: int | None = None,
    hosts: bool = False,
    traffic: Iterable[FlowSpec | Mapping[str, Any]] | None = None,
    simulation: Mapping[str, Any] | None = None,
) -> Diff:
    """What changes from ``before`` to ``after``.

    Reachability is compared over the matrix of each side (``protocol``/``port`` or the common
    set, subnets or with ``hosts`` declared VMs). ``traffic`` (a scenario's flows) is simulated
    on both, with ``simulation``'s seed, duration and parameters.
    """
    old_plane, new_plane = ControlPlane(before), ControlPlane(after)
    added, removed = _findings(validate(before), validate(after))
    old = matrix(old_plane, protocol=protocol, port=port, hosts=hosts)
    new = matrix(new_plane, protocol=protocol, port=port, hosts=hosts, services=old.services)
    flows = None
    if traffic is not None:
        flows = _traffic(before, after, list(traffic), dict(simulation or {}))
    return Diff(
        added,
        removed,
        _routes(old_plane, new_plane),
        _reachability(old, new),
        flows,
        old,
        new,
    )


def _findings(old: list[Finding], new: list[Finding]) -> tuple[tuple, tuple]:
    before, after = set(old), set(new)
    return (
        tuple(f for f in dict.fromkeys(new) if f not in before),
        tuple(f for f in dict.fromkeys(old) if f not in after),
    )


def _subnets(plane: ControlPlane) -> list[tuple[str, str]]:
    return [(v.name, s.name) for v in plane.fabric.vnets.values() for s in v.subnets]


def _route_rows(plane: ControlPlane, key: tuple[str, str] | None) -> dict[str, dict]:
    if key is None:
        return {}
    rows = {}
    for route in plane.routes(*key).listing:
        row = route.to_json()
        rows[repr(sorted((k, str(v)) for k, v in row.items()))] = row
    return rows


def _routes(old: ControlPlane, new: ControlPlane) -> tuple[RouteChange, ...]:
    before, after = set(_subnets(old)), set(_subnets(new))
    changes = []
    for key in [*_subnets(old), *(k for k in _subnets(new) if k not in before)]:
        rows_before = _route_rows(old, key if key in before else None)
        rows_after = _route_rows(new, key if key in after else None)
        added = tuple(row for k, row in rows_after.items() if k not in rows_before)
        gone = tuple(row for k, row in rows_before.items() if k not in rows_after)
        if added or gone:
            changes.append(RouteChange(key[0], key[1], added, gone))
    return tuple(changes)


def _reachability(old: Matrix, new: Matrix) -> tuple[ReachabilityChange, ...]:
    def index(m: Matrix) -> dict:
        return {(p.src, p.dst, p.protocol, p.port): p for p in m.pairs}

    before, after = index(old), index(new)
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        was, now = before.get(key), after.get(key)
        old_status = was.connection_status if was else ABSENT
        new_status = now.connection_status if now else ABSENT
        if old_status != new_status:
            changes.append(
                ReachabilityChange(
                    *key,
                    old_status,
                    new_status,
                    was.reason_code if was else None,
                    now.reason_code if now else None,
                )
            )
    return tuple(changes)


def _traffic(
    before: Fabric, after: Fabric, traffic: list, simulation: dict
) -> tuple[FlowChange, ...]:
    names = [t.name if isinstance(t, FlowSpec) else str(dict(t).get("name")) for t in traffic]
    old = _simulate(before, traffic, simulation)
    new = _simulate(after, traffic, simulation)
    return tuple(
        FlowChange(name, old[0].get(name), new[0].get(name), old[1].get(name), new[1].get(name))
        for name in names
    )


def _simulate(fabric: Fabric, traffic: list, simulation: dict) -> tuple[dict, dict]:
    """Per-flow summaries and per-flow errors: flows whose hosts this side lacks are left out
    (with the reason), the others are simulated together."""
    mappings = [attrs.asdict(t) if isinstance(t, FlowSpec) else dict(t) for t in traffic]
    problems: dict[str, str] = {}
    for finding in check_traffic(fabric, mappings):
        if finding.severity == "Error":
            for resource in finding.resources:
                problems.setdefault(resource.removeprefix("traffic/"), finding.message)
    runnable = [m for m in mappings if str(m.get("name")) not in problems]
    if not runnable:
        return {}, problems
    try:
        result = simulate(
            fabric,
            runnable,
            duration_s=simulation.get("duration_s"),
            seed=simulation.get("seed", 1),
            parameters=simulation.get("parameters"),
            samples=False,  # summaries only
        )
    except (TrafficError, SimulationError, ValueError) as problem:
        return {}, problems | {str(m.get("name")): str(problem) for m in runnable}
    summaries = {}
    for flow in result.flows:
        row = flow.to_json()
        summaries[flow.name] = {
            key: row[key]
            for key in ("sent", "delivered", "dropped", "throughput_mbps", "steady_mbps")
        } | {"latency_ms": row["latency_ms"], "path": row["path"]}
    return summaries, problems
