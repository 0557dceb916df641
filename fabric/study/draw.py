"""Topology diagrams: one layout computed from the control plane's answers, and renderers that
only draw it (matplotlib SVG/PNG, Mermaid, Graphviz DOT).

``layout`` asks the control plane, never re-decides: peering states and gateway transit from
``PeeringView``, tunnel status from ``connection_status``, a highlighted path from the
connectivity ``Trace``, badges from ``validate``. The peerings drawn are those that exist
(``PeeringView.links``: declared, and those Virtual Network Manager created, marked "AVNM"),
plus the declared ones that do not (``Absent``, with why as a badge); connected groups are
edges between the VNets their routes join, or a node for a large group. It recognises
hub-and-spoke (a VNet peered with more VNets than each of its neighbours) and places the spokes
of a hub in its region on rings around it; other VNets sit in a grid in their region's box;
on-premises sites and ExpressRoute circuits get a box of their own. Gateways, firewalls,
appliances, route servers, NAT gateways and Bastion hosts sit under their VNet. Above
``DENSE_SPOKES`` spokes a star is drawn compact (name and first prefix, no edge labels), so a
hub with the 500 spokes Azure allows still renders.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from fabric.checks import validate
from fabric.control.connections import connection_status
from fabric.control.peering import ABSENT, CONNECTED, DISCONNECTED, INITIATED, PeeringView
from fabric.control.plane import ControlPlane
from fabric.model import Fabric, Finding, Peering
from fabric.study import render
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
    Badge,
    Diagram,
    Edge,
    Group,
    Highlight,
    Node,
)

NOT_CONNECTED = "NotConnected"
NOT_MODELLED = "NotModelled"
ON_PREMISES = "on-premises"
DENSE_SPOKES = 24  # above this many spokes a star is drawn compact
GROUP_EDGES_MAX = 6  # a connected group of more VNets is drawn as a node (15 edges at most)
FORMATS = (".svg", ".png", ".mmd", ".dot")
_STATE_RANK = {CONNECTED: 0, INITIATED: 1, DISCONNECTED: 2}


# -- layout ------------------------------------------------------------------------------------


def natural(name: str) -> tuple:
    """A sort key that puts spoke2 before spoke10."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", name)
        if part
    )


def _vnet_id(name: str) -> str:
    return f"vnet:{name}"


def _prefix_lines(prefixes: Sequence[str], limit: int = 3) -> list[str]:
    shown = list(prefixes[:limit])
    if len(prefixes) > limit:
        shown.append(f"+{len(prefixes) - limit} more")
    return [", ".join(shown[i : i + 2]) for i in range(0, len(shown), 2)]


def _box_size(name: str, lines: Sequence[str], minimum: float = 1.9) -> tuple[float, float]:
    """A box that fits its name (8 pt bold) and lines (6.5 pt)."""
    widest = max([len(name) * 0.075, *(len(line) * 0.06 for line in lines)])
    return max(minimum, widest + 0.3), 0.3 + 0.15 * len(lines)


@attrs.define
class _Draft:
    """A node before placement."""

    id: str
    kind: str
    name: str
    lines: list[str]
    group: str
    parent: str | None = None
    role: str = ""
    compact: bool = False
    width: float = 0.0
    height: float = 0.0
    x: float = 0.0
    y: float = 0.0

    def size(self) -> None:
        if self.compact:
            self.width, self.height = max(1.1, len(self.name) * 0.065 + 0.2), 0.42
        else:
            self.width, self.height = _box_size(
                self.name, self.lines, 1.9 if not self.parent else 1.4
            )


