"""Peering state: the one place that says whether a peering link carries traffic.

§2.2 of azure-facts.md: a link alone is ``Initiated``; both links make both ``Connected``;
deleting one side leaves the survivor ``Disconnected`` (sticky: delete it and re-create both).
§2.3: each link holds a snapshot of the remote address space; sync levels follow from it.
The links that exist are the declared ones, less those Azure would not create (a missing
permission across subscriptions or tenants, §2.9/N7: ``fabric.control.permissions``) and those
a Virtual Network Manager configuration deleted, plus the peerings it created (N8.1:
``fabric.control.avnm``, which also owns the connected groups this view exposes).
"""

from __future__ import annotations

from fabric.catalogue.clouds import cloud_of
from fabric.control import avnm
from fabric.control.addressing import IPNetwork, valid_networks
from fabric.control.permissions import PermissionGap, missing_permission
from fabric.model.container import Fabric
from fabric.model.records import Peering, VpnGateway

INITIATED = "Initiated"
CONNECTED = "Connected"
DISCONNECTED = "Disconnected"
ABSENT = "Absent"  # not an API state: the declared link does not exist (see ``absent``)


class PeeringView:
    """An index of a fabric's peering links for O(1) counterpart and state queries.

    Build one per question over many links (validation, route compilation); it reflects the
    fabric as it was when built.
    """

    __slots__ = (
        "_absent",
        "_by_pair",
        "_by_vnet",
        "_mesh",
        "_overlaps",
        "_spaces",
        "_states",
        "blocked",
        "deployment",
        "fabric",
        "links",
    )

    def __init__(self, fabric: Fabric) -> None:
        self.fabric = fabric
        self.deployment = avnm.derive(fabric)
        self.blocked: dict[tuple[str, str], PermissionGap] = {}
        self.links: list[Peering] = []  # every link that exists: declared and AVNM-created
        for key, link in fabric.peerings.items():
            if key in self.deployment.removed:
                continue
            gap = missing_permission(fabric, link)
            if gap is not None:
                self.blocked[key] = gap
                continue
            self.links.append(link)
        self.links.extend(self.deployment.peerings)
        self._by_pair: dict[tuple[str, str], Peering] = {}
        self._by_vnet: dict[str, list[Peering]] = {}
        for link in self.links:
            self._by_pair.setdefault((link.vnet, link.remote_vnet), link)
            self._by_vnet.setdefault(link.vnet, []).append(link)
        self._states: dict[tuple[str, str], str] = {}
        self._mesh: avnm.MeshRoutes | None = None
        self._overlaps: dict[tuple[str, str], bool] = {}
        self._spaces: dict[str, tuple[tuple[int, int, int], ...]] = {}
        # The declared links that do not exist (refused, or deleted by AVNM), in fabric order.
        self._absent = [
            link
            for key, link in fabric.peerings.items()
            if key in self.blocked or key in self.deployment.removed
        ]

    def absent(self, link: Peering) -> str | None:
        """Why a declared link does not exist (None: it does): Azure refused to create it
        (LinkedAuthorizationFailed) or a Virtual Network Manager configuration deleted it."""
        key = (link.vnet, link.name)
        gap = self.blocked.get(key)
        if gap is not None:
            return gap.message
        config = self.deployment.removed.get(key)
        if config is not None:
            return (
                f"peering {link.vnet}/{link.name} was deleted by Virtual Network Manager: "
                f"configuration {config} sets delete_existing_peering, and the peering does "
                "not match its topology (N8.1)"
            )
        return None

    def absent_links(self) -> list[Peering]:
        """The declared links that do not exist (``absent`` says why), in the fabric's order:
        usually none, so a question about them need not scan every declared link."""
        return self._absent

    def created_by(self, link: Peering) -> str | None:
        """The connectivity configuration that created ``link``, if AVNM did."""
        return self.deployment.created_by.get((link.vnet, link.name))

    @property
    def mesh(self) -> avnm.MeshRoutes:
        """Connected-group routes and overlap drops of every member VNet (N8.1)."""
        if self._mesh is None:
            self._mesh = avnm.mesh_routes(
                self.fabric,
                self.deployment,
                lambda vnet: [link.remote_vnet for link in self.connected_links(vnet)],
            )
        return self._mesh

    def overlap(self, a: str, b: str) -> bool:
        """``spaces_overlap(fabric, a, b)``, computed once per pair (from each VNet's space
        parsed once: a question about every pair of 500 VNets asks it 250,000 times)."""
        key = (a, b) if a <= b else (b, a)
        found = self._overlaps.get(key)
        if found is None:
            left, right = self._space(a), self._space(b)
            found = self._overlaps[key] = any(
                x[0] == y[0] and x[1] <= y[2] and y[1] <= x[2] for x in left for y in right
            )
        return found

    def across_clouds(self, link: Peering) -> bool:
        """§2.1: the link's two VNets are in different clouds (public, China, Government), so
        Azure cannot peer them. False when either VNet is not in this topology."""
        here, there = self.fabric.vnets.get(link.vnet), self.fabric.vnets.get(link.remote_vnet)
        if here is None or there is None or here.external or there.external:
            return False
        return cloud_of(here.region) != cloud_of(there.region)

    def _space(self, vnet: str) -> tuple[tuple[int, int, int], ...]:
        """``vnet``'s address space as (version, first, last) ranges (none if not in the
        fabric, as ``spaces_overlap`` takes it)."""
        space = self._spaces.get(vnet)
        if space is None:
            record = self.fabric.vnets.get(vnet)
            nets = valid_networks(record.address_prefixes) if record is not None else []
            space = self._spaces[vnet] = tuple(
                (n.version, int(n.network_address), int(n.broadcast_address)) for n in nets
            )
        return space

    def counterpart(self, link: Peering) -> Peering | None:
        """The link in the remote VNet that points back at this link's VNet, if it exists."""
        return self._by_pair.get((link.remote_vnet, link.vnet))

    def links_of(self, vnet: str) -> list[Peering]:
        """The links that live in ``vnet``."""
        return self._by_vnet.get(vnet, [])

    def state(self, link: Peering) -> str:
        """``Initiated``, ``Connected`` or ``Disconnected`` (§2.2); ``Absent`` for a declared
        link that does not exist (``absent`` says why)."""
        key = (link.vnet, link.name)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = self._derive(link)
        return state

    def _derive(self, link: Peering) -> str:
        if self.absent(link) is not None:
            return ABSENT
        if link.peering_state == DISCONNECTED:
            return DISCONNECTED
        if self.overlap(link.vnet, link.remote_vnet):
            return INITIATED  # §2.4: Azure refuses the peering (VnetAddressSpacesOverlap)
        if self.across_clouds(link):
            return INITIATED  # §2.1: never across clouds; Azure cannot create the peering
        other = self.counterpart(link)
        if other is None:
            # The remote VNet is outside this topology (REST export of one VNet): trust Azure.
            if link.peering_state is not None and link.remote_vnet not in self.fabric.vnets:
                return link.peering_state
            return INITIATED
        if other.peering_state == DISCONNECTED:
            return INITIATED
        if link.peering_state is not None and other.peering_state is not None:
            return link.peering_state if link.peering_state == other.peering_state else INITIATED
        return CONNECTED

    def connected_links(self, vnet: str) -> list[Peering]:
        """The links of ``vnet`` that carry traffic."""
        return [link for link in self.links_of(vnet) if self.state(link) == CONNECTED]

    def neighbours(self, vnet: str) -> set[str]:
        """The VNets ``vnet`` hands packets to directly (§4.3: where an appliance next hop
        may be): itself, its Connected peers and the members of its connected groups."""
        found = {vnet, *(link.remote_vnet for link in self.connected_links(vnet))}
        if self.deployment.groups:
            found.update(route.link.remote_vnet for route in self.mesh.routes.get(vnet, ()))
        return found

    def transit_blockers(self, spoke_link: Peering, hub_gateway: VpnGateway) -> list[str]:
        """What stops the VNet of ``spoke_link`` from using ``hub_gateway`` in the remote VNet,
        as phrases; empty when gateway transit works. §2.6: the spoke's link sets
        use_remote_gateways, the hub's link allows gateway transit, the peering is Connected;
        §9 (decided 2026-11-30): a Basic gateway is accepted but carries no transit traffic."""
        back = self.counterpart(spoke_link)
        missing = []
        if not spoke_link.use_remote_gateways:
            missing.append(f"{spoke_link.vnet}/{spoke_link.name}.use_remote_gateways is not set")
        if back is None or not back.allow_gateway_transit:
            name = back.name if back is not None else "(no link back)"
            missing.append(f"{spoke_link.remote_vnet}/{name}.allow_gateway_transit is not set")
        state = self.state(spoke_link)
        if state != CONNECTED:
            missing.append(f"the peering is {state}, not Connected")
        if hub_gateway.sku == "Basic":
            missing.append(
                f"gateway {hub_gateway.name} is Basic, which does not support gateway transit"
            )
        return missing


