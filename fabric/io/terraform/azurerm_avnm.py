"""Azure Virtual Network Manager resources of the azurerm provider (N8, N7, §5.3).

Each instance is rewritten in the ARM shape that ``fabric.io.azure_avnm`` reads, and handed to
its ``Assembly``: one place decides what a group, a configuration or an admin rule means, and
this module only knows Terraform's spelling of them. ``azurerm_network_manager_deployment``
says which configurations are committed: when a configuration has deployments, only what they
commit is applied (N8.2: a configuration takes effect once committed to a region); without
any, every configuration is taken as deployed, with a warning, as from ARM.
"""

from __future__ import annotations

from typing import Any

import attrs

from fabric.io import azure_avnm
from fabric.io.azure_values import BadValueError
from fabric.io.terraform import diagnostics as codes
from fabric.io.terraform.diagnostics import Report
from fabric.io.terraform.values import Unknown
from fabric.io.terraform.view import InstanceView
from fabric.model.container import Fabric

ARM_TYPES = {
    "azurerm_network_manager": azure_avnm.MANAGER,
    "azurerm_network_manager_network_group": azure_avnm.GROUP,
    "azurerm_network_manager_static_member": azure_avnm.STATIC_MEMBER,
    "azurerm_network_manager_connectivity_configuration": azure_avnm.CONFIGURATION,
    "azurerm_network_manager_security_admin_configuration": azure_avnm.SECURITY_CONFIGURATION,
    "azurerm_network_manager_admin_rule_collection": azure_avnm.RULE_COLLECTION,
    "azurerm_network_manager_admin_rule": azure_avnm.ADMIN_RULE,
    "azurerm_network_manager_scope_connection": azure_avnm.SCOPE_CONNECTION,
    "azurerm_network_manager_subscription_connection": azure_avnm.MANAGER_CONNECTION,
}
DEPLOYMENT = "azurerm_network_manager_deployment"
TYPES = frozenset({*ARM_TYPES, DEPLOYMENT})


@attrs.frozen
class _Resource:
    """A Terraform instance in the shape ``azure_avnm.Assembly`` reads, with its view for
    findings."""

    type: str
    name: str
    properties: dict[str, Any]
    view: InstanceView
    resource_id: str | None = None


class _Findings:
    """``Assembly``'s findings, reported against the Terraform instance."""

    @staticmethod
    def bad(resource: _Resource, problem: Exception | str) -> None:
        resource.view.invalid(str(problem))

    @staticmethod
    def not_modelled(resource: _Resource, why: str) -> None:
        resource.view.warn(f"{resource.name} {why}", codes.NOT_MODELLED)


def _id(view: InstanceView, key: str) -> str | None:
    """A resource ID argument as text (an unknown one as its display, which keeps the names)."""
    value = view.raw(key)
    if isinstance(value, Unknown):
        return value.display
    return value if isinstance(value, str) and value else None


def _ids(view: InstanceView, key: str) -> list[str]:
    value = view.raw(key)
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [
        item.display if isinstance(item, Unknown) else item
        for item in items
        if isinstance(item, str | Unknown)
    ]


# The parent ID argument of each child type, and the kinds it names, outermost first.
_PARENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "azurerm_network_manager_network_group": ("network_manager_id", ("networkManagers",)),
    "azurerm_network_manager_static_member": (
        "network_group_id",
        ("networkManagers", "networkGroups"),
    ),
    "azurerm_network_manager_connectivity_configuration": (
        "network_manager_id",
        ("networkManagers",),
    ),
    "azurerm_network_manager_security_admin_configuration": (
        "network_manager_id",
        ("networkManagers",),
    ),
    "azurerm_network_manager_admin_rule_collection": (
        "security_admin_configuration_id",
        ("networkManagers", "securityAdminConfigurations"),
    ),
    "azurerm_network_manager_admin_rule": (
        "admin_rule_collection_id",
        ("networkManagers", "securityAdminConfigurations", "ruleCollections"),
    ),
    "azurerm_network_manager_scope_connection": ("network_manager_id", ("networkManagers",)),
}