def layout(
    fabric: Any,
    *,
    findings: Iterable[Finding] | None = None,
    highlight: tuple[str, str] | None = None,
    plane: ControlPlane | None = None,
    subnets: bool = False,
    protocol: str = "Tcp",
    port: int | None = 443,
    title: str = "",
) -> Diagram:
    """The diagram of ``fabric`` (a Fabric or a loaded document): nodes, edges, region boxes,
    badges from ``findings`` (default: ``validate(fabric)``), and the connectivity path from
    ``highlight[0]`` to ``highlight[1]`` (addresses or host names) when asked.

    Raises ``fabric.watcher.QuestionError`` for a highlight that cannot be asked."""
    document_findings: tuple[Finding, ...] = ()
    if not isinstance(fabric, Fabric):
        document_findings = tuple(getattr(fabric, "findings", ()))
        fabric = fabric.fabric
    if findings is None:
        findings = [*document_findings, *validate(fabric)]
    view = plane.peerings if plane is not None else PeeringView(fabric)
    drafts: dict[str, _Draft] = {}
    edges: list[Edge] = []
    links = _drawn_links(fabric, view)
    hubs = _hubs(fabric, links)

    for vnet in sorted(fabric.vnets.values(), key=lambda v: v.name):
        lines = [vnet.region if not vnet.external else "(defined elsewhere)"]
        lines += _prefix_lines(vnet.address_prefixes)
        if subnets:
            lines += [f"{s.name} {s.address_prefix}" for s in vnet.subnets]
        drafts[_vnet_id(vnet.name)] = _Draft(
            _vnet_id(vnet.name), VNET, vnet.name, lines, vnet.region if not vnet.external else ""
        )
    edges += _peering_edges(fabric, view, links, drafts)
    for hub in sorted(view.deployment.spokes):  # on the box too: compact stars label no edge
        configs = dict.fromkeys(c for c in map(view.created_by, view.links_of(hub)) if c)
        if hub in fabric.vnets and configs:
            drafts[_vnet_id(hub)].lines.append(f"AVNM hub ({', '.join(configs)})")
    edges += _group_edges(fabric, view, drafts)
    edges += _gateway_nodes(fabric, drafts)
    edges += _connection_edges(fabric, drafts)
    edges += _appliance_nodes(fabric, drafts)

    spokes_of = {hub: [s for s in spokes if s in drafts] for hub, spokes in hubs.items()}
    for hub, spokes in spokes_of.items():
        drafts[hub].role = "hub"
        dense = len(spokes) > DENSE_SPOKES
        for spoke in spokes:
            drafts[spoke].role = "spoke"
            if dense:
                drafts[spoke].compact = True
                drafts[spoke].lines = drafts[spoke].lines[1:2]
    for draft in drafts.values():
        draft.size()
    groups = _place(drafts, spokes_of)
    dense = any(len(s) > DENSE_SPOKES for s in spokes_of.values())

    node_badges, edge_badges, unplaced = _badges(fabric, view, findings, drafts, edges)
    nodes = tuple(
        Node(
            d.id,
            d.kind,
            d.name,
            tuple(d.lines),
            round(d.x, 4),
            round(d.y, 4),
            round(d.width, 4),
            round(d.height, 4),
            d.group,
            d.role,
            d.parent,
            d.compact,
            tuple(node_badges.get(d.id, ())),
        )
        for d in drafts.values()
    )
    edges = [attrs.evolve(e, badges=_merged(e.badges, edge_badges.get(e.id, ()))) for e in edges]
    width = max((g.x + g.width for g in groups), default=1.0) + 0.5
    height = max((g.y + g.height for g in groups), default=1.0) + 0.5
    marked = None
    if highlight is not None:
        plane = plane or ControlPlane(fabric)
        marked = _highlight(plane, highlight, nodes, edges, protocol, port)
    return Diagram(
        title, nodes, tuple(edges), tuple(groups), width, height, marked, tuple(unplaced), dense
    )


def _merged(own: tuple[Badge, ...], found: Iterable[Badge]) -> tuple[Badge, ...]:
    """An element's own badges, then the findings' that say something else."""
    seen = {(b.code, b.message) for b in own}
    return (*own, *(b for b in found if (b.code, b.message) not in seen))


def _drawn_links(fabric: Fabric, view: PeeringView) -> list[Peering]:
    """The peering links a diagram draws: those that exist as the control plane has them
    (declared and Virtual Network Manager's, ``PeeringView.links``) and the declared ones that
    do not (refused for a permission, deleted by Virtual Network Manager), drawn as absent."""
    absent = [link for link in fabric.peerings.values() if view.absent(link) is not None]
    return sorted([*view.links, *absent], key=lambda link: (link.vnet, link.name))


def _neighbours(fabric: Fabric, links: Sequence[Peering]) -> dict[str, set[str]]:
    """VNet -> the VNets it is joined to by a drawn peering link or a VNet-to-VNet connection
    (in either direction, in any state)."""
    peers: dict[str, set[str]] = {name: set() for name in fabric.vnets}
    pairs = [(link.vnet, link.remote_vnet) for link in links]
    for connection in fabric.connections.values():
        a, b = (
            fabric.gateways.get(connection.from_gateway),
            fabric.gateways.get(connection.to_gateway),
        )
        if connection.connection_type == "Vnet2Vnet" and a is not None and b is not None:
            pairs.append((a.vnet, b.vnet))
    for a, b in pairs:
        if a in peers and b in peers and a != b:
            peers[a].add(b)
            peers[b].add(a)
    return peers


def _hubs(fabric: Fabric, links: Sequence[Peering]) -> dict[str, list[str]]:
    """Hub VNet id -> its spokes' ids: a hub is joined (peering or VNet-to-VNet VPN) to at
    least two VNets and to more VNets than each of them; its spokes are those VNets in its own
    region that are not hubs themselves (a spoke of two hubs goes to the first by name)."""
    peers = _neighbours(fabric, links)
    hubs = [
        name
        for name, around in sorted(peers.items())
        if len(around) >= 2 and all(len(around) > len(peers[other]) for other in around)
    ]
    taken: set[str] = set(hubs)
    result = {}
    for hub in hubs:
        region = fabric.vnets[hub].region
        spokes = sorted(
            (s for s in peers[hub] if s not in taken and fabric.vnets[s].region == region),
            key=natural,
        )
        taken.update(spokes)
        if spokes:  # a hub whose peers are all in other regions is drawn in its region's grid
            result[_vnet_id(hub)] = [_vnet_id(s) for s in spokes]
    return result


