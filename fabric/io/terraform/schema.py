"""What vnetsim knows of the azurerm provider's resource types, without the provider.

For each modelled type: its arguments, nested blocks and the attributes Azure computes (from
the provider's documentation, current and older spellings both, because real estates pin old
providers). That is enough to say "``adress_space`` is not an argument; did you mean
``address_space``?", and to answer a reference to an attribute the configuration does not set
(null, or "computed by Azure"). ``resource_id`` builds the Azure resource ID of an instance from
its arguments, as Azure would, so that references such as ``azurerm_subnet.fw.id`` resolve.
"""

from __future__ import annotations

from typing import Any

import attrs

from fabric.io.terraform.values import EvalError, ObjectValue, Unknown, suggest_name

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # stands for "the provider's subscription"


@attrs.frozen
class Schema:
    """Arguments, nested blocks and computed attributes of a resource type or block (an
    optional argument that Azure computes when unset is in both ``arguments`` and
    ``computed``). ``open`` blocks are not checked (their contents are not modelled)."""

    arguments: frozenset[str] = frozenset()
    blocks: dict[str, Schema] = attrs.field(factory=dict)
    computed: frozenset[str] = frozenset()
    open: bool = False


def _s(arguments: str, computed: str = "", **blocks: Schema) -> Schema:
    return Schema(frozenset(arguments.split()), dict(blocks), frozenset(computed.split()))


_OPEN = Schema(open=True)
_BASE = "name resource_group_name location tags"
_RULE_ARGUMENTS = (
    "name description protocol source_port_range source_port_ranges destination_port_range "
    "destination_port_ranges source_address_prefix source_address_prefixes "
    "source_application_security_group_ids destination_address_prefix "
    "destination_address_prefixes destination_application_security_group_ids access priority "
    "direction"
)
_ROUTE_ARGUMENTS = "name address_prefix next_hop_type next_hop_in_ip_address"
_SUBNET_ARGUMENTS = (
    "name address_prefix address_prefixes default_outbound_access_enabled "
    "private_endpoint_network_policies private_endpoint_network_policies_enabled "
    "private_link_service_network_policies_enabled enforce_private_link_endpoint_network_policies "
    "enforce_private_link_service_network_policies service_endpoints service_endpoint_policy_ids"
)
_SUBNET_BLOCKS = {
    "delegation": _OPEN,
    "service_endpoint": _s("service network_identifier locations"),
    "ip_address_pool": _s("id number_of_ip_addresses", "allocated_ip_address_prefixes"),
}
_IP_CONFIGURATION = _s("name subnet_id public_ip_address_id", "private_ip_address")
_IPSEC_POLICY = _s(
    "dh_group ike_encryption ike_integrity ipsec_encryption ipsec_integrity pfs_group "
    "sa_datasize sa_lifetime"
)

