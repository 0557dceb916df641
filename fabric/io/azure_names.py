"""Azure resource names are case-insensitive (``HUB`` and ``hub`` are one VNet): every name an
input declares keeps the spelling of its declaration, and every reference to it (a child's
``parent/name``, a resource ID in a property) is rewritten to that spelling before the
resources are read, so that the rest of the importer can compare names as they are.

A name is known by the last segment of its type (``virtualNetworks``, ``subnets``): a
resource's own, or the key of the list an inline child sits in (``subnets`` of a VNet).
References to names an input does not declare are left as they are.
"""

from __future__ import annotations

from typing import Any

import attrs

_PROVIDERS = "/providers/"


def _kind(segment: str) -> str:
    return segment.lower()


class _Names:
    """The declared spellings, by (type segment, parent path, lowercased name): two VNets may
    each have a subnet ``default``, spelt their own way."""

    def __init__(self) -> None:
        self.spelling: dict[tuple[str, str, str], str] = {}

    def declare(self, kind: str, parent: str, name: Any) -> None:
        if isinstance(name, str) and name:
            self.spelling.setdefault((_kind(kind), parent.lower(), name.lower()), name)

    def of(self, kind: str, parent: str, name: str) -> str:
        return self.spelling.get((_kind(kind), parent.lower(), name.lower()), name)

    def declare_inline(self, owner: str, value: Any) -> None:
        """Inline children of ``owner`` (its path): the objects with a ``name`` in a list under
        a property key (``subnets`` of a VNet)."""
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, list):
                    for child in item:
                        if isinstance(child, dict):
                            self.declare(key, owner, child.get("name"))
                self.declare_inline(owner, item)
        elif isinstance(value, list):
            for item in value:
                self.declare_inline(owner, item)

    def resource_name(self, kind: str, name: str) -> str:
        """``parent/child`` with each segment in its declared spelling."""
        types = kind.split("/")[1:]
        parts = name.split("/")
        if len(types) != len(parts):
            return name
        spelt: list[str] = []
        for kind_part, part in zip(types, parts, strict=True):
            spelt.append(self.of(kind_part, "/".join(spelt), part))
        return "/".join(spelt)

    def rewrite(self, value: Any) -> Any:
        """``value`` with the names inside resource IDs in their declared spelling."""
        if isinstance(value, str):
            return self._resource_id(value) if _PROVIDERS in value.lower() else value
        if isinstance(value, list):
            return [self.rewrite(item) for item in value]
        if isinstance(value, dict):
            return type(value)((key, self.rewrite(item)) for key, item in value.items())
        return value

    def _resource_id(self, text: str) -> str:
        at = text.lower().rfind(_PROVIDERS)
        head, tail = text[: at + len(_PROVIDERS)], text[at + len(_PROVIDERS) :]
        parts = tail.split("/")
        if len(parts) < 3:
            return text
        # namespace.type/name[/type/name]...: each name under the path of the names before it
        names: list[str] = []
        for i in range(2, len(parts), 2):
            parts[i] = self.of(parts[i - 1], "/".join(names), parts[i])
            names.append(parts[i])
        return head + "/".join(parts)


def canonical_names(resources: list) -> list:
    """The resources with their names and the resource IDs in their properties in the
    spelling each name was first declared with (top-level resources first)."""
    names = _Names()
    ordered = sorted(resources, key=lambda r: str(r.name).count("/"))
    for resource in ordered:  # parents first, so that a child's parent path is spelt as declared
        if isinstance(resource.type, str) and isinstance(resource.name, str):
            spelt = names.resource_name(resource.type, resource.name)
            parent, _, own = spelt.rpartition("/")
            names.declare(resource.type.split("/")[-1], parent, own)
    for resource in ordered:
        if isinstance(resource.type, str) and isinstance(resource.name, str):
            names.declare_inline(
                names.resource_name(resource.type, resource.name), resource.properties
            )
    if not names.spelling:
        return resources
    out = []
    for resource in resources:
        if not isinstance(resource.type, str) or not isinstance(resource.name, str):
            out.append(resource)
            continue
        out.append(
            attrs.evolve(
                resource,
                name=names.resource_name(resource.type, resource.name),
                properties=names.rewrite(resource.properties),
            )
        )
    return out
