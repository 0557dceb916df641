"""Effective routes against Azure's own: read an ``az network nic show-effective-route-table``
(or REST ``effectiveRouteTable``) result and list, route by route, where vnetsim's effective
routes differ. This is how a user checks the model against a real estate (§6.3).

A service endpoint's route whose prefixes vnetsim does not know is listed with the service tag
in place of them (N16): Azure's rows print the prefixes, so they cannot be matched one by one.
While vnetsim lists such a row, Azure's ``VirtualNetworkServiceEndpoint`` rows of prefixes it
does not know count as that endpoint's (no difference), and the listed row matches when Azure
shows at least one endpoint row."""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from fabric.control.addressing import AddressError, parse_prefix
from fabric.control.routing import SERVICE_ENDPOINT, ListedRoute, RouteEntry
from fabric.io.errors import InputError, Problem, read_text

# Listings print some next hop types in other spellings; compare in one (§2.7, §6.3).
_SPELLINGS = {
    "virtualnetworkpeering": "VNetPeering",
    "vnetpeering": "VNetPeering",
    "vnet peering": "VNetPeering",
    "globalvnetpeering": "VNetGlobalPeering",
    "vnetglobalpeering": "VNetGlobalPeering",
    "virtualnetwork": "VnetLocal",
    "vnetlocal": "VnetLocal",
    "virtual network": "VnetLocal",
    "virtualnetworkgateway": "VirtualNetworkGateway",
    "virtual network gateway": "VirtualNetworkGateway",
    "virtualappliance": "VirtualAppliance",
    "virtual appliance": "VirtualAppliance",
    "internet": "Internet",
    "none": "None",
    "virtualnetworkserviceendpoint": "VirtualNetworkServiceEndpoint",
    "connectedgroup": "ConnectedGroup",  # N8.1: Virtual Network Manager connected groups
    "connected group": "ConnectedGroup",
}


@attrs.frozen(slots=True)
class ReportedRoute:
    """One row of Azure's effective routes."""

    source: str
    state: str
    prefix: str
    next_hop_type: str
    next_hop_ip_address: tuple[str, ...] = ()
    name: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.prefix, self.source, self.next_hop_type)


@attrs.frozen(slots=True)
class RouteDifference:
    """A route one side has and the other has not, or has with another state or next hop."""

    prefix: str
    source: str
    next_hop_type: str
    vnetsim: str | None  # "Active"/"Invalid" (+ next hop IPs), None when vnetsim lacks it
    azure: str | None

    def to_json(self) -> dict:
        return attrs.asdict(self)

    def __str__(self) -> str:
        what = f"{self.source} {self.prefix} -> {self.next_hop_type}"
        if self.vnetsim is None:
            return f"only in Azure:   {what} ({self.azure})"
        if self.azure is None:
            return f"only in vnetsim: {what} ({self.vnetsim})"
        return f"different:       {what}: vnetsim {self.vnetsim}, Azure {self.azure}"


def _spelling(value: str) -> str:
    return _SPELLINGS.get(str(value).lower(), str(value))


def read_effective_routes(path: Path) -> list[ReportedRoute]:
    """The routes of an effective-route-table result (a list, or ``{"value": [...]}``)."""
    text = read_text(path)
    try:
        data = json.loads(text)
    except ValueError as problem:
        raise InputError(str(path), [Problem("", f"cannot be read as JSON: {problem}")]) from None
    rows = data.get("value") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise InputError(str(path), [Problem("", "expected a list of routes or {'value': [...]}")])
    routes = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(str(path), [Problem(f"[{index}]", "a route is an object")])
        prefixes = row.get("addressPrefix") or row.get("addressPrefixes") or []
        hops = row.get("nextHopIpAddress") or row.get("nextHopIpAddresses") or []
        for text in [prefixes] if isinstance(prefixes, str) else prefixes:
            try:
                prefix = str(parse_prefix(str(text)))
            except AddressError:
                prefix = str(text)  # a service tag or a malformed row: compared as written
            routes.append(
                ReportedRoute(
                    str(row.get("source", "Unknown")),
                    str(row.get("state", "Active")),
                    prefix,
                    _spelling(row.get("nextHopType", "")),
                    tuple(str(h) for h in ([hops] if isinstance(hops, str) else hops)),
                    row.get("name"),
                )
            )
    return routes


def compare_routes(
    ours: tuple[RouteEntry | ListedRoute, ...], theirs: list[ReportedRoute]
) -> list[RouteDifference]:
    """Every route that differs, in prefix order. Next hop IPs are compared where both sides
    give them (vnetsim derives gateway addresses; Azure may print the instances' IPs).
    ``ours`` is a subnet's ``SubnetRoutes.listing`` (see the module's note on endpoints)."""
    # a service-tag user route vnetsim lists by its tag: Azure prints its prefixes instead
    ours = tuple(r for r in ours if not (isinstance(r, ListedRoute) and r.source != "Default"))
    mine = {(str(r.prefix), r.source, r.next_hop_type): r for r in ours}
    reported = {r.key: r for r in theirs}
    if any(isinstance(r, ListedRoute) for r in ours):
        endpoint_rows = [k for k in reported if k[2] == SERVICE_ENDPOINT and k not in mine]
        for key in endpoint_rows:  # prefixes vnetsim does not know: the listed endpoints'
            del reported[key]
        for route in ours:
            if isinstance(route, ListedRoute) and endpoint_rows:
                row = ReportedRoute(route.source, route.state, route.prefix, route.next_hop_type)
                reported[row.key] = row
    differences = []
    for key in sorted(set(mine) | set(reported)):
        route, row = mine.get(key), reported.get(key)
        if route is None:
            differences.append(
                RouteDifference(*key, None, _describe(row.state, row.next_hop_ip_address))
            )
        elif row is None:
            differences.append(
                RouteDifference(*key, _describe(route.state, route.next_hop_ip_address), None)
            )
        else:
            ips_differ = bool(route.next_hop_ip_address and row.next_hop_ip_address) and set(
                route.next_hop_ip_address
            ) != set(row.next_hop_ip_address)
            if route.state != row.state or ips_differ:
                differences.append(
                    RouteDifference(
                        *key,
                        _describe(route.state, route.next_hop_ip_address),
                        _describe(row.state, row.next_hop_ip_address),
                    )
                )
    return differences


def _describe(state: str, ips: tuple[str, ...]) -> str:
    return f"{state}" + (f" via {', '.join(ips)}" if ips else "")
