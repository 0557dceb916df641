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

Each function reads one resource into a record; ``fabric.io.azure_resources`` assembles them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fabric.io.azure_values import BadValueError, choice, flag, strings, text
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
    return tuple(found) or ("*",)


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