def spaces_overlap(fabric: Fabric, a: str, b: str) -> bool:
    """True when the address spaces of VNets ``a`` and ``b`` (both in the fabric) overlap."""
    if a not in fabric.vnets or b not in fabric.vnets:
        return False
    left = [_span(net) for net in valid_networks(fabric.vnets[a].address_prefixes)]
    right = [_span(net) for net in valid_networks(fabric.vnets[b].address_prefixes)]
    return any(
        x[0] == y[0] and x[1] <= y[2] and y[1] <= x[2] for x in left for y in right
    )  # IPv4Network.overlaps, on integers (a hub with 5,000 spokes asks 5,000 times)


def _span(net: IPNetwork) -> tuple[int, int, int]:
    """(version, first address, last address) of ``net`` as integers."""
    first = int(net.network_address)
    return net.version, first, first | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)


def counterpart(fabric: Fabric, link: Peering) -> Peering | None:
    """The link in the remote VNet that points back at this link's VNet, if it exists."""
    for other in fabric.peerings.values():
        if other.vnet == link.remote_vnet and other.remote_vnet == link.vnet:
            return other
    return None


def peering_state(fabric: Fabric, link: Peering) -> str:
    """``Initiated``, ``Connected`` or ``Disconnected`` for one link (see PeeringView)."""
    return PeeringView(fabric).state(link)


