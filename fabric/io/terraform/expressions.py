"""A small, safe evaluator of Terraform expressions over python-hcl2's parse tree (no ``eval``).

It covers what infrastructure code uses: literals, strings with interpolation and template
directives, heredocs, lists and objects, references with attribute/index/splat traversal,
operators, conditionals, ``for`` expressions and function calls. Names at the root of a
reference (``var``, ``local``, ``azurerm_subnet``, ``each``...) are asked of the ``Scope``;
values not known offline are ``Unknown`` and flow through instead of failing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError

from fabric.io.terraform.values import (
    EvalError,
    Namespace,
    ObjectValue,
    SetValue,
    Unknown,
    equal,
    first_unknown,
    number,
    plain,
    suggest_name,
    to_bool,
    to_number,
    to_string,
    type_name,
)


class Resolver(Protocol):
    """What a module answers for the root name of a reference."""

    def root(self, name: str, line: int | None) -> Any: ...


@attrs.frozen
class Scope:
    """Where an expression is evaluated: the module that resolves names, plus local names
    (``each``, ``count``, ``for`` variables, ``dynamic`` iterators)."""

    resolver: Resolver | None = None
    names: dict[str, Any] = attrs.field(factory=dict)
    functions: dict[str, Callable[..., Any]] = attrs.field(factory=dict)

    def with_names(self, **names: Any) -> Scope:
        return attrs.evolve(self, names={**self.names, **names})

    def lookup(self, name: str, line: int | None) -> Any:
        if name in self.names:
            return self.names[name]
        if self.resolver is None:
            raise EvalError(f"{name!r} cannot be used here: only literal values are allowed", line)
        return self.resolver.root(name, line)


def _children(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _line(node: Tree | Token) -> int | None:
    if isinstance(node, Token):
        return node.line
    return None if node.meta.empty else node.meta.line


def evaluate(node: Tree, scope: Scope) -> Any:
    """The value of expression ``node`` in ``scope``; EvalError when Terraform would fail."""
    handler = _HANDLERS.get(node.data)
    if handler is None:
        raise EvalError(f"unsupported expression ({node.data})", _line(node))
    return handler(node, scope)


def _expr_term(node: Tree, scope: Scope) -> Any:
    inner = _children(node)
    if not inner:  # a bare token term, e.g. a literal keyword
        return str(node.children[0])
    return evaluate(inner[0], scope)


def _literal(node: Tree, scope: Scope) -> Any:
    return {"true": True, "false": False, "null": None}[str(node.children[0])]


def _int(node: Tree, scope: Scope) -> int:
    return int(str(node.children[0]))


def _float(node: Tree, scope: Scope) -> int | float:
    return number(float(str(node.children[0])))


def _identifier(node: Tree, scope: Scope) -> Any:
    return scope.lookup(str(node.children[0]), _line(node))


def _tuple(node: Tree, scope: Scope) -> list[Any]:
    return [evaluate(item, scope) for item in _children(node)]


def _object(node: Tree, scope: Scope) -> dict[str, Any] | Unknown:
    result: dict[str, Any] = {}
    for elem in _children(node):
        key_node, value_node = _children(elem)
        key = _object_key(key_node, scope)
        if isinstance(key, Unknown):
            return key
        result[to_string(key)] = evaluate(value_node, scope)
    return result


def _object_key(node: Tree, scope: Scope) -> Any:
    """A bare name in key position is the key itself; anything else is an expression."""
    inner = _children(node)
    if not inner:  # keyword used as a key: `for = 1`
        return str(node.children[0].children[0]) if node.children else ""
    expr = inner[0]
    if expr.data == "keyword":
        return str(expr.children[0])
    if expr.data == "expr_term":
        term = _children(expr)
        if term and term[0].data == "identifier" and len(expr.children) == 1:
            return str(term[0].children[0])
    return evaluate(expr, scope)


# -- strings and templates ---------------------------------------------------------------

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    """Resolve the escapes of a quoted HCL string (``\\n``, ``\\"``, ``\\uNNNN``...)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        code = text[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in "uU":
            width = 4 if code == "u" else 8
            digits = text[i + 2 : i + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
                i += 2 + width
            except ValueError:
                out.append(text[i : i + 2])
                i += 2
        else:
            out.append(text[i : i + 2])
            i += 2
    return "".join(out)


@attrs.frozen
class _Part:
    """One piece of a template: text, an interpolation or a directive."""

    kind: str  # text, expr, if, else, endif, for, endfor
    text: str = ""
    expr: Tree | None = None
    names: tuple[str, ...] = ()
    strip_before: bool = False
    strip_after: bool = False


def _string(node: Tree, scope: Scope) -> Any:
    parts: list[_Part] = []
    for part in _children(node):
        child = part.children[0]
        if isinstance(child, Token):
            if child.type == "ESCAPED_INTERPOLATION":
                parts.append(_Part("text", "${" + str(child)[3:]))
            elif child.type == "ESCAPED_DIRECTIVE":
                parts.append(_Part("text", "%{" + str(child)[3:]))
            else:
                parts.append(_Part("text", unescape(str(child))))
        else:
            parts.append(_directive(child))
    return render_template(parts, scope, _line(node))


def _directive(node: Tree) -> _Part:
    if node.data == "interpolation":
        return _Part("expr", expr=_children(node)[0])
    tokens = [c for c in node.children if isinstance(c, Token)]
    kinds = [t.type for t in tokens]
    keyword_at = next(
        (i for i, t in enumerate(kinds) if t in ("IF", "ELSE", "ENDIF", "FOR", "ENDFOR")), 1
    )
    strip_before = "STRIP_MARKER" in kinds[:keyword_at]
    strip_after = "STRIP_MARKER" in kinds[keyword_at:]
    kind = {
        "template_if_start": "if",
        "template_else": "else",
        "template_endif": "endif",
        "template_for_start": "for",
        "template_endfor": "endfor",
    }[node.data]
    trees = _children(node)
    names = tuple(str(t.children[0]) for t in trees if t.data == "identifier")
    expr = next((t for t in trees if t.data != "identifier"), None)
    return _Part(kind, expr=expr, names=names, strip_before=strip_before, strip_after=strip_after)


def render_template(parts: list[_Part], scope: Scope, line: int | None) -> Any:
    """Render template ``parts``; a template that is one interpolation keeps its value's type."""
    if len(parts) == 1 and parts[0].kind == "expr":
        return evaluate(parts[0].expr, scope)
    parts = _apply_strip_markers(parts)
    tree, rest = _nest(parts, 0, ())
    if rest != len(parts):
        raise EvalError(f"unexpected %{{{parts[rest].kind}}} in a template", line)
    pieces: list[Any] = []
    _render(tree, scope, pieces, line)
    unknown = first_unknown(pieces)
    if unknown is not None:
        shown = "".join(p.display if isinstance(p, Unknown) else p for p in pieces)
        return unknown.derived(shown)
    return "".join(pieces)


def _apply_strip_markers(parts: list[_Part]) -> list[_Part]:
    out = list(parts)
    for i, part in enumerate(out):
        if part.strip_before and i > 0 and out[i - 1].kind == "text":
            out[i - 1] = attrs.evolve(out[i - 1], text=out[i - 1].text.rstrip())
        if part.strip_after and i + 1 < len(out) and out[i + 1].kind == "text":
            out[i + 1] = attrs.evolve(out[i + 1], text=out[i + 1].text.lstrip())
    return out


def _nest(parts: list[_Part], start: int, until: tuple[str, ...]) -> tuple[list, int]:
    """Group a flat part list into a tree: ``("if", cond, then, else)``, ``("for", ...)``."""
    items: list = []
    i = start
    while i < len(parts):
        part = parts[i]
        if part.kind in until:
            return items, i
        if part.kind == "if":
            then, i = _nest(parts, i + 1, ("else", "endif"))
            otherwise: list = []
            if i < len(parts) and parts[i].kind == "else":
                otherwise, i = _nest(parts, i + 1, ("endif",))
            if i >= len(parts):
                raise EvalError("a template %{if} has no %{endif}")
            items.append(("if", part.expr, then, otherwise))
        elif part.kind == "for":
            body, i = _nest(parts, i + 1, ("endfor",))
            if i >= len(parts):
                raise EvalError("a template %{for} has no %{endfor}")
            items.append(("for", part.names, part.expr, body))
        elif part.kind in ("else", "endif", "endfor"):
            return items, i
        else:
            items.append(part)
        i += 1
    return items, i


def _render(items: list, scope: Scope, out: list[Any], line: int | None) -> None:
    for item in items:
        if isinstance(item, _Part):
            if item.kind == "text":
                out.append(item.text)
                continue
            value = evaluate(item.expr, scope)
            if isinstance(value, Unknown):
                out.append(value)
            else:
                try:
                    out.append(to_string(value))
                except EvalError as problem:
                    raise EvalError(f"cannot put this value in a string: {problem}", line) from None
        elif item[0] == "if":
            condition = evaluate(item[1], scope)
            if isinstance(condition, Unknown):
                out.append(condition)
                continue
            _render(item[2] if to_bool(condition) else item[3], scope, out, line)
        else:
            _, names, collection_node, body = item
            collection = evaluate(collection_node, scope)
            if isinstance(collection, Unknown):
                out.append(collection)
                continue
            for key, value in iterate(collection, line):
                bound = {names[0]: value} if len(names) == 1 else {names[0]: key, names[1]: value}
                _render(body, scope.with_names(**bound), out, line)


_HEREDOC = re.compile(r"<<(-?)([A-Za-z][A-Za-z0-9._-]*)\r?\n(.*)\r?\n[ \t]*\2\s*$", re.S)


def _heredoc(node: Tree, scope: Scope) -> Any:
    text = str(node.children[0])
    match = _HEREDOC.match(text)
    if match is None:  # an empty heredoc body
        return ""
    trim, body = match.group(1) == "-", match.group(3)
    lines = body.split("\n")
    if trim:
        indents = [len(ln) - len(ln.lstrip(" \t")) for ln in lines if ln.strip()]
        cut = min(indents, default=0)
        lines = [ln[cut:] for ln in lines]
    return render_template(template_parts("\n".join(lines) + "\n"), scope, _line(node))


def template_parts(text: str) -> list[_Part]:
    """Split raw template text (a heredoc or a template file) into parts, parsing each
    ``${...}`` with python-hcl2 and each ``%{...}`` directive as a one-line quoted template."""
    parts: list[_Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            literal.append(text[i + 1 : i + 3])
            i += 3
            continue
        if text.startswith(("${", "%{"), i):
            end = _closing_brace(text, i + 2)
            if end is None:
                raise EvalError("a '${' or '%{' in a template is never closed")
            if literal:
                parts.append(_Part("text", "".join(literal)))
                literal = []
            inner = text[i + 2 : end]
            if text[i] == "$":
                parts.append(_Part("expr", expr=parse_expression(inner)))
            else:
                parts.append(_directive_text(inner))
            i = end + 1
            continue
        literal.append(text[i])
        i += 1
    if literal:
        parts.append(_Part("text", "".join(literal)))
    return parts


def _closing_brace(text: str, start: int) -> int | None:
    depth, i, quoted = 0, start, False
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return None


def _directive_text(inner: str) -> _Part:
    tree = _parse_attribute_value('"%{' + inner + '}"')
    string = _children(tree)[0] if tree.data == "expr_term" else tree
    return _directive(_children(_children(string)[0])[0])


def parse_expression(text: str) -> Tree:
    """Parse one expression (the inside of ``${...}``, or a ``-var`` value)."""
    return _parse_attribute_value(text)


def _parse_attribute_value(text: str) -> Tree:
    try:
        tree = hcl2.parses_to_tree(f"value = {text.strip()}\n")
    except (LarkError, ValueError, RuntimeError):
        raise EvalError(f"not a valid expression: {text.strip()!r}") from None
    body = _children(tree)[0]
    attributes = [c for c in _children(body) if c.data == "attribute"]
    if len(attributes) != 1:
        raise EvalError(f"not a valid expression: {text.strip()!r}")
    return _children(attributes[0])[-1]


# -- references ----------------------------------------------------------------------------


def get_attribute(value: Any, name: str, line: int | None) -> Any:
    """``value.name`` with Terraform's rules (and what unset attributes of resources mean)."""
    if isinstance(value, Unknown):
        if value.origin is None:
            return value
        origin = f"{value.origin}.{name}"
        return Unknown(value.reason, "${" + origin + "}", origin)
    if isinstance(value, Namespace):
        return value.attribute(name)
    if isinstance(value, ObjectValue):
        return value[name] if name in value else value.missing(name)
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise EvalError(f"this object has no attribute {name!r}; {suggest_name(name, value)}", line)
    if value is None:
        raise EvalError(f"cannot read attribute {name!r} of a null value", line)
    if isinstance(value, list):
        raise EvalError(
            f"cannot read attribute {name!r} of a {type_name(value)}: pick one element "
            f"first (x[0].{name}) or use a splat (x[*].{name})",
            line,
        )
    raise EvalError(f"cannot read attribute {name!r} of a {type_name(value)}", line)


def get_index(value: Any, key: Any, line: int | None) -> Any:
    """``value[key]``: a list element (by number) or a map element (by string)."""
    unknown = first_unknown((value, key))
    if unknown is not None:
        if unknown is value and value.origin is not None and not isinstance(key, Unknown):
            shown = f"[{key!r}]" if isinstance(key, str) else f"[{key}]"
            origin = value.origin + shown.replace("'", '"')
            return Unknown(value.reason, "${" + origin + "}", origin)
        return unknown
    value = plain(value)
    if isinstance(value, list):
        index = to_number(key)
        if not isinstance(index, int) or not 0 <= index < len(value):
            raise EvalError(
                f"index {key!r} is out of range: the list has {len(value)} element(s)", line
            )
        return value[index]
    if isinstance(value, dict):
        name = to_string(key)
        if name in value:
            return value[name]
        if isinstance(value, ObjectValue):
            return value.missing(name)
        raise EvalError(f"the map has no key {name!r}; {suggest_name(name, value)}", line)
    if value is None:
        raise EvalError("cannot index a null value", line)
    raise EvalError(f"cannot index a {type_name(value)}", line)


def _traverse(value: Any, step: Tree, scope: Scope) -> Any:
    """Apply one ``.name``, ``[key]`` or ``.0`` step."""
    if step.data == "get_attr":
        name_node = _children(step)[0]
        return get_attribute(value, str(name_node.children[0]), _line(step))
    if step.data == "short_index":
        token = next(c for c in step.children if isinstance(c, Token) and c.type != "DOT")
        return get_index(value, int(str(token)), _line(step))
    key = evaluate(_children(step)[0], scope)
    return get_index(value, key, _line(step))


def _get_attr_term(node: Tree, scope: Scope) -> Any:
    base, step = _children(node)
    return _traverse(evaluate(base, scope), step, scope)


def _index_term(node: Tree, scope: Scope) -> Any:
    base, step = _children(node)
    return _traverse(evaluate(base, scope), step, scope)


def _splat(node: Tree, scope: Scope) -> Any:
    base, splat = _children(node)
    value = plain(evaluate(base, scope))
    if isinstance(value, Unknown):
        return value
    if value is None:
        return []
    items = list(value) if isinstance(value, list) else [value]
    steps = _children(splat)
    results = []
    for item in items:
        for step in steps:
            item = _traverse(item, step, scope)
        results.append(item)
    return results


# -- operators -------------------------------------------------------------------------------


def _binary(node: Tree, scope: Scope) -> Any:
    left_node, term = _children(node)[:2]
    operator_node, right_node = _children(term)
    operator = str(operator_node.children[0])
    left = evaluate(left_node, scope)
    if operator in ("&&", "||"):
        if isinstance(left, Unknown):
            return left
        left = to_bool(left)
        if (operator == "&&" and not left) or (operator == "||" and left):
            return left
        right = evaluate(right_node, scope)
        return right if isinstance(right, Unknown) else to_bool(right)
    right = evaluate(right_node, scope)
    if operator == "==":
        return equal(left, right)
    if operator == "!=":
        same = equal(left, right)
        return same if isinstance(same, Unknown) else not same
    unknown = first_unknown((left, right))
    if unknown is not None:
        return unknown
    a, b = to_number(left), to_number(right)
    line = _line(node)
    if operator in _COMPARE:
        return _COMPARE[operator](a, b)
    if operator in ("/", "%") and b == 0:
        raise EvalError("division by zero", line)
    if operator == "%":
        return number(math.fmod(a, b))
    return number(_ARITHMETIC[operator](a, b))


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def _unary(node: Tree, scope: Scope) -> Any:
    operator = str(node.children[0])
    value = evaluate(_children(node)[0], scope)
    if isinstance(value, Unknown):
        return value
    if operator == "!":
        return not to_bool(value)
    return number(-to_number(value))


def _conditional(node: Tree, scope: Scope) -> Any:
    condition_node, then_node, else_node = _children(node)
    condition = evaluate(condition_node, scope)
    if isinstance(condition, Unknown):
        return condition
    return evaluate(then_node if to_bool(condition) else else_node, scope)


# -- for expressions -------------------------------------------------------------------------


def iterate(collection: Any, line: int | None) -> list[tuple[Any, Any]]:
    """(key, value) pairs of a list, set or map; maps in lexical key order, as Terraform."""
    collection = plain(collection)
    if isinstance(collection, SetValue):
        return [(item, item) for item in collection]
    if isinstance(collection, list):
        return list(enumerate(collection))
    if isinstance(collection, dict):
        return [(key, collection[key]) for key in sorted(collection)]
    if collection is None:
        raise EvalError("cannot iterate over a null value", line)
    raise EvalError(f"cannot iterate over a {type_name(collection)}", line)


def _for_parts(node: Tree) -> tuple[tuple[str, ...], Tree, list[Tree], Tree | None]:
    trees = _children(node)
    intro = trees[0]
    intro_trees = _children(intro)
    names = tuple(str(t.children[0]) for t in intro_trees if t.data == "identifier")
    collection = next(t for t in reversed(intro_trees) if t.data != "identifier")
    condition = None
    if trees[-1].data == "for_cond":
        condition = _children(trees[-1])[0]
        trees = trees[:-1]
    return names, collection, trees[1:], condition


def _for_bindings(node: Tree, scope: Scope) -> list[Scope] | Unknown:
    names, collection_node, _, condition = _for_parts(node)
    collection = evaluate(collection_node, scope)
    if isinstance(collection, Unknown):
        return collection
    scopes = []
    for key, value in iterate(collection, _line(node)):
        bound = {names[0]: value} if len(names) == 1 else {names[0]: key, names[1]: value}
        inner = scope.with_names(**bound)
        if condition is not None:
            keep = evaluate(condition, inner)
            if isinstance(keep, Unknown):
                return keep
            if not to_bool(keep):
                continue
        scopes.append(inner)
    return scopes


def _for_tuple(node: Tree, scope: Scope) -> Any:
    scopes = _for_bindings(node, scope)
    if isinstance(scopes, Unknown):
        return scopes
    value_node = _for_parts(node)[2][0]
    return [evaluate(value_node, inner) for inner in scopes]


def _for_object(node: Tree, scope: Scope) -> Any:
    scopes = _for_bindings(node, scope)
    if isinstance(scopes, Unknown):
        return scopes
    key_node, value_node = _for_parts(node)[2][:2]
    grouping = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children)
    result: dict[str, Any] = {}
    for inner in scopes:
        key = evaluate(key_node, inner)
        if isinstance(key, Unknown):
            return key
        key = to_string(key)
        value = evaluate(value_node, inner)
        if grouping:
            result.setdefault(key, []).append(value)
        elif key in result:
            raise EvalError(
                f"duplicate key {key!r} in a for expression; add '...' after the value "
                "to group the values by key",
                _line(node),
            )
        else:
            result[key] = value
    return result


# -- function calls --------------------------------------------------------------------------


def _function_call(node: Tree, scope: Scope) -> Any:
    names = [str(t.children[0]) for t in _children(node) if t.data == "identifier"]
    arguments = next((t for t in _children(node) if t.data == "arguments"), None)
    arg_nodes = _children(arguments) if arguments is not None else []
    expand = arguments is not None and any(
        isinstance(c, Token) and c.type == "ELLIPSIS" for c in arguments.children
    )
    line = _line(node)
    if len(names) > 1:
        return Unknown(
            f"provider function {'::'.join(names)} is not evaluated offline",
            "${" + "::".join(names) + "(...)}",
        )
    name = names[0]
    if name in ("try", "can"):
        return _try(name, arg_nodes, scope, line)
    function = scope.functions.get(name)
    if function is None:
        raise EvalError(
            f"there is no function named {name!r}; {suggest_name(name, scope.functions)}", line
        )
    args = [evaluate(arg, scope) for arg in arg_nodes]
    if expand:
        last = plain(args.pop()) if args else None
        if isinstance(last, Unknown):
            return last
        if not isinstance(last, list):
            raise EvalError("the argument before '...' must be a list", line)
        args.extend(last)
    try:
        return function(*args)
    except EvalError as problem:
        raise EvalError(f"{name}(): {problem.message}", line) from None


def _try(name: str, arg_nodes: list[Tree], scope: Scope, line: int | None) -> Any:
    """``try`` returns the first argument that evaluates; ``can`` says whether one does."""
    if not arg_nodes or (name == "can" and len(arg_nodes) != 1):
        raise EvalError(f"{name}() needs {'one argument' if name == 'can' else 'arguments'}", line)
    for arg in arg_nodes:
        try:
            value = evaluate(arg, scope)
        except EvalError:
            continue
        if isinstance(value, Unknown):
            return value
        return True if name == "can" else value
    if name == "can":
        return False
    raise EvalError("try(): no argument could be evaluated", line)


_HANDLERS: dict[str, Callable[[Tree, Scope], Any]] = {
    "expr_term": _expr_term,
    "literal_value": _literal,
    "int_lit": _int,
    "float_lit": _float,
    "identifier": _identifier,
    "string": _string,
    "heredoc_template": _heredoc,
    "heredoc_template_trim": _heredoc,
    "tuple": _tuple,
    "object": _object,
    "get_attr_expr_term": _get_attr_term,
    "index_expr_term": _index_term,
    "attr_splat_expr_term": _splat,
    "full_splat_expr_term": _splat,
    "binary_op": _binary,
    "unary_op": _unary,
    "conditional": _conditional,
    "for_tuple_expr": _for_tuple,
    "for_object_expr": _for_object,
    "function_call": _function_call,
}


def describe(node: Tree) -> str:
    """Short source-like text of a reference expression, for messages (``var.x.y[0]``)."""
    if node.data == "expr_term":
        inner = _children(node)
        return describe(inner[0]) if inner else "?"
    if node.data == "identifier":
        return str(node.children[0])
    if node.data in ("get_attr_expr_term", "index_expr_term"):
        base, step = _children(node)
        if step.data == "get_attr":
            return f"{describe(base)}.{_children(step)[0].children[0]}"
        return f"{describe(base)}[...]"
    return "(expression)"


__all__ = [
    "Scope",
    "describe",
    "evaluate",
    "get_attribute",
    "get_index",
    "iterate",
    "parse_expression",
    "render_template",
    "template_parts",
]
