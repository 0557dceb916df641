"""Encryption posture of a path (azure-facts N5, §2.8, §3.7): peering adds no encryption; VNet
encryption (DTLS) only between two capable VMs in VNets that both enable it; IPsec in a VPN
tunnel with its cipher; validation warns about a VM that cannot use its VNet's encryption."""

from __future__ import annotations

import attrs
import pytest

from fabric.catalogue.vmsizes import supports_vnet_encryption
from fabric.checks import validate
from fabric.control.encryption import encrypted_throughout
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.model import IpsecPolicy
from fabric.model.container import Fabric
from fabric.watcher import connectivity
from tests.fabrics import hub_and_spokes


def two_vnets(
    *,
    encrypt: tuple[bool, bool] = (True, True),
    sizes: tuple[str | None, str | None] = ("Standard_D4s_v5", "Standard_D4s_v5"),
    accelerated: tuple[bool | None, bool | None] = (True, True),
    regions: tuple[str, str] = ("westeurope", "westeurope"),
) -> Fabric:
    fabric = Fabric()
    for i, name in enumerate(("app", "db")):
        fabric.vnet(name, regions[i], f"10.{i + 1}.0.0/16")
        fabric.subnet(name, "s", f"10.{i + 1}.0.0/24")
        fabric.host(
            name,
            f"{name}-vm",
            "s",
            f"10.{i + 1}.0.4",
            vm_size=sizes[i],
            accelerated_networking=accelerated[i],
        )
        if encrypt[i]:
            fabric.vnets[name] = attrs.evolve(fabric.vnets[name], encryption=True)
    fabric.peer("app", "db")
    return fabric


def trace(fabric: Fabric, src: str = "10.1.0.4", dst: str = "10.2.0.4"):
    result = connectivity(ControlPlane(fabric), src, dst, protocol="Tcp", port=443)
    assert result.reachable, result.reason
    return result


def test_peering_alone_does_not_encrypt():
    """§2.8 / N5: peering adds no encryption of its own."""
    result = trace(two_vnets(encrypt=(False, False)))
    assert [hop.encryption.encrypted for hop in result.hops] == [False, False, False]
    assert "peering adds no encryption" in result.hops[1].encryption.detail
    assert encrypted_throughout(result.path) == (False, 0)


def test_vnet_encryption_on_both_sides_with_capable_vms_is_dtls():
    result = trace(two_vnets())
    assert {hop.encryption.method for hop in result.hops} == {"DTLS"}
    assert encrypted_throughout(result.path) == (True, None)
    assert "[DTLS]" in str(result)


@pytest.mark.parametrize("encrypt", [(True, False), (False, True)])
def test_vnet_encryption_needs_both_vnets(encrypt):
    result = trace(two_vnets(encrypt=encrypt))
    off = "db" if encrypt == (True, False) else "app"
    assert not result.hops[-1].encryption.encrypted
    assert f"not enabled on {off}" in result.hops[-1].encryption.detail


@pytest.mark.parametrize(
    ("sizes", "accelerated", "why"),
    [
        (("Standard_D4s_v5", "Standard_F4s_v2"), (True, True), "Standard_F4s_v2"),
        (("Standard_D2s_v3", "Standard_D4s_v5"), (True, True), "Standard_D2s_v3"),
        (("Standard_D4s_v5", "Standard_D4s_v5"), (True, False), "accelerated networking off"),
    ],
)
def test_a_vm_that_cannot_encrypt_falls_back_silently(sizes, accelerated, why):
    """N5: AllowUnencrypted lets the traffic of an unsupported VM flow in the clear; validation
    says so (a warning: Azure accepts it)."""
    fabric = two_vnets(sizes=sizes, accelerated=accelerated)
    result = trace(fabric)
    detail = result.hops[-1].encryption.detail
    assert not result.hops[-1].encryption.encrypted
    assert why in detail
    assert "AllowUnencrypted" in detail
    warnings = [f for f in validate(fabric) if f.code == "VnetEncryptionNotSupportedByVm"]
    assert len(warnings) == 1
    assert warnings[0].severity == "Warning"
    assert why in warnings[0].message


def test_no_warning_without_encryption_or_with_capable_vms():
    codes = {f.code for f in validate(two_vnets())}
    assert "VnetEncryptionNotSupportedByVm" not in codes
    fabric = two_vnets(encrypt=(False, False), sizes=("Standard_F4s_v2", "Standard_F4s_v2"))
    assert "VnetEncryptionNotSupportedByVm" not in {f.code for f in validate(fabric)}


