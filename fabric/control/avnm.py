"""Azure Virtual Network Manager: what deployed connectivity configurations create (N8.1).

The one place that turns network groups and connectivity configurations into connectivity;
the owners of the other questions consume it (``PeeringView`` the peerings, ``routing`` the
``ConnectedGroup`` routes, ``forwarding`` the crossing, ``ControlPlane.tag_scope`` the
``VirtualNetwork`` tag), so every answer downstream sees it like any other connectivity.

* **HubAndSpoke**: the hub is really peered with every spoke, both ways (ordinary peering
  links with the usual state machine). ``use_hub_gateway`` sets ``allow_gateway_transit`` on
  the hub's link and ``use_remote_gateways`` on the spoke's; if the hub has no gateway the
  spoke's link fails and only the hub's exists. ``group_connectivity: DirectlyConnected`` adds a
  connected group among that group's spokes. ``delete_existing_peering`` deletes the spokes'
  other peerings (both links). A link that already exists in that direction (a manual peering,
  "coexistence") is kept as declared and AVNM adds none beside it.
* **Mesh**: a connected group of all the members of the configuration's groups: no peering
  objects, one route per remote member prefix with next hop ``ConnectedGroup``.
* A connected group is regional (one per region) unless ``is_global`` (on the configuration
  or on the group item).
* Overlaps in a connected group (``connected_group_address_overlap``): ``Allowed`` removes the
  overlapping prefix from the mesh and traffic to it is dropped; a member peered with an outside
  VNet that overlaps a member sends that space to the outside VNet, the other members drop it.
  ``Disallowed`` rejects a member that would overlap one already in the group (declared order).
* Members outside the network manager's scope (a cross-tenant scope not ``Connected``, N7; a
  subscription not in the manager's scope list) take no part.

Facts are silent on the settings of the peerings AVNM creates beyond gateway transit; they get
the API defaults (virtual network access on, forwarded traffic off). They are also silent on
forwarded traffic over a connected group: it is carried. Both are said in docs/assumptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from fabric.control.addressing import IPNetwork, valid_networks
from fabric.control.permissions import missing_permission
from fabric.model.container import Fabric
from fabric.model.records import (
    AdminRule,
    ConnectivityConfiguration,
    NetworkManager,
    Peering,
    SecurityAdminConfiguration,
    VNet,
)

HUB_AND_SPOKE = "HubAndSpoke"
MESH = "Mesh"
CONNECTED_GROUP = "ConnectedGroup"  # the next hop type effective routes show (N8.1)
IN_SCOPE = "InScope"  # same tenant, scope not checked or listed
NOT_IN_SCOPE = "NotInScope"


@attrs.frozen(slots=True)
class ConnectedGroup:
    """A connected group (N8.1): members reach each other directly, with no peering objects.
    ``name`` is ``<configuration>/<network group>``, plus ``/<region>`` for a regional group
    that a network group spanning several regions splits into."""

    name: str
    configuration: str
    network_group: str
    members: tuple[str, ...]
    is_global: bool


@attrs.frozen(slots=True)
class GroupLink:
    """What a ``ConnectedGroup`` route names: the group and the member it reaches."""

    group: ConnectedGroup
    vnet: str
    remote_vnet: str

    @property
    def name(self) -> str:
        return self.group.name


@attrs.frozen(slots=True)
class Overlap:
    """A prefix removed from a connected group because members claim it twice (N8.1): the
    members (owners) that hold it, by their own space or a peering to an outside VNet."""

    prefix: IPNetwork
    owners: tuple[str, ...]
    group: ConnectedGroup
    outside: tuple[str, ...] = ()  # outside VNets whose space takes part


@attrs.frozen(slots=True)
class Exclusion:
    """A member that a configuration leaves out, and why (a stable code and the detail)."""

    vnet: str
    configuration: str
    code: str
    detail: str


@attrs.frozen(slots=True)
class HubWithoutGateway:
    """``use_hub_gateway`` on a hub that has no gateway: the spokes' links fail (N8.1)."""

    configuration: str
    hub: str
    spokes: tuple[str, ...]


