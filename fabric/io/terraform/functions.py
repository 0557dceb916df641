"""Terraform's built-in functions that infrastructure code uses, with Terraform's semantics.

Each function takes evaluated arguments. The table wraps each one so that a wrong argument
count or a bad value is an ``EvalError`` that names the problem, and so that an unknown
argument gives an unknown result (shown as the function applied to the argument's display text,
so ``format("%s-vnet", var.prefix)`` still reads ``${var.prefix}-vnet``). Functions whose result
is not knowable offline (``uuid``, ``timestamp``) return unknowns.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import inspect
import ipaddress
import json
import math
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from fabric.io.terraform.expressions import Scope, render_template, template_parts
from fabric.io.terraform.values import (
    EvalError,
    SetValue,
    Unknown,
    deep_unknown,
    equal,
    first_unknown,
    number,
    plain,
    to_bool,
    to_number,
    to_string,
    type_name,
)

# -- helpers ---------------------------------------------------------------------------------


def _list(value: Any, what: str = "argument") -> list[Any]:
    value = plain(value)
    if isinstance(value, list):
        return list(value)
    raise EvalError(f"the {what} must be a list, got {type_name(value)}")


def _map(value: Any, what: str = "argument") -> dict[str, Any]:
    value = plain(value)
    if isinstance(value, dict):
        return dict(value)
    raise EvalError(f"the {what} must be a map or object, got {type_name(value)}")


def _int(value: Any, what: str = "argument") -> int:
    result = to_number(value)
    if not isinstance(result, int):
        raise EvalError(f"the {what} must be a whole number, got {value!r}")
    return result


def _network(prefix: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(to_string(prefix), strict=False)
    except ValueError:
        raise EvalError(f"{prefix!r} is not an address prefix in CIDR notation") from None


# -- IP networks -------------------------------------------------------------------------------


def cidrsubnet(prefix: Any, newbits: Any, netnum: Any) -> str:
    network = _network(prefix)
    bits, index = _int(newbits, "newbits"), _int(netnum, "netnum")
    length = network.prefixlen + bits
    if bits < 0 or length > network.max_prefixlen:
        raise EvalError(f"cannot extend /{network.prefixlen} by {bits} bits")
    if not 0 <= index < 2**bits:
        raise EvalError(f"netnum {index} does not fit in {bits} bits")
    base = int(network.network_address) + (index << (network.max_prefixlen - length))
    return str(ipaddress.ip_network((base, length)))


def cidrsubnets(prefix: Any, *newbits: Any) -> list[str]:
    network = _network(prefix)
    result, cursor = [], int(network.network_address)
    end = int(network.broadcast_address)
    for bits in newbits:
        length = network.prefixlen + _int(bits, "newbits")
        if length > network.max_prefixlen or length < network.prefixlen:
            raise EvalError(f"cannot extend /{network.prefixlen} by {bits} bits")
        size = 1 << (network.max_prefixlen - length)
        cursor = (cursor + size - 1) // size * size
        if cursor + size - 1 > end:
            raise EvalError(f"not enough room left in {network} for a /{length}")
        result.append(str(ipaddress.ip_network((cursor, length))))
        cursor += size
    return result


def cidrhost(prefix: Any, hostnum: Any) -> str:
    network = _network(prefix)
    index = _int(hostnum, "hostnum")
    if index < 0:
        index += network.num_addresses
    if not 0 <= index < network.num_addresses:
        raise EvalError(f"host number {hostnum} is outside {network}")
    return str(network.network_address + index)


def cidrnetmask(prefix: Any) -> str:
    network = _network(prefix)
    if network.version != 4:
        raise EvalError("cidrnetmask works on IPv4 prefixes only")
    return str(network.netmask)


# -- collections -------------------------------------------------------------------------------


def concat(*lists: Any) -> list[Any]:
    return [item for value in lists for item in _list(value)]


_NO_DEFAULT = object()


def lookup(mapping: Any, key: Any, default: Any = _NO_DEFAULT) -> Any:
    values = _map(mapping, "first argument")
    name = to_string(key)
    if name in values:
        return values[name]
    if default is not _NO_DEFAULT:
        return default
    raise EvalError(f"the map has no key {name!r} and no default was given")


def merge(*maps: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for value in maps:
        if value is not None:
            result.update(_map(value))
    return result


def element(values: Any, index: Any) -> Any:
    items = _list(values)
    if not items:
        raise EvalError("cannot use element() on an empty list")
    return items[_int(index, "index") % len(items)]


def length(value: Any) -> int:
    value = plain(value)
    if isinstance(value, str | list | dict):
        return len(value)
    raise EvalError(f"length() needs a string, list or map, got {type_name(value)}")


def flatten(values: Any) -> list[Any]:
    result: list[Any] = []
    for item in _list(values):
        item = plain(item)
        if isinstance(item, list):
            result.extend(flatten(item))
        else:
            result.append(item)
    return result


def keys(mapping: Any) -> list[str]:
    return sorted(_map(mapping))


def values(mapping: Any) -> list[Any]:
    items = _map(mapping)
    return [items[key] for key in sorted(items)]


def coalesce(*args: Any) -> Any:
    for value in args:
        if isinstance(value, Unknown):
            return value
        if value is not None and value != "":
            return value
    raise EvalError("no argument is non-null and non-empty")


def coalescelist(*lists: Any) -> list[Any]:
    for value in lists:
        if _list(value):
            return list(value)
    raise EvalError("every list is empty")


def tolist(value: Any) -> list[Any]:
    return list(_list(value))


def toset(value: Any) -> SetValue:
    return SetValue.of(_list(value))


def tomap(value: Any) -> dict[str, Any]:
    return _map(value)


def tostring(value: Any) -> str | None:
    return None if value is None else to_string(value)


def tonumber(value: Any) -> int | float | None:
    return None if value is None else to_number(value)


def tobool(value: Any) -> bool | None:
    return None if value is None else to_bool(value)


def contains(values: Any, value: Any) -> bool | Unknown:
    results = [equal(item, value) for item in _list(values)]
    if any(r is True for r in results):
        return True
    unknown = first_unknown(results)
    return unknown if unknown is not None else False


def distinct(values: Any) -> list[Any]:
    result: list[Any] = []
    for item in _list(values):
        if not any(equal(item, seen) is True for seen in result):
            result.append(item)
    return result


def index_of(values: Any, value: Any) -> int:
    for i, item in enumerate(_list(values)):
        if equal(item, value) is True:
            return i
    raise EvalError("the value is not in the list")


def range_of(*args: Any) -> list[int | float]:
    numbers = [to_number(a) for a in args]
    if not 1 <= len(numbers) <= 3:
        raise EvalError("range() takes one to three numbers")
    start, limit, step = (0, numbers[0], 1) if len(numbers) == 1 else (numbers[0], numbers[1], 1)
    if len(numbers) == 3:
        step = numbers[2]
    if step == 0:
        raise EvalError("the step of range() cannot be zero")
    count = max(0, math.ceil((limit - start) / step))
    if count > 1024:
        raise EvalError("range() would produce more than 1024 elements")
    return [number(start + i * step) for i in range(count)]


def zipmap(names: Any, items: Any) -> dict[str, Any]:
    names, items = _list(names), _list(items)
    if len(names) != len(items):
        raise EvalError("the two lists have different lengths")
    return {to_string(k): v for k, v in zip(names, items, strict=True)}


def one(values: Any) -> Any:
    items = _list(values)
    if len(items) > 1:
        raise EvalError(f"the list has {len(items)} elements; one() needs at most one")
    return items[0] if items else None


def compact(values: Any) -> list[Any]:
    return [v for v in _list(values) if v is not None and v != ""]


def slice_of(values: Any, start: Any, end: Any) -> list[Any]:
    items = _list(values)
    first, last = _int(start, "start"), _int(end, "end")
    if not 0 <= first <= last <= len(items):
        raise EvalError(f"indices {first}..{last} are outside the list of {len(items)}")
    return items[first:last]


def sort(values: Any) -> list[str]:
    return sorted(to_string(v) for v in _list(values))


def reverse(values: Any) -> list[Any]:
    return list(reversed(_list(values)))


def chunklist(values: Any, size: Any) -> list[list[Any]]:
    items, step = _list(values), _int(size, "size")
    if step <= 0:
        return [items]
    return [items[i : i + step] for i in range(0, len(items), step)]


def setunion(*sets: Any) -> SetValue:
    return SetValue.of(item for value in sets for item in _list(value))


def setintersection(first: Any, *others: Any) -> SetValue:
    rest = [_list(o) for o in others]
    return SetValue.of(
        i for i in _list(first) if all(any(equal(i, x) is True for x in o) for o in rest)
    )


def setsubtract(first: Any, second: Any) -> SetValue:
    removed = _list(second)
    return SetValue.of(i for i in _list(first) if not any(equal(i, x) is True for x in removed))


def setproduct(*sets: Any) -> list[list[Any]]:
    result: list[list[Any]] = [[]]
    for value in sets:
        result = [[*prefix, item] for prefix in result for item in _list(value)]
    return result


def transpose(mapping: Any) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, items in sorted(_map(mapping).items()):
        for item in _list(items):
            result.setdefault(to_string(item), []).append(key)
    return result


def matchkeys(items: Any, names: Any, searchset: Any) -> list[Any]:
    items, names, wanted = _list(items), _list(names), _list(searchset)
    if len(items) != len(names):
        raise EvalError("the first two lists have different lengths")
    return [
        v for v, k in zip(items, names, strict=True) if any(equal(k, w) is True for w in wanted)
    ]


def alltrue(values: Any) -> bool:
    return all(to_bool(v) for v in _list(values))


def anytrue(values: Any) -> bool:
    return any(to_bool(v) for v in _list(values))


def sum_of(values: Any) -> int | float:
    items = _list(values)
    if not items:
        raise EvalError("cannot sum an empty list")
    return number(sum(to_number(v) for v in items))


# -- strings -----------------------------------------------------------------------------------

_VERB = re.compile(r"%(?:\[(\d+)\])?([ +\-#0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def format_text(spec: Any, *args: Any) -> str:
    """Terraform's ``format``: Go-style verbs %s %d %f %v %q %t %x %o %b %e %g and %%."""
    template = to_string(spec)
    out: list[str] = []
    position, cursor = 0, 0
    for match in _VERB.finditer(template):
        out.append(template[cursor : match.start()])
        cursor = match.end()
        explicit, flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if explicit:
            position = int(explicit) - 1
        if position >= len(args):
            raise EvalError(f"not enough arguments for {match.group(0)!r}")
        out.append(_format_one(args[position], flags, width, precision, verb))
        position += 1
    out.append(template[cursor:])
    return "".join(out)


