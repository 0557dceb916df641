"""Azure Firewall as the hub's forwarding element (azure-facts N11): the address Azure gives
it, its network rules (default deny, priority order, first match, Any and ports), stateful
replies, the asymmetric-routing trap of N11.6, and its capacity and single-flow cap in a run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.catalogue.firewalls import FIREWALL_SPECS, capacity_mbps
from fabric.control.firewall import evaluate
from fabric.control.forwarding import resolve
from fabric.control.nsg import Packet5Tuple
from fabric.control.plane import ControlPlane
from fabric.model import Fabric, FirewallNetworkRule, FirewallRuleCollection, Route
from fabric.model.records import Firewall
from fabric.sim.runs import simulate
from fabric.watcher import connectivity

ALLOW_WEB = FirewallRuleCollection(
    "spokes",
    200,
    "Allow",
    (FirewallNetworkRule("web", ("TCP",), ("10.0.0.0/8",), ("*",), ("443",)),),
)


def hub_and_spokes(
    collections=(ALLOW_WEB,),
    *,
    udr_in=("spoke1", "spoke2"),
    tier="Standard",
    private_ip=None,
    direct=False,
) -> Fabric:
    """A hub with an Azure Firewall and two spokes; each spoke in ``udr_in`` sends the other
    spoke's prefix to the firewall (N11.6: both need it)."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "AzureFirewallSubnet", "10.0.1.0/26")
    fabric.firewall(
        "fw",
        "hub",
        sku_tier=tier,
        private_ip=private_ip,
        network_rule_collections=collections,
    )
    for octet, name, other in ((1, "spoke1", 2), (2, "spoke2", 1)):
        table = None
        if name in udr_in:
            table = f"{name}-rt"
            fabric.route_table(
                table, [Route("to-other", f"10.{other}.0.0/16", "VirtualAppliance", "10.0.1.4")]
            )
        fabric.vnet(name, "westeurope", f"10.{octet}.0.0/16")
        fabric.subnet(name, "app", f"10.{octet}.0.0/24", route_table=table)
        fabric.host(name, f"vm{octet}", "app", f"10.{octet}.0.4", bandwidth_mbps=8000)
        fabric.peer("hub", name, allow_forwarded_traffic=True)
    if direct:  # the spokes also peered with each other: a path around the firewall
        fabric.peer("spoke1", "spoke2")
    return fabric


def trace(fabric: Fabric, protocol: str = "Tcp", port: int | None = 443):
    return connectivity(ControlPlane(fabric), "vm1", "vm2", protocol=protocol, port=port)


def test_spoke_to_spoke_through_the_firewall_at_its_derived_address():
    result = trace(hub_and_spokes())
    assert result.reachable, result.reason
    hop = next(h for h in result.hops if h.type == "AzureFirewall")
    assert hop.name == "fw"
    assert hop.address == "10.0.1.4"  # the first usable address, derived (N11.5)
    assert "derived" in hop.detail
    assert "spokes/web" in hop.detail


def test_a_stated_private_ip_is_used_and_others_do_not_match():
    result = trace(hub_and_spokes(private_ip="10.0.1.10"))
    assert not result.reachable  # the UDR names .4, where nothing listens
    assert "NextHopApplianceNotFound" in result.reason


def test_default_deny_when_no_rule_matches():
    result = trace(hub_and_spokes(), port=22)
    assert not result.reachable
    assert result.reason.startswith("DeniedByFirewall")
    assert "default deny" in result.reason


def test_the_lower_priority_number_decides_and_the_first_match_wins():
    deny = FirewallRuleCollection(
        "block", 100, "Deny", (FirewallNetworkRule("all", ("Any",), ("*",), ("*",), ("*",)),)
    )
    result = trace(hub_and_spokes((ALLOW_WEB, deny)))
    assert "block/all" in result.reason


