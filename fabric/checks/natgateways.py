"""NAT gateways (N18.1): where Azure lets one be attached (never ``GatewaySubnet``, subnets of
one VNet only), its public IPs and its idle timeout. A subnet naming one that does not exist is
reported with the subnet's other references (``fabric.checks.addresses``)."""

from __future__ import annotations

from collections.abc import Iterator

from fabric.catalogue import limits
from fabric.checks.addresses import GATEWAY_SUBNET
from fabric.checks.context import Context, r
from fabric.control.nat import subnets_using
from fabric.model.findings import Finding, error, warning
from fabric.model.records import NatGateway


def check_nat_gateways(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    for gateway in sorted(fabric.nat_gateways.values(), key=lambda g: g.name):
        subnets = subnets_using(fabric, gateway.name)
        yield from _check_placement(gateway, subnets)
        yield from _check_public_ips(gateway)
        yield from _check_idle_timeout(gateway)


def _check_placement(gateway: NatGateway, subnets: list[tuple[str, str]]) -> Iterator[Finding]:
    """N18.1: not in GatewaySubnet; one NAT gateway cannot span virtual networks."""
    resource = r("nat_gateway", gateway.name)
    for vnet, subnet in subnets:
        if subnet == GATEWAY_SUBNET:
            yield error(
                "NatGatewayOnGatewaySubnet",
                f"NAT gateway {gateway.name} is attached to {vnet}/{GATEWAY_SUBNET}, where Azure "
                "does not allow one (N18.1); remove nat_gateway from that subnet",
                resource,
                r("vnet", vnet, "subnet", subnet),
            )
    vnets = list(dict.fromkeys(vnet for vnet, _ in subnets))
    if len(vnets) > 1:
        yield error(
            "NatGatewaySpansVirtualNetworks",
            f"NAT gateway {gateway.name} is attached to subnets of {len(vnets)} VNets "
            f"({', '.join(vnets)}); a NAT gateway serves subnets of one VNet only (N18.1): "
            "give each VNet its own NAT gateway",
            resource,
            *(r("vnet", vnet) for vnet in vnets),
        )


def _check_public_ips(gateway: NatGateway) -> Iterator[Finding]:
    """N18.1: up to 16 public IPs and prefixes; with none it has nothing to translate to."""
    resource = r("nat_gateway", gateway.name)
    most = limits.PUBLIC_IPS_PER_NAT_GATEWAY
    if gateway.public_ips > most:
        yield error(
            "NatGatewayTooManyPublicIps",
            f"NAT gateway {gateway.name} has {gateway.public_ips} public IPs and prefixes; Azure "
            f"allows at most {most} (N18.1): remove {gateway.public_ips - most}, or use a "
            "public IP prefix",
            resource,
        )
    elif gateway.public_ips == 0:
        yield warning(
            "NatGatewayWithoutPublicIp",
            f"NAT gateway {gateway.name} has no public IP address or prefix, so it has no "
            f"address to translate its subnets' outbound traffic to; give it 1 to {most} "
            "(public_ip_addresses, public_ip_prefixes or public_ip_count)",
            resource,
        )


def _check_idle_timeout(gateway: NatGateway) -> Iterator[Finding]:
    """N18.1: the TCP idle timeout is 4 to 120 minutes."""
    low, high = limits.NAT_TCP_IDLE_TIMEOUT_MIN_MINUTES, limits.NAT_TCP_IDLE_TIMEOUT_MAX_MINUTES
    minutes = gateway.idle_timeout_in_minutes
    if not low <= minutes <= high:
        yield error(
            "InvalidNatGatewayIdleTimeout",
            f"NAT gateway {gateway.name} has a TCP idle timeout of {minutes} minutes; Azure "
            f"accepts {low} to {high} (N18.1; {low} by default)",
            r("nat_gateway", gateway.name),
        )
