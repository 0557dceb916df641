"""Input variables: where their values come from, and Terraform's type conversions.

Values of the root module come, lowest precedence first, from the ``default`` of the variable
block, ``terraform.tfvars``, ``terraform.tfvars.json``, ``*.auto.tfvars(.json)`` in lexical order,
``var_files`` in the order given, then explicit values (``variables={...}``, the CLI's ``-var``).
Like Terraform's ``-var``, an explicit string for a variable whose type is not ``string`` is
read as an HCL expression (``-var 'prefixes=["10.0.0.0/16"]'``). Environment variables
(``TF_VAR_*``) are not read: a load depends only on its files and arguments.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from lark import Tree

from fabric.io.errors import InputError, Problem
from fabric.io.terraform.expressions import Scope, evaluate, parse_expression
from fabric.io.terraform.functions import FUNCTIONS
from fabric.io.terraform.hcl import parse_text, read_text
from fabric.io.terraform.values import (
    EvalError,
    SetValue,
    Unknown,
    plain,
    suggest_name,
    to_bool,
    to_number,
    to_string,
    type_name,
)

CONSTANT_SCOPE = Scope(functions=FUNCTIONS)


@attrs.frozen
class CliText:
    """A value given as command-line text: its meaning depends on the variable's type."""

    text: str


@attrs.frozen
class Given:
    """A value for a root variable and where it came from (for messages)."""

    value: Any
    source: str


def parse_var_options(options: Iterable[str]) -> dict[str, CliText]:
    """``-var NAME=VALUE`` options as ``variables`` for ``load_topology``.

    InputError names an option without ``=`` or with an invalid name.
    """
    values: dict[str, CliText] = {}
    for option in options:
        name, sep, text = option.partition("=")
        name = name.strip()
        if not sep or not name.replace("_", "a").replace("-", "a").isalnum():
            raise InputError(
                "-var",
                [Problem("", f"{option!r} is not NAME=VALUE (e.g. -var prefix=prod)")],
            )
        values[name] = CliText(text)
    return values


def _tfvars(path: Path) -> dict[str, Any]:
    """The assignments of one ``.tfvars`` (HCL) or ``.tfvars.json`` file."""
    text = read_text(path)
    if path.name.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as problem:
            raise InputError(
                str(path), [Problem("", f"not valid JSON: {problem.msg}", problem.lineno)]
            ) from None
        if not isinstance(data, dict):
            raise InputError(str(path), [Problem("", "a .tfvars.json file is a JSON object")])
        return data
    body = parse_text(text, str(path))
    values: dict[str, Any] = {}
    for name, attribute in body.attributes.items():
        try:
            values[name] = evaluate(attribute.expr, CONSTANT_SCOPE)
        except EvalError as problem:
            raise InputError(
                str(path),
                [
                    Problem(
                        name, f"{problem.message}; a .tfvars file holds only values", attribute.line
                    )
                ],
            ) from None
    if body.blocks:
        block = body.blocks[0]
        raise InputError(
            str(path),
            [Problem("", "a .tfvars file holds only NAME = value lines, not blocks", block.line)],
        )
    return values


def root_values(
    directory: Path, explicit: Mapping[str, Any] | None, var_files: Iterable[str | Path]
) -> dict[str, Given]:
    """Every value given to root variables, the highest-precedence one per name."""
    files = [directory / "terraform.tfvars", directory / "terraform.tfvars.json"]
    files += (
        sorted(
            p
            for p in directory.iterdir()
            if p.is_file() and p.name.endswith((".auto.tfvars", ".auto.tfvars.json"))
        )
        if directory.is_dir()
        else []
    )
    given: dict[str, Given] = {}
    for path in [*(p for p in files if p.is_file()), *map(Path, var_files)]:
        if not path.is_file():
            raise InputError(str(path), [Problem("", "no such variables file")])
        for name, value in _tfvars(path).items():
            given[name] = Given(value, path.name)
    for name, value in (explicit or {}).items():
        given[str(name)] = Given(value, "the explicit variables")
    return given


# -- type constraints ------------------------------------------------------------------------


@attrs.frozen
class TypeSpec:
    """A parsed type constraint: ``kind`` plus the element type(s) or object attributes."""

    kind: str  # string number bool any list set map object tuple
    element: TypeSpec | None = None
    attributes: dict[str, tuple[TypeSpec, bool, Tree | None]] = attrs.field(factory=dict)
    elements: tuple[TypeSpec, ...] = ()


ANY = TypeSpec("any")


