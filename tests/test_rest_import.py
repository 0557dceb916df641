"""az/REST JSON of the resources beyond VNets and peerings: site-to-site connections and their
local network gateways, Azure Firewall, ASGs, ExpressRoute gateways, Route Server, service
endpoints; list pages; the same resource read twice; and random input that may only ever give
findings or an InputError."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.io import InputError, load_topology
from fabric.io.rest import load_rest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers"


def rid(kind: str, name: str) -> str:
    """The resource ID of ``kind`` ("virtualHubs/ipConfigurations") named ``name`` ("rs/c")."""
    pairs = zip(kind.split("/"), name.split("/"), strict=True)
    return f"{SUB}/Microsoft.Network/" + "/".join(f"{t}/{n}" for t, n in pairs)


def resource(kind: str, name: str, properties: dict) -> dict:
    """A resource as az/REST prints it: the ID carries the parent's name."""
    return {
        "id": rid(kind, name),
        "name": name.rpartition("/")[2],
        "type": f"Microsoft.Network/{kind}",
        "location": "westus",
        "properties": {"provisioningState": "Succeeded", **properties},
    }


def subnet_ref(vnet: str, subnet: str) -> dict:
    return {"id": rid("virtualNetworks/subnets", f"{vnet}/{subnet}")}


def load(data) -> SimpleNamespace:
    fabric, findings = load_rest(data, "rest.json")
    return SimpleNamespace(fabric=fabric, findings=tuple(findings))


def vnet_body(name: str, prefix: str, subnets: dict[str, dict]) -> dict:
    return resource(
        "virtualNetworks",
        name,
        {
            "addressSpace": {"addressPrefixes": [prefix]},
            "subnets": [
                {"name": n, "id": subnet_ref(name, n)["id"], "properties": p}
                for n, p in subnets.items()
            ],
        },
    )


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "rest.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def codes(document) -> list[str]:
    return [f.code for f in document.findings]


# -- site-to-site ---------------------------------------------------------------------------------

GATEWAY = resource(
    "virtualNetworkGateways",
    "gw",
    {
        "gatewayType": "Vpn",
        "vpnType": "RouteBased",
        "enableBgp": False,
        "activeActive": False,
        "sku": {"name": "VpnGw2", "tier": "VpnGw2"},
        "ipConfigurations": [
            {"name": "c", "properties": {"subnet": subnet_ref("vnet", "GatewaySubnet")}}
        ],
        "bgpSettings": {"asn": 65515, "bgpPeeringAddress": "10.0.255.30"},
    },
)
SITE = resource(
    "localNetworkGateways",
    "branch",
    {
        "localNetworkAddressSpace": {"addressPrefixes": ["192.168.10.0/24", "192.168.20.0/24"]},
        "fqdn": "vpn.branch.example",
        "bgpSettings": {"asn": 65010, "bgpPeeringAddress": "192.168.10.254", "peerWeight": 5},
    },
)
CONNECTION = resource(
    "connections",
    "gw-to-branch",
    {
        "virtualNetworkGateway1": {"id": GATEWAY["id"]},
        "localNetworkGateway2": {"id": SITE["id"]},
        "connectionType": "IPsec",
        "connectionProtocol": "IKEv2",
        "routingWeight": 0,
        "dpdTimeoutSeconds": 30,
        "sharedKey": "Abc123",
        "enableBgp": True,
        "usePolicyBasedTrafficSelectors": False,
        "ipsecPolicies": [],
        "connectionStatus": "Connected",
    },
)
VNET = vnet_body("vnet", "10.0.0.0/16", {"GatewaySubnet": {"addressPrefix": "10.0.255.0/27"}})


def test_rest_site_to_site_connection_with_its_ends():
    document = load([VNET, GATEWAY, SITE, CONNECTION])
    fabric = document.fabric
    assert document.findings == ()
    site = fabric.local_network_gateways["branch"]
    assert site.address_prefixes == ("192.168.10.0/24", "192.168.20.0/24")
    assert (site.fqdn, site.gateway_ip_address) == ("vpn.branch.example", None)
    assert (site.bgp_settings.asn, site.bgp_settings.peer_weight) == (65010, 5)
    connection = fabric.connections["gw-to-branch"]
    assert (connection.connection_type, connection.to_gateway) == ("IPsec", "branch")
    assert (connection.enable_bgp, connection.dpd_timeout_seconds) == (True, 30)
    assert connection.connection_status == "Connected"


