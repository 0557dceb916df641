"""Service endpoints and routing (azure-facts.md N16, §4.2, §4.4 rules 3, 4 and 6, TC-RT-3).

The fact sheet has no public prefixes for any service: an endpoint's route is then listed with
the service tag in place of them and kept out of the FIB, with a finding. Tests that need the
prefixes pass stand-ins (TEST-NET-3) to ``ControlPlane(service_tag_prefixes=...)``.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Network

import attrs
from hypothesis import given
from hypothesis import strategies as st

from fabric.checks import validate
from fabric.cli import main
from fabric.control.forwarding import AZURE_SERVICE, ApplianceHop, Forward, resolve
from fabric.control.plane import ControlPlane
from fabric.control.routing import SERVICE_ENDPOINT, ListedRoute
from fabric.io.arm import load_arm
from fabric.model.container import Fabric
from fabric.model.records import Route
from fabric.watcher import connectivity, next_hop
from tests.fabrics import routing_example

STORAGE = {"Storage": ["203.0.113.0/24"]}  # a stand-in for the service's public prefixes
STORAGE_IP = "203.0.113.10"


def with_endpoint(fabric: Fabric, vnet: str, subnet: str, *services: str) -> Fabric:
    """``fabric`` with endpoints for ``services`` on ``vnet``/``subnet``."""
    record = fabric.vnets[vnet]
    subnets = tuple(
        attrs.evolve(s, service_endpoints=services) if s.name == subnet else s
        for s in record.subnets
    )
    fabric.vnets[vnet] = attrs.evolve(record, subnets=subnets)
    return fabric


def example(*services: str) -> Fabric:
    """§4.7: the documented routing example, with the storage endpoint on Subnet1 (ID10)."""
    return with_endpoint(routing_example(), "Virtual-network-1", "Subnet1", *services)


def endpoint_rows(plane: ControlPlane, subnet: str):
    return [
        r
        for r in plane.routes("Virtual-network-1", subnet).listing
        if r.next_hop_type == SERVICE_ENDPOINT
    ]


# -- routes with the service's prefixes unknown (what vnetsim has) -----------------------------


def test_an_endpoint_adds_one_default_route_per_service_to_its_subnet_only():
    plane = ControlPlane(example("Microsoft.Storage", "Microsoft.Sql"))
    rows = endpoint_rows(plane, "Subnet1")
    assert [(r.source, r.state, r.prefix) for r in rows] == [
        ("Default", "Active", "Storage"),
        ("Default", "Active", "Sql"),
    ]
    assert endpoint_rows(plane, "Subnet2") == []  # N16: to that subnet only


def test_without_prefixes_the_route_is_listed_but_carries_nothing_and_a_finding_says_so():
    fabric = example("Microsoft.Storage")
    plane = ControlPlane(fabric)
    (row,) = endpoint_rows(plane, "Subnet1")
    assert isinstance(row, ListedRoute)
    # TC-RT-3: the other routes still decide, e.g. 0.0.0.0/0 to the NVA
    assert plane.routes("Virtual-network-1", "Subnet1").lookup(STORAGE_IP).name == "Default-NVA"
    (finding,) = [f for f in validate(fabric) if f.code == "ServiceEndpointPrefixesUnknown"]
    assert finding.severity == "Warning"
    assert "vnet/Virtual-network-1/subnet/Subnet1" in finding.resources
    assert "Microsoft.Storage" in finding.message
    assert "not simulated" in finding.message


def test_routes_json_shows_the_endpoint_row_with_its_service_tag(tmp_path, capsys):
    topology = tmp_path / "se.yaml"
    topology.write_text(
        "vnets:\n"
        "  - name: v\n    region: westeurope\n    address_prefixes: [10.0.0.0/16]\n"
        "    subnets:\n"
        "      - {name: s, address_prefix: 10.0.1.0/24, service_endpoints: [Microsoft.Storage]}\n"
        "      - {name: t, address_prefix: 10.0.2.0/24}\n"
    )
    assert main(["routes", str(topology), "--vnet", "v", "--subnet", "s", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    (row,) = [r for r in rows if r["next_hop_type"] == "VirtualNetworkServiceEndpoint"]
    assert (row["source"], row["state"], row["address_prefixes"]) == (
        "Default",
        "Active",
        ["Storage"],
    )
    assert main(["routes", str(topology), "--vnet", "v", "--subnet", "t", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(r["next_hop_type"] != "VirtualNetworkServiceEndpoint" for r in rows)


def test_compare_takes_azures_endpoint_prefixes_as_the_listed_endpoints(tmp_path, capsys):
    topology = tmp_path / "se.yaml"
    topology.write_text(
        "vnets:\n"
        "  - name: v\n    region: westeurope\n    address_prefixes: [10.0.0.0/16]\n"
        "    subnets:\n"
        "      - {name: s, address_prefix: 10.0.1.0/24, service_endpoints: Microsoft.Storage}\n"
    )
    ask = ["routes", str(topology), "--vnet", "v", "--subnet", "s"]
    assert main([*ask, "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    listing = [
        {
            "source": r["source"],
            "state": r["state"],
            "addressPrefix": r["address_prefixes"],
            "nextHopType": r["next_hop_type"],
            "nextHopIpAddress": [],
        }
        for r in ours
        if r["next_hop_type"] != "VirtualNetworkServiceEndpoint"
    ]
    azure = tmp_path / "azure.json"
    azure.write_text(json.dumps({"value": listing}))
    assert main([*ask, "--compare", str(azure), "--json"]) == 1  # Azure shows no endpoint
    (difference,) = json.loads(capsys.readouterr().out)["differences"]
    assert (difference["prefix"], difference["azure"]) == ("Storage", None)
    endpoint = {
        "source": "Default",
        "state": "Active",
        "addressPrefix": ["198.51.100.0/24", "203.0.113.0/24"],  # what Azure prints
        "nextHopType": "VirtualNetworkServiceEndpoint",
        "nextHopIpAddress": [],
    }
    azure.write_text(json.dumps({"value": [*listing, endpoint]}))
    assert main([*ask, "--compare", str(azure), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"same": True, "differences": []}


def test_arm_service_endpoints_reach_the_effective_routes():
    subnet = {"addressPrefix": "10.0.1.0/24", "serviceEndpoints": [{"service": "Microsoft.Sql"}]}
    body = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
        "deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.Network/virtualNetworks",
                "apiVersion": "2023-04-01",
                "name": "a",
                "location": "westeurope",
                "properties": {
                    "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                    "subnets": [{"name": "s", "properties": subnet}],
                },
            }
        ],
    }
    fabric, _ = load_arm(body, None, "se.json")
    rows = ControlPlane(fabric).routes("a", "s").listing
    assert [r.prefix for r in rows if r.next_hop_type == SERVICE_ENDPOINT] == ["Sql"]


def test_a_udr_to_virtual_network_service_endpoint_is_refused():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.route_table("rt", [Route("se", "203.0.113.0/24", "VirtualNetworkServiceEndpoint")])
    fabric.subnet("v", "s", "10.0.1.0/24", route_table="rt")
    (finding,) = [f for f in validate(fabric) if f.code == "NextHopTypeNotAllowedInUdr"]
    assert finding.severity == "Error"  # §4.3: system only


def test_an_unknown_service_name_is_named():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "s", "10.0.1.0/24", service_endpoints="Microsoft.Storag")
    (finding,) = [f for f in validate(fabric) if f.code == "ServiceEndpointServiceNotRecognised"]
    assert "Microsoft.Storage" in finding.message  # the suggestion


# -- routes with the prefixes known (Python API) -----------------------------------------------


def test_TC_RT_3_storage_ip_goes_to_the_endpoint_not_the_nva():
    plane = ControlPlane(example("Microsoft.Storage"), service_tag_prefixes=STORAGE)
    hop = next_hop(plane, "10.0.0.4", STORAGE_IP)
    assert (hop.next_hop_type, hop.to_json()["route_table"]) == (SERVICE_ENDPOINT, "System Route")
    # the 0.0.0.0/0 UDR (ID12) still takes everything else
    assert next_hop(plane, "10.0.0.4", "8.8.8.8").route.name == "Default-NVA"
    (row,) = endpoint_rows(plane, "Subnet1")
    assert (row.source, row.state, str(row.prefix)) == ("Default", "Active", "203.0.113.0/24")
    # Subnet2 has no endpoint: the storage IP goes to the internet there
    assert next_hop(plane, "10.0.1.4", STORAGE_IP).next_hop_type == "Internet"


def test_traffic_to_the_service_leaves_by_the_endpoint_past_the_nva():
    plane = ControlPlane(example("Microsoft.Storage"), service_tag_prefixes=STORAGE)
    path = resolve(plane, "10.0.0.4", STORAGE_IP, "Tcp", 443)
    assert path.outcome == Forward(AZURE_SERVICE, path.packet.destination)
    assert not any(isinstance(step, ApplianceHop) for step in path.steps)
    trace = connectivity(plane, "10.0.0.4", STORAGE_IP)
    assert trace.connection_status == "Reachable"
    assert [h.type for h in trace.hops] == ["Source", "ServiceEndpoint"]
    assert trace.latency_ms is None  # the service is outside the model


def endpoint_and_udr(prefix: str, hop: str = "VirtualAppliance") -> Fabric:
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.subnet("v", "nva", "10.0.9.0/24")
    fabric.host("v", "nva", "nva", "10.0.9.4", enable_ip_forwarding=True)
    ip = "10.0.9.4" if hop == "VirtualAppliance" else None
    fabric.route_table("rt", [Route("to-nva", prefix, hop, ip)])
    fabric.subnet("v", "s", "10.0.1.0/24", route_table="rt", service_endpoints="Microsoft.Storage")
    return fabric


def test_rule_6_a_udr_of_the_same_prefix_does_not_override_the_endpoint():
    plane = ControlPlane(endpoint_and_udr("203.0.113.0/24"), service_tag_prefixes=STORAGE)
    routes = plane.routes("v", "s")
    assert routes.lookup(STORAGE_IP).next_hop_type == SERVICE_ENDPOINT
    states = {
        (r.source, r.next_hop_type): r.state
        for r in routes.routes
        if r.prefix == IPv4Network("203.0.113.0/24")
    }
    assert states == {
        ("Default", SERVICE_ENDPOINT): "Active",
        ("User", "VirtualAppliance"): "Invalid",
    }


def test_the_documented_unknown_switch_lets_the_user_route_win():
    plane = ControlPlane(
        endpoint_and_udr("203.0.113.0/24"),
        service_tag_prefixes=STORAGE,
        user_routes_override_service_endpoints=True,
    )
    assert plane.routes("v", "s").lookup(STORAGE_IP).name == "to-nva"


def test_a_service_tag_udr_with_known_prefixes_follows_the_switch():
    fabric = endpoint_and_udr("Storage")
    default = ControlPlane(fabric, service_tag_prefixes=STORAGE)
    assert default.routes("v", "s").lookup(STORAGE_IP).next_hop_type == SERVICE_ENDPOINT
    field = ControlPlane(
        fabric, service_tag_prefixes=STORAGE, user_routes_override_service_endpoints=True
    )
    route = field.routes("v", "s").lookup(STORAGE_IP)
    assert (route.name, route.tag) == ("to-nva", "Storage")


def test_a_more_specific_udr_still_wins_by_longest_prefix():
    plane = ControlPlane(endpoint_and_udr("203.0.113.128/25"), service_tag_prefixes=STORAGE)
    routes = plane.routes("v", "s")
    assert routes.lookup("203.0.113.200").name == "to-nva"
    assert routes.lookup(STORAGE_IP).next_hop_type == SERVICE_ENDPOINT


def test_rule_4_explicit_prefix_beats_a_tag_and_a_regional_tag_beats_the_top_level_one():
    fabric = Fabric()
    fabric.vnet("v", "eastus", "10.0.0.0/16")
    fabric.route_table(
        "rt",
        [
            Route("top", "Storage", "Internet"),
            Route("regional", "Storage.EastUS", "None"),
            Route("cloud", "AzureCloud", "Internet"),
            Route("explicit", "198.51.100.0/24", "None"),
        ],
    )
    fabric.subnet("v", "s", "10.0.1.0/24", route_table="rt")
    tags = {
        "Storage": ["203.0.113.0/24", "198.51.100.0/24"],
        "Storage.EastUS": ["203.0.113.0/24"],
        "AzureCloud": ["203.0.113.0/24", "192.0.2.0/24"],
    }
    routes = ControlPlane(fabric, service_tag_prefixes=tags).routes("v", "s")
    assert routes.lookup("203.0.113.1").name == "regional"
    assert routes.lookup("198.51.100.1").name == "explicit"
    assert routes.lookup("192.0.2.1").name == "cloud"


def test_rule_3_a_more_specific_gateway_route_does_not_take_endpoint_traffic():
    fabric = example("Microsoft.Storage")
    fabric.vnet("Far", "eastus", "203.0.113.0/25")  # announced by the other gateway's side
    fabric.subnet("Far", "GatewaySubnet", "203.0.113.96/27")
    fabric.gateway("far-gw", "Far", "VpnGw1")
    fabric.connect("vnet1-gw", "far-gw", shared_key="k")
    plane = ControlPlane(fabric, service_tag_prefixes=STORAGE)
    learned = [
        r
        for r in plane.routes("Virtual-network-1", "Subnet2").routes
        if r.prefix == IPv4Network("203.0.113.0/25")
    ]
    assert [r.state for r in learned] == ["Active"]  # without the endpoint it carries
    shadowed = [
        r
        for r in plane.routes("Virtual-network-1", "Subnet1").routes
        if r.prefix == IPv4Network("203.0.113.0/25")
    ]
    assert [(r.source, r.state) for r in shadowed] == [("VirtualNetworkGateway", "Invalid")]
    assert next_hop(plane, "10.0.0.4", STORAGE_IP).next_hop_type == SERVICE_ENDPOINT


def test_endpoints_do_not_apply_to_traffic_from_on_premises():
    fabric = with_endpoint(
        routing_example(), "Virtual-network-1", "GatewaySubnet", "Microsoft.Storage"
    )
    plane = ControlPlane(fabric, service_tag_prefixes=STORAGE)
    gateway = plane.gateway_routes(fabric.gateways["vnet1-gw"])
    assert all(r.next_hop_type != SERVICE_ENDPOINT for r in gateway.routes)


@given(
    udr_len=st.integers(16, 28),
    udr_offset=st.integers(0, 255),
    bgp_len=st.integers(16, 28),
    destination=st.integers(0, 255),
)
def test_the_endpoint_wins_unless_a_strictly_more_specific_user_route_covers_the_address(
    udr_len, udr_offset, bgp_len, destination
):
    """Oracle: N16's simulator rule. For an address inside the endpoint's prefix, the endpoint
    route wins over user and BGP routes of the same or a shorter prefix and over more specific
    BGP routes (§4.4 rule 3); only a strictly more specific user route takes it."""
    endpoint = IPv4Network("203.0.113.0/24")
    address = endpoint.network_address + destination
    udr = IPv4Network(f"{endpoint.network_address + udr_offset}/{udr_len}", strict=False)
    bgp = IPv4Network(f"{address}/{bgp_len}", strict=False)
    fabric = endpoint_and_udr(str(udr))
    fabric.vnet("Far", "eastus", str(bgp))
    fabric.subnet("Far", "GatewaySubnet", str(next(bgp.subnets(new_prefix=max(bgp_len, 29)))))
    fabric.subnet("v", "GatewaySubnet", "10.0.255.0/27")
    fabric.gateway("gw", "v", "VpnGw1")
    fabric.gateway("far-gw", "Far", "VpnGw1")
    fabric.connect("gw", "far-gw", shared_key="k")
    route = ControlPlane(fabric, service_tag_prefixes=STORAGE).routes("v", "s").lookup(address)
    user_takes_it = address in udr and udr.prefixlen > endpoint.prefixlen
    assert route.name == "to-nva" if user_takes_it else route.next_hop_type == SERVICE_ENDPOINT
