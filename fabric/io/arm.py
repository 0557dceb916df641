"""ARM template importer: evaluates a deployment template (parameters, variables, copy loops,
conditions, nested child resources, reference() within the template) into resource objects,
then maps them with ``fabric.io.azure_resources``.

Anything the evaluator cannot do becomes a finding naming the function or resource type and
its JSON path; the rest of the template still loads.
"""

from __future__ import annotations

from typing import Any

from fabric.io.arm_expressions import (
    ExpressionError,
    Scope,
    Unresolvable,
    is_expression,
    parse,
    unique_string,
)
from fabric.io.azure_resources import MODELLED, AzureResource, build_fabric
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error, warning

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "vnetsim-rg"
DEFAULT_LOCATION = "westeurope"  # resourceGroup().location when the template asks for it


class _Referenced(dict):
    """Properties returned by reference(): reading one that exists only after deployment (an
    address Azure assigns, a runtime state) is Unresolvable rather than a template error."""

    def __init__(self, data: dict, what: str) -> None:
        super().__init__(data)
        self.what = what

    def __getitem__(self, key: Any) -> Any:
        return _wrap(super().__getitem__(key), f"{self.what}.{key}")

    def missing(self, key: Any) -> Unresolvable:
        return Unresolvable(f"{self.what}.{key} is known only after deployment")


class _ReferencedList(list):
    def __init__(self, data: list, what: str) -> None:
        super().__init__(data)
        self.what = what

    def __getitem__(self, index: Any) -> Any:
        return _wrap(super().__getitem__(index), f"{self.what}[{index}]")

    def missing(self, index: Any) -> Unresolvable:
        return Unresolvable(f"{self.what}[{index}] is known only after deployment")


def _wrap(value: Any, what: str) -> Any:
    if isinstance(value, dict) and not isinstance(value, _Referenced):
        return _Referenced(value, what)
    if isinstance(value, list) and not isinstance(value, _ReferencedList):
        return _ReferencedList(value, what)
    return value


def resource_id(*args: Any) -> str:
    """resourceId([subscriptionId], [resourceGroupName], type, name1, [name2...])."""
    args = [str(a) for a in args]
    position = next((i for i, a in enumerate(args) if "/" in a and "." in a.split("/")[0]), None)
    if position is None:
        raise ExpressionError(
            f"resourceId: no resource type like 'Microsoft.Network/...' in {args}"
        )
    before, kind, names = args[:position], args[position].rstrip("/"), args[position + 1 :]
    subscription = before[0] if len(before) == 2 else SUBSCRIPTION_ID
    group = before[-1] if before else RESOURCE_GROUP
    namespace, *types = kind.split("/")
    if len(types) != len(names):
        raise ExpressionError(
            f"resourceId: type {kind} needs {len(types)} name(s), got {len(names)}"
        )
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{path}"


def _type_and_name(resource_id_text: str) -> tuple[str, str] | None:
    """('Microsoft.Network/virtualNetworks/subnets', 'vnet/subnet') from a resource ID."""
    parts = resource_id_text.strip("/").split("/")
    if "providers" not in parts:
        return None
    rest = parts[parts.index("providers") + 1 :]
    if len(rest) < 3:
        return None
    namespace, pairs = rest[0], rest[1:]
    types, names = pairs[0::2], pairs[1::2]
    return f"{namespace}/{'/'.join(types)}", "/".join(names)