def test_a_connection_whose_site_is_not_in_the_input_is_left_out_with_a_finding():
    document = load([VNET, GATEWAY, CONNECTION])
    assert codes(document) == ["ConnectionEndNotInInput"]
    assert "'branch'" in document.findings[0].message


def test_connection_nat_rules_and_traffic_selectors_are_said_to_be_left_out():
    body = json.loads(json.dumps(CONNECTION))
    body["properties"]["ingressNatRules"] = [
        {"id": rid("virtualNetworkGateways/natRules", "gw/n1")}
    ]
    body["properties"]["trafficSelectorPolicies"] = [
        {"localAddressRanges": ["10.0.0.0/16"], "remoteAddressRanges": ["192.168.0.0/16"]}
    ]
    document = load([VNET, GATEWAY, SITE, body])
    (finding,) = document.findings
    assert "NAT rules" in finding.message
    assert "traffic selectors" in finding.message
    assert "gw-to-branch" in document.fabric.connections


def test_an_expressroute_connection_without_its_circuit_is_named_invalid():
    circuit = dict(
        CONNECTION, properties={**CONNECTION["properties"], "connectionType": "ExpressRoute"}
    )
    document = load([VNET, GATEWAY, circuit])
    assert codes(document) == ["ImportInvalidResource"]
    assert "peer (the circuit)" in document.findings[0].message


def test_expressroute_and_legacy_gateways_from_rest():
    er = json.loads(json.dumps(GATEWAY))
    er["properties"].update(gatewayType="ExpressRoute", sku={"name": "UltraPerformance"})
    er["properties"].pop("vpnType")
    fabric = load([VNET, er]).fabric
    assert (fabric.gateways["gw"].gateway_type, fabric.gateways["gw"].sku) == (
        "ExpressRoute",
        "UltraPerformance",
    )


# -- list pages and duplicates --------------------------------------------------------------------


def test_rest_values_written_as_strings_and_names_in_another_case():
    """The mapping is shared with ARM: 'false' is false, '100' is 100, AddressPrefix is
    addressPrefix; a boolean that is neither is an error, never truthiness."""
    vnet = vnet_body("a", "10.0.0.0/16", {"s": {"AddressPrefix": "10.0.1.0/24"}})
    peering = resource(
        "virtualNetworks/virtualNetworkPeerings",
        "a/to-b",
        {
            "RemoteVirtualNetwork": {"id": rid("virtualNetworks", "b")},
            "allowForwardedTraffic": "false",
            "allowGatewayTransit": "TRUE",
            "peeringState": "Connected",
        },
    )
    rule = resource(
        "networkSecurityGroups/securityRules",
        "nsg/r",
        {"priority": "100", "direction": "OUTBOUND", "access": "allow", "protocol": "UDP"},
    )
    document = load([vnet, peering, rule])
    assert [f.code for f in document.findings] == ["VnetNotInInput"]  # b: the peer
    fabric = document.fabric
    assert fabric.vnets["a"].subnet("s").address_prefix == "10.0.1.0/24"
    link = fabric.peerings[("a", "to-b")]
    assert (link.allow_forwarded_traffic, link.allow_gateway_transit) == (False, True)
    (security_rule,) = fabric.nsgs["nsg"].security_rules
    assert (security_rule.priority, security_rule.direction, security_rule.protocol) == (
        100,
        "Outbound",
        "Udp",
    )
    broken = json.loads(json.dumps(peering))
    broken["properties"]["allowForwardedTraffic"] = "no"
    document = load([vnet, broken])
    (finding,) = [f for f in document.findings if f.severity == "Error"]
    assert "allowForwardedTraffic must be true or false, got 'no'" in finding.message
    assert not document.fabric.peerings


def test_a_value_page_loads(tmp_path):
    page = {"value": [VNET, GATEWAY, SITE, CONNECTION], "nextLink": None}
    document = load_topology(write(tmp_path, page))
    assert document.source_format == "rest"
    assert set(document.fabric.connections) == {"gw-to-branch"}


