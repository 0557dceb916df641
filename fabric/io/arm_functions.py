"""The pure ARM template functions (no template context): strings, numbers, logic, arrays,
objects and CIDR. Semantics follow Microsoft's template-function reference pages and their
documented examples (template-functions-array/-object/-string/-logical/-cidr.md).

Every function either returns a JSON value or raises ``ExpressionError``. Results are bounded
(``MAX_STRING``, ``MAX_ITEMS``, ``MAX_INT``) so that a template cannot exhaust memory through
``padLeft``, ``range``, repeated ``concat`` or big-integer arithmetic.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from fabric.io import jsonc


class ExpressionError(ValueError):
    """An expression that cannot be evaluated: syntax, unknown function, bad argument."""


class Unresolvable(ExpressionError):  # noqa: N818 - reads as a value state
    """A value known only after deployment (e.g. a runtime property read with reference())."""


MAX_STRING = 1_000_000  # characters in one string value (templates are at most 4 MB)
MAX_ITEMS = 100_000  # items in one array value
MAX_INT = 2**63  # ARM integers are 64-bit
MAX_RANGE = 10_000  # range(): "count ... must be non-negative integer up to 10000"
MAX_STEPS = 1_000_000  # evaluation steps per load; the largest corpus template needs ~1,000


class Budget:
    """Evaluation work shared by every expression of one load: nested lambdas over large
    arrays stop with an ExpressionError instead of running for hours."""

    def __init__(self, limit: int = MAX_STEPS) -> None:
        self.limit = limit
        self.steps = 0

    def spend(self, steps: int) -> None:
        self.steps += steps
        if self.steps > self.limit:
            raise ExpressionError(
                f"the template's expressions need more than {self.limit:,} evaluation steps; "
                "vnetsim stops there"
            )


def cost(value: Any) -> int:
    """The steps a function result costs: one, plus one per 16 items or characters."""
    return 1 + (len(value) // 16 if isinstance(value, str | list | dict) else 0)


def check_size(value: Any, function: str) -> Any:
    """``value`` if it is within the limits; ExpressionError naming the function if not."""
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ExpressionError(
            f"{function}() would build a string of {len(value):,} characters; vnetsim stops "
            f"at {MAX_STRING:,}"
        )
    if isinstance(value, list) and len(value) > MAX_ITEMS:
        raise ExpressionError(
            f"{function}() would build an array of {len(value):,} items; vnetsim stops at "
            f"{MAX_ITEMS:,}"
        )
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT <= value < MAX_INT:
        raise ExpressionError(f"{function}() overflows a 64-bit integer")
    return value


# -- conversions ------------------------------------------------------------------------------


def to_string(value: Any) -> str:
    """string(): booleans as True/False (N17.2), objects and arrays as compact JSON."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def to_int(value: Any) -> int:
    """int(): an integer or a string of one."""
    if isinstance(value, bool):
        raise ExpressionError(f"int: {value!r} is a boolean, not an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"int: {value!r} is not an integer") from None


def to_bool(value: Any) -> bool:
    """bool(): 'true'/'false' (any case) or an integer (0 is false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ExpressionError(f"bool: {value!r} is neither 'true'/'false' nor an integer")


def truth(value: Any, what: str) -> bool:
    """A condition's value: a boolean, or the strings 'true'/'false' in any case (the
    modelling decision for string booleans). Anything else is an error, never truthiness."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ExpressionError(f"{what} must be true or false, got {value!r}")


def _truths(values: tuple, function: str) -> list[bool]:
    """Every argument of and()/or() checked (not short-circuited: a non-boolean is an error
    wherever it stands)."""
    return [truth(value, function) for value in values]


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        raise ExpressionError(f"json: expected a string, got {text!r}")
    try:
        return jsonc.loads(text)
    except jsonc.JsoncError as problem:
        raise ExpressionError(f"json: {text[:60]!r} is not valid JSON: {problem}") from None


# -- strings -----------------------------------------------------------------------------------


