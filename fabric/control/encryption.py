"""Encryption posture of a path: on each stretch of the way, is the packet encrypted, and how.

A path is cut into stretches between the nodes that handle the packet: the source NIC, network
virtual appliances, VPN gateways, the far end of a tunnel, the destination. Each stretch is:

* **IPsec** inside a VPN tunnel, with the negotiated cipher (§3.7). ESP NULL (IPsec encryption
  ``None``) protects integrity only: not encrypted.
* **DTLS** (Azure Virtual Network encryption, N5) between two VM NICs, within a VNet or across
  regional and global peerings, only when both VNets enable encryption and both VMs can use it:
  accelerated networking on the NIC and a supported size (``vmsizes.supports_vnet_encryption``).
  The only enforcement Azure supports, ``AllowUnencrypted``, sends the traffic of a VM that
  cannot encrypt in the clear, without an error (N5).
* otherwise **not encrypted**. Peering adds no encryption of its own (§2.8, N5 "Default without
  it"). Stretches to or from a gateway are not covered by VNet encryption, which encrypts
  traffic between VMs: N5 lists ExpressRoute gateways as not encrypted and says nothing of VPN
  gateways, so vnetsim does not claim it. A stretch between regions rides links between
  Microsoft datacenters, which MACsec encrypts at the link layer (§2.8): noted as
  ``link_layer``, not counted as encryption of the packet (it is hop by hop, not end to end).

Modelling decision (named here, shown in every detail it affects): a NIC whose accelerated
networking is not stated is taken to have it (``ACCELERATED_NETWORKING_UNSTATED``), as vnetsim's
default size Standard_D4s_v5 requires it (N3.3); a hypothetical NIC (an address no declared host
holds) is a VM of that default size.
"""

from __future__ import annotations

import attrs

from fabric.catalogue.vmsizes import DEFAULT_VM_SIZE, supports_vnet_encryption
from fabric.control.forwarding import (
    ON_PREMISES_REGION,
    ApplianceEgress,
    ApplianceHop,
    Arrival,
    CircuitHop,
    Crossing,
    Egress,
    FirewallHop,
    GatewayHop,
    InternetEgress,
    Leg,
    OnPremises,
    Path,
    PlatformArrival,
    ServiceEndpointEgress,
    Stranded,
    TunnelHop,
)
from fabric.control.ipsec import Negotiated
from fabric.model.records import Connection, Host, VNet

IPSEC = "IPsec"
DTLS = "DTLS"
MACSEC = "MACsec"
# Modelling decision: accelerated networking taken as on when a NIC does not say (see above).
ACCELERATED_NETWORKING_UNSTATED = True
DEFAULT_IPSEC_CIPHER = "GCMAES256"  # §3.7: Azure's default policy offers GCM-AES256 first


@attrs.frozen(slots=True)
class Protection:
    """How the packet travels on one stretch: encrypted or not, by what, and why."""

    encrypted: bool
    method: str | None  # IPSEC | DTLS | None
    detail: str
    cipher: str | None = None  # the IPsec encryption algorithm (IPsec only)
    link_layer: str | None = None  # MACSEC when the stretch crosses regions

    @property
    def label(self) -> str:
        """A short label for tables: ``IPsec GCMAES256``, ``DTLS`` or ``unencrypted``."""
        if not self.encrypted:
            return "unencrypted" + (f" ({self.link_layer} link)" if self.link_layer else "")
        return f"{self.method} {self.cipher}" if self.cipher else str(self.method)

    def to_json(self) -> dict:
        return {
            "encrypted": self.encrypted,
            "method": self.method,
            "cipher": self.cipher,
            "link_layer": self.link_layer,
            "detail": self.detail,
        }


@attrs.frozen(slots=True)
class Capability:
    """Whether a VM NIC can use VNet encryption, and why not."""

    capable: bool
    reason: str  # what was assumed, or what stops it


def vm_capability(host: Host | None) -> Capability:
    """Can this NIC (None: a hypothetical NIC of the default size) use VNet encryption (N5)?"""
    if host is None:
        return Capability(True, f"a NIC in the subnet, assumed a {DEFAULT_VM_SIZE}")
    size = host.vm_size or DEFAULT_VM_SIZE
    if not supports_vnet_encryption(size):
        return Capability(
            False,
            f"{host.name}'s size {size} is not among the sizes VNet encryption supports (N5: "
            "v5 and later D and E series, Dv4/Ddv4/Dav4, Ev4/Edv4/Eav4, Mv2/Msv2/Msv3, LSv3, "
            "Fasv6/Falsv6/Famsv6)",
        )
    if host.accelerated_networking is False:
        return Capability(False, f"{host.name} has accelerated networking off (N5 needs it)")
    notes = [] if host.vm_size else [f"size {DEFAULT_VM_SIZE} assumed"]
    if host.accelerated_networking is None and ACCELERATED_NETWORKING_UNSTATED:
        notes.append("accelerated networking assumed on")
    return Capability(True, f"{host.name}" + (f" ({', '.join(notes)})" if notes else ""))


