"""The matrix against brute force: on small random fabrics with NSGs (subnet and NIC), user
routes (None, Internet, VnetLocal, appliance, gateway), appliances with and without IP
forwarding, an Azure Firewall with or without rules and subnet, VPN gateways with VNet-to-VNet
and site connections, gateway transit and VNet encryption, every pair of ``matrix`` equals the
trace ``vnetsim connectivity`` gives for it (status, reason code and reason, hop names,
latency, encryption), for every service, for subnets and for VMs."""

from __future__ import annotations

import gc
from unittest import mock

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.model.records import (
    FirewallNetworkRule,
    FirewallRuleCollection,
    Route,
    SecurityRule,
)
from fabric.study.matrix import COMMON_SERVICES, Pair, matrix
from fabric.watcher.trace import connectivity

REGIONS = ["eastus", "westus", "centralus"]  # every pair has a published round trip (§7.2)
# Addresses the routes and rules use: VNet spaces, subnets, an appliance, the firewall's
# derived address (AzureFirewallSubnet 10.0.254.0/26: .4), an address no NIC holds, a site.
PREFIXES = [
    "0.0.0.0/0",
    "10.0.0.0/16",
    "10.1.0.0/16",
    "10.2.0.0/16",
    "10.1.1.0/24",
    "10.2.0.0/24",
    "192.168.0.0/16",
]
NEXT_HOPS = ["None", "Internet", "VnetLocal", "VirtualAppliance", "VirtualNetworkGateway"]
NEXT_HOPS += ["VirtualAppliance"] * 3
APPLIANCE_IPS = ["10.0.1.4", "10.1.1.4", "10.0.254.4", "10.0.254.4", "10.9.9.9"]
RULE_ADDRESSES = ["*", "VirtualNetwork", "Internet", "10.0.0.0/16", "10.1.1.0/24", "10.2.0.0/16"]


@st.composite
def routed_fabrics(draw) -> Fabric:
    fabric = Fabric()
    for n in range(draw(st.integers(0, 2))):
        rules = [
            SecurityRule(
                f"r{j}",
                100 + j,
                draw(st.sampled_from(["Inbound", "Outbound"])),
                draw(st.sampled_from(["Allow", "Deny"])),
                draw(st.sampled_from(["Tcp", "Udp", "Icmp", "*"])),
                draw(st.sampled_from(RULE_ADDRESSES)),
                "*",
                draw(st.sampled_from(RULE_ADDRESSES)),
                draw(st.sampled_from(["*", "443", "22", "53", "1-100"])),
            )
            for j in range(draw(st.integers(1, 4)))
        ]
        fabric.nsg(f"nsg{n}", rules)
    nsgs = [None, *fabric.nsgs]
    for t in range(draw(st.integers(0, 2))):
        routes = []
        for j in range(draw(st.integers(1, 3))):
            hop = draw(st.sampled_from(NEXT_HOPS))
            ip = draw(st.sampled_from(APPLIANCE_IPS)) if hop == "VirtualAppliance" else None
            routes.append(Route(f"u{j}", draw(st.sampled_from(PREFIXES)), hop, ip))
        fabric.route_table(f"rt{t}", routes, disable_bgp_route_propagation=draw(st.booleans()))
    tables = [None, *fabric.route_tables]
    count = draw(st.integers(2, 4))
    for i in range(count):
        name = f"v{i}"
        fabric.vnet(name, draw(st.sampled_from(REGIONS)), f"10.{i}.0.0/16")
        if draw(st.booleans()):
            fabric.vnets[name] = attrs.evolve(fabric.vnets[name], encryption=True)
        for k in range(1, draw(st.integers(1, 3)) + 1):
            fabric.subnet(
                name,
                f"s{k}",
                f"10.{i}.{k}.0/24",
                nsg=draw(st.sampled_from(nsgs)),
                route_table=draw(st.sampled_from(tables)),
            )
            if draw(st.booleans()):
                fabric.host(
                    name,
                    f"{name}-vm{k}",
                    f"s{k}",
                    f"10.{i}.{k}.4",
                    nsg=draw(st.sampled_from(nsgs)),
                    enable_ip_forwarding=draw(st.booleans()),
                    accelerated_networking=draw(st.booleans()),
                )
        if draw(st.booleans()):
            fabric.subnet(name, "GatewaySubnet", f"10.{i}.255.0/27")
            fabric.gateway(f"{name}-gw", name, "VpnGw2", generation="Generation2")
    if draw(st.integers(0, 2)):  # an Azure Firewall in v0, with or without its subnet and rules
        if draw(st.integers(0, 3)):
            fabric.subnet("v0", "AzureFirewallSubnet", "10.0.254.0/26")
        collections = None
        if draw(st.booleans()):
            rule = FirewallNetworkRule(
                "r",
                (draw(st.sampled_from(["TCP", "UDP", "Any"])),),
                (draw(st.sampled_from(["*", "10.1.0.0/16"])),),
                (draw(st.sampled_from(["*", "10.2.0.0/16", "10.0.0.0/8"])),),
                (draw(st.sampled_from(["*", "443", "22"])),),
            )
            action = draw(st.sampled_from(["Allow", "Deny"]))
            collections = (FirewallRuleCollection("c", 100, action, (rule,)),)
        tier = draw(st.sampled_from(["Standard", "Premium"]))
        fabric.firewall("fw", "v0", sku_tier=tier, network_rule_collections=collections)
    names = list(fabric.vnets)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            kind = draw(st.sampled_from(["none", "both", "both", "one side"]))
            if kind == "one side":  # Initiated: the other side is missing (§2.2)
                fabric.peer_one_side(a, b)
            elif kind == "both":
                transit = draw(st.booleans())
                fabric.peer(
                    a,
                    b,
                    allow_forwarded_traffic=draw(st.booleans()),
                    a_allows_gateway_transit=transit,
                    b_uses_remote_gateways=transit and draw(st.booleans()),
                )
    gateways = list(fabric.gateways)
    for i, a in enumerate(gateways):
        for b in gateways[i + 1 :]:
            if draw(st.booleans()):
                fabric.connect(a, b, shared_key=draw(st.sampled_from(["k1", "k1", "k2"])))
    if gateways and draw(st.booleans()):
        fabric.local_network_gateway("site", "192.168.0.0/16", gateway_ip_address="203.0.113.9")
        fabric.connect_site("to-site", gateways[0], "site", shared_key="k1")
    return fabric