def _format_one(value: Any, flags: str, width: str | None, precision: str | None, verb: str) -> str:
    if verb in "sv":
        text = (
            to_string(value)
            if verb == "s" or not isinstance(value, list | dict)
            else (jsonencode(value))
        )
        if precision is not None:
            text = text[: int(precision)]
    elif verb == "q":
        text = json.dumps(to_string(value))
    elif verb == "t":
        text = "true" if to_bool(value) else "false"
    elif verb in "dboxX":
        whole = to_number(value)
        if not isinstance(whole, int):
            raise EvalError(f"%{verb} needs a whole number, got {value!r}")
        text = format(whole, {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb])
        if "+" in flags and whole >= 0:
            text = "+" + text
    elif verb in "eEfFgG":
        digits = "" if precision is None else f".{precision}"
        text = format(float(to_number(value)), digits + (verb if verb in "eEgG" else "f"))
        if "+" in flags and not text.startswith("-"):
            text = "+" + text
    else:
        raise EvalError(f"unsupported format verb %{verb}")
    if width:
        size = int(width)
        if "-" in flags:
            text = text.ljust(size)
        elif "0" in flags and verb not in "sqvt":
            sign = text[0] if text[:1] in "+-" else ""
            text = sign + text[len(sign) :].rjust(size - len(sign), "0")
        else:
            text = text.rjust(size)
    return text


