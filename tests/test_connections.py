"""Gateway connections from the documented rules: site-to-site tunnels to local network gateways,
BGP (and its absence on Basic), custom IPsec/IKE policies, the BGP import filter, redundancy.
Sections are those of azure-facts.md."""

from __future__ import annotations

import pytest

from fabric.checks import validate
from fabric.control.connections import connection_status, learned_routes
from fabric.control.plane import ControlPlane
from fabric.model import Fabric, IpsecPolicy, Route
from fabric.model.records import BgpSettings
from fabric.watcher import connectivity
from tests.fabrics import hub_and_spokes


def codes(fabric: Fabric, severity: str | None = None) -> list[str]:
    return [f.code for f in validate(fabric) if severity is None or f.severity == severity]


def learned(fabric: Fabric, gateway: str) -> set[str]:
    return {str(r.prefix) for r in learned_routes(fabric)[gateway]}


def chain(sku_middle: str = "VpnGw1", bgp: bool = True) -> Fabric:
    """A - B - C, a VNet-to-VNet connection between each neighbour pair (§3.9 transit)."""
    fabric = Fabric()
    for i, (name, sku) in enumerate((("a", "VpnGw1"), ("b", sku_middle), ("c", "VpnGw1"))):
        fabric.vnet(name, "westeurope", f"10.{i}.0.0/16")
        fabric.subnet(name, "GatewaySubnet", f"10.{i}.255.0/27")
        fabric.subnet(name, "app", f"10.{i}.1.0/24")
        fabric.host(name, f"{name}-vm", "app", f"10.{i}.1.4")
        fabric.gateway(f"{name}-gw", name, sku, bgp_asn=65010 + i if sku != "Basic" else 65515)
    fabric.connect("a-gw", "b-gw", shared_key="k", enable_bgp=bgp)
    fabric.connect("b-gw", "c-gw", shared_key="k", enable_bgp=bgp)
    return fabric


# -- BGP ---------------------------------------------------------------------------------------


def test_bgp_on_every_connection_carries_transit_and_without_it_only_neighbours():
    assert "10.2.0.0/16" in learned(chain(), "a-gw")  # §3.9: transit needs BGP all the way
    assert learned(chain(bgp=False), "a-gw") == {"10.1.0.0/16"}


def test_basic_has_no_bgp_whichever_flag_asks_for_it():
    fabric = chain(sku_middle="Basic")
    found = codes(fabric, "Error")
    assert "BgpNotSupportedOnSku" in found  # the connections' own flags (§9)
    assert learned(fabric, "a-gw") == {"10.1.0.0/16"}  # no BGP routes through a Basic gateway
    fabric = chain(sku_middle="Basic", bgp=False)
    assert "BgpNotSupportedOnSku" not in codes(fabric)
    fabric.gateways["b-gw"] = fabric.gateways["b-gw"].__class__("b-gw", "b", "Basic", bgp_asn=65020)
    assert "BgpNotSupportedOnSku" in codes(fabric, "Error")  # an ASN of its own asks for BGP
    fabric.gateways["b-gw"] = fabric.gateways["b-gw"].__class__(
        "b-gw", "b", "Basic", enable_bgp=True
    )
    assert "BgpNotSupportedOnSku" in codes(fabric, "Error")


def site_fabric(
    prefixes=("192.168.0.0/16",), bgp: BgpSettings | None = None, enable_bgp: bool = False
):
    """TC-PR-4 plus N12: a hub with a gateway and a site-to-site connection to on-premises."""
    fabric = hub_and_spokes(remote=False)
    fabric.local_network_gateway("onprem", prefixes, gateway_ip_address="203.0.113.10")
    if bgp is not None:
        site = fabric.local_network_gateways["onprem"]
        fabric.local_network_gateways["onprem"] = site.__class__(
            site.name, site.address_prefixes, site.gateway_ip_address, bgp_settings=bgp
        )
    fabric.connect_site(
        "hub-to-onprem", "hub-gw", "onprem", shared_key="abc", enable_bgp=enable_bgp
    )
    return fabric


def test_TC_BGP_1_on_premises_may_announce_a_superset_but_not_an_equal_or_inner_prefix():
    bgp = BgpSettings(65050, "192.168.255.254", advertised_prefixes=("10.0.0.0/8",))
    assert "10.0.0.0/8" in learned(site_fabric(bgp=bgp, enable_bgp=True), "hub-gw")
    for blocked in ("10.0.0.0/16", "10.0.0.0/24"):
        bgp = BgpSettings(65050, "192.168.255.254", advertised_prefixes=(blocked,))
        assert blocked not in learned(site_fabric(bgp=bgp, enable_bgp=True), "hub-gw")
    # Announcements need BGP on the connection (N12.2), not only settings on the site.
    bgp = BgpSettings(65050, advertised_prefixes=("172.20.0.0/16",))
    assert "172.20.0.0/16" not in learned(site_fabric(bgp=bgp), "hub-gw")


