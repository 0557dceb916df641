"""Atoms against brute force: on small random fabrics (/28 address spaces, /29 subnets, NSG
rules on /30-/32 prefixes, tags and port ranges, user routes to None, appliances and VnetLocal,
peerings), every address and port of an atom gets the same answer from the control plane as the
atom's representative, and ``check`` gives the verdict that trying every address gives."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_network

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.control.encryption import posture
from fabric.control.forwarding import follow
from fabric.control.nsg import Packet5Tuple
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.model.records import Route, SecurityRule
from fabric.study.atoms import AddressSet, AtomIndex, Span, representative_port
from fabric.study.intents import check

PORTS = range(440, 445)  # every rule's port boundaries lie in 441-444
SOURCE_PORTS = (1023, 1024, 1025, 60000)
OUTSIDE = ("10.99.0.4", "8.8.8.8")  # a private and a public address outside every VNet


def space(i: int) -> str:
    return f"10.{i}.0.0/28"


def _prefix(vnet: int, length: int, offset: int) -> str:
    return f"10.{vnet}.0.{offset & ~((1 << (32 - length)) - 1)}/{length}"


def prefixes(vnets: int):
    """A /28 to /32 inside one of the VNets' /28 spaces."""
    lengths = st.sampled_from([28, 29, 29, 30, 32])
    return st.builds(_prefix, st.integers(0, vnets - 1), lengths, st.integers(0, 15))


@st.composite
def small_fabrics(draw, max_vnets: int = 3) -> Fabric:
    fabric = Fabric()
    vnets = draw(st.integers(2, max_vnets))
    address = st.one_of(st.sampled_from(["*", "VirtualNetwork", "Internet"]), prefixes(vnets))
    ports = st.sampled_from(["*", "442", "441-442", "443-444"])
    for n in range(draw(st.integers(0, 2))):
        rules = [
            SecurityRule(
                f"r{j}",
                100 + j,
                draw(st.sampled_from(["Inbound", "Outbound"])),
                draw(st.sampled_from(["Allow", "Deny"])),
                draw(st.sampled_from(["Tcp", "Udp", "*", "Icmp"])),
                draw(address),
                draw(st.sampled_from(["*", "*", "1024", "1024-1025"])),
                draw(address),
                draw(ports),
            )
            for j in range(draw(st.integers(1, 4)))
        ]
        fabric.nsg(f"nsg{n}", rules)
    nsgs = [None, *fabric.nsgs]
    appliances = []
    for i in range(vnets):
        name = f"v{i}"
        fabric.vnet(name, "westeurope", space(i))
        # the second /29 is a subnet or space in no subnet (DestinationNotInSubnet)
        for k, offset in enumerate((0, 8)[: draw(st.integers(1, 2))]):
            fabric.subnet(name, f"s{k}", f"10.{i}.0.{offset}/29", nsg=draw(st.sampled_from(nsgs)))
            for usable in (4, 5, 6):
                if draw(st.integers(0, 3)) == 0:
                    forwarding = draw(st.booleans())
                    ip = f"10.{i}.0.{offset + usable}"
                    fabric.host(
                        name,
                        f"h{i}{k}{usable}",
                        f"s{k}",
                        ip,
                        nsg=draw(st.sampled_from(nsgs)),
                        enable_ip_forwarding=forwarding,
                    )
                    if forwarding:
                        appliances.append(ip)
    if draw(st.booleans()):
        hops = st.sampled_from(["None", "VnetLocal", *(["VirtualAppliance"] if appliances else [])])
        routes = []
        for j in range(draw(st.integers(1, 3))):
            hop = draw(hops)
            target = draw(st.sampled_from(appliances)) if hop == "VirtualAppliance" else None
            routes.append(Route(f"u{j}", draw(prefixes(vnets)), hop, target))
        fabric.route_table("rt", routes)
        vnet = fabric.vnets["v0"]
        subnets = tuple(attrs.evolve(s, route_table="rt") for s in vnet.subnets)
        fabric.vnets["v0"] = attrs.evolve(vnet, subnets=subnets)
    for a in range(vnets):
        for b in range(a + 1, vnets):
            if draw(st.booleans()):
                fabric.peer(f"v{a}", f"v{b}", allow_forwarded_traffic=draw(st.booleans()))
    return fabric