def formatlist(spec: Any, *args: Any) -> list[str]:
    lengths = {len(plain(a)) for a in args if isinstance(plain(a), list)}
    if len(lengths) > 1:
        raise EvalError("all list arguments must have the same length")
    count = lengths.pop() if lengths else 1
    return [
        format_text(spec, *[plain(a)[i] if isinstance(plain(a), list) else a for a in args])
        for i in range(count)
    ]


def join(separator: Any, *lists: Any) -> str:
    items = [item for value in lists for item in _list(value)]
    return to_string(separator).join(to_string(i) for i in items)


def split(separator: Any, text: Any) -> list[str]:
    value = to_string(text)
    return [""] if value == "" else value.split(to_string(separator))


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as problem:
        raise EvalError(f"invalid regular expression {pattern!r}: {problem}") from None


def replace(text: Any, search: Any, replacement: Any) -> str:
    value, needle, new = to_string(text), to_string(search), to_string(replacement)
    if len(needle) > 1 and needle.startswith("/") and needle.endswith("/"):
        return _regex(needle[1:-1]).sub(lambda match: _expand(new, match), value)
    return value.replace(needle, new)


_GROUP_REFERENCE = re.compile(r"\$(\$|\{(\w+)\}|(\w+))")


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's regexp template expansion: $1, ${1}, $name; $$ is a dollar; unknown groups are ''."""

    def group(reference: re.Match[str]) -> str:
        if reference.group(1) == "$":
            return "$"
        name = reference.group(2) or reference.group(3)
        try:
            found = match.group(int(name) if name.isdigit() else name)
        except IndexError:
            return ""
        return found or ""

    return _GROUP_REFERENCE.sub(group, template)