def test_TC_BGP_1_more_than_4000_announced_prefixes_drop_the_session():
    many = tuple(f"172.{16 + i // 256}.{i % 256}.0/24" for i in range(4001))
    fabric = site_fabric(bgp=BgpSettings(65050, advertised_prefixes=many), enable_bgp=True)
    routes = learned(fabric, "hub-gw")
    assert routes == {"192.168.0.0/16"}  # the static prefix stays, every BGP one is lost
    assert "BgpRouteLimitExceeded" in codes(fabric, "Warning")  # accepted; the session drops


@pytest.mark.parametrize("asn", [65515, 65517, 8075, 23456, 64500, 65535])
def test_TC_BGP_1_reserved_asns_are_not_allowed_on_premises(asn):
    fabric = site_fabric(bgp=BgpSettings(asn), enable_bgp=True)
    assert "InvalidBgpAsn" in codes(fabric, "Error")


def test_TC_BGP_2_a_gateway_passes_on_site_routes_but_never_a_default_route():
    fabric = chain()
    fabric.local_network_gateway(
        "branch", "192.168.10.0/24", gateway_ip_address="198.51.100.1", bgp_asn=65100
    )
    site = fabric.local_network_gateways["branch"]
    fabric.local_network_gateways["branch"] = site.__class__(
        "branch",
        site.address_prefixes,
        site.gateway_ip_address,
        bgp_settings=BgpSettings(65100, advertised_prefixes=("0.0.0.0/0", "172.30.0.0/16")),
    )
    fabric.connect_site("c-to-branch", "c-gw", "branch", shared_key="k", enable_bgp=True)
    assert {"0.0.0.0/0", "172.30.0.0/16", "192.168.10.0/24"} <= learned(fabric, "c-gw")
    from_c = learned(fabric, "b-gw")
    assert {"172.30.0.0/16", "192.168.10.0/24", "10.2.0.0/16"} <= from_c
    assert "0.0.0.0/0" not in from_c


# -- site-to-site --------------------------------------------------------------------------------


def test_site_prefixes_become_gateway_routes_in_the_hub_and_through_transit_in_spokes():
    plane = ControlPlane(site_fabric())
    for vnet, subnet in (("hub", "fw"), ("spoke1", "app")):
        route = plane.routes(vnet, subnet).lookup("192.168.1.10")
        assert route.next_hop_type == "VirtualNetworkGateway", vnet
        assert route.source == "VirtualNetworkGateway"


def test_a_trace_to_on_premises_ends_there_with_the_tunnel_latency():
    trace = connectivity(ControlPlane(site_fabric()), "10.1.0.4", "192.168.1.10")
    assert trace.reachable, trace
    assert [h.type for h in trace.hops] == [
        "Source",
        "VirtualNetworkGateway",
        "LocalNetworkGateway",
        "OnPremises",
    ]
    # the named on-premises leg (VM to site, end to end) and one gateway traversal
    assert trace.latency_ms == pytest.approx(2.5 + 0.3)


def test_the_virtual_network_tag_holds_connected_site_prefixes():
    plane = ControlPlane(site_fabric())
    location = plane.locate("10.1.0.4")
    from ipaddress import IPv4Address

    assert plane.tag_scope(location.vnet.name).contains(
        "VirtualNetwork", IPv4Address("192.168.1.1")
    )


def test_site_prefixes_that_overlap_the_vnet_are_refused():
    fabric = site_fabric(prefixes=("10.0.0.0/8",))
    assert "ConnectionOverlappingAddressSpaces" in codes(fabric, "Error")


def test_a_site_connection_without_a_key_does_not_come_up():
    fabric = site_fabric()
    connection = fabric.connections["hub-to-onprem"]
    fabric.connections["hub-to-onprem"] = connection.__class__(
        connection.name, "hub-gw", "onprem", "IPsec", None
    )
    assert (
        connection_status(fabric, fabric.connections["hub-to-onprem"]).reason == "SharedKeyMissing"
    )
    trace = connectivity(ControlPlane(fabric), "10.0.2.4", "192.168.1.10")
    assert not trace.reachable


# -- custom IPsec/IKE policy (§3.7) ------------------------------------------------------------


def policy(**changes) -> IpsecPolicy:
    base = {
        "ike_encryption": "AES256",
        "ike_integrity": "SHA256",
        "dh_group": "DHGroup14",
        "ipsec_encryption": "GCMAES256",
        "ipsec_integrity": "GCMAES256",
        "pfs_group": "PFS2048",
    }
    return IpsecPolicy(**{**base, **changes})


def with_policies(first: IpsecPolicy, second: IpsecPolicy | None = None) -> Fabric:
    fabric = hub_and_spokes()
    for name, chosen in (("hub-gw-to-dr-gw", first), ("dr-gw-to-hub-gw", second or first)):
        c = fabric.connections[name]
        fabric.connections[name] = c.__class__(
            c.name, c.from_gateway, c.to_gateway, c.connection_type, c.shared_key, False, chosen
        )
    return fabric


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"ipsec_integrity": "SHA256"}, "GcmIntegrityMismatch"),
        ({"ipsec_integrity": "GCMAES128"}, "GcmIntegrityMismatch"),
        ({"sa_lifetime_seconds": 299}, "SaLifetimeTooShort"),
        ({"sa_data_size_kilobytes": 1023}, "SaDataSizeTooSmall"),
    ],
)
def test_custom_policy_rules(changes, code):
    fabric = with_policies(policy(**changes))
    assert code in codes(fabric, "Error")
    assert code not in codes(with_policies(policy()))


