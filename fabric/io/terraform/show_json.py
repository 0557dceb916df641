"""``terraform show -json`` documents (a saved plan or the state) as resource instances.

The state holds every attribute, computed ones included (private IPs, IDs). A plan holds the
planned values, where what Azure will compute is left out and flagged in the resource change's
``after_unknown``; those become ``Unknown``. IDs the plan does not know are built from the
resource's arguments as for HCL, and an unknown argument that the plan's ``configuration`` shows
to be a plain reference (``subnet_id = azurerm_subnet.fw.id``) takes the referenced value.
"""

from __future__ import annotations

import re
from typing import Any

from fabric.io.terraform.diagnostics import Report
from fabric.io.terraform.modules import ResourceInstance
from fabric.io.terraform.schema import complete, resource_id
from fabric.io.terraform.values import ObjectValue, Unknown


def _marked(values: Any, unknown: Any, address: str) -> Any:
    """``values`` with the attributes flagged in ``after_unknown`` as Unknown."""
    if unknown is True:
        return Unknown(
            f"{address} is known only after apply (a plan does not have it)",
            "${" + address + "}",
            address,
        )
    if isinstance(unknown, dict):
        base = dict(values) if isinstance(values, dict) else {}
        for key, flag in unknown.items():
            base[key] = _marked(base.get(key), flag, f"{address}.{key}")
        return base
    if isinstance(unknown, list):
        items = list(values) if isinstance(values, list) else []
        for i, flag in enumerate(unknown):
            if i < len(items):
                items[i] = _marked(items[i], flag, f"{address}[{i}]")
            elif flag is True or flag:
                items.append(_marked(None, flag, f"{address}[{i}]"))
        return items
    return values


def _wrap(values: Any, address: str) -> Any:
    """Nested blocks as ObjectValues too, so every level knows its address."""
    if isinstance(values, dict) and not isinstance(values, ObjectValue):
        return ObjectValue({k: _wrap(v, f"{address}.{k}") for k, v in values.items()}, address)
    if isinstance(values, list):
        return [_wrap(v, f"{address}[{i}]") for i, v in enumerate(values)]
    return values


def _get(node: Any, *keys: str) -> Any:
    """``node[k1][k2]...`` where each level is a dict, else None (documents may be damaged)."""
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _items(node: Any) -> list:
    return node if isinstance(node, list) else []


def _module_config(configuration: Any, module_address: str) -> dict:
    """The configuration block of the module that ``module_address`` instantiates."""
    node = _get(configuration, "root_module")
    for name in re.findall(r"module\.([^.\[]+)", module_address):
        node = _get(node, "module_calls", name, "module")
    return node if isinstance(node, dict) else {}


_INDEX = re.compile(r"\[[^\]]*\]$")