SCHEMAS: dict[str, Schema] = {
    "azurerm_resource_group": _s("name location tags managed_by", "id"),
    "azurerm_virtual_network": _s(
        _BASE + " address_space bgp_community dns_servers edge_zone flow_timeout_in_minutes "
        "private_endpoint_vnet_policies vm_protection_enabled",
        "id guid",
        subnet=_s(
            _SUBNET_ARGUMENTS + " security_group route_table_id",
            "id",
            **_SUBNET_BLOCKS,
        ),
        ddos_protection_plan=_s("id enable"),
        encryption=_s("enforcement"),
        ip_address_pool=_SUBNET_BLOCKS["ip_address_pool"],
    ),
    "azurerm_subnet": _s(
        _SUBNET_ARGUMENTS + " resource_group_name virtual_network_name sharing_scope "
        "network_security_group_id_wo network_security_group_id_wo_version route_table_id_wo "
        "route_table_id_wo_version",
        "id",
        **_SUBNET_BLOCKS,
    ),
    "azurerm_subnet_network_security_group_association": _s(
        "subnet_id network_security_group_id", "id"
    ),
    "azurerm_subnet_route_table_association": _s("subnet_id route_table_id", "id"),
    "azurerm_virtual_network_peering": _s(
        "name virtual_network_name remote_virtual_network_id resource_group_name "
        "allow_virtual_network_access allow_forwarded_traffic allow_gateway_transit "
        "local_subnet_names only_ipv6_peering_enabled peer_complete_virtual_networks_enabled "
        "remote_subnet_names use_remote_gateways triggers",
        "id",
    ),
    "azurerm_virtual_network_gateway": _s(
        _BASE + " sku type active_active default_local_network_gateway_id edge_zone bgp_enabled "
        "enable_bgp generation private_ip_address_enabled bgp_route_translation_for_nat_enabled "
        "dns_forwarding_enabled ip_sec_replay_protection_enabled remote_vnet_traffic_enabled "
        "virtual_wan_traffic_enabled vpn_type",
        "id",
        ip_configuration=_s("name private_ip_address_allocation subnet_id public_ip_address_id"),
        bgp_settings=_s(
            "asn peering_address peer_weight",
            "",
            peering_addresses=_s(
                "ip_configuration_name apipa_addresses", "default_addresses tunnel_ip_addresses"
            ),
        ),
        custom_route=_s("address_prefixes"),
        policy_group=_OPEN,
        vpn_client_configuration=_OPEN,
    ),
    "azurerm_virtual_network_gateway_connection": _s(
        _BASE + " type virtual_network_gateway_id authorization_key dpd_timeout_seconds "
        "express_route_circuit_id peer_virtual_network_gateway_id local_azure_ip_address_enabled "
        "local_network_gateway_id routing_weight shared_key connection_mode connection_protocol "
        "bgp_enabled enable_bgp express_route_gateway_bypass private_link_fast_path_enabled "
        "egress_nat_rule_ids ingress_nat_rule_ids use_policy_based_traffic_selectors",
        "id",
        custom_bgp_addresses=_s("primary secondary"),
        ipsec_policy=_IPSEC_POLICY,
        traffic_selector_policy=_s("local_address_cidrs remote_address_cidrs"),
    ),
    "azurerm_local_network_gateway": _s(
        _BASE + " address_space gateway_address gateway_fqdn",
        "id",
        bgp_settings=_s("asn bgp_peering_address peer_weight"),
    ),
    "azurerm_network_security_group": _s(
        _BASE + " security_rule", "id", security_rule=_s(_RULE_ARGUMENTS)
    ),
    "azurerm_network_security_rule": _s(
        _RULE_ARGUMENTS + " resource_group_name network_security_group_name", "id"
    ),
    "azurerm_route_table": _s(
        _BASE + " route bgp_route_propagation_enabled disable_bgp_route_propagation",
        "id subnets",
        route=_s(_ROUTE_ARGUMENTS),
    ),
    "azurerm_route": _s(_ROUTE_ARGUMENTS + " resource_group_name route_table_name", "id"),
    "azurerm_network_interface": _s(
        _BASE + " auxiliary_mode auxiliary_sku dns_servers edge_zone ip_forwarding_enabled "
        "enable_ip_forwarding accelerated_networking_enabled enable_accelerated_networking "
        "internal_dns_name_label",
        "id applied_dns_servers internal_domain_name_suffix mac_address private_ip_address "
        "private_ip_addresses virtual_machine_id",
        ip_configuration=_s(
            "name gateway_load_balancer_frontend_ip_configuration_id subnet_id "
            "private_ip_address_version private_ip_address_allocation public_ip_address_id "
            "primary private_ip_address",
            "private_ip_address",
        ),
    ),
    "azurerm_network_interface_security_group_association": _s(
        "network_interface_id network_security_group_id", "id"
    ),
    "azurerm_network_interface_application_security_group_association": _s(
        "network_interface_id application_security_group_id", "id"
    ),
    "azurerm_application_security_group": _s(_BASE, "id"),
    "azurerm_firewall": _s(
        _BASE + " sku_name sku_tier firewall_policy_id dns_servers dns_proxy_enabled "
        "private_ip_ranges threat_intel_mode zones",
        "id",
        ip_configuration=_IP_CONFIGURATION,
        management_ip_configuration=_IP_CONFIGURATION,
        virtual_hub=_s("virtual_hub_id public_ip_count", "private_ip_address public_ip_addresses"),
    ),
    "azurerm_firewall_network_rule_collection": _s(
        "name azure_firewall_name resource_group_name priority action",
        "id",
        rule=_s(
            "name description source_addresses source_ip_groups destination_addresses "
            "destination_ip_groups destination_fqdns destination_ports protocols"
        ),
    ),
    "azurerm_nat_gateway": _s(
        _BASE + " idle_timeout_in_minutes sku_name zones", "id resource_guid"
    ),
    "azurerm_subnet_nat_gateway_association": _s("subnet_id nat_gateway_id", "id"),
    "azurerm_bastion_host": _s(
        _BASE + " sku virtual_network_id copy_paste_enabled file_copy_enabled "
        "ip_connect_enabled kerberos_enabled scale_units shareable_link_enabled "
        "tunneling_enabled session_recording_enabled zones",
        "id dns_name",
        ip_configuration=_IP_CONFIGURATION,
    ),
    "azurerm_nat_gateway_public_ip_association": _s("nat_gateway_id public_ip_address_id", "id"),
    "azurerm_nat_gateway_public_ip_prefix_association": _s(
        "nat_gateway_id public_ip_prefix_id", "id"
    ),
    "azurerm_route_server": _s(
        _BASE + " public_ip_address_id sku subnet_id branch_to_branch_traffic_enabled "
        "hub_routing_preference",
        "id virtual_router_asn virtual_router_ips routing_state",
    ),
    "azurerm_route_server_bgp_connection": _s("name route_server_id peer_asn peer_ip", "id"),
    "azurerm_express_route_circuit": _s(
        _BASE + " service_provider_name peering_location bandwidth_in_mbps "
        "allow_classic_operations express_route_port_id bandwidth_in_gbps authorization_key "
        "rate_limiting_enabled",
        "id service_provider_provisioning_state service_key",
        sku=_s("tier family"),
    ),
    "azurerm_express_route_circuit_peering": _s(
        "peering_type express_route_circuit_name resource_group_name vlan_id "
        "primary_peer_address_prefix secondary_peer_address_prefix ipv4_enabled shared_key "
        "peer_asn route_filter_id",
        "id azure_asn primary_azure_port secondary_azure_port gateway_manager_etag",
        microsoft_peering_config=_OPEN,
        ipv6=_OPEN,
    ),
    "azurerm_express_route_port": _s(
        _BASE + " peering_location bandwidth_in_gbps encapsulation billing_type",
        "id guid ethertype mtu",
        link1=_OPEN,
        link2=_OPEN,
        identity=_OPEN,
    ),
    # Azure Virtual Network Manager (N8, §5.3)
    "azurerm_network_manager": _s(
        _BASE + " description scope_accesses",
        "id cross_tenant_scopes",
        scope=_s("subscription_ids management_group_ids"),
    ),
    "azurerm_network_manager_network_group": _s(
        "name network_manager_id description member_type", "id"
    ),
    "azurerm_network_manager_static_member": _s(
        "name network_group_id target_virtual_network_id", "id region"
    ),
    "azurerm_network_manager_connectivity_configuration": _s(
        "name network_manager_id connectivity_topology delete_existing_peering_enabled "
        "description global_mesh_enabled",
        "id",
        applies_to_group=_s(
            "group_connectivity network_group_id global_mesh_enabled use_hub_gateway"
        ),
        hub=_s("resource_id resource_type"),
    ),
    "azurerm_network_manager_security_admin_configuration": _s(
        "name network_manager_id description apply_on_network_intent_policy_based_services "
        "network_group_address_space_aggregation_option",
        "id",
    ),
    "azurerm_network_manager_admin_rule_collection": _s(
        "name security_admin_configuration_id network_group_ids description", "id"
    ),
    "azurerm_network_manager_admin_rule": _s(
        "name admin_rule_collection_id action direction priority protocol description "
        "source_port_ranges destination_port_ranges",
        "id",
        source=_s("address_prefix address_prefix_type"),
        destination=_s("address_prefix address_prefix_type"),
    ),
    "azurerm_network_manager_deployment": _s(
        "network_manager_id location scope_access configuration_ids triggers", "id"
    ),
    "azurerm_network_manager_scope_connection": _s(
        "name network_manager_id target_scope_id tenant_id description", "id connection_state"
    ),
    "azurerm_network_manager_subscription_connection": _s(
        "name subscription_id network_manager_id description", "id connection_state"
    ),
}

