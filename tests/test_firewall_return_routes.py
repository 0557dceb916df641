"""validate warns AsymmetricRoutingThroughFirewall where a subnet reaches another through an
Azure Firewall and the other does not route the replies back through it (N11.6, consequence 1:
"both spokes need a UDR"), in agreement with what connectivity finds on the same pair."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.control.forwarding import FirewallHop
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.model import Fabric, FirewallNetworkRule, FirewallRuleCollection, Route
from fabric.scenarios import path
from fabric.watcher import connectivity
from tests.strategies import fabrics
from tests.test_firewall import hub_and_spokes

CODE = "AsymmetricRoutingThroughFirewall"
BROKEN = {CODE, "ReturnPathBroken"}
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def warned(fabric: Fabric) -> list:
    return [f for f in validate(fabric) if f.code == CODE]


def pairs(fabric: Fabric) -> set[tuple[str, str, str]]:
    """(source subnet, destination subnet, firewall) of every warning, from its resources:
    the destination's subnet, the firewall, the source's UDR, then each source's subnet."""
    found = set()
    for finding in warned(fabric):
        destination, firewall, _, *sources = finding.resources
        found |= {(source, destination, firewall) for source in sources}
    return found


def subnet(vnet: str, name: str = "app") -> str:
    return f"vnet/{vnet}/subnet/{name}"


def test_one_spoke_without_the_return_udr_is_warned_naming_both_subnets_and_the_route():
    fabric = hub_and_spokes(udr_in=("spoke1",))  # spoke2 has no route back to spoke1
    (finding,) = warned(fabric)
    assert finding.severity == "Warning"
    assert finding.message.startswith("spoke1/app reaches spoke2/app (10.2.0.0/24)")
    assert "firewall fw (10.0.1.4" in finding.message  # derived, N11.5
    assert "spoke1-rt/to-other" in finding.message
    assert "a route 10.1.0.0/24 (or 0.0.0.0/0) -> VirtualAppliance 10.0.1.4" in finding.message
    assert "N11.6" in finding.message
    assert finding.resources == (
        subnet("spoke2"),
        "firewall/fw",
        "route_table/spoke1-rt/route/to-other",
        subnet("spoke1"),
    )
    # connectivity says the same of the pair
    trace = connectivity(ControlPlane(fabric), "vm1", "vm2", protocol="Tcp", port=443)
    assert trace.code == "ReturnPathBroken"


def test_a_reply_around_the_firewall_over_a_direct_peering_is_warned():
    fabric = hub_and_spokes(udr_in=("spoke1",), direct=True)
    (finding,) = warned(fabric)
    assert "go by VNetPeering" in finding.message
    assert "around the firewall" in finding.message
    trace = connectivity(ControlPlane(fabric), "vm1", "vm2", protocol="Tcp", port=443)
    assert trace.code == CODE


def test_both_spokes_through_the_firewall_is_quiet():
    assert not warned(hub_and_spokes())
    assert not warned(load_topology(path("hub_spoke_firewall")).fabric)


def test_a_udr_to_an_appliance_that_is_not_a_firewall_is_not_this_check():
    fabric = hub_and_spokes(udr_in=("spoke1",), private_ip="10.0.1.10")  # the UDR names .4
    assert not warned(fabric)


def test_a_stated_private_ip_is_the_firewalls_address():
    fabric = hub_and_spokes(udr_in=("spoke1",), private_ip="10.0.1.4")
    (finding,) = warned(fabric)
    assert "firewall fw (10.0.1.4" in finding.message


def test_a_return_udr_to_another_firewall_is_still_asymmetric():
    fabric = hub_and_spokes()
    fabric.vnet("hub2", "westeurope", "10.9.0.0/16")
    fabric.subnet("hub2", "AzureFirewallSubnet", "10.9.1.0/26")
    fabric.firewall(
        "fw2", "hub2", network_rule_collections=fabric.firewalls["fw"].network_rule_collections
    )
    fabric.peer("hub2", "spoke1", allow_forwarded_traffic=True)
    fabric.peer("hub2", "spoke2", allow_forwarded_traffic=True)
    table = fabric.route_tables["spoke2-rt"]
    fabric.route_tables["spoke2-rt"] = attrs.evolve(
        table, routes=(Route("to-other", "10.1.0.0/16", "VirtualAppliance", "10.9.1.4"),)
    )
    assert pairs(fabric) == {
        (subnet("spoke1"), subnet("spoke2"), "firewall/fw"),  # its reply goes through fw2
        (subnet("spoke2"), subnet("spoke1"), "firewall/fw2"),  # and the other way round
    }


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside the repo")
def test_the_mspnp_reference_template_is_clean_until_a_spoke_loses_its_route_table():
    document = load_topology(CORPUS / "arm" / "mspnp-azure-hub-spoke" / "azuredeploy.json")
    fabric = document.fabric
    assert fabric.firewalls
    assert not warned(fabric)
    spoke = "vnet-westeurope-spoke-two"
    vnet = fabric.vnets[spoke]
    fabric.vnets[spoke] = attrs.evolve(
        vnet, subnets=tuple(attrs.evolve(s, route_table=None) for s in vnet.subnets)
    )
    one = "vnet-westeurope-spoke-one"
    assert {(source, destination) for source, destination, _ in pairs(fabric)} == {
        (subnet(one, a), subnet(spoke, b))
        for a in ("snet-resources", "snet-privatelinkendpoints")
        for b in ("snet-resources", "snet-privatelinkendpoints")
    }


