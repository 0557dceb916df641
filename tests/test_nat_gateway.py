"""NAT gateway (azure-facts N18.1): outbound internet only, per subnet, TCP and UDP only; what
Azure refuses (GatewaySubnet, a NAT gateway across VNets, more than 16 public IPs, an idle
timeout outside 4-120 minutes); and its place in the precedence for internet-bound traffic: a
default route to an appliance, a gateway or over ExpressRoute wins, and traffic to private
prefixes (peering, VPN) never touches it."""

from __future__ import annotations

import attrs
import pytest

from fabric.checks import validate
from fabric.control.forwarding import InternetEgress
from fabric.control.plane import ControlPlane
from fabric.io import InputError
from fabric.io.native import dump_native, load_native
from fabric.io.yamlsource import load_yaml
from fabric.model import Fabric, FabricError, NatGateway, Route
from fabric.sim.runs import simulate
from fabric.watcher import connectivity

INTERNET = "203.0.113.10"


def app_vnet(fabric: Fabric, name: str = "app", octet: int = 1, *, nat: str | None = "ng"):
    """A VNet with one workload subnet (using ``nat``) and one VM in it."""
    fabric.vnet(name, "westeurope", f"10.{octet}.0.0/16")
    fabric.subnet(name, "web", f"10.{octet}.1.0/24", nat_gateway=nat)
    fabric.host(name, f"{name}-vm", "web", f"10.{octet}.1.4")


def with_nat(**options) -> Fabric:
    fabric = Fabric()
    fabric.nat_gateway("ng", public_ip_count=1, **options)
    app_vnet(fabric)
    return fabric


def trace(fabric: Fabric, src: str = "10.1.1.4", dst: str = INTERNET, **kwargs):
    return connectivity(ControlPlane(fabric), src, dst, **kwargs)


def egress(result) -> InternetEgress | None:
    return next((s for s in result.path.steps if isinstance(s, InternetEgress)), None)


def codes(fabric: Fabric) -> list[str]:
    return [f.code for f in validate(fabric)]


# -- the record and the builder ------------------------------------------------------------------


def test_record_defaults_follow_azure():
    gateway = NatGateway("ng")
    assert gateway.idle_timeout_in_minutes == 4  # N18.1: TCP idle 4 minutes by default
    assert gateway.public_ip_addresses == gateway.public_ip_prefixes == ()
    assert gateway.public_ips == 0
    named = NatGateway("ng", public_ip_addresses=["pip1", "pip2"], public_ip_prefixes="pfx")
    assert named.public_ips == 3  # each public IP and each prefix counts
    assert NatGateway("ng", public_ip_count=5).public_ips == 5


@pytest.mark.parametrize(
    "options",
    [{"public_ip_count": -1}, {"public_ip_count": True}, {"idle_timeout_in_minutes": "4"}],
)
def test_record_refuses_the_wrong_shape(options):
    with pytest.raises((TypeError, ValueError)):
        NatGateway("ng", **options)


def test_builder_adds_it_once_and_the_subnet_names_it():
    fabric = with_nat(idle_timeout_in_minutes=10)
    assert fabric.nat_gateways["ng"].idle_timeout_in_minutes == 10
    assert fabric.vnets["app"].subnet("web").nat_gateway == "ng"
    with pytest.raises(FabricError, match="already exists"):
        fabric.nat_gateway("ng")


# -- native YAML ---------------------------------------------------------------------------------

NATIVE = """
nat_gateways:
  - {name: ng, public_ip_addresses: [ng-pip1, ng-pip2], idle_timeout_in_minutes: 10}
vnets:
  - name: app
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets:
      - {name: web, address_prefix: 10.1.1.0/24, nat_gateway: ng}
    hosts:
      - {name: app-vm, subnet: web, ip: 10.1.1.4}
"""


def test_native_keys_load_and_dump_back():
    document = load_native(load_yaml(NATIVE), "nat.yaml")
    gateway = document.fabric.nat_gateways["ng"]
    assert gateway.public_ip_addresses == ("ng-pip1", "ng-pip2")
    assert gateway.idle_timeout_in_minutes == 10
    assert document.fabric.vnets["app"].subnet("web").nat_gateway == "ng"
    again = load_native(dump_native(document.fabric), "again.yaml")
    assert again.fabric == document.fabric


