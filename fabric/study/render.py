"""Renderers of a ``Diagram`` (``fabric.study.draw.layout``): matplotlib (SVG, PNG, notebooks),
Mermaid and Graphviz DOT. They draw what the layout says and decide nothing.

SVG is byte for byte the same on every run (fixed id salt, no date) and keeps its text as text
(``svg.fonttype: none``), so names can be searched and copied.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Rectangle

from fabric.control.peering import ABSENT, CONNECTED, DISCONNECTED, INITIATED
from fabric.sim.figures import SVG_SALT
from fabric.study.diagram import (
    APPLIANCE,
    ATTACH,
    BASTION,
    CIRCUIT,
    CONNECTED_GROUP,
    EXPRESSROUTE,
    FIREWALL,
    GATEWAY,
    GROUP_LINK,
    GROUP_MEMBER,
    NAT_GATEWAY,
    PEERING,
    ROUTE_SERVER,
    SITE,
    SITE_TUNNEL,
    TUNNEL,
    VNET,
    Diagram,
    Edge,
    Node,
)

# kind -> (fill, outline)
NODE_COLOURS = {
    VNET: ("#e8f1fb", "#1f5fa8"),
    GATEWAY: ("#fff4d6", "#b8860b"),
    SITE: ("#eeeeee", "#555555"),
    CIRCUIT: ("#f3e8fb", "#7b3fa0"),
    FIREWALL: ("#fde2e2", "#c0392b"),
    APPLIANCE: ("#fdebd3", "#d35400"),
    ROUTE_SERVER: ("#e6f5ea", "#2e8b57"),
    NAT_GATEWAY: ("#eef0f2", "#5d6d7e"),
    BASTION: ("#e8f8f5", "#117864"),
    CONNECTED_GROUP: ("#e0f5f1", "#138d75"),
}
HUB_FILL = "#cfe2f7"
SEVERITY_COLOURS = {"Error": "#c0392b", "Warning": "#d68910"}
PATH_COLOUR = "#f5c518"
BROKEN_COLOUR = "#d62728"
FOOTER_LINE = 0.17  # inches per footer text line
LEGEND_COLUMNS = 4
UNPLACED_LISTED = 3  # findings about no drawn element: listed up to this many, then counted


def edge_style(edge: Edge) -> tuple[str, str, str, float]:
    """(legend label, colour, matplotlib line style, width) of an edge."""
    if edge.kind == ATTACH:
        return "in VNet", "#9a9a9a", "-", 0.8
    if edge.kind == GROUP_LINK:
        return "connected group (AVNM)", "#138d75", "-.", 1.6
    if edge.kind == GROUP_MEMBER:
        return "connected group member (AVNM)", "#138d75", "-.", 1.4
    if edge.kind == PEERING:
        if edge.state == ABSENT:
            return "peering absent", "#9a9a9a", ":", 1.4
        if edge.state == INITIATED:
            return "peering Initiated", "#ff7f0e", "--", 1.6
        if edge.state == DISCONNECTED:
            return "peering Disconnected", "#d62728", ":", 1.8
        if edge.scope == "global":
            return "global peering Connected", "#6a3d9a", "-", 1.6
        return "peering Connected", "#1f77b4", "-", 1.6
    if edge.kind == EXPRESSROUTE:
        return "ExpressRoute", "#8c564b", "-.", 2.0
    label = "site-to-site VPN" if edge.kind == SITE_TUNNEL else "VNet-to-VNet VPN"
    if edge.state == CONNECTED:
        return f"{label} Connected", "#2ca02c", "-", 2.4
    return f"{label} not connected", "#d62728", "--", 2.0


def _badge_text(badges) -> str:
    if not badges:
        return ""
    text = "⚠ " + badges[0].code
    return text + (f" +{len(badges) - 1}" if len(badges) > 1 else "")


def _worst(badges) -> str:
    return "Error" if any(b.severity == "Error" for b in badges) else "Warning"


def _clip(node: Node, tx: float, ty: float) -> tuple[float, float]:
    """Where the segment from the centre of ``node`` towards (tx, ty) leaves its box."""
    dx, dy = tx - node.x, ty - node.y
    if dx == 0 and dy == 0:
        return node.x, node.y
    scale = min(
        (node.width / 2) / abs(dx) if dx else float("inf"),
        (node.height / 2) / abs(dy) if dy else float("inf"),
    )
    scale = min(scale, 1.0)
    return node.x + dx * scale, node.y + dy * scale


def _footer_lines(diagram: Diagram) -> list[tuple[str, str]]:
    """(text, colour) lines under the drawing: the highlighted path and unplaced findings."""
    lines = []
    marked = diagram.highlight
    if marked is not None:
        colour = "#2ca02c" if marked.status == "Reachable" else BROKEN_COLOUR
        text = f"{marked.source} → {marked.destination}: {marked.status}"
        if marked.reason:
            text += f": {marked.reason}"
        lines.append((text, colour))
    unplaced = diagram.unplaced
    if len(unplaced) <= UNPLACED_LISTED:
        for badge in unplaced:
            text = f"⚠ {badge.severity} {badge.code}: {badge.message}"
            cut = text if len(text) <= 140 else text[:139] + "…"
            lines.append((cut, SEVERITY_COLOURS[badge.severity]))
    else:  # an import's many 'not modelled' notes: counted, not listed
        counts: dict[str, int] = {}
        for badge in unplaced:
            counts[badge.code] = counts.get(badge.code, 0) + 1
        summary = ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))
        worst = "Error" if any(b.severity == "Error" for b in unplaced) else "Warning"
        lines.append(
            (
                f"⚠ {len(unplaced)} findings about what the diagram does not show: {summary} "
                "(vnetsim validate lists them)",
                SEVERITY_COLOURS[worst],
            )
        )
    return lines


def matplotlib_figure(diagram: Diagram, ax=None):
    """Draw ``diagram`` on ``ax`` (else on a new Figure sized to the layout); returns the Figure."""
    footer = _footer_lines(diagram)
    styles = {edge_style(e) for e in diagram.edges if e.kind != ATTACH}
    legend_rows = -(-len(styles) // LEGEND_COLUMNS)
    width = max(diagram.width, 4.0, *(len(text) * 0.058 + 0.4 for text, _ in footer))
    top = 0.4 if diagram.title else 0.1
    height = top + diagram.height + 0.1 + FOOTER_LINE * len(footer) + 0.22 * legend_rows + 0.1
    if ax is None:
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig = ax.figure
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    if diagram.title:
        ax.text(0.2, 0.22, diagram.title, fontsize=11, fontweight="bold", va="center")
    _draw_groups(ax, diagram, top)
    nodes = {node.id: node for node in diagram.nodes}
    _draw_highlight_under(ax, diagram, nodes, top)
    handles = _draw_edges(ax, diagram, nodes, top)
    _draw_nodes(ax, diagram, top)
    _draw_broken(ax, diagram, nodes, top)
    y = top + diagram.height + 0.1
    for text, colour in footer:
        ax.text(0.2, y, text, fontsize=7, color=colour, va="center")
        y += FOOTER_LINE
    if handles:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.2, y),
            bbox_transform=ax.transData,
            ncol=min(len(handles), LEGEND_COLUMNS),
            fontsize=6.5,
            frameon=False,
        )
    return fig


def _draw_groups(ax, diagram: Diagram, top: float) -> None:
    for group in diagram.groups:
        ax.add_patch(
            Rectangle(
                (group.x, group.y + top),
                group.width,
                group.height,
                facecolor="#f7f7f7",
                edgecolor="#bbbbbb",
                linewidth=0.8,
                zorder=0,
            )
        )
        ax.text(
            group.x + 0.12,
            group.y + top + 0.2,
            group.name,
            fontsize=8,
            color="#555555",
            fontstyle="italic",
            va="center",
            zorder=1,
        )


def _segment(edge: Edge, nodes: dict[str, Node], top: float):
    a, b = nodes[edge.source], nodes[edge.target]
    x0, y0 = _clip(a, b.x, b.y)
    x1, y1 = _clip(b, a.x, a.y)
    return (x0, y0 + top), (x1, y1 + top)


def _draw_highlight_under(ax, diagram: Diagram, nodes: dict[str, Node], top: float) -> None:
    marked = diagram.highlight
    if marked is None:
        return
    by_id = {edge.id: edge for edge in diagram.edges}
    segments = [
        ((nodes[e.source].x, nodes[e.source].y + top), (nodes[e.target].x, nodes[e.target].y + top))
        for e in (by_id[i] for i in marked.edges)
    ]
    if segments:
        ax.add_collection(
            LineCollection(
                segments, colors=PATH_COLOUR, linewidths=9, alpha=0.55, zorder=2, gid="path"
            )
        )
    for node_id in marked.nodes:
        node = nodes[node_id]
        ax.add_patch(
            FancyBboxPatch(
                (node.x - node.width / 2 - 0.06, node.y + top - node.height / 2 - 0.06),
                node.width + 0.12,
                node.height + 0.12,
                boxstyle="round,pad=0,rounding_size=0.1",
                facecolor=PATH_COLOUR,
                edgecolor="none",
                alpha=0.7,
                zorder=3,
            )
        )


def _draw_edges(ax, diagram: Diagram, nodes: dict[str, Node], top: float) -> list:
    styles: dict[tuple, list] = {}
    for edge in diagram.edges:
        styles.setdefault(edge_style(edge), []).append(_segment(edge, nodes, top))
    handles = []
    for (label, colour, style, width), segments in styles.items():
        ax.add_collection(
            LineCollection(
                segments, colors=colour, linestyles=style, linewidths=width, zorder=4, gid=label
            )
        )
        if label != "in VNet":
            handles.append(Line2D([], [], color=colour, linestyle=style, lw=width, label=label))
    label_box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}
    for edge in diagram.edges:
        if edge.kind == ATTACH:
            continue
        (x0, y0), (x1, y1) = _segment(edge, nodes, top)
        compact = nodes[edge.source].compact or nodes[edge.target].compact
        length = max(1e-9, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length  # unit normal: labels sit beside
        if not compact:
            ends = (
                (x0 + (x1 - x0) * 0.25, y0 + (y1 - y0) * 0.25),
                (x1 + (x0 - x1) * 0.25, y1 + (y0 - y1) * 0.25),
            )
            for name, (x, y) in zip(edge.shown_names, ends, strict=False):
                ax.text(
                    x + nx * 0.1,
                    y + ny * 0.1,
                    name,
                    fontsize=5.5,
                    ha="center",
                    va="center",
                    color="#333333",
                    bbox={**label_box, "alpha": 0.8},
                    zorder=6,
                )
            if edge.label:
                _, colour, _, _ = edge_style(edge)
                ax.text(
                    (x0 + x1) / 2 - nx * 0.12,
                    (y0 + y1) / 2 - ny * 0.12,
                    edge.label,
                    fontsize=6,
                    ha="center",
                    va="center",
                    color=colour,
                    fontstyle="italic",
                    bbox={**label_box, "alpha": 0.9},
                    zorder=6,
                )
        if edge.badges:
            ax.text(
                (x0 + x1) / 2,
                (y0 + y1) / 2 + 0.16,
                _badge_text(edge.badges),
                fontsize=6,
                ha="center",
                va="center",
                color="white",
                fontweight="bold",
                bbox={**label_box, "facecolor": SEVERITY_COLOURS[_worst(edge.badges)]},
                zorder=7,
            )
    return handles


def _draw_nodes(ax, diagram: Diagram, top: float) -> None:
    patches, faces, outlines, widths = [], [], [], []
    for node in diagram.nodes:
        fill, outline = NODE_COLOURS[node.kind]
        if node.role == "hub":
            fill = HUB_FILL
        patches.append(
            FancyBboxPatch(
                (node.x - node.width / 2, node.y + top - node.height / 2),
                node.width,
                node.height,
                boxstyle="round,pad=0,rounding_size=0.08",
            )
        )
        faces.append(fill)
        outlines.append(SEVERITY_COLOURS[_worst(node.badges)] if node.badges else outline)
        widths.append(2.0 if node.role == "hub" or node.badges else 1.0)
    if patches:
        ax.add_collection(
            PatchCollection(
                patches, facecolors=faces, edgecolors=outlines, linewidths=widths, zorder=5
            )
        )
    for node in diagram.nodes:
        y = node.y + top
        if node.compact:  # one text per box: a 500-spoke star draws half as many
            text = "\n".join([node.name, *node.lines])
            ax.text(node.x, y, text, fontsize=5.5, ha="center", va="center", zorder=6)
        else:
            first = y - node.height / 2 + (0.15 if node.lines else node.height / 2)
            ax.text(
                node.x,
                first,
                node.name,
                fontsize=8,
                fontweight="bold",
                ha="center",
                va="center",
                zorder=6,
            )
            if node.lines:
                ax.text(
                    node.x,
                    first + 0.075 + 0.075 * len(node.lines),
                    "\n".join(node.lines),
                    fontsize=6.5,
                    ha="center",
                    va="center",
                    color="#333333",
                    zorder=6,
                    linespacing=1.25,
                )
        if node.badges:
            ax.text(
                node.x + node.width / 2,
                y - node.height / 2,
                _badge_text(node.badges),
                fontsize=6,
                ha="right",
                va="center",
                color="white",
                fontweight="bold",
                zorder=7,
                bbox={
                    "boxstyle": "round,pad=0.15",
                    "edgecolor": "none",
                    "facecolor": SEVERITY_COLOURS[_worst(node.badges)],
                },
            )


def _draw_broken(ax, diagram: Diagram, nodes: dict[str, Node], top: float) -> None:
    marked = diagram.highlight
    if marked is None or marked.broken_at is None:
        return
    node = nodes[marked.broken_at]
    ax.text(
        node.x - node.width / 2,
        node.y + top - node.height / 2,
        "✕",
        fontsize=16,
        color=BROKEN_COLOUR,
        fontweight="bold",
        ha="center",
        va="center",
        zorder=8,
    )


def image_bytes(diagram: Diagram, fmt: str) -> bytes:
    """``diagram`` as ``svg`` or ``png`` bytes; the SVG is deterministic and keeps its text."""
    fig = matplotlib_figure(diagram)
    width, height = fig.get_size_inches()
    dpi = min(150.0, 6000.0 / max(width, height))  # a 500-spoke star stays a sane PNG
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "none"}):
        if fmt == "svg":
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        else:
            # zlib level 3: a 500-spoke PNG encodes in a third of the default time, ~15% larger
            fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def save(diagram: Diagram, path: Path) -> None:
    """Write ``diagram`` as SVG or PNG, by the path's suffix."""
    path.write_bytes(image_bytes(diagram, path.suffix.lower().lstrip(".")))