def _peering_edges(
    fabric: Fabric, view: PeeringView, links: Sequence[Peering], drafts: dict[str, _Draft]
) -> list[Edge]:
    """One edge per VNet pair: its links' names, the worst state of the links that exist
    (``Absent`` when none does, with why as a badge), regional or global, gateway transit as
    the control plane answers it, and the Virtual Network Manager configurations that created
    its links."""
    pairs: dict[tuple[str, str], list] = {}
    for link in links:
        pair = tuple(sorted((link.vnet, link.remote_vnet)))
        pairs.setdefault(pair, []).append(link)
    edges = []
    for (a, b), links in sorted(pairs.items()):
        for name in (a, b):
            if _vnet_id(name) not in drafts:  # a remote VNet outside this topology
                drafts[_vnet_id(name)] = _Draft(
                    _vnet_id(name), VNET, name, ["(not in this topology)"], ""
                )
        links.sort(key=lambda link: link.vnet != a)
        absent = [(link, view.absent(link)) for link in links]
        absent = [(link, why) for link, why in absent if why is not None]
        present = [link for link in links if view.absent(link) is None]
        states = [view.state(link) for link in present] or [ABSENT]
        state = max(states, key=lambda s: _STATE_RANK.get(s, 3))
        va, vb = fabric.vnets.get(a), fabric.vnets.get(b)
        known = va is not None and vb is not None and not va.external and not vb.external
        scope = "global" if known and va.region != vb.region else "regional"
        transit, detail, toward = _transit(fabric, view, present)
        if absent and not detail:
            detail = "; ".join(why for _, why in absent)
        badges = tuple(_absent_badge(view, link, why) for link, why in absent)
        created = tuple(dict.fromkeys(c for c in map(view.created_by, present) if c))
        source, target = (a, b) if toward != a else (b, a)
        names = tuple(f"{link.vnet}/{link.name}" for link in links)
        if source != a:
            names = tuple(reversed(names))
        edges.append(
            Edge(
                f"peering:{a}|{b}",
                PEERING,
                _vnet_id(source),
                _vnet_id(target),
                names,
                state,
                scope,
                transit,
                detail,
                badges,
                created,
            )
        )
    return edges


def _absent_badge(view: PeeringView, link: Peering, why: str) -> Badge:
    """Why a declared link does not exist, as the badge on its edge: Azure refused it
    (LinkedAuthorizationFailed, §2.9) or Virtual Network Manager deleted it (N8.1)."""
    if (link.vnet, link.name) in view.blocked:
        return Badge("LinkedAuthorizationFailed", "Error", why)
    return Badge("PeeringDeletedByNetworkManager", "Warning", why)


def _group_edges(fabric: Fabric, view: PeeringView, drafts: dict[str, _Draft]) -> list[Edge]:
    """Virtual Network Manager connected groups (N8.1: members reach each other directly, next
    hop ``ConnectedGroup``, with no peering objects). A group of up to ``GROUP_EDGES_MAX``
    VNets is an edge between each pair that a ConnectedGroup route joins (not a pair a peering
    carries, nor one whose prefixes an overlap removed); a larger one is a node joined to each
    member, so that a 250-VNet mesh stays drawable."""
    if not view.deployment.groups:
        return []
    joined: dict[str, set[tuple[str, str]]] = {}  # group -> the pairs its routes join
    for vnet, routes in view.mesh.routes.items():
        for route in routes:
            pair = tuple(sorted((vnet, route.link.remote_vnet)))
            joined.setdefault(route.link.group.name, set()).add(pair)
    edges = []
    for group in sorted(view.deployment.groups, key=lambda g: g.name):
        scope = "global" if group.is_global else "regional"
        if len(group.members) <= GROUP_EDGES_MAX:
            for a, b in sorted(joined.get(group.name, ())):
                edges.append(
                    Edge(
                        f"{GROUP_LINK}:{group.name}|{a}|{b}",
                        GROUP_LINK,
                        _vnet_id(a),
                        _vnet_id(b),
                        (group.name,),
                        CONNECTED,
                        scope,
                        created_by=(group.configuration,),
                    )
                )
            continue
        regions = {fabric.vnets[m].region for m in group.members if m in fabric.vnets}
        lines = [f"connected group ({scope})", f"{len(group.members)} members"]
        node_id = f"{CONNECTED_GROUP}:{group.name}"
        region = next(iter(regions)) if len(regions) == 1 else ""
        drafts[node_id] = _Draft(node_id, CONNECTED_GROUP, group.name, lines, region)
        for member in group.members:
            edges.append(
                Edge(
                    f"{GROUP_MEMBER}:{group.name}|{member}",
                    GROUP_MEMBER,
                    _vnet_id(member),
                    node_id,
                    (),
                )
            )
    return edges


