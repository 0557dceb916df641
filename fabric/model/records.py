"""The Azure network model: frozen attrs records that hold what a user declares.

Records check their own shape on creation (types, enumerations with Azure's spelling). Rules
that relate several resources (overlaps, peering states, limits) live in ``fabric.control``.
Parsing of YAML/ARM/REST lives in ``fabric.io``; these classes know nothing of file formats.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import attrs

DIRECTIONS = ("Inbound", "Outbound")
ACCESSES = ("Allow", "Deny")
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")
# §4.3: next hop types a user-defined route may use ("VNet peering" is system-only).
UDR_NEXT_HOP_TYPES = ("VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None")
VPN_TYPES = ("RouteBased", "PolicyBased")
GATEWAY_TYPES = ("Vpn", "ExpressRoute")
CONNECTION_PROTOCOLS = ("IKEv2", "IKEv1")
FIREWALL_TIERS = ("Basic", "Standard", "Premium")
FIREWALL_PROTOCOLS = ("TCP", "UDP", "ICMP", "Any")
OS_PROFILES = ("linux", "windows", "tuned")
GENERATIONS = ("Generation1", "Generation2")
CONNECTION_TYPES = ("Vnet2Vnet", "IPsec", "ExpressRoute", "VPNClient")
PEERING_STATES = ("Initiated", "Connected", "Disconnected")
IKE_ENCRYPTIONS = ("AES256", "AES192", "AES128", "DES3", "DES", "GCMAES256", "GCMAES128")
IKE_INTEGRITIES = ("SHA384", "SHA256", "SHA1", "MD5", "GCMAES256", "GCMAES128")
DH_GROUPS = (
    "DHGroup24",
    "ECP384",
    "ECP256",
    "DHGroup14",
    "DHGroup2048",
    "DHGroup2",
    "DHGroup1",
    "None",
)
IPSEC_ENCRYPTIONS = (
    "GCMAES256",
    "GCMAES192",
    "GCMAES128",
    "AES256",
    "AES192",
    "AES128",
    "DES3",
    "DES",
    "None",
)
IPSEC_INTEGRITIES = ("GCMAES256", "GCMAES192", "GCMAES128", "SHA256", "SHA1", "MD5")
PFS_GROUPS = ("PFS24", "ECP384", "ECP256", "PFS2048", "PFS2", "PFS1", "PFS14", "PFSMM", "None")
CIRCUIT_TIERS = ("Local", "Standard", "Premium")  # N1.5
CIRCUIT_FAMILIES = ("MeteredData", "UnlimitedData")
CIRCUIT_PROVISIONING_STATES = ("NotProvisioned", "Provisioning", "Provisioned", "Deprovisioning")


def suggest(value: object, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the nearest choice, or the list of choices."""
    choices = list(choices)
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]!r}?"
    if not choices:
        return "none is declared in this input"
    return f"expected one of: {', '.join(choices)}"


ZONES = ("1", "2", "3")


def _one_of(choices: tuple[str, ...]):
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            raise ValueError(f"{attribute.name}: {value!r} is not valid; {suggest(value, choices)}")

    return check