def test_native_subnet_naming_an_undeclared_nat_gateway_is_located():
    with pytest.raises(InputError) as caught:
        load_native(load_yaml(NATIVE.replace("nat_gateway: ng", "nat_gateway: nq")), "x.yaml")
    message = str(caught.value)
    assert "vnets[0].subnets[0].nat_gateway" in message
    assert "'nq' is not declared" in message
    assert "did you mean 'ng'?" in message


def test_native_unknown_key_suggests_the_right_one():
    bad = NATIVE.replace("idle_timeout_in_minutes", "idle_timeout_minutes")
    with pytest.raises(InputError, match="idle_timeout_in_minutes"):
        load_native(load_yaml(bad), "x.yaml")


# -- validation ----------------------------------------------------------------------------------


def test_a_valid_nat_gateway_has_no_finding():
    assert codes(with_nat()) == []


def test_nat_gateway_on_gateway_subnet_is_refused():
    fabric = with_nat()
    fabric.subnet("app", "GatewaySubnet", "10.1.255.0/27", nat_gateway="ng")
    (finding,) = [f for f in validate(fabric) if f.code == "NatGatewayOnGatewaySubnet"]
    assert finding.severity == "Error"
    assert "ng" in finding.message
    assert "app/GatewaySubnet" in finding.message
    assert "remove" in finding.message


def test_one_nat_gateway_in_two_vnets_is_refused():
    fabric = with_nat()
    app_vnet(fabric, "other", 2)
    (finding,) = [f for f in validate(fabric) if f.code == "NatGatewaySpansVirtualNetworks"]
    assert finding.severity == "Error"
    assert "app" in finding.message
    assert "other" in finding.message
    assert "nat_gateway/ng" in finding.resources


def test_several_subnets_of_one_vnet_may_share_it():
    fabric = with_nat()
    fabric.subnet("app", "api", "10.1.2.0/24", nat_gateway="ng")
    assert codes(fabric) == []


def test_a_subnet_naming_a_missing_nat_gateway_is_an_error():
    fabric = with_nat()
    fabric.subnet("app", "api", "10.1.2.0/24", nat_gateway="nq")
    (finding,) = [f for f in validate(fabric) if f.code == "ReferencedResourceNotFound"]
    assert "app/api" in finding.message
    assert "NAT gateway 'nq'" in finding.message
    assert "did you mean 'ng'?" in finding.message


@pytest.mark.parametrize(
    ("options", "flagged"),
    [
        ({"public_ip_count": 16}, False),
        ({"public_ip_count": 17}, True),
        ({"public_ip_count": None, "public_ip_addresses": [f"p{i}" for i in range(17)]}, True),
        (
            {
                "public_ip_count": None,
                "public_ip_addresses": [f"p{i}" for i in range(8)],
                "public_ip_prefixes": [f"x{i}" for i in range(8)],
            },
            False,
        ),
    ],
)
def test_at_most_16_public_ips_and_prefixes(options, flagged):
    fabric = Fabric()
    fabric.nat_gateway("ng", **options)
    app_vnet(fabric)
    found = [f for f in validate(fabric) if f.code == "NatGatewayTooManyPublicIps"]
    assert bool(found) is flagged
    if found:
        assert found[0].severity == "Error"
        assert "16" in found[0].message


def test_a_nat_gateway_without_public_ip_is_a_warning():
    fabric = Fabric()
    fabric.nat_gateway("ng")
    app_vnet(fabric)
    (finding,) = [f for f in validate(fabric) if f.code == "NatGatewayWithoutPublicIp"]
    assert finding.severity == "Warning"


@pytest.mark.parametrize(("minutes", "flagged"), [(3, True), (4, False), (120, False), (121, True)])
def test_idle_timeout_is_4_to_120_minutes(minutes, flagged):
    found = [
        f
        for f in validate(with_nat(idle_timeout_in_minutes=minutes))
        if f.code == "InvalidNatGatewayIdleTimeout"
    ]
    assert bool(found) is flagged
    if found:
        assert "4" in found[0].message
        assert "120" in found[0].message


