"""Generated topologies at enterprise scale, for benchmarks, notebooks and what-if studies.

``hub_spoke(n_spokes)`` and ``mesh(n)`` build a ``Fabric`` with a non-overlapping address plan
(every VNet a block carved in order from one address space), one workload subnet and one VM
per VNet, connected by Azure Virtual Network Manager (N8.1) or, with ``avnm=False``, by
ordinary peerings. Exposed as ``fabric.generate``::

    import fabric
    net = fabric.generate.hub_spoke(200, use_hub_gateway=True)
    net = fabric.generate.mesh(250, regions=["westeurope", "northeurope"], is_global=True)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from ipaddress import IPv4Network

from fabric.catalogue.limits import VNETS_PER_REGION
from fabric.model import Fabric, GroupItem, Host, Subnet

DEFAULT_REGION = "westeurope"
HUB_PREFIX = "10.0.0.0/16"
SPOKE_SPACE = "10.128.0.0/9"  # 32,768 blocks of /24
MESH_SPACE = "10.0.0.0/8"


class GenerateError(ValueError):
    """Arguments that cannot make a valid topology (too many VNets for the space...)."""


def _blocks(space: str, prefixlen: int, count: int, avoid: Sequence[str] = ()) -> list[str]:
    """``count`` consecutive /``prefixlen`` blocks from the start of ``space``, skipping those
    that overlap ``avoid``."""
    try:
        start = IPv4Network(space)
    except ValueError as problem:
        raise GenerateError(f"address space {space!r}: {problem}") from None
    if not start.prefixlen <= prefixlen <= 29:
        raise GenerateError(
            f"block size /{prefixlen} must be between /{start.prefixlen} and /29 (a subnet "
            "needs at least 8 addresses, §1.2)"
        )
    outer = start
    taken = [IPv4Network(a) for a in avoid]
    size = 2 ** (32 - prefixlen)
    first = int(start.network_address)
    last = int(outer.broadcast_address)
    blocks: list[str] = []
    address = first
    while len(blocks) < count:
        if address + size - 1 > last:
            raise GenerateError(
                f"{count} blocks of /{prefixlen} do not fit in {outer}; give a larger space or a "
                "smaller block size"
            )
        block = IPv4Network((address, prefixlen))
        if not any(block.overlaps(t) for t in taken):
            blocks.append(str(block))
        address += size
    return blocks


def _regions(region: str, regions: Sequence[str] | None) -> Iterator[str]:
    chosen = list(regions) if regions else [region]
    while True:
        yield from chosen


def _subscriptions(count: int, per_subscription: int) -> list[str | None]:
    """The subscription of each of ``count`` VNets: none declared when they fit in one (the
    §1.5 limit is per subscription and region), else ``sub-1``, ``sub-2``... in blocks."""
    if per_subscription < 1:
        raise GenerateError(f"vnets_per_subscription must be >= 1, got {per_subscription}")
    if count <= per_subscription:
        return [None] * count
    return [f"sub-{i // per_subscription + 1}" for i in range(count)]


def _grant_between_subscriptions(fabric: Fabric) -> None:
    """Manual peerings across the generated subscriptions need ``peer/action`` (§2.9): let
    each subscription's administrators hold Network Contributor on the others."""
    names = sorted({v.subscription for v in fabric.vnets.values() if v.subscription})
    for a in names:
        for b in names:
            if a != b:
                fabric.permission(f"{a}-on-{b}", a, f"/subscriptions/{b}")


def _workload_vnet(
    fabric: Fabric, name: str, region: str, block: str, hosts: bool, subscription: str | None
) -> None:
    """A VNet that is one block, with one subnet (the whole block) and a VM at its .4."""
    net = IPv4Network(block)
    host = (
        (Host(f"{name}-vm", "app", str(net.network_address + 4)),)
        if hosts and net.num_addresses > 5
        else ()
    )
    fabric.vnet(
        name, region, block, subnets=(Subnet("app", block),), hosts=host, subscription=subscription
    )


