"""Timed events of a scenario: failures, repairs and changes during a run (``events:``).

One record, ``Event``, names its action from ``ACTIONS``, the vocabulary: what each action
targets and which keys it takes. This module owns the checks of a list of events against a
topology (an unknown action or target with a did-you-mean, a time outside the run, an instance
a gateway does not have, a route or rule that is not there at that time) and the configuration
edits (``edit``), made through the Fabric's edit API so that Azure's side effects apply (§2.2:
deleting one side of a peering leaves the other ``Disconnected``). How an event plays out on
the dataplane, and when, is ``fabric.sim.events``: one registered handler per action name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from fabric.model.container import Fabric, FabricError
from fabric.model.records import (
    UDR_NEXT_HOP_TYPES,
    Peering,
    Route,
    SecurityRule,
    suggest,
)

KINDS = ("planned", "unplanned")
# N2.3: a VPN gateway has two instances, active-standby or active-active.
INSTANCES_PER_VPN_GATEWAY = 2


class EventError(ValueError):
    """An event that cannot happen on this topology; the message names it and the fix."""


@attrs.frozen(slots=True)
class ActionSpec:
    """What an action targets (``gateway``, ``connection``, ``peering`` as ``vnet/name``,
    ``route_table``, ``nsg``, ``circuit`` or ``vm``), the keys it takes besides ``at_s``,
    ``action`` and ``target``, and whether it edits the configuration (else it is a failure
    or a repair)."""

    target: str
    keys: tuple[str, ...] = ()
    configuration: bool = False
    summary: str = ""


ACTIONS: dict[str, ActionSpec] = {
    "gateway_instance_down": ActionSpec(
        "gateway", ("instance", "kind"), summary="one instance of a VPN gateway goes down"
    ),
    "gateway_instance_up": ActionSpec(
        "gateway", ("instance",), summary="a gateway instance is back in service"
    ),
    "tunnel_down": ActionSpec("connection", summary="the IPsec tunnel of a connection drops"),
    "tunnel_up": ActionSpec("connection", summary="the tunnel of a connection is back up"),
    "peering_delete": ActionSpec(
        "peering", configuration=True, summary="one side of a peering is deleted (API/CLI)"
    ),
    "peering_create": ActionSpec(
        "peering", ("peering",), configuration=True, summary="one side of a peering is created"
    ),
    "route_change": ActionSpec(
        "route_table", ("route", "remove"), True, "a user-defined route is added or removed"
    ),
    "nsg_rule_change": ActionSpec(
        "nsg", ("rule", "remove"), True, "an NSG rule is added, replaced or removed"
    ),
    "circuit_link_down": ActionSpec(
        "circuit", summary="an ExpressRoute circuit loses its link to on-premises"
    ),
    "circuit_link_up": ActionSpec("circuit", summary="the circuit's link is back up"),
    "vm_down": ActionSpec("vm", summary="a VM stops (its NICs neither send nor receive)"),
    "vm_up": ActionSpec("vm", summary="a VM is running again"),
}
# The keys an action may take; a key another action takes is refused on this one.
_OPTIONAL_KEYS = ("instance", "kind", "route", "rule", "peering", "remove")


def _finite_number(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"{attribute.name} must be a number of seconds, got {value!r}")


def _text(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{attribute.name} must be a non-empty string, got {value!r}")


@attrs.frozen(slots=True)
class Event:
    """One timed change: at ``at_s`` seconds, ``action`` happens to ``target``.

    ``instance`` (gateway actions) is 0 or 1; ``kind`` (gateway_instance_down) is ``planned``
    (maintenance, the default) or ``unplanned`` (a failure); ``route``/``rule`` add or replace a
    route/rule of that name, ``remove`` names one to delete; ``peering`` gives the settings of
    a link that peering_create makes (default: the link as the topology declares it).
    """

    at_s: float = attrs.field(validator=_finite_number)
    action: str = attrs.field(validator=_text)
    target: str = attrs.field(validator=_text)
    instance: int | None = attrs.field(default=None)
    kind: str | None = attrs.field(default=None)
    route: Route | None = attrs.field(default=None)
    rule: SecurityRule | None = attrs.field(default=None)
    peering: Peering | None = attrs.field(default=None)
    remove: str | None = attrs.field(default=None)

    @instance.validator
    def _instance(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"instance must be an integer, got {value!r}")

    @kind.validator
    def _kind(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None and value not in KINDS:
            raise ValueError(f"kind: {value!r} is not valid; {suggest(value, KINDS)}")

    @property
    def spec(self) -> ActionSpec | None:
        """The action's entry in ``ACTIONS`` (None for an unknown action)."""
        return ACTIONS.get(self.action)

    @property
    def planned(self) -> bool:
        """True unless the event says ``kind: unplanned``."""
        return self.kind != "unplanned"

    def label(self) -> str:
        """``gateway_instance_down hub-gw instance 0 (planned) at 5 s``."""
        extra = f" instance {self.instance}" if self.instance is not None else ""
        if self.action == "gateway_instance_down":
            extra += f" ({self.kind or 'planned'})"
        if self.route is not None:
            extra += f" route {self.route.name}"
        if self.rule is not None:
            extra += f" rule {self.rule.name}"
        if self.remove is not None:
            extra += f" remove {self.remove}"
        return f"{self.action} {self.target}{extra} at {self.at_s:g} s"

    @classmethod
    def from_mapping(cls, entry: dict[str, Any]) -> Event:
        """An event from a Python mapping (nested route/rule/peering as mappings or records;
        a peering mapping may say ``from``/``to`` as in YAML)."""
        values = dict(entry)
        for key, record in (("route", Route), ("rule", SecurityRule), ("peering", Peering)):
            nested = values.get(key)
            if isinstance(nested, dict):
                nested = dict(nested)
                if record is Peering:
                    for yaml_key, name in (("from", "vnet"), ("to", "remote_vnet")):
                        if yaml_key in nested:
                            nested[name] = nested.pop(yaml_key)
                try:
                    values[key] = record(**nested)
                except (TypeError, ValueError) as problem:
                    raise EventError(f"event {key}: {problem}") from None
        try:
            return cls(**values)
        except (TypeError, ValueError) as problem:
            raise EventError(f"event: {problem}") from None