# -- forwarding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("protocol", "port"), [("Tcp", 443), ("Udp", 53)])
def test_internet_traffic_leaves_through_the_subnets_nat_gateway(protocol, port):
    result = trace(with_nat(), protocol=protocol, port=port)
    assert result.reachable, result.reason
    step = egress(result)
    assert step is not None
    assert step.nat_gateway is not None
    assert step.nat_gateway.name == "ng"
    hop = result.hops[-1]
    assert hop.type == "Internet"
    assert "NAT gateway ng" in hop.detail
    assert "NAT gateway ng" in result.to_json()["hops"][-1]["detail"]  # --json says it too


def test_without_a_nat_gateway_the_trace_does_not_mention_one():
    fabric = Fabric()
    app_vnet(fabric, nat=None)
    result = trace(fabric)
    assert result.reachable
    assert egress(result).nat_gateway is None
    assert "NAT" not in str(result)


@pytest.mark.parametrize("protocol", ["Icmp", "Esp"])
def test_a_nat_gateway_carries_tcp_and_udp_only(protocol):
    result = trace(with_nat(), protocol=protocol, port=None)
    assert not result.reachable
    assert result.code == "NatGatewayProtocolNotSupported"
    assert "ng" in result.reason
    assert "TCP and UDP" in result.reason
    drop = result.path.drop
    assert "nat_gateway/ng" in drop.resources


def test_icmp_without_a_nat_gateway_still_reaches_the_internet():
    fabric = Fabric()
    app_vnet(fabric, nat=None)
    assert trace(fabric, protocol="Icmp", port=None).reachable


def test_a_udr_to_the_internet_also_leaves_through_the_nat_gateway():
    """The NAT gateway replaces the subnet's internet destination (N18.1), whichever route
    with next hop Internet sends the packet there."""
    fabric = Fabric()
    fabric.nat_gateway("ng", public_ip_count=1)
    fabric.route_table("rt", [Route("web", "203.0.113.0/24", "Internet")])
    fabric.vnet("app", "westeurope", "10.1.0.0/16")
    fabric.subnet("app", "web", "10.1.1.0/24", route_table="rt", nat_gateway="ng")
    fabric.host("app", "app-vm", "web", "10.1.1.4")
    step = egress(trace(fabric))
    assert step.route.source == "User"
    assert step.nat_gateway.name == "ng"


def hub_and_spoke_with_nva(*, nat_in_hub: bool, udr: bool) -> Fabric:
    """A spoke whose subnet has its own NAT gateway, peered with a hub whose NVA subnet may
    have one; ``udr`` sends the spoke's default route to the NVA (N18.1's forced-tunnel case)."""
    fabric = Fabric()
    fabric.nat_gateway("spoke-ng", public_ip_count=1)
    fabric.nat_gateway("hub-ng", public_ip_count=1)
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "nva", "10.0.2.0/24", nat_gateway="hub-ng" if nat_in_hub else None)
    fabric.host("hub", "nva", "nva", "10.0.2.4", enable_ip_forwarding=True)
    table = None
    if udr:
        table = "spoke-rt"
        fabric.route_table(table, [Route("default", "0.0.0.0/0", "VirtualAppliance", "10.0.2.4")])
    fabric.vnet("spoke", "westeurope", "10.1.0.0/16")
    fabric.subnet("spoke", "web", "10.1.1.0/24", route_table=table, nat_gateway="spoke-ng")
    fabric.host("spoke", "spoke-vm", "web", "10.1.1.4")
    fabric.peer("hub", "spoke", allow_forwarded_traffic=True)
    return fabric


def test_a_default_route_to_an_appliance_wins_over_the_subnets_nat_gateway():
    result = trace(hub_and_spoke_with_nva(nat_in_hub=True, udr=True))
    assert result.reachable, result.reason
    assert [h.type for h in result.hops] == [
        "Source",
        "VNetPeering",
        "VirtualAppliance",
        "Internet",
    ]
    # out through the hub NVA's subnet: its NAT gateway, never the spoke's
    assert egress(result).nat_gateway.name == "hub-ng"
    assert "spoke-ng" not in str(result)


