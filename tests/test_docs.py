"""The user documentation under docs/ cannot drift from the code.

Every check introspects the code and looks for it in the docs, so that a new YAML key, command,
option, assumption or package fails here until it is documented:

* docs/format.md has one table per record of the native schema (``document_schema()``, walked
  recursively), marked ``<!-- schema: PATH -->``; its rows are exactly the schema's keys, with
  the schema's type, "required" or the record's default, and every allowed value the record's
  validators (or the traffic module's tables) accept. Its YAML examples use only known keys.
* docs/cli.md has a section per command of ``build_parser()`` naming every long option and
  choice, the exit codes and the error codes the CLI can print; its ``console`` examples are
  run, and their exit codes, JSON shapes and text (numbers aside) must match.
* docs/assumptions.md gives every named assumption with its value and unit, the TCP constants
  and receive profiles, and the sourced catalogue tables (SKUs, VM sizes, limits, region RTTs).
* docs/architecture.md places every package of tests/test_layers.py's LAYERS in its layer.
* Every module, file and scenario the docs name exists.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import inspect
import io
import json
import re
import shlex
import typing
from pathlib import Path

import attrs
import pytest
import yaml

from fabric.catalogue import circuits, firewalls, limits, prices, skus, vmsizes
from fabric.catalogue.latency import REGION_RTT_MS, LatencyModel, region_key
from fabric.cli import build_parser, main
from fabric.cli import common as cli_common
from fabric.io import InputError
from fabric.io.native import (
    SECTIONS,
    SIMULATION,
    _record_of,
    _strip_optional,
    document_schema,
    load_native,
)
from fabric.model import traffic as traffic_module
from fabric.model.events import ACTIONS, KINDS, Event
from fabric.model.findings import Finding
from fabric.model.traffic import FlowSpec
from fabric.sim import flows as flows_module
from fabric.sim import results as results_module
from fabric.sim import tcp
from fabric.study import intents as intents_module
from tests.test_layers import LAYERS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def read(name: str) -> str:
    path = DOCS / name
    assert path.exists(), f"docs/{name} is missing"
    return path.read_text()


# -- markdown helpers ------------------------------------------------------------------------------


def split_row(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` inside a cell is a literal bar)."""
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [cell.strip().replace("\\|", "|") for cell in cells]


def table_after(text: str, marker: str) -> list[list[str]] | None:
    """The body rows of the first table after ``marker`` (None if the marker is absent)."""
    at = text.find(marker)
    if at < 0:
        return None
    rows: list[list[str]] = []
    for line in text[at + len(marker) :].splitlines():
        if line.startswith("|"):
            rows.append(split_row(line))
        elif rows:
            break
    return rows[2:]  # header and --- separator


def ticked(cell: str) -> list[str]:
    """The ``code`` spans of a cell."""
    return re.findall(r"`([^`]+)`", cell)


def lines_with(text: str, token: str) -> list[str]:
    return [line for line in text.splitlines() if token in line]


NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:[eE][+-]?\d+)?")


def numbers_in(line: str) -> set[float]:
    """Every number written in ``line`` (thousands separators allowed)."""
    found = set()
    for match in NUMBER.findall(line):
        with contextlib.suppress(ValueError):
            found.add(float(match.replace(",", "")))
    return found


# -- docs/format.md --------------------------------------------------------------------------------


def _item_record(record: type | None, attr: str | None) -> type | None:
    """The record class of ``record``'s nested field ``attr`` (a tuple item or a mapping)."""
    if record is None or attr is None:
        return None
    attrs.resolve_types(record)
    field = attrs.fields_dict(record).get(attr)
    if field is None:  # a key the loader folds into the record's own fields (ARM's nesting)
        return None
    annotation = _strip_optional(field.type)
    if typing.get_origin(annotation) is tuple:
        return typing.get_args(annotation)[0]
    return annotation if attrs.has(annotation) else None