# -- targets ----------------------------------------------------------------------------------


def vm_names(fabric: Fabric) -> dict[str, str]:
    """Every name a ``vm`` target may use (a host's or its VM's) -> the VM's name."""
    names = {}
    for vnet in fabric.vnets.values():
        for host in vnet.hosts:
            names[host.vm_name] = host.vm_name
            names[host.name] = host.vm_name
    return names


def peering_key(fabric: Fabric, target: str) -> tuple[str, str] | None:
    """The (vnet, name) a peering target names: ``vnet/name``, or a link name unique in the
    fabric; None when it names no link."""
    vnet, slash, name = target.partition("/")
    if slash:
        return (vnet, name) if (vnet, name) in fabric.peerings else None
    matches = [key for key in fabric.peerings if key[1] == target]
    return matches[0] if len(matches) == 1 else None


def _targets(fabric: Fabric, kind: str) -> list[str]:
    if kind == "gateway":
        return list(fabric.gateways)
    if kind == "connection":
        return list(fabric.connections)
    if kind == "peering":
        return [f"{vnet}/{name}" for vnet, name in fabric.peerings]
    if kind == "route_table":
        return list(fabric.route_tables)
    if kind == "nsg":
        return list(fabric.nsgs)
    if kind == "circuit":
        return list(fabric.express_route_circuits)
    if kind == "vm":
        return list(vm_names(fabric))
    raise ValueError(f"unknown target kind {kind!r}")


_TARGET_LABELS = {
    "gateway": "gateway",
    "connection": "connection",
    "peering": "peering link (vnet/name)",
    "route_table": "route table",
    "nsg": "NSG",
    "circuit": "ExpressRoute circuit",
    "vm": "VM or host",
}


# -- checks -----------------------------------------------------------------------------------

Problem = tuple[int, str, str]  # (index of the event, key, message)


def event_problems(
    events: Sequence[Event],
    fabric: Fabric,
    horizon_s: float | None = None,
    *,
    targets: bool = True,
) -> list[Problem]:
    """Every problem of ``events`` on ``fabric``: unknown actions and targets (with the nearest
    name), times outside ``[0, horizon_s)``, keys an action does not take or needs, gateway
    instances beyond two, and configuration changes that do not apply at their time (the
    events are replayed in time order on a copy of the fabric). ``targets=False`` leaves out
    what needs the topology (a traffic file meant for a topology given elsewhere)."""
    problems: list[Problem] = []
    current = fabric.copy()
    order = sorted(range(len(events)), key=lambda i: events[i].at_s)
    for index in order:
        event = events[index]

        def report(key: str, message: str, index: int = index) -> None:
            problems.append((index, key, message))

        spec = event.spec
        if spec is None:
            report("action", f"unknown action {event.action!r}; {suggest(event.action, ACTIONS)}")
            continue
        if event.at_s < 0 or (horizon_s is not None and event.at_s >= horizon_s):
            end = f"{horizon_s:g} s" if horizon_s is not None else "its end"
            report(
                "at_s",
                f"at_s {event.at_s:g} is outside the run (from 0 to {end}): the event would "
                "never happen; move it, or lengthen simulation.duration_s",
            )
        for key in _OPTIONAL_KEYS:
            if getattr(event, key) is not None and key not in spec.keys:
                takes = ", ".join(spec.keys) if spec.keys else "none"
                report(key, f"{key} does not apply to {event.action} (its extra keys: {takes})")
        if not targets:
            continue
        state = current if spec.configuration else fabric
        message = _target_problem(event, state, spec.target)
        if (
            message is not None
            and state is current
            and not _target_problem(event, fabric, spec.target)
        ):
            message = (
                f"{_TARGET_LABELS[spec.target]} {event.target} does not exist at "
                f"{event.at_s:g} s: an earlier event removed it"
            )
        if message is not None:
            report("target", message)
            continue
        for key, text in _action_problems(event, state, fabric):
            report(key, text)
        if spec.configuration and not any(p[0] == index for p in problems):
            try:
                current, _ = edit(event, current, fabric)
            except EventError as problem:
                report("target", str(problem))
    return sorted(problems)