class ArmTemplate:
    """One template with its parameter values, evaluated lazily with cycle detection."""

    def __init__(self, template: dict, parameter_values: dict, source: str, location: str) -> None:
        self.template = template
        self.source = source
        self.location = location
        self.findings: list[Finding] = []
        self._parameter_values = {k.lower(): v for k, v in parameter_values.items()}
        self._parameter_specs = {
            k.lower(): v for k, v in (template.get("parameters") or {}).items()
        }
        self._variable_specs = {k.lower(): v for k, v in (template.get("variables") or {}).items()}
        self._parameters: dict[str, Any] = {}
        self._variables: dict[str, Any] = {}
        self._evaluating: set[str] = set()
        self.resources: list[tuple[str, dict, dict[str | None, int]]] = []  # (path, raw, copy)
        self._evaluated: dict[int, AzureResource | None] = {}

    # -- scope -------------------------------------------------------------------------------

    def scope(self, copy_indexes: dict[str | None, int] | None = None) -> Scope:
        scope = Scope(
            {
                "parameters": self.parameter,
                "variables": self.variable,
                "resourceid": resource_id,
                "subscriptionresourceid": lambda *a: resource_id(
                    SUBSCRIPTION_ID, RESOURCE_GROUP, *a
                ).replace(f"/resourceGroups/{RESOURCE_GROUP}", ""),
                "resourcegroup": lambda: {
                    "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}",
                    "name": RESOURCE_GROUP,
                    "location": self.location,
                    "properties": {},
                },
                "subscription": lambda: {
                    "id": f"/subscriptions/{SUBSCRIPTION_ID}",
                    "subscriptionId": SUBSCRIPTION_ID,
                    "tenantId": SUBSCRIPTION_ID,
                    "displayName": "vnetsim",
                },
                "deployment": lambda: {"name": "vnetsim", "properties": {}},
                "reference": self.reference,
                "listkeys": self._runtime("listKeys"),
                "environment": lambda: {"name": "AzureCloud", "suffixes": {}},
                "uniquestring": lambda *parts: unique_string(*map(str, parts)),
            }
        )
        scope.copy_indexes = dict(copy_indexes or {})
        return scope

    @staticmethod
    def _runtime(name: str):
        def unknown(*_: Any) -> Any:
            raise Unresolvable(f"{name}() returns secrets known only to Azure")

        return unknown

    def parameter(self, name: str) -> Any:
        key = str(name).lower()
        if key in self._parameters:
            return self._parameters[key]
        if key not in self._parameter_specs:
            raise ExpressionError(f"parameters('{name}'): the template declares no such parameter")
        if not isinstance(self._parameter_specs[key], dict):
            raise ExpressionError(f"parameter {name}: its declaration is not an object")
        if key in self._parameter_values:
            value = self._parameter_values[key]
            if isinstance(value, dict) and "reference" in value:
                raise Unresolvable(f"parameter {name} comes from Key Vault")
            if not (isinstance(value, dict) and "value" in value):
                raise ExpressionError(f"the parameters file gives {name} without a 'value'")
            value = value["value"]
        elif "defaultValue" in self._parameter_specs[key]:
            value = self._guarded(
                f"parameter {name}",
                lambda: self.scope().resolve(self._parameter_specs[key]["defaultValue"]),
            )
        else:
            raise ExpressionError(
                f"parameter {name} has no value: give it in a parameters file (--parameters)"
            )
        self._parameters[key] = value
        return value

    def variable(self, name: str) -> Any:
        key = str(name).lower()
        if key in self._variables:
            return self._variables[key]
        if key not in self._variable_specs:
            raise ExpressionError(f"variables('{name}'): the template declares no such variable")
        spec = self._variable_specs[key]
        value = self._guarded(
            f"variable {name}", lambda: self._resolve_with_copies(spec, self.scope())
        )
        self._variables[key] = value
        return value

    def _guarded(self, what: str, work):
        if what in self._evaluating:
            raise ExpressionError(f"{what} refers to itself")
        self._evaluating.add(what)
        try:
            return work()
        except (TypeError, AttributeError, KeyError, ValueError) as problem:
            if isinstance(problem, ExpressionError):
                raise
            raise ExpressionError(f"{what}: unexpected shape ({problem})") from None
        finally:
            self._evaluating.discard(what)

    def _resolve_with_copies(self, value: Any, scope: Scope) -> Any:
        """Resolve a value, expanding property copy loops (``"copy": [{name, count, input}]``)."""
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                if key == "copy" and isinstance(item, list):
                    for loop in item:
                        count = scope.resolve(loop.get("count", 0))
                        values = []
                        for index in range(int(count)):
                            inner = self.scope({**scope.copy_indexes, loop["name"]: index})
                            values.append(self._resolve_with_copies(loop.get("input"), inner))
                        result[loop["name"]] = values
                    continue
                result[key] = self._resolve_with_copies(item, scope)
            return result
        if isinstance(value, list):
            return [self._resolve_with_copies(item, scope) for item in value]
        return scope.resolve(value)

    # -- resources ---------------------------------------------------------------------------

    def collect(self) -> None:
        """Expand copy loops and nested resources into a flat list of instances."""
        try:
            self._collect(self.template.get("resources") or [], "resources", None, {})
        except (TypeError, AttributeError, KeyError, ValueError) as problem:
            self.note(
                error(
                    "ImportInvalidTemplate",
                    f"{self.source}: resources: unexpected shape ({problem})",
                    "resources",
                )
            )

    def _collect(self, raws: Any, path: str, parent: tuple[str, str] | None, copies: dict) -> None:
        if isinstance(raws, dict):  # languageVersion 2.0 symbolic names
            raws = list(raws.values())
        for i, raw in enumerate(raws):
            where = f"{path}[{i}]"
            if not isinstance(raw, dict):
                self.note(
                    error("ImportInvalidResource", f"{self.source}: {where} is not an object")
                )
                continue
            loop = raw.get("copy")
            if isinstance(loop, dict):
                try:
                    count = int(self.scope(copies).resolve(loop.get("count", 0)))
                except ExpressionError as problem:
                    self._expression_finding(f"{where}.copy.count", problem)
                    continue
                for index in range(count):
                    self._instance(
                        raw,
                        f"{where}<{loop.get('name')}={index}>",
                        parent,
                        {**copies, loop.get("name"): index, None: index},
                    )
            else:
                self._instance(raw, where, parent, copies)

    def _instance(self, raw: dict, where: str, parent, copies: dict) -> None:
        self.resources.append((where, raw, copies, parent))
        children = raw.get("resources")
        if children:
            resource = self.evaluate(len(self.resources) - 1)
            if resource is not None:
                self._collect(
                    children, f"{where}.resources", (resource.type, resource.name), copies
                )

    def evaluate(self, index: int) -> AzureResource | None:
        """The resource instance ``index`` with every expression evaluated (None: skipped)."""
        if index in self._evaluated:
            return self._evaluated[index]
        try:
            return self._evaluate(index)
        except (TypeError, AttributeError, KeyError, ValueError) as problem:
            # A template of the wrong shape (a list where an object belongs...).
            where = self.resources[index][0]
            self.note(
                error(
                    "ImportInvalidResource",
                    f"{self.source}: {where}: unexpected shape ({problem})",
                    where,
                )
            )
            self._evaluated[index] = None
            return None

    def _evaluate(self, index: int) -> AzureResource | None:
        where, raw, copies, parent = self.resources[index]
        self._evaluated[index] = None  # a reference cycle ends here as "not available"
        scope = self.scope(copies)
        try:
            if "condition" in raw and not scope.resolve(raw["condition"]):
                return None
            kind = str(scope.resolve(raw.get("type", "")))
            if parent is not None and "/" not in kind:  # type given relative to the parent
                kind = f"{parent[0]}/{kind}"
            try:
                name = str(scope.resolve(raw.get("name", "")))
            except ExpressionError:
                if kind.lower() in MODELLED:
                    raise
                name = str(raw.get("name", ""))  # reported as not modelled, under its raw name
            if parent is not None and name.count("/") + 1 < kind.count("/"):
                name = f"{parent[1]}/{name}"  # name given relative to the parent
        except ExpressionError as problem:
            self._expression_finding(where, problem)
            return None
        if kind.lower() in MODELLED:
            properties = self._resolve_tolerant(
                raw.get("properties") or {}, scope, f"{where}.properties"
            )
        else:  # evaluated only if a reference() reads it; its problems are not the network's
            properties = _LazyProperties(self, raw.get("properties") or {}, scope, where)
        location = self._resolve_tolerant(raw.get("location"), scope, f"{where}.location")
        sku = self._resolve_tolerant(raw.get("sku"), scope, f"{where}.sku")
        resource = AzureResource(
            kind,
            name,
            properties,
            location if isinstance(location, str) else None,
            sku if isinstance(sku, dict) else None,
            where,
        )
        self._evaluated[index] = resource
        return resource

    def _resolve_tolerant(self, value: Any, scope: Scope, where: str) -> Any:
        """Resolve a value; an item whose expression fails is dropped, with a finding."""
        if isinstance(value, dict):
            copies: dict = {}
            if "copy" in value and isinstance(value["copy"], list):
                try:  # property copy loops: already resolved, merged after the other keys
                    copies = self._resolve_with_copies({"copy": value["copy"]}, scope)
                except (ExpressionError, TypeError, AttributeError, KeyError) as problem:
                    if not isinstance(problem, ExpressionError):
                        problem = ExpressionError(f"copy loop of unexpected shape ({problem})")
                    self._expression_finding(f"{where}.copy", problem)
                value = {k: v for k, v in value.items() if k != "copy"}
            out = {}
            for key, item in value.items():
                resolved = self._resolve_tolerant(item, scope, f"{where}.{key}")
                if resolved is not _DROPPED:
                    out[key] = resolved
            out.update(copies)
            return out
        if isinstance(value, list):
            items = [
                self._resolve_tolerant(item, scope, f"{where}[{i}]") for i, item in enumerate(value)
            ]
            return [item for item in items if item is not _DROPPED]
        try:
            return scope.resolve(value)
        except ExpressionError as problem:
            self._expression_finding(where, problem)
            return _DROPPED

    def quietly(self, value: Any, scope: Scope, where: str) -> Any:
        """Resolve without reporting: failed values are simply absent."""
        kept = len(self.findings)
        try:
            return self._resolve_tolerant(value, scope, where)
        finally:
            del self.findings[kept:]

    def reference(self, target: Any, *_: Any) -> Any:
        """reference(): the properties of a resource of this template (evaluated)."""
        text = str(target)
        parsed = _type_and_name(text) if "/" in text and "providers" in text else None
        for index in range(len(self.resources)):
            resource = self.evaluate(index)
            if resource is None:
                continue
            if parsed is not None:
                kind, name = parsed
                if resource.type.lower() == kind.lower() and resource.name.lower() == name.lower():
                    return _wrap(_materialise(resource.properties), f"reference({resource.name})")
                if (
                    kind.lower().endswith("/subnets")
                    and resource.type.lower() == "microsoft.network/virtualnetworks"
                ):
                    vnet, _, subnet = name.partition("/")
                    if resource.name.lower() == vnet.lower():
                        for item in resource.properties.get("subnets") or ():
                            if str(item.get("name")).lower() == subnet.lower():
                                return _wrap(item.get("properties") or {}, f"reference({name})")
            elif resource.name.lower() == text.lower():
                return _wrap(_materialise(resource.properties), f"reference({resource.name})")
        raise Unresolvable(f"reference({text}): the resource is not defined in this template")

    # -- findings ----------------------------------------------------------------------------

    def note(self, finding: Finding) -> None:
        self.findings.append(finding)

    def _expression_finding(self, where: str, problem: ExpressionError) -> None:
        if isinstance(problem, Unresolvable):
            self.note(
                warning(
                    "ArmValueUnresolved",
                    f"{self.source}: {where}: {problem}; the value is left out",
                    where,
                )
            )
        else:
            self.note(error("ArmExpressionError", f"{self.source}: {where}: {problem}", where))