def regex(pattern: Any, text: Any) -> Any:
    compiled = _regex(to_string(pattern))
    match = compiled.search(to_string(text))
    if match is None:
        raise EvalError("the pattern does not match")
    return _match_value(compiled, match)


def regexall(pattern: Any, text: Any) -> list[Any]:
    compiled = _regex(to_string(pattern))
    return [_match_value(compiled, m) for m in compiled.finditer(to_string(text))]


def _match_value(compiled: re.Pattern[str], match: re.Match[str]) -> Any:
    if compiled.groupindex:
        return match.groupdict()
    if compiled.groups:
        return list(match.groups())
    return match.group(0)


def substr(text: Any, offset: Any, size: Any) -> str:
    value, start, count = to_string(text), _int(offset, "offset"), _int(size, "length")
    if start < 0:
        start += len(value)
    if not 0 <= start <= len(value):
        raise EvalError("the offset is outside the string")
    return value[start:] if count < 0 else value[start : start + count]


def trim(text: Any, characters: Any) -> str:
    return to_string(text).strip(to_string(characters))


def trimprefix(text: Any, prefix: Any) -> str:
    return to_string(text).removeprefix(to_string(prefix))


def trimsuffix(text: Any, suffix: Any) -> str:
    return to_string(text).removesuffix(to_string(suffix))


def indent(spaces: Any, text: Any) -> str:
    pad = " " * _int(spaces, "spaces")
    return to_string(text).replace("\n", "\n" + pad)


def title(text: Any) -> str:
    return re.sub(r"\b\w", lambda m: m.group(0).upper(), to_string(text))


# -- encoding, files and the rest --------------------------------------------------------------


def jsonencode(value: Any) -> str:
    return json.dumps(_jsonable(value), separators=(",", ":"), sort_keys=True)