def hub_spoke(
    n_spokes: int,
    *,
    region: str = DEFAULT_REGION,
    regions: Sequence[str] | None = None,
    hub_prefix: str = HUB_PREFIX,
    spoke_space: str = SPOKE_SPACE,
    spoke_prefixlen: int = 24,
    gateway_sku: str | None = "VpnGw2AZ",
    use_hub_gateway: bool = True,
    direct_connectivity: bool = False,
    is_global: bool = False,
    avnm: bool = True,
    hosts: bool = True,
    vnets_per_subscription: int = VNETS_PER_REGION,
) -> Fabric:
    """A hub (``hub_prefix``, a GatewaySubnet, a shared subnet and a gateway of
    ``gateway_sku``, None for none) and ``n_spokes`` spokes ``spoke1``..``spokeN``, each a
    /``spoke_prefixlen`` from ``spoke_space``, in ``region`` (or round-robin over ``regions``).

    With ``avnm`` the spokes form network group ``spokes`` and configuration ``hub-and-spoke``
    peers them with the hub (``use_hub_gateway``: gateway transit; ``direct_connectivity``: a
    connected group among the spokes, global with ``is_global``). Without it, ordinary
    peerings (with gateway transit when ``use_hub_gateway`` and a gateway exist). VNets beyond
    ``vnets_per_subscription`` (the §1.5 limit per subscription and region) go to further
    subscriptions ``sub-2``...; ordinary peerings across them get the permissions they need.
    """
    if not isinstance(n_spokes, int) or isinstance(n_spokes, bool) or n_spokes < 1:
        raise GenerateError(f"the number of spokes must be a whole number >= 1, got {n_spokes!r}")
    if use_hub_gateway and gateway_sku is None:
        raise GenerateError("use_hub_gateway needs a hub gateway; give gateway_sku")
    try:
        hub_net = IPv4Network(hub_prefix)
    except ValueError as problem:
        raise GenerateError(f"hub prefix {hub_prefix!r}: {problem}") from None
    if hub_net.prefixlen > 24:
        raise GenerateError(f"hub prefix {hub_prefix} is too small; give a /24 or larger")
    fabric = Fabric()
    subscriptions = _subscriptions(n_spokes + 1, vnets_per_subscription)
    places = _regions(region, regions)
    hub_region = next(places)
    gateway_subnet = str(next(hub_net.subnets(new_prefix=27)))
    shared = str(list(hub_net.subnets(new_prefix=hub_net.prefixlen + 1))[1])
    fabric.vnet(
        "hub",
        hub_region,
        hub_prefix,
        subnets=(Subnet("GatewaySubnet", gateway_subnet), Subnet("shared", shared)),
        hosts=(Host("hub-vm", "shared", str(IPv4Network(shared).network_address + 4)),)
        if hosts
        else (),
        subscription=subscriptions[0],
    )
    if gateway_sku is not None:
        fabric.gateway("hub-gw", "hub", gateway_sku, generation="Generation2")
    places = _regions(region, regions)
    blocks = _blocks(spoke_space, spoke_prefixlen, n_spokes, avoid=(hub_prefix,))
    names = [f"spoke{i}" for i in range(1, n_spokes + 1)]
    for name, block, sub in zip(names, blocks, subscriptions[1:], strict=True):
        _workload_vnet(fabric, name, next(places), block, hosts, sub)
    transit = use_hub_gateway and gateway_sku is not None
    if avnm:
        fabric.network_group("spokes", names)
        item = GroupItem(
            "spokes",
            "DirectlyConnected" if direct_connectivity else "None",
            transit,
            is_global,
        )
        fabric.connectivity_configuration("hub-and-spoke", "HubAndSpoke", item, hubs="hub")
    else:
        _grant_between_subscriptions(fabric)
        for name in names:
            fabric.peer(
                "hub", name, a_allows_gateway_transit=transit, b_uses_remote_gateways=transit
            )
    return fabric


def mesh(
    n: int,
    *,
    region: str = DEFAULT_REGION,
    regions: Sequence[str] | None = None,
    space: str = MESH_SPACE,
    prefixlen: int = 24,
    is_global: bool = False,
    avnm: bool = True,
    hosts: bool = True,
    vnets_per_subscription: int = VNETS_PER_REGION,
) -> Fabric:
    """``n`` VNets ``vnet1``..``vnetN``, each a /``prefixlen`` from ``space``, in ``region`` (or
    round-robin over ``regions``), all connected: by an AVNM Mesh configuration ``mesh`` over
    network group ``all`` (global with ``is_global``), or with ``avnm=False`` by a full mesh of
    ordinary peerings (n(n-1)/2 of them, which the 500-per-VNet limit caps, §1.5). Subscriptions
    as in ``hub_spoke``."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise GenerateError(f"a mesh needs a whole number of VNets >= 2, got {n!r}")
    fabric = Fabric()
    places = _regions(region, regions)
    names = [f"vnet{i}" for i in range(1, n + 1)]
    subscriptions = _subscriptions(n, vnets_per_subscription)
    blocks = _blocks(space, prefixlen, n)
    for name, block, sub in zip(names, blocks, subscriptions, strict=True):
        _workload_vnet(fabric, name, next(places), block, hosts, sub)
    if avnm:
        fabric.network_group("all", names)
        fabric.connectivity_configuration("mesh", "Mesh", "all", is_global=is_global)
    else:
        _grant_between_subscriptions(fabric)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                fabric.peer(a, b)
    return fabric


__all__ = ["GenerateError", "hub_spoke", "mesh"]