def _transit(fabric: Fabric, view: PeeringView, links: list) -> tuple[str, str, str | None]:
    """("effective" | "blocked" | "", what blocks it, the hub's name) for a peering pair."""
    for link in links:
        if not link.use_remote_gateways:  # a hub allowing transit to a spoke that opts out
            continue
        gateways = fabric.gateways_in(link.remote_vnet, None)  # VPN or ExpressRoute (§2.6)
        if not gateways:
            return "blocked", f"{link.remote_vnet} has no gateway", link.remote_vnet
        blockers = view.transit_blockers(link, gateways[0])
        if blockers:
            return "blocked", "; ".join(blockers), link.remote_vnet
        return "effective", "", link.remote_vnet
    return "", "", None


def _gateway_nodes(fabric: Fabric, drafts: dict[str, _Draft]) -> list[Edge]:
    edges = []
    for gateway in sorted(fabric.gateways.values(), key=lambda g: g.name):
        parent = _vnet_id(gateway.vnet)
        if parent not in drafts:
            drafts[parent] = _Draft(parent, VNET, gateway.vnet, ["(not in this topology)"], "")
        kind = "ExpressRoute" if gateway.gateway_type == "ExpressRoute" else "VPN"
        generation = f" Gen{gateway.generation[-1]}" if kind == "VPN" else ""
        lines = [f"{kind} {gateway.sku}{generation}"]
        extras = []
        if gateway.active_active:
            extras.append("active-active")
        if gateway.enable_bgp:
            extras.append(f"BGP AS{gateway.bgp_asn}")
        if gateway.vpn_type == "PolicyBased":
            extras.append("PolicyBased")
        if extras:
            lines.append(", ".join(extras))
        node_id = f"gateway:{gateway.name}"
        drafts[node_id] = _Draft(
            node_id, GATEWAY, gateway.name, lines, drafts[parent].group, parent=parent
        )
        edges.append(Edge(f"attach:{node_id}", ATTACH, parent, node_id, (gateway.name,)))
    return edges


def _connection_edges(fabric: Fabric, drafts: dict[str, _Draft]) -> list[Edge]:
    """Vnet2Vnet pairs as one edge between the gateways; IPsec to a site node; ExpressRoute to a
    circuit node. Status from ``connection_status``."""
    edges = []
    grouped: dict[tuple[str, str, str], list] = {}
    for connection in sorted(fabric.connections.values(), key=lambda c: c.name):
        if connection.connection_type == "VPNClient":
            continue
        ends = (connection.from_gateway, connection.to_gateway)
        if connection.connection_type == "Vnet2Vnet":
            ends = tuple(sorted(ends))
        grouped.setdefault((connection.connection_type, *ends), []).append(connection)
    circuits = getattr(fabric, "express_route_circuits", {}) or {}
    for (kind, a, b), connections in sorted(grouped.items()):
        connections.sort(key=lambda c: c.from_gateway != a)
        statuses = [connection_status(fabric, c) for c in connections]
        down = [s for s in statuses if not s.up]
        state = CONNECTED if not down else NOT_CONNECTED
        detail = f"{down[0].reason}: {down[0].message}" if down else ""
        if kind == "Vnet2Vnet":
            if len(connections) < 2:
                state = NOT_CONNECTED
            edge_kind, target = TUNNEL, f"gateway:{b}"
            for name in (a, b):
                if f"gateway:{name}" not in drafts:
                    drafts[f"gateway:{name}"] = _Draft(
                        f"gateway:{name}", GATEWAY, name, ["(not in this topology)"], ""
                    )
        elif kind == "IPsec":
            edge_kind, target = SITE_TUNNEL, f"site:{b}"
            if target not in drafts:
                site = fabric.local_network_gateways.get(b)
                lines = ["on-premises site"]
                if site is not None:
                    lines = [site.gateway_ip_address or site.fqdn or "on-premises site"]
                    lines += _prefix_lines(site.address_prefixes)
                    if site.bgp_settings is not None:
                        lines.append(f"BGP AS{site.bgp_settings.asn}")
                drafts[target] = _Draft(target, SITE, b, lines, ON_PREMISES)
        else:  # ExpressRoute
            edge_kind, target = EXPRESSROUTE, f"circuit:{b}"
            if statuses and down and down[0].reason == "ConnectionTypeNotModelled":
                state, detail = NOT_MODELLED, "ExpressRoute connections are not simulated"
            if target not in drafts:
                drafts[target] = _Draft(
                    target, CIRCUIT, b, _circuit_lines(circuits.get(b)), ON_PREMISES
                )
        if f"gateway:{a}" not in drafts:
            drafts[f"gateway:{a}"] = _Draft(
                f"gateway:{a}", GATEWAY, a, ["(not in this topology)"], ""
            )
        edges.append(
            Edge(
                f"{edge_kind}:{a}|{b}",
                edge_kind,
                f"gateway:{a}",
                target,
                tuple(c.name for c in connections),
                state,
                detail=detail,
            )
        )
    for name, circuit in sorted(circuits.items()):
        node_id = f"circuit:{name}"
        if node_id not in drafts:
            drafts[node_id] = _Draft(node_id, CIRCUIT, name, _circuit_lines(circuit), ON_PREMISES)
    return edges


