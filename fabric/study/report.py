"""A one-file HTML report of a design: the diagram, the findings by severity with their fixes,
who reaches whom, what it costs per month, and, with a scenario, the run's flows, figures and
assumptions.

The file stands alone: figures are data URIs (the diagram as SVG, the run's figures as PNG), the
style sheet is inline, there is no script and nothing is fetched, so it opens offline and can be
mailed or attached to a change request.
"""

from __future__ import annotations

import base64
import html
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from fabric.checks import has_errors, validate
from fabric.control.plane import ControlPlane
from fabric.model import Fabric, Finding
from fabric.study import render
from fabric.study.cost import CostEstimate, cost, html_table
from fabric.study.draw import layout

# Subnets that hold no workload VMs: the matrix leaves them out.
SERVICE_SUBNETS = (
    "GatewaySubnet",
    "AzureFirewallSubnet",
    "AzureFirewallManagementSubnet",
    "RouteServerSubnet",
    "AzureBastionSubnet",
)
MATRIX_LIMIT = 40  # subnets; beyond this the matrix (n x n traces) is left out of the report

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 75em; padding: 0 1em; color: #1b1b1b; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #555; } nav a { margin-right: 1em; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.sum td { background: #fafafa; }
.Error { color: #b03a2e; font-weight: bold; } .Warning { color: #b9770e; font-weight: bold; }
td.ok { background: #e8f6ec; color: #1e7b34; text-align: center; }
td.no { background: #fdecea; color: #b03a2e; font-size: 0.8em; }
td.self { background: #f3f3f3; }
code { background: #f5f5f5; padding: 0 0.2em; }
"""


@attrs.frozen(slots=True)
class MatrixPair:
    """One ordered pair of subnets and the connectivity answer between them."""

    src: str
    dst: str
    connection_status: str
    reason_code: str | None
    reason: str | None
    path: str

    def to_json(self) -> dict:
        return {
            "src": self.src,
            "dst": self.dst,
            "connection_status": self.connection_status,
            "reason_code": self.reason_code,
            "path": self.path,
        }


def reachability_pairs(
    plane: ControlPlane, *, protocol: str = "Tcp", port: int | None = 443
) -> list[MatrixPair]:
    """Every ordered pair of workload subnets and whether the first reaches the second: the
    ``vnetsim matrix`` answer (``fabric.study.matrix``) for one service."""
    from fabric.study.matrix import matrix

    grid = matrix(plane, protocol=protocol, port=port)
    return [
        MatrixPair(p.src, p.dst, p.connection_status, p.reason_code, p.reason, " > ".join(p.path))
        for p in grid.pairs
    ]


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _findings_html(findings: Sequence[Finding]) -> str:
    if not findings:
        return "<p>No findings: Azure would accept this design and nothing stops its traffic.</p>"
    parts = []
    for severity, heading in (("Error", "Errors"), ("Warning", "Warnings")):
        chosen = [f for f in findings if f.severity == severity]
        if not chosen:
            continue
        what = (
            "Azure would refuse these"
            if severity == "Error"
            else "Azure accepts these, but traffic will not flow as probably intended"
        )
        rows = "".join(
            f"<tr><td class='{severity}'>{html.escape(f.code)}</td>"
            f"<td>{html.escape(f.message)}</td>"
            f"<td>{html.escape(', '.join(f.resources))}</td></tr>"
            for f in chosen
        )
        parts.append(
            f"<h3>{heading} ({len(chosen)})</h3><p>{what}.</p>"
            "<table><tr><th>code</th><th>what is wrong and how to fix it</th>"
            f"<th>resources</th></tr>{rows}</table>"
        )
    return "".join(parts)


def _matrix_html(pairs: Sequence[MatrixPair], note: str) -> str:
    if not pairs:
        return f"<p>{html.escape(note or 'No pair of workload subnets to compare.')}</p>"
    names = list(dict.fromkeys([p.src for p in pairs] + [p.dst for p in pairs]))
    cell = {(p.src, p.dst): p for p in pairs}
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for src in names:
        cells = []
        for dst in names:
            pair = cell.get((src, dst))
            if pair is None:
                cells.append("<td class='self'></td>")
            elif pair.connection_status == "Reachable":
                cells.append(f"<td class='ok' title='{html.escape(pair.path)}'>✓</td>")
            else:
                title = html.escape(pair.reason or pair.connection_status)
                code = html.escape(pair.reason_code or pair.connection_status)
                cells.append(f"<td class='no' title='{title}'>{code}</td>")
        rows.append(f"<tr><th>{html.escape(src)}</th>{''.join(cells)}</tr>")
    unreachable = [p for p in pairs if p.connection_status != "Reachable"]
    reasons = "".join(
        f"<li><b>{html.escape(p.src)} → {html.escape(p.dst)}</b>: "
        f"{html.escape(p.reason or p.connection_status)}</li>"
        for p in unreachable
    )
    return (
        f"<p>{html.escape(note)}</p>"
        f"<table><tr><th>from \\ to</th>{head}</tr>{''.join(rows)}</table>"
        + (
            f"<details><summary>Why not ({len(unreachable)})</summary><ul>{reasons}</ul></details>"
            if unreachable
            else ""
        )
    )


def _flows_html(result: Any) -> str:
    rows = []
    for flow in result.flows:
        latency = flow.latency_ms()
        cells = [
            html.escape(flow.name),
            f"{flow.sent:,}",
            f"{flow.delivered:,}",
            f"{flow.dropped:,}",
            f"{flow.throughput_mbps:,.1f}",
            f"{flow.steady_mbps:,.1f}",
            *("-" if latency[k] is None else f"{latency[k]:.3f}" for k in ("p50", "p99", "mean")),
            html.escape(", ".join(f"{code} x{n}" for code, n in flow.drop_reasons.items())),
        ]
        rows.append(
            "<tr>"
            + "".join(
                f"<td class='n'>{c}</td>" if 0 < i < 9 else f"<td>{c}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    return (
        "<table><tr><th>flow</th><th>sent</th><th>delivered</th><th>dropped</th>"
        "<th>Mbps</th><th>steady Mbps</th><th>p50 ms</th><th>p99 ms</th><th>mean ms</th>"
        f"<th>drops</th></tr>{''.join(rows)}</table>"
        "<p>Mbps is the receiver's goodput; latency is one-way, NIC to NIC.</p>"
    )


def _assumptions_html(rows: Iterable[dict]) -> str:
    body = "".join(
        f"<tr><td><code>{html.escape(str(r['name']))}</code></td>"
        f"<td class='n'>{html.escape(str(r['value']))}</td><td>{html.escape(str(r['unit']))}</td>"
        f"<td>{html.escape(str(r['rationale']))}</td></tr>"
        for r in rows
    )
    return (
        f"<table><tr><th>assumption</th><th>value</th><th>unit</th><th>why</th></tr>{body}</table>"
    )


def _run_figures(result: Any, title: str) -> list[tuple[str, str]]:
    """(name, PNG data URI) of the run's figures."""
    with tempfile.TemporaryDirectory(prefix="vnetsim-report-") as folder:
        paths = result.figures(Path(folder), title)
        return [
            (path.stem.replace("_", " "), _data_uri(path.read_bytes(), "image/png"))
            for path in paths
            if path.suffix == ".png"
        ]


def report_html(
    document: Any,
    *,
    title: str = "",
    source: str = "",
    scenario: Any = None,
    scenario_name: str = "",
    duration_s: float | None = None,
    findings: Sequence[Finding] | None = None,
) -> str:
    """The HTML report of a loaded document (or a Fabric); ``scenario``, a loaded document
    whose traffic (and simulation section) to run on this topology."""
    from fabric import __version__
    from fabric.sim.runs import simulate

    fabric = document if isinstance(document, Fabric) else document.fabric
    imported = () if isinstance(document, Fabric) else tuple(document.findings)
    if findings is None:
        findings = [*imported, *validate(fabric)]
    plane = ControlPlane(fabric)
    diagram = layout(fabric, findings=findings, plane=plane, title=title)
    svg = render.image_bytes(diagram, "svg")
    sections = [
        (
            "diagram",
            "Topology",
            f"<img alt='topology diagram of {html.escape(title)}' "
            f"src='{_data_uri(svg, 'image/svg+xml')}'>",
        ),
        ("findings", "Findings", _findings_html(findings)),
    ]
    workload = sum(
        1 for v in fabric.vnets.values() for s in v.subnets if s.name not in SERVICE_SUBNETS
    )
    if workload > MATRIX_LIMIT:
        pairs: list[MatrixPair] = []
        note = (
            f"{workload} workload subnets: the matrix ({workload * (workload - 1)} traces) is "
            f"left out above {MATRIX_LIMIT}; ask vnetsim connectivity for the pairs you need."
        )
    else:
        pairs = reachability_pairs(plane)
        note = (
            "TCP port 443 from each workload subnet (a declared VM, else its first usable "
            "address) to each other one; hover a cell for the path or the reason."
        )
    sections.append(("reachability", "Who reaches whom", _matrix_html(pairs, note)))
    result = None
    run_html = ""
    valid = not has_errors(findings)
    if scenario is not None:
        traffic = list(scenario.traffic)
        simulation = dict(scenario.simulation)
        if not valid:
            run_html = (
                "<p>Not simulated: the topology has errors (see Findings); fix them first.</p>"
            )
        else:
            result = simulate(
                fabric,
                traffic,
                duration_s=duration_s if duration_s is not None else simulation.get("duration_s"),
                seed=simulation.get("seed", 1),
                parameters=simulation.get("parameters"),
                engine=simulation.get("engine", "auto"),
            )
            figures = "".join(
                f"<figure><img alt='{html.escape(name)}' src='{uri}'>"
                f"<figcaption>{html.escape(name)}</figcaption></figure>"
                for name, uri in _run_figures(result, scenario_name or title)
            )
            run_html = (
                f"<p>{len(traffic)} flow(s) simulated for {result.duration_s:g} s, "
                f"seed {result.seed}, engine {result.engine}.</p>"
                f"{_flows_html(result)}{figures}"
                "<h3>Assumptions of the run</h3>"
                f"{_assumptions_html(result.to_json()['assumptions'])}"
            )
    estimate = _cost(fabric, scenario, result, duration_s)
    sections.append(("cost", "Monthly cost", _cost_html(estimate, scenario is not None)))
    if scenario is not None:
        sections.append(("run", f"Simulation: {scenario_name or 'scenario'}", run_html))
    nav = "".join(f"<a href='#{key}'>{html.escape(name)}</a>" for key, name, _ in sections)
    body = "".join(
        f"<section id='{key}'><h2>{html.escape(name)}</h2>{content}</section>"
        for key, name, content in sections
    )
    verdict = "is valid" if valid else "has errors"
    meta = (
        f"{html.escape(source or title)}: {len(fabric.vnets)} VNet(s), {len(fabric.peerings)} "
        f"peering link(s), {len(fabric.gateways)} gateway(s); the topology {verdict}. "
        f"Written offline by vnetsim {html.escape(__version__)}."
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>vnetsim report: {html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p class='meta'>{meta}</p><nav>{nav}</nav>"
        f"{body}</body></html>\n"
    )


def _cost(fabric: Fabric, scenario: Any, result: Any, duration_s: float | None) -> CostEstimate:
    if scenario is None or result is None:
        return cost(fabric, [])
    simulation = dict(scenario.simulation)
    horizon = duration_s if duration_s is not None else simulation.get("duration_s")
    return cost(fabric, list(scenario.traffic), duration_s=horizon, result=result)


def _cost_html(estimate: CostEstimate, with_scenario: bool) -> str:
    intro = (
        "Gateways by the hour and the scenario's traffic scaled to a month."
        if with_scenario
        else "Gateways by the hour only: data is billed per GB, so give a scenario "
        "(<code>--scenario</code>) for the traffic, or ask <code>vnetsim cost</code> with "
        "<code>--gb-per-month</code>."
    )
    assumptions = _assumptions_html(estimate.assumptions.assumptions())
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in estimate.notes)
    return (
        f"<p>{intro}</p>{html_table(estimate)}"
        + (f"<ul>{notes}</ul>" if notes else "")
        + assumptions
    )


def write_report(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path
