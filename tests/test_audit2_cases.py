"""Second acceptance audit: rules of azure-facts.md that neither the §10 cases
(test_fact_sheet_cases.py) nor the first audit (test_audit_cases.py) probe."""

from __future__ import annotations

import json

import pytest

from fabric.catalogue.latency import LatencyModel
from fabric.checks import validate
from fabric.cli import main
from fabric.control.plane import ControlPlane
from fabric.io.arm import load_arm
from fabric.model.container import Fabric
from fabric.model.records import Route
from fabric.watcher import connectivity


def _site_over_bgp(peer_address: str, device_ip: str = "203.0.113.10") -> Fabric:
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.gateway("gw", "hub", "VpnGw1", bgp_asn=65010, enable_bgp=True)
    fabric.local_network_gateway(
        "branch",
        (),
        gateway_ip_address=device_ip,
        bgp_asn=65050,
        bgp_peering_address=peer_address,
    )
    fabric.connect_site("to-branch", "gw", "branch", shared_key="k", enable_bgp=True)
    return fabric


@pytest.mark.parametrize(
    ("peer_address", "flagged"),
    [
        ("192.168.255.1", False),  # an on-premises address: fine
        ("10.0.9.9", True),  # inside the VNet's address space
        ("203.0.113.10", True),  # the device's own public IP
    ],
)
def test_site_bgp_peer_address_is_neither_in_the_vnet_nor_the_device_ip(peer_address, flagged):
    """N12.4 (BGP FAQ 10/18/2023): the on-premises BGP peer IP must be neither the device's
    public IP nor inside the VNet address space."""
    found = [
        f for f in validate(_site_over_bgp(peer_address)) if f.code == "InvalidBgpPeeringAddress"
    ]
    assert bool(found) == flagged
    if flagged:
        assert found[0].severity == "Error"
        assert peer_address in found[0].message


@pytest.mark.parametrize(("source", "destination"), [("westus", "westus2"), ("westus2", "westus")])
def test_west_us_to_west_us_2_round_trip_is_known(source, destination):
    """§7.2's note: the West US <-> West US 2 cells are misaligned in the page's markdown;
    treat the pair as about 24-25 ms rather than as an unknown pair."""
    assert 24 <= LatencyModel().round_trip_ms(source, destination) <= 25


