"""Azure Virtual Network Manager resources (N8.1, N7) as ARM deploys them and REST returns them.

* ``Microsoft.Network/networkManagers``: ``networkManagerScopes.subscriptions`` (IDs).
* ``.../networkManagers/networkGroups`` and ``.../networkGroups/staticMembers``
  (``properties.resourceId``: a VNet).
* ``.../networkManagers/connectivityConfigurations``: ``connectivityTopology``, ``hubs[]
  .resourceId``, ``appliesToGroups[] {networkGroupId, groupConnectivity, useHubGateway,
  isGlobal}``, ``isGlobal``, ``deleteExistingPeering`` (``'True'``/``'False'`` strings, N17.2),
  ``connectivityCapabilities {connectedGroupAddressOverlap, connectedGroupPrivateEndpointsScale,
  peeringEnforcement}`` (2025-05-01 API, N8.1).
* ``.../networkManagers/scopeConnections`` (``tenantId``, ``resourceId``: a subscription) and
  ``Microsoft.Network/networkManagerConnections`` (``networkManagerId``), the two sides of a
  cross-tenant scope (N7).
* ``.../networkManagers/securityAdminConfigurations``, its ``ruleCollections``
  (``appliesToGroups[].networkGroupId``) and their ``rules`` (``access``, ``direction``,
  ``priority``, ``protocol``, ``sources``/``destinations`` ``[{addressPrefix,
  addressPrefixType}]``, ``sourcePortRanges``/``destinationPortRanges``): §5.3.

Each function reads one resource into a record; ``Assembly`` adds them to a Fabric once its
VNets are known, for every importer (ARM and az/REST through ``fabric.io.azure_resources``,
Terraform through ``fabric.io.terraform.azurerm``, which hands it the same resource shapes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import attrs

from fabric.io.azure_values import BadValueError, choice, flag, strings, text
from fabric.model.container import Fabric
from fabric.model.records import (
    ADDRESS_OVERLAP_MODES,
    ADMIN_ACCESSES,
    CONNECTIVITY_TOPOLOGIES,
    DIRECTIONS,
    GROUP_CONNECTIVITIES,
    PEERING_ENFORCEMENTS,
    PRIVATE_ENDPOINT_SCALES,
    PROTOCOLS,
    SCOPE_CONNECTION_STATES,
    AdminRule,
    AdminRuleCollection,
    ConnectivityConfiguration,
    GroupItem,
    NetworkGroup,
    NetworkManager,
    NetworkManagerConnection,
    ScopeConnection,
    SecurityAdminConfiguration,
)

MANAGER = "microsoft.network/networkmanagers"
GROUP = "microsoft.network/networkmanagers/networkgroups"
STATIC_MEMBER = "microsoft.network/networkmanagers/networkgroups/staticmembers"
CONFIGURATION = "microsoft.network/networkmanagers/connectivityconfigurations"
SCOPE_CONNECTION = "microsoft.network/networkmanagers/scopeconnections"
MANAGER_CONNECTION = "microsoft.network/networkmanagerconnections"
SECURITY_CONFIGURATION = "microsoft.network/networkmanagers/securityadminconfigurations"
RULE_COLLECTION = SECURITY_CONFIGURATION + "/rulecollections"
ADMIN_RULE = RULE_COLLECTION + "/rules"
TYPES = frozenset(
    {
        MANAGER,
        GROUP,
        STATIC_MEMBER,
        CONFIGURATION,
        SCOPE_CONNECTION,
        MANAGER_CONNECTION,
        SECURITY_CONFIGURATION,
        RULE_COLLECTION,
        ADMIN_RULE,
    }
)


def last_after(resource_id: Any, kind: str) -> str | None:
    """The name after ``/<kind>/`` in a resource ID (case-insensitive), else None."""
    if not isinstance(resource_id, str):
        return None
    parts = resource_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == kind.lower():
            return parts[i + 1]
    return None


def vnet_of(resource_id: Any) -> str | None:
    """The VNet a resource ID names, when it names a VNet itself (not a subnet of it)."""
    if not isinstance(resource_id, str):
        return None
    parts = resource_id.strip("/").split("/")
    if len(parts) >= 2 and parts[-2].lower() == "virtualnetworks":
        return parts[-1]
    return None


def subscription_of(resource_id: Any) -> str | None:
    """The subscription of a resource ID or scope (``/subscriptions/<id>...``)."""
    return last_after(resource_id, "subscriptions")


def network_manager(name: str, properties: dict) -> NetworkManager:
    scopes = properties.get("networkManagerScopes") or {}
    if not isinstance(scopes, dict):
        raise BadValueError("properties.networkManagerScopes must be an object")
    ids = strings(scopes.get("subscriptions"), "networkManagerScopes.subscriptions")
    subscriptions = tuple(s for s in (subscription_of(i) or i for i in ids) if s)
    return NetworkManager(name, scope_subscriptions=subscriptions)


def static_member(properties: dict) -> str:
    """The VNet a static member names."""
    vnet = vnet_of(text(properties, "resourceId"))
    if vnet is None:
        raise BadValueError(
            "properties.resourceId must be a VNet's resource ID (subnet members are not modelled)"
        )
    return vnet


def configuration(name: str, manager: str, properties: dict) -> ConnectivityConfiguration:
    topology = choice(
        properties.get("connectivityTopology"), CONNECTIVITY_TOPOLOGIES, "connectivityTopology"
    )
    hubs = []
    for i, hub in enumerate(properties.get("hubs") or ()):
        vnet = vnet_of((hub or {}).get("resourceId"))
        if vnet is None:
            raise BadValueError(f"properties.hubs[{i}].resourceId must be a VNet's resource ID")
        hubs.append(vnet)
    items = []
    for i, item in enumerate(properties.get("appliesToGroups") or ()):
        if not isinstance(item, dict):
            raise BadValueError(f"properties.appliesToGroups[{i}] is not an object")
        group = last_after(item.get("networkGroupId"), "networkGroups")
        if group is None:
            raise BadValueError(
                f"properties.appliesToGroups[{i}].networkGroupId must be a network group's ID"
            )
        where = f"appliesToGroups[{i}]"
        items.append(
            GroupItem(
                group,
                choice(
                    item.get("groupConnectivity"),
                    GROUP_CONNECTIVITIES,
                    f"{where}.groupConnectivity",
                    "None",
                ),
                flag(item, "useHubGateway", False),
                flag(item, "isGlobal", False),
            )
        )
    capabilities = properties.get("connectivityCapabilities") or {}
    if not isinstance(capabilities, dict):
        raise BadValueError("properties.connectivityCapabilities must be an object")
    return ConnectivityConfiguration(
        name,
        topology,
        tuple(items),
        tuple(hubs),
        flag(properties, "isGlobal", False),
        flag(properties, "deleteExistingPeering", False),
        choice(
            capabilities.get("connectedGroupAddressOverlap"),
            ADDRESS_OVERLAP_MODES,
            "connectivityCapabilities.connectedGroupAddressOverlap",
            "Allowed",
        ),
        choice(
            capabilities.get("peeringEnforcement"),
            PEERING_ENFORCEMENTS,
            "connectivityCapabilities.peeringEnforcement",
            "Unenforced",
        ),
        choice(
            capabilities.get("connectedGroupPrivateEndpointsScale"),
            PRIVATE_ENDPOINT_SCALES,
            "connectivityCapabilities.connectedGroupPrivateEndpointsScale",
            "Standard",
        ),
        manager,
        text(properties, "description"),
    )


def _state(properties: dict) -> str | None:
    value = properties.get("connectionState")
    if value is None or value == "":
        return None
    return choice(value, SCOPE_CONNECTION_STATES, "connectionState")


def scope_connection(name: str, properties: dict) -> ScopeConnection:
    tenant = text(properties, "tenantId")
    subscription = subscription_of(text(properties, "resourceId"))
    if tenant is None or subscription is None:
        raise BadValueError(
            "a scope connection needs properties.tenantId and a subscription in "
            "properties.resourceId (management-group scopes are not modelled)"
        )
    return ScopeConnection(name, tenant, subscription, _state(properties))


def manager_connection(
    name: str, properties: dict, subscription: str | None
) -> NetworkManagerConnection:
    manager = last_after(text(properties, "networkManagerId"), "networkManagers")
    if manager is None:
        raise BadValueError("properties.networkManagerId must be a network manager's ID")
    if subscription is None:
        raise BadValueError(
            "the subscription this connection consents for is not known from this input (a "
            "network manager connection is deployed at a subscription scope); declare it in "
            "native YAML under network_manager_connections"
        )
    return NetworkManagerConnection(name, subscription, manager, None, _state(properties))


def security_admin_configuration(
    name: str, manager: str, properties: dict
) -> SecurityAdminConfiguration:
    """A security admin configuration, without its rule collections (they are resources of
    their own, added as they are read)."""
    return SecurityAdminConfiguration(name, (), manager, text(properties, "description"))


def group_names(properties: dict) -> tuple[str, ...]:
    """The network groups a rule collection applies to (``appliesToGroups[].networkGroupId``)."""
    names = []
    for i, item in enumerate(properties.get("appliesToGroups") or ()):
        group = last_after((item or {}).get("networkGroupId"), "networkGroups")
        if group is None:
            raise BadValueError(
                f"properties.appliesToGroups[{i}].networkGroupId must be a network group's ID"
            )
        names.append(group)
    return tuple(names)


def rule_collection(name: str, properties: dict) -> AdminRuleCollection:
    """A rule collection, without its rules (resources of their own)."""
    return AdminRuleCollection(name, group_names(properties), (), text(properties, "description"))


def is_default_rule(properties: dict) -> bool:
    """A ``kind: Default`` admin rule names one of Azure's recommended rules by ``flag``."""
    return "flag" in properties and "access" not in properties


