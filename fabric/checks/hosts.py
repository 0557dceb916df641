"""Hosts (VM NICs): their subnet, NSG and address (§1.2)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from fabric.catalogue.vmsizes import UnknownVmSize, vm_size
from fabric.checks.addresses import GATEWAY_SUBNET
from fabric.checks.context import Context, r
from fabric.control.addressing import (
    AddressError,
    parse_address,
    reserved_addresses,
)
from fabric.model.findings import Finding, error, warning
from fabric.model.records import suggest

# Subnets that hold only their service: finding code and why.
_DEDICATED_SUBNETS = {
    GATEWAY_SUBNET: (  # §1.3
        "HostInGatewaySubnet",
        "nothing but the gateway may be deployed there",
    ),
    "AzureBastionSubnet": (
        "HostInBastionSubnet",
        "nothing but Azure Bastion may be deployed there (N18.2)",
    ),
    "RouteServerSubnet": (
        "HostInRouteServerSubnet",
        "it is dedicated to Azure Route Server (N15.1)",
    ),
}


def check_hosts(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    seen_names: Counter[str] = Counter()
    for vnet in fabric.vnets.values():
        by_ip: dict[str, str] = {}
        for host in vnet.hosts:
            seen_names[host.name] += 1
            resource = r("host", host.name)
            if host.subnet not in vnet.subnet_names:
                yield error(
                    "ReferencedResourceNotFound",
                    f"host {host.name} is in subnet {host.subnet!r}, which VNet {vnet.name} does "
                    f"not declare ({suggest(host.subnet, vnet.subnet_names)})",
                    resource,
                )
                continue
            if host.nsg is not None and host.nsg not in fabric.nsgs:
                yield error(
                    "ReferencedResourceNotFound",
                    f"host {host.name} references NSG {host.nsg!r}, which is not declared "
                    f"({suggest(host.nsg, fabric.nsgs)})",
                    resource,
                )
            dedicated = _DEDICATED_SUBNETS.get(host.subnet)
            if dedicated is not None:
                code, what = dedicated
                yield error(
                    code,
                    f"host {host.name} is in {vnet.name}/{host.subnet}; {what}: move it to "
                    "another subnet",
                    resource,
                )
            if host.vm_size is not None and not host.bandwidth_mbps:
                try:
                    vm_size(host.vm_size)
                except UnknownVmSize as problem:
                    yield warning(
                        "VmSizeNotInCatalogue",
                        f"host {host.name}: {problem}; its egress cap is unknown here, so it "
                        "cannot send in a simulation until it has bandwidth_mbps",
                        resource,
                    )
            try:
                ip = parse_address(host.ip)
            except AddressError as problem:
                yield error("InvalidIpAddress", f"host {host.name}: {problem}", resource)
                continue
            nets = ctx.subnets.get((vnet.name, host.subnet)) or []
            if not nets:
                continue
            net = next((n for n in nets if ip in n), None)
            if net is None:
                ranges = ", ".join(str(n) for n in nets)
                yield error(
                    "HostIpOutsideSubnet",
                    f"host {host.name} has IP {ip}, outside its subnet {vnet.name}/{host.subnet} "
                    f"({ranges}); use an address from {ranges}",
                    resource,
                )
            elif ip in reserved_addresses(net):  # §1.2: first four and last are reserved
                first = net.network_address + 4
                yield error(
                    "HostIpReserved",
                    f"host {host.name} has IP {ip}, one of the five addresses Azure reserves in "
                    f"{net} (network, gateway, two DNS, broadcast); the first usable is {first}",
                    resource,
                )
            if str(ip) in by_ip:
                yield error(
                    "DuplicateHostIp",
                    f"hosts {by_ip[str(ip)]} and {host.name} both have IP {ip} in VNet {vnet.name}",
                    resource,
                    r("host", by_ip[str(ip)]),
                )
            by_ip[str(ip)] = host.name
    for name, count in seen_names.items():
        if count > 1:
            yield error(
                "DuplicateResourceName",
                f"{count} hosts are named {name!r}; host names must be unique",
                r("host", name),
            )
    yield from _check_vms(ctx)


def _check_vms(ctx: Context) -> Iterator[Finding]:
    """N3.1/N3.3: the NICs of one VM (``vm``) share its size: they must agree on it, and there
    may be no more of them than the size allows."""
    nics: dict[str, list] = defaultdict(list)
    for vnet in ctx.fabric.vnets.values():
        for host in vnet.hosts:
            nics[host.vm_name].append(host)
    for vm, hosts in nics.items():
        if len(hosts) < 2:
            continue
        resources = [r("host", h.name) for h in hosts]
        named = {h.vm_size.lower(): h.vm_size for h in hosts if h.vm_size is not None}
        if len(named) > 1:
            yield error(
                "VmSizeConflict",
                f"the NICs of VM {vm} ({', '.join(h.name for h in hosts)}) name different "
                f"sizes ({', '.join(sorted(named.values()))}); a VM has one size, whose egress "
                "cap its NICs share (N3.1): give them all the same vm_size",
                *resources,
            )
            continue
        if not named and any(h.bandwidth_mbps for h in hosts):
            continue  # no size, a cap of its own: nothing to check the NIC count against
        try:
            size = vm_size(next(iter(named.values()), None))
        except UnknownVmSize:
            continue  # reported per host
        if len(hosts) > size.max_nics:
            # A declared size is Azure's refusal; the default size is only our assumption.
            report, assumed = (error, "") if named else (warning, " (the default size)")
            yield report(
                "TooManyNicsForVmSize",
                f"VM {vm} has {len(hosts)} NICs ({', '.join(h.name for h in hosts)}), but "
                f"{size.name}{assumed} takes at most {size.max_nics} (N3.3); use a larger "
                "size or fewer NICs",
                *resources,
            )
