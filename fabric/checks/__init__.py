"""Checks: every problem Azure would refuse (errors) or that would not carry traffic as intended
(warnings), as findings. Each check module owns one kind of resource; the registry below runs
them all. Rules that the control plane owns (is this tunnel up, does transit work) are asked
of it, never restated here.
May import: ``fabric.model``, ``fabric.catalogue``, ``fabric.control``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fabric.checks import (
    addresses,
    avnm,
    bastion,
    bastion_hosts,
    encryption,
    expressroute,
    firewalls,
    gateways,
    hosts,
    limits,
    natgateways,
    peerings,
    routes,
    routeserver,
    security,
)
from fabric.checks.context import Context
from fabric.model import Fabric, Finding

Check = Callable[[Context], Iterator[Finding]]

# In the order findings are reported.
CHECKS: tuple[Check, ...] = (
    addresses.check_vnets,
    hosts.check_hosts,
    encryption.check_vnet_encryption,
    gateways.check_gateways,
    gateways.check_connections,
    expressroute.check_express_route,
    peerings.check_peerings,
    firewalls.check_firewalls,
    natgateways.check_nat_gateways,
    avnm.check_permissions,
    avnm.check_network_managers,
    security.check_nsgs,
    bastion.check_bastion_subnet_nsgs,
    bastion_hosts.check_bastion_hosts,
    security.check_application_security_groups,
    routes.check_route_tables,
    routes.check_gateway_routes,
    routes.check_appliance_reach,
    routes.check_appliance_in_source_subnet,
    routes.check_service_endpoints,
    routeserver.check_route_servers,
    firewalls.check_return_routes,
    firewalls.check_firewall_default_route,
    limits.check_limits,
    limits.check_address_limits,
)


def validate(fabric: Fabric) -> list[Finding]:
    """All findings for ``fabric``, errors and warnings, in a stable order."""
    context = Context(fabric)
    return [finding for check in CHECKS for finding in check(context)]


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error."""
    return any(f.severity == "Error" for f in findings)


__all__ = ["CHECKS", "has_errors", "validate"]