def packet(protocol: str, port: int | None = None) -> Packet5Tuple:
    from ipaddress import ip_address

    return Packet5Tuple(protocol, ip_address("10.1.0.4"), ip_address("10.2.0.4"), 50000, port)


def firewall(*rules: FirewallNetworkRule) -> Firewall:
    return Firewall(
        "fw", "hub", network_rule_collections=(FirewallRuleCollection("c", 100, "Allow", rules),)
    )


def test_any_is_every_protocol_but_only_tcp_and_udp_with_explicit_ports():
    every = firewall(FirewallNetworkRule("r", ("Any",), ("*",), ("*",), ("*",)))
    ported = firewall(FirewallNetworkRule("r", ("Any",), ("*",), ("*",), ("53",)))
    assert evaluate(every, packet("Icmp")).allowed
    assert evaluate(every, packet("Esp")).allowed
    assert not evaluate(ported, packet("Icmp")).allowed
    assert evaluate(ported, packet("Udp", 53)).allowed
    assert evaluate(ported, packet("Tcp", 53)).allowed
    assert not evaluate(ported, packet("Tcp", 54)).allowed


def test_addresses_match_as_prefixes_single_addresses_and_ranges_only():
    def allowed(source: str) -> bool:
        rule = FirewallNetworkRule("r", ("Any",), (source,), ("*",), ("*",))
        return evaluate(firewall(rule), packet("Icmp")).allowed

    assert allowed("10.1.0.0/24")
    assert allowed("10.1.0.4")
    assert allowed("10.1.0.1-10.1.0.9")
    assert not allowed("10.1.0.5-10.1.0.9")
    assert not allowed("VirtualNetwork")  # a tag is not evaluated here: it matches nothing
    assert not allowed("www.example.com")


@settings(max_examples=200)
@given(
    rules=st.lists(
        st.tuples(
            st.sampled_from(["Allow", "Deny"]),
            st.integers(100, 400),
            st.sampled_from(["TCP", "UDP", "ICMP", "Any"]),
            st.sampled_from(["*", "443", "53", "1-1000"]),
        ),
        min_size=0,
        max_size=6,
    ),
    protocol=st.sampled_from(["Tcp", "Udp", "Icmp"]),
    port=st.sampled_from([53, 443, 2000]),
)
def test_verdict_agrees_with_a_brute_force_reading_of_n11_7(rules, protocol, port):
    collections = tuple(
        FirewallRuleCollection(
            f"c{i}",
            priority,
            action,
            (FirewallNetworkRule("r", (proto,), ("*",), ("*",), (ports,)),),
        )
        for i, (action, priority, proto, ports) in enumerate(rules)
    )
    fw = Firewall("fw", "hub", network_rule_collections=collections)
    probe = packet(protocol, None if protocol == "Icmp" else port)

    def matches(proto: str, ports: str) -> bool:
        if proto == "Any":
            if ports != "*" and protocol not in ("Tcp", "Udp"):
                return False
        elif proto.lower() != protocol.lower():
            return False
        if protocol in ("Tcp", "Udp") and ports != "*":
            low, _, high = ports.partition("-")
            return int(low) <= port <= int(high or low)
        return True

    expected = False  # default deny
    for collection in sorted(collections, key=lambda c: c.priority):
        rule = collection.rules[0]
        if matches(rule.protocols[0], rule.destination_ports[0]):
            expected = collection.action == "Allow"
            break
    assert evaluate(fw, probe).allowed is expected


def test_unknown_rules_are_assumed_to_allow_and_the_trace_says_so():
    result = trace(hub_and_spokes(None))
    assert result.reachable
    hop = next(h for h in result.hops if h.type == "AzureFirewall")
    assert "assumed to allow" in hop.detail


def test_a_reply_with_no_way_back_breaks_tcp():
    result = trace(hub_and_spokes(udr_in=("spoke1",)))  # spoke2 has no route to spoke1
    assert not result.reachable
    assert result.reason.startswith("ReturnPathBroken")
    assert "10.2.0.4 to 10.1.0.4" in result.reason


