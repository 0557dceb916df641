"""Evaluating a configuration: modules, variables, locals, resources, data sources, outputs.

Evaluation is lazy and memoised, the way Terraform's graph orders it: a reference evaluates what
it names when first needed, and a cycle is an error. ``count``, ``for_each`` and ``dynamic``
blocks expand into instances; local modules (``source = "./..."``, or a module that
``terraform init`` downloaded, found through ``.terraform/modules/modules.json``) are evaluated
with their own variables and outputs. Every failure is a finding naming the file, line and
address, and the value becomes unknown, so the rest still loads.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from fabric.io.terraform import diagnostics as codes
from fabric.io.terraform.diagnostics import Report
from fabric.io.terraform.expressions import Scope, describe, evaluate, iterate
from fabric.io.terraform.functions import FUNCTIONS
from fabric.io.terraform.hcl import Attribute, Block, Body, ModuleConfig, read_module
from fabric.io.terraform.schema import complete, missing_attribute, unknown_argument
from fabric.io.terraform.values import (
    EvalError,
    Namespace,
    ObjectValue,
    SetValue,
    Unknown,
    plain,
    suggest_name,
    to_number,
    type_name,
)
from fabric.io.terraform.variables import (
    CONSTANT_SCOPE,
    CliText,
    Given,
    TypeSpec,
    convert,
    from_cli,
    parse_type,
)

RESOURCE_META = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle"})
MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection", "timeouts"})


@attrs.frozen
class ResourceInstance:
    """One instance of a resource (or data source) after evaluation."""

    address: str
    type: str
    values: dict[str, Any]
    where: str
    data: bool = False


def _key_text(key: Any) -> str:
    return f"[{key}]" if isinstance(key, int) else f"[{json.dumps(key)}]"


class Context:
    """What all module instances of one load share: findings, parsed modules, the module
    manifest of ``terraform init``."""

    def __init__(self, root: Path, report: Report) -> None:
        self.root = root
        self.report = report
        self._configs: dict[Path, ModuleConfig] = {}
        self.manifest = self._manifest(root if root.is_dir() else root.parent)

    @staticmethod
    def _manifest(directory: Path) -> dict[str, Path]:
        path = directory / ".terraform" / "modules" / "modules.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        modules = data.get("Modules") if isinstance(data, dict) else None
        return {
            str(m["Key"]): directory / str(m["Dir"])
            for m in modules or ()
            if isinstance(m, dict) and m.get("Key") and m.get("Dir")
        }

    def config(self, path: Path) -> ModuleConfig:
        """The parsed module at ``path`` (parsed once; its problems reported once)."""
        key = path.resolve()
        if key not in self._configs:
            config = read_module(path)
            for where, message in config.problems:
                self.report.error(codes.INVALID_CONFIGURATION, where, "", message)
            for where, message in config.notes:
                self.report.warning(codes.FILE_NOT_READ, where, "", message)
            self._configs[key] = config
        return self._configs[key]


class ModuleInstance:
    """One instance of a module: evaluates its names on demand and remembers the results."""

    def __init__(
        self,
        context: Context,
        config: ModuleConfig,
        address: str,
        call_path: str,
        inputs: dict[str, Callable[[], Any]],
        root_values: dict[str, Given] | None = None,
    ) -> None:
        self.context = context
        self.config = config
        self.address = address  # "" for the root, else "module.hub" or 'module.spoke["a"]'
        self.call_path = call_path  # "hub.spoke": the key in terraform init's manifest
        self.inputs = inputs
        self.root_values = root_values
        self.children: list[ModuleInstance] = []
        self.instances: dict[tuple[str, str, str], list[ResourceInstance]] = {}
        self._memo: dict[tuple[str, ...], Any] = {}
        self._active: list[tuple[str, ...]] = []
        self.scope = Scope(resolver=self, functions=FUNCTIONS)

    @property
    def report(self) -> Report:
        return self.context.report

    def prefix(self) -> str:
        return f"{self.address}." if self.address else ""

    # -- memo and names --------------------------------------------------------------------

    def _once(self, key: tuple[str, ...], work: Callable[[], Any]) -> Any:
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            cycle = " -> ".join(".".join(k[1:]) for k in self._active[self._active.index(key) :])
            raise EvalError(f"a cycle of references: {cycle} -> {'.'.join(key[1:])}")
        self._active.append(key)
        try:
            value = work()
        finally:
            self._active.pop()
        self._memo[key] = value
        return value

    def root(self, name: str, line: int | None) -> Any:
        """The value of a reference's first name (``var``, ``local``, a resource type...)."""
        if name in _NAMESPACES:
            return _NAMESPACES[name](self)
        if name == "path":
            root = self.context.root if self.context.root.is_dir() else self.context.root.parent
            return {"module": str(self.config.dir), "root": str(root), "cwd": os.getcwd()}
        if name == "terraform":
            return {"workspace": "default"}
        if name in ("count", "each"):
            needs = "count" if name == "count" else "for_each"
            raise EvalError(f"{name}. can only be used in a block that sets {needs}", line)
        if name == "self":
            raise EvalError("self can only be used in provisioner and connection blocks", line)
        if any(kind == name for kind, _ in self.config.resources):
            return _ResourceType(self, name)
        kinds = sorted({kind for kind, _ in self.config.resources} | {"var", "local", "module"})
        raise EvalError(
            f"{name!r} is not declared in this module: no resource of that type, and not one of "
            f"var, local, module, data, resource, path ({suggest_name(name, kinds)})",
            line,
        )

    def evaluate_attribute(self, attribute: Attribute, scope: Scope, address: str) -> Any:
        """An attribute's value; an error becomes a finding at its line and an unknown."""
        try:
            return evaluate(attribute.expr, scope)
        except EvalError as problem:
            self._expression_error(attribute, address, problem)
        except RecursionError:
            self._expression_error(
                attribute, address, EvalError("the expression nests too deeply to evaluate")
            )
        return Unknown(
            f"{address or 'the expression'}: {attribute.name} could not be evaluated "
            f"(see the error at {attribute.where})",
            "${" + describe(attribute.expr) + "}",
        )

    def _expression_error(self, attribute: Attribute, address: str, problem: EvalError) -> None:
        line = problem.line or attribute.line
        where = f"{attribute.file}:{line}"
        self.report.error(
            codes.EXPRESSION_ERROR, where, address, f"{attribute.name}: {problem.message}"
        )

    # -- variables, locals, outputs ----------------------------------------------------------

    def variable(self, name: str) -> Any:
        return self._once(("var", name), lambda: self._variable(name))

    def _variable(self, name: str) -> Any:
        block = self.config.variables.get(name)
        origin = f"{self.prefix()}var.{name}"
        spec = self._type_of(block)
        if name in self.inputs:
            value = self.inputs[name]()
        elif self.root_values is not None and name in self.root_values:
            given = self.root_values[name]
            value = given.value
            if isinstance(value, CliText):
                value = self._cli_value(value.text, spec, origin, given.source)
            if block is None:
                self.report.warning(
                    codes.UNDECLARED_VARIABLE,
                    "",
                    origin,
                    f"is used and given a value ({given.source}) but no variable block declares "
                    f'it; the value was used. Add variable "{name}" {{}} to the configuration',
                )
        elif block is not None and "default" in block.body.attributes:
            value = self._constant(block.body.attributes["default"], origin)
        elif block is not None or self.address == "":
            state = "has no default and no value" if block else "is not declared and has no value"
            self.report.warning(
                codes.VARIABLE_NOT_SET,
                block.where if block else "",
                origin,
                f"{state}; what uses it stays unknown (names keep the placeholder "
                f"${{var.{name}}}). Give it a value: variables={{{name!r}: ...}}, "
                f"-var {name}=..., or a terraform.tfvars file",
            )
            return Unknown(f"var.{name} has no value", "${var." + name + "}", f"var.{name}")
        else:
            declared = sorted(self.config.variables)
            raise EvalError(
                f"module {self.address} has no variable {name!r} ({suggest_name(name, declared)})"
            )
        if spec is not None and not isinstance(value, Unknown):
            try:
                value = convert(value, spec)
            except EvalError as problem:
                self.report.error(
                    codes.INVALID_CONFIGURATION,
                    block.where if block else "",
                    origin,
                    f"the value does not fit the variable's type: {problem.message}; give a "
                    "value of the declared type",
                )
                return Unknown(f"var.{name} has a value of the wrong type", "${var." + name + "}")
        return value

    def _type_of(self, block: Block | None) -> TypeSpec | None:
        if block is None or "type" not in block.body.attributes:
            return None
        attribute = block.body.attributes["type"]
        try:
            return parse_type(attribute.expr)
        except EvalError as problem:
            self._expression_error(attribute, f"var.{block.labels[0]}", problem)
            return None

    def _cli_value(self, text: str, spec: TypeSpec | None, origin: str, source: str) -> Any:
        try:
            return from_cli(text, spec)
        except EvalError as problem:
            self.report.error(
                codes.INVALID_CONFIGURATION,
                "",
                origin,
                f"the value {text!r} from {source} is not a valid {spec.kind if spec else ''} "
                f"value ({problem.message}); quote lists and maps for the shell, e.g. "
                "-var 'prefixes=[\"10.0.0.0/16\"]'",
            )
            return Unknown(f"var value {text!r} is not valid", "${" + origin + "}")

    def _constant(self, attribute: Attribute, address: str) -> Any:
        try:
            return evaluate(attribute.expr, CONSTANT_SCOPE)
        except EvalError as problem:
            self._expression_error(attribute, address, problem)
            return Unknown(f"{address} has an invalid default", "${" + address + "}")

    def local(self, name: str) -> Any:
        attribute = self.config.locals.get(name)
        if attribute is None:
            raise EvalError(
                f"there is no local value named {name!r} ({suggest_name(name, self.config.locals)})"
            )
        return self._once(
            ("local", name),
            lambda: self.evaluate_attribute(attribute, self.scope, f"{self.prefix()}local.{name}"),
        )

    def output(self, name: str) -> Any:
        block = self.config.outputs.get(name)
        if block is None:
            raise EvalError(
                f"module {self.address or '(root)'} has no output named {name!r} "
                f"({suggest_name(name, self.config.outputs)})"
            )
        value = block.body.attributes.get("value")
        if value is None:
            return None
        return self._once(
            ("output", name),
            lambda: self.evaluate_attribute(value, self.scope, f"{self.prefix()}output.{name}"),
        )

    def variables_used(self) -> set[str]:
        """The names of the variables some expression asked for."""
        return {key[1] for key in self._memo if key[0] == "var"}

    # -- expansion -------------------------------------------------------------------------

    def expand(self, block: Block, address: str) -> tuple[str, list[tuple[Any, Scope]]] | Unknown:
        """The instances of a resource/module block: ``count``, ``for_each`` or one."""
        attributes = block.body.attributes
        if "count" in attributes and "for_each" in attributes:
            self.report.error(
                codes.INVALID_CONFIGURATION,
                block.where,
                address,
                "sets both count and for_each; keep one",
            )
        if "count" in attributes:
            value = self.evaluate_attribute(attributes["count"], self.scope, address)
            if isinstance(value, Unknown):
                return self._unknown_expansion(attributes["count"], address, value)
            try:
                count = to_number(value)
            except EvalError:
                count = -1
            if not isinstance(count, int) or count < 0:
                self.report.error(
                    codes.EXPRESSION_ERROR,
                    attributes["count"].where,
                    address,
                    f"count must be a whole number of zero or more, got {type_name(value)} "
                    f"{value!r}",
                )
                return Unknown(f"{address}: count is not valid", "${" + address + "}", address)
            return "count", [(i, self.scope.with_names(count={"index": i})) for i in range(count)]
        if "for_each" in attributes:
            attribute = attributes["for_each"]
            value = plain(self.evaluate_attribute(attribute, self.scope, address))
            if isinstance(value, Unknown):
                return self._unknown_expansion(attribute, address, value)
            items = self._for_each_items(value, attribute, address)
            if isinstance(items, Unknown):
                return items
            return "for_each", [
                (key, self.scope.with_names(each={"key": key, "value": item}))
                for key, item in items
            ]
        return "single", [(None, self.scope)]

    def _for_each_items(
        self, value: Any, attribute: Attribute, address: str
    ) -> list[tuple[str, Any]] | Unknown:
        if isinstance(value, dict):
            return [(key, value[key]) for key in sorted(value)]
        if isinstance(value, list) and not value:
            # An empty tuple is what `cond ? toset(x) : []` gives when false: Terraform unifies
            # the branches into an empty set, so it is no instance and no error.
            return []
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if not isinstance(value, SetValue):
                self.report.error(
                    codes.INVALID_CONFIGURATION,
                    attribute.where,
                    address,
                    "for_each needs a map or a set of strings, not a list; wrap it in "
                    "toset(...) (vnetsim read it as that set)",
                )
            return [(item, item) for item in SetValue.of(value)]
        self.report.error(
            codes.INVALID_CONFIGURATION,
            attribute.where,
            address,
            f"for_each needs a map or a set of strings, got {type_name(value)}",
        )
        return Unknown(f"{address}: for_each is not valid", "${" + address + "}", address)

    def _unknown_expansion(self, attribute: Attribute, address: str, value: Unknown) -> Unknown:
        self.report.warning(
            codes.UNKNOWN_VALUE,
            attribute.where,
            address,
            f"{attribute.name} is not known offline ({value.reason}), so vnetsim cannot tell "
            "how many instances there are; the resource was left out",
        )
        return Unknown(
            f"{address} has an unknown number of instances", "${" + address + "}", address
        )

    # -- resources and data sources --------------------------------------------------------

    def resource(self, kind: str, name: str, data: bool = False) -> Any:
        """The value of ``kind.name``: one object, a list (count) or a map (for_each)."""
        table = self.config.data if data else self.config.resources
        block = table.get((kind, name))
        label = f"data.{kind}" if data else kind
        if block is None:
            names = [n for k, n in table if k == kind]
            raise EvalError(
                f"there is no {label}.{name} in this module ({suggest_name(name, names)})"
            )
        mode = "data" if data else "managed"
        return self._once((mode, kind, name), lambda: self._resource(block, kind, name, data))

    def _resource(self, block: Block, kind: str, name: str, data: bool) -> Any:
        address = f"{self.prefix()}{'data.' if data else ''}{kind}.{name}"
        expansion = self.expand(block, address)
        found: list[ResourceInstance] = []
        self.instances[("data" if data else "managed", kind, name)] = found
        if isinstance(expansion, Unknown):
            return expansion
        mode, instances = expansion
        objects: list[tuple[Any, ObjectValue]] = []
        for key, scope in instances:
            instance_address = address + ("" if key is None else _key_text(key))
            values = self._object(block.body, scope, instance_address, kind, (), data)
            complete(kind, values)
            objects.append((key, values))
            found.append(ResourceInstance(instance_address, kind, values, block.where, data))
        if mode == "single":
            return objects[0][1]
        if mode == "count":
            return [obj for _, obj in objects]
        return dict(objects)

    def _object(
        self,
        body: Body,
        scope: Scope,
        address: str,
        kind: str,
        path: tuple[str, ...],
        data: bool,
    ) -> ObjectValue:
        values: dict[str, Any] = {}
        for name, attribute in body.attributes.items():
            if not path and name in RESOURCE_META:
                continue
            if not data:
                self._check_argument(kind, path, name, attribute.where, address, block=False)
            values[name] = self.evaluate_attribute(attribute, scope, address)
        for block in body.blocks:
            if not path and block.type in META_BLOCKS:
                continue
            if block.type == "dynamic":
                self._dynamic(block, scope, address, kind, path, data, values)
                continue
            if not data:
                self._check_argument(kind, path, block.type, block.where, address, block=True)
            items = values.setdefault(block.type, [])
            if isinstance(items, list):
                inner = f"{address}.{block.type}[{len(items)}]"
                items.append(
                    self._object(block.body, scope, inner, kind, (*path, block.type), data)
                )
        if data:
            missing = functools.partial(_data_attribute, f"data.{kind}")
        else:
            missing = functools.partial(missing_attribute, kind, path)
        return ObjectValue(values, address, missing)

    def _check_argument(
        self, kind: str, path: tuple[str, ...], name: str, where: str, address: str, block: bool
    ) -> None:
        message = unknown_argument(kind, path, name, block)
        if message is not None:
            self.report.warning(codes.UNKNOWN_ARGUMENT, where, address, message)

    def _dynamic(
        self,
        block: Block,
        scope: Scope,
        address: str,
        kind: str,
        path: tuple[str, ...],
        data: bool,
        values: dict[str, Any],
    ) -> None:
        """Expand ``dynamic "label" { for_each = ...; content { ... } }`` into blocks."""
        label = block.labels[0] if block.labels else ""
        attributes = block.body.attributes
        content = block.body.blocks_of("content")
        if not label or "for_each" not in attributes or len(content) != 1:
            self.report.error(
                codes.INVALID_CONFIGURATION,
                block.where,
                address,
                'a dynamic block needs a label, for_each and one content block: dynamic "rule" '
                "{ for_each = ...  content { ... } }",
            )
            return
        if not data:
            self._check_argument(kind, path, label, block.where, address, block=True)
        iterator = label
        if "iterator" in attributes:
            iterator = describe(attributes["iterator"].expr)
        collection = self.evaluate_attribute(attributes["for_each"], scope, address)
        if isinstance(collection, Unknown):
            self.report.warning(
                codes.UNKNOWN_VALUE,
                attributes["for_each"].where,
                address,
                f'dynamic "{label}": for_each is not known offline ({collection.reason}); '
                "its blocks were left out",
            )
            return
        try:
            pairs = iterate(collection, block.line)
        except EvalError as problem:
            self._expression_error(attributes["for_each"], address, problem)
            return
        items = values.setdefault(label, [])
        if not isinstance(items, list):
            return
        for key, item in pairs:
            inner_scope = scope.with_names(**{iterator: {"key": key, "value": item}})
            inner = f"{address}.{label}[{len(items)}]"
            items.append(
                self._object(content[0].body, inner_scope, inner, kind, (*path, label), data)
            )

    # -- module calls ----------------------------------------------------------------------

    def module(self, name: str) -> Any:
        block = self.config.modules.get(name)
        if block is None:
            raise EvalError(
                f"there is no module {name!r} in this module "
                f"({suggest_name(name, self.config.modules)})"
            )
        return self._once(("module", name), lambda: self._module(block, name))

    def _module(self, block: Block, name: str) -> Any:
        address = f"{self.prefix()}module.{name}"
        call_path = f"{self.call_path}.{name}" if self.call_path else name
        directory = self._module_source(block, address, call_path)
        if isinstance(directory, Unknown):
            return directory
        config = self.context.config(directory)
        self._check_inputs(block, config, address)
        expansion = self.expand(block, address)
        if isinstance(expansion, Unknown):
            return expansion
        mode, instances = expansion
        outputs: list[tuple[Any, _Outputs]] = []
        for key, scope in instances:
            child_address = address + ("" if key is None else _key_text(key))
            inputs = {
                attribute.name: functools.partial(
                    self.evaluate_attribute, attribute, scope, child_address
                )
                for attribute in block.body.attributes.values()
                if attribute.name not in MODULE_META
            }
            child = ModuleInstance(self.context, config, child_address, call_path, inputs)
            self.children.append(child)
            outputs.append((key, _Outputs(child)))
        if mode == "single":
            return outputs[0][1]
        if mode == "count":
            return [o for _, o in outputs]
        return dict(outputs)

    def _module_source(self, block: Block, address: str, call_path: str) -> Path | Unknown:
        attribute = block.body.attributes.get("source")
        source = self._constant(attribute, address) if attribute is not None else None
        if not isinstance(source, str) or not source:
            self.report.error(
                codes.INVALID_CONFIGURATION,
                block.where,
                address,
                'a module block needs source = "<path or registry address>"',
            )
            return Unknown(f"{address} has no source", "${" + address + "}", address)
        if source.startswith(("./", "../")):
            directory = (self.config.dir / source).resolve()
            if directory.is_dir():
                return directory
            self.report.error(
                codes.INVALID_CONFIGURATION,
                block.where,
                address,
                f"source {source!r} is not a directory (looked for {directory}); fix the path",
            )
            return Unknown(f"{address}: {source} is missing", "${" + address + "}", address)
        downloaded = self.context.manifest.get(call_path)
        if downloaded is not None and downloaded.is_dir():
            return downloaded
        reason = (
            f"{address} comes from {source!r}, which is not on disk; run `terraform init` in "
            "the root directory (vnetsim then reads .terraform/modules) or copy the module "
            "into the repository and use a ./ path"
        )
        self.report.warning(
            codes.MODULE_NOT_LOADED,
            block.where,
            address,
            reason + "; what it defines is left out and its outputs are unknown",
        )
        return Unknown(reason, "${" + address + "}", address)

    def _check_inputs(self, block: Block, config: ModuleConfig, address: str) -> None:
        given = set(block.body.attributes) - MODULE_META
        for name in sorted(given - set(config.variables)):
            self.report.error(
                codes.INVALID_CONFIGURATION,
                block.body.attributes[name].where,
                address,
                f"the module has no variable {name!r} "
                f"({suggest_name(name, config.variables)}); Terraform rejects this argument",
            )
        for name, variable in sorted(config.variables.items()):
            if name not in given and "default" not in variable.body.attributes:
                self.report.error(
                    codes.INVALID_CONFIGURATION,
                    block.where,
                    address,
                    f"variable {name!r} of the module (declared at {variable.where}) has no "
                    "default and is not set here; add it to the module block",
                )

    # -- collecting ------------------------------------------------------------------------

    def collect(self) -> list[ResourceInstance]:
        """Evaluate everything this module declares; every resource instance, in declaration
        order, child modules' after the module's own."""
        for kind, name in self.config.resources:
            self._guarded(lambda k=kind, n=name: self.resource(k, n))
        for kind, name in self.config.data:
            block = self.config.data[(kind, name)]
            self._guarded(lambda k=kind, n=name: self.resource(k, n, data=True))
            self.report.warning(
                codes.DATA_SOURCE_NOT_READ,
                block.where,
                f"{self.prefix()}data.{kind}.{name}",
                "a data source is read from Azure at plan time; offline vnetsim knows only its "
                "arguments and the resource ID they name, so its other attributes stay unknown",
            )
        for name in self.config.locals:
            self._guarded(lambda n=name: self.local(n))
        for name in self.config.outputs:
            self._guarded(lambda n=name: self.output(n))
        for name in self.config.modules:
            self._guarded(lambda n=name: self.module(n))
        found: list[ResourceInstance] = []
        for kind, name in self.config.resources:
            found.extend(self.instances.get(("managed", kind, name), ()))
        for kind, name in self.config.data:
            found.extend(self.instances.get(("data", kind, name), ()))
        for child in self.children:
            found.extend(child.collect())
        return found

    def _guarded(self, work: Callable[[], Any]) -> None:
        try:
            work()
        except EvalError as problem:  # a cycle met at the top level
            self.report.error(codes.EXPRESSION_ERROR, "", self.address, problem.message)


