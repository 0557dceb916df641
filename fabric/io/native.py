"""The native YAML topology format (docs/format.md): schema, loading with clear errors, dumping.

The schema is derived from the model: every section is a table of the ``Fabric`` container, and
every key is a field of its attrs record (``attrs.fields`` plus field metadata for renamed keys,
accepted aliases and kinds the type cannot say), so a field is declared once. Unknown keys,
wrong types, missing keys, unknown references and duplicate names are all collected and
reported together, each with its path in the document, its line and the fix.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

from fabric.catalogue.latency import LatencyModel
from fabric.io.errors import InputError, Problem
from fabric.io.yamlsource import line_of
from fabric.model import Fabric, FlowSpec, VNet, suggest
from fabric.model.events import Event, event_problems
from fabric.model.findings import ERROR, WARNING, Finding
from fabric.model.traffic import ENGINES

# A field kind is one of these names, a nested schema (object) or [schema] (list of objects).
STR, INT, NUMBER, BOOL, STRINGS, PORTS, MAPPING, SCALAR = (
    "string",
    "integer",
    "number",
    "boolean",
    "string or list of strings",
    "port, range or list of them",
    "mapping",
    "string or integer",
)


@attrs.frozen
class Field:
    """One key of a mapping: its kind, whether it is required, the model attribute it fills."""

    kind: Any
    required: bool = False
    attr: str | None = None


def _kind(annotation: Any) -> Any:
    """The schema kind of a field's (resolved) type."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(options[0])
    origin = typing.get_origin(annotation)
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        return [schema_of(item)] if attrs.has(item) else STRINGS
    if attrs.has(annotation):
        return schema_of(annotation)
    if origin is dict or annotation is dict:
        return MAPPING
    return {str: STR, bool: BOOL, int: INT, float: NUMBER}[annotation]


@functools.cache
def schema_of(record: type) -> dict[str, Field]:
    """The keys of ``record`` in the native format, derived from its attrs fields."""
    attrs.resolve_types(record)
    schema: dict[str, Field] = {}
    for field in attrs.fields(record):
        kind = field.metadata.get("kind") or _kind(field.type)
        key = field.metadata.get("yaml", field.name)
        schema[key] = Field(kind, field.default is attrs.NOTHING, field.name)
        for alias in field.metadata.get("aliases", ()):
            schema[alias] = Field(kind, False, field.name)
    return schema


# The container's tables, in the order they are built (references point backwards).
SECTIONS: tuple[str, ...] = (
    "application_security_groups",
    "nsgs",
    "route_tables",
    "local_network_gateways",
    "express_route_circuits",
    "nat_gateways",
    "vnets",
    "gateways",
    "bastions",
    "peerings",
    "connections",
    "firewalls",
    "route_servers",
    "network_managers",
    "network_manager_connections",
    "network_groups",
    "connectivity_configurations",
    "security_admin_configurations",
    "permissions",
)
CAPABILITIES = (  # ConnectivityConfiguration fields ARM nests under connectivityCapabilities
    "connected_group_address_overlap",
    "connected_group_private_endpoints_scale",
    "peering_enforcement",
)
SIMULATION = {
    "duration_s": Field(NUMBER),
    "seed": Field(INT),
    "engine": Field(STR),
    "parameters": Field(MAPPING),
}


def _record_of(section: str) -> type:
    """The record class a container table holds (``dict[str, VNet]`` -> ``VNet``)."""
    attrs.resolve_types(Fabric)
    return typing.get_args(attrs.fields_dict(Fabric)[section].type)[1]