def ipsec(
    connection: Connection, crosses_regions: bool, negotiated: Negotiated | None = None
) -> Protection:
    """The protection of a VPN tunnel stretch (§3.7); ``negotiated``: what the tunnel runs
    (default: the RouteBased default policy's GCM-AES256)."""
    policy = connection.ipsec_policy
    link = MACSEC if crosses_regions else None
    if policy is None:
        cipher = negotiated.encryption if negotiated is not None else DEFAULT_IPSEC_CIPHER
        default = negotiated.default if negotiated is not None else None
        kind = ", PolicyBased" if default is not None and default.vpn_type == "PolicyBased" else ""
        return Protection(
            True,
            IPSEC,
            f"tunnel {connection.name}: IPsec {cipher} (Azure's default policy{kind})",
            cipher,
            link,
        )
    if policy.ipsec_encryption == "None":
        return Protection(
            False,
            None,
            f"tunnel {connection.name}: ESP NULL (IPsec encryption None) protects integrity "
            f"({policy.ipsec_integrity}) but does not encrypt (§3.7)",
            None,
            link,
        )
    return Protection(
        True,
        IPSEC,
        f"tunnel {connection.name}: IPsec {policy.ipsec_encryption}/{policy.ipsec_integrity} "
        "(custom policy)",
        policy.ipsec_encryption,
        link,
    )


def between_vms(
    here: VNet,
    here_host: Host | None,
    there: VNet,
    there_host: Host | None,
    crosses_peering: bool,
    crosses_regions: bool,
) -> Protection:
    """The protection of a stretch from one VM NIC to another (N5): DTLS or the reason not."""
    link = MACSEC if crosses_regions else None
    off = [v.name for v in dict.fromkeys((here, there)) if not v.encryption]
    if off:
        which = " and ".join(off)
        peering = "; peering adds no encryption of its own (§2.8)" if crosses_peering else ""
        return Protection(
            False, None, f"VNet encryption is not enabled on {which} (N5){peering}", None, link
        )
    ends = (vm_capability(here_host), vm_capability(there_host))
    unable = [end for end in ends if not end.capable]
    if unable:
        return Protection(
            False,
            None,
            f"{unable[0].reason}: with enforcement AllowUnencrypted, the only one Azure "
            "supports, its traffic flows unencrypted without error (N5)",
            None,
            link,
        )
    return Protection(
        True,
        DTLS,
        f"VNet encryption (DTLS between hosts, N5): {ends[0].reason} and {ends[1].reason}",
        None,
        link,
    )


def not_encrypted(why: str, crosses_regions: bool) -> Protection:
    """A stretch nothing encrypts, with the reason."""
    return Protection(False, None, why, None, MACSEC if crosses_regions else None)


# -- a path's posture --------------------------------------------------------------------------


@attrs.frozen(slots=True)
class _End:
    """One end of a stretch: a VM NIC (vnet, host) or another node (``kind``)."""

    kind: str  # vm | gateway | firewall | circuit | tunnel | site | internet | platform | none
    vnet: VNet | None = None
    host: Host | None = None
    name: str = ""


def posture(path: Path) -> tuple[Protection | None, ...]:
    """The protection of the packet at each step of ``path`` (None for legs, which are travel):
    the source's step has the stretch it sends on, every other node the stretch it arrives by."""
    steps = path.steps
    result: list[Protection | None] = [None] * len(steps)
    start: _End | None = None
    pending: list[int] = []  # indices of the steps of the current stretch
    crossed = False  # a peering in the current stretch
    across = False  # a leg between regions in the current stretch
    in_tunnel = False  # the legs right after a TunnelHop are the tunnel's own
    for index, step in enumerate(steps):
        if isinstance(step, Leg):
            if not in_tunnel:
                across = across or (step.crosses_regions and step.region != ON_PREMISES_REGION)
            continue
        in_tunnel = False
        if isinstance(step, Egress):
            start, pending = _End("vm", step.location.vnet, step.location.host), [index]
            continue
        if isinstance(step, Crossing):
            crossed = True
            pending.append(index)
            continue
        if isinstance(step, TunnelHop):
            result[index] = _tunnel_protection(steps, index, step)
            start, pending, crossed, across = (
                _End("tunnel", name=_far_end_name(step)),
                [],
                False,
                False,
            )
            in_tunnel = True
            continue
        end = _end_of(step)
        if end is None or start is None:
            continue
        protection = _stretch(start, end, crossed, across)
        for i in (*pending, index):
            result[i] = protection
        start, pending, crossed, across = end, [], False, False
    return tuple(result)