ADDRESS_TYPES = ("IPPrefix", "ServiceTag", "NetworkGroup")


def _addresses(
    properties: dict, side: str, group_prefixes: Callable[[str], tuple[str, ...]]
) -> tuple[str, ...]:
    """A rule side's ``[{addressPrefix, addressPrefixType}]`` as prefixes and service tags;
    a ``NetworkGroup`` item stands for its members' address spaces. None or [] is any
    address (``*``): the API documents no default, and a rule that named nothing cannot
    mean nothing."""
    items = properties.get(side)
    if not items:
        return ("*",)
    if not isinstance(items, list):
        raise BadValueError(f"properties.{side} must be a list of address items")
    found: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadValueError(f"properties.{side}[{i}] is not an object")
        kind = choice(
            item.get("addressPrefixType"),
            ADDRESS_TYPES,
            f"{side}[{i}].addressPrefixType",
            "IPPrefix",
        )
        prefix = text(item, "addressPrefix")
        if prefix is None:
            raise BadValueError(f"properties.{side}[{i}].addressPrefix is missing")
        if kind == "NetworkGroup":
            group = last_after(prefix, "networkGroups") or prefix
            found.extend(group_prefixes(group))
        else:
            found.append(prefix)
    return tuple(found)  # a NetworkGroup item of no members stands for no address


