"""Hypothesis strategies shared by the tests: random valid fabrics and their YAML documents."""

from __future__ import annotations

from hypothesis import strategies as st

from fabric.model.container import Fabric
from fabric.model.records import Route, SecurityRule

# Every pair of these has a published round trip (§7.2), so any fabric can be simulated.
REGIONS = ["eastus", "westus", "centralus"]
SKUS = [("VpnGw1", "Generation1"), ("VpnGw2", "Generation2"), ("VpnGw3AZ", "Generation2")]


@st.composite
def fabrics(draw, max_vnets: int = 5) -> Fabric:
    """A random fabric that validates without errors: disjoint /16s, subnets, hosts, peerings,
    gateways with VNet-to-VNet pairs, NSGs and route tables."""
    fabric = Fabric()
    count = draw(st.integers(1, max_vnets))
    octets = draw(st.lists(st.integers(1, 250), min_size=count, max_size=count, unique=True))
    nsg_names = []
    for i in range(draw(st.integers(0, 2))):
        rules = []
        for j, priority in enumerate(
            draw(st.lists(st.integers(100, 4096), max_size=4, unique=True))
        ):
            rules.append(
                SecurityRule(
                    f"rule{j}",
                    priority,
                    draw(st.sampled_from(["Inbound", "Outbound"])),
                    draw(st.sampled_from(["Allow", "Deny"])),
                    draw(st.sampled_from(["Tcp", "Udp", "*"])),
                    draw(st.sampled_from(["*", "VirtualNetwork", "10.0.0.0/8", "Internet"])),
                    "*",
                    draw(st.sampled_from(["*", "10.1.0.0/16"])),
                    draw(st.sampled_from(["*", "443", "1000-2000"])),
                )
            )
        # priorities are unique across directions here, which keeps them unique per direction
        fabric.nsg(f"nsg{i}", rules)
        nsg_names.append(f"nsg{i}")
    table_names = []
    for i in range(draw(st.integers(0, 2))):
        routes = [
            Route(f"r{j}", f"172.{16 + j}.0.0/16", draw(st.sampled_from(["None", "Internet"])))
            for j in range(draw(st.integers(0, 3)))
        ]
        fabric.route_table(f"rt{i}", routes, disable_bgp_route_propagation=draw(st.booleans()))
        table_names.append(f"rt{i}")
    for i, octet in enumerate(octets):
        name = f"vnet{i}"
        fabric.vnet(name, draw(st.sampled_from(REGIONS)), f"10.{octet}.0.0/16")
        for k in range(draw(st.integers(1, 3))):
            fabric.subnet(
                name,
                f"sub{k}",
                f"10.{octet}.{k}.0/24",
                nsg=draw(st.sampled_from([None, *nsg_names])),
                route_table=draw(st.sampled_from([None, *table_names])),
            )
            if draw(st.booleans()):
                fabric.host(
                    name, f"{name}-vm{k}", f"sub{k}", f"10.{octet}.{k}.{draw(st.integers(4, 254))}"
                )
        if draw(st.booleans()):
            sku, generation = draw(st.sampled_from(SKUS))
            fabric.subnet(name, "GatewaySubnet", f"10.{octet}.255.0/27")
            fabric.gateway(f"{name}-gw", name, sku, generation=generation)
    names = list(fabric.vnets)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if draw(st.booleans()):
                fabric.peer(a, b, allow_forwarded_traffic=draw(st.booleans()))
    gateways = list(fabric.gateways)
    for i, a in enumerate(gateways):
        for b in gateways[i + 1 :]:
            if draw(st.booleans()):
                fabric.connect(a, b, shared_key=draw(st.sampled_from(["abc123", "k2"])))
    return fabric


@st.composite
def mixed_traffic(
    draw,
    max_flows: int = 3,
    patterns: tuple[str, ...] = ("cbr", "poisson", "tcp"),
    hop_limits: tuple[int, ...] = (1, 2, 3, 64),
    jitter: bool = True,
) -> tuple[Fabric, list[dict], dict]:
    """A fabric, up to ``max_flows`` open-loop and TCP flows between its hosts (rates from a
    trickle to more than a NIC carries), and the run's parameters: a hop limit the paths may
    reach, and no send jitter unless ``jitter`` (equal CBR flows then collide in time)."""
    fabric = draw(fabrics(max_vnets=4))
    hosts = [h.name for v in fabric.vnets.values() for h in v.hosts]
    flows = []
    for i in range(draw(st.integers(1, max_flows)) if hosts else 0):
        pattern = draw(st.sampled_from(patterns))
        flow = {
            "name": f"f{i}",
            "src": draw(st.sampled_from(hosts)),
            "dst": draw(st.sampled_from(hosts)),
            "protocol": "Tcp" if pattern == "tcp" else draw(st.sampled_from(["Udp", "Tcp"])),
            "pattern": pattern,
            "destination_port": draw(st.sampled_from([443, 22])),
            "duration_s": draw(st.sampled_from([0.003, 0.01])),
        }
        if pattern != "tcp":
            flow["rate_mbps"] = draw(st.sampled_from([5, 300, 9000]))
            flow["packet_bytes"] = draw(st.sampled_from([64, 1400]))
        flows.append(flow)
    parameters: dict = {"hop_limit": draw(st.sampled_from(hop_limits))}
    if not jitter:
        parameters["send_jitter_us"] = 0.0
    return fabric, flows, parameters