def remote_prefixes(fabric: Fabric, link: Peering) -> tuple[IPNetwork, ...]:
    """The remote address space as this link knows it: the synced snapshot, else live."""
    if link.remote_address_space is not None:
        texts = link.remote_address_space
    elif link.remote_vnet in fabric.vnets:
        texts = fabric.vnets[link.remote_vnet].address_prefixes
    else:
        texts = ()
    return tuple(valid_networks(texts))


def _stale(fabric: Fabric, link: Peering) -> bool:
    if link.remote_address_space is None or link.remote_vnet not in fabric.vnets:
        return False
    live = fabric.vnets[link.remote_vnet].address_prefixes
    return sorted(link.remote_address_space) != sorted(live)


def sync_level(fabric: Fabric, link: Peering, view: PeeringView | None = None) -> str:
    """``FullyInSync``, ``LocalNotInSync``, ``RemoteNotInSync`` or ``LocalAndRemoteNotInSync``.

    Local = this link's copy of the remote space is stale (run sync on this link); remote =
    the counterpart's copy of this VNet's space is stale (run sync on that one).
    """
    local = _stale(fabric, link)
    other = view.counterpart(link) if view is not None else counterpart(fabric, link)
    remote = other is not None and _stale(fabric, other)
    if local and remote:
        return "LocalAndRemoteNotInSync"
    if local:
        return "LocalNotInSync"
    if remote:
        return "RemoteNotInSync"
    return "FullyInSync"
