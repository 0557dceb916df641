"""NAT gateway (azure-facts N18.1): outbound internet only, per subnet, TCP and UDP only; what
Azure refuses (GatewaySubnet, a NAT gateway across VNets, more than 16 public IPs, an idle
timeout outside 4-120 minutes); and its place in the precedence for internet-bound traffic: a
default route to an appliance, a gateway or over ExpressRoute wins, and traffic to private
prefixes (peering, VPN) never touches it."""

from __future__ import annotations

import pytest

from fabric.checks import validate
from fabric.control.forwarding import InternetEgress
from fabric.control.plane import ControlPlane
from fabric.io import InputError
from fabric.io.native import dump_native, load_native
from fabric.io.yamlsource import load_yaml
from fabric.model import Fabric, FabricError, NatGateway
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
