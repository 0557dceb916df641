"""NSG evaluation against the documented examples (TC-NW-2, TC-NSG-*) and a brute-force oracle."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabric.control.nsg import DEFAULT_RULES, Packet5Tuple, TagScope, evaluate_nsg
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.model.records import Nsg, SecurityRule
from fabric.watcher import connectivity, ip_flow


def single_vm(subnet_nsg: str | None = "nsg", nic_nsg: str | None = None, rules=()) -> Fabric:
    fabric = Fabric()
    fabric.nsg("nsg", rules)
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.0.0/24", nsg=subnet_nsg)
    fabric.host("v", "vm", "s", "10.0.0.4", nsg=nic_nsg)
    return fabric


def test_TC_NSG_3_default_rules_exactly():
    assert [(r.direction, r.name, r.priority, r.access) for r in DEFAULT_RULES] == [
        ("Inbound", "AllowVnetInBound", 65000, "Allow"),
        ("Inbound", "AllowAzureLoadBalancerInBound", 65001, "Allow"),
        ("Inbound", "DenyAllInBound", 65500, "Deny"),
        ("Outbound", "AllowVnetOutBound", 65000, "Allow"),
        ("Outbound", "AllowInternetOutBound", 65001, "Allow"),
        ("Outbound", "DenyAllOutBound", 65500, "Deny"),
    ]


def test_TC_NW_2_ip_flow_verify_with_default_rules():
    plane = ControlPlane(single_vm())
    verdict = ip_flow(
        plane,
        "10.0.0.4",
        "13.107.21.200",
        protocol="Tcp",
        port=80,
        direction="Outbound",
        source_port=60000,
    )
    assert (verdict.access, verdict.rule_name) == ("Allow", "AllowInternetOutBound")
    verdict = ip_flow(
        plane,
        "10.0.0.4",
        "172.31.0.100",
        protocol="Tcp",
        port=80,
        direction="Outbound",
        source_port=60000,
    )
    assert (verdict.access, verdict.rule_name) == ("Deny", "DenyAllOutBound")
    verdict = ip_flow(
        plane,
        "172.31.0.100",
        "10.0.0.4",
        protocol="Tcp",
        port=80,
        direction="Inbound",
        source_port=60000,
    )
    assert (verdict.access, verdict.rule_name) == ("Deny", "DenyAllInBound")
    assert verdict.qualified_rule == "defaultSecurityRules/DenyAllInBound"


def test_TC_NSG_1_inbound_http_blocked_then_allowed_in_both_nsgs():
    allow_http = SecurityRule(
        "Allow-HTTP-All", 100, "Inbound", "Allow", "Tcp", "*", "*", "10.0.0.4", "80"
    )
    plane = ControlPlane(single_vm())
    verdict = ip_flow(
        plane, "203.0.113.9", "10.0.0.4", protocol="Tcp", port=80, direction="Inbound"
    )
    assert verdict.rule_name == "DenyAllInBound"
    plane = ControlPlane(single_vm(rules=[allow_http]))
    verdict = ip_flow(
        plane, "203.0.113.9", "10.0.0.4", protocol="Tcp", port=80, direction="Inbound"
    )
    assert (verdict.access, verdict.rule_name) == ("Allow", "Allow-HTTP-All")
    fabric = single_vm(rules=[allow_http])
    fabric.nsg("nic-nsg")
    fabric.vnets["v"] = fabric.vnets["v"].__class__(
        "v",
        "eastus",
        ("10.0.0.0/16",),
        fabric.vnets["v"].subnets,
        (fabric.vnets["v"].hosts[0].__class__("vm", "s", "10.0.0.4", "nic-nsg"),),
    )
    verdict = ip_flow(
        ControlPlane(fabric),
        "203.0.113.9",
        "10.0.0.4",
        protocol="Tcp",
        port=80,
        direction="Inbound",
    )
    assert (verdict.access, verdict.nsg, verdict.rule_name) == ("Deny", "nic-nsg", "DenyAllInBound")


def tc_nsg_2(deny_intra_subnet: bool = False) -> ControlPlane:
    rules = []
    if deny_intra_subnet:
        rules = [
            SecurityRule("deny-in", 100, "Inbound", "Deny"),
            SecurityRule("deny-out", 100, "Outbound", "Deny"),
        ]
    fabric = Fabric()
    fabric.nsg("NSG1", rules)
    fabric.nsg("NSG2")
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "Subnet1", "10.0.1.0/24", nsg="NSG1")
    fabric.subnet("v", "Subnet2", "10.0.2.0/24")
    fabric.subnet("v", "Subnet3", "10.0.3.0/24")
    fabric.host("v", "VM1", "Subnet1", "10.0.1.4", nsg="NSG2")
    fabric.host("v", "VM2", "Subnet1", "10.0.1.5")
    fabric.host("v", "VM3", "Subnet2", "10.0.2.4", nsg="NSG2")
    fabric.host("v", "VM4", "Subnet3", "10.0.3.4")
    return ControlPlane(fabric)


@pytest.mark.parametrize(
    ("vm", "inbound", "outbound"),
    [
        (
            "10.0.1.4",
            ("Deny", "NSG1", "DenyAllInBound"),
            ("Allow", "NSG1", "AllowInternetOutBound"),
        ),
        (
            "10.0.1.5",
            ("Deny", "NSG1", "DenyAllInBound"),
            ("Allow", "NSG1", "AllowInternetOutBound"),
        ),
        (
            "10.0.2.4",
            ("Deny", "NSG2", "DenyAllInBound"),
            ("Allow", "NSG2", "AllowInternetOutBound"),
        ),
        ("10.0.3.4", ("Allow", None, None), ("Allow", None, None)),
    ],
)
def test_TC_NSG_2_subnet_and_nic_nsg_matrix(vm, inbound, outbound):
    plane = tc_nsg_2()
    verdict = ip_flow(plane, "203.0.113.9", vm, protocol="Tcp", port=80, direction="Inbound")
    assert (verdict.access, verdict.nsg, verdict.rule_name) == inbound
    verdict = ip_flow(plane, vm, "203.0.113.9", protocol="Tcp", port=80, direction="Outbound")
    assert (verdict.access, verdict.nsg, verdict.rule_name) == outbound


def test_TC_NSG_2_outbound_nic_nsg_is_evaluated_before_the_subnet_nsg():
    plane = tc_nsg_2()
    location = plane.locate("10.0.1.4")
    _, verdicts = plane.nsg_verdict(
        location,
        "Outbound",
        Packet5Tuple("Tcp", IPv4Address("10.0.1.4"), IPv4Address("203.0.113.9"), 5, 80),
    )
    assert [v.nsg for v in verdicts] == ["NSG2", "NSG1"]
    _, verdicts = plane.nsg_verdict(
        location,
        "Inbound",
        Packet5Tuple("Tcp", IPv4Address("203.0.113.9"), IPv4Address("10.0.1.4"), 5, 80),
    )
    assert [v.nsg for v in verdicts] == ["NSG1"]  # the subnet NSG denied: NSG2 never evaluated


def test_TC_NSG_2_deny_all_in_nsg1_breaks_vm1_to_vm2():
    assert ip_flow(
        tc_nsg_2(), "10.0.1.4", "10.0.1.5", protocol="Tcp", port=22, direction="Inbound"
    ).allowed
    verdict = ip_flow(
        tc_nsg_2(deny_intra_subnet=True),
        "10.0.1.4",
        "10.0.1.5",
        protocol="Tcp",
        port=22,
        direction="Inbound",
    )
    assert (verdict.access, verdict.rule_name) == ("Deny", "deny-in")


def test_TC_NSG_4_peering_and_the_virtual_network_tag():
    fabric = Fabric()
    fabric.nsg("a-nsg")
    fabric.vnet("A", "eastus", "10.0.0.0/16")
    fabric.subnet("A", "s", "10.0.0.0/24", nsg="a-nsg")
    fabric.vnet("B", "eastus", "10.1.0.0/16")
    fabric.subnet("B", "s", "10.1.0.0/24")
    fabric.peer("A", "B")
    verdict = ip_flow(
        ControlPlane(fabric), "10.1.0.4", "10.0.0.4", protocol="Tcp", port=443, direction="Inbound"
    )
    assert (verdict.access, verdict.rule_name) == ("Allow", "AllowVnetInBound")
    fabric.update_peering("A", "A-to-B", allow_virtual_network_access=False)
    verdict = ip_flow(
        ControlPlane(fabric), "10.1.0.4", "10.0.0.4", protocol="Tcp", port=443, direction="Inbound"
    )
    assert (verdict.access, verdict.rule_name) == ("Deny", "DenyAllInBound")
    fabric.nsgs["a-nsg"] = Nsg(
        "a-nsg",
        [SecurityRule("from-B", 200, "Inbound", "Allow", source_address_prefixes="10.1.0.0/16")],
    )
    verdict = ip_flow(
        ControlPlane(fabric), "10.1.0.4", "10.0.0.4", protocol="Tcp", port=443, direction="Inbound"
    )
    assert (verdict.access, verdict.rule_name) == ("Allow", "from-B")


def test_load_balancer_tag_and_port_lists_and_portless_protocols():
    rules = [
        SecurityRule("web", 100, "Inbound", "Allow", "Tcp", "*", "*", "*", ["80", "8000-8100"])
    ]
    plane = ControlPlane(single_vm(rules=rules))
    assert (
        ip_flow(
            plane, "203.0.113.9", "10.0.0.4", protocol="Tcp", port=8050, direction="Inbound"
        ).rule_name
        == "web"
    )
    assert (
        ip_flow(
            plane, "203.0.113.9", "10.0.0.4", protocol="Tcp", port=8101, direction="Inbound"
        ).rule_name
        == "DenyAllInBound"
    )
    verdict = ip_flow(
        plane, "168.63.129.16", "10.0.0.4", protocol="Tcp", port=9000, direction="Inbound"
    )
    assert verdict.rule_name == "AllowAzureLoadBalancerInBound"
    assert (
        ip_flow(
            plane, "203.0.113.9", "10.0.0.4", protocol="Icmp", port=None, direction="Inbound"
        ).rule_name
        == "DenyAllInBound"
    )


def test_statefulness_the_reply_of_an_allowed_flow_passes():
    fabric = single_vm()
    fabric.vnet("w", "eastus", "10.1.0.0/16")
    fabric.subnet("w", "s", "10.1.0.0/24")
    fabric.nsg("lock", [SecurityRule("deny-in", 100, "Inbound", "Deny")])
    fabric.host("w", "locked", "s", "10.1.0.4", nsg="lock")
    fabric.peer("v", "w")
    plane = ControlPlane(fabric)
    assert connectivity(plane, "10.1.0.4", "10.0.0.4").reachable
    # no inbound rule would let 10.0.0.4 in...
    assert connectivity(plane, "10.0.0.4", "10.1.0.4").code == "DeniedByNsg"
    # ...but the reply of the flow 10.1.0.4 started passes (§5.3)
    reply = connectivity(plane, "10.0.0.4", "10.1.0.4", established=True)
    assert reply.reachable


# -- property: verdicts equal a brute-force reference ----------------------------------------

_ADDRESSES = [
    "*",
    "10.0.0.0/8",
    "10.0.1.0/24",
    "10.0.1.4",
    "VirtualNetwork",
    "Internet",
    "AzureLoadBalancer",
    "AzurePlatformDNS",
    "AzurePlatformIMDS",
    "192.168.0.0/16",
    "0.0.0.0/0",
]
_PORTS = ["*", "80", "443", "1000-2000", "22"]


@st.composite
def rule_sets(draw):
    rules = []
    priorities = draw(st.lists(st.integers(100, 4096), min_size=0, max_size=12, unique=True))
    for i, priority in enumerate(priorities):
        rules.append(
            SecurityRule(
                f"r{i}",
                priority,
                draw(st.sampled_from(["Inbound", "Outbound"])),
                draw(st.sampled_from(["Allow", "Deny"])),
                draw(st.sampled_from(["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"])),
                draw(st.sampled_from(_ADDRESSES)),
                draw(st.sampled_from(_PORTS)),
                draw(st.sampled_from(_ADDRESSES)),
                draw(st.sampled_from(_PORTS)),
            )
        )
    return rules


_SCOPE = TagScope((IPv4Network("10.0.0.0/16"), IPv4Network("10.5.0.0/16")))
_PUBLIC = [IPv4Network(p) for p in ("1.0.0.0/8", "13.0.0.0/8", "203.0.113.0/24")]


def reference_address(value: str, ip: IPv4Address) -> bool:
    """Set semantics written out independently of fabric.nsg."""
    if value == "*":
        return True
    if value == "VirtualNetwork":
        return any(ip in n for n in _SCOPE.virtual_network)
    if value in _PLATFORM_TAGS:
        return ip == IPv4Address(_PLATFORM_TAGS[value])
    if value == "Internet":
        private = [
            IPv4Network(p)
            for p in (
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "0.0.0.0/8",
                "224.0.0.0/3",
            )
        ]
        return not any(ip in n for n in private) and not any(
            ip in n for n in _SCOPE.virtual_network
        )
    return ip in IPv4Network(value if "/" in value else value + "/32")


def reference_port(value: str, port: int | None) -> bool:
    if value == "*":
        return True
    if port is None:
        return False
    low, _, high = value.partition("-")
    return int(low) <= port <= int(high or low)


_PLATFORM_TAGS = {
    "AzureLoadBalancer": "168.63.129.16",
    "AzurePlatformDNS": "168.63.129.16",
    "AzurePlatformIMDS": "169.254.169.254",
}


def reference_verdict(rules, direction, packet):
    """§5.1-5.3 written out: Any is TCP, UDP and ICMP; platform traffic (§1.4) meets only rules
    whose far-end field names a platform tag; nothing matched: Allow for platform traffic,
    else Deny without a rule."""
    far = packet.source if direction == "Inbound" else packet.destination
    platform = str(far) in ("168.63.129.16", "169.254.169.254")

    def far_field(rule):
        field = (
            rule.source_address_prefixes
            if direction == "Inbound"
            else rule.destination_address_prefixes
        )
        return field[0]

    matching = [
        r
        for r in (*rules, *DEFAULT_RULES)
        if r.direction == direction
        and (
            r.protocol == packet.protocol
            or (r.protocol == "*" and packet.protocol in ("Tcp", "Udp", "Icmp"))
        )
        and (not platform or far_field(r) in _PLATFORM_TAGS)
        and reference_address(r.source_address_prefixes[0], packet.source)
        and reference_address(r.destination_address_prefixes[0], packet.destination)
        and reference_port(r.source_port_ranges[0], packet.source_port)
        and reference_port(r.destination_port_ranges[0], packet.destination_port)
    ]
    if not matching:
        return ("Allow" if platform else "Deny"), None
    best = min(matching, key=lambda r: r.priority)
    return best.access, best.name


_IPS = st.sampled_from(
    [
        "10.0.1.4",
        "10.0.2.9",
        "10.5.3.3",
        "10.9.9.9",
        "168.63.129.16",
        "169.254.169.254",
        "13.107.21.200",
        "203.0.113.7",
        "192.168.4.4",
        "172.20.0.1",
    ]
)


@given(
    rule_sets(),
    st.sampled_from(["Inbound", "Outbound"]),
    st.sampled_from(["Tcp", "Udp", "Icmp", "Esp", "Ah"]),
    _IPS,
    _IPS,
    st.sampled_from([22, 80, 443, 1500, 5000]),
    st.sampled_from([22, 80, 443, 1500, 60000]),
)
def test_nsg_verdict_agrees_with_a_brute_force_reference(
    rules, direction, protocol, src, dst, dport, sport
):
    ports = (None, None) if protocol in ("Icmp", "Esp", "Ah") else (sport, dport)
    packet = Packet5Tuple(protocol, IPv4Address(src), IPv4Address(dst), *ports)
    verdict = evaluate_nsg(Nsg("n", rules), direction, packet, _SCOPE)
    assert (verdict.access, verdict.rule_name) == reference_verdict(rules, direction, packet)
