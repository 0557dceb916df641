"""VNet encryption (N5): a VNet that enables it, with a VM that cannot use it."""

from __future__ import annotations

from collections.abc import Iterator

from fabric.checks.context import Context, r
from fabric.control.encryption import vm_capability
from fabric.model.findings import Finding, warning


def check_vnet_encryption(ctx: Context) -> Iterator[Finding]:
    """N5: with enforcement AllowUnencrypted (the only one Azure supports), the traffic of a VM
    that cannot use VNet encryption flows in the clear, silently. Say so for each such VM."""
    for vnet in ctx.fabric.vnets.values():
        if not vnet.encryption or vnet.external:
            continue
        for host in vnet.hosts:
            capability = vm_capability(host)
            if capability.capable:
                continue
            yield warning(
                "VnetEncryptionNotSupportedByVm",
                f"VNet {vnet.name} enables encryption, but {capability.reason}: with enforcement "
                "AllowUnencrypted, the only one Azure supports, its traffic flows unencrypted "
                "without an error (N5); use a supported size (e.g. Dsv5/Esv5) with accelerated "
                "networking on",
                r("vnet", vnet.name),
                r("host", host.name),
            )