def encrypted_throughout(path: Path) -> tuple[bool, int | None]:
    """True when no stretch of the path carries the packet in the clear; else the index of the
    first step that has it in the clear."""
    for index, protection in enumerate(posture(path)):
        if protection is not None and not protection.encrypted:
            return False, index
    return True, None


def _far_end_name(tunnel: TunnelHop) -> str:
    if tunnel.site is not None:
        return tunnel.site.name
    return tunnel.remote_gateway.name if tunnel.remote_gateway else tunnel.connection.to_gateway


def _tunnel_protection(steps, index: int, tunnel: TunnelHop) -> Protection:
    """IPsec over the tunnel; its legs follow the TunnelHop step."""
    across = False
    for step in steps[index + 1 :]:
        if not isinstance(step, Leg):
            break
        across = across or (step.crosses_regions and step.region != ON_PREMISES_REGION)
    return ipsec(tunnel.connection, across, tunnel.cipher)


def _end_of(step) -> _End | None:
    if isinstance(step, Arrival):
        return _End("vm", step.location.vnet, step.location.host, step.location.name)
    if isinstance(step, ApplianceHop):
        return _End("vm", step.vnet, step.host, step.host.name)
    if isinstance(step, GatewayHop):
        return _End("gateway", step.vnet, name=step.gateway.name)
    if isinstance(step, CircuitHop):
        return _End("circuit", name=step.circuit.name)
    if isinstance(step, FirewallHop):  # N5: Premium is covered like a VM; other tiers are not
        kind = "vm" if step.firewall.sku_tier == "Premium" else "firewall"
        return _End(kind, step.vnet, None, step.firewall.name)
    if isinstance(step, OnPremises):
        return _End("site", name=step.site.name)
    if isinstance(step, InternetEgress):
        return _End("internet", name="the internet")
    if isinstance(step, ServiceEndpointEgress):
        return _End("service", name=step.route.tag or "the service")
    if isinstance(step, ApplianceEgress):
        return _End("beyond", name=step.host.name)
    if isinstance(step, PlatformArrival):
        return _End("platform", name=str(step.address))
    if isinstance(step, Stranded):
        return _End("none", step.vnet, name=step.vnet.name)
    return None


def _stretch(start: _End, end: _End, crossed: bool, across: bool) -> Protection:
    if start.kind == "vm" and end.kind == "vm":
        return between_vms(start.vnet, start.host, end.vnet, end.host, crossed, across)
    firewall = next((e.name for e in (start, end) if e.kind == "firewall"), None)
    if firewall is not None:
        return not_encrypted(
            f"to or from Azure Firewall {firewall}: VNet encryption does not cover Azure "
            "Firewall Standard or Basic (N5; Premium is covered)",
            across,
        )
    circuit = next((e.name for e in (start, end) if e.kind == "circuit"), None)
    if end.kind == "site" and start.kind == "circuit":
        return not_encrypted(
            f"on premises, beyond ExpressRoute circuit {circuit}'s peering location (outside "
            "the model)",
            across,
        )
    if end.kind == "site":
        return not_encrypted(
            f"on premises, beyond the VPN device of {end.name} (outside the model)", across
        )
    if circuit is not None:
        return not_encrypted(
            f"over ExpressRoute circuit {circuit}: VNet encryption does not cover ExpressRoute "
            "gateways (N5) and private peering adds no encryption of its own here",
            across,
        )
    if end.kind == "internet":
        return not_encrypted("to the internet: Azure does not encrypt it", across)
    if end.kind == "service":
        return not_encrypted(
            f"to Azure service {end.name} over its service endpoint: VNet encryption covers "
            "traffic between VMs (N5)",
            across,
        )
    if end.kind == "beyond":
        return not_encrypted(f"beyond NVA {end.name} (outside the model)", across)
    if end.kind == "platform":
        return not_encrypted("to the host platform address", across)
    if end.kind == "none":
        return not_encrypted("the packet reaches no NIC", across)
    gateway = end.name if end.kind == "gateway" else start.name
    return not_encrypted(
        f"between a VM and gateway {gateway}: VNet encryption covers traffic between VMs (N5) "
        "and nothing else encrypts this stretch",
        across,
    )