def _data_attribute(label: str, instance: ObjectValue, name: str) -> Unknown:
    origin = f"{instance.address}.{name}"
    return Unknown(
        f"{origin} is read from Azure by the data source at plan time, which vnetsim does not "
        "do; load the configuration that manages that resource too, or a `terraform show "
        "-json` state that has it",
        "${" + origin + "}",
        origin,
    )


# -- namespaces --------------------------------------------------------------------------------


class _Variables(Namespace):
    def __init__(self, module: ModuleInstance) -> None:
        self.module = module

    def attribute(self, name: str) -> Any:
        return self.module.variable(name)

    def materialize(self) -> dict[str, Any]:
        return {name: self.module.variable(name) for name in self.module.config.variables}


class _Locals(_Variables):
    def attribute(self, name: str) -> Any:
        return self.module.local(name)

    def materialize(self) -> dict[str, Any]:
        return {name: self.module.local(name) for name in self.module.config.locals}


class _Modules(_Variables):
    def attribute(self, name: str) -> Any:
        return self.module.module(name)

    def materialize(self) -> dict[str, Any]:
        return {name: self.module.module(name) for name in self.module.config.modules}


class _Data(_Variables):
    """``data.<type>.<name>``: a data source."""

    data = True
    label = "data source"

    def _table(self) -> list[tuple[str, str]]:
        return self.module.config.data

    def attribute(self, name: str) -> Any:
        table = self._table()
        if not any(kind == name for kind, _ in table):
            kinds = sorted({kind for kind, _ in table})
            raise EvalError(
                f"there is no {self.label} of type {name!r} in this module "
                f"({suggest_name(name, kinds)})"
            )
        return _ResourceType(self.module, name, data=self.data)

    def materialize(self) -> dict[str, Any]:
        return {}