# Azure resource ID of each type, from its arguments ({rg}: the resource group part).
_RG = "/subscriptions/{sub}/resourceGroups/{resource_group_name}"
_NET = _RG + "/providers/Microsoft.Network/"
_IDS: dict[str, str] = {
    "azurerm_resource_group": "/subscriptions/{sub}/resourceGroups/{name}",
    "azurerm_virtual_network": _NET + "virtualNetworks/{name}",
    "azurerm_subnet": _NET + "virtualNetworks/{virtual_network_name}/subnets/{name}",
    "azurerm_virtual_network_peering": _NET
    + "virtualNetworks/{virtual_network_name}/virtualNetworkPeerings/{name}",
    "azurerm_network_security_group": _NET + "networkSecurityGroups/{name}",
    "azurerm_network_security_rule": _NET
    + "networkSecurityGroups/{network_security_group_name}/securityRules/{name}",
    "azurerm_route_table": _NET + "routeTables/{name}",
    "azurerm_route": _NET + "routeTables/{route_table_name}/routes/{name}",
    "azurerm_virtual_network_gateway": _NET + "virtualNetworkGateways/{name}",
    "azurerm_virtual_network_gateway_connection": _NET + "connections/{name}",
    "azurerm_local_network_gateway": _NET + "localNetworkGateways/{name}",
    "azurerm_network_interface": _NET + "networkInterfaces/{name}",
    "azurerm_application_security_group": _NET + "applicationSecurityGroups/{name}",
    "azurerm_firewall": _NET + "azureFirewalls/{name}",
    "azurerm_firewall_policy": _NET + "firewallPolicies/{name}",
    "azurerm_public_ip": _NET + "publicIPAddresses/{name}",
    "azurerm_public_ip_prefix": _NET + "publicIPPrefixes/{name}",
    "azurerm_route_server": _NET + "virtualHubs/{name}",
    "azurerm_route_server_bgp_connection": "{route_server_id}/bgpConnections/{name}",
    "azurerm_express_route_circuit": _NET + "expressRouteCircuits/{name}",
    "azurerm_express_route_circuit_peering": _NET
    + "expressRouteCircuits/{express_route_circuit_name}/peerings/{peering_type}",
    "azurerm_express_route_port": _NET + "expressRoutePorts/{name}",
    "azurerm_nat_gateway": _NET + "natGateways/{name}",
    "azurerm_bastion_host": _NET + "bastionHosts/{name}",
    "azurerm_network_watcher": _NET + "networkWatchers/{name}",
    "azurerm_network_manager": _NET + "networkManagers/{name}",
    "azurerm_network_manager_network_group": "{network_manager_id}/networkGroups/{name}",
    "azurerm_network_manager_static_member": "{network_group_id}/staticMembers/{name}",
    "azurerm_network_manager_connectivity_configuration": "{network_manager_id}"
    + "/connectivityConfigurations/{name}",
    "azurerm_network_manager_security_admin_configuration": "{network_manager_id}"
    + "/securityAdminConfigurations/{name}",
    "azurerm_network_manager_admin_rule_collection": "{security_admin_configuration_id}"
    + "/ruleCollections/{name}",
    "azurerm_network_manager_admin_rule": "{admin_rule_collection_id}/rules/{name}",
    "azurerm_network_manager_scope_connection": "{network_manager_id}/scopeConnections/{name}",
    "azurerm_linux_virtual_machine": _RG + "/providers/Microsoft.Compute/virtualMachines/{name}",
    "azurerm_windows_virtual_machine": _RG + "/providers/Microsoft.Compute/virtualMachines/{name}",
    "azurerm_virtual_machine": _RG + "/providers/Microsoft.Compute/virtualMachines/{name}",
}
_FIELDS = (
    "resource_group_name",
    "name",
    "virtual_network_name",
    "network_security_group_name",
    "route_table_name",
    "route_server_id",
    "express_route_circuit_name",
    "peering_type",
    "network_manager_id",
    "network_group_id",
    "security_admin_configuration_id",
    "admin_rule_collection_id",
)