def test_the_same_object_twice_is_read_once():
    document = load({"value": [VNET, VNET]})
    assert document.findings == ()
    assert list(document.fabric.vnets) == ["vnet"]


def test_two_vnets_of_one_name_with_different_contents_are_an_error():
    other = vnet_body("vnet", "10.9.0.0/16", {})
    other["id"] = other["id"].replace("/resourceGroups/rg/", "/resourceGroups/rg2/")
    document = load([VNET, other])
    (finding,) = document.findings
    assert (finding.code, finding.severity) == ("DuplicateResource", "Error")
    assert document.fabric.vnets["vnet"].address_prefixes == ("10.0.0.0/16",)


# -- firewall, ASGs, Route Server, endpoints ------------------------------------------------------

FIREWALL = resource(
    "azureFirewalls",
    "fw",
    {
        "sku": {"name": "AZFW_VNet", "tier": "Standard"},
        "threatIntelMode": "Alert",
        "ipConfigurations": [
            {
                "name": "c",
                "properties": {
                    "privateIPAddress": "10.0.1.4",
                    "subnet": subnet_ref("hub", "AzureFirewallSubnet"),
                },
            }
        ],
        "networkRuleCollections": [
            {
                "name": "c1",
                "properties": {
                    "priority": 100,
                    "action": {"type": "Deny"},
                    "rules": [
                        {
                            "name": "r",
                            "protocols": ["Any"],
                            "sourceAddresses": ["10.1.0.0/16"],
                            "destinationAddresses": ["10.2.0.0/16"],
                            "destinationPorts": ["*"],
                            "sourceIpGroups": [],
                        }
                    ],
                },
            }
        ],
        "natRuleCollections": [{"name": "dnat", "properties": {"priority": 100}}],
        "applicationRuleCollections": [],
    },
)
HUB = vnet_body("hub", "10.0.0.0/16", {"AzureFirewallSubnet": {"addressPrefix": "10.0.1.0/26"}})


def test_rest_firewall_keeps_its_reported_private_ip_and_classic_rules():
    document = load([HUB, FIREWALL])
    firewall = document.fabric.firewalls["fw"]
    assert (firewall.vnet, firewall.private_ip, firewall.firewall_policy) == (
        "hub",
        "10.0.1.4",
        None,
    )
    (collection,) = firewall.network_rule_collections
    assert (collection.action, collection.rules[0].protocols) == ("Deny", ("Any",))
    assert codes(document) == ["FirewallRulesNotModelled"]  # the DNAT collection


def test_rest_firewall_with_a_policy_not_in_the_input_has_unknown_rules():
    policy_firewall = json.loads(json.dumps(FIREWALL))
    policy_firewall["properties"]["firewallPolicy"] = {"id": rid("firewallPolicies", "central")}
    del policy_firewall["properties"]["networkRuleCollections"]
    document = load([HUB, policy_firewall])
    assert document.fabric.firewalls["fw"].network_rule_collections is None
    assert "FirewallRulesUnknown" in codes(document)


def test_rest_policy_that_lists_a_group_not_loaded_has_unknown_rules():
    policy = resource(
        "firewallPolicies",
        "central",
        {
            "ruleCollectionGroups": [
                {"id": rid("firewallPolicies/ruleCollectionGroups", "central/g1")}
            ]
        },
    )
    firewall = json.loads(json.dumps(FIREWALL))
    firewall["properties"]["firewallPolicy"] = {"id": policy["id"]}
    document = load([HUB, policy, firewall])
    assert document.fabric.firewalls["fw"].network_rule_collections is None
    group = resource(
        "firewallPolicies/ruleCollectionGroups",
        "central/g1",
        {"priority": 100, "ruleCollections": []},
    )
    loaded = load([HUB, policy, group, firewall])
    assert loaded.fabric.firewalls["fw"].network_rule_collections == ()


