"""Azure Bastion hosts (N18.2): where one can be deployed and which VMs it can reach.

A Bastion host other than the Developer SKU lives in its VNet's ``AzureBastionSubnet`` and
reaches the VMs of that VNet and of directly peered VNets (regional or global), within one
tenant; the Developer SKU has no such subnet and no peering support, so it reaches its own
VNet's VMs only. Whether a given VM's ports are open to Bastion is a connectivity question from
an address of ``AzureBastionSubnet`` (docs/cli.md); the subnet's own NSG is checked by
``fabric.checks.bastion``.
"""

from __future__ import annotations

from collections.abc import Iterator

from fabric.checks.context import Context, r, vnet_not_declared
from fabric.model.findings import Finding, error, warning
from fabric.model.records import BASTION_SUBNET

DEVELOPER = "Developer"


def check_bastion_hosts(ctx: Context) -> Iterator[Finding]:
    """N18.2: a Bastion host needs AzureBastionSubnet (but the Developer SKU); what peered
    VNets it cannot reach (the Developer SKU's, and those in another tenant)."""
    fabric = ctx.fabric
    for host in fabric.bastions.values():
        resource = r("bastion", host.name)
        vnet = fabric.vnets.get(host.vnet)
        if vnet is None:
            yield vnet_not_declared(fabric, f"Bastion host {host.name}", host.vnet, resource)
            continue
        peers = [link.remote_vnet for link in ctx.view.connected_links(vnet.name)]
        if host.sku == DEVELOPER:
            if peers:
                yield warning(
                    "BastionDeveloperSkuNoPeering",
                    f"Bastion host {host.name} is the Developer SKU, which has no VNet peering "
                    f"support (N18.2): it reaches the VMs of {vnet.name} only, not those of "
                    f"{', '.join(sorted(peers))}. Use the Basic SKU or higher to reach them.",
                    resource,
                )
            continue
        if BASTION_SUBNET not in vnet.subnet_names and not vnet.external:  # its subnets unknown
            yield error(
                "BastionSubnetMissing",
                f"Bastion host {host.name} ({host.sku}) needs a subnet named exactly "
                f"{BASTION_SUBNET} in {vnet.name} (/26 or larger, N18.2), which has none, so "
                "Azure refuses to deploy it. Add the subnet, or use the Developer SKU.",
                resource,
            )
        foreign = sorted(
            peer
            for peer in peers
            if peer in fabric.vnets
            and vnet.tenant is not None
            and fabric.vnets[peer].tenant is not None
            and fabric.vnets[peer].tenant != vnet.tenant
        )
        if foreign:
            yield warning(
                "BastionNotAcrossTenants",
                f"Bastion host {host.name} in {vnet.name} (tenant {vnet.tenant}) cannot open "
                f"sessions to the VMs of {', '.join(foreign)}, peered from another tenant: "
                "Bastion reaches peered VNets within one tenant only (N18.2), though the "
                "peering carries other traffic. Deploy a Bastion host in that tenant.",
                resource,
            )
