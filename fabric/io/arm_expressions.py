"""A safe evaluator for the ARM template expression language (a grammar of its own, never
Python ``eval``).

An expression is a string ``"[...]"``; ``"[[..."`` is a literal that starts with ``[``. Inside:
string literals in single quotes (``''`` escapes a quote), integers, function calls, and
property (``.name``) and index (``[expr]``) access. Functions are the template functions that
real networking templates use; anything else raises ``ExpressionError`` naming the function.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import attrs


class ExpressionError(ValueError):
    """An expression that cannot be evaluated: syntax, unknown function, bad argument."""


class Unresolvable(ExpressionError):  # noqa: N818 - reads as a value state
    """A value known only after deployment (e.g. a runtime property read with reference())."""


# -- tokens and syntax tree ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[(),.\[\]]))"
)


@attrs.frozen
class Literal:
    value: Any


@attrs.frozen
class Call:
    name: str
    args: tuple[Any, ...]


@attrs.frozen
class Member:
    target: Any
    name: str


@attrs.frozen
class Index:
    target: Any
    index: Any


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(
                f"unexpected character {text[position]!r} at {position} in {text!r}"
            )
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            wanted = f"{value!r}" if value else "more input"
            found = f"{token[1]!r}" if token else "the end"
            raise ExpressionError(f"expected {wanted}, found {found} in [{self.text}]")
        self.position += 1
        return token

    def parse(self) -> Any:
        node = self.expression()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in [{self.text}]")
        return node

    def expression(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            node: Any = Literal(value[1:-1].replace("''", "'"))
        elif kind == "number":
            node = Literal(int(value))
        elif kind == "name":
            self.take("(")
            args = []
            if self.peek() != ("punct", ")"):
                args.append(self.expression())
                while self.peek() == ("punct", ","):
                    self.take(",")
                    args.append(self.expression())
            self.take(")")
            node = Call(value, tuple(args))
        else:
            raise ExpressionError(f"unexpected {value!r} in [{self.text}]")
        while self.peek() in (("punct", "."), ("punct", "[")):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name":
                    raise ExpressionError(f"expected a property name after '.' in [{self.text}]")
                node = Member(node, name)
            else:
                node = Index(node, self.expression())
                self.take("]")
        return node


def parse(text: str) -> Any:
    """Parse the inside of ``[...]`` into a syntax tree."""
    return _Parser(text).parse()


def is_expression(value: Any) -> bool:
    """True for ``"[...]"`` strings that are expressions (not ``"[[..."`` literals)."""
    return (
        isinstance(value, str)
        and value.startswith("[")
        and value.endswith("]")
        and not value.startswith("[[")
    )


# -- evaluation -------------------------------------------------------------------------------


def _get(mapping: Any, key: Any) -> Any:
    """Property or index access; ARM property names are case-insensitive. Containers that know
    their values only after deployment (``missing`` hook) raise Unresolvable for absent keys."""
    missing = getattr(mapping, "missing", None)
    if isinstance(mapping, list):
        if not isinstance(key, int) or not -len(mapping) <= key < len(mapping):
            if missing is not None:
                raise missing(key)
            raise ExpressionError(f"index {key!r} is out of range for a list of {len(mapping)}")
        return mapping[key]
    if isinstance(mapping, dict):
        if key in mapping:
            return mapping[key]
        for name in list(mapping):
            if isinstance(name, str) and isinstance(key, str) and name.lower() == key.lower():
                return mapping[name]
        if missing is not None:
            raise missing(key)
        raise ExpressionError(
            f"property {key!r} does not exist (has: {', '.join(map(str, mapping))})"
        )
    raise ExpressionError(f"cannot read {key!r} of {type(mapping).__name__} {mapping!r}")


def unique_string(*parts: str) -> str:
    """A deterministic 13-character lowercase string from the inputs, like uniqueString().
    (Azure's exact hash is not published; this one is stable and of the same shape.)"""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:13]


def _format(template: str, *args: Any) -> str:
    def replace(match: re.Match) -> str:
        index, spec = int(match.group(1)), match.group(2)
        if index >= len(args):
            raise ExpressionError(f"format: placeholder {{{index}}} has no argument")
        value = args[index]
        if spec and spec.upper().startswith("D") and isinstance(value, int):
            return str(value).zfill(int(spec[1:] or 0))
        return _string(value)

    return re.sub(r"\{(\d+)(?::([^}]*))?\}", replace, template)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"int: {value!r} is not an integer") from None


def _concat(*values: Any) -> Any:
    if values and all(isinstance(v, list) for v in values):
        return [item for v in values for item in v]
    return "".join(_string(v) for v in values)


def _range(start: Any, count: Any) -> list[int]:
    return list(range(_int(start), _int(start) + _int(count)))


def _empty(value: Any) -> bool:
    return value is None or (hasattr(value, "__len__") and len(value) == 0)


def _length(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise ExpressionError(f"length: {value!r} has no length")


def _substring(text: str, start: Any, length: Any = None) -> str:
    start = _int(start)
    end = len(text) if length is None else start + _int(length)
    if start < 0 or end > len(text):
        raise ExpressionError(f"substring: {start}..{end} is outside {text!r}")
    return text[start:end]


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return str(item).lower() in container.lower()
    return item in container


def _create_object(*pairs: Any) -> dict:
    if len(pairs) % 2:
        raise ExpressionError("createObject needs key/value pairs")
    return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}