_DROPPED = object()


class _LazyProperties:
    """The unevaluated properties of a resource type vnetsim does not model."""

    def __init__(self, template: ArmTemplate, raw: dict, scope: Scope, where: str) -> None:
        self.template, self.raw, self.scope, self.where = template, raw, scope, where
        self._value: dict | None = None

    def get(self) -> dict:
        if self._value is None:
            self._value = self.template.quietly(self.raw, self.scope, f"{self.where}.properties")
        return self._value


def _materialise(properties: Any) -> dict:
    return properties.get() if isinstance(properties, _LazyProperties) else properties


def load_arm(
    template: dict, parameters: dict | None, source: str, location: str = DEFAULT_LOCATION
) -> tuple[Fabric, list[Finding]]:
    """Evaluate a template (with a parameters file's content) into a Fabric and findings."""
    expected = {"parameters": dict, "variables": dict, "resources": (list, dict)}
    for key, kind in expected.items():
        if key in template and not isinstance(template[key], kind):
            problem = f"{source}: the template's '{key}' has the wrong shape"
            return Fabric(), [error("ImportInvalidTemplate", problem, key)]
    values = (parameters or {}).get("parameters", parameters or {})
    arm = ArmTemplate(template, values if isinstance(values, dict) else {}, source, location)
    for name in template.get("parameters") or {}:
        try:
            arm.parameter(name)
        except Unresolvable as problem:
            arm.note(warning("ArmValueUnresolved", f"{source}: parameters.{name}: {problem}", name))
        except ExpressionError as problem:
            # Only a warning here: it is an error where a modelled resource needs the value.
            arm.note(
                warning("ArmMissingParameter", f"{source}: parameters.{name}: {problem}", name)
            )
    arm.collect()
    resources = [r for i in range(len(arm.resources)) if (r := arm.evaluate(i)) is not None]
    fabric, mapped = build_fabric(resources, source)
    return fabric, arm.findings + mapped


__all__ = ["is_expression", "load_arm", "parse", "resource_id"]