# -- text formats ------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return (
        str(text)
        .replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
    )


_MERMAID_SHAPES = {
    VNET: ('["', '"]'),
    GATEWAY: ('{{"', '"}}'),
    SITE: ('(["', '"])'),
    CIRCUIT: ('(("', '"))'),
    FIREWALL: ('[/"', '"/]'),
    APPLIANCE: ('[/"', '"/]'),
    ROUTE_SERVER: ('[/"', '"/]'),
    NAT_GATEWAY: ('[\\"', '"\\]'),
    BASTION: ('(["', '"])'),
    CONNECTED_GROUP: ('[["', '"]]'),
}


_NOTE = "path_note"  # the Mermaid node that says where the highlighted path goes


def mermaid(diagram: Diagram) -> str:
    """A Mermaid flowchart: regions as subgraphs, styles by state, the highlighted path."""
    ids = {node.id: f"n{i}" for i, node in enumerate(diagram.nodes)}
    lines = ["%% vnetsim topology diagram" + (f": {diagram.title}" if diagram.title else "")]
    lines.append("flowchart LR")
    grouped: dict[str, list[Node]] = {}
    for node in diagram.nodes:
        grouped.setdefault(node.group, []).append(node)
    for index, group in enumerate(g.name for g in diagram.groups):
        key = "" if group == "other" else group
        members = grouped.pop(key, [])
        if not members:
            continue
        lines.append(f'  subgraph g{index}["{_mermaid_text(group)}"]')
        lines += [f"    {_mermaid_node(node, ids)}" for node in members]
        lines.append("  end")
    for members in grouped.values():
        lines += [f"  {_mermaid_node(node, ids)}" for node in members]
    marked = diagram.highlight
    on_path = set(marked.edges) if marked is not None else set()
    link_styles = []
    for index, edge in enumerate(diagram.edges):
        lines.append(f"  {_mermaid_edge(edge, ids)}")
        _, colour, style, width = edge_style(edge)
        if edge.id in on_path:
            colour, width = PATH_COLOUR, 5
        dash = ",stroke-dasharray:5 4" if style != "-" else ""
        link_styles.append(f"  linkStyle {index} stroke:{colour},stroke-width:{width}px{dash}")
    if marked is not None:
        note = f"{marked.source} → {marked.destination}: {marked.status}"
        if marked.reason:
            note += f": {marked.reason}"
        lines.append(f'  {_NOTE}["{_mermaid_text(note)}"]')
        anchor = marked.broken_at or (marked.nodes[-1] if marked.nodes else None)
        if anchor is not None:
            lines.append(f"  {_NOTE} -.- {ids[anchor]}")
            link_styles.append(
                f"  linkStyle {len(diagram.edges)} stroke:{BROKEN_COLOUR},stroke-width:1px"
            )
    lines += link_styles
    classes: dict[str, list[str]] = {}
    for node in diagram.nodes:
        classes.setdefault("hub" if node.role == "hub" else node.kind, []).append(ids[node.id])
        if node.badges:
            classes.setdefault("finding", []).append(ids[node.id])
    if marked is not None:
        classes["path"] = [ids[n] for n in marked.nodes if n != marked.broken_at]
        if marked.broken_at is not None:
            classes["broken"] = [ids[marked.broken_at]]
        classes["note"] = [_NOTE]
    styles = {
        kind: f"fill:{fill},stroke:{outline},color:#111"
        for kind, (fill, outline) in NODE_COLOURS.items()
    }
    styles["hub"] = f"fill:{HUB_FILL},stroke:#1f5fa8,stroke-width:3px,color:#111"
    styles["finding"] = f"stroke:{SEVERITY_COLOURS['Error']},stroke-width:3px"
    styles["path"] = f"stroke:{PATH_COLOUR},stroke-width:4px"
    styles["broken"] = f"stroke:{BROKEN_COLOUR},stroke-width:4px"
    styles["note"] = "fill:#fff,stroke:#999,color:#111"
    for name, members in classes.items():  # only the classes this diagram uses
        if members:
            lines.append(f"  classDef {name} {styles[name]}")
            lines.append(f"  class {','.join(members)} {name}")
    return "\n".join(lines) + "\n"