@functools.cache
def document_schema() -> dict[str, Field]:
    """The top level of a native file: the container's tables, traffic and simulation."""
    schema = {section: Field([schema_of(_record_of(section))]) for section in SECTIONS}
    # VNets known only by reference may omit their space; the builder checks the rest.
    vnet = dict(schema_of(VNet))
    vnet["address_prefixes"] = attrs.evolve(vnet["address_prefixes"], required=False)
    schema["vnets"] = Field([vnet])
    # ARM nests three configuration fields under connectivityCapabilities (N8.1); the native
    # format keeps them flat and also accepts them nested that way.
    config = dict(schema_of(_record_of("connectivity_configurations")))
    nested = {key: config[key] for key in CAPABILITIES}
    config["connectivity_capabilities"] = Field(nested, attr="connectivity_capabilities")
    schema["connectivity_configurations"] = Field([config])
    schema["traffic"] = Field([schema_of(FlowSpec)])
    schema["simulation"] = Field(SIMULATION)
    schema["events"] = Field([schema_of(Event)])  # timed failures and changes (scenarios)
    # What an importer reported about the source this file was written from (vnetsim import),
    # so that validating the written file reports the source's problems too.
    schema["import_findings"] = Field([schema_of(Finding)])
    return schema


@attrs.frozen
class NativeDocument:
    """A loaded native file: the fabric plus the scenario parts (traffic, simulation)."""

    fabric: Fabric
    traffic: tuple[dict[str, Any], ...] = ()
    simulation: dict[str, Any] = attrs.field(factory=dict)
    findings: tuple = ()  # what an importer (ARM, REST) could not model, as Findings
    source_format: str = "native"
    events: tuple = ()  # fabric.model.events.Event: timed failures and changes during a run


class _Reader:
    """Checks a document against the schema, collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str, line: int | None) -> None:
        self.problems.append(Problem(path, message, line))

    def read(self, value: Any, schema: dict[str, Field], path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {_describe(value)}", None)
            return None
        out: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            field = schema.get(key)
            if field is None:
                self.problem(
                    where, f"unknown key {key!r}; {suggest(key, schema)}", line_of(value, key)
                )
                continue
            converted = self.convert(item, field.kind, where, line_of(value, key))
            if converted is not _INVALID and item is not None:
                out[field.attr or key] = converted
        missing = [key for key, field in schema.items() if field.required and key not in value]
        for key in missing:
            self.problem(path or "(top level)", f"missing required key {key!r}", line_of(value))
        # A required value that was present but invalid has been reported; drop the entry too.
        incomplete = any(f.required and (f.attr or k) not in out for k, f in schema.items())
        return None if incomplete else out

    def convert(self, item: Any, kind: Any, where: str, line: int | None) -> Any:
        if item is None:
            return None
        if isinstance(kind, dict):
            result = self.read(item, kind, where)
            return _INVALID if result is None else result
        if isinstance(kind, list):
            if not isinstance(item, list):
                self.problem(where, f"expected a list, got {_describe(item)}", line)
                return _INVALID
            # Entries that failed stay as None so that later paths keep their indices.
            return [self.read(entry, kind[0], f"{where}[{i}]") for i, entry in enumerate(item)]
        converted = _CHECKS[kind](item)
        if converted is _INVALID:
            article = "an" if str(kind)[:1] in "aeiou" else "a"
            self.problem(where, f"expected {article} {kind}, got {_describe(item)}", line)
        return converted


_INVALID = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return _INVALID


def _ports(value: Any) -> Any:
    if isinstance(value, str) or _is_int(value):
        return (str(value),)
    if isinstance(value, list) and value and all(isinstance(v, str) or _is_int(v) for v in value):
        return tuple(str(v) for v in value)
    return _INVALID


_CHECKS: dict[str, Callable[[Any], Any]] = {
    STR: lambda v: v if isinstance(v, str) and v else _INVALID,
    INT: lambda v: v if _is_int(v) else _INVALID,
    NUMBER: lambda v: v if (_is_int(v) or isinstance(v, float)) else _INVALID,
    BOOL: lambda v: v if isinstance(v, bool) else _INVALID,
    STRINGS: _strings,
    PORTS: _ports,
    MAPPING: lambda v: _plain(v) if isinstance(v, dict) else _INVALID,
    SCALAR: lambda v: str(v) if (isinstance(v, str) and v) or _is_int(v) else _INVALID,
}


def _plain(value: Any) -> Any:
    """A parsed value without the line-keeping mapping type (so it dumps as plain YAML)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"boolean {value}"
    return f"{type(value).__name__} {value!r}"


