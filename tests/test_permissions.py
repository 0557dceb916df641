"""Peering across subscriptions and tenants (§2.9, N7): a link needs
``Microsoft.Network/virtualNetworks/peer/action`` on the remote VNet; without it Azure refuses
the link (LinkedAuthorizationFailed), which is then absent, not Connected."""

from __future__ import annotations

import pytest

from fabric.checks import validate
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.model import Fabric, Peering
from fabric.watcher import connectivity

PEER_ACTION = "Microsoft.Network/virtualNetworks/peer/action"


def two_vnets(a: dict, b: dict) -> Fabric:
    net = Fabric()
    for name, prefix, where in (("a", "10.1.0.0/16", a), ("b", "10.2.0.0/16", b)):
        net.vnet(name, "westeurope", prefix, **where)
        net.subnet(name, "app", prefix.replace("0.0/16", "0.0/24"))
        net.host(name, f"{name}-vm", "app", prefix.replace("0.0/16", "0.4"))
    net.peer("a", "b")
    return net


def refused(net: Fabric) -> list:
    return [f for f in validate(net) if f.code == "LinkedAuthorizationFailed"]


def connected(net: Fabric) -> bool:
    plane = ControlPlane(net)
    return connectivity(plane, "10.1.0.4", "10.2.0.4").connection_status == "Reachable"


CROSS_SUBSCRIPTION = ({"subscription": "sub-a"}, {"subscription": "sub-b"})
CROSS_TENANT = (
    {"subscription": "sub-a", "tenant": "contoso"},
    {"subscription": "sub-b", "tenant": "fabrikam"},
)


@pytest.mark.parametrize("where", [CROSS_SUBSCRIPTION, CROSS_TENANT])
def test_without_peer_action_the_link_is_refused_naming_the_action_and_scope(where):
    net = two_vnets(*where)
    findings = refused(net)
    assert len(findings) == 2  # each side's link needs peer/action on the other VNet
    a_to_b = next(f for f in findings if "peering/a/a-to-b" in f.resources)
    assert f"'{PEER_ACTION}'" in a_to_b.message
    assert "'/subscriptions/sub-b/providers/Microsoft.Network/virtualNetworks/b'" in (
        a_to_b.message
    )
    assert a_to_b.severity == "Error"
    plane = ControlPlane(net)
    link = net.peerings[("a", "a-to-b")]
    assert plane.peerings.state(link) == "Absent"
    assert plane.peerings.links == []
    trace = connectivity(plane, "10.1.0.4", "10.2.0.4")
    assert trace.code == "LinkedAuthorizationFailed"
    assert PEER_ACTION in trace.reason


def test_within_one_subscription_no_permission_is_needed():
    net = two_vnets({"subscription": "s"}, {"subscription": "s"})
    assert refused(net) == []
    assert connected(net)
    assert connected(two_vnets({}, {}))


def test_network_contributor_on_each_remote_vnet_lets_both_links_be_created():
    net = two_vnets(*CROSS_TENANT)
    net.permission("contoso-on-b", "contoso", "b")  # Network Contributor by default (§2.9)
    net.permission("fabrikam-on-a", "fabrikam", "a", role="Network Contributor")
    assert refused(net) == []
    assert connected(net)


def test_one_side_granted_leaves_the_other_link_refused_and_the_peering_initiated():
    net = two_vnets(*CROSS_SUBSCRIPTION)
    # peer/action only: a's admins may link a->b, but cannot write b's link back to a
    net.permission("a-on-b", "sub-a", "/subscriptions/sub-b", actions=[PEER_ACTION])
    findings = refused(net)
    assert [f.resources[0] for f in findings] == ["peering/b/b-to-a"]
    plane = ControlPlane(net)
    assert plane.peerings.state(net.peerings[("a", "a-to-b")]) == "Initiated"
    assert not connected(net)


def test_single_admin_a_guest_with_rights_on_the_other_vnet_creates_both_links():
    """N7: a tenant-A user, guest in tenant B with Network Contributor there, creates both."""
    net = two_vnets(*CROSS_TENANT)
    net.permission("contoso-guest-on-b", "contoso", "b")
    assert refused(net) == []
    assert connected(net)


@pytest.mark.parametrize(
    ("actions", "allowed"),
    [
        ((PEER_ACTION,), True),
        (("Microsoft.Network/virtualNetworks/*",), True),
        (("Microsoft.Network/virtualNetworks/read",), False),
    ],
)
def test_a_custom_role_needs_the_peer_action(actions, allowed):
    net = two_vnets(*CROSS_SUBSCRIPTION)
    net.permission("a-on-b", "sub-a", "b", actions=actions)
    net.permission("b-on-a", "sub-b", "a", actions=actions)
    assert (refused(net) == []) is allowed


def test_an_unknown_role_holds_nothing_and_says_so():
    net = two_vnets(*CROSS_SUBSCRIPTION)
    net.permission("a-on-b", "sub-a", "b", role="Reader")
    codes = [f.code for f in validate(net)]
    assert "RoleNotModelled" in codes
    assert "LinkedAuthorizationFailed" in codes


def test_a_link_azure_reported_exists_whatever_the_permissions():
    net = Fabric()
    net.vnet("a", "westeurope", "10.1.0.0/16", subscription="sub-a")
    net.vnet("b", "westeurope", "10.2.0.0/16", subscription="sub-b")
    for vnet, remote in (("a", "b"), ("b", "a")):
        net.add_peering(Peering(f"{vnet}-to-{remote}", vnet, remote, peering_state="Connected"))
    assert refused(net) == []


def test_permissions_load_from_yaml_with_references_checked(tmp_path):
    text = """
vnets:
  - {name: a, region: westeurope, address_prefixes: [10.1.0.0/16], subscription: sub-a,
     tenant: contoso}
  - {name: b, region: westeurope, address_prefixes: [10.2.0.0/16], subscription: sub-b,
     tenant: fabrikam}
peerings:
  - {name: a-to-b, from: a, to: b}
  - {name: b-to-a, from: b, to: a}
permissions:
  - {name: contoso-on-b, principal: contoso, scope: b, role: Network Contributor}
  - {name: fabrikam-on-a, principal: fabrikam, scope: /subscriptions/sub-a,
     actions: [Microsoft.Network/virtualNetworks/peer/action]}
"""
    path = tmp_path / "t.yaml"
    path.write_text(text)
    net = load_topology(str(path)).fabric
    assert refused(net) == []
    path.write_text(text.replace("scope: b,", "scope: bb,"))
    with pytest.raises(Exception, match="VNet 'bb' is not declared"):
        load_topology(str(path))