def _children(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def parse_type(node: Tree) -> TypeSpec:
    """The type constraint written in ``node`` (``list(object({ name = string }))``)."""
    if node.data == "expr_term":
        return parse_type(_children(node)[0])
    if node.data == "identifier":
        name = str(node.children[0])
        if name in ("string", "number", "bool", "any"):
            return TypeSpec(name)
        raise EvalError(f"unknown type {name!r}; expected string, number, bool or any")
    if node.data == "function_call":
        name = str(_children(node)[0].children[0])
        arguments = next((t for t in _children(node) if t.data == "arguments"), None)
        args = _children(arguments) if arguments is not None else []
        if name in ("list", "set", "map") and len(args) == 1:
            return TypeSpec(name, parse_type(args[0]))
        if name == "tuple" and len(args) == 1:
            items = _children(_children(args[0])[0]) if args[0].data == "expr_term" else []
            return TypeSpec("tuple", elements=tuple(parse_type(i) for i in items))
        if name == "object" and len(args) == 1:
            return TypeSpec("object", attributes=_object_attributes(args[0]))
    raise EvalError("unsupported type constraint")


def _object_attributes(node: Tree) -> dict[str, tuple[TypeSpec, bool, Tree | None]]:
    obj = _children(node)[0] if node.data == "expr_term" else node
    if obj.data != "object":
        raise EvalError("object(...) takes an object of attribute types")
    attributes: dict[str, tuple[TypeSpec, bool, Tree | None]] = {}
    for elem in _children(obj):
        key_node, type_node = _children(elem)
        key_expr = _children(key_node)[0] if _children(key_node) else key_node
        name = _key_name(key_expr)
        inner = _children(type_node)[0] if type_node.data == "expr_term" else type_node
        if inner.data == "function_call" and str(_children(inner)[0].children[0]) == "optional":
            arguments = next(t for t in _children(inner) if t.data == "arguments")
            args = _children(arguments)
            default = args[1] if len(args) > 1 else None
            attributes[name] = (parse_type(args[0]), True, default)
        else:
            attributes[name] = (parse_type(type_node), False, None)
    return attributes


def _key_name(node: Tree) -> str:
    while node.data == "expr_term" and _children(node):
        node = _children(node)[0]
    if node.data in ("identifier", "keyword"):
        return str(node.children[0])
    value = evaluate(node, CONSTANT_SCOPE)
    return to_string(value)


def from_cli(text: str, spec: TypeSpec | None) -> Any:
    """A ``-var`` value: the text itself for strings, else the HCL expression it spells."""
    if spec is None or spec.kind in ("string", "any"):
        return text
    return evaluate(parse_expression(text), CONSTANT_SCOPE)


def convert(value: Any, spec: TypeSpec, where: str = "") -> Any:
    """``value`` converted to ``spec`` as Terraform does; EvalError when it cannot be."""
    value = plain(value)
    if value is None or isinstance(value, Unknown) or spec.kind == "any":
        return value
    label = f"{where}: " if where else ""
    try:
        if spec.kind == "string":
            return to_string(value)
        if spec.kind == "number":
            return to_number(value)
        if spec.kind == "bool":
            return to_bool(value)
    except EvalError as problem:
        raise EvalError(f"{label}{problem.message}") from None
    if spec.kind in ("list", "set", "tuple"):
        if not isinstance(value, list):
            raise EvalError(f"{label}a {spec.kind} is required, got {type_name(value)}")
        if spec.kind == "tuple":
            if len(value) != len(spec.elements):
                raise EvalError(f"{label}a tuple of {len(spec.elements)} elements is required")
            return [convert(v, s, where) for v, s in zip(value, spec.elements, strict=True)]
        items = [convert(v, spec.element or ANY, where) for v in value]
        return SetValue.of(items) if spec.kind == "set" else items
    if not isinstance(value, dict):
        raise EvalError(f"{label}a {spec.kind} is required, got {type_name(value)}")
    if spec.kind == "map":
        return {k: convert(v, spec.element or ANY, where) for k, v in value.items()}
    result: dict[str, Any] = {}
    for name, (inner, optional, default) in spec.attributes.items():
        if name in value:
            result[name] = convert(value[name], inner, f"{where}.{name}" if where else name)
        elif optional:
            fallback = evaluate(default, CONSTANT_SCOPE) if default is not None else None
            result[name] = convert(fallback, inner, where)
        else:
            raise EvalError(
                f"{label}attribute {name!r} is required "
                f"({suggest_name(name, value) if value else 'the object is empty'})"
            )
    return result