def test_rest_nic_asgs_and_rule_asgs_and_subnet_endpoints():
    vnet = vnet_body(
        "app",
        "10.0.0.0/16",
        {
            "db": {
                "addressPrefix": "10.0.1.0/24",
                "serviceEndpoints": [{"service": "Microsoft.Sql", "locations": ["westus"]}],
            }
        },
    )
    nic = resource(
        "networkInterfaces",
        "db-nic",
        {
            "virtualMachine": {"id": f"{SUB}/Microsoft.Compute/virtualMachines/db-vm"},
            "ipConfigurations": [
                {
                    "name": "ip",
                    "properties": {
                        "privateIPAddress": "10.0.1.10",
                        "subnet": subnet_ref("app", "db"),
                        "applicationSecurityGroups": [
                            {"id": rid("applicationSecurityGroups", "AsgDb")}
                        ],
                    },
                }
            ],
        },
    )
    nsg = resource(
        "networkSecurityGroups",
        "nsg",
        {
            "securityRules": [
                {
                    "name": "deny-db",
                    "properties": {
                        "priority": 120,
                        "direction": "Inbound",
                        "access": "Deny",
                        "protocol": "*",
                        "sourceAddressPrefix": "*",
                        "sourcePortRange": "*",
                        "destinationPortRange": "1433",
                        "destinationApplicationSecurityGroups": [
                            {"id": rid("applicationSecurityGroups", "AsgDb")}
                        ],
                    },
                }
            ]
        },
    )
    document = load([vnet, nic, nsg])
    fabric = document.fabric
    assert document.findings == ()
    (host,) = fabric.vnets["app"].hosts
    assert (host.ip, host.vm, host.application_security_groups) == (
        "10.0.1.10",
        "db-vm",
        ("AsgDb",),
    )
    (rule,) = fabric.nsgs["nsg"].security_rules
    assert rule.destination_application_security_groups == ("AsgDb",)
    assert set(fabric.application_security_groups) == {"AsgDb"}  # known by reference
    assert fabric.vnets["app"].subnet("db").service_endpoints == ("Microsoft.Sql",)


def test_rest_route_server_needs_its_ip_configuration_child():
    vnet = vnet_body("hub", "10.5.0.0/16", {"RouteServerSubnet": {"addressPrefix": "10.5.10.0/27"}})
    hub = resource(
        "virtualHubs",
        "rs",
        {
            "sku": "Standard",
            "virtualRouterAsn": 65515,
            "virtualRouterIps": ["10.5.10.4", "10.5.10.5"],
            "allowBranchToBranchTraffic": False,
            "ipConfigurations": [{"id": rid("virtualHubs/ipConfigurations", "rs/ipconfig1")}],
            "bgpConnections": [{"id": rid("virtualHubs/bgpConnections", "rs/nva")}],
        },
    )
    document = load([vnet, hub])
    assert document.fabric.route_servers == {}
    assert "RouteServerSubnet" in document.findings[0].message
    config = resource(
        "virtualHubs/ipConfigurations",
        "rs/ipconfig1",
        {"subnet": subnet_ref("hub", "RouteServerSubnet")},
    )
    peer = resource(
        "virtualHubs/bgpConnections",
        "rs/nva",
        {"peerIp": "10.5.1.4", "peerAsn": 65001, "connectionState": "Connected"},
    )
    document = load([vnet, hub, config, peer])
    server = document.fabric.route_servers["rs"]
    assert (server.vnet, [p.peer_asn for p in server.bgp_connections]) == ("hub", [65001])


# -- random input ---------------------------------------------------------------------------------

KINDS = [
    "virtualNetworks",
    "virtualNetworks/subnets",
    "networkInterfaces",
    "connections",
    "localNetworkGateways",
    "azureFirewalls",
    "virtualHubs",
    "firewallPolicies/ruleCollectionGroups",
    "networkSecurityGroups",
    "virtualNetworkGateways",
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.sampled_from(
        ["", "x", "true", "False", "10.0.0.0/24", "Tcp", rid("virtualNetworks/subnets", "v/s")]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "name",
                    "properties",
                    "subnet",
                    "rules",
                    "priority",
                    "addressPrefix",
                    "ipConfigurations",
                    "enableBgp",
                    "asn",
                    "bgpSettings",
                    "protocols",
                    "action",
                    "type",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(KINDS), JSON), max_size=6))