def admin_rule(
    name: str, properties: dict, group_prefixes: Callable[[str], tuple[str, ...]]
) -> AdminRule:
    """A custom security admin rule; ``group_prefixes`` gives a network group's address
    spaces (for ``addressPrefixType: NetworkGroup``)."""
    priority = properties.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise BadValueError(f"properties.priority must be an integer, got {priority!r}")
    return AdminRule(
        name,
        priority,
        choice(properties.get("direction"), DIRECTIONS, "direction"),
        choice(properties.get("access"), ADMIN_ACCESSES, "access"),
        choice(properties.get("protocol"), (*PROTOCOLS[:-1], "Any"), "protocol"),
        _addresses(properties, "sources", group_prefixes),
        strings(properties.get("sourcePortRanges"), "sourcePortRanges") or ("*",),
        _addresses(properties, "destinations", group_prefixes),
        strings(properties.get("destinationPortRanges"), "destinationPortRanges") or ("*",),
        text(properties, "description"),
    )


# -- assembly --------------------------------------------------------------------------------

# The order resources are added in: what is referred to before what refers to it.
ORDER = (
    MANAGER,
    SCOPE_CONNECTION,
    MANAGER_CONNECTION,
    GROUP,
    STATIC_MEMBER,
    CONFIGURATION,
    SECURITY_CONFIGURATION,
    RULE_COLLECTION,
    ADMIN_RULE,
)