def test_the_reply_bypassing_the_firewall_breaks_tcp_but_not_icmp():
    fabric = hub_and_spokes(udr_in=("spoke1",), direct=True)  # spoke2 replies over peering
    result = trace(fabric)
    assert not result.reachable
    assert result.reason.startswith("AsymmetricRoutingThroughFirewall")
    assert "10.0.1.4" in result.reason
    icmp = FirewallRuleCollection(
        "ping", 300, "Allow", (FirewallNetworkRule("icmp", ("ICMP",), ("*",), ("*",), ("*",)),)
    )
    fabric = hub_and_spokes((ALLOW_WEB, icmp), udr_in=("spoke1",), direct=True)
    assert trace(fabric, "Icmp", None).reachable


def test_the_reply_of_an_allowed_flow_passes_without_rules():
    plane = ControlPlane(hub_and_spokes())
    back = resolve(plane, "vm2", "vm1", "Tcp", 50000, source_port=443, established=True)
    assert back.reachable
    assert back.firewalls == ("fw",)


def test_capacity_is_out_of_the_box_unless_scaled():
    assert capacity_mbps("Standard") == 3000  # N11.2
    assert capacity_mbps("Premium") == 18000
    assert capacity_mbps("Basic") == 250
    assert capacity_mbps("Standard", 50_000) == 30_000  # at most the ceiling (N11.1)
    assert FIREWALL_SPECS["Standard"].single_flow_mbps == 1500


def test_one_tcp_flow_is_held_to_the_single_flow_cap():
    flow = {
        "name": "bulk",
        "src": "vm1",
        "dst": "vm2",
        "protocol": "Tcp",
        "pattern": "tcp",
        "destination_port": 443,
        "duration_s": 0.3,
    }
    result = simulate(hub_and_spokes(), [flow], seed=1)
    mbps = result.flow("bulk").steady_mbps
    assert 1200 < mbps <= 1500  # Standard: "up to 1.5 Gbps" per connection (N11.1)
    assert any(e.name == "firewall/fw" and e.kind == "Firewall" for e in result.elements)


def test_open_loop_flows_share_the_firewall_capacity():
    flows = [
        {
            "name": f"f{i}",
            "src": "vm1",
            "dst": "vm2",
            "protocol": "Udp",
            "destination_port": 443,
            "source_port": 40000 + i,
            "rate_mbps": 1400,
            "duration_s": 0.05,
        }
        for i in range(3)
    ]
    rules = FirewallRuleCollection(
        "udp", 100, "Allow", (FirewallNetworkRule("u", ("UDP",), ("*",), ("*",), ("*",)),)
    )
    result = simulate(hub_and_spokes((rules,), tier="Basic"), flows, seed=1)
    # Together, over the span of all their deliveries (each flow's own rate is measured over
    # its own span, so those do not add up to a shared figure).
    first = min(int(f.delivered_at_ns.min()) for f in result.flows)
    last = max(int(f.delivered_at_ns.max()) for f in result.flows)
    payload_bits = 8 * sum(int(f.delivered_bytes.sum()) for f in result.flows)
    total = payload_bits / ((last - first) / 1e9) / 1e6
    assert total <= 250 * 1.01  # Basic: 250 Mbps, no autoscaling (N11.1, N11.2)
    assert total > 200


def test_a_denied_flow_is_dropped_with_the_firewall_code_in_a_run():
    flow = {
        "name": "ssh",
        "src": "vm1",
        "dst": "vm2",
        "protocol": "Udp",
        "destination_port": 22,
        "rate_mbps": 10,
        "duration_s": 0.01,
    }
    result = simulate(hub_and_spokes(), [flow], seed=1)
    assert set(result.flow("ssh").drop_reasons) == {"DeniedByFirewall"}


