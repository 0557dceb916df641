"""A scenario's traffic section: each flow can be simulated on this topology (its values, its
hosts, or for an open-loop flow a destination address beyond them), and the flow limits of
N3.2 (500k flows each way per VM, 250k connections for an appliance) and of the VPN gateways
(500k each way, N19 item 8)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from ipaddress import ip_address
from typing import Any

from fabric.catalogue import limits
from fabric.catalogue.vmsizes import UnknownVmSize, vm_size
from fabric.model import Fabric, Finding, FlowSpec, TrafficError, error, suggest, warning
from fabric.model.traffic import TCP_TO_ADDRESS, address_destination, address_problem


def check_traffic(fabric: Fabric, traffic: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Findings about the flows of a scenario (an empty list for a clean section)."""
    findings: list[Finding] = []
    hosts = {h.name: h for v in fabric.vnets.values() for h in v.hosts}
    names: Counter[str] = Counter()
    outbound: Counter[str] = Counter()
    for index, entry in enumerate(traffic):
        where = f"traffic[{index}] {entry.get('name', '?')}"
        try:
            spec = FlowSpec.from_mapping(dict(entry))
        except TrafficError as problem:
            detail = str(problem).removeprefix(f"traffic {entry.get('name', '?')}: ")
            findings.append(error("InvalidTraffic", f"{where}: {detail}", f"traffic/{index}"))
            continue
        names[spec.name] += 1
        resource = f"traffic/{spec.name}"
        for side in ("src", "dst"):
            name = getattr(spec, side)
            host = hosts.get(name)
            address = address_destination(name) if side == "dst" else None
            if host is None and address is not None:  # beyond the VNets: on-premises, ...
                why = address_problem(fabric, address)
                if why is not None:
                    findings.append(
                        error("ReferencedResourceNotFound", f"{where}: {why}", resource)
                    )
                elif spec.pattern == "tcp":
                    findings.append(error("InvalidTraffic", f"{where}: {TCP_TO_ADDRESS}", resource))
                continue
            if host is None:
                findings.append(
                    error(
                        "ReferencedResourceNotFound",
                        f"{where}: {side} {name!r} is not a declared host ({suggest(name, hosts)})",
                        resource,
                    )
                )
            elif ip_address(host.ip).version == 6:
                findings.append(
                    warning(
                        "Ipv6NotSimulated",
                        f"{where}: host {name} has IPv6 address {host.ip}; vnetsim simulates "
                        "IPv4 packets only",
                        resource,
                    )
                )
        findings.extend(_host_problems(spec, hosts, where, resource))
        if spec.src == spec.dst:
            findings.append(error("FlowToItself", f"{where}: src and dst are both {spec.src}"))
        if spec.src in hosts:
            # A TCP connection or a bidirectional exchange is one flow each way (N3.2).
            outbound[hosts[spec.src].vm_name] += 1
    for name, count in names.items():
        if count > 1:
            findings.append(
                error(
                    "DuplicateResourceName",
                    f"{count} flows are named {name!r}; flow names must be unique",
                    f"traffic/{name}",
                )
            )
    forwarding = {h.vm_name for h in hosts.values() if h.enable_ip_forwarding}
    for vm, count in outbound.items():
        limit = limits.FLOWS_PER_APPLIANCE if vm in forwarding else limits.FLOWS_PER_VM_DIRECTION
        if count > limit:
            findings.append(
                error(
                    "FlowLimitExceeded",
                    f"VM {vm} starts {count} flows; a VM supports {limit} active flows each way "
                    "(N3.2), beyond which further connections are dropped",
                    f"host/{vm}",
                )
            )
    return findings


def _host_problems(spec: FlowSpec, hosts: dict, where: str, resource: str) -> list[Finding]:
    """What the run needs of the flow's hosts: a known egress cap for every VM that sends
    (the source, and the destination's ACKs on TCP), a window for a ``tuned`` receiver."""
    found = []
    senders = [spec.src, spec.dst] if spec.pattern == "tcp" else [spec.src]
    for name in senders:
        host = hosts.get(name)
        if host is None or host.bandwidth_mbps:
            continue
        try:
            vm_size(host.vm_size)
        except UnknownVmSize as problem:
            found.append(
                error(
                    "VmSizeNotInCatalogue",
                    f"{where}: host {name} sends, but {problem}; give it bandwidth_mbps",
                    resource,
                    f"host/{name}",
                )
            )
    receiver = hosts.get(spec.dst)
    if (
        spec.pattern == "tcp"
        and receiver is not None
        and receiver.os_profile == "tuned"
        and spec.window_packets is None
    ):
        found.append(
            error(
                "InvalidTraffic",
                f"{where}: host {spec.dst} has os_profile 'tuned', whose receive window is the "
                "one the user set: give the flow window_packets",
                resource,
            )
        )
    return found