def _target_problem(event: Event, fabric: Fabric, kind: str) -> str | None:
    if kind == "peering":
        if event.action == "peering_create":
            return None  # checked with the link to create
        if peering_key(fabric, event.target) is not None:
            return None
    elif event.target in _targets(fabric, kind):
        connection = fabric.connections.get(event.target) if kind == "connection" else None
        if connection is not None and connection.connection_type == "ExpressRoute":
            return (
                f"connection {event.target!r} is an ExpressRoute connection: it has no IPsec "
                f"tunnel; to fail the circuit's link, use circuit_link_down with target "
                f"{connection.to_gateway}"
            )
        return None
    names = _targets(fabric, kind)
    hint = suggest(event.target, names) if names else "none are declared"
    return f"{_TARGET_LABELS[kind]} {event.target!r} is not declared ({hint})"


def _action_problems(event: Event, fabric: Fabric, declared: Fabric) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    action = event.action
    if action.startswith("gateway_instance"):
        gateway = fabric.gateways[event.target]
        if event.instance is None:
            found.append(("instance", f"{action} needs instance: 0 or 1"))
        elif not 0 <= event.instance < INSTANCES_PER_VPN_GATEWAY:
            found.append(
                (
                    "instance",
                    f"instance {event.instance} is beyond gateway {gateway.name}'s instances: a "
                    "VPN gateway has two, 0 and 1 (N2.3)",
                )
            )
        if gateway.gateway_type != "Vpn":
            found.append(
                (
                    "target",
                    f"gateway {gateway.name} is an {gateway.gateway_type} gateway; instance "
                    "events are modelled for VPN gateways only",
                )
            )
    elif action in ("route_change", "nsg_rule_change"):
        item = "route" if action == "route_change" else "rule"
        given = getattr(event, item)
        if (given is None) == (event.remove is None):
            found.append((item, f"{action} needs either {item} (to add or replace) or remove"))
        elif event.remove is not None:
            table = (
                fabric.route_tables[event.target].routes
                if item == "route"
                else fabric.nsgs[event.target].security_rules
            )
            names = [r.name for r in table]
            if event.remove not in names:
                hint = suggest(event.remove, names) if names else f"it has no {item}s"
                found.append(
                    (
                        "remove",
                        f"{event.target} has no {item} {event.remove!r} at {event.at_s:g} s "
                        f"({hint})",
                    )
                )
        elif item == "route" and given.next_hop_type not in UDR_NEXT_HOP_TYPES:
            hint = suggest(given.next_hop_type, UDR_NEXT_HOP_TYPES)
            found.append(("route", f"next_hop_type {given.next_hop_type!r} is not valid; {hint}"))
    elif action == "peering_create":
        try:
            link = link_to_create(event, declared)
        except EventError as problem:
            found.append(("peering", str(problem)))
            return found
        for vnet in (link.vnet, link.remote_vnet):
            if vnet not in fabric.vnets:
                found.append(("peering", f"VNet {vnet!r} is not declared"))
    return found


# -- configuration edits ----------------------------------------------------------------------


def link_to_create(event: Event, declared: Fabric) -> Peering:
    """The link a peering_create event makes: its ``peering`` mapping, else the link as the
    topology declares it (re-created after an earlier delete)."""
    vnet, slash, name = event.target.partition("/")
    if event.peering is not None:
        link = event.peering
        if (link.vnet, link.name) != ((vnet, name) if slash else (link.vnet, event.target)):
            raise EventError(
                f"peering is {link.vnet}/{link.name} but target is {event.target}; make them "
                "the same link"
            )
        return link
    key = peering_key(declared, event.target)
    if key is None:
        raise EventError(
            f"peering link {event.target!r} is not declared in the topology; give its settings "
            "under peering: {name, from, to, ...}"
        )
    return declared.peerings[key]