def schema_tables() -> list[tuple[str, dict, type | None]]:
    """(path, schema, record) for the top level and every nested table, depth first."""
    top = document_schema()
    records: dict[str, type] = {s: _record_of(s) for s in SECTIONS}
    records |= {"traffic": FlowSpec, "import_findings": Finding, "events": Event}
    tables = [("document", top, None)]

    def walk(path: str, schema: dict, record: type | None) -> None:
        tables.append((path, schema, record))
        for key, field in schema.items():
            if isinstance(field.kind, list):
                walk(f"{path}.{key}[]", field.kind[0], _item_record(record, field.attr))
            elif isinstance(field.kind, dict):
                walk(f"{path}.{key}", field.kind, _item_record(record, field.attr))

    for key, field in top.items():
        if isinstance(field.kind, list):
            walk(f"{key}[]", field.kind[0], records.get(key))
        elif isinstance(field.kind, dict):
            walk(key, field.kind, None)
    return tables


def kind_text(kind) -> str:
    if isinstance(kind, list):
        return "list"
    if isinstance(kind, dict):
        return "mapping"
    return kind


def render_default(value) -> str:
    """A default as format.md writes it (YAML spelling; quotes and digit grouping ignored)."""
    if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
        value = value.factory()
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(render_default(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render_default(v)}" for k, v in value.items()) + "}"
    return str(value)


def normal_default(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3})", "", text.replace('"', "").replace("'", "")).strip()


def string_tuples(values) -> set[str]:
    found: set[str] = set()
    for value in values:
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            found.update(value)
    return found


def allowed_values(record: type | None, attr: str | None, key: str) -> set[str]:
    """The values a key accepts, read from the code: the strings a record field's validators
    check against, and the traffic module's table named after the key (``PATTERNS``...)."""
    found: set[str] = set()
    field = attrs.fields_dict(record).get(attr) if record and attr else None
    validator = field.validator if field is not None else None
    for check in getattr(validator, "_validators", None) or ([validator] if validator else []):
        with contextlib.suppress(TypeError):
            names = inspect.getclosurevars(check)
            found |= string_tuples([*names.nonlocals.values(), *names.globals.values()])
    for name in (f"{key.upper()}S", f"{key.upper()}ES"):
        table = getattr(traffic_module, name, None)
        if isinstance(table, tuple | dict):
            found |= set(table)
    return found


TABLES = schema_tables()


def test_every_schema_table_is_documented_key_by_key():
    text = read("format.md")
    problems = []
    documented_paths = set(re.findall(r"<!-- schema: (\S+) -->", text))
    known_paths = {path for path, _, _ in TABLES}
    for stale in sorted(documented_paths - known_paths):
        problems.append(f"docs/format.md documents {stale!r}, which the schema does not have")
    for path, schema, record in TABLES:
        rows = table_after(text, f"<!-- schema: {path} -->")
        if rows is None:
            keys = ", ".join(schema)
            problems.append(
                f"no table for {path!r}: add '<!-- schema: {path} -->' and a table "
                f"with a row per key ({keys})"
            )
            continue
        documented = {}
        for row in rows:
            names = ticked(row[0])
            if names:
                documented[names[0]] = row
        for extra in sorted(set(documented) - set(schema)):
            problems.append(f"{path}: documents key {extra!r}, which the schema does not have")
        for key, field in schema.items():
            row = documented.get(key)
            if row is None:
                problems.append(f"{path}: key {key!r} ({kind_text(field.kind)}) is not documented")
                continue
            problems += check_row(path, key, field, record, row)
    assert not problems, "docs/format.md has drifted:\n  " + "\n  ".join(problems)