def _azapi_id(values: dict[str, Any]) -> Any:
    """An azapi_resource's ID: ``parent_id`` then the provider path of a top-level ``type``
    (``/providers/Microsoft.Network/virtualNetworks/hub``), or the last segment of a child
    type (``/subnets/app``)."""
    kind, name, parent = values.get("type"), values.get("name"), values.get("parent_id")
    if not isinstance(kind, str) or "/" not in kind:
        return None
    segments = kind.split("@", 1)[0].split("/")
    parts = []
    unknown = None
    for value in (parent, name):
        if isinstance(value, Unknown):
            unknown = unknown or value
            parts.append(value.display)
        elif isinstance(value, str) and value:
            parts.append(value)
        else:
            return None
    parent_text, name_text = parts
    if len(segments) == 2:
        text = f"{parent_text}/providers/{segments[0]}/{segments[1]}/{name_text}"
    else:
        text = f"{parent_text}/{segments[-1]}/{name_text}"
    return unknown.derived(text) if unknown is not None else text


def resource_id(kind: str, values: dict[str, Any]) -> Any:
    """The Azure resource ID of a ``kind`` instance with these argument values; an Unknown
    (showing the ID with placeholders) when a part is unknown; None when the type has no
    template or a part is missing."""
    if kind == "azapi_resource":
        return _azapi_id(values)
    template = _IDS.get(kind)
    if template is None:
        return None
    parts: dict[str, str] = {"sub": SUBSCRIPTION}
    unknown: Unknown | None = None
    for field in _FIELDS:
        if "{" + field + "}" not in template:
            continue
        value = values.get(field)
        if isinstance(value, Unknown):
            unknown = unknown or value
            parts[field] = value.display
        elif isinstance(value, str) and value:
            parts[field] = value
        else:
            return None
    text = template.format(**parts)
    return unknown.derived(text) if unknown is not None else text


