"""Terraform configurations load as they are: the published azurerm examples in the shared
corpus, and two estates written for these tests (a hub with spokes from a local module, and a
branch office over IPsec with BGP on the 3.x provider's spellings). Each load is asserted
against what the files define, and survives a round trip through the native YAML format."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric.checks import validate
from fabric.control.peering import peering_state
from fabric.io import load_topology
from fabric.io.terraform import diagnostics as codes
from tests.helpers import round_trip

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "terraform"
DATA = Path(__file__).resolve().parent / "data" / "terraform"
needs_corpus = pytest.mark.skipif(
    not CORPUS.exists(), reason="the shared corpus is not beside the repo"
)


def codes_of(document) -> list[str]:
    return [f.code for f in document.findings]


# -- the shared corpus -------------------------------------------------------------------------


@needs_corpus
def test_corpus_peering_without_variables_keeps_placeholder_names():
    document = load_topology(CORPUS / "vnet-peering")
    fabric = document.fabric
    assert document.source_format == "terraform"
    assert {n: v.address_prefixes for n, v in fabric.vnets.items()} == {
        "${var.prefix}-network1": ("10.0.0.0/24",),
        "${var.prefix}-network2": ("192.168.0.0/24",),
    }
    first = fabric.vnets["${var.prefix}-network1"]
    assert [(s.name, s.address_prefix) for s in first.subnets] == [("subnet1", "10.0.0.0/24")]
    assert first.region == "unknown"
    links = {
        key: (p.remote_vnet, p.allow_virtual_network_access) for key, p in fabric.peerings.items()
    }
    assert links == {
        ("${var.prefix}-network1", "first-to-second"): ("${var.prefix}-network2", True),
        ("${var.prefix}-network2", "second-to-first"): ("${var.prefix}-network1", True),
    }
    # var.prefix and var.location are used but declared nowhere (variables.tf was not captured).
    assert codes_of(document) == [codes.VARIABLE_NOT_SET, codes.VARIABLE_NOT_SET]
    assert "variables={'prefix': ...}" in document.findings[0].message
    assert document.findings[0].resources == ("var.prefix",)
    round_trip(document)


@needs_corpus
def test_corpus_peering_with_variables():
    document = load_topology(
        CORPUS / "vnet-peering", variables={"prefix": "ex", "location": "West Europe"}
    )
    fabric = document.fabric
    assert sorted(fabric.vnets) == ["ex-network1", "ex-network2"]
    assert {v.region for v in fabric.vnets.values()} == {"westeurope"}
    first, second = (
        fabric.peerings[("ex-network1", "first-to-second")],
        fabric.peerings[("ex-network2", "second-to-first")],
    )
    assert (first.remote_vnet, second.remote_vnet) == ("ex-network2", "ex-network1")
    for link in (first, second):
        assert link.allow_virtual_network_access
        assert not link.allow_forwarded_traffic
        assert not link.allow_gateway_transit
        assert not link.use_remote_gateways
        assert peering_state(fabric, link) == "Connected"
    # Values for variables no block declares are used, and said so.
    assert codes_of(document) == [codes.UNDECLARED_VARIABLE, codes.UNDECLARED_VARIABLE]
    assert not [f for f in validate(fabric) if f.severity == "Error"]
    round_trip(document)


@needs_corpus
def test_corpus_vpngw1_gateway():
    document = load_topology(
        CORPUS / "vnet-gateway-vpngw1", variables={"prefix": "demo", "location": "eastus"}
    )
    fabric = document.fabric
    vnet = fabric.vnets["demo-vnet"]
    assert (vnet.region, vnet.address_prefixes) == ("eastus", ("10.0.0.0/16",))
    # The 2.x spelling address_prefix (singular) is read.
    assert vnet.subnet("GatewaySubnet").address_prefix == "10.0.1.0/24"
    gateway = fabric.gateways["demo-vnetgw"]
    assert (gateway.vnet, gateway.sku, gateway.vpn_type, gateway.gateway_type) == (
        "demo-vnet",
        "VpnGw1",
        "RouteBased",
        "Vpn",
    )
    assert (gateway.active_active, gateway.enable_bgp, gateway.bgp_asn) == (False, False, 65515)
    assert not fabric.connections
    # The resource group and the public IP carry nothing to model: no finding for them.
    assert codes.NOT_MODELLED not in codes_of(document)
    round_trip(document)


@needs_corpus
def test_corpus_single_file_loads_like_its_directory():
    whole = load_topology(CORPUS / "vnet-peering", variables={"prefix": "a", "location": "b"})
    one = load_topology(
        CORPUS / "vnet-peering" / "main.tf", variables={"prefix": "a", "location": "b"}
    )
    assert one.fabric == whole.fabric


# -- hub and spokes from a local module --------------------------------------------------------


@pytest.fixture(scope="module")
def hub_spoke():
    return load_topology(DATA / "hub-spoke")


def test_hub_spoke_vnets_from_variables_locals_and_module_instances(hub_spoke):
    fabric = hub_spoke.fabric
    assert {n: (v.region, v.address_prefixes) for n, v in fabric.vnets.items()} == {
        "contoso-hub": ("westeurope", ("10.0.0.0/16",)),
        "contoso-spoke1": ("westeurope", ("10.1.0.0/16",)),
        "contoso-spoke2": ("westeurope", ("10.2.0.0/16",)),
    }
    hub = fabric.vnets["contoso-hub"]
    # for_each over a map of cidrsubnet() results: instances in key order.
    assert [(s.name, s.address_prefix) for s in hub.subnets] == [
        ("AzureFirewallSubnet", "10.0.0.64/26"),
        ("GatewaySubnet", "10.0.255.0/27"),
        ("nva", "10.0.2.0/24"),
    ]
    spoke1, spoke2 = fabric.vnets["contoso-spoke1"], fabric.vnets["contoso-spoke2"]
    workload = spoke1.subnet("workload")
    assert (workload.address_prefix, workload.nsg, workload.route_table) == (
        "10.1.1.0/24",
        "contoso-spoke1-nsg",
        "contoso-spoke1-rt",
    )
    assert workload.service_endpoints == ("Microsoft.Storage",)
    # workload_nsg = false (an optional() object attribute) leaves spoke2 without the NSG.
    assert spoke2.subnet("workload").nsg is None
    assert sorted(fabric.nsgs) == ["contoso-spoke1-nsg"]


def test_hub_spoke_hosts_count_dynamic_addresses_and_vms(hub_spoke):
    hub = hub_spoke.fabric.vnets["contoso-hub"]
    assert [(h.name, h.ip, h.vm, h.zone) for h in hub.hosts] == [
        ("contoso-nva-01", "10.0.2.4", "contoso-nva-vm-1", "1"),
        ("contoso-nva-02", "10.0.2.5", "contoso-nva-vm-2", "2"),
    ]
    assert all(h.enable_ip_forwarding for h in hub.hosts)
    assert {(h.vm_size, h.os_profile) for h in hub.hosts} == {("Standard_D2s_v5", "linux")}
    spoke = hub_spoke.fabric.vnets["contoso-spoke1"]
    assert [(h.name, h.ip) for h in spoke.hosts] == [("contoso-spoke1-vm-nic", "10.1.1.10")]


def test_hub_spoke_nsg_from_a_dynamic_block(hub_spoke):
    rules = hub_spoke.fabric.nsgs["contoso-spoke1-nsg"].security_rules
    assert [(r.name, r.priority, r.destination_port_ranges) for r in rules] == [
        ("allow-https", 100, ("443",)),
        ("allow-ssh", 110, ("22",)),
    ]
    assert {(r.protocol, r.source_address_prefixes) for r in rules} == {
        ("Tcp", ("VirtualNetwork",))
    }
    assert {r.destination_address_prefixes for r in rules} == {("10.1.1.0/24",)}


def test_hub_spoke_routes_to_the_firewall_address_it_will_have(hub_spoke):
    fabric = hub_spoke.fabric
    table = fabric.route_tables["contoso-spoke1-rt"]
    assert table.disable_bgp_route_propagation
    assert [(r.address_prefix, r.next_hop_type, r.next_hop_ip_address) for r in table.routes] == [
        ("0.0.0.0/0", "VirtualAppliance", "10.0.0.68")
    ]
    firewall = fabric.firewalls["contoso-fw"]
    assert (firewall.vnet, firewall.sku_tier, firewall.private_ip) == (
        "contoso-hub",
        "Standard",
        None,
    )
    derived = [f for f in hub_spoke.findings if "10.0.0.68" in f.message]
    assert derived
    assert "N11.5" in derived[0].message
    assert derived[0].resources == ('module.spoke["spoke1"].azurerm_route_table.this',)


def test_hub_spoke_firewall_rules_from_a_for_expression(hub_spoke):
    (collection,) = hub_spoke.fabric.firewalls["contoso-fw"].network_rule_collections
    assert (collection.name, collection.priority, collection.action) == (
        "spoke-to-spoke",
        100,
        "Allow",
    )
    assert [
        (r.name, r.source_addresses, r.destination_addresses, r.protocols) for r in collection.rules
    ] == [
        ("from-spoke1", ("10.1.0.0/16",), ("10.2.0.0/16",), ("TCP", "UDP")),
        ("from-spoke2", ("10.2.0.0/16",), ("10.1.0.0/16",), ("TCP", "UDP")),
    ]


def test_hub_spoke_peerings_and_gateway(hub_spoke):
    fabric = hub_spoke.fabric
    flags = {
        key: (
            p.remote_vnet,
            p.allow_forwarded_traffic,
            p.allow_gateway_transit,
            p.use_remote_gateways,
        )
        for key, p in fabric.peerings.items()
    }
    assert flags == {
        ("contoso-hub", "hub-to-spoke1"): ("contoso-spoke1", True, True, False),
        ("contoso-hub", "hub-to-spoke2"): ("contoso-spoke2", True, True, False),
        ("contoso-spoke1", "contoso-spoke1-to-hub"): ("contoso-hub", True, False, True),
        ("contoso-spoke2", "contoso-spoke2-to-hub"): ("contoso-hub", True, False, True),
    }
    assert all(peering_state(fabric, p) == "Connected" for p in fabric.peerings.values())
    gateway = fabric.gateways["contoso-vpngw"]
    assert (gateway.sku, gateway.generation, gateway.enable_bgp, gateway.bgp_asn) == (
        "VpnGw2",
        "Generation2",
        True,
        65010,
    )


def test_hub_spoke_findings_name_what_was_left_out(hub_spoke):
    assert sorted(set(codes_of(hub_spoke))) == [
        codes.PROVIDER_IGNORED,
        codes.UNKNOWN_VALUE,
    ]
    # the NAT gateway loads (N18.1); no subnet uses it and it has no public IP, which
    # validation says
    nat = hub_spoke.fabric.nat_gateways["contoso-nat"]
    assert nat.public_ips == 0
    assert "NatGatewayWithoutPublicIp" in [f.code for f in validate(hub_spoke.fabric)]
    ignored = next(f for f in hub_spoke.findings if f.code == codes.PROVIDER_IGNORED)
    assert "random" in ignored.message
    assert all(f.severity == "Warning" for f in hub_spoke.findings)


def test_hub_spoke_round_trip(hub_spoke):
    round_trip(hub_spoke)


def test_hub_spoke_variables_override_tfvars():
    document = load_topology(DATA / "hub-spoke", variables={"prefix": "fabrikam", "nva_count": "1"})
    hub = document.fabric.vnets["fabrikam-hub"]
    assert [h.name for h in hub.hosts] == ["fabrikam-nva-01"]


# -- a branch office over IPsec, 3.x provider spellings ----------------------------------------


@pytest.fixture(scope="module")
def site():
    return load_topology(DATA / "site-to-site")


def test_site_inline_subnets_nsg_and_route_table(site):
    vnet = site.fabric.vnets["azure-vnet"]
    assert vnet.region == "northeurope"
    assert [(s.name, s.address_prefix) for s in vnet.subnets] == [
        ("app", "10.50.1.0/24"),
        ("RouteServerSubnet", "10.50.3.0/27"),
        ("nva", "10.50.4.0/24"),
        ("GatewaySubnet", "10.50.255.0/27"),
    ]
    app = vnet.subnet("app")
    assert (app.nsg, app.route_table) == ("app-nsg", "app-rt")
    table = site.fabric.route_tables["app-rt"]
    assert table.disable_bgp_route_propagation  # the 3.x disable_bgp_route_propagation
    assert [(r.name, r.next_hop_type, r.next_hop_ip_address) for r in table.routes] == [
        ("to-branch", "VirtualNetworkGateway", None),
        ("via-nva", "VirtualAppliance", "10.50.4.4"),  # the NVA NIC's dynamic address
    ]


def test_site_rules_with_application_security_groups(site):
    rules = {r.name: r for r in site.fabric.nsgs["app-nsg"].security_rules}
    web_to_db = rules["web-to-db"]
    assert web_to_db.source_application_security_groups == ("asg-web",)
    assert web_to_db.destination_application_security_groups == ("asg-db",)
    assert web_to_db.destination_port_ranges == ("1433", "1434")
    assert (rules["deny-db"].access, rules["deny-db"].protocol) == ("Deny", "*")
    assert sorted(site.fabric.application_security_groups) == ["asg-db", "asg-web"]


def test_site_hosts_static_first_then_dynamic(site):
    hosts = {h.name: h for h in site.fabric.vnets["azure-vnet"].hosts}
    db, web, nva = hosts["db-nic"], hosts["web-nic"], hosts["nva-nic"]
    assert (db.ip, web.ip, nva.ip) == ("10.50.1.4", "10.50.1.5", "10.50.4.4")
    assert (db.nsg, db.application_security_groups, db.accelerated_networking) == (
        "app-nsg",
        ("asg-db",),
        True,
    )
    assert (db.vm, db.vm_size, db.zone, db.os_profile) == (
        "db-vm",
        "Standard_D4s_v5",
        "2",
        "windows",
    )
    assert web.application_security_groups == ("asg-web",)
    assert nva.enable_ip_forwarding  # the 3.x enable_ip_forwarding


def test_site_gateway_site_and_ipsec_connection(site):
    fabric = site.fabric
    gateway = fabric.gateways["azure-gw"]
    assert (gateway.vnet, gateway.sku, gateway.enable_bgp) == ("azure-vnet", "VpnGw1", True)
    branch = fabric.local_network_gateways["branch-office"]
    assert (branch.gateway_ip_address, branch.address_prefixes) == (
        "203.0.113.10",
        ("192.168.0.0/16",),
    )
    assert (branch.bgp_settings.asn, branch.bgp_settings.bgp_peering_address) == (
        65050,
        "192.168.255.254",
    )
    connection = fabric.connections["azure-to-branch"]
    assert (connection.connection_type, connection.from_gateway, connection.to_gateway) == (
        "IPsec",
        "azure-gw",
        "branch-office",
    )
    assert connection.shared_key == "Branch-Key-0001"  # a sensitive variable's default
    assert (connection.enable_bgp, connection.use_policy_based_traffic_selectors) == (True, True)
    assert (connection.dpd_timeout_seconds, connection.routing_weight) == (45, 10)
    policy = connection.ipsec_policy
    assert (policy.ike_encryption, policy.dh_group, policy.pfs_group) == (
        "AES256",
        "DHGroup14",
        "PFS2048",
    )
    assert (policy.sa_lifetime_seconds, policy.sa_data_size_kilobytes) == (3600, 102_400_000)


def test_site_route_server_peers_with_the_nva(site):
    server = site.fabric.route_servers["hub-ars"]
    assert (server.vnet, server.allow_branch_to_branch_traffic) == ("azure-vnet", True)
    assert [(p.name, p.peer_ip, p.peer_asn) for p in server.bgp_connections] == [
        ("nva-peer", "10.50.4.4", 65001)
    ]


def test_site_loads_without_findings(site):
    assert site.findings == ()


def test_site_round_trip(site):
    round_trip(site)