def test_global_peering_notes_macsec_but_is_not_encrypted():
    """§2.8: links between datacenters use MACsec (link layer), which is not encryption of the
    packet between the VMs."""
    fabric = two_vnets(encrypt=(False, False), regions=("westeurope", "northeurope"))
    hop = trace(fabric).hops[-1]
    assert hop.encryption.link_layer == "MACsec"
    assert not hop.encryption.encrypted
    assert trace(two_vnets(encrypt=(False, False))).hops[-1].encryption.link_layer is None


def test_vpn_tunnel_is_ipsec_with_the_default_cipher_and_the_vnet_legs_are_not():
    """§3.7: Azure's default policy negotiates GCM-AES256; VNet encryption covers VM-to-VM
    traffic only (N5), so the stretches to and from the gateways stay unencrypted."""
    result = trace(hub_and_spokes(), "10.1.0.4", "10.50.1.4")
    labels = [(hop.type, hop.encryption.label) for hop in result.hops]
    assert labels[2] == ("VirtualNetworkGateway", "IPsec GCMAES256")
    assert labels[0][1].startswith("unencrypted")
    assert labels[-1][1].startswith("unencrypted")
    assert encrypted_throughout(result.path)[0] is False


@pytest.mark.parametrize(
    ("encryption", "integrity", "encrypted", "cipher"),
    [("AES256", "SHA256", True, "AES256"), ("None", "SHA256", False, None)],
)
def test_custom_ipsec_policy_cipher_and_esp_null(encryption, integrity, encrypted, cipher):
    fabric = hub_and_spokes()
    policy = IpsecPolicy("AES256", "SHA256", "DHGroup14", encryption, integrity, "None")
    for key, connection in fabric.connections.items():
        fabric.connections[key] = attrs.evolve(connection, ipsec_policy=policy)
    tunnel = trace(fabric, "10.1.0.4", "10.50.1.4").hops[2].encryption
    assert tunnel.encrypted is encrypted
    assert tunnel.cipher == cipher
    if not encrypted:
        assert "ESP NULL" in tunnel.detail


def test_appliance_path_checks_each_stretch():
    """Spoke to spoke through an NVA: two VM-to-VM stretches, each needing both VNets."""
    document = load_topology("scenarios/hub_spoke_nva.yaml")
    fabric = document.fabric
    for name in ("spoke1", "spoke2"):
        fabric.vnets[name] = attrs.evolve(fabric.vnets[name], encryption=True)
    result = trace(fabric, "10.1.0.4", "10.2.0.4")
    assert [h.type for h in result.hops].count("VirtualAppliance") == 1
    assert "not enabled on hub" in result.hops[-1].encryption.detail
    fabric.vnets["hub"] = attrs.evolve(fabric.vnets["hub"], encryption=True)
    assert encrypted_throughout(trace(fabric, "10.1.0.4", "10.2.0.4").path) == (True, None)


def test_json_hops_keep_their_keys_and_add_encryption():
    hop = trace(two_vnets()).to_json()["hops"][0]
    assert {"type", "name", "address", "issues"} <= set(hop)
    assert set(hop["encryption"]) == {"encrypted", "method", "cipher", "link_layer", "detail"}
    assert hop["encryption"]["method"] == "DTLS"


def test_native_yaml_spells_vnet_encryption_and_accelerated_networking(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        """
vnets:
  - name: a
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    encryption: true
    subnets: [{name: s, address_prefix: 10.1.0.0/24}]
    hosts: [{name: a-vm, subnet: s, ip: 10.1.0.4, vm_size: Standard_F4s_v2,
             accelerated_networking: true}]
"""
    )
    fabric = load_topology(path).fabric
    assert fabric.vnets["a"].encryption
    assert "VnetEncryptionNotSupportedByVm" in {f.code for f in validate(fabric)}


@pytest.mark.parametrize(
    ("size", "supported"),
    [
        ("Standard_D4s_v5", True),
        ("Standard_E104is_v5", True),
        ("Standard_D2ads_v6", True),
        ("Standard_D4_v4", True),  # Dv4 is on the 2023 list
        ("Standard_E8d_v4", True),
        ("Standard_M208ms_v2", True),
        ("Standard_L8s_v3", True),
        ("Standard_F2as_v6", True),
        ("Standard_F4s_v2", False),
        ("Standard_D2s_v3", False),
        ("Standard_B2s", False),
        ("not a size", False),
    ],
)
def test_supported_sizes_follow_n5(size, supported):
    assert supports_vnet_encryption(size) is supported