def test_a_hub_nat_gateway_does_not_serve_a_spoke_that_is_not_forwarded_to_it():
    result = trace(hub_and_spoke_with_nva(nat_in_hub=True, udr=False))
    assert egress(result).nat_gateway.name == "spoke-ng"
    fabric = hub_and_spoke_with_nva(nat_in_hub=True, udr=False)
    fabric.set_vnet(_without_nat(fabric.vnets["spoke"]))
    assert egress(trace(fabric)).nat_gateway is None


def _without_nat(vnet):
    return attrs.evolve(
        vnet, subnets=tuple(attrs.evolve(s, nat_gateway=None) for s in vnet.subnets)
    )


def test_icmp_forwarded_to_an_appliance_is_not_dropped_by_the_spokes_nat_gateway():
    result = trace(hub_and_spoke_with_nva(nat_in_hub=False, udr=True), protocol="Icmp", port=None)
    assert result.reachable, result.reason


def test_peered_traffic_never_touches_the_nat_gateway():
    fabric = hub_and_spoke_with_nva(nat_in_hub=True, udr=False)
    for protocol, port in (("Tcp", 443), ("Icmp", None)):
        result = trace(fabric, dst="10.0.2.4", protocol=protocol, port=port)
        assert result.reachable, result.reason
        assert "NAT" not in str(result)
        assert egress(result) is None


def vpn_with_nat(forced_tunnel: bool) -> Fabric:
    """A VNet with a NAT gateway on its workload subnet and a site-to-site VPN to a site
    behind 192.168.0.0/16 that, with ``forced_tunnel``, also announces 0.0.0.0/0 over BGP."""
    fabric = with_nat()
    fabric.subnet("app", "GatewaySubnet", "10.1.255.0/27")
    fabric.gateway("gw", "app", "VpnGw1", enable_bgp=True, bgp_asn=65515)
    fabric.local_network_gateway(
        "site",
        "192.168.0.0/16",
        gateway_ip_address="198.51.100.1",
        bgp_asn=65050,
        bgp_peering_address="192.168.255.254",
    )
    if forced_tunnel:
        site = fabric.local_network_gateways["site"]
        settings = attrs.evolve(site.bgp_settings, advertised_prefixes=("0.0.0.0/0",))
        fabric.local_network_gateways["site"] = attrs.evolve(site, bgp_settings=settings)
    fabric.connect_site("to-site", "gw", "site", shared_key="k", enable_bgp=True)
    return fabric


def test_vpn_traffic_to_private_prefixes_never_touches_the_nat_gateway():
    result = trace(vpn_with_nat(False), dst="192.168.1.10")
    assert result.reachable, result.reason
    assert egress(result) is None
    assert "NAT" not in str(result)


def test_a_bgp_default_route_over_the_vpn_wins_over_the_nat_gateway():
    result = trace(vpn_with_nat(True))
    assert egress(result) is None, str(result)
    assert "NAT" not in str(result)
    assert any(h.type == "VirtualNetworkGateway" for h in result.hops)


def test_an_expressroute_default_route_wins_over_the_nat_gateway():
    fabric = with_nat()
    fabric.subnet("app", "GatewaySubnet", "10.1.255.0/27")
    fabric.express_route_gateway("er", "app")
    fabric.express_route_circuit(
        "c1", "Amsterdam", 1000, on_premises_prefixes=["0.0.0.0/0"], peer_asn=65050
    )
    fabric.connect_circuit("app-c1", "er", "c1")
    result = trace(fabric)
    assert egress(result) is None, str(result)
    assert any(h.type == "ExpressRouteCircuit" for h in result.hops)
    assert "NAT" not in str(result)


def test_a_run_counts_icmp_to_the_internet_as_dropped_by_the_nat_gateway():
    flow = {
        "name": "ping",
        "src": "app-vm",
        "dst": INTERNET,
        "protocol": "Icmp",
        "rate_mbps": 1,
        "duration_s": 0.01,
    }
    result = simulate(with_nat(), [flow], seed=1)
    assert set(result.flow("ping").drop_reasons) == {"NatGatewayProtocolNotSupported"}
    udp = flow | {"name": "dns", "protocol": "Udp", "destination_port": 53}
    assert simulate(with_nat(), [udp], seed=1).flow("dns").drop_reasons == {}
