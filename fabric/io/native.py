"""The native YAML topology format (DESIGN.md): schema, loading with clear errors, dumping.

Keys are ARM property names in snake_case. Unknown keys, wrong types, missing keys, unknown
references and duplicate names are all collected and reported together, each with its path in
the document, its line and the fix (nearest valid key, existing names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from fabric.io.errors import InputError, Problem
from fabric.io.yamlsource import line_of
from fabric.model.container import Fabric
from fabric.model.records import (
    Connection,
    Host,
    IpsecPolicy,
    Nsg,
    Peering,
    Route,
    RouteTable,
    SecurityRule,
    Subnet,
    VNet,
    VpnGateway,
    suggest,
)

# A field kind is one of these names, or a nested schema (object) / [schema] (list of objects).
STR, INT, NUMBER, BOOL, STRINGS, PORTS, MAPPING = (
    "string",
    "integer",
    "number",
    "boolean",
    "string or list of strings",
    "port, range or list of them",
    "mapping",
)


@attrs.frozen
class Field:
    """One key of a mapping: its kind, whether it is required, the model attribute it fills."""

    kind: Any
    required: bool = False
    attr: str | None = None


def _schema(**fields: Field) -> dict[str, Field]:
    return fields


SUBNET = _schema(
    name=Field(STR, True), address_prefix=Field(STR, True), nsg=Field(STR), route_table=Field(STR)
)
HOST = _schema(
    name=Field(STR, True),
    subnet=Field(STR, True),
    ip=Field(STR, True),
    nsg=Field(STR),
    bandwidth_mbps=Field(NUMBER),
    enable_ip_forwarding=Field(BOOL),
)
VNET = _schema(
    name=Field(STR, True),
    region=Field(STR, True),
    address_prefixes=Field(STRINGS),
    subscription=Field(STR),
    subnets=Field([SUBNET]),
    hosts=Field([HOST]),
    external=Field(BOOL),
)
PEERING = _schema(
    name=Field(STR, True),
    **{"from": Field(STR, True, "vnet"), "to": Field(STR, True, "remote_vnet")},
    allow_virtual_network_access=Field(BOOL),
    allow_forwarded_traffic=Field(BOOL),
    allow_gateway_transit=Field(BOOL),
    use_remote_gateways=Field(BOOL),
    peering_state=Field(STR),
    remote_address_space=Field(STRINGS),
)
GATEWAY = _schema(
    name=Field(STR, True),
    vnet=Field(STR, True),
    sku=Field(STR, True),
    generation=Field(STR),
    vpn_type=Field(STR),
    active_active=Field(BOOL),
    bgp_asn=Field(INT),
    enable_bgp=Field(BOOL),
)
IPSEC_POLICY = _schema(
    ike_encryption=Field(STR, True),
    ike_integrity=Field(STR, True),
    dh_group=Field(STR, True),
    ipsec_encryption=Field(STR, True),
    ipsec_integrity=Field(STR, True),
    pfs_group=Field(STR, True),
    sa_lifetime_seconds=Field(INT),
    sa_data_size_kilobytes=Field(INT),
)
CONNECTION = _schema(
    name=Field(STR, True),
    connection_type=Field(STR),
    **{"from": Field(STR, True, "from_gateway"), "to": Field(STR, True, "to_gateway")},
    shared_key=Field(STR),
    enable_bgp=Field(BOOL),
    ipsec_policy=Field(IPSEC_POLICY),
    connection_status=Field(STR),
)
SECURITY_RULE = _schema(
    name=Field(STR, True),
    priority=Field(INT, True),
    direction=Field(STR, True),
    access=Field(STR, True),
    protocol=Field(STR),
    source_address_prefix=Field(STRINGS, attr="source_address_prefixes"),
    source_address_prefixes=Field(STRINGS),
    source_port_range=Field(PORTS, attr="source_port_ranges"),
    source_port_ranges=Field(PORTS),
    destination_address_prefix=Field(STRINGS, attr="destination_address_prefixes"),
    destination_address_prefixes=Field(STRINGS),
    destination_port_range=Field(PORTS, attr="destination_port_ranges"),
    destination_port_ranges=Field(PORTS),
    description=Field(STR),
)
NSG = _schema(name=Field(STR, True), security_rules=Field([SECURITY_RULE]))
ROUTE = _schema(
    name=Field(STR, True),
    address_prefix=Field(STR, True),
    next_hop_type=Field(STR, True),
    next_hop_ip_address=Field(STR),
)
ROUTE_TABLE = _schema(
    name=Field(STR, True), disable_bgp_route_propagation=Field(BOOL), routes=Field([ROUTE])
)
TRAFFIC = _schema(
    name=Field(STR, True),
    src=Field(STR, True),
    dst=Field(STR, True),
    protocol=Field(STR),
    destination_port=Field(INT),
    source_port=Field(INT),
    rate_mbps=Field(NUMBER),
    packet_bytes=Field(INT),
    size_mix=Field(STR),
    pattern=Field(STR),
    start_s=Field(NUMBER),
    duration_s=Field(NUMBER),
    on_s=Field(NUMBER),
    off_s=Field(NUMBER),
    window_packets=Field(INT),
)
SIMULATION = _schema(
    duration_s=Field(NUMBER), seed=Field(INT), engine=Field(STR), parameters=Field(MAPPING)
)
DOCUMENT = _schema(
    vnets=Field([VNET]),
    peerings=Field([PEERING]),
    gateways=Field([GATEWAY]),
    connections=Field([CONNECTION]),
    nsgs=Field([NSG]),
    route_tables=Field([ROUTE_TABLE]),
    traffic=Field([TRAFFIC]),
    simulation=Field(SIMULATION),
)


@attrs.frozen
class NativeDocument:
    """A loaded native file: the fabric plus the scenario parts (traffic, simulation)."""

    fabric: Fabric
    traffic: tuple[dict[str, Any], ...] = ()
    simulation: dict[str, Any] = attrs.field(factory=dict)
    findings: tuple = ()  # what an importer (ARM, REST) could not model, as Findings
    source_format: str = "native"


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
        check = _CHECKS[kind]
        converted = check(item)
        if converted is _INVALID:
            self.problem(where, f"expected a {kind}, got {_describe(item)}", line)
        return converted


_INVALID = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
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
    MAPPING: lambda v: dict(v) if isinstance(v, dict) else _INVALID,
}


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
    document = reader.read(data, DOCUMENT, "")
    if document is None:
        raise InputError(file, reader.problems)
    builder = _Builder(reader, data)
    fabric = builder.build(document)
    if reader.problems:
        raise InputError(file, reader.problems)
    traffic = tuple(t for t in document.get("traffic", ()) if t is not None)
    return NativeDocument(fabric, traffic, dict(document.get("simulation", {})))


def _present(entries: list) -> list[tuple[int, Any]]:
    """(index, entry) for the entries that passed the schema check."""
    return [(i, entry) for i, entry in enumerate(entries) if entry is not None]


class _Builder:
    """Turns checked mappings into model records and checks names and references."""

    def __init__(self, reader: _Reader, raw: Any) -> None:
        self.reader = reader
        self.raw = raw

    def _line(self, *steps: str | int, key: str | None = None) -> int | None:
        """Line of the raw mapping reached by ``steps`` (keys and list indices)."""
        node = self.raw
        try:
            for step in steps:
                node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
        return line_of(node, key)

    def _make(self, factory: Callable[..., Any], fields: dict, path: str, line: int | None) -> Any:
        try:
            return factory(**fields)
        except (TypeError, ValueError) as problem:
            self.reader.problem(path, str(problem), line)
            return None

    def _unique(self, section: str, index: int, table: dict, name: str, kind: str) -> bool:
        if name in table:
            self.reader.problem(
                f"{section}[{index}].name",
                f"duplicate {kind} name {name!r}; names must be unique",
                self._line(section, index, key="name"),
            )
            return False
        return True

    def _ref(self, path: str, line: int | None, name: str | None, table: Any, kind: str) -> None:
        if name is not None and name not in table:
            names = list(table)
            self.reader.problem(
                path,
                f"{kind} {name!r} is not declared ("
                f"{suggest(name, names) if names else 'none are'})",
                line,
            )

    def build(self, document: dict[str, Any]) -> Fabric:
        fabric = Fabric()
        for i, spec in _present(document.get("nsgs", [])):
            rules = []
            for j, rule in _present(spec.get("security_rules", [])):
                made = self._make(
                    SecurityRule,
                    rule,
                    f"nsgs[{i}].security_rules[{j}]",
                    self._line("nsgs", i, "security_rules", j),
                )
                if made is not None:
                    rules.append(made)
            if self._unique("nsgs", i, fabric.nsgs, spec["name"], "NSG"):
                fabric.nsgs[spec["name"]] = Nsg(spec["name"], tuple(rules))
        for i, spec in _present(document.get("route_tables", [])):
            routes = [
                r
                for j, route in enumerate(spec.get("routes", []))
                if route is not None
                and (
                    r := self._make(
                        Route,
                        route,
                        f"route_tables[{i}].routes[{j}]",
                        self._line("route_tables", i, "routes", j),
                    )
                )
            ]
            fields = {**spec, "routes": tuple(routes)}
            table = self._make(
                RouteTable, fields, f"route_tables[{i}]", self._line("route_tables", i)
            )
            if table and self._unique(
                "route_tables", i, fabric.route_tables, table.name, "route table"
            ):
                fabric.route_tables[table.name] = table
        host_names: set[str] = set()
        for i, spec in _present(document.get("vnets", [])):
            self._vnet(fabric, i, spec, host_names)
        for i, spec in _present(document.get("gateways", [])):
            path = f"gateways[{i}]"
            self._ref(
                f"{path}.vnet",
                self._line("gateways", i, key="vnet"),
                spec["vnet"],
                fabric.vnets,
                "VNet",
            )
            gateway = self._make(VpnGateway, spec, path, self._line("gateways", i))
            if gateway and self._unique("gateways", i, fabric.gateways, gateway.name, "gateway"):
                fabric.gateways[gateway.name] = gateway
        for i, spec in _present(document.get("peerings", [])):
            path = f"peerings[{i}]"
            self._ref(
                f"{path}.from",
                self._line("peerings", i, key="from"),
                spec["vnet"],
                fabric.vnets,
                "VNet",
            )
            self._ref(
                f"{path}.to",
                self._line("peerings", i, key="to"),
                spec["remote_vnet"],
                fabric.vnets,
                "VNet",
            )
            link = self._make(Peering, spec, path, self._line("peerings", i))
            if link is None:
                continue
            if (link.vnet, link.name) in fabric.peerings:
                self.reader.problem(
                    f"{path}.name",
                    f"VNet {link.vnet} already has a peering named {link.name!r}",
                    self._line("peerings", i, key="name"),
                )
                continue
            fabric.peerings[(link.vnet, link.name)] = link
        for i, spec in _present(document.get("connections", [])):
            path = f"connections[{i}]"
            for key, attr in (("from", "from_gateway"), ("to", "to_gateway")):
                self._ref(
                    f"{path}.{key}",
                    self._line("connections", i, key=key),
                    spec[attr],
                    fabric.gateways,
                    "gateway",
                )
            fields = dict(spec)
            if "ipsec_policy" in fields:
                fields["ipsec_policy"] = self._make(
                    IpsecPolicy, fields["ipsec_policy"], f"{path}.ipsec_policy", None
                )
            connection = self._make(Connection, fields, path, self._line("connections", i))
            if connection and self._unique(
                "connections", i, fabric.connections, connection.name, "connection"
            ):
                fabric.connections[connection.name] = connection
        return fabric

    def _vnet(self, fabric: Fabric, i: int, spec: dict, host_names: set[str]) -> None:
        if "address_prefixes" not in spec and not spec.get("external"):
            # Only a VNet known by reference (external: true) may leave its space unknown.
            self.reader.problem(
                f"vnets[{i}]", "missing required key 'address_prefixes'", self._line("vnets", i)
            )
            return
        spec.setdefault("address_prefixes", ())
        path = f"vnets[{i}]"
        subnets, hosts = [], []
        for j, sub in _present(spec.get("subnets", [])):
            where = f"{path}.subnets[{j}]"
            line = self._line("vnets", i, "subnets", j)
            self._ref(f"{where}.nsg", line, sub.get("nsg"), fabric.nsgs, "NSG")
            self._ref(
                f"{where}.route_table",
                line,
                sub.get("route_table"),
                fabric.route_tables,
                "route table",
            )
            if any(s.name == sub["name"] for s in subnets):
                self.reader.problem(f"{where}.name", f"duplicate subnet name {sub['name']!r}", line)
                continue
            made = self._make(Subnet, sub, where, line)
            if made:
                subnets.append(made)
        subnet_names = [s.name for s in subnets]
        for j, host in _present(spec.get("hosts", [])):
            where = f"{path}.hosts[{j}]"
            line = self._line("vnets", i, "hosts", j)
            self._ref(
                f"{where}.subnet",
                line,
                host["subnet"],
                subnet_names,
                f"subnet of VNet {spec['name']}",
            )
            self._ref(f"{where}.nsg", line, host.get("nsg"), fabric.nsgs, "NSG")
            if host["name"] in host_names:
                self.reader.problem(f"{where}.name", f"duplicate host name {host['name']!r}", line)
                continue
            host_names.add(host["name"])
            made = self._make(Host, host, where, line)
            if made:
                hosts.append(made)
        fields = {**spec, "subnets": tuple(subnets), "hosts": tuple(hosts)}
        vnet = self._make(VNet, fields, path, self._line("vnets", i))
        if vnet and self._unique("vnets", i, fabric.vnets, vnet.name, "VNet"):
            fabric.vnets[vnet.name] = vnet


# -- dumping -------------------------------------------------------------------------------


def _record(record: Any, renames: dict[str, str] | None = None, skip: tuple[str, ...] = ()) -> dict:
    renames = renames or {}
    out: dict[str, Any] = {}
    for field in attrs.fields(type(record)):
        if field.name in skip:
            continue
        value = getattr(record, field.name)
        if value is None or value == () or (field.name == "external" and value is False):
            continue
        if isinstance(value, tuple) and value and attrs.has(type(value[0])):
            value = [_record(v) for v in value]
        elif isinstance(value, tuple):
            value = list(value)
        elif attrs.has(type(value)):
            value = _record(value)
        out[renames.get(field.name, field.name)] = value
    return out


def dump_native(
    fabric: Fabric, traffic: tuple[dict, ...] = (), simulation: dict | None = None
) -> dict[str, Any]:
    """The fabric as a native-format document (plain dicts and lists, ready for YAML)."""
    document: dict[str, Any] = {
        "vnets": [_record(v) for v in fabric.vnets.values()],
        "peerings": [
            _record(p, {"vnet": "from", "remote_vnet": "to"}) for p in fabric.peerings.values()
        ],
        "gateways": [_record(g) for g in fabric.gateways.values()],
        "connections": [
            _record(c, {"from_gateway": "from", "to_gateway": "to"})
            for c in fabric.connections.values()
        ],
        "nsgs": [_record(n) for n in fabric.nsgs.values()],
        "route_tables": [_record(t) for t in fabric.route_tables.values()],
    }
    document = {key: value for key, value in document.items() if value}
    if traffic:
        document["traffic"] = [dict(t) for t in traffic]
    if simulation:
        document["simulation"] = dict(simulation)
    return document