def check_row(path: str, key: str, field, record: type | None, row: list[str]) -> list[str]:
    """A documented key: its type, its required/default cell and its allowed values."""
    problems = []
    where = f"{path}.{key}"
    if len(row) < 4:
        return [f"{where}: the row needs the columns key | type | required / default | meaning"]
    kind = kind_text(field.kind)
    type_cell = row[1].replace("`", "")
    if not (type_cell == kind or (kind in ("list", "mapping") and type_cell.startswith(kind))):
        problems.append(f"{where}: type is {kind!r}, the row says {row[1]!r}")
    cell = row[2]
    # A key the loader folds into the record's own fields (ARM's nesting) has no field.
    attribute = attrs.fields_dict(record).get(field.attr) if record is not None else None
    alias = attribute is not None and attribute.metadata.get("yaml", attribute.name) != key
    if alias:
        if not cell.startswith("alias of"):
            problems.append(f"{where}: an alias of {field.attr!r}; write 'alias of `...`'")
    elif field.required or (attribute is not None and attribute.default is attrs.NOTHING):
        if not cell.startswith("required"):
            problems.append(f"{where}: is required, the row says {cell!r}")
    elif cell.startswith("required"):
        problems.append(f"{where}: is optional, the row says {cell!r}")
    elif attribute is not None:
        expected = render_default(attribute.default)
        shown = ticked(cell)
        if expected == "—":
            if not cell.startswith("—"):
                problems.append(f"{where}: has no default (None); the cell should start with '—'")
        elif not shown or normal_default(shown[0]) != normal_default(expected):
            problems.append(f"{where}: default is `{expected}`, the row says {cell!r}")
    written = set(ticked(" ".join(row[3:])))
    missing = allowed_values(record, field.attr, key) - written
    if missing:
        problems.append(f"{where}: allowed values not listed: {sorted(missing)}")
    return problems


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)


# A YAML example may be a fragment: a reference to something it does not declare, or a key
# it leaves out, is fine; an unknown key or a wrong type is not.
FRAGMENT = ("missing required key", "is not declared", "none are")


@pytest.mark.parametrize("name", ["format.md", "cli.md", "assumptions.md", "architecture.md"])
def test_yaml_examples_use_only_known_keys_and_types(name):
    path = DOCS / name
    if not path.exists():
        pytest.skip(f"docs/{name} not written")
    for i, block in enumerate(yaml_blocks(path.read_text())):
        data = yaml.safe_load(block)
        if not isinstance(data, dict) or not set(data) & set(document_schema()):
            continue  # not a topology (e.g. a parameters file)
        where = f"docs/{name} yaml block {i + 1}"
        try:
            load_native(data, where)
            problems = []
        except InputError as error:
            problems = [p for p in error.problems if not any(f in p.message for f in FRAGMENT)]
        assert not problems, "\n".join(p.render(where) for p in problems)


def test_simulation_parameters_point_to_the_assumptions():
    text = read("format.md")
    assert "simulation.parameters" in text
    assert "assumptions.md" in text
    for name in SIMULATION:
        assert f"`{name}`" in text


def test_every_event_action_is_documented():
    body = section(read("format.md"), "## `events`")
    assert body is not None, "docs/format.md has no section '## `events`'"
    missing = [name for name in (*ACTIONS, *KINDS) if f"`{name}`" not in body]
    assert not missing, f"docs/format.md's events section does not name {missing}"


# -- docs/cli.md -----------------------------------------------------------------------------------


def commands() -> dict[str, object]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)


