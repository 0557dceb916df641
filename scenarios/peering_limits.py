"""A hub with the documented maximum of 500 peered spokes (azure-facts §1.5), then one more.

The 500-spoke hub validates cleanly; the 501st peering is the clear TooManyPeerings error.
Run: python scenarios/peering_limits.py
"""

from __future__ import annotations

import sys
import time

from fabric.catalogue.limits import PEERINGS_PER_VNET
from fabric.checks import validate
from fabric.model.container import Fabric


def hub_with_spokes(spokes: int) -> Fabric:
    """Hub 10.0.0.0/16; spoke i gets a /22 inside 10.128.0.0/9."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "shared", "10.0.1.0/24")
    for i in range(spokes):
        base = f"10.{128 + i // 64}.{(i % 64) * 4}"
        fabric.vnet(f"spoke{i}", "westeurope", f"{base}.0/22")
        fabric.subnet(f"spoke{i}", "app", f"{base}.0/24")
        fabric.peer("hub", f"spoke{i}")
    return fabric


def main(argv: list[str] | None = None) -> int:
    for spokes in (PEERINGS_PER_VNET, PEERINGS_PER_VNET + 1):
        fabric = hub_with_spokes(spokes)
        start = time.perf_counter()
        findings = validate(fabric)
        took = (time.perf_counter() - start) * 1e3
        errors = [f for f in findings if f.severity == "Error"]
        print(f"hub + {spokes} spokes: {len(errors)} error(s), validated in {took:.0f} ms")
        for finding in errors:
            print(f"  {finding}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