class AvnmMapper:
    """Reads the AVNM instances of one configuration; ``finish`` adds them to the Fabric once
    its VNets are built."""

    def __init__(self, fabric: Fabric, report: Report) -> None:
        self.fabric = fabric
        self.report = report
        self.assembly = azure_avnm.Assembly(fabric, _Findings(), lambda vnet: vnet in fabric.vnets)
        self.committed: dict[str, list[str]] = {}  # configuration -> regions committing it

    def read(self, view: InstanceView) -> None:
        kind = view.instance.type
        if kind == DEPLOYMENT:
            self._deployment(view)
            return
        shaped = self._shape(kind, view)
        if shaped is None:
            return
        name, properties, resource_id = shaped
        resource = _Resource(ARM_TYPES[kind], name, properties, view, resource_id)
        try:
            self.assembly.read(resource)
        except (BadValueError, TypeError, ValueError) as problem:
            view.invalid(str(problem))

    def _shape(self, kind: str, view: InstanceView) -> tuple[str, dict, str | None] | None:
        """The ARM name (parents first), properties and resource ID of one instance."""
        name = view.name()
        if name is None:
            return None
        if kind == "azurerm_network_manager":
            scopes = view.blocks("scope")
            ids = scopes[0].strings("subscription_ids", consequence=_UNCHECKED) if scopes else ()
            properties = {
                "networkManagerScopes": {"subscriptions": list(ids or ())},
                "description": _note(view, "description"),
            }
            return name, properties, None
        if kind == "azurerm_network_manager_subscription_connection":
            subscription = azure_avnm.subscription_of(_id(view, "subscription_id"))
            resource_id = (
                f"/subscriptions/{subscription}/providers/Microsoft.Network/"
                f"networkManagerConnections/{name}"
                if subscription
                else None
            )
            return name, {"networkManagerId": _id(view, "network_manager_id")}, resource_id
        parents = self._parents(kind, view)
        if parents is None:
            return None
        return "/".join((*parents, name)), self._properties(kind, view), None

    def _parents(self, kind: str, view: InstanceView) -> tuple[str, ...] | None:
        key, kinds = _PARENTS[kind]
        names = []
        for parent in kinds:
            found = view.ref(key, parent, required=True)
            if found is None:
                return None
            names.append(found)
        return tuple(names)

    @staticmethod
    def _properties(kind: str, view: InstanceView) -> dict[str, Any]:
        if kind == "azurerm_network_manager_static_member":
            return {"resourceId": _id(view, "target_virtual_network_id")}
        if kind == "azurerm_network_manager_connectivity_configuration":
            return {
                "connectivityTopology": view.text("connectivity_topology"),
                "appliesToGroups": [
                    {
                        "networkGroupId": _id(group, "network_group_id"),
                        "groupConnectivity": group.text("group_connectivity"),
                        "useHubGateway": group.flag("use_hub_gateway", False),
                        "isGlobal": group.flag("global_mesh_enabled", False),
                    }
                    for group in view.blocks("applies_to_group")
                ],
                "hubs": [{"resourceId": _id(hub, "resource_id")} for hub in view.blocks("hub")],
                "isGlobal": view.flag("global_mesh_enabled", False),
                "deleteExistingPeering": view.flag("delete_existing_peering_enabled", False),
                "description": _note(view, "description"),
            }
        if kind == "azurerm_network_manager_admin_rule_collection":
            return {
                "appliesToGroups": [
                    {"networkGroupId": group} for group in _ids(view, "network_group_ids")
                ],
                "description": _note(view, "description"),
            }
        if kind == "azurerm_network_manager_admin_rule":
            return {
                "access": view.text("action"),
                "direction": view.text("direction"),
                "priority": view.integer("priority", None),
                "protocol": view.text("protocol"),
                "sources": _addresses(view, "source"),
                "destinations": _addresses(view, "destination"),
                "sourcePortRanges": list(view.strings("source_port_ranges") or ()),
                "destinationPortRanges": list(view.strings("destination_port_ranges") or ()),
                "description": _note(view, "description"),
            }
        if kind == "azurerm_network_manager_scope_connection":
            return {"tenantId": view.text("tenant_id"), "resourceId": _id(view, "target_scope_id")}
        return {"description": _note(view, "description")}

    def _deployment(self, view: InstanceView) -> None:
        region = view.region()
        for configuration in _ids(view, "configuration_ids"):
            name = azure_avnm.last_after(
                configuration, "connectivityConfigurations"
            ) or azure_avnm.last_after(configuration, "securityAdminConfigurations")
            if name is None:
                view.invalid(
                    f"configuration_ids must hold configuration IDs, got {configuration!r}"
                )
                continue
            self.committed.setdefault(name, []).append(region)

    def finish(self) -> None:
        """Add what was read; leave out configurations that deployments exist for but do not
        commit."""
        configurations = self.assembly.finish()
        if not configurations:
            return
        if not self.committed:
            self.report.warning(
                "NetworkManagerDeploymentAssumed",
                "",
                "",
                f"configuration(s) {', '.join(configurations)} are modelled as deployed: no "
                "azurerm_network_manager_deployment commits them here, and Azure applies a "
                "configuration only once it is committed to a region (N8.2)",
            )
            return
        for name in configurations:
            if name in self.committed:
                self._regions(name)
                continue
            self.fabric.connectivity_configurations.pop(name, None)
            self.fabric.security_admin_configurations.pop(name, None)
            self.report.warning(
                "NetworkManagerConfigurationNotDeployed",
                "",
                "",
                f"configuration {name} is not committed by any azurerm_network_manager_deployment"
                " in this configuration, so Azure does not apply it (N8.2); it was left out",
            )

    def _regions(self, name: str) -> None:
        """A warning when a committed configuration reaches VNets of regions it is not
        committed to: Azure does not apply it there, vnetsim does (it has no per-region
        deployments)."""
        fabric = self.fabric
        config = fabric.connectivity_configurations.get(name)
        if config is not None:
            groups = config.group_names
            vnets = set(config.hubs)
        else:
            admin = fabric.security_admin_configurations[name]
            groups = tuple(g for c in admin.rule_collections for g in c.applies_to_groups)
            vnets = set()
        for group in groups:
            vnets.update(fabric.network_groups[group].members)
        regions = {fabric.vnets[v].region for v in vnets if v in fabric.vnets}
        committed = sorted(set(self.committed[name]))
        missing = sorted(regions - set(committed))
        if missing:
            self.report.warning(
                "NetworkManagerConfigurationNotDeployed",
                "",
                "",
                f"configuration {name} is committed to {', '.join(committed)}"
                f" but reaches VNets in {', '.join(missing)}, where Azure does not apply it "
                "until it is committed there too (N8.2); vnetsim applies it to them",
            )


_UNCHECKED = "the network manager's scope is not checked"


def _addresses(view: InstanceView, key: str) -> list[dict[str, Any]]:
    return [
        {
            "addressPrefix": block.text("address_prefix"),
            "addressPrefixType": block.text("address_prefix_type"),
        }
        for block in view.blocks(key)
    ]


def _note(view: InstanceView, key: str) -> str | None:
    """Free text (a description): unknown offline is simply absent."""
    value = view.raw(key)
    return value if isinstance(value, str) and value else None