def without_circuit_routes(fabric: Fabric, circuit: str) -> Fabric:
    """``fabric`` once the BGP session between on-premises and circuit ``circuit``'s MSEEs is
    down (its link failed): nothing on-premises advertised is learned over it any more. What
    the MSEE relays between VNets linked to the circuit (N1.6) stays: that hairpin does not
    cross the link to on-premises."""
    changed = fabric.copy()
    record = changed.express_route_circuits[circuit]
    changed.express_route_circuits[circuit] = attrs.evolve(record, on_premises_prefixes=())
    return changed


def edit(event: Event, fabric: Fabric, declared: Fabric) -> tuple[Fabric, str]:
    """The fabric after a configuration event, and what changed, in a sentence. ``declared``
    is the topology as loaded (the settings a re-created peering link takes). EventError when
    the change does not apply (a link already gone, a route that is not there)."""
    changed = fabric.copy()
    action = event.action
    try:
        if action == "peering_delete":
            return _delete_peering(event, changed)
        if action == "peering_create":
            link = link_to_create(event, declared)
            if (link.vnet, link.name) in changed.peerings:
                raise EventError(f"peering link {link.vnet}/{link.name} already exists")
            changed.peer_one_side(
                link.vnet,
                link.remote_vnet,
                name=link.name,
                allow_virtual_network_access=link.allow_virtual_network_access,
                allow_forwarded_traffic=link.allow_forwarded_traffic,
                allow_gateway_transit=link.allow_gateway_transit,
                use_remote_gateways=link.use_remote_gateways,
            )
            return changed, f"created peering link {link.vnet}/{link.name} to {link.remote_vnet}"
        if action == "route_change":
            return _change_table(event, changed)
        if action == "nsg_rule_change":
            return _change_nsg(event, changed)
    except FabricError as problem:
        raise EventError(str(problem)) from None
    raise EventError(f"{action} is not a configuration change")


def _delete_peering(event: Event, fabric: Fabric) -> tuple[Fabric, str]:
    key = peering_key(fabric, event.target)
    if key is None:
        raise EventError(f"peering link {event.target} does not exist at {event.at_s:g} s")
    link = fabric.unpeer(*key)
    survivors = [
        f"{other.vnet}/{other.name}"
        for other in fabric.peerings.values()
        if other.vnet == link.remote_vnet and other.remote_vnet == link.vnet
    ]
    after = f"; {', '.join(survivors)} is now Disconnected (§2.2)" if survivors else ""
    return fabric, f"deleted peering link {key[0]}/{key[1]}{after}"


def _without(items: tuple, name: str, missing: str) -> tuple:
    """``items`` less the one called ``name`` (an EventError saying ``missing`` if none is)."""
    kept = tuple(item for item in items if item.name != name)
    if len(kept) == len(items):
        raise EventError(missing)
    return kept


def _upserted(items: tuple, new) -> tuple[tuple, bool]:
    """``items`` with ``new`` in place of the item of its name, or added at the end; and
    whether it replaced one."""
    replaced = any(item.name == new.name for item in items)
    merged = [new if item.name == new.name else item for item in items]
    if not replaced:
        merged.append(new)
    return tuple(merged), replaced


def _change_table(event: Event, fabric: Fabric) -> tuple[Fabric, str]:
    table = fabric.route_tables[event.target]
    if event.remove is not None:
        missing = f"route table {table.name} has no route {event.remove!r}"
        kept = _without(table.routes, event.remove, missing)
        fabric.route_tables[table.name] = attrs.evolve(table, routes=kept)
        return fabric, f"removed route {event.remove} from route table {table.name}"
    route = event.route
    assert route is not None
    routes, replaced = _upserted(table.routes, route)
    fabric.route_tables[table.name] = attrs.evolve(table, routes=routes)
    hop = route.next_hop_type + (
        f" {route.next_hop_ip_address}" if route.next_hop_ip_address else ""
    )
    verb = "replaced" if replaced else "added"
    return fabric, f"{verb} route {route.name} ({route.address_prefix} -> {hop}) in {table.name}"


def _change_nsg(event: Event, fabric: Fabric) -> tuple[Fabric, str]:
    nsg = fabric.nsgs[event.target]
    if event.remove is not None:
        missing = f"NSG {nsg.name} has no rule {event.remove!r}"
        kept = _without(nsg.security_rules, event.remove, missing)
        fabric.nsgs[nsg.name] = attrs.evolve(nsg, security_rules=kept)
        return fabric, f"removed rule {event.remove} from NSG {nsg.name}"
    rule = event.rule
    assert rule is not None
    rules, replaced = _upserted(nsg.security_rules, rule)
    fabric.nsgs[nsg.name] = attrs.evolve(nsg, security_rules=rules)
    verb = "replaced" if replaced else "added"
    return fabric, (
        f"{verb} rule {rule.name} ({rule.direction} {rule.access}, priority {rule.priority}) "
        f"in NSG {nsg.name}"
    )
