"""ARM template importer: evaluates a deployment template (parameters, variables, copy loops,
conditions, nested child resources, nested ``Microsoft.Resources/deployments`` with inline
templates, reference() within the template) into resource objects, then maps them with
``fabric.io.azure_resources``.

Anything the evaluator cannot do becomes a finding naming the function or resource type and
its JSON path; the rest of the template still loads. Template keys, property names and
parameter names are read ignoring case, as Azure does.

Limits (each a clear error finding, never a hang or a RecursionError): ``MAX_COPY_COUNT``
instances per copy loop (Azure's limit), ``MAX_COPY_ITERATIONS`` loop iterations and
``MAX_RESOURCES`` resource instances per load, ``MAX_NESTING`` levels of nested deployments and
``MAX_VARIABLE_DEPTH`` variables or parameters whose values refer to each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

import attrs

from fabric.control.addressing import AddressError, parse_prefix
from fabric.io.anycase import AnyCase, any_case
from fabric.io.arm_expressions import (
    ExpressionError,
    Failed,
    Scope,
    Unresolvable,
    is_expression,
    parse,
    unique_string,
)
from fabric.io.arm_functions import Budget, to_string, truth
from fabric.io.azure_resources import (
    MODELLED,
    PLACEHOLDER_SUBSCRIPTION,
    SECRETS,
    UNREAD,
    AzureResource,
    build_fabric,
    name_from_id,
)
from fabric.io.azure_values import ref_id
from fabric.model.container import Fabric
from fabric.model.findings import Finding, error, warning

SUBSCRIPTION_ID = PLACEHOLDER_SUBSCRIPTION  # subscription(): the deployment's, unknown here
RESOURCE_GROUP = "vnetsim-rg"
DEFAULT_LOCATION = "westeurope"  # resourceGroup().location when the template asks for it

MAX_COPY_COUNT = 800  # copy-resources.md: a copy loop's count can't exceed 800
MAX_COPY_ITERATIONS = 100_000  # every copy loop of one load together (memory guard)
MAX_RESOURCES = 10_000  # resource instances of one load, nested deployments included
MAX_NESTING = 10  # nested deployments inside nested deployments
MAX_VARIABLE_DEPTH = 40  # variables/parameters whose values refer to each other

DEPLOYMENTS = "microsoft.resources/deployments"
FIREWALL = "microsoft.network/azurefirewalls"
VNET = "microsoft.network/virtualnetworks"
SUBNET = "microsoft.network/virtualnetworks/subnets"
FIREWALL_SUBNET = "AzureFirewallSubnet"
HOW_TO_PASS = (
    "give it with --parameter {name}=VALUE, in a parameters file (--parameters FILE), or as "
    "load_topology(..., parameter_values={{'{name}': VALUE}})"
)


class InvalidParameterError(ExpressionError):
    """A parameter value Azure's template validation rejects (InvalidTemplate)."""


class MissingParameterError(ExpressionError):
    """A parameter with neither a value nor a defaultValue."""


class _TooMany(Exception):  # noqa: N818 - a control-flow signal, reported as a finding
    """The load reached MAX_RESOURCES: collection stops."""


@attrs.frozen
class _Derived:
    """A read-only value Azure assigns that vnetsim derives (e.g. a firewall's private IP)."""

    value: Any
    note: str


_KEY_VAULT = object()  # a parameter whose value is a Key Vault reference


@attrs.frozen
class _CopyVariable:
    """A variable declared by a copy loop of the ``variables`` section."""

    loop: dict


@attrs.frozen
class Supplied:
    """A parameter value given from outside the template, and who gave it."""

    value: Any
    origin: str


# -- values returned by reference() ---------------------------------------------------------------


class _Referenced(AnyCase):
    """Properties returned by reference(): reading one that exists only after deployment (an
    address Azure assigns, a runtime state) is Unresolvable rather than a template error;
    reading a derived value notes a warning."""

    __slots__ = ("template", "what")

    def __init__(self, data: dict, what: str, template: ArmTemplate) -> None:
        super().__init__(data)
        self.what = what
        self.template = template

    def __getitem__(self, key: Any) -> Any:
        return _read(super().__getitem__(key), f"{self.what}.{key}", self.template)

    def missing(self, key: Any) -> Unresolvable:
        return Unresolvable(f"{self.what}.{key} is known only after deployment")


class _ReferencedList(list):
    def __init__(self, data: list, what: str, template: ArmTemplate) -> None:
        super().__init__(data)
        self.what = what
        self.template = template

    def __getitem__(self, index: Any) -> Any:
        return _read(super().__getitem__(index), f"{self.what}[{index}]", self.template)

    def missing(self, index: Any) -> Unresolvable:
        return Unresolvable(f"{self.what}[{index}] is known only after deployment")


def _read(value: Any, what: str, template: ArmTemplate) -> Any:
    """A value read out of reference(): derived values are noted, failures re-raised."""
    if isinstance(value, _Derived):
        template.note_derived(what, value)
        return value.value
    if isinstance(value, Failed):
        raise value.error
    return _wrap(value, what, template)


def _wrap(value: Any, what: str, template: ArmTemplate) -> Any:
    if isinstance(value, dict) and not isinstance(value, _Referenced):
        return _Referenced(value, what, template)
    if isinstance(value, list) and not isinstance(value, _ReferencedList):
        return _ReferencedList(value, what, template)
    return value


# -- resource IDs ----------------------------------------------------------------------------------


