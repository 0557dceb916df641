"""az CLI / REST JSON: resource objects as Azure returns them (``az network vnet show``,
``az network vnet peering list``, ``az network vnet-gateway show``, ``az network vpn-connection
show``), a list of such objects, a ``{"value": [...]}`` page, or a REST spec example
(``{"responses": {"200": {"body": ...}}}``). Peering states are kept as Azure reported them.

The az CLI prints resources flattened: a resource's ``properties`` merged into the object
itself (``addressSpace`` beside ``name``), child resources (subnets, peerings, ip
configurations) likewise, with a ``resourceGroup`` added. ``unflatten`` gives such an object
the REST shape back, so both read alike.
"""

from __future__ import annotations

from typing import Any

from fabric.io.arm import _type_and_name
from fabric.io.azure_resources import AzureResource, build_fabric
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error

# Keys of a resource object outside its properties (ARM's envelope, and az's resourceGroup).
ENVELOPE = frozenset(
    {
        "id",
        "name",
        "type",
        "location",
        "etag",
        "tags",
        "sku",
        "kind",
        "zones",
        "resourceGroup",
        "identity",
        "extendedLocation",
        "systemData",
        "managedBy",
        "plan",
    }
)


def _is_resource(item: dict) -> bool:
    """An object that is a resource (a resource ID of its own), not a bare reference."""
    resource_id = item.get("id")
    return (
        isinstance(resource_id, str)
        and resource_id.lower().startswith("/subscriptions/")
        and "/providers/" in resource_id.lower()
    )


def unflatten(data: Any) -> Any:
    """az CLI output in the REST shape: a resource object without ``properties`` gets its
    non-envelope keys moved there (recursively, for inline children); REST bodies and bare
    ``{"id": ...}`` references are left as they are. A flattened ``sku`` (a gateway's) is kept
    in both places, as the readers look in either."""
    if isinstance(data, list):
        return [unflatten(item) for item in data]
    if not isinstance(data, dict):
        return data
    item = {key: unflatten(value) for key, value in data.items()}
    if "properties" in item or not _is_resource(item):
        return item
    properties = {key: value for key, value in item.items() if key not in ENVELOPE}
    if not properties:
        return item
    if "sku" in item:
        properties["sku"] = item["sku"]
    return {
        **{key: value for key, value in item.items() if key in ENVELOPE},
        "properties": properties,
    }


def _objects(data: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(data, list):
        found = []
        for i, item in enumerate(data):
            found += _objects(item, f"{path}[{i}]")
        return found
    if isinstance(data, dict):
        if isinstance(data.get("value"), list) and "id" not in data:
            return _objects(data["value"], f"{path}.value")
        if isinstance(data.get("responses"), dict):
            found = []
            for code, response in data["responses"].items():
                if isinstance(response, dict) and "body" in response and str(code).startswith("2"):
                    found += _objects(response["body"], f"{path}.responses.{code}.body")
            return found
        return [(path, data)]
    return [(path, data)]


def load_rest(data: Any, source: str) -> tuple[Fabric, list[Finding]]:
    """A Fabric from az/REST resource objects, with findings for what could not be read."""
    resources: list[AzureResource] = []
    findings: list[Finding] = []
    for path, item in _objects(unflatten(data), "$"):
        if not isinstance(item, dict):
            findings.append(
                error("ImportInvalidResource", f"{source}: {path} is not a resource object")
            )
            continue
        kind, name = item.get("type"), item.get("name")
        from_id = _type_and_name(item["id"]) if isinstance(item.get("id"), str) else None
        if from_id is not None:
            kind, name = kind or from_id[0], from_id[1]  # the ID carries the parent's name
        if not isinstance(kind, str) or not isinstance(name, str):
            findings.append(
                error(
                    "ImportInvalidResource",
                    f"{source}: {path} has neither a 'type' nor an 'id' that says what it is",
                )
            )
            continue
        properties = item.get("properties") or {}
        resources.append(
            AzureResource(
                kind,
                name,
                properties,
                item.get("location"),
                item.get("sku"),
                path,
                item["id"] if isinstance(item.get("id"), str) else None,
            )
        )
    fabric, mapped = build_fabric(resources, source)
    return fabric, findings + mapped
