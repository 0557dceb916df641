"""A safe evaluator for the ARM template expression language (a grammar of its own, never
Python ``eval``).

An expression is a string ``"[...]"``; ``"[[..."`` is a literal that starts with ``[``. Inside:
string literals in single quotes (``''`` escapes a quote), integers, function calls, and
property (``.name``) and index (``[expr]``) access. Functions are the template functions that
real networking templates use (``fabric.io.arm_functions``) plus the lambda functions
(``filter``, ``map``, ``reduce``, ``sort``, ``toObject`` with ``lambda``/``lambdaVariables``);
anything else raises ``ExpressionError`` naming the function.

Expressions nest at most ``MAX_DEPTH`` calls deep, so that a hostile template is a clear
error rather than a RecursionError.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import attrs

from fabric.io.anycase import AnyCase
from fabric.io.arm_functions import (
    PURE_FUNCTIONS,
    Budget,
    ExpressionError,
    Unresolvable,
    check_size,
    cost,
    find_key,
    truth,
    unique_string,
)

__all__ = [
    "PURE_FUNCTIONS",
    "Budget",
    "ExpressionError",
    "Failed",
    "Scope",
    "Unresolvable",
    "is_expression",
    "parse",
    "unique_string",
]

MAX_DEPTH = 64  # nested calls, member and index accesses in one expression

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
                f"unexpected character {text[position]!r} at {position} in {text[:80]!r}"
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
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            wanted = f"{value!r}" if value else "more input"
            found = f"{token[1]!r}" if token else "the end"
            raise ExpressionError(f"expected {wanted}, found {found} in [{self.text[:80]}]")
        self.position += 1
        return token

    def parse(self) -> Any:
        node = self.expression()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in [{self.text[:80]}]")
        return node

    def expression(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression nested deeper than {MAX_DEPTH} levels in [{self.text[:80]}...]; "
                "split it into variables"
            )
        try:
            return self._accessors(self._primary())
        finally:
            self.depth -= 1

    def _primary(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return Literal(value[1:-1].replace("''", "'"))
        if kind == "number":
            return Literal(int(value))
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r} in [{self.text[:80]}]")
        ahead = self.tokens[self.position : self.position + 3]
        # a user-defined function: namespace.member(...)
        if (
            len(ahead) == 3
            and ahead[0] == ("punct", ".")
            and ahead[1][0] == "name"
            and (ahead[2] == ("punct", "("))
        ):
            self.position += 2
            value = f"{value}.{ahead[1][1]}"
        self.take("(")
        args = []
        if self.peek() != ("punct", ")"):
            args.append(self.expression())
            while self.peek() == ("punct", ","):
                self.take(",")
                args.append(self.expression())
        self.take(")")
        return Call(value, tuple(args))

    def _accessors(self, node: Any) -> Any:
        count = 0
        while self.peek() in (("punct", "."), ("punct", "[")):
            count += 1
            if count > MAX_DEPTH:
                raise ExpressionError(f"more than {MAX_DEPTH} accessors in [{self.text[:80]}]")
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name":
                    raise ExpressionError(
                        f"expected a property name after '.' in [{self.text[:80]}]"
                    )
                node = Member(node, name)
            else:
                node = Index(node, self.expression())
                self.take("]")
        return node


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Any:
    """Parse the inside of ``[...]`` into a syntax tree (cached: templates repeat them)."""
    return _Parser(text).parse()


def is_expression(value: Any) -> bool:
    """True for ``"[...]"`` strings that are expressions (not ``"[[..."`` literals)."""
    return (
        isinstance(value, str)
        and value.startswith("[")
        and value.endswith("]")
        and not value.startswith("[[")
    )


@attrs.frozen
class Failed:
    """A value whose expression failed in an earlier evaluation pass (an outer-scope nested
    template is evaluated by its parent first); resolving it raises the original error."""

    error: ExpressionError


# -- evaluation -------------------------------------------------------------------------------


def _get(mapping: Any, key: Any) -> Any:
    """Property or index access; ARM property names are case-insensitive. Containers that know
    their values only after deployment (``missing`` hook) raise Unresolvable for absent keys."""
    missing = getattr(mapping, "missing", None)
    if isinstance(mapping, list):
        if (
            isinstance(key, bool)
            or not isinstance(key, int)
            or not -len(mapping) <= key < len(mapping)
        ):
            if missing is not None:
                raise missing(key)
            raise ExpressionError(f"index {key!r} is out of range for a list of {len(mapping)}")
        return mapping[key]
    if isinstance(mapping, dict):
        found = find_key(mapping, key) if isinstance(key, str) else None
        if found is not None:
            return mapping[found]
        if missing is not None:
            raise missing(key)
        names = ", ".join(map(str, list(mapping)[:20]))
        raise ExpressionError(f"property {key!r} does not exist (has: {names})")
    raise ExpressionError(f"cannot read {key!r} of {type(mapping).__name__} {str(mapping)[:60]!r}")


@attrs.define
class Lambda:
    """``lambda('x', ..., body)``: applied by filter/map/reduce/sort/toObject."""

    names: tuple[str, ...]
    body: Any
    scope: Scope

    def __call__(self, *values: Any) -> Any:
        if len(values) < len(self.names):
            raise ExpressionError(
                f"lambda({', '.join(self.names)}) needs {len(self.names)} value(s)"
            )
        self.scope.lambda_frames.append(dict(zip(self.names, values, strict=False)))
        try:
            return self.scope.evaluate(self.body)
        finally:
            self.scope.lambda_frames.pop()


def _lambda_of(value: Any, function: str, arity: int) -> Lambda:
    if not isinstance(value, Lambda):
        raise ExpressionError(f"{function}: the last argument must be lambda(...)")
    if len(value.names) > arity:
        raise ExpressionError(f"{function}: the lambda takes at most {arity} variable(s)")
    return value


def _array_of(value: Any, function: str) -> list:
    if not isinstance(value, list):
        raise ExpressionError(f"{function}: expected an array, got {str(value)[:60]!r}")
    return value


def _filter(items: Any, function: Any) -> list:
    function = _lambda_of(function, "filter", 2)
    items = _array_of(items, "filter")
    return [x for i, x in enumerate(items) if truth(function(x, i), "filter's lambda")]


def _map(items: Any, function: Any) -> list:
    function = _lambda_of(function, "map", 2)
    return [function(x, i) for i, x in enumerate(_array_of(items, "map"))]


def _reduce(items: Any, initial: Any, function: Any) -> Any:
    function = _lambda_of(function, "reduce", 3)
    value = initial
    for i, item in enumerate(_array_of(items, "reduce")):
        value = function(value, item, i)
    return value


def _sort(items: Any, function: Any) -> list:
    """sort(): the lambda says whether a goes before b (a stable sort; items neither of
    which goes first keep their order)."""
    function = _lambda_of(function, "sort", 2)

    def compare(a: Any, b: Any) -> int:
        if truth(function(a, b), "sort's lambda"):
            return -1
        return 1 if truth(function(b, a), "sort's lambda") else 0

    return sorted(_array_of(items, "sort"), key=functools.cmp_to_key(compare))


def _to_object(items: Any, key: Any, value: Any = None) -> dict:
    key = _lambda_of(key, "toObject", 1)
    value = _lambda_of(value, "toObject", 1) if value is not None else None
    out = {}
    for item in _array_of(items, "toObject"):
        name = key(item)
        if not isinstance(name, str):
            raise ExpressionError(f"toObject: the key lambda gave {name!r}, not a string")
        out[name] = value(item) if value is not None else item
    return out


LAMBDA_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "filter": _filter,
    "map": _map,
    "reduce": _reduce,
    "sort": _sort,
    "toobject": _to_object,
}


class Scope:
    """What expressions can see: parameters, variables, copy indexes and template functions.

    ``functions`` adds the template-aware functions (resourceId, reference, resourceGroup...).
    if() is lazy: the branch not taken is never evaluated. ``budget`` is the evaluation work
    the scope may spend (shared by every scope of one load).
    """

    def __init__(
        self,
        functions: dict[str, Callable[..., Any]] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.functions = {**PURE_FUNCTIONS, **LAMBDA_FUNCTIONS, **(functions or {})}
        self.budget = budget or Budget()
        self.copy_indexes: dict[str | None, int] = {}
        self.lambda_frames: list[dict[str, Any]] = []

    def evaluate(self, node: Any) -> Any:
        self.budget.spend(1)
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Member):
            return _get(self.evaluate(node.target), node.name)
        if isinstance(node, Index):
            return _get(self.evaluate(node.target), self.evaluate(node.index))
        name = node.name.lower()
        special = {
            "if": self._if,
            "copyindex": self._copy_index,
            "lambda": self._lambda,
            "lambdavariables": self._lambda_variable,
        }.get(name)
        if special is not None:
            return special(node.args)
        function = self.functions.get(name)
        if function is None:
            raise ExpressionError(
                f"function {node.name}() is not supported by vnetsim's ARM importer"
            )
        args = [self.evaluate(arg) for arg in node.args]
        try:
            result = check_size(function(*args), node.name)
            self.budget.spend(cost(result))
            return result
        except ExpressionError:
            raise
        except (
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            AttributeError,
            ZeroDivisionError,
            OverflowError,
        ) as problem:
            raise ExpressionError(f"{node.name}(): {problem}") from None

    def _if(self, args: tuple[Any, ...]) -> Any:
        if len(args) != 3:
            raise ExpressionError("if() takes a condition and two values")
        condition = truth(self.evaluate(args[0]), "the condition of if()")
        return self.evaluate(args[1] if condition else args[2])

    def _lambda(self, args: tuple[Any, ...]) -> Lambda:
        if len(args) < 2:
            raise ExpressionError("lambda() takes variable names and an expression")
        names = tuple(self.evaluate(a) for a in args[:-1])
        if not all(isinstance(n, str) for n in names):
            raise ExpressionError("lambda(): variable names must be strings")
        return Lambda(names, args[-1], self)

    def _lambda_variable(self, args: tuple[Any, ...]) -> Any:
        name = self.evaluate(args[0]) if len(args) == 1 else None
        for frame in reversed(self.lambda_frames):
            if name in frame:
                return frame[name]
        raise ExpressionError(f"lambdaVariables({name!r}) is used outside a lambda that names it")

    def _copy_index(self, args: tuple[Any, ...]) -> int:
        values = [self.evaluate(a) for a in args]
        loop = next((v for v in values if isinstance(v, str)), None)
        offset = next((v for v in values if isinstance(v, int) and not isinstance(v, bool)), 0)
        if loop not in self.copy_indexes:
            where = f"copy loop {loop!r}" if loop else "a copy loop"
            raise ExpressionError(f"copyIndex() used outside {where}")
        return self.copy_indexes[loop] + offset

    def resolve(self, value: Any) -> Any:
        """Evaluate every expression inside a JSON value (strings, lists, objects)."""
        try:
            return self._resolve(value)
        except RecursionError:
            raise ExpressionError(
                "expressions and variables nest too deeply to evaluate; simplify the template"
            ) from None

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            if is_expression(value):
                result = self.evaluate(parse(value[1:-1]))
                if isinstance(result, Lambda):
                    raise ExpressionError("lambda() can only be an argument of filter/map/...")
                return result
            if value.startswith("[["):
                return value[1:]
            return value
        if isinstance(value, Failed):
            raise value.error
        if isinstance(value, list):
            return [self._resolve(item) for item in value]
        if isinstance(value, dict):
            return AnyCase((key, self._resolve(item)) for key, item in value.items())
        return value