def _mermaid_node(node: Node, ids: dict[str, str]) -> str:
    opening, closing = _MERMAID_SHAPES[node.kind]
    parts = [f"<b>{_mermaid_text(node.name)}</b>", *(_mermaid_text(x) for x in node.lines)]
    parts += [f"⚠ {_mermaid_text(b.severity)} {_mermaid_text(b.code)}" for b in node.badges]
    return f"{ids[node.id]}{opening}{'<br/>'.join(parts)}{closing}"


def _mermaid_edge(edge: Edge, ids: dict[str, str]) -> str:
    words = [" / ".join(edge.shown_names)] if edge.shown_names and edge.kind != ATTACH else []
    if edge.label:
        words.append(edge.label)
    words += [f"⚠ {b.code}" for b in edge.badges]
    _, _, style, _ = edge_style(edge)
    if edge.kind in (TUNNEL, SITE_TUNNEL) and edge.state == CONNECTED:
        arrow = "==="
    elif style != "-":
        arrow = "-.-"
    elif edge.transit == "effective":
        arrow = "-->"
    else:
        arrow = "---"
    label = f'|"{_mermaid_text("<br/>".join(words))}"|' if words else ""
    label = label.replace("#lt;br/#gt;", "<br/>")
    return f"{ids[edge.source]} {arrow}{label} {ids[edge.target]}"