def _text(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _optional_text(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        _text(instance, attribute, value)


def _flag(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be true or false, got {value!r}")


def _strings(value: Any) -> tuple[str, ...]:
    """A string or a list of strings as a tuple (ARM allows both singular and plural fields)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        for item in value:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise TypeError(f"expected a list of strings, got item {item!r}")
        return tuple(str(item) for item in value)
    raise TypeError(f"expected a string or a list of strings, got {value!r}")


def _positive_number(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


# Field metadata read by the native YAML schema (fabric.io.native): "yaml" renames the key,
# "aliases" adds accepted spellings, "kind" overrides the kind derived from the type.
_PORT_FIELD = {"kind": "port, range or list of them"}


def _integer(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """An int, not a bool (a rule's priority)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an integer, got {value!r}")


def _addresses(alias: str) -> Any:
    """A rule side's addresses (ARM's plural field, its singular spelling as ``alias``)."""
    return attrs.field(default=("*",), converter=_strings, metadata={"aliases": (alias,)})


def _port_ranges(alias: str) -> Any:
    """A rule side's ports (ARM's plural field, its singular spelling as ``alias``)."""
    return attrs.field(
        default=("*",), converter=_strings, metadata=_PORT_FIELD | {"aliases": (alias,)}
    )


@attrs.frozen(slots=True)
class SecurityRule:
    """One NSG rule. Address and port fields hold one or more ARM-style values."""

    name: str = attrs.field(validator=_text)
    priority: int = attrs.field(validator=_integer)
    direction: str = attrs.field(validator=_one_of(DIRECTIONS))
    access: str = attrs.field(validator=_one_of(ACCESSES))
    protocol: str = attrs.field(default="*", validator=_one_of(PROTOCOLS))
    source_address_prefixes: tuple[str, ...] = _addresses("source_address_prefix")
    source_port_ranges: tuple[str, ...] = _port_ranges("source_port_range")
    destination_address_prefixes: tuple[str, ...] = _addresses("destination_address_prefix")
    destination_port_ranges: tuple[str, ...] = _port_ranges("destination_port_range")
    description: str | None = attrs.field(default=None, validator=_optional_text)
    # N14: a side names either address prefixes or application security groups (by name).
    source_application_security_groups: tuple[str, ...] = attrs.field(
        default=(), converter=_strings
    )
    destination_application_security_groups: tuple[str, ...] = attrs.field(
        default=(), converter=_strings
    )


@attrs.frozen(slots=True)
class Nsg:
    """A network security group: custom rules (default rules are implied, see fabric.nsg)."""

    name: str = attrs.field(validator=_text)
    security_rules: tuple[SecurityRule, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen(slots=True)
class Route:
    """A user-defined route."""

    name: str = attrs.field(validator=_text)
    address_prefix: str = attrs.field(validator=_text)
    next_hop_type: str = attrs.field(validator=_text)
    next_hop_ip_address: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(slots=True)
class RouteTable:
    """A route table: user-defined routes and the gateway-route propagation switch."""

    name: str = attrs.field(validator=_text)
    routes: tuple[Route, ...] = attrs.field(default=(), converter=tuple)
    disable_bgp_route_propagation: bool = attrs.field(default=False, validator=_flag)


@attrs.frozen(slots=True)
class Subnet:
    """A subnet with its optional NSG and route table (referenced by name)."""

    name: str = attrs.field(validator=_text)
    address_prefix: str = attrs.field(validator=_text)
    nsg: str | None = attrs.field(default=None, validator=_optional_text)
    route_table: str | None = attrs.field(default=None, validator=_optional_text)
    # N16: services with an endpoint on this subnet, e.g. "Microsoft.Storage".
    service_endpoints: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    # More ranges of the subnet (ARM addressPrefixes), e.g. the IPv6 /64 of a dual-stack one.
    additional_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    # N18.1: the NAT gateway its traffic to the internet leaves through (0 or 1 per subnet).
    nat_gateway: str | None = attrs.field(default=None, validator=_optional_text)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every range of the subnet, the primary one first."""
        return (self.address_prefix, *self.additional_prefixes)


@attrs.frozen(slots=True)
class Host:
    """A VM NIC: a synthetic endpoint, or an appliance when IP forwarding is on.

    ``vm`` names the VM the NIC belongs to (default: the NIC's own name): NICs of one VM share
    its size's egress cap (N3.1). ``bandwidth_mbps`` overrides the size's cap when given.
    """

    name: str = attrs.field(validator=_text)
    subnet: str = attrs.field(validator=_text)
    ip: str = attrs.field(validator=_text)
    nsg: str | None = attrs.field(default=None, validator=_optional_text)
    bandwidth_mbps: float | None = attrs.field(default=None)
    enable_ip_forwarding: bool = attrs.field(default=False, validator=_flag)
    vm_size: str | None = attrs.field(default=None, validator=_optional_text)
    vm: str | None = attrs.field(default=None, validator=_optional_text)
    zone: str | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(str),
        metadata={"kind": "string or integer"},
    )
    os_profile: str | None = attrs.field(default=None)
    application_security_groups: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    accelerated_networking: bool | None = attrs.field(default=None)

    @zone.validator
    def _zone(self, attribute: attrs.Attribute, value: Any) -> None:
        # a region's availability zones are 1, 2 and 3 (N1.3, N2.3: "two of the three zones");
        # an importer's placeholder for a value unknown offline is let through
        if value is not None and value not in ZONES and "${" not in value:
            raise ValueError(f"zone: {value!r} is not an availability zone; use 1, 2 or 3")

    @bandwidth_mbps.validator
    def _bandwidth(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            _positive_number(self, attribute, value)

    @os_profile.validator
    def _os(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            _one_of(OS_PROFILES)(self, attribute, value)

    @property
    def vm_name(self) -> str:
        """The VM this NIC belongs to."""
        return self.vm or self.name


@attrs.frozen(slots=True)
class VNet:
    """A virtual network in one region, with one or more address prefixes."""

    name: str = attrs.field(validator=_text)
    region: str = attrs.field(validator=_text)
    address_prefixes: tuple[str, ...] = attrs.field(converter=_strings)
    subnets: tuple[Subnet, ...] = attrs.field(default=(), converter=tuple)
    hosts: tuple[Host, ...] = attrs.field(default=(), converter=tuple)
    subscription: str | None = attrs.field(default=None, validator=_optional_text)
    tenant: str | None = attrs.field(default=None, validator=_optional_text)
    # N5: VNet encryption; enforcement AllowUnencrypted is the only one that works at GA.
    encryption: bool = attrs.field(default=False, validator=_flag)
    # Known only by reference (an importer met a peering or gateway of a VNet defined
    # elsewhere): its address space and region are unknown, and its own rules are not checked.
    external: bool = attrs.field(default=False, validator=_flag)

    def subnet(self, name: str) -> Subnet:
        """The subnet called ``name``; KeyError names the ones that exist."""
        for subnet in self.subnets:
            if subnet.name == name:
                return subnet
        raise KeyError(
            f"VNet {self.name} has no subnet {name!r} ({suggest(name, self.subnet_names)})"
        )

    @property
    def subnet_names(self) -> tuple[str, ...]:
        """Names of the subnets, in declaration order."""
        return tuple(subnet.name for subnet in self.subnets)


@attrs.frozen(slots=True)
class Peering:
    """One side of a VNet peering: the link resource that lives in ``vnet`` and points at
    ``remote_vnet``. ``peering_state`` is the state Azure reported (REST import) or that an API
    action left (Disconnected); None means it is derived from the other side's presence.
    ``remote_address_space`` is the snapshot of the remote prefixes as last synced (None: in sync).
    """

    name: str = attrs.field(validator=_text)
    vnet: str = attrs.field(validator=_text, metadata={"yaml": "from"})
    remote_vnet: str = attrs.field(validator=_text, metadata={"yaml": "to"})
    allow_virtual_network_access: bool = attrs.field(default=True, validator=_flag)
    allow_forwarded_traffic: bool = attrs.field(default=False, validator=_flag)
    allow_gateway_transit: bool = attrs.field(default=False, validator=_flag)
    use_remote_gateways: bool = attrs.field(default=False, validator=_flag)
    peering_state: str | None = attrs.field(default=None)
    remote_address_space: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_strings)
    )

    @peering_state.validator
    def _state(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            _one_of(PEERING_STATES)(self, attribute, value)


@attrs.frozen(slots=True)
class VpnGateway:
    """A virtual network gateway (VPN, or ExpressRoute with ``gateway_type``) deployed in a
    VNet's GatewaySubnet. ``bgp_asn`` None means the default 65515 with no ASN asked for."""

    name: str = attrs.field(validator=_text)
    vnet: str = attrs.field(validator=_text)
    sku: str = attrs.field(validator=_text)
    generation: str = attrs.field(default="Generation1", validator=_one_of(GENERATIONS))
    vpn_type: str = attrs.field(default="RouteBased", validator=_one_of(VPN_TYPES))
    active_active: bool = attrs.field(default=False, validator=_flag)
    bgp_asn: int = attrs.field(default=65515)  # §3.9: default ASN, assigned even with BGP off
    enable_bgp: bool = attrs.field(default=False, validator=_flag)
    gateway_type: str = attrs.field(default="Vpn", validator=_one_of(GATEWAY_TYPES))
    # N1.6: an ExpressRoute gateway accepts prefixes of other VNets linked to its circuits only
    # when this is on (ARM allowRemoteVnetTraffic; off by default for new gateways).
    allow_remote_vnet_traffic: bool = attrs.field(default=False, validator=_flag)
    # N1.1: ErGwScale's (minimum) scale units, 1-40 (ARM autoScaleConfiguration.bounds.min).
    scale_units: int | None = attrs.field(default=None)

    @scale_units.validator
    def _units(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"scale_units must be an integer, got {value!r}")

    @bgp_asn.validator
    def _asn(self, attribute: attrs.Attribute, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**32:
            raise ValueError(f"bgp_asn must be an integer from 1 to 4294967295, got {value!r}")


@attrs.frozen(slots=True)
class IpsecPolicy:
    """A custom IPsec/IKE policy (§3.7). Without one, Azure's default policy applies."""

    ike_encryption: str = attrs.field(validator=_one_of(IKE_ENCRYPTIONS))
    ike_integrity: str = attrs.field(validator=_one_of(IKE_INTEGRITIES))
    dh_group: str = attrs.field(validator=_one_of(DH_GROUPS))
    ipsec_encryption: str = attrs.field(validator=_one_of(IPSEC_ENCRYPTIONS))
    ipsec_integrity: str = attrs.field(validator=_one_of(IPSEC_INTEGRITIES))
    pfs_group: str = attrs.field(validator=_one_of(PFS_GROUPS))
    sa_lifetime_seconds: int = attrs.field(default=27_000)
    sa_data_size_kilobytes: int = attrs.field(default=102_400_000)


@attrs.frozen(slots=True)
class Connection:
    """One side of a gateway connection: from this gateway to the remote one (Vnet2Vnet), to a
    local network gateway (IPsec, site-to-site) or to an ExpressRoute circuit (ExpressRoute)."""

    name: str = attrs.field(validator=_text)
    from_gateway: str = attrs.field(validator=_text, metadata={"yaml": "from"})
    to_gateway: str = attrs.field(validator=_text, metadata={"yaml": "to"})
    connection_type: str = attrs.field(default="Vnet2Vnet", validator=_one_of(CONNECTION_TYPES))
    shared_key: str | None = attrs.field(default=None, validator=_optional_text)
    enable_bgp: bool = attrs.field(default=False, validator=_flag)
    ipsec_policy: IpsecPolicy | None = attrs.field(default=None)
    connection_status: str | None = attrs.field(default=None, validator=_optional_text)
    use_policy_based_traffic_selectors: bool = attrs.field(default=False, validator=_flag)
    # None: the gateway's own (IKEv2 on RouteBased, IKEv1 on PolicyBased, §3.1)
    connection_protocol: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_one_of(CONNECTION_PROTOCOLS))
    )
    dpd_timeout_seconds: int | None = attrs.field(default=None)
    routing_weight: int = attrs.field(default=0)
    express_route_gateway_bypass: bool = attrs.field(default=False, validator=_flag)
    # N1.5/N7: what lets a gateway in another subscription link to a circuit.
    authorization_key: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(slots=True)
class ExpressRouteCircuit:
    """An ExpressRoute circuit (N1.5): its peering location (a metro, where the MSEE pair
    is), bandwidth (duplex), SKU tier and family, and what on-premises advertises over its
    private peering (``on_premises_prefixes``, ``as_path_prepend``: modelling inputs, not
    ARM properties). ``express_route_port`` names the ExpressRoute Direct port it uses (None:
    a provider circuit). ``service_provider_provisioning_state`` None means not reported
    (taken as Provisioned). ``bfd`` (a modelling input, not an ARM property) says whether BFD
    runs on the private peering: N1.8 has it on by default on the MSEE side; the customer's
    router must run it too (false also stands for a peering made before BFD and not reset), and
    without it a link failure is detected only by the BGP hold timer."""

    name: str = attrs.field(validator=_text)
    peering_location: str = attrs.field(validator=_text)
    bandwidth_mbps: float = attrs.field(validator=_positive_number)
    sku_tier: str = attrs.field(default="Standard", validator=_one_of(CIRCUIT_TIERS))
    sku_family: str = attrs.field(default="MeteredData", validator=_one_of(CIRCUIT_FAMILIES))
    on_premises_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    service_provider_name: str | None = attrs.field(default=None, validator=_optional_text)
    express_route_port: str | None = attrs.field(default=None, validator=_optional_text)
    peer_asn: int | None = attrs.field(default=None)
    as_path_prepend: int = attrs.field(default=0)
    service_provider_provisioning_state: str | None = attrs.field(default=None)
    subscription: str | None = attrs.field(default=None, validator=_optional_text)
    bfd: bool = attrs.field(default=True, validator=_flag)

    @as_path_prepend.validator
    def _prepend(self, attribute: attrs.Attribute, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"as_path_prepend must be an integer >= 0, got {value!r}")

    @peer_asn.validator
    def _peer_asn(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**32
        ):
            raise ValueError(f"peer_asn must be an integer from 1 to 4294967295, got {value!r}")

    @service_provider_provisioning_state.validator
    def _state(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            _one_of(CIRCUIT_PROVISIONING_STATES)(self, attribute, value)

    @property
    def direct(self) -> bool:
        """True for an ExpressRoute Direct circuit (it uses a Direct port)."""
        return self.express_route_port is not None


@attrs.frozen(slots=True)
class BgpSettings:
    """BGP settings of an on-premises VPN device (N12.1). ``advertised_prefixes`` is what the
    device announces over BGP: not part of the ARM resource, a modelling input (only a BGP
    connection carries it, and the gateway's import filter applies, §3.9)."""

    asn: int = attrs.field()
    bgp_peering_address: str | None = attrs.field(default=None, validator=_optional_text)
    peer_weight: int = attrs.field(default=0)
    advertised_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@attrs.frozen(slots=True)
class LocalNetworkGateway:
    """An on-premises site (N12.1): its VPN device's public IP or FQDN, the prefixes behind it,
    and optional BGP settings. It is the far end of IPsec connections."""

    name: str = attrs.field(validator=_text)
    address_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    gateway_ip_address: str | None = attrs.field(default=None, validator=_optional_text)
    fqdn: str | None = attrs.field(default=None, validator=_optional_text)
    bgp_settings: BgpSettings | None = attrs.field(default=None)
    region: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(slots=True)
class FirewallNetworkRule:
    """A classic network rule of Azure Firewall (N11.8)."""

    name: str = attrs.field(validator=_text)
    protocols: tuple[str, ...] = attrs.field(default=("Any",), converter=_strings)
    source_addresses: tuple[str, ...] = attrs.field(default=("*",), converter=_strings)
    destination_addresses: tuple[str, ...] = attrs.field(default=("*",), converter=_strings)
    destination_ports: tuple[str, ...] = attrs.field(default=("*",), converter=_strings)


@attrs.frozen(slots=True)
class FirewallRuleCollection:
    """A network rule collection: priority 100-65000, one action for all its rules (N11.7)."""

    name: str = attrs.field(validator=_text)
    priority: int = attrs.field()
    action: str = attrs.field(validator=_one_of(ACCESSES))
    rules: tuple[FirewallNetworkRule, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen(slots=True)
class Firewall:
    """An Azure Firewall in a VNet's AzureFirewallSubnet (N11). ``private_ip`` None means the
    address Azure derives (the subnet's first usable, N11.5). ``network_rule_collections`` None
    means the rules are not known here (a firewall policy defined elsewhere)."""

    name: str = attrs.field(validator=_text)
    vnet: str = attrs.field(validator=_text)
    sku_tier: str = attrs.field(default="Standard", validator=_one_of(FIREWALL_TIERS))
    private_ip: str | None = attrs.field(default=None, validator=_optional_text)
    network_rule_collections: tuple[FirewallRuleCollection, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(tuple)
    )
    firewall_policy: str | None = attrs.field(default=None, validator=_optional_text)
    threat_intel_mode: str = attrs.field(default="Alert")


def _count(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """None, or an integer >= 0 (how many of something)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{attribute.name} must be an integer >= 0, got {value!r}")


@attrs.frozen(slots=True)
class NatGateway:
    """A NAT gateway (N18.1): outbound internet for the subnets that name it (the association
    lives on the subnet, ``Subnet.nat_gateway``), by SNAT to its public IPs and prefixes.
    ``public_ip_count`` says how many public IPs it has when they are not named here (None:
    count the named ones); ``idle_timeout_in_minutes`` is its TCP idle timer (UDP's is fixed
    at 4 minutes)."""

    name: str = attrs.field(validator=_text)
    public_ip_addresses: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    public_ip_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    public_ip_count: int | None = attrs.field(default=None, validator=_count)
    idle_timeout_in_minutes: int = attrs.field(default=4, validator=_integer)

    @property
    def public_ips(self) -> int:
        """How many public IPs and prefixes it has (each counts one toward Azure's 16)."""
        if self.public_ip_count is not None:
            return self.public_ip_count
        return len(self.public_ip_addresses) + len(self.public_ip_prefixes)


BASTION_SKUS = ("Developer", "Basic", "Standard", "Premium")
BASTION_SUBNET = "AzureBastionSubnet"  # the subnet a Bastion host (but Developer) lives in


@attrs.frozen(slots=True)
class BastionHost:
    """An Azure Bastion host (N18.2): RDP and SSH to VMs by their private addresses, from its
    instances in ``AzureBastionSubnet`` of its VNet (the Developer SKU has no such subnet and
    no peering support: it reaches its own VNet's VMs only). Other SKUs reach the VMs of their
    VNet and of directly peered VNets, regional and global, within one tenant."""

    name: str = attrs.field(validator=_text)
    vnet: str = attrs.field(validator=_text)
    sku: str = attrs.field(default="Basic", validator=_one_of(BASTION_SKUS))


@attrs.frozen(slots=True)
class ApplicationSecurityGroup:
    """A named group of NICs that NSG rules can name instead of addresses (N14)."""

    name: str = attrs.field(validator=_text)


@attrs.frozen(slots=True)
class BgpPeer:
    """An NVA peered with a Route Server, and the prefixes it advertises (N15).
    ``advertised_prefixes`` and ``as_path_prepend`` (the AS path is the NVA's ASN, repeated
    that many more times) are modelling inputs, not ARM properties."""

    name: str = attrs.field(validator=_text)
    peer_ip: str = attrs.field(validator=_text)
    peer_asn: int = attrs.field()
    advertised_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    as_path_prepend: int = attrs.field(default=0)

    @as_path_prepend.validator
    def _prepend(self, attribute: attrs.Attribute, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"as_path_prepend must be an integer >= 0, got {value!r}")


@attrs.frozen(slots=True)
class RouteServer:
    """Azure Route Server in a VNet's RouteServerSubnet: a BGP speaker, control plane only."""

    name: str = attrs.field(validator=_text)
    vnet: str = attrs.field(validator=_text)
    allow_branch_to_branch_traffic: bool = attrs.field(default=False, validator=_flag)
    bgp_connections: tuple[BgpPeer, ...] = attrs.field(default=(), converter=tuple)


# -- Azure Virtual Network Manager (N8) and permissions across subscriptions and tenants (§2.9,
# N7). Enumerations are those of the 2025-05-01 ARM API (N8.1).
CONNECTIVITY_TOPOLOGIES = ("HubAndSpoke", "Mesh")
GROUP_CONNECTIVITIES = ("None", "DirectlyConnected")
ADDRESS_OVERLAP_MODES = ("Allowed", "Disallowed")
PEERING_ENFORCEMENTS = ("Unenforced", "Enforced")
PRIVATE_ENDPOINT_SCALES = ("Standard", "HighScale")
SCOPE_CONNECTION_STATES = ("Connected", "Pending", "Conflict", "Revoked")


@attrs.frozen(slots=True)
class NetworkGroup:
    """An AVNM network group with static members (VNet names), in their declared order."""

    name: str = attrs.field(validator=_text)
    members: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    network_manager: str | None = attrs.field(default=None, validator=_optional_text)
    description: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(slots=True)
class GroupItem:
    """One entry of a configuration's ``appliesToGroups``: a network group and how its members
    connect. ``group_connectivity`` DirectlyConnected adds a connected group among the spokes
    of a hub-and-spoke; ``use_hub_gateway`` gives the spokes gateway transit through the hub;
    ``is_global`` lets the group's connected group span regions (N8.1)."""

    network_group: str = attrs.field(validator=_text)
    group_connectivity: str = attrs.field(default="None", validator=_one_of(GROUP_CONNECTIVITIES))
    use_hub_gateway: bool = attrs.field(default=False, validator=_flag)
    is_global: bool = attrs.field(default=False, validator=_flag)


@attrs.frozen(slots=True)
class ConnectivityConfiguration:
    """An AVNM connectivity configuration (``networkManagers/connectivityConfigurations``),
    deployed. ``hubs`` names the hub VNet(s) of a HubAndSpoke. The ARM API nests the last three
    fields under ``connectivityCapabilities``; the native format keeps them flat."""

    name: str = attrs.field(validator=_text)
    connectivity_topology: str = attrs.field(validator=_one_of(CONNECTIVITY_TOPOLOGIES))
    applies_to_groups: tuple[GroupItem, ...] = attrs.field(default=(), converter=tuple)
    hubs: tuple[str, ...] = attrs.field(
        default=(), converter=_strings, metadata={"aliases": ("hub",)}
    )
    is_global: bool = attrs.field(default=False, validator=_flag)
    delete_existing_peering: bool = attrs.field(default=False, validator=_flag)
    connected_group_address_overlap: str = attrs.field(
        default="Allowed", validator=_one_of(ADDRESS_OVERLAP_MODES)
    )
    peering_enforcement: str = attrs.field(
        default="Unenforced", validator=_one_of(PEERING_ENFORCEMENTS)
    )
    connected_group_private_endpoints_scale: str = attrs.field(
        default="Standard", validator=_one_of(PRIVATE_ENDPOINT_SCALES)
    )
    network_manager: str | None = attrs.field(default=None, validator=_optional_text)
    description: str | None = attrs.field(default=None, validator=_optional_text)

    @property
    def group_names(self) -> tuple[str, ...]:
        """The network groups the configuration applies to, in order."""
        return tuple(item.network_group for item in self.applies_to_groups)


# §5.3: a security admin rule's access. "Allow" lets NSGs decide; "AlwaysAllow" and "Deny" end
# the evaluation (ARM's securityAdminConfigurations/ruleCollections/rules, kind Custom).
ADMIN_ACCESSES = ("Allow", "AlwaysAllow", "Deny")


def _admin_protocol(value: Any) -> Any:
    """ARM's admin rules spell any protocol ``Any``; the native format's NSG rules say ``*``."""
    return "*" if isinstance(value, str) and value.lower() == "any" else value


@attrs.frozen(slots=True)
class AdminRule:
    """An AVNM security admin rule (§5.3): evaluated before NSGs, the lowest priority number
    first. Address fields hold prefixes or service tags (ARM's ``sources``/``destinations``)."""

    name: str = attrs.field(validator=_text)
    priority: int = attrs.field(validator=_integer)
    direction: str = attrs.field(validator=_one_of(DIRECTIONS))
    access: str = attrs.field(validator=_one_of(ADMIN_ACCESSES))
    protocol: str = attrs.field(
        default="*", converter=_admin_protocol, validator=_one_of(PROTOCOLS)
    )
    source_address_prefixes: tuple[str, ...] = _addresses("source_address_prefix")
    source_port_ranges: tuple[str, ...] = _port_ranges("source_port_range")
    destination_address_prefixes: tuple[str, ...] = _addresses("destination_address_prefix")
    destination_port_ranges: tuple[str, ...] = _port_ranges("destination_port_range")
    description: str | None = attrs.field(default=None, validator=_optional_text)

    # Admin rules name no application security groups; NSG matching reads these.
    @property
    def source_application_security_groups(self) -> tuple[str, ...]:
        return ()

    @property
    def destination_application_security_groups(self) -> tuple[str, ...]:
        return ()


@attrs.frozen(slots=True)
class AdminRuleCollection:
    """A rule collection of a security admin configuration: its rules apply to the VNets of
    the network groups it names."""

    name: str = attrs.field(validator=_text)
    applies_to_groups: tuple[str, ...] = attrs.field(converter=_strings)
    rules: tuple[AdminRule, ...] = attrs.field(default=(), converter=tuple)
    description: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(slots=True)
class SecurityAdminConfiguration:
    """An AVNM security admin configuration (``networkManagers/securityAdminConfigurations``),
    deployed: its rule collections' rules are evaluated before NSGs (§5.3)."""

    name: str = attrs.field(validator=_text)
    rule_collections: tuple[AdminRuleCollection, ...] = attrs.field(default=(), converter=tuple)
    network_manager: str | None = attrs.field(default=None, validator=_optional_text)
    description: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(slots=True)
class ScopeConnection:
    """The manager side of a cross-tenant scope (``networkManagers/scopeConnections``, N7): a
    request to manage ``subscription`` of ``tenant``. ``connection_state`` is what Azure
    reported (None: derived from both sides)."""

    name: str = attrs.field(validator=_text)
    tenant: str = attrs.field(validator=_text)
    subscription: str = attrs.field(validator=_text)
    connection_state: str | None = attrs.field(default=None)

    @connection_state.validator
    def _state(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            _one_of(SCOPE_CONNECTION_STATES)(self, attribute, value)


@attrs.frozen(slots=True)
class NetworkManager:
    """An AVNM instance: where it lives (tenant, subscription), the subscriptions of its own
    tenant it manages (empty: not checked), its cross-tenant scope connections, and whether
    the high-scale connected group feature (``AllowHighScaleConnectedGroup``) is registered."""

    name: str = attrs.field(validator=_text)
    tenant: str | None = attrs.field(default=None, validator=_optional_text)
    subscription: str | None = attrs.field(default=None, validator=_optional_text)
    scope_subscriptions: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    scope_connections: tuple[ScopeConnection, ...] = attrs.field(default=(), converter=tuple)
    allow_high_scale_connected_group: bool = attrs.field(default=False, validator=_flag)


@attrs.frozen(slots=True)
class NetworkManagerConnection:
    """The target-tenant side of a cross-tenant scope (``Microsoft.Network/
    networkManagerConnections``, N7): ``subscription`` consents to ``network_manager``."""

    name: str = attrs.field(validator=_text)
    subscription: str = attrs.field(validator=_text)
    network_manager: str = attrs.field(validator=_text)
    tenant: str | None = attrs.field(default=None, validator=_optional_text)
    connection_state: str | None = attrs.field(default=None)

    @connection_state.validator
    def _state(self, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            _one_of(SCOPE_CONNECTION_STATES)(self, attribute, value)


# §2.9: the built-in roles that hold the peering actions (Network Contributor on an ARM VNet).
PEER_ACTION = "Microsoft.Network/virtualNetworks/peer/action"
PEERING_WRITE_ACTION = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write"


@attrs.frozen(slots=True)
class Permission:
    """A role assignment that lets the administrators of ``principal`` (a tenant or a
    subscription, as the VNets name them) act on ``scope`` (a VNet name, or
    ``/subscriptions/<subscription>``). ``role`` is a built-in role, or ``actions`` lists a
    custom role's actions (``*`` wildcards allowed). Across tenants the assignment is the guest
    access of N7: the principal is a guest in the scope's tenant. Neither role nor actions:
    Network Contributor, the role §2.9 names."""

    name: str = attrs.field(validator=_text)
    principal: str = attrs.field(validator=_text)
    scope: str = attrs.field(validator=_text)
    role: str | None = attrs.field(default=None, validator=_optional_text)
    actions: tuple[str, ...] = attrs.field(default=(), converter=_strings)
