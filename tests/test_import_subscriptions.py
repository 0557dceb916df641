"""The subscription of an imported VNet comes from the resource IDs that name it
(``/subscriptions/<id>/...``): az/REST bodies carry full IDs; an ARM template's own resources
have none (the deployment's subscription is known only to Azure), but a ``resourceId()`` with a
subscription or a literal ID names that of a VNet it references. Tenants are in no resource ID.
And the permission checks (§2.9) stay quiet about VNets whose subscription is not known."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric.checks import validate
from fabric.io import load_topology
from fabric.io.arm import load_arm
from fabric.io.rest import load_rest
from fabric.model import Fabric

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PEER = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"


def vnet_id(subscription: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.Network/"
        f"virtualNetworks/{name}"
    )


def rest_vnet(subscription: str, name: str, prefix: str, *peerings: dict) -> dict:
    return {
        "id": vnet_id(subscription, name),
        "name": name,
        "type": "Microsoft.Network/virtualNetworks",
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": [prefix]},
            "subnets": [{"name": "app", "properties": {"addressPrefix": prefix}}],
            "virtualNetworkPeerings": list(peerings),
        },
    }


def rest_peering(name: str, remote_id: str, state: str | None = "Connected") -> dict:
    properties = {"remoteVirtualNetwork": {"id": remote_id}, "allowVirtualNetworkAccess": True}
    if state is not None:
        properties["peeringState"] = state
    return {"name": name, "properties": properties}


def refused(fabric: Fabric) -> list:
    return [f for f in validate(fabric) if f.code == "LinkedAuthorizationFailed"]


# -- az/REST ----------------------------------------------------------------------------------


def test_rest_vnets_take_the_subscription_of_their_ids_and_no_tenant():
    a = rest_vnet("1111", "a", "10.1.0.0/16", rest_peering("a-to-b", vnet_id("2222", "b")))
    b = rest_vnet("2222", "b", "10.2.0.0/16", rest_peering("b-to-a", vnet_id("1111", "a")))
    fabric, findings = load_rest([a, b], "rest.json")
    assert {n: v.subscription for n, v in fabric.vnets.items()} == {"a": "1111", "b": "2222"}
    assert all(v.tenant is None for v in fabric.vnets.values())
    assert not findings
    assert not refused(fabric)  # Azure reported both links: they exist (§2.9)


@pytest.mark.parametrize(
    "name",
    [
        "azcli-vnet-get-with-gatewaysubnet.json",  # the VNet's own ID
        "azcli-vnet-gateway-basic-get.json",  # the gateway's subnet ID
        "azcli-vnet-peering-initiated.json",  # the peering's own ID
    ],
)
@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside the repo")
def test_the_rest_corpus_keeps_the_subscription_azure_printed(name):
    document = load_topology(CORPUS / "rest" / name)
    (vnet,) = document.fabric.vnets.values()
    assert vnet.subscription == "00000000-0000-0000-0000-000000000000"
    assert vnet.tenant is None


def test_a_remote_id_names_the_subscription_of_a_vnet_known_only_by_reference():
    a = rest_vnet("1111", "a", "10.1.0.0/16", rest_peering("a-to-x", vnet_id("3333", "x")))
    fabric, _ = load_rest([a], "rest.json")
    assert fabric.vnets["x"].external
    assert fabric.vnets["x"].subscription == "3333"


def test_a_reference_that_disagrees_with_a_vnets_own_id_is_a_warning():
    a = rest_vnet("1111", "a", "10.1.0.0/16", rest_peering("a-to-b", vnet_id("9999", "b")))
    b = rest_vnet("2222", "b", "10.2.0.0/16", rest_peering("b-to-a", vnet_id("1111", "a")))
    fabric, findings = load_rest([a, b], "rest.json")
    assert fabric.vnets["b"].subscription == "2222"  # its own ID wins
    (finding,) = findings
    assert finding.code == "VnetSubscriptionsDiffer"
    assert finding.severity == "Warning"
    assert "9999" in finding.message
    assert "2222" in finding.message


def test_only_some_vnets_with_a_subscription_raise_no_false_refusal():
    # a link without a reported state is checked (§2.9); a VNet whose body has no ID (and that
    # no ID names) is of unknown subscription, under everyone's administrators
    # (permissions.same_administrators), so its link to a VNet in 1111 is not refused
    a = rest_vnet("1111", "a", "10.1.0.0/16")
    b = rest_vnet("2222", "b", "10.2.0.0/16", rest_peering("b-to-a", vnet_id("1111", "a"), None))
    anonymous = {key: value for key, value in b.items() if key != "id"}
    fabric, _ = load_rest([a, anonymous], "rest.json")
    assert fabric.vnets["a"].subscription == "1111"
    assert fabric.vnets["b"].subscription is None
    assert not refused(fabric)
    # ... while two known subscriptions without a grant are refused, as before
    fabric, _ = load_rest([a, b], "rest.json")
    assert [f.resources[0] for f in refused(fabric)] == ["peering/b/b-to-a"]


# -- ARM templates ------------------------------------------------------------------------------


def template(*resources: dict) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources)}


def arm_vnet(name: str, prefix: str) -> dict:
    return {
        "type": "Microsoft.Network/virtualNetworks",
        "apiVersion": "2023-09-01",
        "name": name,
        "location": "westeurope",
        "properties": {"addressSpace": {"addressPrefixes": [prefix]}},
    }


def arm_peering(vnet: str, name: str, remote: str) -> dict:
    return {
        "type": PEER,
        "apiVersion": "2023-09-01",
        "name": f"{vnet}/{name}",
        "properties": {"remoteVirtualNetwork": {"id": remote}},
    }


@pytest.mark.parametrize(
    ("remote", "subscription"),
    [
        ("[resourceId('4444', 'rg-x', 'Microsoft.Network/virtualNetworks', 'x')]", "4444"),
        (vnet_id("5555", "x"), "5555"),  # a literal ID
        ("[resourceId('rg-x', 'Microsoft.Network/virtualNetworks', 'x')]", None),
        ("[resourceId('Microsoft.Network/virtualNetworks', 'x')]", None),
    ],
)
def test_arm_names_a_subscription_only_where_the_template_states_one(remote, subscription):
    body = template(arm_vnet("a", "10.1.0.0/16"), arm_peering("a", "a-to-x", remote))
    fabric, _ = load_arm(body, None, "t.json")
    assert fabric.vnets["x"].external
    assert fabric.vnets["x"].subscription == subscription
    assert fabric.vnets["a"].subscription is None  # the deployment's: only Azure knows it
    assert not refused(fabric)


def test_arm_vnets_the_template_deploys_are_under_its_one_principal():
    # both VNets deployed by one template (one principal holds every action on both), the
    # peering naming one by a literal ID in another subscription: no refusal (§2.9)
    body = template(
        arm_vnet("a", "10.1.0.0/16"),
        arm_vnet("b", "10.2.0.0/16"),
        arm_peering("a", "a-to-b", vnet_id("7777", "b")),
        arm_peering("b", "b-to-a", "[resourceId('Microsoft.Network/virtualNetworks', 'a')]"),
    )
    fabric, _ = load_arm(body, None, "t.json")
    assert fabric.vnets["b"].subscription is None
    assert not refused(fabric)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside the repo")
def test_alz_the_hub_known_by_reference_is_in_the_hub_resource_ids_subscription():
    values = {
        "vNetRgName": "rg-spoke",
        "vNetName": "vnet-spoke",
        "vNetLocation": "westeurope",
        "vNetCidrRange": "10.20.0.0/16",
        "hubResourceId": vnet_id("1111", "vnet-hub"),
    }
    path = CORPUS / "arm" / "alz-spoke-vnet-peering" / "vnetPeering.json"
    document = load_topology(path, parameter_values=values)
    vnets = document.fabric.vnets
    assert vnets["vnet-hub"].subscription == "1111"  # named by hubResourceId
    assert vnets["vnet-spoke"].subscription is None  # the deployment's own
    assert not refused(document.fabric)
    assert [f.code for f in document.findings] == ["VnetNotInInput"]