@pytest.mark.parametrize("tier", ["Basic", "Standard", "Premium"])
def test_every_tier_has_published_numbers(tier):
    spec = FIREWALL_SPECS[tier]
    assert spec.initial_mbps <= spec.ceiling_mbps
    assert spec.single_flow_mbps <= spec.ceiling_mbps


def codes(fabric: Fabric) -> set[str]:
    from fabric.checks import validate

    return {f.code for f in validate(fabric)}


def test_validation_of_firewalls():
    assert not {c for c in codes(hub_and_spokes()) if "Firewall" in c}
    assert "FirewallRulesUnknown" in codes(hub_and_spokes(None))
    assert "FirewallDeniesEverything" in codes(hub_and_spokes(()))
    assert "FirewallAddressOutsideSubnet" in codes(hub_and_spokes(private_ip="10.0.9.4"))
    bad = FirewallRuleCollection("x", 99, "Allow", ALLOW_WEB.rules)
    assert "InvalidFirewallRuleCollectionPriority" in codes(hub_and_spokes((bad,)))
    fabric = hub_and_spokes()
    fabric.vnet("lonely", "westeurope", "10.9.0.0/16")
    fabric.firewall("fw2", "lonely")
    assert "AzureFirewallSubnetMissing" in codes(fabric)
    fabric = hub_and_spokes()
    fabric.firewall("fw2", "hub")
    assert "TooManyFirewallsInVnet" in codes(fabric)


def test_an_intent_through_the_firewall_holds_and_ssh_is_refused(tmp_path):
    from fabric.study.intents import Checker, parse_intents

    intents = parse_intents(
        {
            "intents": [
                {
                    "name": "via-fw",
                    "from": "spoke1",
                    "to": "spoke2",
                    "protocol": "Tcp",
                    "port": 443,
                    "expect": "reachable",
                    "through": ["fw"],
                },
                {
                    "name": "no-ssh",
                    "from": "spoke1",
                    "to": "spoke2",
                    "protocol": "Tcp",
                    "port": 22,
                    "expect": "unreachable",
                },
            ]
        }
    )
    checker = Checker(ControlPlane(hub_and_spokes()))
    assert [checker.check(i).holds for i in intents] == [True, True]
    bypass = Checker(ControlPlane(hub_and_spokes(udr_in=("spoke1",), direct=True)))
    result = bypass.check(intents[0])
    assert not result.holds
    assert result.counterexample.code == "AsymmetricRoutingThroughFirewall"


def test_a_firewall_in_another_member_of_a_connected_group_is_reached_through_it():
    from pathlib import Path

    from fabric.io import load_topology

    data = Path(__file__).parent / "data" / "firewall_in_connected_group.yaml"
    plane = ControlPlane(load_topology(data).fabric)
    result = connectivity(plane, "va", "vc", protocol="Udp", port=53)
    assert result.reachable, result.reason
    assert [h.type for h in result.hops][1:4] == [
        "ConnectedGroup",
        "AzureFirewall",
        "ConnectedGroup",
    ]


def test_both_engines_agree_through_a_firewall():
    import json

    rules = FirewallRuleCollection(
        "udp", 100, "Allow", (FirewallNetworkRule("u", ("UDP",), ("*",), ("*",), ("*",)),)
    )
    flows = [
        {
            "name": f"f{i}",
            "src": "vm1",
            "dst": "vm2",
            "protocol": "Udp",
            "destination_port": 443,
            "source_port": 40000 + i,
            "rate_mbps": 200,
            "pattern": "poisson",
            "duration_s": 0.02,
        }
        for i in range(3)
    ]
    fabric = hub_and_spokes((rules,), tier="Basic")  # 250 Mbps: the firewall queue fills
    events = simulate(fabric, flows, seed=3, engine="events")
    batch = simulate(fabric, flows, seed=3, engine="batch")
    assert batch.engine == "batch"
    assert json.dumps(events.to_json()) == json.dumps(batch.to_json())
    assert any(f.drop_reasons for f in events.flows)
