"""Effective routes and route selection against the documented examples (TC-RT-*, TC-NW-1)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hypothesis import given
from hypothesis import strategies as st

from fabric.control.addressing import Fib
from fabric.control.plane import ControlPlane
from fabric.control.routing import RouteEntry, select
from fabric.model.container import Fabric
from fabric.model.records import Route
from fabric.watcher import next_hop
from tests.fabrics import routing_example


def lookup(plane: ControlPlane, vnet: str, subnet: str, destination: str) -> RouteEntry | None:
    return plane.routes(vnet, subnet).lookup(destination)


def test_TC_RT_1_longest_prefix_match():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "172.20.0.0/16")
    fabric.route_table(
        "rt", [Route("X", "10.0.0.0/24", "Internet"), Route("Y", "10.0.0.0/16", "None")]
    )
    fabric.subnet("v", "s", "172.20.0.0/24", route_table="rt")
    plane = ControlPlane(fabric)
    assert lookup(plane, "v", "s", "10.0.0.5").name == "X"
    assert lookup(plane, "v", "s", "10.0.1.5").name == "Y"


def test_TC_RT_2_same_prefix_user_route_beats_system_and_system_turns_invalid():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "GatewaySubnet", "10.0.255.0/27")
    fabric.gateway("gw", "v", "VpnGw1")
    fabric.route_table("rt", [Route("force", "0.0.0.0/0", "VirtualNetworkGateway")])
    fabric.subnet("v", "s", "10.0.1.0/24", route_table="rt")
    plane = ControlPlane(fabric)
    route = lookup(plane, "v", "s", "8.8.8.8")
    assert (route.source, route.next_hop_type) == ("User", "VirtualNetworkGateway")
    default = [r for r in plane.routes("v", "s").routes if r.prefix == IPv4Network("0.0.0.0/0")]
    assert {(r.source, r.state) for r in default} == {("Default", "Invalid"), ("User", "Active")}


def test_TC_RT_3_subnet1_of_the_documented_routing_example():
    plane = ControlPlane(routing_example())
    expected = {
        "10.0.0.7": ("Within-Subnet1", "VnetLocal", ()),
        "10.0.1.10": ("Within-VNet1", "VirtualAppliance", ("10.0.100.4",)),
        "10.0.255.254": ("Within-VNet1", "VirtualAppliance", ("10.0.100.4",)),
        "10.1.0.4": ("ToVNet2-1-Drop", "None", ()),
        "10.2.200.1": ("ToVNet2-2-Drop", "None", ()),
        "10.10.5.5": ("To-On-Prem", "VirtualAppliance", ("10.0.100.4",)),
        "8.8.8.8": ("Default-NVA", "VirtualAppliance", ("10.0.100.4",)),
    }
    for destination, (name, hop, ips) in expected.items():
        route = lookup(plane, "Virtual-network-1", "Subnet1", destination)
        assert (route.name, route.next_hop_type, route.next_hop_ip_address) == (name, hop, ips)
    states = {
        (r.source, str(r.prefix), r.next_hop_type): r.state
        for r in plane.routes("Virtual-network-1", "Subnet1").routes
    }
    # IDs 1, 4, 5, 8, 11 of the documented table are Invalid; the user routes are Active.
    for key in [
        ("Default", "10.0.0.0/16", "VnetLocal"),
        ("Default", "10.1.0.0/16", "VNetPeering"),
        ("Default", "10.2.0.0/16", "VNetPeering"),
        ("VirtualNetworkGateway", "10.10.0.0/16", "VirtualNetworkGateway"),
        ("Default", "0.0.0.0/0", "Internet"),
    ]:
        assert states[key] == "Invalid", key
    assert all(state == "Active" for (source, _, _), state in states.items() if source == "User")
    # §4.7: with the 0.0.0.0/0 UDR, Azure removed the reserved None routes from Subnet1.
    assert ("Default", "10.0.0.0/8", "None") not in states


def test_TC_RT_4_subnet2_without_a_route_table():
    plane = ControlPlane(routing_example())
    expected = {
        "10.0.0.7": "VnetLocal",
        "10.1.0.4": "VNetPeering",
        "10.2.0.4": "VNetPeering",
        "10.10.5.5": "VirtualNetworkGateway",
        "8.8.8.8": "Internet",
        "10.5.0.1": "None",
        "192.168.1.1": "None",
        "100.64.0.1": "None",
    }
    for destination, hop in expected.items():
        assert lookup(plane, "Virtual-network-1", "Subnet2", destination).next_hop_type == hop
    gateway_route = lookup(plane, "Virtual-network-1", "Subnet2", "10.10.5.5")
    assert gateway_route.source == "VirtualNetworkGateway"
    assert gateway_route.next_hop_ip_address == ("10.0.255.4",)
    rows = plane.routes("Virtual-network-1", "Subnet2").routes
    assert all(r.state == "Active" for r in rows)


def test_TC_RT_5_reserved_prefix_becomes_a_vnet_route():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.0.0/24")
    route = next_hop(ControlPlane(fabric), "10.0.0.4", "172.31.0.100")
    assert route.to_json() == {
        "next_hop_type": "None",
        "next_hop_ip_address": None,
        "route_table": "System Route",
        "address_prefix": "172.16.0.0/12",
    }
    fabric.add_address_prefix("v", "172.16.0.0/12")
    route = next_hop(ControlPlane(fabric), "10.0.0.4", "172.31.0.100")
    assert route.next_hop_type == "VnetLocal"
    supernet = Fabric()
    supernet.vnet("v", "eastus", "10.0.0.0/7")
    supernet.subnet("v", "s", "10.0.0.0/24")
    prefixes = {str(r.prefix) for r in ControlPlane(supernet).routes("v", "s").routes}
    assert "10.0.0.0/8" not in prefixes  # a supernet deletes the reserved route


def test_TC_RT_6_gateway_route_propagation_off_on_one_subnet():
    fabric = routing_example(with_route_table=False)
    fabric.route_table("no-propagation", disable_bgp_route_propagation=True)
    fabric.set_vnet(
        fabric.vnets["Virtual-network-1"].__class__(
            "Virtual-network-1",
            "eastus",
            ("10.0.0.0/16",),
            tuple(
                s
                if s.name != "Subnet1"
                else s.__class__("Subnet1", "10.0.0.0/24", None, "no-propagation")
                for s in fabric.vnets["Virtual-network-1"].subnets
            ),
            fabric.vnets["Virtual-network-1"].hosts,
        )
    )
    plane = ControlPlane(fabric)
    subnet_a = plane.routes("Virtual-network-1", "Subnet1").routes
    assert not any(r.next_hop_type == "VirtualNetworkGateway" for r in subnet_a)
    assert lookup(plane, "Virtual-network-1", "Subnet1", "10.10.5.5").next_hop_type == "None"
    assert lookup(plane, "Virtual-network-1", "Subnet2", "10.10.5.5").next_hop_type == (
        "VirtualNetworkGateway"
    )


def test_TC_RT_7_vnet_system_route_beats_a_more_specific_gateway_route():
    routes = [
        RouteEntry("Default", "Active", IPv4Network("10.0.0.0/16"), "VnetLocal"),
        RouteEntry(
            "VirtualNetworkGateway", "Active", IPv4Network("10.0.1.0/24"), "VirtualNetworkGateway"
        ),
        RouteEntry(
            "VirtualNetworkGateway", "Active", IPv4Network("10.9.0.0/16"), "VirtualNetworkGateway"
        ),
    ]
    selected = select(routes)
    assert [r.state for r in selected] == ["Active", "Invalid", "Active"]


def test_TC_NW_1_next_hop_to_the_internet():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.0.0/24")
    route = next_hop(ControlPlane(fabric), "10.0.0.4", "13.107.21.200")
    assert route.to_json()["next_hop_type"] == "Internet"
    assert route.to_json()["route_table"] == "System Route"


def test_global_peering_routes_are_labelled_global():
    fabric = Fabric()
    fabric.vnet("a", "eastus", "10.0.0.0/16")
    fabric.subnet("a", "s", "10.0.0.0/24")
    fabric.vnet("b", "westeurope", "10.1.0.0/16")
    fabric.peer("a", "b")
    assert lookup(ControlPlane(fabric), "a", "s", "10.1.2.3").next_hop_type == "VNetGlobalPeering"


def test_TC_PR_6_stale_peering_copy_is_not_routed_until_sync():
    fabric = Fabric()
    fabric.vnet("A", "eastus", "10.0.0.0/16")
    fabric.vnet("B", "eastus", "10.1.0.0/16")
    fabric.subnet("B", "s", "10.1.0.0/24")
    fabric.peer("A", "B")
    fabric.add_address_prefix("A", "10.3.0.0/16")
    assert lookup(ControlPlane(fabric), "B", "s", "10.3.0.1").next_hop_type == "None"
    fabric.sync_peering("B", "B-to-A")
    assert lookup(ControlPlane(fabric), "B", "s", "10.3.0.1").next_hop_type == "VNetPeering"


# -- property: the FIB answer equals a brute-force scan ---------------------------------------

_SOURCES = ["Default", "User", "VirtualNetworkGateway"]
_HOPS = [
    "VnetLocal",
    "VNetPeering",
    "Internet",
    "None",
    "VirtualAppliance",
    "VirtualNetworkGateway",
]


# Both families in one table, IPv6 confined to a /100 so that random probes hit its routes.
_V6_BASE = int(IPv6Address("fd00::"))


@st.composite
def route_lists(draw):
    routes = []
    for _ in range(draw(st.integers(1, 25))):
        if draw(st.booleans()):
            length = draw(st.integers(0, 32))
            base = draw(st.integers(0, 2**32 - 1)) >> (32 - length) << (32 - length)
            prefix = IPv4Network((base if length else 0, length))
        else:
            length = draw(st.sampled_from([0, 8, 100, 104, 112, 120, 124, 128]))
            offset = draw(st.integers(0, 2**28 - 1))
            base = (_V6_BASE + offset) >> (128 - length) << (128 - length) if length else 0
            prefix = IPv6Network((base, length))
        source = draw(st.sampled_from(_SOURCES))
        hop = (
            "VirtualNetworkGateway"
            if source == "VirtualNetworkGateway"
            else draw(st.sampled_from(_HOPS))
        )
        routes.append(RouteEntry(source, "Active", prefix, hop))
    return routes


def brute_force(routes: list[RouteEntry], destination: IPv4Address) -> set[RouteEntry]:
    """The documented rules, applied by scanning every route for this one destination."""
    protected = [
        r.prefix
        for r in routes
        if r.source == "Default" and r.next_hop_type in ("VnetLocal", "VNetPeering")
    ]
    rank = {"User": 0, "VirtualNetworkGateway": 1, "Default": 2}
    eligible = [
        r
        for r in routes
        if destination in r.prefix
        and not (
            r.source == "VirtualNetworkGateway"
            and any(p.version == r.prefix.version and r.prefix.subnet_of(p) for p in protected)
        )
    ]
    if not eligible:
        return set()
    longest = max(r.prefix.prefixlen for r in eligible)
    at_longest = [r for r in eligible if r.prefix.prefixlen == longest]
    best = min(rank[r.source] for r in at_longest)
    return {r for r in at_longest if rank[r.source] == best}


@given(
    route_lists(),
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20),
    st.lists(st.integers(0, 2**28 - 1), min_size=1, max_size=20),
)
def test_fib_lookup_agrees_with_brute_force_longest_match(routes, destinations, v6_offsets):
    fib = Fib()
    for route in select(routes):
        if route.state == "Active":
            fib[route.prefix] = route
    probes = [IPv4Address(d) for d in destinations]
    probes += [IPv6Address(_V6_BASE + offset) for offset in v6_offsets]
    probes += [r.prefix.network_address for r in routes] + [
        r.prefix.broadcast_address for r in routes
    ]
    for destination in probes:
        expected = brute_force(routes, destination)
        got = fib.get(destination)
        if not expected:
            assert got is None
        else:
            assert got is not None
            assert (got.prefix, got.source) in {(r.prefix, r.source) for r in expected}