class _Reader:
    def __init__(self, data: dict, source: str, report: Report) -> None:
        self.source = source
        self.report = report
        self.configuration = data.get("configuration")
        self.changes = {
            str(_get(c, "address")): _get(c, "change", "after_unknown")
            for c in _items(data.get("resource_changes"))
        }
        self.instances: dict[str, ResourceInstance] = {}
        self.module_of: dict[str, str] = {}  # instance address -> its module's address

    def read(self, module: Any, module_address: str = "") -> None:
        if not isinstance(module, dict):
            return
        for resource in _items(module.get("resources")):
            if isinstance(_get(resource, "address"), str):
                self._resource(resource, module_address)
        for child in _items(module.get("child_modules")):
            if isinstance(child, dict):
                self.read(child, str(child.get("address") or ""))

    def _resource(self, resource: dict, module_address: str) -> None:
        address, kind = resource["address"], str(resource.get("type") or "")
        values = resource.get("values") if isinstance(resource.get("values"), dict) else {}
        unknown = self.changes.get(address)
        values = _wrap(_marked(values, unknown, address), address)
        if not isinstance(values, ObjectValue):
            values = ObjectValue({}, address)
        complete(kind, values)
        data = resource.get("mode") == "data"
        self.instances[address] = ResourceInstance(
            address, kind, values, f"{self.source} ({module_address or 'root module'})", data
        )
        self.module_of[address] = module_address

    def resolve_references(self) -> None:
        """Fill plan-unknown attributes whose configuration is a plain reference."""
        for address, instance in self.instances.items():
            module_address = self.module_of[address]
            config = self._resource_config(module_address, address)
            expressions = config.get("expressions") if config else None
            if isinstance(expressions, dict):
                self._resolve(instance.values, expressions, module_address)

    def _resource_config(self, module_address: str, address: str) -> dict | None:
        local = address[len(module_address) + 1 :] if module_address else address
        local = _INDEX.sub("", local)
        for resource in _items(_module_config(self.configuration, module_address).get("resources")):
            if _get(resource, "address") == local:
                return resource
        return None

    def _resolve(self, values: Any, expressions: dict, module_address: str) -> None:
        if not isinstance(values, dict):
            return
        for key, expression in expressions.items():
            current = values.get(key)
            if isinstance(expression, list) and isinstance(current, list):
                for item, nested in zip(current, expression, strict=False):
                    if isinstance(nested, dict):
                        self._resolve(item, nested, module_address)
            elif isinstance(current, Unknown) and isinstance(expression, dict):
                found = self._first(expression.get("references"), module_address, 0)
                if found is not None:
                    values[key] = found

    def _first(self, references: Any, module_address: str, depth: int) -> Any:
        """The value of the first of ``references`` (most specific first) that resolves."""
        if depth > 8 or not isinstance(references, list):
            return None
        for reference in references:
            found = self._reference(str(reference), module_address, depth)
            if found is not None:
                return found
        return None

    def _reference(self, reference: str, module_address: str, depth: int) -> Any:
        """A reference through input variables and module outputs to a resource attribute;
        a computed attribute comes back as an Unknown whose origin names it."""
        prefix = f"{module_address}." if module_address else ""
        if reference.startswith("var."):
            parent, call = _parent_call(module_address)
            if call is None:
                return None
            config = _module_config(self.configuration, parent)
            name = reference.split(".")[1]
            references = _get(config, "module_calls", call, "expressions", name, "references")
            return self._first(references, parent, depth + 1)
        output = _OUTPUT.match(reference)
        if output is not None:
            child = prefix + "module." + output.group("call") + (output.group("key") or "")
            config = _module_config(self.configuration, child)
            references = _get(config, "outputs", output.group("output"), "expression", "references")
            return self._first(references, child, depth + 1)
        for address in sorted(self.instances, key=len, reverse=True):
            local = address[len(prefix) :] if address.startswith(prefix) else None
            if (
                local
                and reference.startswith(local + ".")
                and self.module_of[address] == (module_address)
            ):
                return self._attribute(self.instances[address], reference[len(local) + 1 :])
        return None

    def _attribute(self, instance: ResourceInstance, path: str) -> Any:
        value: Any = instance.values
        for step in _STEPS.findall(path):
            if isinstance(value, dict) and not step.startswith("["):
                value = value.get(step)
            elif isinstance(value, list) and step.startswith("[") and step[1:-1].isdigit():
                index = int(step[1:-1])
                value = value[index] if index < len(value) else None
            else:
                return None
        if path == "id" and (value is None or isinstance(value, Unknown)):
            value = resource_id(instance.type, instance.values)
        if isinstance(value, Unknown):
            origin = f"{instance.address}.{path}"
            return Unknown(value.reason, "${" + origin + "}", origin)
        return value


_OUTPUT = re.compile(r"^module\.(?P<call>[^.\[]+)(?P<key>\[[^\]]*\])?\.(?P<output>[^.\[]+)")
_STEPS = re.compile(r"[^.\[\]]+|\[[^\]]*\]")


def _parent_call(module_address: str) -> tuple[str, str | None]:
    """(the caller's module address, the call's name) of a module instance address."""
    match = re.match(r"^(?P<parent>.*?)\.?module\.(?P<call>[^.\[]+)(\[[^\]]*\])?$", module_address)
    if match is None:
        return "", None
    return match.group("parent"), match.group("call")


def read_show_json(data: dict, source: str, report: Report) -> list[ResourceInstance]:
    """The resource instances of a ``terraform show -json`` document."""
    reader = _Reader(data, source, report)
    if isinstance(data.get("planned_values"), dict):
        reader.read(data["planned_values"].get("root_module"))
        reader.resolve_references()
    elif isinstance(data.get("values"), dict):
        reader.read(data["values"].get("root_module"))
    return list(reader.instances.values())