@pytest.mark.parametrize(
    ("protocol", "source_port", "reachable"),
    [
        ("Udp", 65330, False),
        ("Udp", 65331, True),
        ("Tcp", 65330, True),
    ],
)
def test_udp_source_port_65330_is_reserved_for_the_host(protocol, source_port, reachable):
    """§1.4: UDP source port 65330 is reserved for the host, so a VM's UDP packet from it is
    not carried; other ports and TCP are."""
    fabric = Fabric()
    fabric.vnet("v", "westeurope", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.0.0/24")
    fabric.host("v", "a", "s", "10.0.0.4")
    fabric.host("v", "b", "s", "10.0.0.5")
    trace = connectivity(
        ControlPlane(fabric),
        "10.0.0.4",
        "10.0.0.5",
        protocol=protocol,
        port=53,
        source_port=source_port,
    )
    assert trace.reachable == reachable
    if not reachable:
        assert trace.code == "ReservedSourcePort"


@pytest.mark.parametrize(
    ("site_prefix", "flagged"), [("10.1.5.0/24", True), ("10.9.0.0/24", False)]
)
def test_a_site_may_not_overlap_a_vnet_connected_to_the_same_gateway(site_prefix, flagged):
    """§2.4 / N12.3: VNets joined by a VNet-to-VNet connection must not overlap on-premises
    sites, and the address spaces of one gateway's connections may not overlap: a site whose
    prefix lies in the far VNet of the gateway's VNet-to-VNet connection is refused."""
    fabric = Fabric()
    for name, space in (("a", "10.0"), ("b", "10.1")):
        fabric.vnet(name, "westeurope", f"{space}.0.0/16")
        fabric.subnet(name, "GatewaySubnet", f"{space}.255.0/27")
        fabric.gateway(f"g{name}", name, "VpnGw1")
    fabric.connect("ga", "gb", shared_key="k")  # both sides
    fabric.local_network_gateway("site", site_prefix, gateway_ip_address="203.0.113.1")
    fabric.connect_site("to-site", "ga", "site", shared_key="k")
    found = [f for f in validate(fabric) if f.code == "ConnectionOverlappingAddressSpaces"]
    assert bool(found) == flagged
    if flagged:
        assert "10.1.0.0/16" in found[0].message


ONE_NSG_VM = """
vnets:
  - {name: v, region: westeurope, address_prefixes: [10.0.0.0/16],
     subnets: [{name: s, address_prefix: 10.0.0.0/24, nsg: n}]}
nsgs:
  - name: n
    security_rules:
      - {name: allow-web, priority: 100, direction: Inbound, access: Allow, protocol: Tcp,
         destination_port_range: "80"}
"""


def _ip_flow(tmp_path, capsys, *extra: str) -> tuple[int, dict]:
    path = tmp_path / "t.yaml"
    path.write_text(ONE_NSG_VM)
    argv = ["ip-flow", str(path), "--src", "198.51.100.7", "--dst", "10.0.0.4"]
    code = main([*argv, "--direction", "Inbound", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_ip_flow_takes_a_star_source_port(tmp_path, capsys):
    """§6.1: IP flow verify takes one remote port, and '*' for the source-side port."""
    code, answer = _ip_flow(
        tmp_path, capsys, "--protocol", "Tcp", "--port", "80", "--src-port", "*"
    )
    assert (code, answer["rule_name"]) == (0, "allow-web")


@pytest.mark.parametrize("protocol", ["Tcp", "udp"])
def test_ip_flow_without_a_destination_port_is_bad_usage(tmp_path, capsys, protocol):
    """§6.1: the destination port is part of the question (one port 0-65535); without it the
    verdict would be for port 0, a silently different question."""
    code, answer = _ip_flow(tmp_path, capsys, "--protocol", protocol)
    assert code == 2
    assert answer["error"]["code"] == "BadUsage"
    assert "--port" in answer["error"]["message"]


def _vm_with_nics(sizes: list[str | None]) -> Fabric:
    fabric = Fabric()
    fabric.vnet("v", "westeurope", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.0.0/24")
    for i, size in enumerate(sizes):
        fabric.host("v", f"nic{i}", "s", f"10.0.0.{4 + i}", vm="vm1", vm_size=size)
    return fabric


@pytest.mark.parametrize(
    ("sizes", "flagged"),
    [
        (["Standard_D2s_v5"] * 2, False),  # D2s_v5 takes 2 NICs
        (["Standard_D2s_v5"] * 3, True),
        (["Standard_D8s_v5"] * 4, False),  # D8s_v5 takes 4
        (["Standard_D8s_v5"] * 5, True),
        ([None] * 3, True),  # the default size, D4s_v5: 2 NICs
    ],
)
def test_a_vm_has_no_more_nics_than_its_size_allows(sizes, flagged):
    """N3.3: each size has a maximum number of NICs (D2s_v5 and D4s_v5: 2, D8s_v5: 4)."""
    found = [f for f in validate(_vm_with_nics(sizes)) if f.code == "TooManyNicsForVmSize"]
    assert bool(found) == flagged
    if flagged:  # Azure refuses a declared size; the default size is our assumption
        assert found[0].severity == ("Error" if sizes[0] else "Warning")


def test_the_nics_of_one_vm_agree_on_its_size():
    """N3.1: the egress cap belongs to the VM, summed over its NICs; NICs of one VM that name
    different sizes leave that cap undefined (which NIC sends first would decide it)."""
    codes = [f.code for f in validate(_vm_with_nics(["Standard_D2s_v5", "Standard_F2s_v2"]))]
    assert "VmSizeConflict" in codes
    same = _vm_with_nics(["Standard_D2s_v5", "standard_d2s_v5"])  # sizes are case-insensitive
    assert "VmSizeConflict" not in [f.code for f in validate(same)]


@pytest.mark.parametrize(
    ("enforcement", "flagged"), [("DropUnencrypted", True), ("AllowUnencrypted", False)]
)
def test_drop_unencrypted_enforcement_is_reported_as_unsupported(enforcement, flagged):
    """N5: encryption.enforcement DropUnencrypted is not supported (only AllowUnencrypted at
    GA); a template asking for it is told that unencrypted traffic still flows."""
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Network/virtualNetworks",
                "apiVersion": "2023-04-01",
                "name": "a",
                "location": "westeurope",
                "properties": {
                    "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                    "encryption": {"enabled": True, "enforcement": enforcement},
                },
            }
        ],
    }
    fabric, findings = load_arm(template, None, "enc.json")
    assert fabric.vnets["a"].encryption
    codes = [f.code for f in findings]
    assert ("EncryptionEnforcementNotSupported" in codes) == flagged


@pytest.mark.parametrize(("endpoint", "state"), [(False, "Active"), (True, "Invalid")])
def test_service_tag_user_routes_are_listed(endpoint, state):
    """§4.3/§4.4: every UDR of a subnet's route table is one of its effective routes, a
    service-tag route too (listed by its tag, its prefixes not being in vnetsim); beside a
    service endpoint of the same service it is Invalid, since the endpoint's routes cannot be
    overridden (§4.4 rule 6, N16's default)."""
    fabric = Fabric()
    fabric.vnet("v", "westeurope", "10.0.0.0/16")
    endpoints = ["Microsoft.Storage"] if endpoint else []
    fabric.subnet("v", "s", "10.0.0.0/24", route_table="rt", service_endpoints=endpoints)
    fabric.subnet("v", "nva", "10.0.1.0/24")
    fabric.host("v", "fw", "nva", "10.0.1.4", enable_ip_forwarding=True)
    fabric.route_table("rt", [Route("to-storage", "Storage", "VirtualAppliance", "10.0.1.4")])
    rows = [
        r.to_json() for r in ControlPlane(fabric).routes("v", "s").listing if r.source == "User"
    ]
    assert rows == [
        {
            "source": "User",
            "state": state,
            "address_prefixes": ["Storage"],
            "next_hop_type": "VirtualAppliance",
            "next_hop_ip_address": ["10.0.1.4"],
            "name": "to-storage",
            "route_table": "rt",
        }
    ]


@pytest.mark.parametrize(("nva_subnet", "flagged"), [("s", True), ("nva", False)])
def test_an_appliance_in_the_subnet_its_route_serves_is_reported(nva_subnet, flagged):
    """§4.3: put the NVA in a different subnet from the sources it serves, to avoid loops: an
    NVA in a subnet whose own route table sends traffic to it gets its forwarded packets back
    (the trace ends in RoutingLoop); validation says so before any trace is asked."""
    fabric = Fabric()
    fabric.vnet("v", "westeurope", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.1.0/24", route_table="rt")
    fabric.subnet("v", "nva", "10.0.2.0/24")
    fabric.host("v", "vm", "s", "10.0.1.4")
    nva_ip = "10.0.1.5" if nva_subnet == "s" else "10.0.2.4"
    fabric.host("v", "fw", nva_subnet, nva_ip, enable_ip_forwarding=True)
    fabric.route_table("rt", [Route("all", "0.0.0.0/0", "VirtualAppliance", nva_ip)])
    found = [f for f in validate(fabric) if f.code == "ApplianceInSourceSubnet"]
    assert bool(found) == flagged
    trace = connectivity(ControlPlane(fabric), "10.0.1.4", "8.8.8.8")
    assert (trace.code == "RoutingLoop") == flagged
    if flagged:
        assert found[0].severity == "Warning"
        assert "v/s" in found[0].message
        assert nva_ip in found[0].message