@attrs.frozen(slots=True)
class Deployment:
    """What the deployed configurations create, before routes: the peering links AVNM made
    (and which configuration made each), the declared links it deleted, the connected groups,
    the members it left out and the hubs whose gateway is missing."""

    peerings: tuple[Peering, ...] = ()
    created_by: dict[tuple[str, str], str] = attrs.field(factory=dict)
    removed: dict[tuple[str, str], str] = attrs.field(factory=dict)
    groups: tuple[ConnectedGroup, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    hubs_without_gateway: tuple[HubWithoutGateway, ...] = ()
    spokes: dict[str, tuple[str, ...]] = attrs.field(factory=dict)  # hub -> spokes via AVNM


@attrs.frozen(slots=True)
class GroupRoute:
    """One ``ConnectedGroup`` route of a member."""

    prefix: IPNetwork
    link: GroupLink


@attrs.frozen(slots=True)
class MeshRoutes:
    """Per member VNet: its ConnectedGroup routes and the overlap prefixes it drops."""

    routes: dict[str, tuple[GroupRoute, ...]]
    drops: dict[str, tuple[Overlap, ...]]
    overlaps: tuple[Overlap, ...]


# -- scope (N7) -----------------------------------------------------------------------------


def manager_of(fabric: Fabric, *names: str | None) -> NetworkManager | None:
    """The network manager named first in ``names``; else the only declared one; else None
    (an implicit manager whose scope is not checked)."""
    for name in names:
        if name is not None:
            return fabric.network_managers.get(name)
    if len(fabric.network_managers) == 1:
        return next(iter(fabric.network_managers.values()))
    return None


def scope_state(fabric: Fabric, manager: NetworkManager | None, vnet: VNet) -> str:
    """Whether ``manager`` may manage ``vnet``: ``InScope`` (same tenant), ``NotInScope``
    (same tenant, subscription not in its scope list), or for a VNet of another tenant the
    cross-tenant connection state of N7: ``Connected`` (both the manager's scope connection
    and the target's network manager connection exist), ``Pending`` (one is missing),
    ``Conflict`` (another manager already holds that subscription) or a reported state."""
    if manager is None or not (vnet.tenant and manager.tenant and vnet.tenant != manager.tenant):
        if manager is not None and manager.scope_subscriptions and vnet.subscription:
            listed = vnet.subscription in manager.scope_subscriptions
            same = manager.subscription == vnet.subscription
            return IN_SCOPE if listed or same else NOT_IN_SCOPE
        return IN_SCOPE
    if not vnet.subscription:
        return "Pending"  # a cross-tenant scope names a subscription; none is declared
    request = next(
        (
            c
            for c in manager.scope_connections
            if c.tenant == vnet.tenant and c.subscription == vnet.subscription
        ),
        None,
    )
    consent = next(
        (
            c
            for c in fabric.network_manager_connections.values()
            if c.subscription == vnet.subscription and c.network_manager == manager.name
        ),
        None,
    )
    for side in (request, consent):
        if side is not None and side.connection_state in ("Revoked", "Conflict"):
            return side.connection_state
    if request is None or consent is None:
        return "Pending"
    for other in fabric.network_managers.values():
        if other.name == manager.name:
            break  # managers declared earlier hold the scope first
        held = any(
            c.tenant == vnet.tenant and c.subscription == vnet.subscription
            for c in other.scope_connections
        ) and any(
            c.subscription == vnet.subscription and c.network_manager == other.name
            for c in fabric.network_manager_connections.values()
        )
        if held:
            return "Conflict"
    return "Connected"


# -- the deployment -------------------------------------------------------------------------


def _members(
    fabric: Fabric,
    config: ConnectivityConfiguration | SecurityAdminConfiguration,
    group_name: str,
    out: list[Exclusion],
) -> list[str]:
    """The group's members that exist and that the configuration's manager may manage."""
    group = fabric.network_groups.get(group_name)
    if group is None:
        return []
    manager = manager_of(fabric, config.network_manager, group.network_manager)
    members = []
    for name in dict.fromkeys(group.members):
        vnet = fabric.vnets.get(name)
        if vnet is None:
            continue
        state = scope_state(fabric, manager, vnet)
        if state not in (IN_SCOPE, "Connected"):
            out.append(_out_of_scope(config, manager, vnet, state))
            continue
        members.append(name)
    return members


def _out_of_scope(
    config: ConnectivityConfiguration | SecurityAdminConfiguration,
    manager: NetworkManager | None,
    vnet: VNet,
    state: str,
) -> Exclusion:
    who = manager.name if manager is not None else "(the network manager)"
    if state == NOT_IN_SCOPE:
        detail = (
            f"VNet {vnet.name} is in subscription {vnet.subscription}, which network manager "
            f"{who} does not have in its scope_subscriptions; configuration {config.name} "
            "leaves it out"
        )
        return Exclusion(vnet.name, config.name, "VnetNotInNetworkManagerScope", detail)
    why = {
        "Pending": "one of the two connections is missing: the manager's scope connection "
        f"(tenant {vnet.tenant}, subscription {vnet.subscription}) and the target's network "
        f"manager connection from subscription {vnet.subscription} to {who}, with identical scopes",
        "Conflict": f"subscription {vnet.subscription} is already under another network "
        "manager with the same access",
        "Revoked": "one side of the connection was deleted",
    }[state]
    detail = (
        f"VNet {vnet.name} is in tenant {vnet.tenant}, not {who}'s tenant: its cross-tenant "
        f"scope is {state} ({why}); only Connected adds scope (N7), so configuration "
        f"{config.name} leaves it out"
    )
    return Exclusion(vnet.name, config.name, "CrossTenantScopeNotConnected", detail)


def _regional(
    config: ConnectivityConfiguration,
    group_name: str,
    members: list[str],
    is_global: bool,
    fabric: Fabric,
) -> list[ConnectedGroup]:
    """One connected group of ``members``, or one per region when it is not global."""
    base = f"{config.name}/{group_name}"
    if is_global:
        return [ConnectedGroup(base, config.name, group_name, tuple(members), True)]
    regions: dict[str, list[str]] = {}
    for name in members:
        regions.setdefault(fabric.vnets[name].region, []).append(name)
    if len(regions) == 1:
        return [ConnectedGroup(base, config.name, group_name, tuple(members), False)]
    return [
        ConnectedGroup(f"{base}/{region}", config.name, group_name, tuple(names), False)
        for region, names in regions.items()
    ]


class _Deployer:
    """Applies the configurations in declaration order (they are additive, N8.1)."""

    def __init__(self, fabric: Fabric) -> None:
        self.fabric = fabric
        self.links: dict[tuple[str, str], Peering] = {}  # (vnet, remote) -> AVNM link
        self.created_by: dict[tuple[str, str], str] = {}
        self.removed: dict[tuple[str, str], str] = {}
        self.groups: list[ConnectedGroup] = []
        self.exclusions: list[Exclusion] = []
        self.no_gateway: list[HubWithoutGateway] = []
        self.spokes: dict[str, list[str]] = {}
        # Declared links that exist (one Azure refused for want of permission does not).
        self.declared = {
            (p.vnet, p.remote_vnet)
            for p in fabric.peerings.values()
            if missing_permission(fabric, p) is None
        }

    def run(self) -> Deployment:
        for config in self.fabric.connectivity_configurations.values():
            if config.connectivity_topology == HUB_AND_SPOKE:
                self.hub_and_spoke(config)
            else:
                self.mesh(config)
        return Deployment(
            tuple(self.links.values()),
            self.created_by,
            self.removed,
            tuple(self._admit(g) for g in self.groups),
            tuple(self.exclusions),
            tuple(self.no_gateway),
            {hub: tuple(spokes) for hub, spokes in self.spokes.items()},
        )

    def mesh(self, config: ConnectivityConfiguration) -> None:
        members: list[str] = []
        for item in config.applies_to_groups:
            members.extend(_members(self.fabric, config, item.network_group, self.exclusions))
        members = list(dict.fromkeys(members))
        is_global = config.is_global or any(i.is_global for i in config.applies_to_groups)
        name = "+".join(config.group_names)
        self.groups.extend(_regional(config, name, members, is_global, self.fabric))

    def hub_and_spoke(self, config: ConnectivityConfiguration) -> None:
        fabric = self.fabric
        hubs = [h for h in config.hubs if h in fabric.vnets]
        for item in config.applies_to_groups:
            members = _members(fabric, config, item.network_group, self.exclusions)
            spokes = [m for m in members if m not in hubs]
            for hub in hubs:
                self.peer(config, hub, spokes, item.use_hub_gateway)
            if config.delete_existing_peering:
                self.delete_others(config, spokes, set(hubs))
            if item.group_connectivity == "DirectlyConnected":
                is_global = item.is_global or config.is_global
                groups = _regional(config, item.network_group, spokes, is_global, fabric)
                self.groups.extend(groups)

    def peer(self, config: ConnectivityConfiguration, hub: str, spokes: list[str], gw: bool):
        has_gateway = bool(self.fabric.gateways_in(hub, None))
        failed = []
        for spoke in spokes:
            self.link(config, hub, spoke, allow_gateway_transit=gw)
            if gw and not has_gateway:
                failed.append(spoke)  # N8.1: the spoke->hub link fails
                continue
            self.link(config, spoke, hub, use_remote_gateways=gw)
        self.spokes.setdefault(hub, []).extend(s for s in spokes if s not in self.spokes[hub])
        if failed:
            self.no_gateway.append(HubWithoutGateway(config.name, hub, tuple(failed)))

    def link(self, config: ConnectivityConfiguration, vnet: str, remote: str, **flags) -> None:
        pair = (vnet, remote)
        if pair in self.links or (pair in self.declared and not self._removed_pair(pair)):
            return  # coexistence: an existing link in this direction is kept as it is
        name = f"avnm-{config.name}-to-{remote}"
        self.links[pair] = Peering(name, vnet, remote, **flags)
        self.created_by[(vnet, name)] = config.name

    def _removed_pair(self, pair: tuple[str, str]) -> bool:
        return any(
            (p.vnet, p.remote_vnet) == pair
            for key, p in self.fabric.peerings.items()
            if key in self.removed
        )

    def delete_others(self, config: ConnectivityConfiguration, spokes: list[str], hubs: set[str]):
        """N8.1: remove the spokes' peerings that do not match the configuration (both links)."""
        spoke_set = set(spokes)
        for key, link in self.fabric.peerings.items():
            if key in self.removed:
                continue
            if (link.vnet in spoke_set and link.remote_vnet not in hubs) or (
                link.remote_vnet in spoke_set and link.vnet not in hubs
            ):
                self.removed[key] = config.name

    def _admit(self, group: ConnectedGroup) -> ConnectedGroup:
        """Apply ``Disallowed`` overlap handling: a member that overlaps one already admitted
        is rejected (declared order)."""
        config = self.fabric.connectivity_configurations[group.configuration]
        if config.connected_group_address_overlap != "Disallowed":
            return group
        admitted: list[str] = []
        taken: list[tuple[IPNetwork, str]] = []
        for name in group.members:
            mine = valid_networks(self.fabric.vnets[name].address_prefixes)
            clash = next(((n, o) for n, o in taken for m in mine if m.overlaps(n)), None)
            if clash is not None:
                self.exclusions.append(
                    Exclusion(
                        name,
                        config.name,
                        "ConnectedGroupAddressOverlap",
                        f"VNet {name} overlaps {clash[1]} ({clash[0]}) in connected group "
                        f"{group.name}, and configuration {config.name} sets "
                        "connected_group_address_overlap Disallowed, so Virtual Network Manager "
                        f"rejects {name} (N8.1); give it a disjoint space or allow overlaps",
                    )
                )
                continue
            admitted.append(name)
            taken.extend((n, name) for n in mine)
        return attrs.evolve(group, members=tuple(admitted))


def derive(fabric: Fabric) -> Deployment:
    """The peerings, connected groups and exclusions of ``fabric``'s deployed configurations."""
    if not fabric.connectivity_configurations:
        return Deployment()
    return _Deployer(fabric).run()


# -- connected-group routes and overlaps (N8.1) ---------------------------------------------


def _overlaps(
    group: ConnectedGroup, claims: list[tuple[IPNetwork, str, str | None]]
) -> list[Overlap]:
    """The overlapping prefixes among ``claims`` (prefix, member, outside VNet or None), by a
    sweep over the nested CIDR blocks: each overlap is the more specific block of a pair of
    claims by different members, of which at least one is a member's own space."""
    found: dict[IPNetwork, tuple[set[str], set[str]]] = {}
    for version in (4, 6):
        blocks = sorted(
            (c for c in claims if c[0].version == version),
            key=lambda c: (int(c[0].network_address), c[0].prefixlen),
        )
        stack: list[tuple[IPNetwork, str, str | None]] = []
        for claim in blocks:
            net = claim[0]
            while stack and int(stack[-1][0].broadcast_address) < int(net.network_address):
                stack.pop()
            for outer in stack:  # CIDR blocks nest: every open block contains this one
                if outer[1] == claim[1] or (outer[2] is not None and claim[2] is not None):
                    continue
                owners, outside = found.setdefault(net, (set(), set()))
                owners.update((outer[1], claim[1]))
                outside.update(o for o in (outer[2], claim[2]) if o is not None)
            stack.append(claim)
    return [
        Overlap(net, tuple(sorted(owners)), group, tuple(sorted(outside)))
        for net, (owners, outside) in found.items()
    ]


def mesh_routes(
    fabric: Fabric, deployment: Deployment, peered: Callable[[str], Iterable[str]]
) -> MeshRoutes:
    """Every member's ConnectedGroup routes and overlap drops. ``peered(vnet)`` names the VNets
    ``vnet`` is Connected-peered with (the peering view answers it)."""
    routes: dict[str, dict[IPNetwork, GroupRoute]] = {}
    drops: dict[str, dict[IPNetwork, Overlap]] = {}
    every: list[Overlap] = []
    space = {
        name: valid_networks(fabric.vnets[name].address_prefixes)
        for group in deployment.groups
        for name in group.members
    }
    for group in deployment.groups:
        members = set(group.members)
        claims: list[tuple[IPNetwork, str, str | None]] = []
        for name in group.members:
            claims.extend((net, name, None) for net in space[name])
            for remote in peered(name):
                if remote not in members and remote in fabric.vnets:
                    outside = valid_networks(fabric.vnets[remote].address_prefixes)
                    claims.extend((net, name, remote) for net in outside)
        overlaps = _overlaps(group, claims)
        every.extend(overlaps)
        removed = {o.prefix for o in overlaps}
        for name in group.members:
            mine = routes.setdefault(name, {})
            direct = set(peered(name))
            for remote in group.members:
                if remote == name or remote in direct:  # a peering carries it (N8.1)
                    continue
                for net in space[remote]:
                    if net not in removed and net not in mine:
                        mine[net] = GroupRoute(net, GroupLink(group, name, remote))
            dropped = drops.setdefault(name, {})
            for overlap in overlaps:
                if name not in overlap.owners:
                    dropped.setdefault(overlap.prefix, overlap)
    return MeshRoutes(
        {name: tuple(r.values()) for name, r in routes.items()},
        {name: tuple(d.values()) for name, d in drops.items() if d},
        tuple(every),
    )


# -- security admin rules (§5.3) ------------------------------------------------------------


@attrs.frozen(slots=True)
class AppliedAdminRule:
    """A security admin rule as it applies to a VNet: the rule and where it comes from."""

    configuration: str
    collection: str
    rule: AdminRule


@attrs.frozen(slots=True)
class AdminRules:
    """The deployed security admin rules: per VNet, in evaluation order (priority, then the
    order declared), and the members their managers may not manage (left out)."""

    by_vnet: dict[str, tuple[AppliedAdminRule, ...]]
    exclusions: tuple[Exclusion, ...] = ()

    def of(self, vnet: str, direction: str) -> tuple[AppliedAdminRule, ...]:
        """The rules of one direction that apply to ``vnet``, in evaluation order."""
        return tuple(a for a in self.by_vnet.get(vnet, ()) if a.rule.direction == direction)


def admin_rules(fabric: Fabric) -> AdminRules:
    """Which security admin rules apply to which VNet: a rule collection's rules apply to the
    members of the network groups it names that its configuration's manager may manage (the
    scope rules of connectivity configurations). Evaluation order is the priority; rules of
    equal priority keep the order they were declared in (Azure does not say; our reading)."""
    applied: dict[str, list[AppliedAdminRule]] = {}
    exclusions: list[Exclusion] = []
    for config in fabric.security_admin_configurations.values():
        for collection in config.rule_collections:
            members: list[str] = []
            for group in collection.applies_to_groups:
                members.extend(_members(fabric, config, group, exclusions))
            for vnet in dict.fromkeys(members):
                applied.setdefault(vnet, []).extend(
                    AppliedAdminRule(config.name, collection.name, rule)
                    for rule in collection.rules
                )
    ordered = {
        vnet: tuple(sorted(rules, key=lambda a: a.rule.priority)) for vnet, rules in applied.items()
    }
    return AdminRules(ordered, tuple(dict.fromkeys(exclusions)))
