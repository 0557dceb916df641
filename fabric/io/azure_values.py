"""Reading typed values out of Azure resource properties, as Azure's providers accept them.

* A boolean written as a string (``"enableBgp": "false"``) is that boolean, in any case (the
  modelling decision of azure-facts.md, N17.2); any other value there is ``BadValueError``, never
  Python truthiness (``bool("false")`` is True).
* A whole number may be written as a string (``"priority": "100"``).
* Enumerations (``"inbound"``, ``"tcp"``) are matched ignoring case and returned in Azure's
  spelling.

``BadValueError`` messages name the property and say what is expected; the builder turns them into
findings naming the file, the JSON path and the resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fabric.model.records import suggest


class BadValueError(ValueError):
    """A property value of the wrong type or outside its enumeration."""


def flag(properties: dict, key: str, default: bool) -> bool:
    """A boolean property; the strings 'true'/'false' in any case count as booleans."""
    value = properties.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadValueError(f"properties.{key} must be true or false, got {value!r}")


def whole(value: Any, key: str) -> int:
    """A whole number, possibly written as a string ('100') or as 100.0."""
    if isinstance(value, bool):
        raise BadValueError(f"{key} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    raise BadValueError(f"{key} must be a whole number, got {value!r}")


def integer(properties: dict, key: str, default: int | None = None) -> int | None:
    """A whole-number property, or ``default`` when absent."""
    value = properties.get(key)
    return default if value is None or value == "" else whole(value, f"properties.{key}")


def text(properties: dict, key: str) -> str | None:
    """A string property (numbers are written as text); None when absent or empty."""
    value = properties.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadValueError(f"properties.{key} must be a string, got {value!r}")
    return str(value)


def strings(value: Any, key: str) -> tuple[str, ...]:
    """A list of strings (a single string counts as a list of one); () when absent."""
    if value is None or value == "":
        return ()
    if isinstance(value, str | int) and not isinstance(value, bool):
        return (str(value),)
    if isinstance(value, list) and all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        return tuple(str(v) for v in value)
    raise BadValueError(f"properties.{key} must be a list of strings, got {value!r}")


def choice(value: Any, choices: Iterable[str], key: str, default: str | None = None) -> str:
    """``value`` in Azure's spelling of one of ``choices`` (matched ignoring case)."""
    choices = tuple(choices)
    if value is None or value == "":
        if default is None:
            raise BadValueError(f"properties.{key} is required ({', '.join(choices)})")
        return default
    for option in choices:
        if isinstance(value, str) and value.strip().lower() == option.lower():
            return option
    raise BadValueError(f"properties.{key}: {value!r} is not valid; {suggest(value, choices)}")


def ref_id(value: Any) -> str | None:
    """The ``id`` of a ``{"id": ...}`` reference, else None."""
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def ref_ids(value: Any) -> list[str]:
    """The ids of a list of ``{"id": ...}`` references."""
    return [i for item in value or () if (i := ref_id(item)) is not None]
