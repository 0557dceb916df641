"""Terraform values as Python values, and the one that Python lacks: *unknown*.

Strings, numbers, bools and null are ``str``, ``int``/``float``, ``bool`` and ``None``; lists and
tuples are ``list``; sets are ``SetValue`` (a list kept in Terraform's order); maps and objects are
``dict``. A resource instance is an ``ObjectValue``: a dict that knows its address, so that asking
it for an attribute the configuration does not set can answer "computed by Azure" instead of
failing. ``Unknown`` stands for a value that exists only after ``terraform apply`` or that has no
value offline (a variable nobody set); it flows through expressions instead of stopping them, and
keeps a ``display`` text so that a name built from it still reads well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from fabric.model.records import suggest


class EvalError(Exception):
    """An expression Terraform would reject; the message says why and, where it can, the fix."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@attrs.frozen
class Unknown:
    """A value not known offline.

    ``reason`` says why (and what would make it known), ``display`` is the text to show where a
    string is needed (``${var.prefix}-vnet``), ``origin`` is the reference it came from
    (``azurerm_firewall.hub.ip_configuration[0].private_ip_address``) when it is exactly one.
    """

    reason: str
    display: str
    origin: str | None = None

    def derived(self, display: str) -> Unknown:
        """The same unknown, shown differently (an expression built on it)."""
        return Unknown(self.reason, display, None)


class SetValue(list):
    """A Terraform set: no duplicates; strings in lexical order, as Terraform iterates them."""

    @classmethod
    def of(cls, items: Iterable[Any]) -> SetValue:
        items = list(items)
        if all(isinstance(item, str) for item in items):
            return cls(sorted(set(items)))
        unique: list[Any] = []
        for item in items:
            if not any(equal(item, seen) is True for seen in unique):
                unique.append(item)
        return cls(unique)


class Namespace:
    """A lazily evaluated object (``var``, ``local``, a module's outputs): attributes on demand."""

    def attribute(self, name: str) -> Any:
        raise NotImplementedError

    def materialize(self) -> dict[str, Any]:
        """Every attribute, for functions and ``for`` expressions that need the whole object."""
        raise NotImplementedError


class ObjectValue(dict):
    """A resource instance or one of its nested blocks: its values plus its address.

    ``missing`` decides what an attribute the configuration does not set evaluates to (null,
    computed by Azure, or an error for a name the resource type does not have).
    """

    def __init__(
        self,
        values: dict[str, Any],
        address: str,
        missing: Callable[[ObjectValue, str], Any] | None = None,
    ) -> None:
        super().__init__(values)
        self.address = address
        self._missing = missing

    def missing(self, name: str) -> Any:
        if self._missing is None:
            return None
        return self._missing(self, name)


def first_unknown(values: Iterable[Any]) -> Unknown | None:
    """The first unknown among ``values`` (shallow), else None."""
    for value in values:
        if isinstance(value, Unknown):
            return value
    return None


def deep_unknown(value: Any) -> Unknown | None:
    """The first unknown anywhere inside ``value``, else None."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, list):
        for item in value:
            found = deep_unknown(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for item in value.values():
            found = deep_unknown(item)
            if found is not None:
                return found
    return None


def plain(value: Any) -> Any:
    """A namespace as the dict of its attributes; anything else as it is."""
    return value.materialize() if isinstance(value, Namespace) else value


def type_name(value: Any) -> str:
    """Terraform's name for the type of ``value`` (for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, SetValue):
        return "set"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict | Namespace):
        return "object"
    if isinstance(value, Unknown):
        return "unknown value"
    return type(value).__name__


def number(value: Any) -> int | float:
    """A Terraform number: an int whenever the value is integral."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise EvalError("the result is not a finite number")
        if value.is_integer() and abs(value) < 2**63:
            return int(value)
    return value


def to_number(value: Any) -> int | float:
    """Terraform's conversion to number: numbers, and strings that spell one."""
    if isinstance(value, bool) or value is None:
        raise EvalError(f"a number is required, got {type_name(value)}")
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return number(int(text))
        except ValueError:
            pass
        try:
            return number(float(text))
        except ValueError:
            raise EvalError(f"a number is required, got string {value!r}") from None
    raise EvalError(f"a number is required, got {type_name(value)}")


def to_bool(value: Any) -> bool:
    """Terraform's conversion to bool: bools, and the strings "true" and "false"."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise EvalError(f"a bool is required, got {type_name(value)} {_short(value)}")


def to_string(value: Any) -> str:
    """Terraform's conversion to string: strings, numbers and bools (never null or collections)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = number(value)
        return str(value) if isinstance(value, int) else repr(value)
    if value is None:
        raise EvalError("a string is required, got null")
    raise EvalError(f"a string is required, got {type_name(value)}")


def equal(a: Any, b: Any) -> bool | Unknown:
    """Terraform's ``==``: same type and value (1 == 1.0, but "1" != 1 and true != 1)."""
    unknown = first_unknown((a, b))
    if unknown is not None:
        return unknown
    a, b = plain(a), plain(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) is True for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) is True for k in a)
    return type(a) is type(b) and a == b


def suggest_name(name: str, choices: Iterable[str]) -> str:
    """The project's ``suggest`` (the nearest name, or the names), shortened to a count when
    there are many names and none is near."""
    names = sorted(str(c) for c in choices)
    if not names:
        return "there are none"
    hint = suggest(name, names)
    if hint.startswith("did you mean") or len(names) <= 8:
        return hint
    return f"there are {len(names)} others"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
