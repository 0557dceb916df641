"""Objects whose keys are read ignoring case: Azure accepts ``AddressPrefix`` where the schema
says ``addressPrefix``, and ARM reads template keys (``Resources``, ``Properties``) and
parameter names the same way. An exact match wins over a case-insensitive one."""

from __future__ import annotations

from typing import Any


class AnyCase(dict):
    """A dict whose string keys are found ignoring case (exact match first)."""

    __slots__ = ()

    def _key(self, key: Any) -> Any:
        if not isinstance(key, str) or dict.__contains__(self, key):
            return key
        lowered = key.lower()
        return next((k for k in self if isinstance(k, str) and k.lower() == lowered), key)

    def __getitem__(self, key: Any) -> Any:
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, self._key(key), default)


def any_case(value: Any) -> Any:
    """A copy of a JSON value whose objects are AnyCase dicts (other values unchanged)."""
    if isinstance(value, dict):
        return AnyCase((key, any_case(item)) for key, item in value.items())
    if isinstance(value, list):
        return [any_case(item) for item in value]
    return value