def _format(template: str, *args: Any) -> str:
    def replace(match: re.Match) -> str:
        index, spec = int(match.group(1)), match.group(2)
        if index >= len(args):
            raise ExpressionError(f"format: placeholder {{{index}}} has no argument")
        value = args[index]
        if spec and spec.upper().startswith("D") and isinstance(value, int):
            width = min(to_int(spec[1:] or 0), MAX_STRING)
            return str(value).zfill(width)
        return to_string(value)

    def token(match: re.Match) -> str:
        if match.group(0) in ("{{", "}}"):  # .NET composite format: escaped braces
            return match.group(0)[0]
        return replace(match)

    return re.sub(r"\{\{|\}\}|\{(\d+)(?::([^}]*))?\}", token, str(template))


def _pad_left(value: Any, total: Any, character: Any = " ") -> str:
    total = to_int(total)
    if total > MAX_STRING:
        raise ExpressionError(f"padLeft: a length of {total:,} is over vnetsim's {MAX_STRING:,}")
    character = to_string(character)
    if len(character) != 1:
        raise ExpressionError(f"padLeft: the padding must be one character, got {character!r}")
    return to_string(value).rjust(total, character)


def _substring(text: Any, start: Any, length: Any = None) -> str:
    text = to_string(text)
    start = to_int(start)
    end = len(text) if length is None else start + to_int(length)
    if start < 0 or end < start or end > len(text):
        raise ExpressionError(f"substring: {start}..{end} is outside {text[:60]!r}")
    return text[start:end]


def _split(text: Any, separators: Any) -> list[str]:
    text = to_string(text)
    if isinstance(separators, str):
        return text.split(separators) if separators else [text]
    return re.split("|".join(re.escape(to_string(s)) for s in separators if s), text)


def unique_string(*parts: str) -> str:
    """A deterministic 13-character lowercase string from the inputs, like uniqueString().
    (Azure's exact hash is not published; this one is stable and of the same shape.)"""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:13]


def _guid(*parts: Any) -> str:
    return str(uuid.UUID(hashlib.md5("|".join(map(to_string, parts)).encode()).hexdigest()))


# -- arrays and objects --------------------------------------------------------------------------


def _concat(*values: Any) -> Any:
    if values and all(isinstance(v, list) for v in values):
        return [item for v in values for item in v]
    if any(isinstance(v, list) for v in values):
        raise ExpressionError("concat: give only arrays or only strings, not both")
    return "".join(to_string(v) for v in values)


def _range(start: Any, count: Any) -> list[int]:
    start, count = to_int(start), to_int(count)
    if not 0 <= count <= MAX_RANGE:
        raise ExpressionError(f"range: count must be from 0 to {MAX_RANGE}, got {count}")
    if start + count > 2_147_483_647:
        raise ExpressionError("range: startIndex + count must be at most 2147483647")
    return list(range(start, start + count))


def _sequence(value: Any, function: str) -> str | list:
    if not isinstance(value, str | list):
        raise ExpressionError(f"{function}: expected an array or a string, got {value!r}")
    return value


def _take(value: Any, count: Any) -> Any:
    """take(): 0 or less gives an empty value, more than the length gives all of it."""
    value, count = _sequence(value, "take"), to_int(count)
    return value[: max(count, 0)]


def _skip(value: Any, count: Any) -> Any:
    """skip(): 0 or less gives all of it, more than the length gives an empty value."""
    value, count = _sequence(value, "skip"), to_int(count)
    return value[max(count, 0) :]


def _first(value: Any) -> Any:
    value = _sequence(value, "first")
    if not value:
        raise ExpressionError("first: the value is empty")
    return value[0]