# -- agreement with connectivity ---------------------------------------------------------------

ALLOW = FirewallRuleCollection(
    "all", 200, "Allow", (FirewallNetworkRule("all", ("Any",), ("*",), ("*",), ("*",)),)
)
CHOICES = [None, "0.0.0.0/0", "10.0.0.0/8", "others"]


def design(udrs: list[str | None], direct: list[bool]) -> Fabric:
    """A hub with an Azure Firewall and three spokes; spoke i sends ``udrs[i]`` (a prefix, or
    each other spoke's /16) to the firewall; ``direct`` peers spoke pairs with each other."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "AzureFirewallSubnet", "10.0.1.0/26")
    fabric.firewall("fw", "hub", network_rule_collections=(ALLOW,))
    for i, udr in enumerate(udrs, start=1):
        others = [f"10.{j}.0.0/16" for j in range(1, len(udrs) + 1) if j != i]
        prefixes = others if udr == "others" else [udr] if udr else []
        table = None
        if prefixes:
            table = f"rt{i}"
            routes = [
                Route(f"r{k}", p, "VirtualAppliance", "10.0.1.4") for k, p in enumerate(prefixes)
            ]
            fabric.route_table(table, routes)
        fabric.vnet(f"s{i}", "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(f"s{i}", "app", f"10.{i}.0.0/24", route_table=table)
        fabric.host(f"s{i}", f"vm{i}", "app", f"10.{i}.0.4")
        fabric.peer("hub", f"s{i}", allow_forwarded_traffic=True)
    pairs = [(1, 2), (1, 3), (2, 3)]
    for (a, b), peered in zip(pairs, direct, strict=False):
        if peered:
            fabric.peer(f"s{a}", f"s{b}", allow_forwarded_traffic=True)
    return fabric


@settings(max_examples=40, deadline=None)
@given(
    udrs=st.lists(st.sampled_from(CHOICES), min_size=3, max_size=3),
    direct=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_the_warning_agrees_with_connectivity_on_every_pair(udrs, direct):
    """Oracle: the connectivity trace of TCP from each VM to each other. Through the firewall
    one way and not back (AsymmetricRoutingThroughFirewall, ReturnPathBroken) is warned for
    that pair; a reply that meets the firewall the request did not is the reverse pair's."""
    fabric = design(udrs, direct)
    plane = ControlPlane(fabric)
    warned_pairs = {(a, b) for a, b, _ in pairs(fabric)}
    expected = set()
    for a in range(1, 4):
        for b in range(1, 4):
            if a == b:
                continue
            trace = connectivity(plane, f"vm{a}", f"vm{b}", protocol="Tcp", port=443)
            if trace.code not in BROKEN:
                continue
            forward = any(isinstance(s, FirewallHop) for s in trace.path.steps)
            if forward:
                expected.add((subnet(f"s{a}"), subnet(f"s{b}")))
            else:  # the reply meets the firewall: b sends a's prefix through it, and a not back
                assert (subnet(f"s{b}"), subnet(f"s{a}")) in warned_pairs
    assert expected <= warned_pairs
    for source, destination in warned_pairs:
        a, b = source.split("/")[1][1:], destination.split("/")[1][1:]
        trace = connectivity(plane, f"vm{a}", f"vm{b}", protocol="Tcp", port=443)
        assert trace.code in BROKEN, (source, destination, trace.reason)


@pytest.mark.parametrize("udrs", [[None, None, None], ["0.0.0.0/0"] * 3, ["others"] * 3])
def test_no_udr_or_udrs_everywhere_is_quiet(udrs):
    assert not warned(design(udrs, [True, False, False]))


@settings(max_examples=30, deadline=None)
@given(
    net=fabrics(max_vnets=4),
    hops=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from(["0.0.0.0/0", "10.0.0.0/8", "10.{o}.0.0/16", "not-a-prefix"]),
            st.sampled_from(["10.200.1.4", "10.200.1.10", "10.{o}.1.4", "bad-ip", "fd00::4"]),
        ),
        max_size=4,
    ),
    stated=st.sampled_from([None, "10.200.1.4", "10.200.9.9"]),
)
def test_validate_never_fails_on_firewall_udrs_of_any_shape(net, hops, stated):
    """Whatever the UDRs say (prefixes and next hops that parse or not, IPv6, a firewall IP
    outside its subnet), the check gives findings, never an exception."""
    net.vnet("fwhub", "eastus", "10.200.0.0/16")
    net.subnet("fwhub", "AzureFirewallSubnet", "10.200.1.0/26")
    net.firewall("fw", "fwhub", private_ip=stated)
    names = [name for name in net.vnets if name != "fwhub"]
    for name in names:
        net.peer("fwhub", name, allow_forwarded_traffic=True)
    for i, (index, prefix, hop) in enumerate(hops):
        vnet = net.vnets[names[index % len(names)]]
        octet = vnet.address_prefixes[0].split(".")[1]
        route = Route("r", prefix.format(o=octet), "VirtualAppliance", hop.format(o=octet))
        net.route_table(f"fw-rt{i}", [route])
        first = vnet.subnets[0]
        net.vnets[vnet.name] = attrs.evolve(
            vnet, subnets=(attrs.evolve(first, route_table=f"fw-rt{i}"), *vnet.subnets[1:])
        )
    findings = validate(net)
    assert all(f.code for f in findings)
