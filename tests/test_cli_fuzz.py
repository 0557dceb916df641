"""Hostile input at the command line: random bytes, documents near the native schema, ARM
expressions and option values. Every outcome is exit 0, 1 or 2, with JSON on stdout under
``--json`` and never a traceback (main must not raise)."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.cli import main
from fabric.io.native import document_schema

FUZZ = settings(  # VNETSIM_FUZZ_EXAMPLES=2000 for a long local hunt; CI keeps it short
    max_examples=int(os.environ.get("VNETSIM_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

COMMANDS = [
    ["validate"],
    ["routes", "--vnet", "hub", "--subnet", "app"],
    ["next-hop", "--src", "10.0.0.4", "--dst", "10.1.0.4"],
    [
        "ip-flow",
        "--src",
        "10.0.0.4",
        "--dst",
        "10.1.0.4",
        "--protocol",
        "Tcp",
        "--port",
        "22",
        "--direction",
        "Inbound",
    ],
    ["connectivity", "--src", "10.0.0.4", "--dst", "10.1.0.4"],
    ["import"],
    ["run", "--duration", "0.01"],
]


def check_outcome(capsys, argv: list[str]) -> int:
    """Run ``argv`` with --json; the contract holds whatever the input."""
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, captured.err)
    assert "Traceback" not in captured.err
    json.loads(captured.out, parse_constant=_not_json)  # strict JSON, whatever happened
    return code


def _not_json(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


def invoke(capsys, tmp_path, command: list[str], text: str | bytes, suffix: str) -> int:
    path = tmp_path / f"input{suffix}"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    name, *options = command
    return check_outcome(capsys, [name, str(path), *options])


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "hub", "10.0.0.0/16", "10.0.0.0/33", "::/0", "VpnGw1", "*", "Tcp"]),
    st.text(max_size=12),
)


def near(schema: dict, depth: int = 0) -> st.SearchStrategy:
    """Mappings whose keys mostly come from ``schema`` and whose values are anything."""
    keys = st.sampled_from(sorted(schema)) if schema else st.text(max_size=6)
    key = st.one_of(keys, keys, st.text(max_size=8))

    def value(name: str) -> st.SearchStrategy:
        field = schema.get(name)
        kind = getattr(field, "kind", None)
        if depth < 2 and isinstance(kind, list) and kind and isinstance(kind[0], dict):
            return st.lists(st.one_of(near(kind[0], depth + 1), scalars), max_size=3)
        if depth < 2 and isinstance(kind, dict):
            return st.one_of(near(kind, depth + 1), scalars)
        return st.one_of(scalars, st.lists(scalars, max_size=3))

    return key.flatmap(lambda k: st.dictionaries(st.just(k), value(k), max_size=1)).flatmap(
        lambda first: st.lists(
            key.flatmap(lambda k: value(k).map(lambda v: (k, v))), max_size=4
        ).map(lambda pairs: {**first, **dict(pairs)})
    )


@FUZZ
@given(data=st.binary(max_size=300), command=st.sampled_from(COMMANDS))
def test_random_bytes(capsys, tmp_path, data, command):
    invoke(capsys, tmp_path, command, data, ".yaml")


@FUZZ
@given(document=near(document_schema()), command=st.sampled_from(COMMANDS))
def test_documents_near_the_schema(capsys, tmp_path, document, command):
    import yaml

    text = yaml.safe_dump(document, allow_unicode=True)
    invoke(capsys, tmp_path, command, text, ".yaml")
    invoke(capsys, tmp_path, command, json.dumps(document, default=str), ".json")


FUNCTIONS = [
    "concat",
    "padLeft",
    "copyIndex",
    "length",
    "split",
    "cidrSubnet",
    "int",
    "parameters",
    "variables",
    "resourceId",
    "if",
    "range",
    "take",
    "format",
    "json",
]


def expressions(depth: int = 0) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
        st.sampled_from(["'10.0.0.0/16'", "'a'", "''", "true", "null", "'x,y'"]),
    )
    if depth >= 3:
        return leaf
    call = st.tuples(st.sampled_from(FUNCTIONS), st.lists(expressions(depth + 1), max_size=3)).map(
        lambda c: f"{c[0]}({', '.join(c[1])})"
    )
    return st.one_of(leaf, call, st.text(max_size=10))


@FUZZ
@given(expression=expressions(), count=scalars, command=st.sampled_from(COMMANDS[:2]))
def test_arm_expressions(capsys, tmp_path, expression, count, command):
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
        "deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"p": {"type": "string", "defaultValue": f"[{expression}]"}},
        "resources": [
            {
                "type": "Microsoft.Network/virtualNetworks",
                "apiVersion": "2023-04-01",
                "name": "[concat('hub', string(copyIndex()))]",
                "location": "westeurope",
                "copy": {"name": "vnets", "count": count},
                "properties": {
                    "addressSpace": {"addressPrefixes": ["[parameters('p')]"]},
                    "subnets": [
                        {"name": "app", "properties": {"addressPrefix": f"[{expression}]"}}
                    ],
                },
            }
        ],
    }
    invoke(capsys, tmp_path, command, json.dumps(template, default=str), ".json")


options = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "--seed",
                "--duration",
                "--engine",
                "--out",
                "--workers",
                "--grid",
                "--port",
                "--protocol",
                "--direction",
                "--src",
                "--dst",
                "--traffic",
                "--parameter",
                "--var",
            ]
        ),
        st.sampled_from(["-1", "0", "nan", "inf", "1e30", "x", "=", "a=b", "10.0.0.4", ""]),
    ),
    max_size=6,
)


@FUZZ
@given(
    command=st.sampled_from(["validate", "run", "sweep", "routes", "ip-flow", "import", "x"]),
    extra=options,
)
def test_random_options(capsys, tmp_path, monkeypatch, command, extra):
    from fabric.scenarios import path

    monkeypatch.chdir(tmp_path)  # an --out or -o among the options writes here, not in the repo
    check_outcome(capsys, [command, str(path("hub_spoke")), *extra])
