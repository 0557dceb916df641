"""The Terraform expression evaluator and functions: Terraform's results for the forms that
infrastructure code uses, unknown values flowing through, and errors (never Python exceptions)
for everything else, including randomly built expressions."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.io.terraform.expressions import Scope, evaluate, parse_expression
from fabric.io.terraform.functions import FUNCTIONS
from fabric.io.terraform.hcl import parse_text
from fabric.io.terraform.values import EvalError, SetValue, Unknown

UNSET = Unknown("var.prefix has no value", "${var.prefix}", "var.prefix")
NAMES = {
    "m": {"b": 2, "a": 1},
    "l": ["x", "y", "z"],
    "objs": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "n": None,
    "u": UNSET,
}


def value(text: str, **names):
    scope = Scope(names={**NAMES, **names}, functions=FUNCTIONS)
    return evaluate(parse_expression(text), scope)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"plain"', "plain"),
        ('"a\\"b\\n\\u00e9"', 'a"b\né'),
        ('"$${literal} and %%{literal}"', "${literal} and %{literal}"),
        ('"${l[0]}-${m.a}"', "x-1"),
        ('"${l}"', ["x", "y", "z"]),  # a lone interpolation keeps its type
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("6 / 2", 3),
        ("-7 % 3", -1),
        ("5 -1", 4),
        ('"3" + 1', 4),
        ("1 == 1.0", True),
        ('"1" == 1', False),
        ("true == 1", False),
        ("!true || 2 >= 2", True),
        ('n == null ? "none" : n.x', "none"),  # only the chosen branch is evaluated
        ('[for s in l : upper(s) if s != "y"]', ["X", "Z"]),
        ("{for k, v in m : v => k}", {"1": "a", "2": "b"}),
        ("[for k, v in m : k]", ["a", "b"]),  # maps iterate in key order
        ('{for o in objs : "all" => o.name...}', {"all": ["a", "b"]}),
        ("objs[*].name", ["a", "b"]),
        ("objs.*.id", [1, 2]),
        ("n[*]", []),
        ('m["b"]', 2),
        ("l.1", "y"),
        ('{a = 1, "b" = 2, (l[0]) = 3, for = 4}', {"a": 1, "b": 2, "x": 3, "for": 4}),
        ('"%{if m.a == 1}one%{else}other%{endif}"', "one"),
        ('"%{for s in l}${s},%{endfor}"', "x,y,z,"),
        ('"a  %{~ if true ~}  b  %{~ endif ~}  c"', "abc"),
        ('try(m.missing, "fallback")', "fallback"),
        ("can(m.missing)", False),
        ("can(m.a)", True),
    ],
)
def test_expressions(text, expected):
    assert value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('cidrsubnet("10.0.0.0/16", 8, 1)', "10.0.1.0/24"),
        ('cidrsubnet("10.0.0.0/16", 11, 2040)', "10.0.255.0/27"),
        ('cidrsubnets("10.0.0.0/16", 8, 4, 8)', ["10.0.0.0/24", "10.0.16.0/20", "10.0.32.0/24"]),
        ('cidrhost("10.0.1.0/24", 5)', "10.0.1.5"),
        ('cidrhost("10.0.1.0/24", -2)', "10.0.1.254"),
        ('cidrnetmask("10.0.0.0/12")', "255.240.0.0"),
        ('concat(["a"], ["b", "c"])', ["a", "b", "c"]),
        ('lookup(m, "z", 0)', 0),
        ("merge({a = 1}, null, {a = 2, b = 3})", {"a": 2, "b": 3}),
        ("element(l, 4)", "y"),
        ("length(m)", 2),
        ('length("héllo")', 5),
        ('format("%s-%03d-%.1f-%v-%q", "x", 7, 2.25, true, "q")', 'x-007-2.2-true-"q"'),
        ('format("%-4s|%4s|%+d|%%", "a", "b", 5)', "a   |   b|+5|%"),
        ('tolist(toset(["b", "a", "b"]))', ["a", "b"]),
        ('flatten([["a", ["b"]], [], "c"])', ["a", "b", "c"]),
        ("keys(m)", ["a", "b"]),
        ("values(m)", [1, 2]),
        ('coalesce(null, "", "x")', "x"),
        ('join("-", l)', "x-y-z"),
        ('split(",", "a,b")', ["a", "b"]),
        ('replace("a-b-c", "-", "_")', "a_b_c"),
        ('replace("abc-def", "/(\\\\w+)-(\\\\w+)/", "$2_$1")', "abc"),  # Go: $2_ names group "2_"
        ('replace("abc-def", "/(\\\\w+)-(\\\\w+)/", "$${2}_$1")', "def_abc"),
        ('regex("(\\\\d+)\\\\.(\\\\d+)", "v1.25")', ["1", "25"]),
        ('substr("hello", 1, 3)', "ell"),
        ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
        ("range(3)", [0, 1, 2]),
        ('contains(l, "y")', True),
        ('distinct(["a", "b", "a"])', ["a", "b"]),
        ("one([])", None),
        ("jsonencode({b = [1, true], a = null})", '{"a":null,"b":[1,true]}'),
        ('jsondecode("{\\"a\\": [1]}")', {"a": [1]}),
        ("max(1, 5, 3)", 5),
        ('tonumber("42")', 42),
        ('tobool("true")', True),
        ('trimspace("  x ")', "x"),
        ('startswith("GatewaySubnet", "Gateway")', True),
        ('index(l, "z")', 2),
        ("slice(l, 1, 3)", ["y", "z"]),
        ('compact(["a", "", null])', ["a"]),
        ('setunion(["b"], ["a", "b"])', ["a", "b"]),
        ('sort(["b", "a"])', ["a", "b"]),
        ("reverse([1, 2])", [2, 1]),
        ("chunklist(l, 2)", [["x", "y"], ["z"]]),
        ("sum([1, 2.5])", 3.5),
    ],
)
def test_functions(text, expected):
    assert value(text) == expected


def test_toset_is_a_set_in_lexical_order():
    result = value('toset(["b", "a", "b"])')
    assert isinstance(result, SetValue)
    assert result == ["a", "b"]


def test_heredocs_interpolate_and_trim():
    text = "x = <<-EOT\n    name: ${m.a}\n      indented\n    EOT\n"
    body = parse_text(text, "inline.tf")
    scope = Scope(names=NAMES, functions=FUNCTIONS)
    assert evaluate(body.attributes["x"].expr, scope) == "name: 1\n  indented\n"


def test_unknown_values_flow_through_and_keep_a_readable_display():
    assert value('"${u}-vnet"').display == "${var.prefix}-vnet"
    assert value('format("%s-%s", u, "rg")').display == "${var.prefix}-rg"
    assert value("lower(u)").display == "${var.prefix}"
    assert value("u.name").origin == "var.prefix.name"
    assert isinstance(value("u == 1 ? 2 : 3"), Unknown)
    assert isinstance(value("[for x in u : x]"), Unknown)
    assert value("length([u, 1])") == 2  # an unknown element does not make the length unknown
    assert value('coalesce(null, "x", u)') == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("m.c", "no attribute 'c'; expected one of: a, b"),
        ("m.bb", "did you mean 'b'"),
        ("l[3]", "out of range"),
        ("n.x", "null"),
        ("1 / 0", "division by zero"),
        ('"a" + 1', "number is required"),
        ("nosuch(1)", "no function named"),
        ('cidrsubnet("10.0.0.0/16", 8, 300)', "does not fit"),
        ('cidrsubnet("not-a-prefix", 8, 1)', "CIDR"),
        ('lookup(m, "z")', "no key"),
        ("length(1)", "length() needs"),
        ('{for s in l : "k" => s}', "duplicate key"),
        ("element([], 0)", "empty list"),
        ("lower()", "wrong number of arguments"),
        ("undeclared", "cannot be used here"),
        ('"${l[0]"', "not a valid expression"),
    ],
)
def test_errors_say_what_is_wrong(text, message):
    with pytest.raises(EvalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        value(text)


# -- random expressions: an EvalError or a value, never another exception -------------------

_ATOMS = st.sampled_from(
    ['"a"', '""', "0", "-1", "2.5", "true", "null", "m", "l", "objs", "u", "n", '"10.0.0.0/16"']
)
_FUNCTION_NAMES = sorted(FUNCTIONS)
_OPERATORS = ["+", "-", "*", "/", "%", "==", "<", "&&"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(st.sampled_from(_FUNCTION_NAMES), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(children, st.sampled_from(_OPERATORS), children).map(" ".join),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} ? {t[1]} : {t[2]}"),
        st.tuples(children, st.sampled_from([".a", "[0]", '["b"]', "[*].name", ".0"])).map("".join),
        children.map(lambda c: f'"x${{{c}}}y"'),
        children.map(lambda c: f"[for k, v in {c} : v]"),
    )


@settings(max_examples=300)
@given(st.recursive(_ATOMS, _combine, max_leaves=8))
def test_random_expressions_never_raise_anything_but_eval_error(text):
    with contextlib.suppress(EvalError):
        value(text)


def test_file_functions(tmp_path):
    (tmp_path / "cloud-init.yaml").write_text("hostname: ${name}\n")
    (tmp_path / "key.pub").write_text("ssh-rsa AAAA")
    folder = str(tmp_path)
    assert value(f'file("{folder}/key.pub")') == "ssh-rsa AAAA"
    assert value(f'filebase64("{folder}/key.pub")') == "c3NoLXJzYSBBQUFB"
    assert value(f'fileset("{folder}", "*.pub")') == ["key.pub"]
    rendered = value(f'templatefile("{folder}/cloud-init.yaml", {{ name = "vm1" }})')
    assert rendered == "hostname: vm1\n"
    # A file that is only on the author's machine (an SSH key) is unknown, not an error.
    missing = value('file("~/.ssh/no-such-key.pub")')
    assert isinstance(missing, Unknown)
    assert "not on this machine" in missing.reason