def test_lifetimes_are_local_and_need_not_match_but_algorithms_must():
    fabric = with_policies(policy(), policy(sa_lifetime_seconds=3600))
    assert "IpsecPolicyMismatch" not in codes(fabric)
    assert connectivity(ControlPlane(fabric), "10.0.2.4", "10.50.1.4").reachable
    fabric = with_policies(policy(), policy(dh_group="ECP384"))
    assert "IpsecPolicyMismatch" in codes(fabric)
    trace = connectivity(ControlPlane(fabric), "10.0.2.4", "10.50.1.4")
    assert trace.code == "VpnConnectionNotConnected"
    assert "IpsecPolicyMismatch" in trace.reason


def test_basic_takes_no_custom_policy():
    fabric = chain(sku_middle="Basic", bgp=False)
    c = fabric.connections["a-gw-to-b-gw"]
    fabric.connections[c.name] = c.__class__(
        c.name, c.from_gateway, c.to_gateway, "Vnet2Vnet", "k", False, policy()
    )
    assert "CustomIpsecPolicyNotSupported" in codes(fabric, "Error")


# -- redundancy (§3.3) ---------------------------------------------------------------------------


def test_redundant_tunnels_between_two_vnets_need_active_active():
    fabric = hub_and_spokes()
    fabric.connect_one_side("hub-gw-to-dr-gw-2", "hub-gw", "dr-gw", shared_key="abc123")
    assert "RedundantTunnelsNeedActiveActive" in codes(fabric, "Error")
    gateway = fabric.gateways["hub-gw"]
    fabric.gateways["hub-gw"] = gateway.__class__(
        "hub-gw", "hub", "VpnGw2", "Generation2", active_active=True
    )
    assert "RedundantTunnelsNeedActiveActive" not in codes(fabric)


# -- spoke to spoke through the hub gateway (§8 option 3) ---------------------------------------


def test_spoke_to_spoke_through_the_hub_vpn_gateway_with_udrs():
    fabric = hub_and_spokes(remote=False)
    for spoke, other in (("spoke1", "10.2.0.0/16"), ("spoke2", "10.1.0.0/16")):
        table = f"{spoke}-rt"
        fabric.route_table(table, [Route("to-other-spoke", other, "VirtualNetworkGateway")])
        vnet = fabric.vnets[spoke]
        subnet = vnet.subnets[0]
        fabric.vnets[spoke] = vnet.__class__(
            vnet.name,
            vnet.region,
            vnet.address_prefixes,
            (subnet.__class__(subnet.name, subnet.address_prefix, route_table=table),),
            vnet.hosts,
        )
    plane = ControlPlane(fabric)
    trace = connectivity(plane, "10.1.0.4", "10.2.0.4")
    assert trace.reachable, trace
    assert [h.type for h in trace.hops] == [
        "Source",
        "VirtualNetworkGateway",
        "VNetPeering",
        "Destination",
    ]
    assert connectivity(plane, "10.2.0.4", "10.1.0.4").reachable


# -- IKE version (§3.1) ------------------------------------------------------------------------


def policy_based_site(protocol: str | None, vpn_type: str = "PolicyBased") -> Fabric:
    """A Basic gateway (PolicyBased needs Basic, §3.1) with one tunnel to on-premises."""
    fabric = Fabric()
    fabric.vnet("hub", "westeurope", "10.0.0.0/16")
    fabric.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    fabric.subnet("hub", "app", "10.0.1.0/24")
    fabric.gateway("hub-gw", "hub", "Basic", vpn_type=vpn_type)
    fabric.local_network_gateway("onprem", ("192.168.0.0/16",), gateway_ip_address="203.0.113.10")
    options = {} if protocol is None else {"connection_protocol": protocol}
    fabric.connect_site("to-onprem", "hub-gw", "onprem", shared_key="k", **options)
    return fabric


@pytest.mark.parametrize(
    ("protocol", "vpn_type", "refused"),
    [
        ("IKEv2", "PolicyBased", True),  # §3.1: PolicyBased is IKEv1 only
        ("IKEv1", "PolicyBased", False),
        (None, "PolicyBased", False),  # unset: the gateway's own, IKEv1
        ("IKEv2", "RouteBased", False),
        ("IKEv1", "RouteBased", False),  # §3.7: route-based speaks both
    ],
)
def test_a_policy_based_gateway_speaks_ikev1_only(protocol, vpn_type, refused):
    fabric = policy_based_site(protocol, vpn_type)
    assert ("PolicyBasedGatewayRequiresIkev1" in codes(fabric, "Error")) is refused
    status = connection_status(fabric, fabric.connections["to-onprem"])
    assert status.up is not refused
    trace = connectivity(ControlPlane(fabric), "10.0.1.4", "192.168.1.10")
    assert trace.reachable is not refused
