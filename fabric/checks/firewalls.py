"""Azure Firewalls (N11.4, N11.5, N11.7): where they live, their address, their rules; and the
return routes a stateful firewall between two subnets needs (N11.6)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator
from ipaddress import ip_network

from fabric.checks.addresses import FIREWALL_MANAGEMENT_SUBNET
from fabric.checks.context import Context, r, unresolved, vnet_not_declared
from fabric.control.addressing import AddressError, parse_address, parse_prefix
from fabric.control.firewall import FIREWALL_SUBNET
from fabric.control.routing import ACTIVE
from fabric.model.findings import Finding, error, warning

NAME_MAX = 50  # N11.4: a firewall name has at most 50 characters
PRIORITY_RANGE = (100, 65_000)  # N11.7: rule collection priorities
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")  # N11.7


def check_firewalls(ctx: Context) -> Iterator[Finding]:
    fabric = ctx.fabric
    per_vnet: dict[str, list[str]] = defaultdict(list)
    for firewall in fabric.firewalls.values():
        resource = r("firewall", firewall.name)
        vnet = fabric.vnets.get(firewall.vnet)
        if vnet is None:
            yield vnet_not_declared(fabric, f"firewall {firewall.name}", firewall.vnet, resource)
            continue
        per_vnet[vnet.name].append(firewall.name)
        if len(firewall.name) > NAME_MAX and not unresolved(firewall.name):
            yield error(
                "InvalidResourceName",
                f"firewall name {firewall.name!r} has {len(firewall.name)} characters; Azure "
                f"allows at most {NAME_MAX}",
                resource,
            )
        if FIREWALL_SUBNET not in vnet.subnet_names and not vnet.external:
            close = [n for n in vnet.subnet_names if n.lower() == FIREWALL_SUBNET.lower()]
            hint = f" (found {close[0]!r}: the name is case-sensitive)" if close else ""
            yield error(
                "AzureFirewallSubnetMissing",
                f"firewall {firewall.name} needs a subnet named exactly {FIREWALL_SUBNET} "
                f"(/26) in VNet {vnet.name}{hint}",
                resource,
                r("vnet", vnet.name),
            )
        elif firewall.private_ip is not None and not vnet.external:  # a space known here
            yield from _check_address(ctx, firewall, vnet.name, resource)
        yield from _check_rules(firewall, resource)
    for vnet, names in per_vnet.items():
        if len(names) > 1:  # N11.4
            yield error(
                "TooManyFirewallsInVnet",
                f"VNet {vnet} has {len(names)} Azure Firewalls ({', '.join(names)}); two "
                "firewalls cannot exist in the same virtual network",
                r("vnet", vnet),
                *(r("firewall", n) for n in names),
            )


def _check_address(ctx: Context, firewall, vnet: str, resource: str) -> Iterator[Finding]:
    try:
        address = parse_address(firewall.private_ip)
    except AddressError as problem:
        yield error("InvalidIpAddress", f"firewall {firewall.name}: {problem}", resource)
        return
    if not any(address in net for net in ctx.subnets.get((vnet, FIREWALL_SUBNET), [])):
        yield error(
            "FirewallAddressOutsideSubnet",
            f"firewall {firewall.name}'s private IP {address} is not in {vnet}/"
            f"{FIREWALL_SUBNET}; Azure allocates it there (N11.5)",
            resource,
        )


def _check_rules(firewall, resource: str) -> Iterator[Finding]:
    collections = firewall.network_rule_collections
    if collections is None:
        if firewall.firewall_policy is None:  # an importer already said so for a policy
            yield warning(
                "FirewallRulesUnknown",
                f"firewall {firewall.name} declares no network rule collections, so vnetsim "
                "cannot say what it allows and lets every flow through (an Azure Firewall "
                "denies all until a rule allows, N11.7); declare its network_rule_collections",
                resource,
            )
        return
    if firewall.firewall_policy is not None:
        return  # a policy's collections: priorities are per group, checked on import
    for collection in collections:
        where = f"firewall {firewall.name} collection {collection.name}"
        low, high = PRIORITY_RANGE
        if not low <= collection.priority <= high:
            yield error(
                "InvalidFirewallRuleCollectionPriority",
                f"{where}: priority {collection.priority} is outside {low}-{high}",
                resource,
            )
        if not unresolved(collection.name) and not COLLECTION_NAME.match(collection.name):
            yield error(
                "InvalidResourceName",
                f"{where}: a rule collection name has 1-80 letters, digits, '_', '.' or '-', "
                "starts with a letter or digit and ends with one or '_'",
                resource,
            )
    if not any(rule for c in collections for rule in c.rules):
        yield warning(
            "FirewallDeniesEverything",
            f"firewall {firewall.name} has no network rules: it denies every flow routed to it "
            "(default deny, N11.7)",
            resource,
        )


# -- return routes (N11.6) -------------------------------------------------------------------

# Subnets that hold no VM a connection ends at (§1.3, N11.4, N15, N18.2): not destinations here.
_NO_VMS = frozenset(
    {
        "GatewaySubnet",
        FIREWALL_SUBNET,
        "AzureFirewallManagementSubnet",
        "RouteServerSubnet",
        "AzureBastionSubnet",
    }
)
_SHOWN = 3  # source subnets named in one finding; beyond them, "and others"
_REPLY_PORTS = (1024, 443)  # any TCP reply: established, so only routes and firewalls decide


def check_return_routes(ctx: Context) -> Iterator[Finding]:
    """N11.6, consequence 1: spoke-to-spoke through a hub firewall needs a UDR on **both** sides.
    For each subnet whose route table sends a destination through an Azure Firewall (a UDR to
    its private IP, stated or derived: ``ControlPlane.firewall_at``), the subnets that hold that
    destination must send the source's address back through the same firewall; otherwise the
    reply goes around it (or nowhere), the stateful firewall drops the connection, and
    ``connectivity`` says ``AsymmetricRoutingThroughFirewall`` or ``ReturnPathBroken``.

    Kept cheap: nothing is compiled unless a route table that a subnet uses has a
    VirtualAppliance route and a firewall exists; one address stands for each subnet; the
    destinations' routes are grouped by (VNet, route table), which fixes a subnet's routes; a
    pair is looked at only when the destination's route to the source's address is not one
    through that firewall (the route lookups of ``ControlPlane.routes``); and a destination
    stops being looked at once enough sources are found to name. One finding per destination
    subnet and firewall, naming the sources and the missing UDR."""
    fabric = ctx.fabric
    if not fabric.firewalls:
        return
    tables = {
        name
        for name, table in fabric.route_tables.items()
        if any(_to_appliance(route) for route in table.routes)
    }
    # Subnets that hold VMs: traffic routed from GatewaySubnet (and the like) comes from
    # elsewhere (on premises), whose replies follow the VMs' routes to on-premises prefixes,
    # not to the subnet's own addresses (the connectivity trace checks those replies).
    sources_wanted = [
        (vnet, subnet)
        for vnet in fabric.vnets.values()
        if not vnet.external
        for subnet in vnet.subnets
        if subnet.route_table in tables and subnet.name not in _NO_VMS
    ]
    if not sources_wanted:
        return
    yield from _Return(ctx, sources_wanted, tables).findings()


class _Return:
    """The state of one run of ``check_return_routes``."""

    def __init__(self, ctx: Context, sources: list, tables: set[str]) -> None:
        self.fabric = ctx.fabric
        self.plane = ctx.plane
        self.view = ctx.view
        self._reach: dict[str, set[str]] = {}
        hops = {
            route.next_hop_ip_address
            for name in sorted(tables)
            for route in self.fabric.route_tables[name].routes
            if _to_appliance(route)
        }
        homes = sorted({f.vnet for f in self.fabric.firewalls.values()})
        self.firewall_of: dict[str, object] = {}  # next hop IP -> FirewallAddress
        for ip in sorted(hops):
            for home in homes:
                found = self.plane.firewall_at(ip, home)
                if found is not None:
                    self.firewall_of[str(found.address)] = found
                    break
        # (address as int, vnet, subnet, address, route table): the subnets whose route table
        # has a route to an appliance, each by one address, sorted for range queries
        self.sources = sorted(
            (int(address), vnet.name, subnet.name, address, subnet.route_table)
            for vnet, subnet in sources
            if (address := _representative(vnet, subnet)) is not None
        )
        self.keys = [s[0] for s in self.sources]
        self._fibs: dict[tuple[str, str | None], object] = {}
        self._requests: dict[tuple, object] = {}
        self._onward: dict[tuple[str, int], bool] = {}

    def routes(self, vnet: str, subnet) -> object:
        """A subnet's routes, compiled once per (VNet, route table): the route table is all
        of the subnet that they depend on (``routing.compile_subnet``)."""
        key = (vnet, subnet.route_table)
        fib = self._fibs.get(key)
        if fib is None:
            fib = self._fibs[key] = self.plane.routes(vnet, subnet.name)
        return fib

    def through(self, entry) -> object | None:
        """The firewall a route entry sends to (None: it sends elsewhere)."""
        if entry is None or entry.next_hop_type != "VirtualAppliance":
            return None
        for ip in entry.next_hop_ip_address:
            found = self.firewall_of.get(ip)
            if found is not None:
                return found
        return None

    def findings(self) -> Iterator[Finding]:
        if not self.firewall_of or not self.sources:
            return
        groups: dict[tuple[str, str | None], list] = {}
        for vnet in self.fabric.vnets.values():
            if vnet.external:
                continue
            for subnet in vnet.subnets:
                if subnet.name in _NO_VMS:
                    continue
                address = _representative(vnet, subnet)
                if address is not None:
                    groups.setdefault((vnet.name, subnet.route_table), []).append((subnet, address))
        found: dict[tuple[str, str, str], list] = {}  # (vnet, subnet, firewall) -> sources
        for (vnet, _), members in groups.items():
            replies = self.routes(vnet, members[0][0])
            many: set[str] = set()  # members with enough sources named: the rest is counted off
            for source in self._suspects(replies):
                reply = replies.lookup(source[3])
                for subnet, address in members:
                    if subnet.name in many:
                        continue
                    hit = self._asymmetric(source, vnet, subnet, address, reply)
                    if hit is not None:
                        key = (vnet, subnet.name, hit[0].firewall.name)
                        hits = found.setdefault(key, [])
                        hits.append((source, *hit))
                        if len(hits) > _SHOWN:
                            many.add(subnet.name)  # a broken design: bound the work
                if len(many) == len(members):
                    break
        for (vnet, subnet, _), hits in found.items():
            yield self._finding(vnet, subnet, hits)

    def _suspects(self, replies) -> list[tuple]:
        """The sources whose address this destination's routes may not send back through a
        firewall: those under a route that is not one to a firewall (each checked later)."""
        regions = [e.prefix for e in replies.routes if e.state == ACTIVE and e.prefix.version == 4]
        several = len({f.firewall.name for f in self.firewall_of.values()}) > 1
        if not any(p.prefixlen == 0 for p in regions):
            regions.append(ip_network("0.0.0.0/0"))  # no default route: replies go nowhere
        suspects = {}
        for prefix in regions:
            entry = replies.fib.exact(prefix) if prefix in replies.fib else None
            if entry is not None and not several and self.through(entry) is not None:
                continue  # everything it wins goes back through the (only) firewall
            low = bisect_left(self.keys, int(prefix.network_address))
            high = bisect_right(self.keys, int(prefix.broadcast_address))
            for source in self.sources[low:high]:
                suspects.setdefault(source[1:3], source)
        return sorted(suspects.values())

    def _asymmetric(self, source, vnet: str, subnet, address, reply) -> tuple | None:
        """(firewall, request route, reply route) when ``source`` reaches ``subnet`` through a
        firewall and the reply (``reply``: the destination's route back) does not come back
        through it; else None."""
        _, source_vnet, source_subnet, source_address, table = source
        if (source_vnet, source_subnet) == (vnet, subnet.name):
            return None
        key = (source_vnet, table, int(address))
        request = self._requests.get(key)
        if request is None:
            fib = self._fibs.get((source_vnet, table))
            if fib is None:
                fib = self.routes(source_vnet, self.fabric.vnets[source_vnet].subnet(source_subnet))
            request = self._requests[key] = fib.lookup(address)
        firewall = self.through(request)
        if firewall is None or not self._reaches(firewall, address):
            return None
        if firewall.firewall.vnet not in self.neighbours(source_vnet):
            return None  # the request never gets to the firewall (NextHopIpNotDirectlyReachable)
        back = self.through(reply)
        if back is not None and back.firewall.name == firewall.firewall.name:
            return None
        via_appliance = reply is not None and reply.next_hop_type == "VirtualAppliance"
        if via_appliance and back is None and self._passes(firewall, vnet, address, source_address):
            return None  # another appliance hands the reply to the firewall after all
        return firewall, request, reply

    def neighbours(self, vnet: str) -> set[str]:
        """``PeeringView.neighbours``, once per VNet."""
        found = self._reach.get(vnet)
        if found is None:
            found = self._reach[vnet] = self.view.neighbours(vnet)
        return found

    def _reaches(self, firewall, address) -> bool:
        """True when the firewall's own routes carry the request on towards ``address``."""
        key = (firewall.firewall.name, int(address))
        known = self._onward.get(key)
        if known is None:
            home = self.fabric.vnets[firewall.firewall.vnet]
            known = False
            if FIREWALL_SUBNET in home.subnet_names:
                onward = self.routes(home.name, home.subnet(FIREWALL_SUBNET)).lookup(address)
                known = onward is not None and onward.next_hop_type not in ("None", "Internet")
            self._onward[key] = known
        return known

    def _passes(self, firewall, vnet: str, address, source_address) -> bool:
        """Whether the reply, followed hop by hop, passes the firewall after all."""
        from fabric.control.forwarding import FirewallHop, follow, make_packet

        try:
            start = self.plane.locate(address, vnet)
        except LookupError:
            return False
        packet = make_packet("Tcp", address, source_address, *_REPLY_PORTS)
        path = follow(self.plane, start, packet, established=True)
        return any(
            isinstance(step, FirewallHop) and step.firewall.name == firewall.firewall.name
            for step in path.steps
        )

    def _finding(self, vnet: str, subnet: str, hits: list) -> Finding:
        record = self.fabric.vnets[vnet].subnet(subnet)
        source, firewall, request, reply = hits[0]
        source_vnet, source_subnet = source[1:3]
        names = [f"{h[0][1]}/{h[0][2]}" for h in hits]
        shown = ", ".join(names[:_SHOWN]) + (" and others" if len(names) > _SHOWN else "")
        prefixes = [self.fabric.vnets[h[0][1]].subnet(h[0][2]).address_prefix for h in hits]
        if reply is None:
            how = "have no route: they are dropped"
        elif reply.next_hop_type == "None":
            how = f"are dropped (next hop None: {reply.route_table_label}, {reply.prefix})"
        elif (other := self.through(reply)) is not None:
            how = (
                f"go through firewall {other.firewall.name} instead ({reply.route_table_label}, "
                f"{reply.prefix}), which holds no state for them and drops them"
            )
        else:
            how = (
                f"go by {reply.next_hop_type} ({reply.route_table_label}, {reply.prefix}), "
                "around the firewall, which holds no state for them and drops them"
            )
        ip = firewall.address
        where = (
            f"route table {record.route_table}"
            if record.route_table
            else f"a route table on {vnet}/{subnet}"
        )
        wanted = prefixes[0] if len(prefixes) == 1 else "each of their prefixes"
        udr = f"route {request.route_table}/{request.name}: {request.prefix} -> {ip}"
        return warning(
            "AsymmetricRoutingThroughFirewall",
            f"{shown} reach{'es' if len(names) == 1 else ''} {vnet}/{subnet} "
            f"({record.address_prefix}) through firewall {firewall.firewall.name} ({ip}, {udr}), "
            f"but the replies from {vnet}/{subnet} to {source_vnet}/{source_subnet} {how}; a "
            "stateful firewall must see both directions (N11.6: network-rule traffic keeps its "
            "source address, so both sides need a UDR to the firewall). Add to "
            f"{where} a route {wanted} (or 0.0.0.0/0) -> VirtualAppliance {ip}",
            r("vnet", vnet, "subnet", subnet),
            r("firewall", firewall.firewall.name),
            r("route_table", request.route_table, "route", request.name),
            *(r("vnet", h[0][1], "subnet", h[0][2]) for h in hits),
        )


def _to_appliance(route) -> bool:
    return route.next_hop_type == "VirtualAppliance" and bool(route.next_hop_ip_address)


def _representative(vnet, subnet):
    """An address that stands for ``subnet``: its first declared VM, else the first usable
    address (Azure reserves the first four, §1.1); None for IPv6 or an invalid prefix."""
    for host in vnet.hosts:
        if host.subnet == subnet.name:
            try:
                address = parse_address(host.ip)
            except AddressError:
                continue
            return address if address.version == 4 else None
    try:
        network = parse_prefix(subnet.address_prefix)
    except AddressError:
        return None
    if network.version != 4 or network.num_addresses < 8:
        return None
    return network.network_address + 4


def check_firewall_default_route(ctx: Context) -> Iterator[Finding]:
    """N11.4: AzureFirewallSubnet has 0.0.0.0/0 -> Internet by default and the firewall needs
    direct internet; a default route learned by BGP (forced tunnelling over VPN or
    ExpressRoute), or a UDR sending it elsewhere, must be overridden by a UDR 0.0.0.0/0 ->
    Internet on that subnet. A firewall with a management NIC (its VNet has
    AzureFirewallManagementSubnet) is in forced-tunnelling mode, which N11.4 supports: its
    data traffic may go on-premises, and the management subnet is checked on its own."""
    fabric = ctx.fabric
    homes = sorted({f.vnet for f in fabric.firewalls.values() if f.vnet in fabric.vnets})
    homes = [
        v
        for v in homes
        if FIREWALL_SUBNET in fabric.vnets[v].subnet_names
        and FIREWALL_MANAGEMENT_SUBNET not in fabric.vnets[v].subnet_names
    ]
    if not homes:
        return
    plane = ctx.plane
    default = ip_network("0.0.0.0/0")
    for vnet in homes:
        table = plane.routes(vnet, FIREWALL_SUBNET)
        for entry in table.routes:
            if entry.prefix != default or entry.state != ACTIVE:
                continue
            if entry.next_hop_type != "Internet":
                via = (
                    f"UDR {entry.name} of route table {entry.route_table}"
                    if entry.route_table
                    else f"a {entry.source} route"
                )
                yield warning(
                    "FirewallSubnetDefaultRouteNotInternet",
                    f"{vnet}/{FIREWALL_SUBNET}'s default route 0.0.0.0/0 goes to "
                    f"{entry.next_hop_type} ({via}), but Azure Firewall needs direct internet "
                    "access: attach a route table with 0.0.0.0/0 -> Internet to the subnet",
                    r("vnet", vnet, "subnet", FIREWALL_SUBNET),
                )
