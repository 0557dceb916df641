"""IPsec on a VNet-to-VNet tunnel: which cipher is negotiated, and the ESP bytes it adds.

Cipher: §3.7 of azure-facts.md. With the default policy both Azure gateways offer GCM-AES256
first, so it is negotiated (our derivation, labelled as such in the fact sheet). With a custom
policy the IPsec encryption/integrity pair picks the measured column of §3.4.

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
class Negotiated:
    """What a tunnel runs: the §3.4 throughput column and the ESP byte layout."""

    cipher_column: str  # GCMAES256 | AES256_SHA256 | DES3_SHA256
    esp: EspFormat
    note: str = ""


def negotiate(policy: IpsecPolicy | None) -> Negotiated:
    """The cipher of a tunnel with this policy (None: Azure's default policy)."""
    if policy is None:
        return Negotiated(DEFAULT_CIPHER, GCM, "default policy: GCM-AES256 offered first (derived)")
    encryption, integrity = policy.ipsec_encryption, policy.ipsec_integrity
    if encryption.startswith("GCMAES"):
        return Negotiated("GCMAES256", GCM, f"{encryption}: measured column GCMAES256")
    if encryption in ("DES3", "DES"):
        esp = DES3_SHA1 if integrity in ("SHA1", "MD5") else DES3_SHA256
        return Negotiated("DES3_SHA256", esp, f"{encryption}/{integrity}: column DES3+SHA256")
    if encryption == "None":
        return Negotiated(
            "GCMAES256",
            attrs.evolve(GCM, iv=0, icv=12 if integrity == "SHA1" else 16),
            "ESP NULL encryption: capped like GCMAES256 (no measured column)",
        )
    esp = AES_CBC_SHA1 if integrity in ("SHA1", "MD5") else AES_CBC_SHA256
    return Negotiated("AES256_SHA256", esp, f"{encryption}/{integrity}: column AES256+SHA256")