def load_native(data: Any, file: str) -> NativeDocument:
    """Build a Fabric (and scenario parts) from parsed YAML; InputError lists every problem."""
    reader = _Reader()
    if data is None:
        raise InputError(file, [Problem("", "the file is empty; declare at least 'vnets:'")])
    document = reader.read(data, document_schema(), "")
    if document is None:
        raise InputError(file, reader.problems)
    builder = _Builder(reader, data)
    fabric = builder.build(document)
    _check_simulation(reader, data, document.get("simulation"))
    traffic = tuple(t for t in document.get("traffic", ()) if t is not None)
    events = builder.events(fabric, document, traffic)
    if reader.problems:
        raise InputError(file, reader.problems)
    findings = _import_findings(reader, document.get("import_findings") or ())
    if reader.problems:
        raise InputError(file, reader.problems)
    simulation = dict(document.get("simulation", {}))
    return NativeDocument(fabric, traffic, simulation, findings, events=events)


def _import_findings(reader: _Reader, entries: Any) -> tuple[Finding, ...]:
    """The ``import_findings`` section as Findings (severity Error or Warning)."""
    findings = []
    for i, entry in _present(list(entries)):
        if entry.get("severity") not in (ERROR, WARNING):
            reader.problem(
                f"import_findings[{i}].severity",
                f"must be {ERROR} or {WARNING}, got {entry.get('severity')!r}",
                None,
            )
            continue
        findings.append(Finding(**entry))
    return tuple(findings)


def _check_simulation(reader: _Reader, raw: Any, simulation: dict | None) -> None:
    """The ``simulation`` section's values: every parameter has a type, unit and range."""
    if not simulation:
        return
    section = raw.get("simulation") if isinstance(raw, dict) else None

    def line(key: str) -> int | None:
        return line_of(section, key) if section is not None else None

    seed = simulation.get("seed")
    if seed is not None and not 0 <= seed < 2**63:
        reader.problem("simulation.seed", f"must be an integer >= 0, got {seed}", line("seed"))
    duration = simulation.get("duration_s")
    if duration is not None and not (0 < duration <= 86_400):  # NaN and inf fail too
        reader.problem(
            "simulation.duration_s",
            f"must be in (0, 86400] seconds, got {duration}",
            line("duration_s"),
        )
    engine = simulation.get("engine")
    if engine is not None and engine not in ENGINES:
        reader.problem(
            "simulation.engine",
            f"{engine!r} is not valid; {suggest(engine, ENGINES)}",
            line("engine"),
        )
    parameters = simulation.get("parameters")
    if parameters:
        where = section.get("parameters") if isinstance(section, dict) else None
        for name, message in LatencyModel.problems(parameters):
            key = name.split(".")[0]
            reader.problem(f"simulation.parameters.{name}", message, line_of(where, key))


def _present(entries: list) -> list[tuple[int, Any]]:
    """(index, entry) for the entries that passed the schema check."""
    return [(i, entry) for i, entry in enumerate(entries) if entry is not None]


# Which field of a record names a resource of which table: (field, table, kind).
_REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "gateways": (("vnet", "vnets", "VNet"),),
    "bastions": (("vnet", "vnets", "VNet"),),
    "peerings": (("vnet", "vnets", "VNet"), ("remote_vnet", "vnets", "VNet")),
    "firewalls": (("vnet", "vnets", "VNet"),),
    "route_servers": (("vnet", "vnets", "VNet"),),
    "network_manager_connections": (("network_manager", "network_managers", "network manager"),),
    "network_groups": (("network_manager", "network_managers", "network manager"),),
    "connectivity_configurations": (("network_manager", "network_managers", "network manager"),),
    "security_admin_configurations": (("network_manager", "network_managers", "network manager"),),
}


