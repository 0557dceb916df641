"""ARM template functions against Microsoft's documented examples (template-functions-cidr,
-array, -object and -lambda reference pages), their limits, and random expressions that may
only ever raise ExpressionError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.io.arm_expressions import ExpressionError, Scope
from fabric.io.arm_functions import MAX_STRING, PURE_FUNCTIONS


def evaluate(expression: str):
    return Scope().resolve(f"[{expression}]")


def lit(value) -> str:
    """An ARM expression that yields ``value`` (via json())."""
    return "json('" + json.dumps(value).replace("'", "''") + "')"


DOGS = [
    {"name": "Evie", "age": 5, "interests": ["Ball", "Frisbee"]},
    {"name": "Casper", "age": 3, "interests": ["Other dogs"]},
    {"name": "Indy", "age": 2, "interests": ["Butter"]},
    {"name": "Kira", "age": 8, "interests": ["Rubs"]},
]

DOCUMENTED = [
    # template-functions-cidr.md
    (
        "parseCidr('10.144.0.0/20')",
        {
            "network": "10.144.0.0",
            "netmask": "255.255.240.0",
            "broadcast": "10.144.15.255",
            "firstUsable": "10.144.0.1",
            "lastUsable": "10.144.15.254",
            "cidr": 20,
        },
    ),
    (
        "parseCidr('fdad:3236:5555::/48')",
        {
            "network": "fdad:3236:5555::",
            "netmask": "ffff:ffff:ffff::",
            "firstUsable": "fdad:3236:5555::",
            "lastUsable": "fdad:3236:5555:ffff:ffff:ffff:ffff:ffff",
            "cidr": 48,
        },
    ),
    *[(f"cidrSubnet('10.144.0.0/20', 24, {i})", f"10.144.{i}.0/24") for i in range(5)],
    ("cidrSubnet('fdad:3236:5555::/48', 52, 3)", "fdad:3236:5555:3000::/52"),
    *[(f"cidrHost('10.144.3.0/24', {i})", f"10.144.3.{i + 1}") for i in range(5)],
    ("cidrHost('fdad:3236:5555:3000::/52', 4)", "fdad:3236:5555:3000::5"),
    # template-functions-array.md / -object.md
    ("createArray('a', 'b', 'c')", ["a", "b", "c"]),
    ("createArray()", []),
    ("take(createArray('one', 'two', 'three'), 2)", ["one", "two"]),
    ("take('one two three', 2)", "on"),
    ("skip(createArray('one', 'two', 'three'), 2)", ["three"]),
    ("skip('one two three', 4)", "two three"),
    ("take('abc', 0)", ""),
    ("take('abc', -2)", ""),  # "0 or less: an empty value"
    ("take('abc', 9)", "abc"),  # "larger than the length: all of it"
    ("skip('abc', -2)", "abc"),  # "0 or less: all of it"
    ("skip(createArray(1, 2), 9)", []),
    (
        "union(createArray('one', 'two', 'three'), createArray('three', 'four'))",
        ["one", "two", "three", "four"],
    ),
    (
        f"union({lit({'one': 'a', 'two': 'b', 'three': 'c1'})}, "
        f"{lit({'three': 'c2', 'four': 'd', 'five': 'e'})})",
        {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"},
    ),
    (  # the deep-merge example: nested objects merge, nested arrays are replaced
        f"union({lit({'property': {'one': 'a', 'two': 'b', 'three': 'c1'}, 'nestedArray': [1, 2]})}"
        f", {lit({'property': {'three': 'c2', 'four': 'd', 'five': 'e'}, 'nestedArray': [3, 4]})})",
        {
            "property": {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"},
            "nestedArray": [3, 4],
        },
    ),
    (
        f"union({lit([['one', 'two'], ['three']])}, {lit([['three'], ['four', 'two']])})",
        [["one", "two"], ["three"], ["four", "two"]],
    ),
    (
        "items(" + lit({"item002": {"enabled": False}, "item001": {"enabled": True}}) + ")",
        [
            {"key": "item001", "value": {"enabled": True}},
            {"key": "item002", "value": {"enabled": False}},
        ],
    ),
    ("contains('OneTwoThree', 'e')", True),
    ("contains('OneTwoThree', 'z')", False),
    ("contains('OneTwoThree', 'one')", False),  # strings compare case-sensitively
    ("contains(" + lit({"one": "a"}) + ", 'ONE')", True),  # object keys do not
    ("contains(createArray('one', 'two'), 'two')", True),
    ("json('null')", None),
    ("json('[1, 2, 3]')", [1, 2, 3]),
    ("tryGet(" + lit({"a": {"b": 1}}) + ", 'a', 'b')", 1),
    ("tryGet(" + lit({"a": {"b": 1}}) + ", 'a', 'x')", None),
    ("tryGet(createArray(1, 2), 5)", None),
    ("tryGet(createArray(1, 2), 1)", 2),
    ("range(5, 3)", [5, 6, 7]),
    ("bool('False')", False),
    ("bool(1)", True),
    # template-functions-lambda.md
    (
        f"filter({lit(DOGS)}, lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5)))",
        [DOGS[0], DOGS[3]],
    ),
    ("filter(range(0, 10), lambda('i', greater(lambdaVariables('i'), 5)))", [6, 7, 8, 9]),
    (
        "filter(range(0, 10), lambda('i', equals(0, mod(lambdaVariables('i'), 2))))",
        [0, 2, 4, 6, 8],
    ),
    (f"map({lit(DOGS)}, lambda('dog', lambdaVariables('dog').name))", [d["name"] for d in DOGS]),
    (
        f"map({lit(DOGS)}, lambda('dog', format('Hello {{0}}!', lambdaVariables('dog').name)))",
        [f"Hello {d['name']}!" for d in DOGS],
    ),
    (
        f"reduce(map({lit(DOGS)}, lambda('d', lambdaVariables('d').age)), 1, "
        "lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))",
        19,
    ),
    (
        "reduce(createArray(createObject('foo', 123), createObject('bar', 456)), createObject(), "
        "lambda('cur', 'next', union(lambdaVariables('cur'), lambdaVariables('next'))))",
        {"foo": 123, "bar": 456},
    ),
    (
        f"map(sort({lit(DOGS)}, lambda('a', 'b', less(lambdaVariables('a').age, "
        "lambdaVariables('b').age))), lambda('d', lambdaVariables('d').name))",
        ["Indy", "Casper", "Evie", "Kira"],
    ),
    (
        f"toObject({lit(DOGS[:2])}, lambda('e', lambdaVariables('e').name), "
        "lambda('e', lambdaVariables('e').age))",
        {"Evie": 5, "Casper": 3},
    ),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression, expected):
    assert evaluate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("range(0, 10001)", "count must be from 0 to 10000"),
        ("range(0, -1)", "count must be from 0 to 10000"),
        ("padLeft('7', 100000000, '0')", "over vnetsim's"),
        ("padLeft('7', 3, 'ab')", "one character"),
        ("cidrSubnet('10.0.0.0/24', 16, 0)", "newCIDR 16"),
        ("cidrSubnet('10.0.0.0/24', 26, 4)", "has 4 /26 subnets"),
        ("cidrHost('10.0.0.0/30', 2)", "2 usable hosts"),
        ("parseCidr('10.0.0.300/24')", "not a CIDR range"),
        ("bool('yes')", "neither"),
        ("not('false ')", None),  # 'false' in any spacing/case is a boolean string: allowed
        ("if('maybe', 1, 2)", "condition of if"),
        ("and(true(), 'x')", "and()"),
        ("union(createArray(1), createObject())", "only arrays or only objects"),
        ("json('{')", "not valid JSON"),
        ("lambdaVariables('x')", "outside a lambda"),
        ("lambda('x', 1)", "argument of filter"),
        ("mul(4294967296, 4294967296)", "64-bit"),
        ("first(createArray())", "empty"),
    ],
)
def test_bad_arguments_are_expression_errors(expression, message):
    if message is None:
        evaluate(expression)
        return
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(expression)


def test_strings_stop_at_the_size_limit():
    half = f"padLeft('x', {MAX_STRING // 2 + 1}, 'y')"
    with pytest.raises(ExpressionError, match="string of"):
        evaluate(f"concat({half}, {half})")


def test_nested_lambdas_over_large_arrays_run_out_of_budget_not_of_time():
    inner = "map(range(0, 10000), lambda('j', lambdaVariables('j')))"
    with pytest.raises(ExpressionError, match="evaluation steps"):
        evaluate(f"map(range(0, 10000), lambda('i', {inner}))")


def test_deeply_nested_expressions_are_a_clear_error():
    with pytest.raises(ExpressionError, match="nested deeper"):
        evaluate("concat(" * 500 + "'a'" + ")" * 500)
    with pytest.raises(ExpressionError, match="accessors"):
        evaluate("createObject()" + ".a" * 500)


# -- random expressions: only ExpressionError, ever ----------------------------------------

ATOMS = [
    "'a'",
    "'10.0.0.0/16'",
    "''",
    "0",
    "-3",
    "900000",
    "true()",
    "null()",
    "createArray(1, 'b')",
    "createObject('k', 'v')",
    "lambda('x', lambdaVariables('x'))",
    "lambdaVariables('x')",
    "copyIndex()",
]
FUNCTIONS = sorted({*PURE_FUNCTIONS, "filter", "map", "reduce", "sort", "toobject", "if"})


@st.composite
def random_expressions(draw, depth: int = 0) -> str:
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        text = draw(st.sampled_from(ATOMS))
    else:
        name = draw(st.sampled_from(FUNCTIONS))
        args = [draw(random_expressions(depth + 1)) for _ in range(draw(st.integers(0, 3)))]
        text = f"{name}({', '.join(args)})"
    accessor = draw(st.sampled_from(["", ".k", "[0]", "['k']", "[-1]"]))
    return text + accessor


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(random_expressions())
def test_random_expressions_raise_only_expression_errors(expression):
    with contextlib.suppress(ExpressionError):
        evaluate(expression)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('objectKeys(json(\'{"a": 1, "b": 2}\'))', ["a", "b"]),
        (
            'shallowMerge(json(\'[{"a": 1, "n": {"x": 1}}, {"b": 2, "n": {"y": 2}}]\'))',
            {"a": 1, "n": {"y": 2}, "b": 2},
        ),
    ],
)
def test_object_functions_bicep_emits(expression, expected):
    assert evaluate(expression) == expected


# -- user-defined functions (ARM `functions`, Bicep `func` in namespace __bicep) ------------------


def udf_template(value: str, **extra) -> dict:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "functions": [
            {
                "namespace": "__bicep",
                "members": {
                    "spokeName": {
                        "parameters": [{"name": "index", "type": "int"}],
                        "output": {"type": "string", "value": value},
                    }
                },
            }
        ],
        "variables": {"prefix": "x"},
        "resources": [
            {
                "type": "Microsoft.Network/virtualNetworks",
                "name": "[__bicep.spokeName(3)]",
                "location": "westeurope",
                "properties": {"addressSpace": {"addressPrefixes": ["10.3.0.0/16"]}},
                **extra,
            }
        ],
    }


def test_a_user_defined_function_is_evaluated_with_its_arguments():
    from fabric.io.arm import load_arm

    fabric, findings = load_arm(
        udf_template("[format('vnet-spoke-{0}', parameters('index'))]"), None, "t.json"
    )
    assert list(fabric.vnets) == ["vnet-spoke-3"]
    assert findings == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[variables('prefix')]", "cannot read variables('prefix')"),
        ("[parameters('other')]", "has no parameter 'other'"),
    ],
)
def test_a_user_defined_function_sees_only_its_parameters(value, message):
    from fabric.io.arm import load_arm

    _, findings = load_arm(udf_template(value), None, "t.json")
    assert any(message in f.message for f in findings), [f.message for f in findings]


def test_reference_by_symbolic_name_in_language_version_2():
    from fabric.io.arm import load_arm

    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "resources": {
            "hub": {
                "type": "Microsoft.Network/virtualNetworks",
                "name": "vnet-hub",
                "location": "westeurope",
                "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}},
            },
            "spoke": {
                "type": "Microsoft.Network/virtualNetworks",
                "name": "vnet-spoke",
                "location": "westeurope",
                "properties": {
                    "addressSpace": {
                        "addressPrefixes": [
                            "[cidrSubnet(reference('hub').addressSpace.addressPrefixes[0], 17, 1)]"
                        ]
                    }
                },
            },
        },
    }
    fabric, findings = load_arm(template, None, "t.json")
    assert findings == []
    assert fabric.vnets["vnet-spoke"].address_prefixes == ("10.0.128.0/17",)