class _Resources(_Data):
    """``resource.<type>.<name>``: a managed resource named with the explicit prefix."""

    data = False
    label = "resource"

    def _table(self) -> list[tuple[str, str]]:
        return self.module.config.resources


class _ResourceType(Namespace):
    def __init__(self, module: ModuleInstance, kind: str, data: bool = False) -> None:
        self.module = module
        self.kind = kind
        self.data = data

    def attribute(self, name: str) -> Any:
        return self.module.resource(self.kind, name, self.data)

    def materialize(self) -> dict[str, Any]:
        table = self.module.config.data if self.data else self.module.config.resources
        return {n: self.attribute(n) for k, n in table if k == self.kind}


class _Outputs(Namespace):
    """A module instance seen from its caller: its outputs, evaluated on demand."""

    def __init__(self, module: ModuleInstance) -> None:
        self.module = module

    def attribute(self, name: str) -> Any:
        return self.module.output(name)

    def materialize(self) -> dict[str, Any]:
        return {name: self.module.output(name) for name in self.module.config.outputs}


_NAMESPACES: dict[str, Callable[[ModuleInstance], Namespace]] = {
    "var": _Variables,
    "local": _Locals,
    "module": _Modules,
    "data": _Data,
    "resource": _Resources,
}


def evaluate_configuration(
    path: Path, root_values: dict[str, Given], report: Report
) -> list[ResourceInstance]:
    """Every resource instance the configuration at ``path`` defines (InputError on syntax)."""
    context = Context(path, report)
    config = context.config(path)
    root = ModuleInstance(context, config, "", "", {}, root_values)
    instances = root.collect()
    for name in sorted(set(root_values) - set(config.variables) - root.variables_used()):
        report.warning(
            codes.UNDECLARED_VARIABLE,
            "",
            f"var.{name}",
            f"a value was given ({root_values[name].source}) but no variable block declares "
            "it and nothing uses it; check the name",
        )
    return instances


__all__ = ["ResourceInstance", "evaluate_configuration"]