def section(text: str, heading: str) -> str | None:
    """The text from ``heading`` (a line) to the next heading of the same or a higher level."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == heading:
            level = len(line) - len(line.lstrip("#"))
            body = []
            for later in lines[i + 1 :]:
                hashes = len(later) - len(later.lstrip("#"))
                if later.startswith("#") and hashes <= level:
                    break
                body.append(later)
            return "\n".join(body)
    return None


def test_every_command_option_and_choice_is_documented():
    text = read("cli.md")
    problems = []
    for name, parser in commands().items():
        heading = f"## `vnetsim {name}`"
        body = section(text, heading)
        if body is None:
            problems.append(f"no section '{heading}'")
            continue
        actions = list(parser._actions)
        for action in parser._actions:  # a command with kinds (generate hub-spoke|mesh)
            if isinstance(action, argparse._SubParsersAction):
                actions += [a for sub in action.choices.values() for a in sub._actions]
        for action in actions:
            longs = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
            for option in longs:
                if f"`{option}" not in body:
                    problems.append(f"{name}: option {option} is not documented")
            for choice in action.choices or ():
                if f"`{choice}`" not in body:
                    problems.append(f"{name}: {'/'.join(longs)} choice {choice!r} not documented")
    for option in build_parser()._actions:
        for flag in option.option_strings:
            if flag.startswith("--") and flag != "--help" and f"`{flag}`" not in text:
                problems.append(f"top-level option {flag} is not documented")
    assert not problems, "docs/cli.md has drifted:\n  " + "\n  ".join(problems)


def test_exit_codes_are_documented():
    text = read("cli.md")
    codes = {n: v for n, v in vars(cli_common).items() if n.startswith("EXIT_")}
    assert codes
    for name, value in codes.items():
        assert re.search(rf"^\| `{value}` \|", text, re.MULTILINE), f"exit code {value} ({name})"


def error_codes() -> set[str]:
    """Every error code the CLI can put in ``{"error": {"code"}}``: UsageError's default and
    every literal code passed to it in fabric/cli."""
    default = inspect.signature(cli_common.UsageError.__init__).parameters["code"].default
    found = {default}
    for path in (ROOT / "fabric" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "UsageError":
                arguments = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "code")]
                found |= {a.value for a in arguments if isinstance(a, ast.Constant)}
    return found


def test_error_codes_are_documented():
    text = read("cli.md")
    missing = sorted(code for code in error_codes() if f"`{code}`" not in text)
    assert not missing, f"docs/cli.md does not list the error codes {missing}"


def test_intents_file_keys_are_documented():
    body = section(read("cli.md"), "## `vnetsim check`")
    assert body is not None, "docs/cli.md has no section '## `vnetsim check`'"
    names = (*intents_module.KEYS, *intents_module.EXPECTATIONS)
    missing = [name for name in names if f"`{name}" not in body]
    assert not missing, f"docs/cli.md's check section does not name the intents keys {missing}"


# -- the console examples of the docs, run -----------------------------------------------------


def console_steps(text: str) -> list[tuple[str, list[str]]]:
    """(command line, expected output lines) of every ```console block, in order."""
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
    return steps


def normal_lines(lines: list[str]) -> list[str]:
    """Lines without numbers or runs of spaces, so that a table's values and widths may move."""
    out = [" ".join(NUMBER.sub("N", line).split()) for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def lines_match(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a line '...' stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(lines_match(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and lines_match(expected[1:], actual[1:])


def json_kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else type(value).__name__


def same_shape(doc, real, where: str = "$") -> list[str]:
    """Where a documented JSON value differs from the real one in shape: keys, list lengths (the
    docs may show fewer items) and value types."""
    if isinstance(doc, dict):
        if not isinstance(real, dict):
            return [f"{where}: documented an object, got {json_kind(real)}"]
        problems = []
        if set(doc) != set(real):
            problems.append(f"{where}: keys {sorted(set(doc) ^ set(real))} differ")
        for key in set(doc) & set(real):
            problems += same_shape(doc[key], real[key], f"{where}.{key}")
        return problems
    if isinstance(doc, list):
        if not isinstance(real, list) or len(doc) > len(real):
            return [f"{where}: documented a list of {len(doc)}, got {real!r:.80}"]
        return [p for i, d in enumerate(doc) for p in same_shape(d, real[i], f"{where}[{i}]")]
    if json_kind(doc) != json_kind(real):
        return [f"{where}: {json_kind(doc)} documented, {json_kind(real)} printed"]
    return []


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def check_console(name: str, tmp_path: Path, monkeypatch) -> None:
    """Run every ``$ vnetsim ...`` of docs/``name`` in a folder that sees the project's
    scenarios/ and docs/ and compare: ``$ echo $?`` gives the exit code, ``--json`` output is
    compared by shape, other output line by line with numbers and spacing ignored."""
    steps = console_steps(read(name))
    assert steps, f"docs/{name} has no console examples"
    for folder in ("scenarios", "docs"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    last: tuple[str, int] | None = None
    problems = []
    for command, expected in steps:
        words = shlex.split(command)
        if words == ["echo", "$?"]:
            assert last is not None, f"docs/{name}: 'echo $?' before any command"
            if expected[:1] != [str(last[1])]:
                problems.append(f"{last[0]}: exits {last[1]}, the docs say {expected[:1]}")
            continue
        if words[0] == "cat":
            actual = (tmp_path / words[1]).read_text().splitlines()
            if not lines_match(normal_lines(expected), normal_lines(actual)):
                problems.append(f"{command}: the file differs from the docs")
            continue
        assert words[0] == "vnetsim", f"docs/{name}: cannot run {command!r} in the test"
        code, out, err = run_cli(words[1:])
        last = (command, code)
        if "--json" in words:
            try:
                documented = json.loads("\n".join(expected))
            except ValueError:
                problems.append(f"{command}: the documented output is not JSON")
                continue
            for problem in same_shape(documented, json.loads(out)):
                problems.append(f"{command}: {problem}")
        elif not lines_match(normal_lines(expected), normal_lines((err + out).splitlines())):
            problems.append(f"{command}: output differs from the docs; it is now:\n{err}{out}")
    assert not problems, f"docs/{name} examples have drifted:\n" + "\n".join(problems)


def test_cli_examples_run_as_documented(tmp_path, monkeypatch):
    check_console("cli.md", tmp_path, monkeypatch)


def test_format_examples_run_as_documented(tmp_path, monkeypatch):
    check_console("format.md", tmp_path, monkeypatch)


def test_every_command_has_an_example():
    text = read("cli.md")
    run = {shlex.split(c)[1] for c, _ in console_steps(text) if c.startswith("vnetsim ")}
    missing = sorted(set(commands()) - run)
    assert not missing, f"docs/cli.md has no example of {missing}"


# -- docs/assumptions.md ---------------------------------------------------------------------------


def printed(value) -> str:
    """A value as results.json prints it."""
    return value if isinstance(value, str) else json.dumps(value)


def test_every_named_assumption_has_its_value_and_unit():
    text = read("assumptions.md")
    problems = []
    for row in results_module.assumptions(LatencyModel()):
        name, value, unit = row["name"], printed(row["value"]), row["unit"]
        lines = lines_with(text, f"| `{name}` |")
        if not lines:
            problems.append(f"no table row for assumption `{name}` ({value} {unit})")
        elif f"`{value}`" not in lines[0] or unit not in lines[0]:
            problems.append(f"`{name}`: the row should show `{value}` and the unit {unit!r}")
    assert not problems, "docs/assumptions.md has drifted:\n  " + "\n  ".join(problems)


def test_every_latency_parameter_has_its_range():
    text = read("assumptions.md")
    for field in attrs.fields(LatencyModel):
        line = lines_with(text, f"| `{field.name}` |")[0]
        low, high = field.metadata["range"]
        assert {float(low), float(high)} <= numbers_in(line), f"{field.name}: range {low}-{high}"


def module_constants(module) -> dict[str, float]:
    """Numeric UPPER_CASE constants of a module (unit conversions and negative sentinels aside)."""
    return {
        name: value
        for name, value in vars(module).items()
        if name.isupper()
        and not name.startswith("NS_PER")
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and value >= 0
    }


def assert_rows(text: str, rows: dict[str, list[float]], what: str) -> None:
    """Each name (``Record.field`` for a field) has a line with its numbers."""
    problems = []
    for name, values in rows.items():
        tokens = [f"`{part}`" for part in name.split(".")]
        lines = [line for line in text.splitlines() if all(t in line for t in tokens)]
        if not any(set(map(float, values)) <= numbers_in(line) for line in lines):
            problems.append(f"{' '.join(tokens)} with {values}")
    assert not problems, f"docs/assumptions.md lacks {what}: " + "; ".join(problems)


TCP_RECORDS = (tcp.RtoParams, tcp.HyStartParams, tcp.RenoParams, tcp.CubicParams, tcp.AckPolicy)


def test_tcp_and_flow_constants_are_documented():
    text = read("assumptions.md")
    rows = {n: [v] for m in (tcp, flows_module) for n, v in module_constants(m).items()}
    for record in (*TCP_RECORDS, tcp.LinuxReceiveBuffers):
        for field in attrs.fields(record):
            value = field.default
            if isinstance(value, int | float) and not isinstance(value, bool):
                rows[f"{record.__name__}.{field.name}"] = [value]
            else:  # a switch or a nested record: named in the record's row
                rows[f"{record.__name__}.{field.name}"] = []
    assert_rows(text, rows, "TCP and flow constants")


def test_receive_profiles_are_documented():
    text = read("assumptions.md")
    profiles = {
        v.name: [v.initial_window_bytes, v.max_window_bytes]
        for v in vars(tcp).values()
        if isinstance(v, tcp.ReceiveWindowProfile)
    }
    assert set(profiles) >= {"linux", "windows"}
    for level, scale in tcp.WINDOWS_AUTOTUNING_SCALE.items():
        profiles[f"windows-{level}"] = [tcp.MAX_UNSCALED_WINDOW << scale]
    assert_rows(text, profiles, "TCP receive profiles")


def test_catalogue_tables_are_documented():
    text = read("assumptions.md")
    wrong = []
    for (name, generation), spec in skus.CATALOGUE.items():
        rows = " ".join(
            line for line in lines_with(text, f"| `{name}` |") if f"| {generation} |" in line
        )
        numbers = {spec.s2s_tunnels, spec.aggregate_mbps, spec.supported_vms}
        for cap in spec.tunnel_caps.values():
            numbers |= {cap.mbps, cap.pps}
        if not set(map(float, numbers)) <= numbers_in(rows):
            wrong.append(f"{name} Generation{generation}")
    assert not wrong, f"docs/assumptions.md: SKU rows missing or with other numbers: {wrong}"
    sizes = {s.name: [s.vcpus, s.max_nics, s.max_egress_mbps] for s in vmsizes.VM_SIZES.values()}
    assert_rows(text, sizes, "VM sizes")
    assert f"`{vmsizes.DEFAULT_VM_SIZE}`" in text
    assert f"`{skus.DEFAULT_CIPHER}`" in text
    assert_rows(text, {n: [v] for n, v in module_constants(limits).items()}, "limits")


def yes_no(cell: str) -> bool:
    assert cell in ("yes", "no"), f"expected yes or no, got {cell!r}"
    return cell == "yes"


def numeric(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_vm_sizes_say_whether_they_support_vnet_encryption():
    text = read("assumptions.md")
    rows = table_after(text, "<!-- table: vm sizes -->") or []
    documented = {ticked(r[0])[0]: yes_no(r[4]) for r in rows if len(r) >= 5 and ticked(r[0])}
    expected = {s.name: vmsizes.supports_vnet_encryption(s.name) for s in vmsizes.VM_SIZES.values()}
    assert documented == expected


def er_row(spec: skus.ExpressRouteSkuSpec) -> tuple:
    return (
        spec.mbps,
        spec.pps,
        spec.supported_vms,
        spec.flows,
        spec.routes_learned,
        spec.circuit_connections,
        spec.fastpath,
    )


def test_expressroute_gateway_skus_are_documented():
    text = read("assumptions.md")
    rows = table_after(text, "<!-- table: expressroute gateway skus -->") or []
    documented = {
        ticked(r[0])[0]: (*(numeric(c) for c in r[1:7]), yes_no(r[7]), yes_no(r[8]))
        for r in rows
        if len(r) >= 9 and ticked(r[0])
    }
    expected = {
        s.name: (*er_row(s), s.zone_redundant) for s in skus.EXPRESS_ROUTE_CATALOGUE.values()
    }
    assert documented == expected
    # ErGwScale at the documented unit counts, which must include every breakpoint of the rule:
    # the range's ends, the first unit of the second pps/VM tier, the circuit-count steps and
    # FastPath's threshold.
    scale = table_after(text, "<!-- table: ergwscale -->") or []
    documented_scale = {
        int(r[0]): (*(numeric(c) for c in r[1:7]), yes_no(r[7])) for r in scale if len(r) >= 8
    }
    for units, row in documented_scale.items():
        assert row == er_row(skus.scalable(units)), f"ErGwScale with {units} unit(s)"
    low, high = skus.SCALE_UNIT_RANGE
    breakpoints = {low, high, skus._SCALE_FIRST_TIER_UNITS + 1, skus._SCALE_FASTPATH_UNITS}
    breakpoints |= {floor for floor, _ in skus._SCALE_CONNECTIONS}
    assert breakpoints <= set(documented_scale), "ErGwScale rows at every breakpoint"
    assert_rows(
        text,
        {
            "EXPRESS_ROUTE_MAX_PACKET_BYTES": [skus.EXPRESS_ROUTE_MAX_PACKET_BYTES],
            "Basic": [skus.EXPRESS_ROUTE_BASIC_MBPS],
        },
        "ExpressRoute gateway constants",
    )


def test_expressroute_circuit_tables_are_documented():
    text = read("assumptions.md")
    links = table_after(text, "<!-- table: circuit vnet links -->") or []
    documented = {int(numeric(r[0])): (int(r[1]), int(r[2])) for r in links if len(r) >= 3}
    assert documented == circuits.VNET_LINKS
    assert_rows(text, {n: [v] for n, v in module_constants(circuits).items()}, "circuit limits")
    assert_rows(
        text,
        {
            "PROVIDER_SIZES_MBPS": list(circuits.PROVIDER_SIZES_MBPS),
            "DIRECT_SIZES_MBPS": list(circuits.DIRECT_SIZES_MBPS),
            "ON_PREMISES_ROUTES": sorted(set(circuits.ON_PREMISES_ROUTES.values())),
            "ROUTING_WEIGHT_RANGE": list(circuits.ROUTING_WEIGHT_RANGE),
        },
        "circuit tables",
    )
    locations = table_after(text, "<!-- table: peering locations -->") or []
    documented_locations = {
        circuits.location_key(r[0]): (
            r[0],
            tuple(circuits.region_key(x) for x in r[1].split(", ")),
            r[2],
        )
        for r in locations
        if len(r) >= 3
    }
    expected_locations = {
        key: (m.name, m.regions, m.area) for key, m in circuits.PEERING_LOCATIONS.items()
    }
    assert documented_locations == expected_locations
    areas = table_after(text, "<!-- table: geopolitical areas -->") or []
    documented_areas = {
        circuits.region_key(region): r[0] for r in areas for region in r[1].split(", ")
    }
    assert documented_areas == circuits.REGION_AREAS


def test_firewall_tiers_are_documented():
    text = read("assumptions.md")
    rows = table_after(text, "<!-- table: firewall tiers -->") or []
    documented = {
        ticked(r[0])[0]: (*(float(c.replace(",", "")) for c in r[1:4]), r[4] == "yes")
        for r in rows
        if len(r) >= 5 and ticked(r[0])
    }
    expected = {
        tier: (s.ceiling_mbps, s.initial_mbps, s.single_flow_mbps, s.autoscales)
        for tier, s in firewalls.FIREWALL_SPECS.items()
    }
    assert documented == expected
    assert_rows(text, {"SCALE_OUT_MINUTES": list(firewalls.SCALE_OUT_MINUTES)}, "firewalls")


def test_price_table_is_documented():
    text = read("assumptions.md")
    rows = table_after(text, "<!-- table: prices -->") or []
    documented = {
        (ticked(r[0])[0], r[1]): (float(r[2]), r[3]) for r in rows if len(r) >= 4 and ticked(r[0])
    }
    expected = {key: (p.amount, p.unit) for key, p in prices.PRICES.prices.items()}
    assert documented == expected
    for item in prices.UNKNOWN_ITEMS:  # what the table lacks is said to be unknown
        assert f"`{item}`" in text, f"unpriced item {item} is not named"
    assert f"`{prices.BUILT_IN_DATE}`" in text, "the built-in table's date is not given"
    zones = table_after(text, "<!-- table: billing zones -->") or []
    documented_zones = {
        region_key(region): zone[0] for zone in zones for region in zone[1].split(", ")
    }
    assert documented_zones == prices.BILLING_ZONES


def test_cost_assumptions_are_documented():
    text = read("assumptions.md")
    for row in prices.CostAssumptions().assumptions():
        lines = lines_with(text, f"| `{row['name']}` |")
        assert lines, f"no table row for cost assumption `{row['name']}`"
        assert f"`{printed(row['value'])}`" in lines[0], f"`{row['name']}`: value"
        assert row["unit"] in lines[0], f"`{row['name']}`: unit {row['unit']}"
    for field in attrs.fields(prices.CostAssumptions):
        line = lines_with(text, f"| `{field.name}` |")[0]
        low, high = field.metadata["range"]
        assert {float(low), float(high)} <= numbers_in(line), f"{field.name}: range {low}-{high}"


def test_region_round_trips_are_documented():
    text = read("assumptions.md")
    rows = table_after(text, "<!-- table: region round trips -->") or []
    documented = {(region_key(r[0]), region_key(r[1])): float(r[2]) for r in rows if len(r) >= 3}
    assert documented == REGION_RTT_MS


# -- docs/architecture.md --------------------------------------------------------------------------


def test_every_layer_package_is_placed():
    text = read("architecture.md")
    problems = []
    for package, layer in LAYERS.items():
        lines = lines_with(text, f"| `{package}` |")
        if not lines:
            problems.append(f"`{package}` has no row")
        elif layer >= 0 and str(layer) not in split_row(lines[0]):
            problems.append(f"`{package}` is layer {layer}, its row says {lines[0]!r}")
    assert not problems, "docs/architecture.md has drifted:\n  " + "\n  ".join(problems)


# -- names the docs use ----------------------------------------------------------------------------


FILE = re.compile(r"(fabric|simulator|scenarios|docs|tests|benchmarks)/[\w./-]+")


def resolves(dotted: str) -> bool:
    """Whether ``fabric.x.y`` names a module, or an attribute of one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("name", ["format.md", "cli.md", "assumptions.md", "architecture.md"])
def test_named_modules_and_files_exist(name):
    text = read(name)
    problems = []
    for token in sorted(set(re.findall(r"`([^`\s]+)`", text))):
        token = token.rstrip("/").removesuffix("()")
        module = re.fullmatch(r"(fabric|simulator)(\.\w+)+", token)
        missing = (
            not resolves(token) if module else FILE.fullmatch(token) and not (ROOT / token).exists()
        )
        if missing:
            problems.append(f"{token} does not exist")
    assert not problems, f"docs/{name} names what is not there:\n  " + "\n  ".join(problems)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("name", ["format.md", "cli.md", "assumptions.md", "architecture.md"])
def test_links_between_docs_resolve(name):
    text = read(name)
    problems = []
    for target, anchor in re.findall(r"\]\(([\w./-]*?)(?:#([\w-]+))?\)", text):
        if target.startswith(("http", "/")):
            continue
        path = (DOCS / target) if target else DOCS / name
        if not path.exists():
            problems.append(f"link to {target}: no such file")
            continue
        if anchor and path.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)
            if anchor not in {slug(h) for h in headings}:
                problems.append(f"link to {target}#{anchor}: no such heading")
    assert not problems, f"docs/{name}:\n  " + "\n  ".join(problems)
