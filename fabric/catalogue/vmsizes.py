"""VM sizes: the egress bandwidth cap and NIC count of each size (azure-facts N3.3).

Azure meters bandwidth per VM on egress only, summed over all its NICs, whatever the destination
(N3.1); ingress is not capped. Sources, as the fact sheet gives them:
ACD:articles/virtual-machines/sizes/general-purpose/dsv5-series.md (02/27/2026),
ACD:…/memory-optimized/esv5-series.md (08/01/2024), ACD:…/compute-optimized/fsv2-series.md
(07/30/2024), ACD:…/general-purpose/dsv3-series.md (09/24/2024) and the 2020 Dsv3 page.
D8s_v3/D16s_v3: the 2020 and 2024 pages disagree (4,000/8,000 vs 2,000/2,000); N9 item 8 says to
model 4,000/8,000 (the newer page's row looks like a table error).
"""

from __future__ import annotations

import difflib
import re

import attrs

from fabric.model import Host

# size | vCPU | max NICs | max egress Mbps
_TABLE = """
Standard_D2s_v5     2  2  12500
Standard_D4s_v5     4  2  12500
Standard_D8s_v5     8  4  12500
Standard_D16s_v5   16  8  12500
Standard_D32s_v5   32  8  16000
Standard_D48s_v5   48  8  24000
Standard_D64s_v5   64  8  30000
Standard_D96s_v5   96  8  35000
Standard_E2s_v5     2  2  12500
Standard_E4s_v5     4  2  12500
Standard_E8s_v5     8  4  12500
Standard_E16s_v5   16  8  12500
Standard_E20s_v5   20  8  12500
Standard_E32s_v5   32  8  16000
Standard_E48s_v5   48  8  24000
Standard_E64s_v5   64  8  30000
Standard_E96s_v5   96  8  35000
Standard_E104is_v5 104 8 100000
Standard_F2s_v2     2  2   5000
Standard_F4s_v2     4  2  10000
Standard_F8s_v2     8  4  12500
Standard_F16s_v2   16  4  12500
Standard_F32s_v2   32  8  16000
Standard_F48s_v2   48  8  21000
Standard_F64s_v2   64  8  28000
Standard_F72s_v2   72  8  30000
Standard_D2s_v3     2  2   1000
Standard_D4s_v3     4  2   2000
Standard_D8s_v3     8  4   4000
Standard_D16s_v3   16  8   8000
Standard_D32s_v3   32  8  16000
Standard_D48s_v3   48  8  24000
Standard_D64s_v3   64  8  30000
"""

# A named assumption, stated in results: a common general-purpose size (N3.3).
DEFAULT_VM_SIZE = "Standard_D4s_v5"


@attrs.frozen(slots=True)
class VmSize:
    """What one VM size allows: vCPUs, NICs, and the egress cap across all its NICs."""

    name: str
    vcpus: int
    max_nics: int
    max_egress_mbps: float


def _parse() -> dict[str, VmSize]:
    sizes = {}
    for line in _TABLE.strip().splitlines():
        name, vcpus, nics, mbps = line.split()
        sizes[name.lower()] = VmSize(name, int(vcpus), int(nics), float(mbps))
    return sizes


VM_SIZES: dict[str, VmSize] = _parse()


class UnknownVmSize(LookupError):  # noqa: N818 - reads as a finding name
    """A size the catalogue does not list; the message names the nearest ones."""


def vm_size(name: str | None) -> VmSize:
    """The catalogue entry of ``name`` (case-insensitive); None gives the default size."""
    key = (name or DEFAULT_VM_SIZE).lower()
    size = VM_SIZES.get(key)
    if size is not None:
        return size
    names = [s.name for s in VM_SIZES.values()]
    close = difflib.get_close_matches(str(name), names, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else "give bandwidth_mbps instead"
    raise UnknownVmSize(
        f"VM size {name!r} is not in vnetsim's catalogue ({hint}); the catalogue has "
        f"{len(names)} sizes from Dsv5, Esv5, Fsv2 and Dsv3"
    )


def egress_mbps(host: Host) -> float:
    """The egress cap of ``host``'s VM: its ``bandwidth_mbps`` override, else its size's."""
    return host.bandwidth_mbps or vm_size(host.vm_size).max_egress_mbps


# N5 (encryption overview, 2024): VNet encryption needs a supported size. "All v5 and later D
# and E series", the listed v4 D/E sizes (the 2023 list: Dv4, Ddv4, Dav4, Ev4, Edv4, Eav4),
# Mv2/Msv2/Msv3, LSv3 and Fasv6/Falsv6/Famsv6. "Some GPU series" are not named, so not claimed.
_SIZE_NAME = re.compile(r"^standard_([a-z]+?)(\d+)([a-z]*)_v(\d+)$")


def supports_vnet_encryption(name: str | None) -> bool:
    """True when N5 lists the size as able to use VNet encryption (None: the default size)."""
    match = _SIZE_NAME.match((name or DEFAULT_VM_SIZE).strip().lower())
    if match is None:
        return False
    family, _, features, version = match.groups()
    generation = int(version)
    if family in ("d", "e"):
        return generation >= 5 or (generation == 4 and features in ("", "d", "a"))
    if family == "m":
        return generation == 2 or (generation == 3 and "s" in features)
    if family == "l":
        return generation == 3 and "s" in features
    if family == "f":
        return generation == 6 and features in ("as", "als", "ams")
    return False
