"""What a topology diagram holds: nodes (boxes), edges (lines), region boxes, badges and a
highlighted path, in layout units (inches, y down). ``fabric.study.draw.layout`` makes one;
``fabric.study.render`` draws one."""

from __future__ import annotations

import attrs

from fabric.control.peering import CONNECTED

# Node kinds.
VNET = "vnet"
GATEWAY = "gateway"
SITE = "site"
CIRCUIT = "circuit"
FIREWALL = "firewall"
APPLIANCE = "appliance"
ROUTE_SERVER = "route_server"
NAT_GATEWAY = "nat_gateway"  # outbound internet for the subnets that name it (N18.1)
BASTION = "bastion"  # an Azure Bastion host (N18.2)
CONNECTED_GROUP = "connected_group"  # a Virtual Network Manager connected group (N8.1)
# Edge kinds.
PEERING = "peering"
TUNNEL = "tunnel"  # Vnet2Vnet
SITE_TUNNEL = "site_tunnel"  # IPsec to a local network gateway
EXPRESSROUTE = "expressroute"
ATTACH = "attach"  # a gateway, firewall, appliance, NAT gateway or Bastion in its VNet
GROUP_LINK = "group_link"  # two VNets a connected group joins (no peering object, N8.1)
GROUP_MEMBER = "group_member"  # a VNet in a large connected group, drawn as a node


@attrs.frozen(slots=True)
class Badge:
    """A finding shown on the element it concerns."""

    code: str
    severity: str
    message: str


@attrs.frozen(slots=True)
class Node:
    """A box: its kind, name, detail lines, centre and size (layout units: inches, y down)."""

    id: str
    kind: str
    name: str
    lines: tuple[str, ...]
    x: float
    y: float
    width: float
    height: float
    group: str
    role: str = ""  # "hub", "spoke" or ""
    parent: str | None = None  # the VNet node of a gateway, firewall or appliance
    compact: bool = False
    badges: tuple[Badge, ...] = ()


@attrs.frozen(slots=True)
class Edge:
    """A line between two nodes: a peering pair, a tunnel (pair), an ExpressRoute connection or
    an attachment. ``names`` are the resources it stands for, the one of ``source`` first."""

    id: str
    kind: str
    source: str
    target: str
    names: tuple[str, ...]
    state: str = ""  # Connected, Initiated, Disconnected (peering); Connected, NotConnected...
    scope: str = ""  # "regional" or "global" (peering)
    transit: str = ""  # "" | "effective" (towards target) | "blocked"
    detail: str = ""  # why a tunnel is down, which transit flag is missing, why a link is absent
    badges: tuple[Badge, ...] = ()
    created_by: tuple[str, ...] = ()  # the AVNM configurations that created its links (N8.1)

    @property
    def shown_names(self) -> tuple[str, ...]:
        """The names as drawn: a peering link's own name, without its VNet's."""
        if self.kind == PEERING:
            return tuple(name.split("/", 1)[-1] for name in self.names)
        return self.names

    @property
    def label(self) -> str:
        """A short description: kind, state when not Connected, global, transit."""
        words = []
        if self.kind in (TUNNEL, SITE_TUNNEL):
            words.append("VPN")
        elif self.kind == EXPRESSROUTE:
            words.append("ExpressRoute")
        if self.created_by:
            words.append(f"AVNM {', '.join(self.created_by)}")
        if self.scope == "global":
            words.append("global")
        if self.state and self.state != CONNECTED:
            words.append(self.state)
        if self.transit == "effective":
            words.append("gateway transit")
        elif self.transit == "blocked":
            words.append("transit blocked")
        return ", ".join(words)


@attrs.frozen(slots=True)
class Group:
    """A region's box (or the on-premises one)."""

    name: str
    x: float
    y: float
    width: float
    height: float


@attrs.frozen(slots=True)
class Highlight:
    """A connectivity path drawn over the topology: the nodes and edges it passes, where it
    breaks and why."""

    source: str
    destination: str
    status: str
    reason: str | None
    nodes: tuple[str, ...]
    edges: tuple[str, ...]
    broken_at: str | None = None


@attrs.frozen(slots=True)
class Diagram:
    """Everything a renderer needs; no renderer asks the control plane anything."""

    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...]
    width: float
    height: float
    highlight: Highlight | None = None
    unplaced: tuple[Badge, ...] = ()  # findings about no drawn element
    dense: bool = False

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)