class _Builder:
    """Turns checked mappings into model records and checks names and references."""

    def __init__(self, reader: _Reader, raw: Any) -> None:
        self.reader = reader
        self.raw = raw
        self.host_names: set[str] = set()  # every host name taken so far, across VNets

    def _line(self, *steps: str | int, key: str | None = None) -> int | None:
        """Line of the raw mapping reached by ``steps`` (keys and list indices)."""
        node = self.raw
        try:
            for step in steps:
                node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
        return line_of(node, key)

    def make(self, record: type, fields: dict, steps: tuple) -> Any:
        """A record from checked fields, nested records included; None after a problem."""
        path = _path(steps)
        values = dict(fields)
        for field in attrs.fields(record):
            value = values.get(field.name)
            if value is None:
                continue
            kind = _kind(field.type) if "kind" not in field.metadata else None
            if isinstance(kind, dict):
                nested = self.make(_strip_optional(field.type), value, (*steps, field.name))
                if nested is None:
                    return None
                values[field.name] = nested
            elif isinstance(kind, list):
                item_type = typing.get_args(_strip_optional(field.type))[0]
                made = [
                    self.make(item_type, entry, (*steps, field.name, j))
                    for j, entry in _present(value)
                ]
                values[field.name] = tuple(m for m in made if m is not None)
        try:
            return record(**values)
        except (TypeError, ValueError) as problem:
            self.reader.problem(path, str(problem), self._line(*steps))
            return None

    def _ref(self, steps: tuple, key: str, name: str | None, table: Any, kind: str) -> None:
        if name is not None and name not in table:
            names = list(table)
            self.reader.problem(
                _path((*steps, key)),
                f"{kind} {name!r} is not declared ("
                f"{suggest(name, names) if names else 'none are'})",
                self._line(*steps, key=key),
            )

    def build(self, document: dict[str, Any]) -> Fabric:
        fabric = Fabric()
        for section in SECTIONS:
            for i, spec in _present(document.get(section, [])):
                steps = (section, i)
                if section == "vnets":
                    self._vnet(fabric, steps, spec)
                    continue
                self._references(fabric, section, steps, spec)
                if section == "connectivity_configurations":
                    self._flatten_capabilities(steps, spec)
                record = self.make(_record_of(section), spec, steps)
                if record is None:
                    continue
                table = getattr(fabric, section)
                key = (record.vnet, record.name) if section == "peerings" else record.name
                if key in table:
                    if section == "peerings":
                        where = f"VNet {record.vnet} already has a peering named {record.name!r}"
                    else:
                        where = f"duplicate {_KINDS.get(section, section)} name {key!r}"
                    self.reader.problem(
                        _path((*steps, "name")),
                        where,
                        self._line(*steps, key="name"),
                    )
                    continue
                table[key] = record
        return fabric

    def _flatten_capabilities(self, steps: tuple, spec: dict) -> None:
        """``connectivity_capabilities: {...}`` (ARM's nesting) into the flat fields."""
        nested = spec.pop("connectivity_capabilities", None) or {}
        if not isinstance(nested, dict):
            return  # the schema reader has reported it
        for key, value in nested.items():
            if key in spec and spec[key] != value:
                self.reader.problem(
                    _path((*steps, "connectivity_capabilities", key)),
                    f"{key} is given twice, flat ({spec[key]}) and under "
                    f"connectivity_capabilities ({value}); keep one",
                    self._line(*steps, "connectivity_capabilities", key=key),
                )
            spec[key] = value

    def events(self, fabric: Fabric, document: dict, traffic: tuple) -> tuple[Event, ...]:
        """The ``events`` section as records, checked against the fabric and the run: the
        action, the target (with the nearest name), at_s inside the run, the keys each action
        takes, gateway instances, and changes that apply at their time."""
        entries = document.get("events") or []
        made = [(i, self.make(Event, spec, ("events", i))) for i, spec in _present(entries)]
        made = [(i, event) for i, event in made if event is not None]
        simulation = document.get("simulation") or {}
        horizon = simulation.get("duration_s")
        if horizon is not None and not horizon > 0:
            horizon = None  # reported with the simulation section
        if horizon is None:
            ends = [t.get("start_s", 0.0) + t.get("duration_s", 1.0) for t in traffic]
            horizon = max(ends) if ends else None
        records = [event for _, event in made]
        # A traffic file for a topology given elsewhere (vnetsim run --traffic) declares no
        # VNets: its targets are checked when the two are put together. Nor are they checked
        # against a topology with problems of its own (a VNet that failed to load).
        topology_ok = all(p.path.startswith("events") for p in self.reader.problems)
        checked = event_problems(
            records, fabric, horizon, targets=bool(fabric.vnets) and topology_ok
        )
        for position, key, message in checked:
            index = made[position][0]
            self.reader.problem(
                f"events[{index}].{key}", message, self._line("events", index, key=key)
            )
        return tuple(records)

    def _references(self, fabric: Fabric, section: str, steps: tuple, spec: dict) -> None:
        for field, table, kind in _REFERENCES.get(section, ()):
            if field == "remote_vnet" and spec.get("remote_address_space") is not None:
                continue  # a VNet outside this file, known by the prefixes Azure reported
            key = schema_key(_record_of(section), field)
            self._ref(steps, key, spec.get(field), getattr(fabric, table), kind)
        if section == "connections":
            kind = spec.get("connection_type", "Vnet2Vnet")
            self._ref(steps, "from", spec.get("from_gateway"), fabric.gateways, "gateway")
            if kind == "IPsec":
                targets, label = fabric.local_network_gateways, "local network gateway"
            elif kind == "ExpressRoute":
                targets, label = fabric.express_route_circuits, "ExpressRoute circuit"
            else:
                targets, label = fabric.gateways, "gateway"
            self._ref(steps, "to", spec.get("to_gateway"), targets, label)
        if section == "network_groups":
            for member in spec.get("members", ()):
                self._ref(steps, "members", member, fabric.vnets, "VNet")
        if section == "connectivity_configurations":
            for hub in spec.get("hubs", ()):
                self._ref(steps, "hubs", hub, fabric.vnets, "VNet")
            for j, item in _present(spec.get("applies_to_groups", [])):
                where = (*steps, "applies_to_groups", j)
                group = item.get("network_group")
                self._ref(where, "network_group", group, fabric.network_groups, "network group")
        if section == "security_admin_configurations":
            for j, collection in _present(spec.get("rule_collections", [])):
                where = (*steps, "rule_collections", j)
                for group in collection.get("applies_to_groups", ()):
                    self._ref(
                        where, "applies_to_groups", group, fabric.network_groups, "network group"
                    )
        if section == "permissions" and not str(spec.get("scope", "")).startswith("/"):
            self._ref(steps, "scope", spec.get("scope"), fabric.vnets, "VNet")
        if section == "nsgs":
            for j, rule in _present(spec.get("security_rules", [])):
                for key in (
                    "source_application_security_groups",
                    "destination_application_security_groups",
                ):
                    for group in rule.get(key, ()):
                        self._ref(
                            (*steps, "security_rules", j),
                            key,
                            group,
                            fabric.application_security_groups,
                            "application security group",
                        )

    def _vnet(self, fabric: Fabric, steps: tuple, spec: dict) -> None:
        if "address_prefixes" not in spec and not spec.get("external"):
            # Only a VNet known by reference (external: true) may leave its space unknown.
            self.reader.problem(
                _path(steps), "missing required key 'address_prefixes'", self._line(*steps)
            )
            return
        spec.setdefault("address_prefixes", ())
        subnets: list[dict] = []
        for j, sub in _present(spec.get("subnets", [])):
            where = (*steps, "subnets", j)
            self._ref(where, "nsg", sub.get("nsg"), fabric.nsgs, "NSG")
            self._ref(
                where, "route_table", sub.get("route_table"), fabric.route_tables, "route table"
            )
            self._ref(
                where, "nat_gateway", sub.get("nat_gateway"), fabric.nat_gateways, "NAT gateway"
            )
            if any(s["name"] == sub["name"] for s in subnets):
                self.reader.problem(
                    _path((*where, "name")),
                    f"duplicate subnet name {sub['name']!r}",
                    self._line(*where),
                )
                continue
            subnets.append(sub)
        spec["subnets"] = subnets
        subnet_names = [s["name"] for s in subnets]
        hosts: list[dict] = []
        for j, host in _present(spec.get("hosts", [])):
            where = (*steps, "hosts", j)
            self._ref(
                where, "subnet", host["subnet"], subnet_names, f"subnet of VNet {spec['name']}"
            )
            self._ref(where, "nsg", host.get("nsg"), fabric.nsgs, "NSG")
            for group in host.get("application_security_groups", ()):
                self._ref(
                    where,
                    "application_security_groups",
                    group,
                    fabric.application_security_groups,
                    "application security group",
                )
            if host["name"] in self.host_names or any(h["name"] == host["name"] for h in hosts):
                self.reader.problem(
                    _path((*where, "name")),
                    f"duplicate host name {host['name']!r}",
                    self._line(*where),
                )
                continue
            hosts.append(host)
        spec["hosts"] = hosts
        vnet = self.make(VNet, spec, steps)
        if vnet is None:
            return
        if vnet.name in fabric.vnets:
            self.reader.problem(
                _path((*steps, "name")),
                f"duplicate VNet name {vnet.name!r}; names must be unique",
                self._line(*steps, key="name"),
            )
            return
        fabric.vnets[vnet.name] = vnet
        self.host_names.update(h.name for h in vnet.hosts)