def _circuit_lines(circuit: Any) -> list[str]:
    if circuit is None:
        return ["ExpressRoute circuit"]
    lines = ["ExpressRoute circuit"]
    location = getattr(circuit, "peering_location", None)
    bandwidth = getattr(circuit, "bandwidth_mbps", None)
    tier = getattr(circuit, "sku_tier", None)
    details = [str(x) for x in (location, f"{bandwidth} Mbps" if bandwidth else None, tier) if x]
    if details:
        lines.append(", ".join(details))
    return lines


def _appliance_nodes(fabric: Fabric, drafts: dict[str, _Draft]) -> list[Edge]:
    edges = []
    children: list[tuple[str, str, str, list[str], str]] = []
    for firewall in sorted(fabric.firewalls.values(), key=lambda f: f.name):
        lines = [f"Azure Firewall {firewall.sku_tier}"]
        if firewall.private_ip:
            lines.append(firewall.private_ip)
        children.append(
            (f"firewall:{firewall.name}", FIREWALL, firewall.name, lines, firewall.vnet)
        )
    for vnet in sorted(fabric.vnets.values(), key=lambda v: v.name):
        for host in vnet.hosts:
            if host.enable_ip_forwarding:
                lines = ["appliance (IP forwarding)", host.ip]
                children.append((f"appliance:{host.name}", APPLIANCE, host.name, lines, vnet.name))
    for server in sorted(fabric.route_servers.values(), key=lambda s: s.name):
        lines = ["Route Server", f"{len(server.bgp_connections)} BGP peer(s)"]
        children.append(
            (f"route_server:{server.name}", ROUTE_SERVER, server.name, lines, server.vnet)
        )
    children += _nat_gateway_children(fabric)
    for bastion in sorted(fabric.bastions.values(), key=lambda b: b.name):
        lines = [f"Azure Bastion {bastion.sku}"]
        children.append((f"bastion:{bastion.name}", BASTION, bastion.name, lines, bastion.vnet))
    for node_id, kind, name, lines, vnet in children:
        parent = _vnet_id(vnet)
        if parent not in drafts:
            drafts[parent] = _Draft(parent, VNET, vnet, ["(not in this topology)"], "")
        drafts[node_id] = _Draft(node_id, kind, name, lines, drafts[parent].group, parent=parent)
        edges.append(Edge(f"attach:{node_id}", ATTACH, parent, node_id, (name,)))
    return edges


def _nat_gateway_children(fabric: Fabric) -> list[tuple[str, str, str, list[str], str]]:
    """A NAT gateway under the VNet of the subnets that name it (N18.1: one VNet; if they are in
    several, validation says so and it sits under the first by name), listing them. One that
    no subnet names is attached to nothing and is not drawn."""
    users: dict[str, list[tuple[str, str]]] = {}
    for vnet in sorted(fabric.vnets.values(), key=lambda v: v.name):
        for subnet in vnet.subnets:
            if subnet.nat_gateway:
                users.setdefault(subnet.nat_gateway, []).append((vnet.name, subnet.name))
    children = []
    for name, subnets in sorted(users.items()):
        gateway = fabric.nat_gateways.get(name)
        lines = ["NAT gateway"]
        if gateway is not None:
            lines.append(f"{gateway.public_ips} public IP(s)")
        spans = len({vnet for vnet, _ in subnets}) > 1  # an error validation reports
        lines.append(
            "for " + ", ".join(f"{vnet}/{subnet}" if spans else subnet for vnet, subnet in subnets)
        )
        children.append((f"nat_gateway:{name}", NAT_GATEWAY, name, lines, subnets[0][0]))
    return children


# -- placement ---------------------------------------------------------------------------------

_GAP = 0.35  # between boxes
_CHILD_GAP = 0.2  # between a VNet and the boxes under it
_LABEL_ROOM = 1.8  # between columns of a grid: room for the names on an edge
_GROUP_PAD = 0.3  # inside a region's box (its title sits in the top pad)
_ROW_WIDTH = 34.0  # regions wrap to a new row beyond this width


def _cluster(draft: _Draft, children: list[_Draft]) -> tuple[float, float]:
    """Size of a VNet with its children in a column under it."""
    if not children:
        return draft.width, draft.height
    below = sum(c.height + _CHILD_GAP for c in children)
    return max(draft.width, *(c.width for c in children)), draft.height + below