def resource_id(
    *args: Any, subscription: str = SUBSCRIPTION_ID, group: str = RESOURCE_GROUP
) -> str:
    """resourceId([subscriptionId], [resourceGroupName], type, name1, [name2...])."""
    args = [to_string(a) for a in args]
    position = next((i for i, a in enumerate(args) if "/" in a and "." in a.split("/")[0]), None)
    if position is None:
        raise ExpressionError(
            f"resourceId: no resource type like 'Microsoft.Network/...' in {args}"
        )
    before, kind, names = args[:position], args[position].rstrip("/"), args[position + 1 :]
    subscription = before[0] if len(before) == 2 else subscription
    group = before[-1] if before else group
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


# -- small helpers ---------------------------------------------------------------------------


def copy_count(value: Any) -> int:
    """A copy loop's count: a whole number from 0 to MAX_COPY_COUNT (ExpressionError if not)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExpressionError(f"copy count must be a whole number, got {value!r}")
    if not 0 <= value <= MAX_COPY_COUNT:
        raise ExpressionError(
            f"copy count must be from 0 to {MAX_COPY_COUNT} (Azure's limit per copy loop), "
            f"got {value}"
        )
    return value


def _escape(value: Any) -> Any:
    """A value computed by an outer evaluation pass, protected from being read as an
    expression by the next pass: strings starting with '[' get the '[[' escape."""
    if isinstance(value, str) and value.startswith("["):
        return "[" + value
    if isinstance(value, list):
        return [_escape(item) for item in value]
    if isinstance(value, dict):
        return AnyCase((key, _escape(item)) for key, item in value.items())
    return value


def _first_failure(value: Any) -> Failed | None:
    """The first Failed marker inside a value, if any."""
    if isinstance(value, Failed):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        failed = _first_failure(item)
        if failed is not None:
            return failed
    return None


def _first_usable(prefix: Any) -> str | None:
    """The first address Azure hands out in a subnet (.4: the first four are reserved)."""
    try:
        net = parse_prefix(str(prefix))
    except AddressError:
        return None
    return str(IPv4Address(int(net.network_address) + 4)) if net.num_addresses > 5 else None


def _nullable(spec: dict) -> bool:
    """A parameter declared ``"nullable": true`` (Bicep's ``type?``)."""
    return spec.get("nullable") is True


def _optional(spec: dict) -> bool:
    """A parameter for which a null value means 'not given': it has a default, or it is
    nullable (Azure then uses the default, or null)."""
    return "defaultValue" in spec or _nullable(spec)


def supplied_from_file(values: Any, origin: str) -> dict[str, Supplied]:
    """Parameter values of a parameters file (or a deployment's ``parameters``):
    ``{name: {"value": v}}``; a Key Vault ``reference`` is known only to Azure."""
    out: dict[str, Supplied] = {}
    if not isinstance(values, dict):
        return out
    for name, entry in values.items():
        if isinstance(entry, dict) and "value" in entry:
            out[str(name)] = Supplied(entry["value"], origin)
        elif isinstance(entry, dict) and "reference" in entry:
            out[str(name)] = Supplied(_KEY_VAULT, origin)
        else:
            problem = ExpressionError(f"{origin} gives parameter {name} without a 'value'")
            out[str(name)] = Supplied(Failed(problem), origin)
    return out


@attrs.define
class _Load:
    """What every template of one load shares: findings, templates and limits."""

    source: str
    location: str
    findings: list[Finding] = attrs.field(factory=list)
    templates: list[ArmTemplate] = attrs.field(factory=list)
    iterations: int = 0
    instances: int = 0
    derived: set[tuple[str, str]] = attrs.field(factory=set)
    budget: Budget = attrs.field(factory=Budget)
    group_read: bool = False  # resourceGroup() was asked for (its location is assumed)
    # Evaluating a secret (SECRETS): a secure parameter with no value stands for the one the
    # deployment supplies (ArmTemplate.parameter), and nothing evaluated meanwhile is cached.
    reading_secret: bool = False

    def spend_iterations(self, count: int) -> None:
        self.iterations += count
        if self.iterations > MAX_COPY_ITERATIONS:
            raise ExpressionError(
                f"copy loops of this load would expand to more than {MAX_COPY_ITERATIONS:,} "
                "instances; vnetsim stops there"
            )


class ArmTemplate:
    """One template with its parameter values, evaluated lazily with cycle detection."""

    def __init__(
        self,
        template: dict,
        supplied: dict[str, Supplied],
        load: _Load,
        *,
        prefix: str = "",
        depth: int = 0,
        name: str = "vnetsim",
        resource_group: str = RESOURCE_GROUP,
        subscription: str = SUBSCRIPTION_ID,
        how_to_pass: str = HOW_TO_PASS,
    ) -> None:
        self.template = template
        self.load = load
        self.source = load.source
        self.location = load.location
        self.prefix = prefix  # JSON path of this template inside the file
        self.depth = depth
        self.name = name
        self.resource_group = resource_group
        self.subscription = subscription
        self.how_to_pass = how_to_pass
        self._supplied = {k.lower(): v for k, v in supplied.items()}
        self._supplied_names = {k.lower(): k for k in supplied}
        declared = template.get("parameters") or {}
        self._parameter_specs = {k.lower(): v for k, v in declared.items()}
        self._parameter_names = {k.lower(): k for k in declared}
        self._variable_specs = self._variables_of(template.get("variables") or {})
        self._parameters: dict[str, Any] = {}
        self._variables: dict[str, Any] = {}
        self._evaluating: list[str] = []
        self._functions = self._template_functions()
        self.resources: list[tuple[str, dict, dict, tuple[str, str] | None]] = []
        self._evaluated: dict[int, AzureResource | None] = {}
        self._nested: dict[int, ArmTemplate] = {}
        self._symbols: dict[str, int] = {}  # languageVersion 2.0 symbolic name -> resource
        self._current: str = prefix or "template"
        self.inner = True  # evaluated in its own scope (the root, or an 'inner' nested one)

    @staticmethod
    def _variables_of(section: dict) -> dict[str, Any]:
        """Variable declarations by lowercased name; ``"copy": [...]`` declares loops."""
        specs: dict[str, Any] = {}
        for key, value in section.items():
            if key.lower() == "copy" and isinstance(value, list):
                for loop in value:
                    if isinstance(loop, dict) and isinstance(loop.get("name"), str):
                        specs[loop["name"].lower()] = _CopyVariable(loop)
                continue
            specs[key.lower()] = value
        return specs

    # -- scope -------------------------------------------------------------------------------

    def _template_functions(self) -> dict[str, Callable[..., Any]]:
        group_id = f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
        return {
            "parameters": self.parameter,
            "variables": self.variable,
            "resourceid": lambda *a: resource_id(
                *a, subscription=self.subscription, group=self.resource_group
            ),
            "subscriptionresourceid": lambda *a: resource_id(
                self.subscription, self.resource_group, *a
            ).replace(f"/resourceGroups/{self.resource_group}", ""),
            "resourcegroup": lambda: self._resource_group(group_id),
            "subscription": lambda: {
                "id": f"/subscriptions/{self.subscription}",
                "subscriptionId": self.subscription,
                "tenantId": SUBSCRIPTION_ID,
                "displayName": "vnetsim",
            },
            "tenant": lambda: {"tenantId": SUBSCRIPTION_ID, "displayName": "vnetsim"},
            "deployment": lambda: {"name": self.name, "properties": {}},
            "reference": self.reference,
            "listkeys": self._runtime("listKeys"),
            "environment": lambda: {"name": "AzureCloud", "suffixes": {}},
            "uniquestring": lambda *parts: unique_string(*map(to_string, parts)),
            **self._user_functions(),
        }

    def _resource_group(self, group_id: str) -> dict:
        """resourceGroup(): its location is the load's (``DEFAULT_LOCATION`` unless given),
        an assumption ``load_arm`` reports when it mixes with other regions."""
        self.load.group_read = True
        return {
            "id": group_id,
            "name": self.resource_group,
            "type": "Microsoft.Resources/resourceGroups",
            "location": self.location,
            "properties": {"provisioningState": "Succeeded"},
        }

    def _user_functions(self) -> dict[str, Callable[..., Any]]:
        """The template's ``functions`` (user-defined, and Bicep's ``func``, compiled into
        the ``__bicep`` namespace): ``namespace.member(...)`` evaluates the member's ``output``
        with ``parameters()`` naming its arguments; a function sees no template parameters
        or variables, as in Azure."""
        found: dict[str, Callable[..., Any]] = {}
        namespaces = self.template.get("functions")
        for namespace in namespaces if isinstance(namespaces, list) else ():
            if not isinstance(namespace, dict) or not isinstance(namespace.get("namespace"), str):
                continue
            members = namespace.get("members")
            for member, spec in (members if isinstance(members, dict) else {}).items():
                if isinstance(spec, dict):
                    name = f"{namespace['namespace']}.{member}"
                    found[name.lower()] = self._user_function(name, spec)
        return found

    def _user_function(self, name: str, spec: dict) -> Callable[..., Any]:
        """One user-defined function; a declaration of the wrong shape fails when called,
        as an expression error naming it."""
        parameters = spec.get("parameters")
        listed = parameters if isinstance(parameters, list) else ()
        declared = [p.get("name") for p in listed if isinstance(p, dict)]
        output = spec.get("output")
        if not isinstance(output, dict) or "value" not in output:

            def broken(*_: Any) -> Any:
                raise ExpressionError(f"{name}(): its declaration has no output value")

            return broken
        output = output["value"]

        def call(*args: Any) -> Any:
            if len(args) != len(declared):
                raise ExpressionError(f"{name}() takes {len(declared)} argument(s)")
            bound = {str(key).lower(): value for key, value in zip(declared, args, strict=True)}

            def parameter(key: Any) -> Any:
                if str(key).lower() not in bound:
                    raise ExpressionError(f"{name}(): it has no parameter {key!r}")
                return bound[str(key).lower()]

            def no_variables(key: Any) -> Any:
                raise ExpressionError(f"{name}(): a function cannot read variables('{key}')")

            functions = {**self._functions, "parameters": parameter, "variables": no_variables}
            return Scope(functions, self.load.budget).resolve(output)

        return call

    def scope(self, copy_indexes: dict[str | None, int] | None = None) -> Scope:
        scope = Scope(self._functions, self.load.budget)
        scope.copy_indexes = dict(copy_indexes or {})
        return scope

    @staticmethod
    def _runtime(name: str) -> Callable[..., Any]:
        def unknown(*_: Any) -> Any:
            raise Unresolvable(f"{name}() returns secrets known only to Azure")

        return unknown

    # -- parameters and variables ----------------------------------------------------------------

    def parameter(self, name: Any) -> Any:
        key = str(name).lower()
        if key in self._parameters:
            return self._parameters[key]
        spec = self._parameter_specs.get(key)
        if spec is None:
            raise ExpressionError(f"parameters('{name}'): the template declares no such parameter")
        if not isinstance(spec, dict):
            raise ExpressionError(f"parameter {name}: its declaration is not an object")
        name = self._parameter_names[key]
        supplied = self._supplied.get(key)
        if supplied is not None and supplied.value is None and _optional(spec):
            supplied = None  # null given: the default (or null itself) applies, as in Azure
        if supplied is not None and supplied.value is _KEY_VAULT and self.load.reading_secret:
            return self._stand_in(name, "comes from Key Vault")
        if supplied is not None:
            value = self._supplied_value(name, spec, supplied)
        elif "defaultValue" in spec:
            value = self._guarded(
                f"parameter {name}", lambda: self.scope().resolve(spec["defaultValue"])
            )
        elif _nullable(spec):
            value = None  # languageVersion 2.0: an unset nullable parameter is null
        elif self.load.reading_secret and str(spec.get("type", "")).lower() == "securestring":
            return self._stand_in(name, "is a secure parameter with no value here")
        else:
            raise MissingParameterError(
                f"parameter '{name}' has no value and no defaultValue: "
                + self.how_to_pass.format(name=name)
            )
        if not self.load.reading_secret:  # a value read for a secret may hold a stand-in
            self._parameters[key] = value
        return value

    def _stand_in(self, name: str, how: str) -> str:
        """A secret's stand-in (SECRETS): the value the deployment will supply for parameter
        ``name``, which ``how`` says is not known here. It names the parameter, so two secrets
        from one parameter are equal (a VNet-to-VNet pair's key) and from two are not."""
        self.note(
            warning(
                "ArmSecretAssumed",
                f"{self.source}: {self._current}: parameter '{name}' {how}; vnetsim takes it as "
                "the value the deployment supplies, the same wherever that parameter supplies "
                "it, so two connections keyed from it share one key (give it with "
                f"--parameter {name}=VALUE to check the key itself)",
                self._current,
            )
        )
        return f"<secret from parameter {name}>"

    @staticmethod
    def _supplied_value(name: str, spec: dict, supplied: Supplied) -> Any:
        value = supplied.value
        if value is _KEY_VAULT:
            raise Unresolvable(f"parameter {name} comes from Key Vault")
        if value is None:  # neither nullable nor with a default (those take null as unset)
            raise InvalidParameterError(
                f"InvalidTemplate: parameter '{name}' is given null by {supplied.origin}, but it "
                "is neither nullable nor has a defaultValue; Azure rejects this: give a value"
            )
        failed = _first_failure(value)
        if failed is not None:
            raise failed.error
        declared = str(spec.get("type", "")).lower()
        if declared == "bool" and not isinstance(value, bool):
            actual = "String" if isinstance(value, str) else type(value).__name__
            raise InvalidParameterError(
                f"InvalidTemplate: parameter '{name}' is declared bool but {supplied.origin} "
                f"gives {value!r}; Azure rejects this ('Template parameter JToken type is not "
                f"valid. Expected 'Boolean'. Actual '{actual}'.'); give true or false without "
                "quotes"
            )
        return value

    def variable(self, name: Any) -> Any:
        key = str(name).lower()
        if key in self._variables:
            return self._variables[key]
        if key not in self._variable_specs:
            raise ExpressionError(f"variables('{name}'): the template declares no such variable")
        spec = self._variable_specs[key]
        if isinstance(spec, _CopyVariable):  # "variables": {"copy": [{name, count, input}]}
            loop = AnyCase({"copy": [spec.loop]})
            value = self._guarded(
                f"variable {name}",
                lambda: self._resolve_with_copies(loop, self.scope())[spec.loop["name"]],
            )
        else:
            value = self._guarded(
                f"variable {name}", lambda: self._resolve_with_copies(spec, self.scope())
            )
        if not self.load.reading_secret:  # a value read for a secret may hold a stand-in
            self._variables[key] = value
        return value

    def _guarded(self, what: str, work: Callable[[], Any]) -> Any:
        if what in self._evaluating:
            raise ExpressionError(f"{what} refers to itself")
        if len(self._evaluating) >= MAX_VARIABLE_DEPTH:
            raise ExpressionError(
                f"{what}: more than {MAX_VARIABLE_DEPTH} variables or parameters refer to each "
                "other in a chain; vnetsim stops there"
            )
        self._evaluating.append(what)
        try:
            return work()
        except (TypeError, AttributeError, KeyError, ValueError) as problem:
            if isinstance(problem, ExpressionError):
                raise
            raise ExpressionError(f"{what}: unexpected shape ({problem})") from None
        finally:
            self._evaluating.remove(what)

    def check_parameters(self) -> None:
        """Findings for supplied values the template does not declare (Azure refuses them),
        and for each declared parameter whose value cannot be had."""
        unknown = [
            self._supplied_names[k] for k in self._supplied if k not in self._parameter_specs
        ]
        if unknown:
            origins = " and ".join(sorted({self._supplied[k.lower()].origin for k in unknown}))
            declared = ", ".join(self._parameter_names.values()) or "none"
            self.note(
                error(
                    "InvalidTemplate",
                    f"{self.source}: {self.prefix}parameters: {origins} give(s) a value for "
                    f"{', '.join(unknown)}, which the template does not declare; Azure rejects "
                    "the deployment (InvalidTemplate: 'not present in the original template'). "
                    f"Remove it, or declare it. Declared: {declared}",
                    *unknown,
                )
            )
        for key, name in self._parameter_names.items():
            self._check_parameter(key, name)

    def _check_parameter(self, key: str, name: str) -> None:
        where = f"{self.source}: {self.prefix}parameters.{name}"
        try:
            self.parameter(key)
        except InvalidParameterError as problem:
            self.note(error("InvalidTemplate", f"{where}: {problem}", name))
        except MissingParameterError as problem:
            # A warning here: it is an error where a modelled resource needs the value.
            self.note(warning("ArmMissingParameter", f"{where}: {problem}", name))
        except Unresolvable as problem:
            self.note(warning("ArmValueUnresolved", f"{where}: {problem}", name))
        except ExpressionError as problem:
            self.note(warning("ArmMissingParameter", f"{where}: {problem}", name))

    # -- copy loops ------------------------------------------------------------------------------

    def _loop(self, loop: Any, scope: Scope) -> tuple[str, int]:
        """A copy loop's name and checked count (ExpressionError when either is wrong)."""
        if not isinstance(loop, dict) or not isinstance(loop.get("name"), str):
            raise ExpressionError("a copy loop needs a 'name' and a 'count'")
        count = copy_count(scope.resolve(loop.get("count", 0)))
        self.load.spend_iterations(count)
        return loop["name"], count

    def _resolve_with_copies(self, value: Any, scope: Scope) -> Any:
        """Resolve a value, expanding property copy loops (``"copy": [{name, count, input}]``)."""
        if isinstance(value, dict):
            result = AnyCase()
            for key, item in value.items():
                if key.lower() == "copy" and isinstance(item, list):
                    for loop in item:
                        name, count = self._loop(loop, scope)
                        result[name] = [
                            self._resolve_with_copies(
                                loop.get("input"), self.scope({**scope.copy_indexes, name: i})
                            )
                            for i in range(count)
                        ]
                    continue
                result[key] = self._resolve_with_copies(item, scope)
            return result
        if isinstance(value, list):
            return [self._resolve_with_copies(item, scope) for item in value]
        return scope.resolve(value)

    # -- resources ---------------------------------------------------------------------------

    def collect(self) -> None:
        """Expand copy loops, child resources and nested deployments into a flat list."""
        try:
            self._collect(self.template.get("resources") or [], f"{self.prefix}resources", None, {})
        except _TooMany:
            raise
        except (TypeError, AttributeError, KeyError, ValueError) as problem:
            self.note(
                error(
                    "ImportInvalidTemplate",
                    f"{self.source}: {self.prefix}resources: unexpected shape ({problem})",
                    f"{self.prefix}resources",
                )
            )

    def _collect(self, raws: Any, path: str, parent: tuple[str, str] | None, copies: dict) -> None:
        symbols: list[str | None] = []
        if isinstance(raws, dict):  # languageVersion 2.0 symbolic names
            symbols = [str(symbol) for symbol in raws]
            raws = list(raws.values())
        if not isinstance(raws, list):
            self.note(error("ImportInvalidTemplate", f"{self.source}: {path} is not a list", path))
            return
        for i, raw in enumerate(raws):
            where = f"{path}[{i}]"
            if symbols and isinstance(raw, dict) and not isinstance(raw.get("copy"), dict):
                # reference('symbol') names the resource by its symbolic name
                self._symbols[symbols[i].lower()] = len(self.resources)
            if not isinstance(raw, dict):
                self.note(
                    error("ImportInvalidResource", f"{self.source}: {where} is not an object")
                )
                continue
            loop = raw.get("copy")
            if not isinstance(loop, dict):
                self._instance(raw, where, parent, copies)
                continue
            try:
                name, count = self._loop(loop, self.scope(copies))
            except ExpressionError as problem:
                self._expression_finding(f"{where}.copy", problem)
                continue
            for index in range(count):
                self._instance(
                    raw, f"{where}<{name}={index}>", parent, {**copies, name: index, None: index}
                )

    def _instance(self, raw: dict, where: str, parent, copies: dict) -> None:
        self.load.instances += 1
        if self.load.instances > MAX_RESOURCES:
            self.note(
                error(
                    "ImportTooLarge",
                    f"{self.source}: {where}: the template expands to more than "
                    f"{MAX_RESOURCES:,} resource instances; vnetsim stops reading here",
                    where,
                )
            )
            raise _TooMany
        self.resources.append((where, raw, copies, parent))
        index = len(self.resources) - 1
        children = raw.get("resources")
        kind = raw.get("type")
        if children or (isinstance(kind, str) and kind.lower() == DEPLOYMENTS):
            resource = self.evaluate(index)
            if resource is None:
                return
            if resource.type.lower() == DEPLOYMENTS:
                self._nest(index, resource)
            if children:
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
            if "condition" in raw and not truth(
                scope.resolve(raw["condition"]), "the resource's condition"
            ):
                return None
            kind = str(scope.resolve(raw.get("type", "")))
            if parent is not None and "/" not in kind:  # type given relative to the parent
                kind = f"{parent[0]}/{kind}"
            name = self._name(raw, scope, kind)
            if parent is not None and name.count("/") + 1 < kind.count("/"):
                name = f"{parent[1]}/{name}"  # name given relative to the parent
        except ExpressionError as problem:
            self._expression_finding(where, problem)
            return None
        lowered = kind.lower()
        if lowered in MODELLED:
            properties: Any = self._modelled_properties(
                raw.get("properties") or {},
                scope,
                f"{where}.properties",
                UNREAD.get(lowered),
                SECRETS.get(lowered, frozenset()),
            )
        elif lowered == DEPLOYMENTS:
            properties = AnyCase()  # its template is evaluated as a template of its own
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
            self._resource_id(kind, name),
        )
        self._evaluated[index] = resource
        return resource

    def _modelled_properties(
        self,
        raw: Any,
        scope: Scope,
        where: str,
        unread: re.Pattern[str] | None,
        secrets: frozenset[str],
    ) -> Any:
        """A modelled resource's properties, evaluated with findings, except about the paths
        the importer never reads (``UNREAD``): a value that fails there is simply absent. The
        ``secrets`` among them are read with ``reading_secret`` on (see ``parameter``)."""
        kept = len(self.load.findings)
        if secrets and isinstance(raw, dict):
            plain = {key: value for key, value in raw.items() if key.lower() not in secrets}
            properties = self._resolve_tolerant(plain, scope, where)
            for key, value in raw.items():
                if key.lower() in secrets:
                    self.load.reading_secret = True
                    try:
                        resolved = self._resolve_tolerant(value, scope, f"{where}.{key}")
                    finally:
                        self.load.reading_secret = False
                    if resolved is not _DROPPED:
                        properties[key] = resolved
        else:
            properties = self._resolve_tolerant(raw, scope, where)
        if unread is not None:
            under = f"{where}."  # a finding's path under the properties starts so
            self.load.findings[kept:] = [
                finding
                for finding in self.load.findings[kept:]
                if not any(
                    path.startswith(under) and unread.match(path[len(under) :].lower())
                    for path in finding.resources
                )
            ]
        return properties

    def _resource_id(self, kind: str, name: str) -> str | None:
        """The resource's ID when this template deploys into a subscription the input names (a
        nested deployment's ``subscriptionId``); None in the deployment's own, which only
        Azure knows (``SUBSCRIPTION_ID`` stands in for it)."""
        if self.subscription == SUBSCRIPTION_ID:
            return None
        try:
            return resource_id(self.subscription, self.resource_group, kind, *name.split("/"))
        except ExpressionError:
            return None  # a type or name of the wrong shape: reported when it is read

    @staticmethod
    def _name(raw: dict, scope: Scope, kind: str) -> str:
        try:
            return to_string(scope.resolve(raw.get("name", "")))
        except ExpressionError:
            if kind.lower() in MODELLED or kind.lower() == DEPLOYMENTS:
                raise
            return str(raw.get("name", ""))  # reported as not modelled, under its raw name

    def is_existing(self, index: int) -> bool:
        """True for a resource declared ``existing`` (languageVersion 2.0): only referenced."""
        return self.resources[index][1].get("existing") is True

    def deployed(self) -> list[AzureResource]:
        """The resources this template deploys (not nested deployments, not existing ones)."""
        out = []
        for index in range(len(self.resources)):
            resource = self.evaluate(index)
            if resource is None or self.is_existing(index):
                continue
            if resource.type.lower() != DEPLOYMENTS:
                out.append(resource)
        return out

    # -- nested deployments ----------------------------------------------------------------------

    def _nest(self, index: int, resource: AzureResource) -> None:
        """Evaluate the inline template of a Microsoft.Resources/deployments resource: its
        parameters in this template's scope; its template in its own scope ('inner') or,
        by default ('outer'), first in this one (as Azure does, so ``[[`` escapes defer an
        expression to the nested deployment)."""
        where, raw, copies, _ = self.resources[index]
        template = self._inline_template(raw, resource, where)
        if template is None:
            return
        nested = self._nested_template(resource, raw, template, where, copies)
        if nested is None:
            return
        self._nested[index] = nested
        self.load.templates.append(nested)
        if nested.inner:
            nested.check_parameters()
        nested.collect()

    def _inline_template(self, raw: dict, resource: AzureResource, where: str) -> dict | None:
        """The deployment's inline template; None (with a finding) when it links one, has
        none, or nests too deep."""
        properties = raw.get("properties")
        template = properties.get("template") if isinstance(properties, dict) else None
        if self.depth + 1 > MAX_NESTING:
            self.note(
                error(
                    "ImportTooDeep",
                    f"{self.source}: {where}: deployments nested more than {MAX_NESTING} deep; "
                    "vnetsim stops here",
                    resource.name,
                )
            )
            return None
        if isinstance(template, dict):
            return template
        link = properties.get("templateLink") if isinstance(properties, dict) else None
        uri = (link.get("uri") or link.get("relativePath")) if isinstance(link, dict) else None
        self.note(
            warning(
                "ArmLinkedTemplate",
                f"{self.source}: {where}: deployment {resource.name!r} carries no inline "
                f"template (templateLink: {uri or 'none'}); vnetsim reads no URLs, so its "
                "resources are left out. Put the template inline (properties.template) or "
                "load it on its own",
                resource.name,
            )
        )
        return None

    def _nested_template(
        self, resource: AzureResource, raw: dict, template: dict, where: str, copies: dict
    ) -> ArmTemplate | None:
        properties = raw.get("properties")
        scope = self.scope(copies)
        options = properties.get("expressionEvaluationOptions") or {}
        inner = isinstance(options, dict) and str(options.get("scope", "")).lower() == "inner"
        values = self._pass_one(properties.get("parameters") or {}, scope, escape=False)
        body = template if inner else self._pass_one(template, scope, escape=True)
        problem = shape_problem(body)
        if problem is not None:
            path = f"{where}.properties.template"
            self.note(error("ImportInvalidTemplate", f"{self.source}: {path}: {problem}", path))
            return None
        group, subscription = self.resource_group, self.subscription
        if inner:
            group = self._target(raw.get("resourceGroup"), scope, group)
            subscription = self._target(raw.get("subscriptionId"), scope, subscription)
        nested = ArmTemplate(
            body,
            supplied_from_file(values, f"deployment {resource.name!r} (properties.parameters)"),
            self.load,
            prefix=f"{where}.properties.template.",
            depth=self.depth + 1,
            name=resource.name,
            resource_group=group,
            subscription=subscription,
            how_to_pass=f"pass it in properties.parameters of deployment {resource.name!r} "
            f"({where})",
        )
        nested.inner = inner
        return nested

    @staticmethod
    def _target(value: Any, scope: Scope, default: str) -> str:
        if value is None:
            return default
        try:
            resolved = scope.resolve(value)
        except ExpressionError:
            return default
        return resolved if isinstance(resolved, str) and resolved else default

    def _pass_one(self, value: Any, scope: Scope, *, escape: bool) -> Any:
        """Evaluate every expression of a value in this scope, keeping failures as Failed
        markers (raised where the value is used) and, with ``escape``, protecting results
        from a second evaluation."""
        if isinstance(value, str):
            if not is_expression(value):
                return value[1:] if value.startswith("[[") else value
            try:
                result = scope.resolve(value)
            except ExpressionError as problem:
                return Failed(problem)
            return _escape(result) if escape else result
        if isinstance(value, list):
            return [self._pass_one(item, scope, escape=escape) for item in value]
        if isinstance(value, dict):
            return AnyCase(
                (key, self._pass_one(item, scope, escape=escape)) for key, item in value.items()
            )
        return value

    def outputs(self) -> dict[str, Any]:
        """This template's outputs as reference(deployment).outputs gives them."""
        out = AnyCase()
        for name, spec in (self.template.get("outputs") or {}).items():
            if not isinstance(spec, dict):
                continue
            try:
                value = self._resolve_with_copies(spec.get("value"), self.scope())
            except ExpressionError as problem:
                value = Failed(problem)
            out[name] = AnyCase({"type": spec.get("type"), "value": value})
        return out

    # -- tolerant resolution -----------------------------------------------------------------

    def _resolve_tolerant(self, value: Any, scope: Scope, where: str) -> Any:
        """Resolve a value; an item whose expression fails is dropped, with a finding."""
        if isinstance(value, dict):
            copies: dict = {}
            loops = value.get("copy")
            if isinstance(loops, list):
                try:  # property copy loops: already resolved, merged after the other keys
                    copies = self._resolve_with_copies(AnyCase({"copy": loops}), scope)
                except (ExpressionError, TypeError, AttributeError, KeyError) as problem:
                    if not isinstance(problem, ExpressionError):
                        problem = ExpressionError(f"copy loop of unexpected shape ({problem})")
                    self._expression_finding(f"{where}.copy", problem)
                value = {k: v for k, v in value.items() if k.lower() != "copy"}
            out = AnyCase()
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
            self._current = where
            return scope.resolve(value)
        except ExpressionError as problem:
            self._expression_finding(where, problem)
            return _DROPPED

    def quietly(self, value: Any, scope: Scope, where: str) -> Any:
        """Resolve without reporting: failed values are simply absent."""
        kept = len(self.load.findings)
        try:
            return self._resolve_tolerant(value, scope, where)
        finally:
            del self.load.findings[kept:]

    # -- reference() -------------------------------------------------------------------------

    def reference(self, target: Any, _api: Any = None, full: Any = None) -> Any:
        """reference(): the properties of a resource of this load (evaluated); 'Full' gives
        the whole resource; a deployment gives its outputs."""
        text = to_string(target)
        parsed = _type_and_name(text) if "/" in text and "providers" in text else None
        for template in (self, *[t for t in self.load.templates if t is not self]):
            found = template._find(text, parsed)
            if found is not None:
                what = f"reference({found[1]})"
                properties = _wrap(found[0], what, self)
                if str(full).lower() == "full":
                    return _wrap(AnyCase({"properties": properties}), what, self)
                return properties
        raise Unresolvable(f"reference({text}): the resource is not defined in this template")

    def _find(self, text: str, parsed: tuple[str, str] | None) -> tuple[Any, str] | None:
        """(properties, name) of the resource ``text`` (a resource ID, a name or a symbolic
        name) names."""
        symbol = self._symbols.get(text.lower()) if parsed is None else None
        if symbol is not None:
            resource = self.evaluate(symbol)
            if resource is not None:
                return self._view(symbol, resource), resource.name
        for index in range(len(self.resources)):
            resource = self.evaluate(index)
            if resource is None:
                continue
            kind, name = resource.type.lower(), resource.name.lower()
            if parsed is None:
                if name == text.lower():
                    return self._view(index, resource), resource.name
                continue
            wanted_kind, wanted = parsed[0].lower(), parsed[1].lower()
            if kind == wanted_kind and name == wanted:
                return self._view(index, resource), resource.name
            if wanted_kind == SUBNET and kind == VNET and name == wanted.partition("/")[0]:
                for item in resource.properties.get("subnets") or ():
                    if str(item.get("name")).lower() == wanted.partition("/")[2]:
                        return item.get("properties") or AnyCase(), parsed[1]
        return None

    def _view(self, index: int, resource: AzureResource) -> Any:
        """What reference() sees of a resource: its properties, a deployment's outputs, and
        for a firewall the private IP vnetsim derives."""
        if resource.type.lower() == DEPLOYMENTS:
            nested = self._nested.get(index)
            return AnyCase({"outputs": nested.outputs() if nested else AnyCase()})
        properties = _materialise(resource.properties)
        if resource.type.lower() == FIREWALL:
            return self._firewall_view(properties)
        return properties

    def _firewall_view(self, properties: Any) -> Any:
        """The firewall's properties with each ipConfiguration's read-only privateIPAddress
        set to the first usable address of its AzureFirewallSubnet (the N11.5 decision)."""
        configs = properties.get("ipConfigurations")
        if not isinstance(configs, list):
            return properties
        view = AnyCase(properties)
        view["ipConfigurations"] = [self._derive_config(c) for c in configs]
        return view

    def _derive_config(self, config: Any) -> Any:
        inner = config.get("properties") if isinstance(config, dict) else None
        if not isinstance(inner, dict) or inner.get("privateIPAddress"):
            return config
        subnet_id = ref_id(inner.get("subnet"))
        vnet = name_from_id(subnet_id, "virtualNetworks")
        subnet = name_from_id(subnet_id, "subnets")
        if vnet is None or subnet is None or subnet.lower() != FIREWALL_SUBNET.lower():
            return config
        prefix = self.load_subnet_prefix(vnet, subnet)
        address = _first_usable(prefix)
        if address is None:
            return config
        note = (
            f"the first usable address of {vnet}/{FIREWALL_SUBNET} ({prefix}); no document "
            "guarantees it and a stop/start may change it (N11.5)"
        )
        derived = AnyCase(inner)
        derived["privateIPAddress"] = _Derived(address, note)
        out = AnyCase(config)
        out["properties"] = derived
        return out

    def load_subnet_prefix(self, vnet: str, subnet: str) -> Any:
        """The address prefix of subnet ``vnet/subnet`` as any template of the load declares."""
        for template in self.load.templates:
            for index in range(len(template.resources)):
                resource = template.evaluate(index)
                if resource is None:
                    continue
                prefix = _declared_prefix(resource, vnet, subnet)
                if prefix is not None:
                    return prefix
        return None

    # -- findings ----------------------------------------------------------------------------

    def note(self, finding: Finding) -> None:
        self.load.findings.append(finding)

    def note_derived(self, what: str, value: _Derived) -> None:
        key = (self._current, what)
        if key in self.load.derived:
            return
        self.load.derived.add(key)
        self.note(
            warning(
                "ArmValueDerived",
                f"{self.source}: {self._current}: {what} is read-only and assigned by Azure; "
                f"vnetsim uses {value.value}, {value.note}",
                self._current,
            )
        )

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