def test_random_rest_objects_give_findings_never_a_traceback(items):
    objects = [
        {"type": f"Microsoft.Network/{kind}", "name": f"n{i}", "properties": body}
        for i, (kind, body) in enumerate(items)
    ]
    fabric, findings = load_rest(objects, "random.json")
    assert all(f.message for f in findings)
    validate(fabric)  # and what loaded can be validated


@settings(max_examples=200)
@given(st.text(alphabet='{}[]":,/*\n tru0e1', max_size=60))
def test_random_text_is_loaded_or_an_input_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("random") / "t.json"
    path.write_text(text)
    with contextlib.suppress(InputError):
        load_topology(path)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside the repo")
def test_every_corpus_rest_body_loads():
    for path in sorted((CORPUS / "rest").glob("*.json")):
        document = load_topology(path)
        assert document.source_format == "rest"


# -- az CLI output: properties flattened into the object ---------------------------------------


def az_vnet(name: str, prefix: str, peer: str | None = None) -> dict:
    """``az network vnet show`` as the CLI prints it (no ``properties``; a resourceGroup)."""
    vnet = {
        "addressSpace": {"addressPrefixes": [prefix]},
        "id": rid("virtualNetworks", name),
        "location": "eastus",
        "name": name,
        "provisioningState": "Succeeded",
        "resourceGroup": "rg",
        "subnets": [
            {
                "addressPrefix": prefix.replace("/16", "/24"),
                "id": rid("virtualNetworks/subnets", f"{name}/app"),
                "name": "app",
                "networkSecurityGroup": {"id": rid("networkSecurityGroups", "app-nsg")},
                "resourceGroup": "rg",
                "type": "Microsoft.Network/virtualNetworks/subnets",
            }
        ],
        "type": "Microsoft.Network/virtualNetworks",
        "virtualNetworkPeerings": [],
    }
    if peer is not None:
        vnet["virtualNetworkPeerings"].append(
            {
                "allowForwardedTraffic": False,
                "allowGatewayTransit": False,
                "allowVirtualNetworkAccess": True,
                "id": rid("virtualNetworks/virtualNetworkPeerings", f"{name}/to-{peer}"),
                "name": f"to-{peer}",
                "peeringState": "Connected",
                "remoteVirtualNetwork": {"id": rid("virtualNetworks", peer), "resourceGroup": "rg"},
                "resourceGroup": "rg",
                "useRemoteGateways": False,
            }
        )
    return vnet


def az_nsg() -> dict:
    """``az network nsg show``: security rules flattened too."""
    return {
        "id": rid("networkSecurityGroups", "app-nsg"),
        "location": "eastus",
        "name": "app-nsg",
        "resourceGroup": "rg",
        "securityRules": [
            {
                "access": "Deny",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "22",
                "direction": "Inbound",
                "id": rid("networkSecurityGroups/securityRules", "app-nsg/no-ssh"),
                "name": "no-ssh",
                "priority": 100,
                "protocol": "Tcp",
                "sourceAddressPrefix": "*",
                "sourcePortRange": "*",
            }
        ],
        "type": "Microsoft.Network/networkSecurityGroups",
    }


def test_az_cli_output_with_flattened_properties_loads_like_rest(tmp_path):
    path = tmp_path / "az.json"
    resources = [az_vnet("a", "10.1.0.0/16", "b"), az_vnet("b", "10.2.0.0/16", "a"), az_nsg()]
    path.write_text(json.dumps(resources))
    document = load_topology(path)
    net = document.fabric
    assert net.vnets["a"].address_prefixes == ("10.1.0.0/16",)
    assert net.vnets["a"].subnet("app").nsg == "app-nsg"
    assert net.peerings[("a", "to-b")].peering_state == "Connected"
    assert [r.name for r in net.nsgs["app-nsg"].security_rules] == ["no-ssh"]
    assert [f for f in validate(net) if f.severity == "Error"] == []


def test_rest_bodies_are_left_as_they_are():
    from fabric.io.rest import unflatten

    for body in sorted((CORPUS / "rest").glob("*.json")) if CORPUS.exists() else ():
        data = json.loads(body.read_text())
        assert unflatten(data) == data, body.name
    reference = {"id": rid("virtualNetworks", "a"), "resourceGroup": "rg"}
    assert unflatten(reference) == reference