def addresses(fabric: Fabric) -> list[IPv4Address]:
    found = [a for v in fabric.vnets.values() for a in ip_network(v.address_prefixes[0])]
    return found + [IPv4Address(a) for a in OUTSIDE]


def signature(path) -> tuple:
    """Everything a user sees of a path but the addresses themselves: the outcome, every
    blocking cause, each step (what it is and which resource) and its encryption."""
    steps = tuple(
        (type(step).__name__, _resource(step), protection and protection.label)
        for step, protection in zip(path.steps, posture(path), strict=True)
    )
    blockers = tuple((d.code, tuple(sorted(d.context.items())), d.resources) for d in path.blockers)
    return (type(path.outcome).__name__, blockers, steps, path.latency_ms)


def _resource(step) -> str:
    for field in ("location", "host", "gateway", "link", "vnet", "connection", "site"):
        value = getattr(step, field, None)
        if value is not None:
            return getattr(value, "name", str(value))
    return ""


def atom_of(atoms, value: int):
    return next(a for a in atoms if a[0] <= value <= a[1])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_fabrics())
def test_every_address_and_port_of_an_atom_gets_the_representatives_answer(fabric):
    plane = ControlPlane(fabric)
    index = AtomIndex(plane)
    everything = addresses(fabric)
    atoms = index.address_atoms(AddressSet.of(ip_network(a) for a in everything))
    span_of = {a: next(s for s in atoms if s.low <= int(a) <= s.high) for a in everything}
    port_atoms = index.port_atoms([(0, 65535)])
    source_atoms = index.port_atoms([(0, 65535)], source=True)
    sources = [a for a in everything if _in_subnet(plane, a)]
    cache: dict[tuple, tuple] = {}
    for source in sources:
        location = plane.locate(source)
        for destination in everything:
            for protocol, port, source_port in _packets(fabric):
                path = follow(
                    plane, location, Packet5Tuple(protocol, source, destination, source_port, port)
                )
                key = (
                    span_of[source],
                    span_of[destination],
                    protocol,
                    port is not None and atom_of(port_atoms, port),
                    source_port is not None and atom_of(source_atoms, source_port),
                )
                if key not in cache:
                    rep = _representative(plane, key)
                    cache[key] = signature(rep)
                assert signature(path) == cache[key], (
                    str(source),
                    str(destination),
                    protocol,
                    port,
                )


def _packets(fabric: Fabric):
    """ICMP; TCP on every port of the window; and on one port, from every source port of the
    window when a rule names source ports."""
    named = any(
        r.source_port_ranges != ("*",) for n in fabric.nsgs.values() for r in n.security_rules
    )
    yield ("Icmp", None, None)
    for port in PORTS:
        yield ("Tcp", port, SOURCE_PORTS[-1])
    if named:
        for source_port in SOURCE_PORTS[:-1]:
            yield ("Tcp", 442, source_port)


def _representative(plane, key):
    source_span, destination_span, protocol, port_atom, source_atom = key
    port = representative_port(port_atom) if port_atom else None
    source_port = representative_port(source_atom, 60000) if source_atom else None
    source = source_span.address()
    return follow(
        plane,
        plane.locate(source),
        Packet5Tuple(protocol, source, destination_span.address(), source_port, port),
    )


def _in_subnet(plane, address) -> bool:
    try:
        plane.locate(address)
    except LookupError:
        return False
    return True


# -- check() against brute force ----------------------------------------------------------------