def _declared_prefix(resource: AzureResource, vnet: str, subnet: str) -> Any:
    """The prefix of ``vnet/subnet`` if ``resource`` declares it (inline or as a child)."""
    kind, name = resource.type.lower(), resource.name.lower()
    properties = resource.properties if isinstance(resource.properties, dict) else {}
    if kind == VNET and name == vnet.lower():
        for item in properties.get("subnets") or ():
            if isinstance(item, dict) and str(item.get("name")).lower() == subnet.lower():
                return (item.get("properties") or {}).get("addressPrefix")
    if kind == SUBNET and name == f"{vnet}/{subnet}".lower():
        return properties.get("addressPrefix")
    return None


class _LazyProperties:
    """The unevaluated properties of a resource type vnetsim does not model."""

    def __init__(self, template: ArmTemplate, raw: dict, scope: Scope, where: str) -> None:
        self.template, self.raw, self.scope, self.where = template, raw, scope, where
        self._value: dict | None = None

    def get(self) -> dict:
        if self._value is None:
            self._value = self.template.quietly(self.raw, self.scope, f"{self.where}.properties")
        return self._value


def _materialise(properties: Any) -> Any:
    return properties.get() if isinstance(properties, _LazyProperties) else properties


def _supplied(parameters: Any, parameter_values: dict[str, Any] | None) -> dict[str, Supplied]:
    """Parameter values from a parameters file's content, then inline values (later wins)."""
    values = parameters.get("parameters", parameters) if isinstance(parameters, dict) else {}
    supplied = supplied_from_file(values, "the parameters file")
    by_key = {k.lower(): k for k in supplied}
    for name, value in (parameter_values or {}).items():
        supplied.pop(by_key.get(str(name).lower(), ""), None)
        supplied[str(name)] = Supplied(value, f"the inline value of {name} (--parameter)")
    return supplied


