"""``azapi_resource`` of a Microsoft.Network type, read as the ARM resource it deploys.

Azure Verified Modules declare VNets, subnets, peerings and route tables with the azapi
provider: ``type = "Microsoft.Network/virtualNetworks@2024-07-01"``, ``name``, ``parent_id``
(the resource group, or the parent resource of a child type), ``location`` and ``body`` (an
object, or a JSON string in azapi 1.x) holding the ARM ``properties``. Each such instance
becomes an ``AzureResource`` for the ARM/REST importer (``fabric.io.azure_resources``), and the
Fabric it builds is merged into the azurerm one: one owner decides what the properties mean.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from fabric.io.azure_resources import AzureResource, build_fabric
from fabric.io.terraform import diagnostics as codes
from fabric.io.terraform.diagnostics import Report
from fabric.io.terraform.modules import ResourceInstance
from fabric.io.terraform.values import Unknown
from fabric.model.container import Fabric
from fabric.model.records import VNet


def network_type(instance: ResourceInstance) -> str | None:
    """The ``type`` of an azapi_resource when it is a Microsoft.Network one, else None."""
    kind = instance.values.get("type") if isinstance(instance.values, dict) else None
    if isinstance(kind, str) and kind.lower().startswith("microsoft.network/"):
        return kind
    return None


class _Plain:
    """Terraform values as JSON, leaving out what is unknown offline (an element of a list, a
    key of an object) and remembering that something was."""

    def __init__(self) -> None:
        self.unknown = False

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(item, Unknown):
                    self.unknown = True
                    continue
                out[str(key)] = self(item)
            return out
        if isinstance(value, list | tuple):
            kept = [item for item in value if not isinstance(item, Unknown)]
            self.unknown = self.unknown or len(kept) != len(value)
            return [self(item) for item in kept]
        return value


def _text(value: Any) -> str | None:
    if isinstance(value, Unknown):
        return value.display
    return value if isinstance(value, str) and value else None


def to_resource(instance: ResourceInstance, unknown: list[ResourceInstance]) -> AzureResource | str:
    """The ARM resource an azapi_resource deploys, or why it cannot be read; an instance with
    values unknown offline (left out) is added to ``unknown``."""
    values = instance.values
    kind = network_type(instance) or ""
    arm_type = kind.split("@", 1)[0]
    name = _text(values.get("name"))
    if name is None:
        return "its name is not known"
    depth = arm_type.count("/") - 1  # 0 for a top-level type, 1 for a child...
    if depth:
        parent = _text(values.get("parent_id")) or ""
        parents = parent.strip("/").split("/")[-(2 * depth - 1) :: 2]
        if len(parents) != depth:
            return f"parent_id {parent!r} does not name the parent of a {arm_type}"
        name = "/".join((*parents, name))
    body = values.get("body")
    if isinstance(body, Unknown):
        return f"its body is not known offline ({body.reason})"
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return "its body is not JSON"
    plain = _Plain()
    body = plain(body) if isinstance(body, dict) else {}
    if plain.unknown:
        unknown.append(instance)
    properties = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    location = values.get("location")
    location = location if isinstance(location, str) and location else None
    return AzureResource(
        arm_type,
        name,
        properties,
        location,
        body.get("sku") if isinstance(body.get("sku"), dict) else None,
        origin=instance.address,
    )


def _merged_vnet(current: VNet, record: VNet) -> VNet:
    """One VNet declared on both sides: the defined side's record (azurerm's when both are),
    with the subnets only the other side declares and the hosts of both."""
    first, second = (
        (record, current) if current.external and not record.external else (current, record)
    )
    names = set(first.subnet_names)
    subnets = (*first.subnets, *(s for s in second.subnets if s.name not in names))
    return attrs.evolve(first, subnets=subnets, hosts=(*first.hosts, *second.hosts))


class Read:
    """What the azapi network resources of a configuration built (a Fabric of their own), and
    which instance declared each VNet and subnet (for findings)."""

    def __init__(self, fabric: Fabric, declared: dict[str, ResourceInstance]) -> None:
        self.fabric = fabric
        self.declared = declared


def prepare(instances: list[ResourceInstance], report: Report) -> Read | None:
    """Read the azapi network resources through the ARM importer; findings go to ``report``.
    None when there are none to read."""
    resources = []
    unknown: list[ResourceInstance] = []
    declared: dict[str, ResourceInstance] = {}
    for instance in instances:
        found = to_resource(instance, unknown)
        if isinstance(found, str):
            report.warning(
                codes.UNKNOWN_VALUE if "not known offline" in found else codes.INVALID_RESOURCE,
                instance.where,
                instance.address,
                f"azapi_resource of type {network_type(instance)}: {found}; it was left out",
            )
        else:
            resources.append(found)
            declared[found.name] = instance
    for instance in unknown:
        report.warning(
            codes.UNKNOWN_VALUE,
            instance.where,
            instance.address,
            "some values of its body are not known offline; they were left out",
        )
    if not resources:
        return None
    extra, findings = build_fabric(resources, "azapi")
    report.findings.extend(findings)
    return Read(extra, declared)


def inject(
    read: Read, vnets: dict[str, Any], spec_types: tuple[type, type], report: Report
) -> None:
    """Give the azurerm mapper the VNets and subnets azapi declares, before it builds hosts:
    an azurerm NIC may sit in an azapi subnet, an azapi subnet in an azurerm VNet.
    ``spec_types``: the mapper's (VNet spec, subnet spec) classes."""
    from fabric.io.terraform.view import InstanceView

    vnet_spec, subnet_spec = spec_types
    for name, record in read.fabric.vnets.items():
        instance = read.declared.get(name) or next(
            (i for key, i in read.declared.items() if key.startswith(f"{name}/")), None
        )
        if instance is None:
            continue
        view = InstanceView(instance, instance.values, report)
        spec = vnets.get(name)
        if not record.external and (spec is None or spec.external):
            kept = spec.subnets if spec is not None else {}
            spec = vnets[name] = vnet_spec(
                view, name, record.region, record.address_prefixes, record.encryption
            )
            spec.subnets.update(kept)
        elif spec is None:
            continue  # an external VNet of azapi children, outside the azurerm input too
        for subnet in record.subnets:
            if subnet.name not in spec.subnets:
                spec.subnets[subnet.name] = subnet_spec(
                    view,
                    subnet.name,
                    subnet.address_prefix,
                    subnet.nsg,
                    subnet.route_table,
                    subnet.service_endpoints,
                    subnet.nat_gateway,
                )
    # the azurerm side reported these VNets as outside the input: they are not
    inside = {name for name, spec in vnets.items() if not spec.external}
    report.findings[:] = [
        f
        for f in report.findings
        if not (
            f.code == codes.VNET_NOT_IN_INPUT
            and any(f"VNet {name} is referenced" in f.message for name in inside)
        )
    ]


def finish(read: Read, fabric: Fabric) -> None:
    """Add the azapi records the mapper did not take (NSGs, routes, peerings, gateways...) to
    ``fabric``; a route table, NSG or VNet on both sides gets the azapi children too."""
    for field in attrs.fields(Fabric):
        mine, theirs = getattr(fabric, field.name), getattr(read.fabric, field.name)
        if not isinstance(mine, dict):
            continue
        for key, record in theirs.items():
            current = mine.get(key)
            if current is None:
                mine[key] = record
            elif field.name == "route_tables":  # routes added as children (azapi) of it
                mine[key] = attrs.evolve(current, routes=(*current.routes, *record.routes))
            elif field.name == "nsgs":
                rules = (*current.security_rules, *record.security_rules)
                mine[key] = attrs.evolve(current, security_rules=rules)
            elif field.name == "vnets":
                mine[key] = _merged_vnet(current, record)