def _last(value: Any) -> Any:
    value = _sequence(value, "last")
    if not value:
        raise ExpressionError("last: the value is empty")
    return value[-1]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def _length(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise ExpressionError(f"length: {value!r} has no length")


def find_key(mapping: dict, key: str) -> Any:
    """The key of ``mapping`` equal to ``key`` ignoring case (ARM property names), or None."""
    if key in mapping:
        return key
    lowered = key.lower()
    return next((k for k in mapping if isinstance(k, str) and k.lower() == lowered), None)


def _contains(container: Any, item: Any) -> bool:
    """contains(): strings case-sensitively, object keys case-insensitively, array items."""
    if isinstance(container, str):
        return to_string(item) in container
    if isinstance(container, dict):
        return find_key(container, to_string(item)) is not None
    if isinstance(container, list):
        return item in container
    raise ExpressionError(f"contains: {container!r} is not a string, object or array")


def _create_object(*pairs: Any) -> dict:
    if len(pairs) % 2:
        raise ExpressionError("createObject needs key/value pairs")
    return {to_string(pairs[i]): pairs[i + 1] for i in range(0, len(pairs), 2)}


def _merge(base: dict, extra: dict) -> dict:
    """union() of objects: later values win; nested objects merge, nested arrays do not."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _key(value: Any) -> str:
    """A hashable stand-in for a JSON value (equal values, equal keys)."""
    return json.dumps(value, sort_keys=True, default=str)


def _union(*values: Any) -> Any:
    if values and all(isinstance(v, list) for v in values):
        out: list = []
        seen: set[str] = set()
        for value in values:
            for item in value:
                key = _key(item)
                if key not in seen:
                    seen.add(key)
                    out.append(item)
        return out
    if values and all(isinstance(v, dict) for v in values):
        merged: dict = {}
        for value in values:
            merged = _merge(merged, value)
        return merged
    raise ExpressionError("union: give only arrays or only objects")


def _intersection(*values: Any) -> Any:
    if values and all(isinstance(v, list) for v in values):
        others = [{_key(item) for item in v} for v in values[1:]]
        return [item for item in values[0] if all(_key(item) in o for o in others)]
    if values and all(isinstance(v, dict) for v in values):
        return {
            k: v for k, v in values[0].items() if all(o.get(k, object()) == v for o in values[1:])
        }
    raise ExpressionError("intersection: give only arrays or only objects")


def _items(value: Any) -> list[dict]:
    """items(): an object as [{key, value}] sorted by key (the documented example's order)."""
    if not isinstance(value, dict):
        raise ExpressionError(f"items: expected an object, got {value!r}")
    return [{"key": key, "value": value[key]} for key in sorted(value, key=str)]


def _object_keys(value: Any) -> list:
    """objectKeys(): an object's keys, in its order."""
    if not isinstance(value, dict):
        raise ExpressionError(f"objectKeys: expected an object, got {value!r}")
    return list(value)


def _shallow_merge(values: Any) -> dict:
    """shallowMerge(): an array of objects merged left to right, top-level keys only."""
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise ExpressionError("shallowMerge: expected an array of objects")
    merged: dict = {}
    for value in values:
        for key, item in value.items():
            merged.pop(find_key(merged, key) or key, None)  # keys are case-insensitive
            merged[key] = item
    return merged


def _try_get(value: Any, *keys: Any) -> Any:
    """tryGet(): the value at a key or index path, or null where any step is missing."""
    for key in keys:
        if isinstance(value, dict) and isinstance(key, str):
            found = find_key(value, key)
            value = None if found is None else value[found]
        elif isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
            value = value[key] if 0 <= key < len(value) else None
        else:
            return None
    return value


def _numbers(values: tuple) -> list:
    items = values[0] if len(values) == 1 and isinstance(values[0], list) else list(values)
    if not items:
        raise ExpressionError("min/max of nothing")
    return [to_int(v) for v in items]


def _div(a: Any, b: Any) -> int:
    a, b = to_int(a), to_int(b)
    if b == 0:
        raise ExpressionError("div: division by zero")
    quotient = abs(a) // abs(b)  # ARM integer division truncates toward zero
    return quotient if (a >= 0) == (b >= 0) else -quotient


def _mod(a: Any, b: Any) -> int:
    a, b = to_int(a), to_int(b)
    if b == 0:
        raise ExpressionError("mod: division by zero")
    return a - b * _div(a, b)


# -- CIDR (template-functions-cidr.md) ------------------------------------------------------------


def _network(text: Any, function: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(to_string(text), strict=False)
    except ValueError:
        raise ExpressionError(f"{function}: {text!r} is not a CIDR range") from None


def _parse_cidr(text: Any) -> dict:
    """parseCidr(): network, netmask, (IPv4) broadcast, first/last usable and the length.
    IPv4 reserves the network and broadcast addresses; IPv6 has no broadcast (docs example)."""
    net = _network(text, "parseCidr")
    first, last = int(net.network_address), int(net.broadcast_address)
    out: dict[str, Any] = {"network": str(net.network_address), "netmask": str(net.netmask)}
    if net.version == 4:
        out["broadcast"] = str(net.broadcast_address)
        if net.prefixlen < 31:
            first, last = first + 1, last - 1
    address = type(net.network_address)
    out["firstUsable"] = str(address(first))
    out["lastUsable"] = str(address(last))
    out["cidr"] = net.prefixlen
    return out


def _cidr_subnet(text: Any, new_length: Any, index: Any) -> str:
    net, new_length, index = _network(text, "cidrSubnet"), to_int(new_length), to_int(index)
    if not net.prefixlen <= new_length <= net.max_prefixlen:
        raise ExpressionError(
            f"cidrSubnet: newCIDR {new_length} must be from {net.prefixlen} to {net.max_prefixlen}"
        )
    count = 1 << (new_length - net.prefixlen)
    if not 0 <= index < count:
        raise ExpressionError(
            f"cidrSubnet: {net} has {count} /{new_length} subnets, not {index + 1}"
        )
    size = 1 << (net.max_prefixlen - new_length)
    address = type(net.network_address)(int(net.network_address) + index * size)
    return f"{address}/{new_length}"


def _cidr_host(text: Any, index: Any) -> str:
    """cidrHost(): index 0 is the first usable address (network + 1)."""
    net, index = _network(text, "cidrHost"), to_int(index)
    usable = net.num_addresses - (2 if net.version == 4 else 1)
    if not 0 <= index < usable:
        raise ExpressionError(f"cidrHost: {net} has {max(usable, 0)} usable hosts, not {index + 1}")
    return str(type(net.network_address)(int(net.network_address) + 1 + index))


PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    # strings
    "concat": _concat,
    "format": _format,
    "tolower": lambda s: to_string(s).lower(),
    "toupper": lambda s: to_string(s).upper(),
    "string": to_string,
    "padleft": _pad_left,
    "substring": _substring,
    "replace": lambda s, old, new: to_string(s).replace(to_string(old), to_string(new)),
    "trim": lambda s: to_string(s).strip(),
    "split": _split,
    "startswith": lambda s, p: to_string(s).lower().startswith(to_string(p).lower()),
    "endswith": lambda s, p: to_string(s).lower().endswith(to_string(p).lower()),
    "indexof": lambda s, p: to_string(s).lower().find(to_string(p).lower()),
    "lastindexof": lambda s, p: to_string(s).lower().rfind(to_string(p).lower()),
    "uniquestring": lambda *parts: unique_string(*map(to_string, parts)),
    "guid": _guid,
    "base64": lambda s: base64.b64encode(to_string(s).encode()).decode(),
    # conversions and logic
    "int": to_int,
    "bool": to_bool,
    "json": _json,
    "equals": lambda a, b: a == b,
    "not": lambda v: not truth(v, "not()"),
    "and": lambda *v: all(_truths(v, "and()")),
    "or": lambda *v: any(_truths(v, "or()")),
    "greater": lambda a, b: a > b,
    "greaterorequals": lambda a, b: a >= b,
    "less": lambda a, b: a < b,
    "lessorequals": lambda a, b: a <= b,
    "true": lambda: True,
    "false": lambda: False,
    "null": lambda: None,
    # numbers
    "add": lambda a, b: to_int(a) + to_int(b),
    "sub": lambda a, b: to_int(a) - to_int(b),
    "mul": lambda a, b: to_int(a) * to_int(b),
    "div": _div,
    "mod": _mod,
    "min": lambda *v: min(_numbers(v)),
    "max": lambda *v: max(_numbers(v)),
    # arrays and objects
    "array": lambda v: v if isinstance(v, list) else [v],
    "createarray": lambda *v: list(v),
    "createobject": _create_object,
    "coalesce": lambda *v: next((x for x in v if x is not None), None),
    "empty": _empty,
    "length": _length,
    "range": _range,
    "first": _first,
    "last": _last,
    "take": _take,
    "skip": _skip,
    "contains": _contains,
    "union": _union,
    "intersection": _intersection,
    "items": _items,
    "objectkeys": _object_keys,
    "shallowmerge": _shallow_merge,
    "tryget": _try_get,
    # CIDR
    "parsecidr": _parse_cidr,
    "cidrsubnet": _cidr_subnet,
    "cidrhost": _cidr_host,
}