def shape_problem(template: Any) -> str | None:
    """What is wrong with the top-level sections of a template, if anything."""
    if not isinstance(template, dict):
        return "the template is not an object"
    expected = {"parameters": dict, "variables": dict, "resources": (list, dict), "outputs": dict}
    for key, kind in expected.items():
        if key in template and not isinstance(template[key], kind):
            return f"the template's '{key}' has the wrong shape"
    return None


def load_arm(
    template: dict,
    parameters: dict | None,
    source: str,
    location: str = DEFAULT_LOCATION,
    *,
    parameter_values: dict[str, Any] | None = None,
) -> tuple[Fabric, list[Finding]]:
    """Evaluate a template (with a parameters file's content and inline parameter values)
    into a Fabric and findings."""
    template = any_case(template)
    problem = shape_problem(template)
    if problem is not None:
        return Fabric(), [error("ImportInvalidTemplate", f"{source}: {problem}")]
    load = _Load(source, location)
    root = ArmTemplate(template, _supplied(any_case(parameters), parameter_values), load)
    load.templates.append(root)
    try:
        root.check_parameters()
        root.collect()
        resources = [r for t in load.templates for r in t.deployed()]
    except _TooMany:
        resources = [r for t in load.templates for r in t.deployed()]
    except RecursionError:
        load.findings.append(
            error(
                "ImportTooDeep",
                f"{source}: the template nests expressions, variables or deployments too deeply "
                "to evaluate; simplify it",
            )
        )
        return Fabric(), load.findings
    fabric, mapped = build_fabric(resources, source, strict_duplicates=True, from_template=True)
    return fabric, load.findings + mapped + _assumed_location(load, fabric)


def _assumed_location(load: _Load, fabric: Fabric) -> list[Finding]:
    """A warning when resourceGroup().location (assumed) sits beside other regions: then it
    decides which peerings are global and what latency applies."""
    regions = {vnet.region for vnet in fabric.vnets.values() if not vnet.external}
    if not load.group_read or load.location not in regions or len(regions) < 2:
        return []
    others = ", ".join(sorted(regions - {load.location}))
    return [
        warning(
            "ResourceGroupLocationAssumed",
            f"{load.source}: resourceGroup().location is taken as {load.location} (a deployment "
            f"gets its resource group's region, which the template does not say), beside VNets "
            f"in {others}: which peerings are global and the latencies depend on it. Pass the "
            "real region (--parameter location=REGION, where the template has that parameter)",
        )
    ]


__all__ = ["is_expression", "load_arm", "parse", "resource_id"]
