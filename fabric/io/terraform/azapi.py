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


def network_type(instance: ResourceInstance) -> str | None:
    """The ``type`` of an azapi_resource when it is a Microsoft.Network one, else None."""
    kind = instance.values.get("type") if isinstance(instance.values, dict) else None
    if isinstance(kind, str) and kind.lower().startswith("microsoft.network/"):
        return kind
    return None


def _plain(value: Any) -> Any:
    """A Terraform value as JSON: an unknown one (known only after apply) is null."""
    if isinstance(value, Unknown):
        return None
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, Unknown):
        return value.display
    return value if isinstance(value, str) and value else None


def to_resource(instance: ResourceInstance) -> AzureResource | str:
    """The ARM resource an azapi_resource deploys, or why it cannot be read."""
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
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return "its body is not JSON"
    body = _plain(body) if isinstance(body, dict) else {}
    properties = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    location = _text(values.get("location"))
    return AzureResource(
        arm_type,
        name,
        properties,
        location,
        body.get("sku") if isinstance(body.get("sku"), dict) else None,
        origin=instance.address,
    )


def merge(base: Fabric, extra: Fabric) -> list[str]:
    """Add ``extra``'s records to ``base``; a VNet that ``base`` only knew as referenced
    (external) takes ``extra``'s definition, keeping subnets and hosts declared in azurerm.
    The names of those VNets."""
    defined = []
    for field in attrs.fields(Fabric):
        mine, theirs = getattr(base, field.name), getattr(extra, field.name)
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
            elif field.name == "vnets" and current.external and not record.external:
                names = set(record.subnet_names)
                subnets = (*record.subnets, *(s for s in current.subnets if s.name not in names))
                hosts = (*record.hosts, *current.hosts)
                mine[key] = attrs.evolve(record, subnets=subnets, hosts=hosts)
                defined.append(key)
    return defined


def read(instances: list[ResourceInstance], fabric: Fabric, report: Report) -> None:
    """Read the azapi network resources into ``fabric``, their findings into ``report``."""
    resources = []
    for instance in instances:
        found = to_resource(instance)
        if isinstance(found, str):
            report.error(
                "ImportInvalidResource",
                instance.where,
                instance.address,
                f"azapi_resource of type {network_type(instance)}: {found}; it was left out",
            )
        else:
            resources.append(found)
    if not resources:
        return
    extra, findings = build_fabric(resources, "azapi")
    defined = merge(fabric, extra)
    # an azurerm resource that named one of them reported it as outside the input: it is not
    report.findings[:] = [
        f
        for f in report.findings
        if not (
            f.code == codes.VNET_NOT_IN_INPUT
            and any(f"VNet {name} is referenced" in f.message for name in defined)
        )
    ]
    report.findings.extend(findings)