class Resource(Protocol):
    """What ``Assembly`` reads of a resource (``fabric.io.azure_resources.AzureResource``):
    ``name`` is the ARM name, parent names first (``nm/group/member``)."""

    type: str
    name: str
    properties: dict[str, Any]
    resource_id: str | None


class Findings(Protocol):
    """Where ``Assembly`` reports: a bad resource, and one it leaves out."""

    def bad(self, resource: Any, problem: Exception | str) -> None: ...

    def not_modelled(self, resource: Any, why: str) -> None: ...


class Assembly:
    """The AVNM resources of one input: each is read when met (a bad value is reported against
    it at once) and added to ``fabric`` by ``finish``, in ``ORDER``, once the VNets are known
    (``vnet_known`` says whether a VNet exists, building it if the importer builds lazily)."""

    def __init__(
        self, fabric: Fabric, findings: Findings, vnet_known: Callable[[str], bool]
    ) -> None:
        self.fabric = fabric
        self.findings = findings
        self.vnet_known = vnet_known
        self.pending: list[tuple[Resource, Callable[[], None]]] = []

    def read(self, r: Resource) -> None:
        """Read one resource now; raises ``BadValueError`` for a bad value."""
        kind = r.type.lower()
        parts = r.name.split("/")
        p = r.properties
        tables = self.fabric
        if kind == MANAGER:
            record = network_manager(r.name, p)
            self._later(r, lambda: self._add(r, tables.network_managers, record))
        elif kind == GROUP:
            group = NetworkGroup(parts[-1], (), parts[0], text(p, "description"))
            self._later(r, lambda: self._add(r, tables.network_groups, group))
        elif kind == STATIC_MEMBER:
            vnet = static_member(p)
            self._later(r, lambda: self._member(r, parts[-2], vnet))
        elif kind == CONFIGURATION:
            config = configuration(parts[-1], parts[0], p)
            self._later(r, lambda: self._configuration(r, config))
        elif kind == SCOPE_CONNECTION:
            scope = scope_connection(parts[-1], p)
            self._later(r, lambda: self._scope(r, parts[0], scope))
        elif kind == SECURITY_CONFIGURATION:
            admin = security_admin_configuration(parts[-1], parts[0], p)
            self._later(r, lambda: self._add(r, tables.security_admin_configurations, admin))
        elif kind == RULE_COLLECTION:
            collection = rule_collection(parts[-1], p)
            self._later(r, lambda: self._rule_collection(r, parts[-2], collection))
        elif kind == ADMIN_RULE:
            if is_default_rule(p):
                self.findings.not_modelled(
                    r,
                    f"is a Default admin rule ({p.get('flag')!r}), one of Azure's recommended "
                    "rules named by flag; its contents are not in the fact sheet, so it is not "
                    "modelled: declare it as a Custom rule",
                )
                return
            self._later(r, lambda: self._admin_rule(r, parts[-3], parts[-2], p))
        elif kind == MANAGER_CONNECTION:
            consent = manager_connection(r.name, p, subscription_of(r.resource_id))
            self._later(r, lambda: self._add(r, tables.network_manager_connections, consent))
        else:
            raise BadValueError(f"{r.type} is not a Virtual Network Manager resource")

    def _later(self, r: Resource, step: Callable[[], None]) -> None:
        self.pending.append((r, step))

    def finish(self) -> list[str]:
        """Add what was read; the names of the configurations added (taken as deployed)."""
        for kind in ORDER:
            for resource, step in self.pending:
                if resource.type.lower() != kind:
                    continue
                try:
                    step()
                except (AttributeError, TypeError, ValueError, KeyError) as problem:
                    detail = (
                        problem
                        if isinstance(problem, BadValueError)
                        else f"unexpected shape ({problem})"
                    )
                    self.findings.bad(resource, detail)
        return [
            *self.fabric.connectivity_configurations,
            *self.fabric.security_admin_configurations,
        ]

    def _add(self, r: Resource, table: dict, record: Any) -> None:
        if record.name in table:
            self.findings.bad(
                r, f"a second {r.type} named {record.name!r}; vnetsim names them by name"
            )
            return
        table[record.name] = record

    def _member(self, r: Resource, group: str, vnet: str) -> None:
        record = self.fabric.network_groups.get(group)
        if record is None:
            self.findings.bad(r, f"its network group {group!r} is not in this input")
            return
        if self.vnet_known(vnet):
            members = (*record.members, vnet)
            self.fabric.network_groups[group] = attrs.evolve(record, members=members)

    def _missing_groups(self, r: Resource, groups: tuple[str, ...]) -> bool:
        missing = [g for g in groups if g not in self.fabric.network_groups]
        if missing:
            self.findings.bad(
                r, f"it applies to network group(s) {', '.join(missing)}, not in this input"
            )
        return bool(missing)

    def _configuration(self, r: Resource, config: ConnectivityConfiguration) -> None:
        for hub in config.hubs:
            self.vnet_known(hub)
        if not self._missing_groups(r, config.group_names):
            self._add(r, self.fabric.connectivity_configurations, config)

    def _scope(self, r: Resource, manager: str, scope: ScopeConnection) -> None:
        record = self.fabric.network_managers.get(manager)
        if record is None:
            self.findings.bad(r, f"its network manager {manager!r} is not in this input")
            return
        connections = (*record.scope_connections, scope)
        self.fabric.network_managers[manager] = attrs.evolve(record, scope_connections=connections)

    def _rule_collection(
        self, r: Resource, configuration: str, collection: AdminRuleCollection
    ) -> None:
        config = self.fabric.security_admin_configurations.get(configuration)
        if config is None:
            self.findings.bad(
                r, f"its security admin configuration {configuration!r} is not in this input"
            )
            return
        if self._missing_groups(r, collection.applies_to_groups):
            return
        if any(c.name == collection.name for c in config.rule_collections):
            self.findings.bad(r, f"a second rule collection named {collection.name!r}")
            return
        collections = (*config.rule_collections, collection)
        self.fabric.security_admin_configurations[configuration] = attrs.evolve(
            config, rule_collections=collections
        )

    def _group_prefixes(self, group: str) -> tuple[str, ...]:
        """The address spaces of a network group's member VNets (an admin rule's
        ``NetworkGroup`` address item)."""
        record = self.fabric.network_groups.get(group)
        if record is None:
            raise BadValueError(f"network group {group!r} (an address item) is not in this input")
        vnets = self.fabric.vnets
        return tuple(prefix for vnet in record.members for prefix in vnets[vnet].address_prefixes)

    def _admin_rule(self, r: Resource, configuration: str, collection: str, p: dict) -> None:
        config = self.fabric.security_admin_configurations.get(configuration)
        found = next(
            (c for c in config.rule_collections if c.name == collection) if config else (), None
        )
        if found is None:
            self.findings.bad(
                r, f"its rule collection {configuration}/{collection} is not in this input"
            )
            return
        rule = admin_rule(r.name.split("/")[-1], p, self._group_prefixes)
        collections = tuple(
            attrs.evolve(c, rules=(*c.rules, rule)) if c is found else c
            for c in config.rule_collections
        )
        self.fabric.security_admin_configurations[configuration] = attrs.evolve(
            config, rule_collections=collections
        )