class Forgetful(dict):
    """A plane's memory (``ControlPlane.memo``, where ``fabric.control.explain`` keeps what it
    learned) that remembers nothing: the brute force works every explanation out afresh."""

    def get(self, key, default=None):
        return default

    def setdefault(self, key, default=None):
        return default

    def __setitem__(self, key, value) -> None:
        pass


def traced(plane: ControlPlane, result, protocol: str, port: int | None) -> list[Pair]:
    """Every ordered pair of the matrix's endpoints, each traced on its own."""
    with mock.patch.object(plane, "memo", Forgetful()):
        return _traced(plane, result, protocol, port)


def _traced(plane: ControlPlane, result, protocol: str, port: int | None) -> list[Pair]:
    pairs = []
    for source in result.endpoints:
        for destination in result.endpoints:
            if source is destination:
                continue
            trace = connectivity(
                plane, source.address, destination.address, protocol=protocol, port=port
            )
            encrypted = trace.reachable and all(
                hop.encryption is None or hop.encryption.encrypted for hop in trace.hops
            )
            pairs.append(
                Pair(
                    source.label,
                    destination.label,
                    protocol,
                    port,
                    trace.connection_status,
                    trace.code,
                    tuple(hop.name for hop in trace.hops),
                    trace.reason,
                    trace.latency_ms,
                    encrypted,
                )
            )
    return pairs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routed_fabrics(), st.booleans(), st.sampled_from([None, *COMMON_SERVICES]))
def test_every_pair_of_the_matrix_is_the_trace_of_that_pair(fabric, hosts, service):
    services = COMMON_SERVICES if service is None else (service,)
    result = matrix(ControlPlane(fabric), hosts=hosts, services=services)
    expected = []
    plane = ControlPlane(fabric)  # its own caches, and none for explanations
    for protocol, port in services:
        expected += traced(plane, result, protocol, port)
    assert len(result.pairs) == len(expected)
    for got, want in zip(result.pairs, expected, strict=True):
        assert got == want


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routed_fabrics())
def test_building_a_matrix_makes_no_reference_cycles(fabric):
    """``matrix`` pauses the cyclic collector while it builds its pairs: that is only free if
    tracing a pair leaves no cycles behind for the collector to find."""
    plane = ControlPlane(fabric)
    matrix(plane, hosts=True)  # warm the plane's caches: they are meant to stay
    gc.disable()
    try:
        gc.collect()
        matrix(plane)
        matrix(plane, hosts=True)
        assert gc.collect() == 0
    finally:
        gc.enable()