def complete(kind: str, instance: ObjectValue) -> None:
    """Add what Azure derives from the arguments: the ``id`` (and inline subnets' ids)."""
    if "id" not in instance:
        found = resource_id(kind, instance)
        if found is not None:
            instance["id"] = found
    if kind == "azurerm_virtual_network" and isinstance(instance.get("subnet"), list):
        for subnet in instance["subnet"]:
            if isinstance(subnet, ObjectValue) and "id" not in subnet:
                name = subnet.get("name")
                parent = instance.get("id")
                if isinstance(name, str) and isinstance(parent, str):
                    subnet["id"] = f"{parent}/subnets/{name}"
                elif isinstance(parent, Unknown | str) and isinstance(name, Unknown | str):
                    shown = [p.display if isinstance(p, Unknown) else p for p in (parent, name)]
                    source = parent if isinstance(parent, Unknown) else name
                    subnet["id"] = source.derived(f"{shown[0]}/subnets/{shown[1]}")


def schema_at(kind: str, path: tuple[str, ...]) -> Schema | None:
    """The schema of ``kind``'s nested block at ``path`` (None: the type is not known here)."""
    schema = SCHEMAS.get(kind)
    for step in path:
        if schema is None or schema.open:
            return None
        schema = schema.blocks.get(step)
    return None if schema is not None and schema.open else schema


def missing_attribute(kind: str, path: tuple[str, ...], instance: ObjectValue, name: str) -> Any:
    """What ``instance.name`` means when the configuration does not set it."""
    schema = schema_at(kind, path)
    origin = f"{instance.address}.{name}"
    computed = Unknown(
        f"{origin} is computed by Azure when the resource is created; it is in the state "
        "(load `terraform show -json` of it) but not in the configuration",
        "${" + origin + "}",
        origin,
    )
    if schema is None or name in schema.computed:
        return computed
    if name in schema.arguments:
        return None
    if name in schema.blocks:
        return []
    where = ".".join((kind, *path))
    choices = schema.arguments | schema.computed | set(schema.blocks)
    raise EvalError(f"{where} has no attribute {name!r}; {suggest_name(name, choices)}")


def unknown_argument(kind: str, path: tuple[str, ...], name: str, block: bool) -> str | None:
    """A message when ``name`` is not an argument (or block) of ``kind`` at ``path``."""
    schema = schema_at(kind, path)
    if schema is None or name in schema.arguments or name in schema.blocks:
        return None
    choices = schema.arguments | set(schema.blocks)
    what = "block" if block else "argument"
    where = ".".join((kind, *path))
    return (
        f"{where} has no {what} {name!r} ({suggest_name(name, choices)}); vnetsim ignored it, "
        "and Terraform would reject it"
    )