def _dot_text(text: str) -> str:
    """Text safe inside a quoted DOT string; line breaks become \\n."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_DOT_SHAPES = {
    VNET: "box",
    GATEWAY: "hexagon",
    SITE: "box3d",
    CIRCUIT: "ellipse",
    FIREWALL: "octagon",
    APPLIANCE: "octagon",
    ROUTE_SERVER: "component",
    NAT_GATEWAY: "cds",
    BASTION: "house",
    CONNECTED_GROUP: "parallelogram",
}
_DOT_STYLES = {"-": "solid", "--": "dashed", ":": "dotted", "-.": "dashed"}


def dot(diagram: Diagram) -> str:
    """A Graphviz graph: regions as clusters, styles by state, the highlighted path."""
    marked = diagram.highlight
    on_path = set(marked.nodes) if marked else set()
    path_edges = set(marked.edges) if marked else set()
    title = diagram.title
    if marked is not None:
        title += f"\n{marked.source} → {marked.destination}: {marked.status}"
        if marked.reason:
            title += f": {marked.reason}"
    lines = [
        'graph "vnetsim" {',
        f'  graph [label="{_dot_text(title)}", labelloc=t, fontname="Helvetica", fontsize=12];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=9];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    grouped: dict[str, list[Node]] = {}
    for node in diagram.nodes:
        grouped.setdefault(node.group, []).append(node)
    for index, group in enumerate(g.name for g in diagram.groups):
        members = grouped.pop("" if group == "other" else group, [])
        if not members:
            continue
        lines.append(f'  subgraph "cluster_{index}" {{')
        lines.append(
            f'    label="{_dot_text(group)}"; style="filled"; fillcolor="#f7f7f7"; color="#bbbbbb";'
        )
        lines += [f"    {_dot_node(node, on_path, marked)}" for node in members]
        lines.append("  }")
    for members in grouped.values():
        lines += [f"  {_dot_node(node, on_path, marked)}" for node in members]
    for edge in diagram.edges:
        _, colour, style, width = edge_style(edge)
        words = [" / ".join(edge.shown_names)] if edge.shown_names and edge.kind != ATTACH else []
        if edge.label:
            words.append(edge.label)
        words += [f"⚠ {b.code}" for b in edge.badges]
        attributes = [
            f'color="{PATH_COLOUR}:{colour}:{PATH_COLOUR}"'
            if edge.id in path_edges
            else f'color="{colour}"',
            f"style={_DOT_STYLES[style]}",
            f"penwidth={width + (2 if edge.id in path_edges else 0)}",
        ]
        if words:
            attributes.insert(0, f'label="{_dot_text(chr(10).join(words))}"')
        if edge.transit == "effective":
            attributes.append("dir=forward")
        lines.append(f'  "{edge.source}" -- "{edge.target}" [{", ".join(attributes)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(node: Node, on_path: set[str], marked) -> str:
    fill, outline = NODE_COLOURS[node.kind]
    if node.role == "hub":
        fill = HUB_FILL
    text = "\n".join([node.name, *node.lines, *(f"⚠ {b.severity} {b.code}" for b in node.badges)])
    width = 2 if node.role == "hub" or node.badges else 1
    if node.badges:
        outline = SEVERITY_COLOURS[_worst(node.badges)]
    if node.id in on_path:
        outline, width = PATH_COLOUR, 4
    if marked is not None and node.id == marked.broken_at:
        outline, width = BROKEN_COLOUR, 4
    label = _dot_text(text)
    return (
        f'"{node.id}" [label="{label}", shape={_DOT_SHAPES[node.kind]}, fillcolor="{fill}", '
        f'color="{outline}", penwidth={width}];'
    )
