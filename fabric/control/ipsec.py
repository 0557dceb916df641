"""IPsec on a VNet-to-VNet tunnel: which cipher is negotiated, and the ESP bytes it adds.

Cipher: §3.7 of azure-facts.md. With the default policy both Azure gateways offer GCM-AES256
first, so it is negotiated (our derivation, labelled as such in the fact sheet). A PolicyBased
gateway offers AES256/SHA256 first and has no GCM offer at all (§3.7 tables), so its default is
AES256 + SHA256 (TC-VPN-4: the far end accepts everything, so the first offer is taken). With a
custom policy the IPsec encryption/integrity pair picks the measured column of §3.4. The other
parameters of the default policy (IKE versions, SA lifetimes, PFS, dead peer detection) are
``DEFAULT_POLICIES``, per VPN type.

Overhead: §3.8, derived from the RFCs (Azure publishes no byte counts). Tunnel mode adds a new
IPv4 header (20), the ESP header (8: SPI + sequence), the IV (8 for GCM, RFC 4106; 16 for CBC,
RFC 3602), padding so that payload + pad + 2 fills the cipher block (4-byte alignment for GCM,
16 for AES-CBC, 8 for 3DES/DES), the pad-length and next-header bytes (2), and the ICV (16 for
GCM and HMAC-SHA-256-128; 12 for HMAC-SHA1-96 and HMAC-MD5-96).
"""

from __future__ import annotations

import attrs

from fabric.catalogue.skus import DEFAULT_CIPHER
from fabric.model.records import IpsecPolicy

OUTER_IPV4 = 20
ESP_HEADER = 8
ESP_TRAILER = 2  # pad length + next header
FRAGMENT_HEADER = 20  # an outer packet above the MTU becomes two: one more outer IPv4 header


@attrs.frozen(slots=True)
class EspFormat:
    """Byte layout of one ESP cipher suite in tunnel mode."""

    name: str
    iv: int
    block: int
    icv: int

    def overhead(self, inner_bytes: int) -> int:
        """Bytes added to an inner IP packet of ``inner_bytes`` (RFC 4303 tunnel mode)."""
        pad = -(inner_bytes + ESP_TRAILER) % self.block
        return OUTER_IPV4 + ESP_HEADER + self.iv + pad + ESP_TRAILER + self.icv

    def wire_bytes(self, inner_bytes, mtu: int):
        """What the tunnel carries for an inner packet: ESP in tunnel mode, fragmented into two
        outer packets above ``mtu``. Works on an int or elementwise on a numpy int array."""
        wire = inner_bytes + self.overhead(inner_bytes)
        return wire + FRAGMENT_HEADER * (wire > mtu)


GCM = EspFormat("GCMAES", iv=8, block=4, icv=16)
AES_CBC_SHA256 = EspFormat("AES-CBC+SHA256", iv=16, block=16, icv=16)
AES_CBC_SHA1 = EspFormat("AES-CBC+SHA1", iv=16, block=16, icv=12)
DES3_SHA256 = EspFormat("3DES+SHA256", iv=8, block=8, icv=16)
DES3_SHA1 = EspFormat("3DES+SHA1", iv=8, block=8, icv=12)


@attrs.frozen(slots=True)
class DefaultPolicy:
    """Azure's default IPsec/IKE parameters of one VPN type (§3.7, AD:articles/vpn-gateway/
    vpn-gateway-about-vpn-devices.md): what a tunnel without a custom policy runs."""

    vpn_type: str
    ike_versions: tuple[str, ...]
    dh_group: str
    ike_sa_lifetime_seconds: int
    quick_mode_offers: tuple[str, ...]  # as initiator, in preference order, none with PFS
    sa_lifetime_seconds: int  # quick mode
    sa_data_size_kilobytes: int  # quick mode
    pfs_group: str
    dead_peer_detection: bool

    @property
    def first_offer(self) -> str:
        """The quick-mode proposal a peer that accepts everything takes (TC-VPN-4)."""
        return self.quick_mode_offers[0]


DEFAULT_POLICIES: dict[str, DefaultPolicy] = {
    "RouteBased": DefaultPolicy(
        "RouteBased",
        ("IKEv1", "IKEv2"),
        "DHGroup2",
        28_800,
        ("GCMAES256", "AES256/SHA1", "3DES/SHA1", "AES256/SHA256", "AES128/SHA1", "3DES/SHA256"),
        27_000,
        102_400_000,
        "None",
        True,
    ),
    "PolicyBased": DefaultPolicy(
        "PolicyBased",
        ("IKEv1",),
        "DHGroup2",
        28_800,
        ("AES256/SHA256", "AES256/SHA1", "AES128/SHA1", "3DES/SHA1"),
        3_600,
        102_400_000,
        "None",
        False,
    ),
}


@attrs.frozen(slots=True)
class Negotiated:
    """What a tunnel runs: the §3.4 throughput column, the ESP byte layout, the IPsec
    encryption algorithm, and the default policy when no custom one is set."""

    cipher_column: str  # GCMAES256 | AES256_SHA256 | DES3_SHA256
    esp: EspFormat
    note: str = ""
    encryption: str = DEFAULT_CIPHER
    default: DefaultPolicy | None = None


def negotiate(policy: IpsecPolicy | None, vpn_type: str = "RouteBased") -> Negotiated:
    """The cipher of a tunnel with this policy (None: Azure's default policy for the local
    gateway's ``vpn_type``)."""
    if policy is None:
        default = DEFAULT_POLICIES.get(vpn_type, DEFAULT_POLICIES["RouteBased"])
        if default.vpn_type == "PolicyBased":
            note = "default policy (PolicyBased): AES256/SHA256 offered first, no GCM offer"
            return Negotiated("AES256_SHA256", AES_CBC_SHA256, note, "AES256", default)
        note = "default policy: GCM-AES256 offered first (derived)"
        return Negotiated(DEFAULT_CIPHER, GCM, note, DEFAULT_CIPHER, default)
    encryption, integrity = policy.ipsec_encryption, policy.ipsec_integrity
    if encryption.startswith("GCMAES"):
        return Negotiated("GCMAES256", GCM, f"{encryption}: measured column GCMAES256", encryption)
    if encryption in ("DES3", "DES"):
        esp = DES3_SHA1 if integrity in ("SHA1", "MD5") else DES3_SHA256
        return Negotiated(
            "DES3_SHA256", esp, f"{encryption}/{integrity}: column DES3+SHA256", encryption
        )
    if encryption == "None":
        return Negotiated(
            "GCMAES256",
            attrs.evolve(GCM, iv=0, icv=12 if integrity == "SHA1" else 16),
            "ESP NULL encryption: capped like GCMAES256 (no measured column)",
            encryption,
        )
    esp = AES_CBC_SHA1 if integrity in ("SHA1", "MD5") else AES_CBC_SHA256
    return Negotiated(
        "AES256_SHA256", esp, f"{encryption}/{integrity}: column AES256+SHA256", encryption
    )
