"""Port ranges as NSG rules write them: ``*``, ``443``, ``1000-2000``, or a list of those."""

from __future__ import annotations

from collections.abc import Iterable

ANY_PORT = ((0, 65535),)


class PortRangeError(ValueError):
    """A port field that Azure would reject; the message says what is wrong."""


def parse_port_ranges(values: Iterable[str]) -> tuple[tuple[int, int], ...]:
    """Parse port fields into inclusive ``(low, high)`` ranges; ``*`` is every port."""
    ranges: list[tuple[int, int]] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part == "*":
                return ANY_PORT
            low_text, sep, high_text = part.partition("-")
            try:
                low = int(low_text)
                high = int(high_text) if sep else low
            except ValueError:
                raise PortRangeError(
                    f"{part!r} is not a port, a range like '1000-2000', or '*'"
                ) from None
            if not (0 <= low <= 65535 and 0 <= high <= 65535):
                raise PortRangeError(f"{part!r} is outside 0-65535")
            if low > high:
                raise PortRangeError(f"{part!r} runs backwards; write it as '{high}-{low}'")
            ranges.append((low, high))
    if not ranges:
        raise PortRangeError("is empty; use '*' for any port")
    return tuple(ranges)


def port_matches(port: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    """True when ``port`` falls in one of the inclusive ranges."""
    return any(low <= port <= high for low, high in ranges)