def _put_cluster(draft: _Draft, children: list[_Draft], x: float, y: float) -> None:
    """Place a VNet's centre at (x, y) and its children in a column under it, gateways last
    (lowest), so that tunnels leave the cluster without crossing its other children."""
    draft.x, draft.y = x, y
    top = y + draft.height / 2 + _CHILD_GAP
    for child in sorted(children, key=lambda c: (c.kind == GATEWAY, c.name)):
        child.x, child.y = x, top + child.height / 2
        top += child.height + _CHILD_GAP


def _place(drafts: dict[str, _Draft], spokes_of: dict[str, list[str]]) -> list[Group]:
    """Positions for every draft; returns the group boxes."""
    children: dict[str, list[_Draft]] = {}
    for draft in drafts.values():
        if draft.parent is not None:
            children.setdefault(draft.parent, []).append(draft)
    in_star = {s for spokes in spokes_of.values() for s in spokes}
    by_group: dict[str, list[_Draft]] = {}
    for draft in drafts.values():
        if draft.parent is None and draft.id not in in_star:
            by_group.setdefault(draft.group, []).append(draft)
    with_hub = {d.group for d in drafts.values() if d.role == "hub"}
    order = sorted(by_group, key=lambda g: (g == ON_PREMISES, g == "", g not in with_hub, g))
    groups = []
    cursor_x = cursor_y = 0.0
    row_height = 0.0
    for group in order:
        members = sorted(
            by_group[group], key=lambda d: (d.role != "hub", d.kind != VNET, natural(d.name))
        )
        width, height = _place_group(members, children, spokes_of, drafts)
        box_w, box_h = width + 2 * _GROUP_PAD, height + 2 * _GROUP_PAD + 0.2
        if cursor_x > 0 and cursor_x + box_w > _ROW_WIDTH:
            cursor_x, cursor_y = 0.0, cursor_y + row_height + 0.5
            row_height = 0.0
        offset_x, offset_y = cursor_x + _GROUP_PAD, cursor_y + _GROUP_PAD + 0.2
        shifted = {m.id for m in members}
        for member in members:
            shifted.update(spokes_of.get(member.id, ()))
        for node_id in list(shifted):
            shifted.update(c.id for c in children.get(node_id, ()))
        for node_id in shifted:
            drafts[node_id].x += offset_x
            drafts[node_id].y += offset_y
        label = group or "other"
        groups.append(Group(label, cursor_x, cursor_y, box_w, box_h))
        cursor_x += box_w + 0.5
        row_height = max(row_height, box_h)
    return groups