def _jsonable(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def jsondecode(text: Any) -> Any:
    try:
        return json.loads(to_string(text))
    except json.JSONDecodeError as problem:
        raise EvalError(f"not valid JSON: {problem.msg}") from None


def yamldecode(text: Any) -> Any:
    try:
        return yaml.safe_load(to_string(text))
    except yaml.YAMLError:
        raise EvalError("not valid YAML") from None


def yamlencode(value: Any) -> str:
    return yaml.safe_dump(_jsonable(value), sort_keys=True, default_flow_style=False)


def base64decode(text: Any) -> str:
    try:
        return base64.b64decode(to_string(text), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise EvalError("not valid base64 text") from None


def _read_bytes(path: Any) -> bytes | Unknown:
    """A file's bytes; an unknown when it is not on this machine (a key in ~/.ssh, a file
    beside the author's copy): Terraform needs it at plan time, the network model does not."""
    name = to_string(path)
    try:
        return Path(name).expanduser().read_bytes()
    except OSError:
        return Unknown(
            f"file {name!r} is not on this machine (Terraform reads it at plan time)",
            "${file(" + json.dumps(name) + ")}",
        )


def file_text(path: Any) -> str | Unknown:
    data = _read_bytes(path)
    if isinstance(data, Unknown):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EvalError(f"{to_string(path)!r} is not UTF-8 text; use filebase64()") from None


def _file_digest(encode: Callable[[bytes], str]) -> Callable[[Any], str | Unknown]:
    def digest(path: Any) -> str | Unknown:
        data = _read_bytes(path)
        return data if isinstance(data, Unknown) else encode(data)

    return digest


def fileset(path: Any, pattern: Any) -> SetValue:
    base = Path(to_string(path))
    return SetValue.of(
        str(p.relative_to(base)) for p in base.glob(to_string(pattern)) if p.is_file()
    )


def templatefile(path: Any, variables: Any) -> Any:
    names = _map(variables, "second argument")
    text = file_text(path)
    if isinstance(text, Unknown):
        return text
    scope = Scope(names=names, functions=FUNCTIONS)
    return render_template(template_parts(text), scope, None)


def _offline(
    name: str, why: str = "gives a different value on every run"
) -> Callable[..., Unknown]:
    def unknown(*_: Any) -> Unknown:
        return Unknown(f"{name}() {why}", "${" + name + "()}")

    return unknown


def _hash(algorithm: str) -> Callable[[Any], str]:
    return lambda text: hashlib.new(algorithm, to_string(text).encode()).hexdigest()


def _string_function(method: Callable[[str], str]) -> Callable[[Any], str]:
    return lambda text: method(to_string(text))


def _numbers(method: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *args: number(method(*(to_number(a) for a in args)))


# -- the table ---------------------------------------------------------------------------------

# coalesce picks the first usable argument itself, unknown or not.
_HANDLES_UNKNOWN = frozenset({"coalesce"})
# Functions that compute on the contents of collections: an unknown inside makes them unknown
# (the others only move elements around, so unknown elements simply stay elements).
_READS_CONTENTS = frozenset(
    {
        "alltrue",
        "anytrue",
        "format",
        "formatlist",
        "index",
        "join",
        "jsonencode",
        "matchkeys",
        "sort",
        "sum",
        "templatefile",
        "transpose",
        "yamlencode",
    }
)

_TABLE: dict[str, Callable[..., Any]] = {
    "abs": _numbers(abs),
    "alltrue": alltrue,
    "anytrue": anytrue,
    "base64decode": base64decode,
    "base64encode": lambda text: base64.b64encode(to_string(text).encode()).decode(),
    "abspath": lambda path: str(Path(to_string(path)).absolute()),
    "base64gzip": lambda text: base64.b64encode(gzip.compress(to_string(text).encode())).decode(),
    "base64sha256": lambda text: base64.b64encode(
        hashlib.sha256(to_string(text).encode()).digest()
    ).decode(),
    "basename": lambda path: Path(to_string(path)).name,
    "ceil": _numbers(math.ceil),
    "chomp": lambda text: to_string(text).rstrip("\r\n"),
    "chunklist": chunklist,
    "cidrhost": cidrhost,
    "cidrnetmask": cidrnetmask,
    "cidrsubnet": cidrsubnet,
    "cidrsubnets": cidrsubnets,
    "coalesce": coalesce,
    "coalescelist": coalescelist,
    "compact": compact,
    "concat": concat,
    "contains": contains,
    "dirname": lambda path: str(Path(to_string(path)).parent),
    "distinct": distinct,
    "element": element,
    "endswith": lambda text, suffix: to_string(text).endswith(to_string(suffix)),
    "file": file_text,
    "filebase64": _file_digest(lambda data: base64.b64encode(data).decode()),
    "filebase64sha256": _file_digest(
        lambda data: base64.b64encode(hashlib.sha256(data).digest()).decode()
    ),
    "fileexists": lambda path: Path(to_string(path)).expanduser().is_file(),
    "filemd5": _file_digest(lambda data: hashlib.md5(data).hexdigest()),
    "fileset": fileset,
    "filesha256": _file_digest(lambda data: hashlib.sha256(data).hexdigest()),
    "flatten": flatten,
    "floor": _numbers(math.floor),
    "format": format_text,
    "formatdate": _offline("formatdate", "is not evaluated offline"),
    "formatlist": formatlist,
    "index": index_of,
    "indent": indent,
    "join": join,
    "jsondecode": jsondecode,
    "jsonencode": jsonencode,
    "keys": keys,
    "length": length,
    "lookup": lookup,
    "lower": _string_function(str.lower),
    "matchkeys": matchkeys,
    "max": _numbers(max),
    "md5": _hash("md5"),
    "merge": merge,
    "min": _numbers(min),
    "nonsensitive": lambda value: value,
    "one": one,
    "pathexpand": lambda path: str(Path(to_string(path)).expanduser()),
    "parseint": lambda text, base: int(to_string(text), _int(base, "base")),
    "pow": _numbers(pow),
    "range": range_of,
    "regex": regex,
    "regexall": regexall,
    "replace": replace,
    "reverse": reverse,
    "sensitive": lambda value: value,
    "setintersection": setintersection,
    "setproduct": setproduct,
    "setsubtract": setsubtract,
    "setunion": setunion,
    "sha1": _hash("sha1"),
    "sha256": _hash("sha256"),
    "sha512": _hash("sha512"),
    "signum": _numbers(lambda x: (x > 0) - (x < 0)),
    "slice": slice_of,
    "sort": sort,
    "split": split,
    "startswith": lambda text, prefix: to_string(text).startswith(to_string(prefix)),
    "strcontains": lambda text, part: to_string(part) in to_string(text),
    "strrev": _string_function(lambda s: s[::-1]),
    "substr": substr,
    "sum": sum_of,
    "templatefile": templatefile,
    "timeadd": _offline("timeadd", "is not evaluated offline"),
    "timestamp": _offline("timestamp"),
    "title": title,
    "tobool": tobool,
    "tolist": tolist,
    "tomap": tomap,
    "tonumber": tonumber,
    "toset": toset,
    "tostring": tostring,
    "transpose": transpose,
    "trim": trim,
    "trimprefix": trimprefix,
    "trimspace": _string_function(str.strip),
    "trimsuffix": trimsuffix,
    "upper": _string_function(str.upper),
    "urlencode": lambda text: urllib.parse.quote(to_string(text), safe=""),
    "uuid": _offline("uuid"),
    "values": values,
    "yamldecode": yamldecode,
    "yamlencode": yamlencode,
    "zipmap": zipmap,
}


def _wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    try:
        signature: inspect.Signature | None = inspect.signature(function)
    except (TypeError, ValueError):
        signature = None

    def call(*args: Any) -> Any:
        if signature is not None:
            try:
                signature.bind(*args)
            except TypeError:
                raise EvalError(f"wrong number of arguments ({len(args)})") from None
        unknown = None if name in _HANDLES_UNKNOWN else first_unknown(args)
        if unknown is None and name in _READS_CONTENTS:
            unknown = next((u for u in map(deep_unknown, args) if u is not None), None)
        if unknown is not None:
            return _unknown_result(name, function, args, unknown)
        try:
            return function(*args)
        except EvalError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as problem:
            raise EvalError(str(problem) or type(problem).__name__) from None

    return call


def _unknown_result(
    name: str, function: Callable[..., Any], args: tuple[Any, ...], unknown: Unknown
) -> Unknown:
    """An unknown whose display is the function applied to the arguments' display texts."""
    shown = tuple(a.display if isinstance(a, Unknown) else a for a in args)
    try:
        result = function(*shown)
    except Exception:  # any failure only means there is no nicer display text
        result = None
    display = result if isinstance(result, str) else f"${{{name}(...)}}"
    return unknown.derived(display)


FUNCTIONS: dict[str, Callable[..., Any]] = {name: _wrap(name, f) for name, f in _TABLE.items()}

__all__ = ["FUNCTIONS"]
