"""Which Azure cloud a region belongs to (§2.1: global peering works among all public regions,
among China regions and among Government regions, never across clouds).

The fact sheet names the clouds, not their regions; the region names below are Azure's
published location names of the 21Vianet (China) and Government clouds. Any other region is
taken as public.
"""

from __future__ import annotations

PUBLIC = "AzureCloud"
CHINA = "AzureChinaCloud"
GOVERNMENT = "AzureUSGovernment"

# Location-name prefixes of the sovereign clouds (chinaeast2, usgovvirginia, usdodeast, ...).
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("china", CHINA),
    ("usgov", GOVERNMENT),
    ("usdod", GOVERNMENT),
)


def cloud_of(region: str) -> str:
    """The cloud of ``region`` (any case and spacing): China, Government, else public."""
    key = "".join(str(region).split()).lower()
    for prefix, cloud in _PREFIXES:
        if key.startswith(prefix):
            return cloud
    return PUBLIC