def _place_group(
    members: list[_Draft],
    children: dict[str, list[_Draft]],
    spokes_of: dict[str, list[str]],
    drafts: dict[str, _Draft],
) -> tuple[float, float]:
    """Place one group's members from (0, 0): stars first, side by side, then a grid of the
    rest under them. Returns the width and height used."""
    stars = [m for m in members if m.id in spokes_of]
    rest = [m for m in members if m.id not in spokes_of]
    x = 0.0
    stars_height = 0.0
    for hub in stars:
        width, height = _place_star(hub, children, [drafts[s] for s in spokes_of[hub.id]])
        _shift([hub, *(drafts[s] for s in spokes_of[hub.id])], children, x, 0.0)
        x += width + 0.6
        stars_height = max(stars_height, height)
    width = max(0.0, x - 0.6)
    if not rest:
        return width, stars_height
    sizes = [_cluster(m, children.get(m.id, [])) for m in rest]
    cell_w = max(w for w, _ in sizes) + _LABEL_ROOM
    cell_h = max(h for _, h in sizes) + _GAP
    columns = max(1, math.ceil(math.sqrt(len(rest))))
    if width:  # fill the width of the stars above when that is wider
        columns = max(columns, min(len(rest), int(width // cell_w)))
    top = stars_height + (0.6 if stars_height else 0.0)
    for i, member in enumerate(rest):
        row, column = divmod(i, columns)
        cx = column * cell_w + cell_w / 2
        cy = top + row * cell_h + member.height / 2
        _put_cluster(member, children.get(member.id, []), cx, cy)
    rows = math.ceil(len(rest) / columns)
    return max(width, columns * cell_w), top + rows * cell_h


def _shift(members: list[_Draft], children: dict[str, list[_Draft]], dx: float, dy: float) -> None:
    for member in members:
        for draft in (member, *children.get(member.id, ())):
            draft.x += dx
            draft.y += dy


def _place_star(
    hub: _Draft, children: dict[str, list[_Draft]], spokes: list[_Draft]
) -> tuple[float, float]:
    """The hub (with its children under it) in the middle, its spokes on rings around it, in
    name order, leaving the wedge under the hub free for its children. Rings are ellipses
    stretched to the spokes' box shape, so neighbours keep a gap. Returns the star's width and
    height, its top-left corner moved to (0, 0)."""
    cell_w = max(s.width for s in spokes) + _GAP
    cell_h = max(_cluster(s, children.get(s.id, []))[1] for s in spokes) + _GAP
    hub_w, hub_h = _cluster(hub, children.get(hub.id, []))
    wedge = math.radians(35) if children.get(hub.id) else 0.0
    arc = 2 * math.pi - 2 * wedge
    # In units of a spoke's cell, spokes sit on circles spaced 1.15 cells apart.
    room = 0.9 if spokes[0].compact else 1.3  # compact stars draw no edge labels
    radius = max(hub_w / 2 / cell_w, hub_h / 2 / cell_h) + room
    rings: list[tuple[float, int]] = []
    left = len(spokes)
    while left > 0:
        take = min(max(1, int(arc * radius / 1.15)), left)
        rings.append((radius, take))
        left -= take
        radius += 1.25
    _put_cluster(hub, children.get(hub.id, []), 0.0, -(hub_h - hub.height) / 2)
    index = 0
    for ring, (radius, count) in enumerate(rings):
        for k in range(count):
            # from just past the wedge (straight down is +pi/2, y down) round to its far side;
            # odd rings shift half a step so lines pass between the boxes of inner rings
            step = arc / count
            angle = math.pi / 2 + wedge + step * (k + 0.5 + 0.5 * (ring % 2))
            spoke = spokes[index]
            index += 1
            _put_cluster(
                spoke,
                children.get(spoke.id, []),
                radius * cell_w * math.cos(angle),
                radius * cell_h * math.sin(angle),
            )
    members = [hub, *spokes]
    placed = [d for m in members for d in (m, *children.get(m.id, ()))]
    left_x = min(d.x - d.width / 2 for d in placed)
    top_y = min(d.y - d.height / 2 for d in placed)
    for draft in placed:
        draft.x -= left_x
        draft.y -= top_y
    return (
        max(d.x + d.width / 2 for d in placed),
        max(d.y + d.height / 2 for d in placed),
    )


# -- findings ----------------------------------------------------------------------------------


def _badges(
    fabric: Fabric,
    view: PeeringView,
    findings: Iterable[Finding],
    drafts: dict[str, _Draft],
    edges: list[Edge],
) -> tuple[dict[str, list[Badge]], dict[str, list[Badge]], list[Badge]]:
    """Each finding on the first element among its resources that the diagram draws (a
    connectivity configuration's on its first connected group)."""
    by_name: dict[str, str] = {}  # resource id -> node or edge id
    links = [e.id for e in edges if e.kind == GROUP_LINK]
    for group in sorted(view.deployment.groups, key=lambda g: g.name):
        node_id = f"{CONNECTED_GROUP}:{group.name}"  # a large group's node, else its first edge
        found = node_id if node_id in drafts else None
        found = found or next(
            (i for i in links if i.startswith(f"{GROUP_LINK}:{group.name}|")), None
        )
        if found is not None:
            by_name.setdefault(f"connectivity_configuration/{group.configuration}", found)
    for edge in edges:
        if edge.kind == PEERING:
            for name in edge.names:
                by_name[f"peering/{name}"] = edge.id
        elif edge.kind != ATTACH:
            for name in edge.names:
                by_name[f"connection/{name}"] = edge.id
    for draft in drafts.values():
        kind = {
            VNET: "vnet",
            GATEWAY: "gateway",
            SITE: "local_network_gateway",
            FIREWALL: "firewall",
            APPLIANCE: "host",
            ROUTE_SERVER: "route_server",
            NAT_GATEWAY: "nat_gateway",
            BASTION: "bastion",
            CIRCUIT: "express_route_circuit",
            CONNECTED_GROUP: "connected_group",
        }[draft.kind]
        by_name[f"{kind}/{draft.name}"] = draft.id
    users: dict[str, str] = {}  # nsg/route_table/host -> the VNet that uses it
    for vnet in sorted(fabric.vnets.values(), key=lambda v: v.name):
        for subnet in vnet.subnets:
            for kind, name in (("nsg", subnet.nsg), ("route_table", subnet.route_table)):
                if name:
                    users.setdefault(f"{kind}/{name}", _vnet_id(vnet.name))
        for host in vnet.hosts:
            users.setdefault(f"host/{host.name}", _vnet_id(vnet.name))
            if host.nsg:
                users.setdefault(f"nsg/{host.nsg}", _vnet_id(vnet.name))
    nodes: dict[str, list[Badge]] = {}
    edge_badges: dict[str, list[Badge]] = {}
    unplaced: list[Badge] = []
    for finding in findings:
        badge = Badge(finding.code, finding.severity, finding.message)
        target = None
        for resource in finding.resources:
            parts = str(resource).split("/")
            candidates = ["/".join(parts[:3]), "/".join(parts[:2])]
            target = next((by_name[c] for c in candidates if c in by_name), None)
            target = target or next((users[c] for c in candidates if c in users), None)
            if target is not None:
                break
        if target is None:
            unplaced.append(badge)
        elif target in drafts:
            nodes.setdefault(target, []).append(badge)
        else:
            edge_badges.setdefault(target, []).append(badge)
    return nodes, edge_badges, unplaced


# -- highlight ---------------------------------------------------------------------------------


def _highlight(
    plane: ControlPlane,
    ends: tuple[str, str],
    nodes: Sequence[Node],
    edges: Sequence[Edge],
    protocol: str,
    port: int | None,
) -> Highlight:
    """The nodes and edges of the connectivity trace from ``ends[0]`` to ``ends[1]``, and the
    node where the packet stops when it is dropped."""
    from fabric.control.forwarding import (
        ApplianceHop,
        Arrival,
        Crossing,
        Egress,
        GatewayHop,
        GroupCrossing,
        OnPremises,
        Stranded,
        TunnelHop,
    )
    from fabric.watcher import connectivity

    trace = connectivity(plane, ends[0], ends[1], protocol=protocol, port=port)
    path = trace.path
    known = {node.id for node in nodes}
    by_ends: dict[frozenset, str] = {}
    for edge in edges:
        by_ends.setdefault(frozenset((edge.source, edge.target)), edge.id)
    parents = {node.id: node.parent for node in nodes}
    visited: list[str] = []
    used: list[str] = []
    stops: list[str] = []  # the node reached after each step

    ends_of = {edge.id: (edge.source, edge.target) for edge in edges}

    def visit(node_id: str) -> None:
        if node_id not in known or (visited and visited[-1] == node_id):
            return
        if visited:
            for edge_id in _connect(visited[-1], node_id, by_ends, parents):
                used.append(edge_id)
                for end in ends_of[edge_id]:  # the hub a transit path passes, say
                    if end not in visited and end != node_id:
                        visited.append(end)
        visited.append(node_id)

    for step in path.steps:
        if isinstance(step, Egress | Arrival):
            visit(_vnet_id(step.location.vnet.name))
        elif isinstance(step, Crossing):
            visit(_vnet_id(step.vnet.name))
            visit(_vnet_id(step.remote.name))
        elif isinstance(step, GroupCrossing):
            visit(_vnet_id(step.vnet.name))
            visit(f"{CONNECTED_GROUP}:{step.group.name}")  # a large group's node, if drawn
            visit(_vnet_id(step.remote.name))
        elif isinstance(step, GatewayHop):
            visit(f"gateway:{step.gateway.name}")
        elif isinstance(step, TunnelHop):
            visit(f"gateway:{step.gateway.name}")
            if step.site is not None:
                visit(f"site:{step.site.name}")
            elif step.remote_gateway is not None:
                visit(f"gateway:{step.remote_gateway.name}")
        elif isinstance(step, ApplianceHop):
            visit(f"appliance:{step.host.name}")
        elif isinstance(step, OnPremises):
            visit(f"site:{step.site.name}")
        elif isinstance(step, Stranded):
            visit(_vnet_id(step.vnet.name))
        stops.append(visited[-1] if visited else "")
    broken = None
    drop = path.drop
    if drop is not None:
        broken = stops[drop.at_step - 1] if 0 < drop.at_step <= len(stops) else None
        broken = broken or (visited[0] if visited else None)
    return Highlight(
        ends[0],
        ends[1],
        trace.connection_status,
        trace.reason,
        tuple(visited),
        tuple(dict.fromkeys(used)),
        broken,
    )


def _connect(
    a: str, b: str, by_ends: dict[frozenset, str], parents: dict[str, str | None]
) -> list[str]:
    """The edges from node ``a`` to node ``b``: direct, or through their VNets (a gateway
    reached from a spoke by transit goes spoke -> hub -> gateway)."""
    direct = by_ends.get(frozenset((a, b)))
    if direct is not None:
        return [direct]
    hops = [a]
    if parents.get(a):
        hops.append(parents[a])
    if parents.get(b):
        hops.append(parents[b])
    hops.append(b)
    found = []
    for x, y in itertools.pairwise(hops):
        edge = by_ends.get(frozenset((x, y)))
        if edge is not None:
            found.append(edge)
    return found


# -- the public entry points ---------------------------------------------------------------------


def draw(
    net: Any,
    ax: Any = None,
    *,
    highlight: tuple[str, str] | None = None,
    subnets: bool = False,
    findings: Iterable[Finding] | None = None,
    title: str = "",
):
    """Draw a topology (a Fabric or a loaded document) with matplotlib; returns the Figure.

    ``ax``: draw into these axes (a notebook's), else on a new Figure (no pyplot state).
    ``highlight``: (source, destination), addresses or host names: the connectivity path.
    """
    diagram = layout(net, highlight=highlight, subnets=subnets, findings=findings, title=title)
    return render.matplotlib_figure(diagram, ax)


def write(diagram: Diagram, path: str | Path) -> Path:
    """Write ``diagram`` to ``path``: SVG or PNG (matplotlib), Mermaid (.mmd) or DOT (.dot)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown diagram format {suffix!r}; use one of {FORMATS}")
    if suffix == ".mmd":
        path.write_text(render.mermaid(diagram))
    elif suffix == ".dot":
        path.write_text(render.dot(diagram))
    else:
        render.save(diagram, path)
    return path