def usable(fabric: Fabric, vnet: str, subnet: str | None = None) -> list[IPv4Address]:
    """The addresses a NIC can hold: every subnet address but the five reserved (§1.2)."""
    found = []
    for s in fabric.vnets[vnet].subnets:
        if subnet in (None, s.name):
            net = ip_network(s.address_prefix)
            found += [
                a for a in net if 4 <= int(a) - int(net.network_address) < net.num_addresses - 1
            ]
    return found


@st.composite
def fabrics_and_intents(draw):
    fabric = draw(small_fabrics())
    vnets = list(fabric.vnets)
    hosts = [h.name for v in fabric.vnets.values() for h in v.hosts]

    def endpoint():
        kinds = ["vnet", "subnet", *(["host"] if hosts else [])]
        kind = draw(st.sampled_from(kinds))
        vnet = draw(st.sampled_from(vnets))
        if kind == "vnet":
            return vnet
        if kind == "subnet":
            return f"{vnet}/{draw(st.sampled_from(fabric.vnets[vnet].subnet_names))}"
        return draw(st.sampled_from(hosts))

    protocol = draw(st.sampled_from(["Tcp", "Icmp"]))
    intent = {
        "name": "i",
        "from": endpoint(),
        "to": endpoint(),
        "expect": draw(st.sampled_from(["reachable", "unreachable"])),
        "protocol": protocol,
    }
    if protocol == "Tcp":
        intent["port"] = f"{PORTS[0]}-{PORTS[-1]}"
    return fabric, intent


def endpoint_addresses(fabric: Fabric, name: str) -> list[IPv4Address]:
    host = next((h for v in fabric.vnets.values() for h in v.hosts if h.name == name), None)
    if host is not None:
        return [IPv4Address(host.ip)]
    vnet, _, subnet = name.partition("/")
    return usable(fabric, vnet, subnet or None)


def brute_force(fabric: Fabric, intent: dict) -> bool:
    """The intent's verdict by trying every address, port and source port of the window."""
    plane = ControlPlane(fabric)
    wanted = intent["expect"] == "reachable"
    ports = list(PORTS) if intent["protocol"] == "Tcp" else [None]
    source_ports = SOURCE_PORTS if intent["protocol"] == "Tcp" else (None,)
    for source in endpoint_addresses(fabric, intent["from"]):
        location = plane.locate(source)
        for destination in endpoint_addresses(fabric, intent["to"]):
            for port in ports:
                through = [
                    follow(
                        plane,
                        location,
                        Packet5Tuple(intent["protocol"], source, destination, sport, port),
                    ).reachable
                    for sport in source_ports
                ]
                if wanted and not any(through):
                    return False
                if not wanted and any(through):
                    return False
    return True


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fabrics_and_intents())
def test_check_agrees_with_brute_force_over_every_address(case):
    fabric, intent = case
    result = check(fabric, [intent]).results[0]
    assert result.holds == brute_force(fabric, intent)
    if not result.holds:  # the counterexample is a real packet that breaks the intent
        example = result.counterexample
        plane = ControlPlane(fabric)
        path = follow(
            plane,
            plane.locate(example.source),
            Packet5Tuple(
                example.protocol,
                IPv4Address(example.source),
                IPv4Address(example.destination),
                example.source_port,
                example.port,
            ),
        )
        assert path.reachable is (intent["expect"] == "unreachable")


# -- the address sets themselves ----------------------------------------------------------------

spans = st.lists(
    st.builds(
        lambda version, low, size: Span(version, low, low + size),
        st.sampled_from([4, 6]),
        st.integers(0, 40),
        st.integers(0, 6),
    ),
    max_size=6,
)


def points(addresses: AddressSet) -> set[tuple[int, int]]:
    return {(s.version, v) for s in addresses.spans for v in range(s.low, s.high + 1)}


@given(spans, spans)
def test_address_set_operations_agree_with_python_sets(a, b):
    left, right = AddressSet(a), AddressSet(b)
    assert points(left | right) == points(left) | points(right)
    assert points(left & right) == points(left) & points(right)
    assert points(left - right) == points(left) - points(right)
    assert len(left) == len(points(left))