def _equals(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a == b  # equals() is case-sensitive for strings
    return a == b


PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": _concat,
    "format": _format,
    "tolower": lambda s: _string(s).lower(),
    "toupper": lambda s: _string(s).upper(),
    "string": _string,
    "int": _int,
    "bool": lambda v: v if isinstance(v, bool) else str(v).lower() == "true",
    "equals": _equals,
    "not": lambda v: not v,
    "and": lambda *v: all(v),
    "or": lambda *v: any(v),
    "greater": lambda a, b: a > b,
    "greaterorequals": lambda a, b: a >= b,
    "less": lambda a, b: a < b,
    "lessorequals": lambda a, b: a <= b,
    "empty": _empty,
    "length": _length,
    "range": _range,
    "split": lambda s, sep: (
        s.split(sep) if isinstance(sep, str) else re.split("|".join(map(re.escape, sep)), s)
    ),
    "first": lambda v: v[0],
    "last": lambda v: v[-1],
    "take": lambda v, n: v[: _int(n)],
    "skip": lambda v, n: v[_int(n) :],
    "padleft": lambda v, n, c=" ": _string(v).rjust(_int(n), c),
    "substring": _substring,
    "replace": lambda s, old, new: s.replace(old, new),
    "trim": lambda s: s.strip(),
    "startswith": lambda s, p: s.lower().startswith(p.lower()),
    "endswith": lambda s, p: s.lower().endswith(p.lower()),
    "indexof": lambda s, p: s.lower().find(p.lower()),
    "contains": _contains,
    "createobject": _create_object,
    "createarray": lambda *v: list(v),
    "array": lambda v: v if isinstance(v, list) else [v],
    "coalesce": lambda *v: next((x for x in v if x is not None), None),
    "union": lambda *v: (
        _concat(*v) if all(isinstance(x, list) for x in v) else {k: x[k] for x in v for k in x}
    ),
    "add": lambda a, b: _int(a) + _int(b),
    "sub": lambda a, b: _int(a) - _int(b),
    "mul": lambda a, b: _int(a) * _int(b),
    "div": lambda a, b: _int(a) // _int(b),
    "mod": lambda a, b: _int(a) % _int(b),
    "min": lambda *v: min(v[0] if len(v) == 1 else v),
    "max": lambda *v: max(v[0] if len(v) == 1 else v),
    "uniquestring": lambda *parts: unique_string(*map(_string, parts)),
    "guid": lambda *parts: str(
        __import__("uuid").UUID(hashlib.md5("|".join(map(_string, parts)).encode()).hexdigest())
    ),
    "json": lambda text: json.loads(text),
    "true": lambda: True,
    "false": lambda: False,
    "null": lambda: None,
}


class Scope:
    """What expressions can see: parameters, variables, copy indexes and template functions.

    ``functions`` adds the template-aware functions (resourceId, reference, resourceGroup...).
    ``lazy`` short-circuits if() so the branch not taken is never evaluated.
    """

    def __init__(self, functions: dict[str, Callable[..., Any]] | None = None) -> None:
        self.functions = {**PURE_FUNCTIONS, **(functions or {})}
        self.copy_indexes: dict[str | None, int] = {}

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Member):
            return _get(self.evaluate(node.target), node.name)
        if isinstance(node, Index):
            return _get(self.evaluate(node.target), self.evaluate(node.index))
        name = node.name.lower()
        if name == "if":
            if len(node.args) != 3:
                raise ExpressionError("if() takes a condition and two values")
            branch = node.args[1] if self.evaluate(node.args[0]) else node.args[2]
            return self.evaluate(branch)
        if name == "copyindex":
            return self._copy_index(node.args)
        function = self.functions.get(name)
        if function is None:
            raise ExpressionError(
                f"function {node.name}() is not supported by vnetsim's ARM importer"
            )
        args = [self.evaluate(arg) for arg in node.args]
        try:
            return function(*args)
        except ExpressionError:
            raise
        except (
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            AttributeError,
            ZeroDivisionError,
        ) as problem:
            raise ExpressionError(f"{node.name}(): {problem}") from None

    def _copy_index(self, args: tuple[Any, ...]) -> int:
        values = [self.evaluate(a) for a in args]
        loop = next((v for v in values if isinstance(v, str)), None)
        offset = next((v for v in values if isinstance(v, int) and not isinstance(v, bool)), 0)
        key = loop if loop in self.copy_indexes else (None if loop is None else loop)
        if key not in self.copy_indexes:
            where = f"copy loop {loop!r}" if loop else "a copy loop"
            raise ExpressionError(f"copyIndex() used outside {where}")
        return self.copy_indexes[key] + offset

    def resolve(self, value: Any) -> Any:
        """Evaluate every expression inside a JSON value (strings, lists, objects)."""
        if isinstance(value, str):
            if is_expression(value):
                return self.evaluate(parse(value[1:-1]))
            if value.startswith("[["):
                return value[1:]
            return value
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value