_KINDS = {
    "nsgs": "NSG",
    "route_tables": "route table",
    "application_security_groups": "application security group",
    "local_network_gateways": "local network gateway",
    "express_route_circuits": "ExpressRoute circuit",
    "nat_gateways": "NAT gateway",
    "gateways": "gateway",
    "bastions": "Bastion host",
    "connections": "connection",
    "firewalls": "firewall",
    "route_servers": "route server",
    "network_managers": "network manager",
    "network_manager_connections": "network manager connection",
    "network_groups": "network group",
    "connectivity_configurations": "connectivity configuration",
    "security_admin_configurations": "security admin configuration",
    "permissions": "permission",
}


def _path(steps: tuple) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _strip_optional(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def schema_key(record: type, attribute: str) -> str:
    """The native key of ``record``'s field ``attribute`` (its rename, if it has one)."""
    return attrs.fields_dict(record)[attribute].metadata.get("yaml", attribute)


# -- dumping -------------------------------------------------------------------------------


def _record(record: Any) -> dict:
    """A record as a native mapping: renamed keys, defaults left out."""
    out: dict[str, Any] = {}
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if value is None or value == () or (default is not attrs.NOTHING and value == default):
            continue
        if isinstance(value, tuple) and value and attrs.has(type(value[0])):
            value = [_record(v) for v in value]
        elif isinstance(value, tuple):
            value = list(value)
        elif attrs.has(type(value)):
            value = _record(value)
        out[field.metadata.get("yaml", field.name)] = value
    return out


def dump_native(
    fabric: Fabric,
    traffic: tuple[dict, ...] = (),
    simulation: dict | None = None,
    events: tuple = (),
) -> dict[str, Any]:
    """The fabric as a native-format document (plain dicts and lists, ready for YAML)."""
    order = ("vnets", *(s for s in SECTIONS if s != "vnets"))
    document: dict[str, Any] = {
        section: [_record(r) for r in getattr(fabric, section).values()] for section in order
    }
    for name, vnet in zip(document["vnets"], fabric.vnets.values(), strict=True):
        if vnet.external is False and not vnet.address_prefixes:
            name["address_prefixes"] = []
    document = {key: value for key, value in document.items() if value}
    if traffic:
        document["traffic"] = [dict(t) for t in traffic]
    if simulation:
        document["simulation"] = dict(simulation)
    if events:
        document["events"] = [_record(e) for e in events]
    return document
