"""az CLI / REST JSON: resource objects as Azure returns them (``az network vnet show``,
``az network vnet peering list``, ``az network vnet-gateway show``, ``az network vpn-connection
show``), a list of such objects, a ``{"value": [...]}`` page, or a REST spec example
(``{"responses": {"200": {"body": ...}}}``). Peering states are kept as Azure reported them.
"""

from __future__ import annotations

from typing import Any

from fabric.io.arm import _type_and_name
from fabric.io.azure_resources import AzureResource, build_fabric
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error


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
    for path, item in _objects(data, "$"):
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
