"""Topology diagrams: every scenario of the library is drawn with every name in it, states and
kinds come from the control plane (never re-decided), the layout never overlaps boxes, the SVG
is deterministic, and ``vnetsim draw`` keeps the CLI contract."""

from __future__ import annotations

import io
import ipaddress
import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import attrs
import matplotlib.image
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fabric
from fabric.cli import main
from fabric.control.connections import connection_status
from fabric.control.peering import PeeringView
from fabric.io import load_topology
from fabric.model import Connection, Finding, VpnGateway
from fabric.scenarios import names, path
from fabric.study import render
from fabric.study.diagram import (
    CONNECTED_GROUP,
    GROUP_LINK,
    GROUP_MEMBER,
    PEERING,
    SITE_TUNNEL,
    TUNNEL,
)
from fabric.study.draw import DENSE_SPOKES, GROUP_EDGES_MAX, layout, write
from fabric.study.generate import mesh
from fabric.watcher import connectivity
from tests.fabrics import hub_and_spokes
from tests.strategies import fabrics

SVG = "{http://www.w3.org/2000/svg}"
RANK = {"Connected": 0, "Initiated": 1, "Disconnected": 2}


def svg_text(data: bytes) -> str:
    """All the text an SVG shows (it must parse as XML)."""
    root = ET.fromstring(data)
    return "\n".join("".join(node.itertext()) for node in root.iter(f"{SVG}text"))


def expected_names(net) -> set[str]:
    """What a diagram must name: VNets, peering links, gateways, connections, sites."""
    return {
        *net.vnets,
        *(link.name for link in net.peerings.values()),
        *net.gateways,
        *(c.name for c in net.connections.values()),
        *net.local_network_gateways,
        *net.firewalls,
    }


@pytest.mark.parametrize("name", names())
def test_every_scenario_is_drawn_with_every_name(name, tmp_path):
    document = load_topology(path(name))
    diagram = layout(document, title=name)
    svg = render.image_bytes(diagram, "svg")
    shown = svg_text(svg)
    mermaid = render.mermaid(diagram)
    dot = render.dot(diagram)
    for resource in expected_names(document.fabric):
        assert resource in shown, (resource, "SVG")
        assert resource in mermaid, (resource, "Mermaid")
        assert f"{resource}" in dot, (resource, "DOT")
    png = tmp_path / f"{name}.png"
    write(diagram, png)
    image = matplotlib.image.imread(png)
    assert min(image.shape[:2]) > 100


def test_the_svg_is_the_same_byte_for_byte():
    document = load_topology(path("hub_spoke"))
    first = render.image_bytes(layout(document, highlight=("vm1", "dr-vm")), "svg")
    second = render.image_bytes(layout(document, highlight=("vm1", "dr-vm")), "svg")
    assert first == second
    assert b"<dc:date>" not in first


def boxes_overlap(a, b) -> bool:
    return (
        abs(a.x - b.x) < (a.width + b.width) / 2 - 1e-9
        and abs(a.y - b.y) < (a.height + b.height) / 2 - 1e-9
    )


def assert_clean_layout(diagram) -> None:
    for a, b in itertools.combinations(diagram.nodes, 2):
        assert not boxes_overlap(a, b), (a.name, b.name)
    for node in diagram.nodes:
        left, right = node.x - node.width / 2, node.x + node.width / 2
        top, bottom = node.y - node.height / 2, node.y + node.height / 2
        group = next(g for g in diagram.groups if g.name == (node.group or "other"))
        assert group.x <= left, node.name
        assert right <= group.x + group.width <= diagram.width, node.name
        assert group.y <= top, node.name
        assert bottom <= group.y + group.height <= diagram.height, node.name


@pytest.mark.parametrize("name", names())
def test_scenario_layouts_keep_boxes_apart_and_inside_their_region(name):
    assert_clean_layout(layout(load_topology(path(name))))


def star(spokes: int) -> fabric.Fabric:
    net = fabric.Fabric()
    net.vnet("hub", "westeurope", "10.0.0.0/16")
    net.subnet("hub", "GatewaySubnet", "10.0.255.0/27")
    net.gateway("hub-gw", "hub", "VpnGw2", generation="Generation2")
    net.firewall("hub-fw", "hub")
    for i in range(spokes):
        name = f"spoke{i}"
        net.vnet(name, "westeurope", f"10.{128 + i // 64}.{(i % 64) * 4}.0/22")
        net.peer("hub", name, a_allows_gateway_transit=True, b_uses_remote_gateways=True)
    return net


@pytest.mark.parametrize("spokes", [2, 7, DENSE_SPOKES + 1, 500])
def test_a_hub_is_drawn_as_a_star_even_with_500_spokes(spokes):
    diagram = layout(star(spokes), findings=[])
    hub = diagram.node("vnet:hub")
    assert hub.role == "hub"
    around = [n for n in diagram.nodes if n.role == "spoke"]
    assert len(around) == spokes
    assert all(n.compact == (spokes > DENSE_SPOKES) for n in around)
    assert_clean_layout(diagram)
    # the star is around the hub: spokes on every side of it
    assert min(n.x for n in around) < hub.x < max(n.x for n in around)
    assert min(n.y for n in around) < hub.y
    if spokes > 2:
        assert max(n.y for n in around) > hub.y
    # the firewall and gateway sit under the hub, in its region
    assert diagram.node("firewall:hub-fw").parent == "vnet:hub"
    assert diagram.node("gateway:hub-gw").y > hub.y


def test_a_mesh_has_no_hub_and_regions_are_grouped():
    net = fabric.Fabric()
    for i, region in enumerate(["westeurope", "westeurope", "eastus"]):
        net.vnet(f"v{i}", region, f"10.{i}.0.0/16")
    for a, b in itertools.combinations(["v0", "v1", "v2"], 2):
        net.peer(a, b)
    diagram = layout(net)
    assert not [n for n in diagram.nodes if n.role]
    assert {g.name for g in diagram.groups} == {"westeurope", "eastus"}
    scopes = {e.id: e.scope for e in diagram.edges}
    assert scopes["peering:v0|v1"] == "regional"
    assert scopes["peering:v0|v2"] == scopes["peering:v1|v2"] == "global"


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(net=fabrics(), drop=st.lists(st.integers(0, 40), max_size=3))
def test_states_and_status_are_the_control_planes(net, drop):
    links = sorted(net.peerings)
    for index in drop:  # deleting one side leaves the other Disconnected (§2.2)
        if links and links[index % len(links)] in net.peerings:
            net.unpeer(*links[index % len(links)])
    diagram = layout(net)
    view = PeeringView(net)
    for edge in diagram.edges:
        if edge.kind == PEERING:
            members = [net.peerings[tuple(n.split("/", 1))] for n in edge.names]
            worst = max((view.state(m) for m in members), key=RANK.get)
            assert edge.state == worst
        if edge.kind in (TUNNEL, SITE_TUNNEL):
            members = [net.connections[n] for n in edge.names]
            up = len(members) == (2 if edge.kind == TUNNEL else 1) and all(
                connection_status(net, m).up for m in members
            )
            assert (edge.state == "Connected") == up
    assert_clean_layout(diagram)
    mermaid = render.mermaid(diagram)
    for resource in expected_names(net):
        assert resource in mermaid
    assert mermaid.count("subgraph") == mermaid.count("\n  end")


def test_peering_states_transit_and_tunnels_as_azure_has_them():
    net = hub_and_spokes()
    net.vnet("spoke3", "westeurope", "10.3.0.0/16")
    net.peer_one_side("spoke3", "hub")  # Initiated until the hub side exists
    net.vnet("old", "westeurope", "10.4.0.0/16")
    net.peer("hub", "old")
    net.unpeer("old", "old-to-hub")  # the hub's side stays Disconnected
    edges = {e.id: e for e in layout(net).edges}
    assert edges["peering:hub|spoke1"].state == "Connected"
    assert edges["peering:hub|spoke1"].transit == "effective"
    assert edges["peering:hub|spoke1"].source == "vnet:spoke1"  # towards the hub
    assert edges["peering:hub|spoke3"].state == "Initiated"
    assert edges["peering:hub|old"].state == "Disconnected"
    assert edges["tunnel:dr-gw|hub-gw"].state == "Connected"
    assert "Initiated" in edges["peering:hub|spoke3"].label


def test_a_tunnel_that_does_not_come_up_says_why():
    net = hub_and_spokes()
    name = "dr-gw-to-hub-gw"
    net.connections[name] = attrs.evolve(net.connections[name], shared_key="wrong")
    edge = next(e for e in layout(net).edges if e.kind == TUNNEL)
    status = connection_status(net, net.connections["hub-gw-to-dr-gw"])
    assert not status.up
    assert edge.state == "NotConnected"
    assert status.reason in edge.detail


def test_sites_firewalls_appliances_and_expressroute_are_drawn():
    net = hub_and_spokes()
    net.local_network_gateway("branch", "192.168.0.0/16", gateway_ip_address="203.0.113.10")
    net.connect_site("hub-to-branch", "hub-gw", "branch", shared_key="k")
    net.firewall("hub-fw", "hub")
    net.gateways["hub-er"] = VpnGateway("hub-er", "hub", "ErGw1AZ", gateway_type="ExpressRoute")
    net.connections["hub-er-to-ams"] = Connection(
        "hub-er-to-ams", "hub-er", "er-ams", "ExpressRoute"
    )
    diagram = layout(net)
    kinds = {n.id: n.kind for n in diagram.nodes}
    assert kinds["site:branch"] == "site"
    assert kinds["firewall:hub-fw"] == "firewall"
    assert kinds["appliance:nva"] == "appliance"
    assert kinds["circuit:er-ams"] == "circuit"
    edges = {e.id: e for e in diagram.edges}
    assert edges["site_tunnel:hub-gw|branch"].state == "Connected"
    assert edges["expressroute:hub-er|er-ams"].state == "NotConnected"  # no circuit declared
    assert "203.0.113.10" in diagram.node("site:branch").lines
    assert "ExpressRoute ErGw1AZ" in diagram.node("gateway:hub-er").lines
    assert {diagram.node(f"{k}").parent for k in ("firewall:hub-fw", "appliance:nva")} == {
        "vnet:hub"
    }
    text = svg_text(render.image_bytes(diagram, "svg"))
    for name in ("branch", "hub-fw", "nva", "er-ams", "hub-to-branch", "hub-er"):
        assert name in text


def test_a_nat_gateway_is_drawn_under_the_vnet_of_its_subnets_with_its_findings():
    """N18.1: a NAT gateway serves the subnets that name it; one with no public IP is a
    warning, shown on it. One that no subnet names is attached to nothing and not drawn."""
    net = hub_and_spokes()
    net.nat_gateway("hub-nat", public_ip_count=0)
    net.nat_gateway("idle-nat", public_ip_count=1)
    subnet = net.vnets["hub"].subnets[0]
    net.set_vnet(
        attrs.evolve(
            net.vnets["hub"],
            subnets=(attrs.evolve(subnet, nat_gateway="hub-nat"), *net.vnets["hub"].subnets[1:]),
        )
    )
    diagram = layout(net)
    node = diagram.node("nat_gateway:hub-nat")
    assert node.kind == "nat_gateway"
    assert node.parent == "vnet:hub"
    assert node.lines == ("NAT gateway", "0 public IP(s)", f"for {subnet.name}")
    assert "NatGatewayWithoutPublicIp" in [b.code for b in node.badges]
    assert "nat_gateway:idle-nat" not in {n.id for n in diagram.nodes}
    assert "hub-nat" in render.mermaid(diagram)
    assert '"nat_gateway:hub-nat"' in render.dot(diagram)
    assert "hub-nat" in svg_text(render.image_bytes(diagram, "svg"))


def test_a_bastion_host_is_drawn_under_its_vnet_with_its_sku_and_findings():
    """N18.2: a Bastion host sits under its VNet; a Developer host in a peered VNet carries
    its BastionDeveloperSkuNoPeering warning, in every renderer."""
    net = hub_and_spokes()
    net.bastion("dev-bastion", "hub", "Developer")
    diagram = layout(net)
    node = diagram.node("bastion:dev-bastion")
    assert node.kind == "bastion"
    assert node.parent == "vnet:hub"
    assert node.lines == ("Azure Bastion Developer",)
    assert "BastionDeveloperSkuNoPeering" in [b.code for b in node.badges]
    assert "dev-bastion" in render.mermaid(diagram)
    assert '"bastion:dev-bastion"' in render.dot(diagram)
    assert "dev-bastion" in svg_text(render.image_bytes(diagram, "svg"))


def test_a_nat_gateway_that_spans_vnets_names_each_subnet_with_its_vnet():
    """Azure refuses it (NatGatewaySpansVirtualNetworks, a badge on it); the drawing still says
    which subnets of which VNets name it."""
    net = hub_and_spokes()
    net.nat_gateway("shared-nat", public_ip_count=1)
    for name in ("hub", "spoke1"):
        vnet = net.vnets[name]
        first = attrs.evolve(vnet.subnets[0], nat_gateway="shared-nat")
        net.set_vnet(attrs.evolve(vnet, subnets=(first, *vnet.subnets[1:])))
    node = layout(net).node("nat_gateway:shared-nat")
    hub_subnet, spoke_subnet = net.vnets["hub"].subnets[0].name, net.vnets["spoke1"].subnets[0].name
    assert node.lines[-1] == f"for hub/{hub_subnet}, spoke1/{spoke_subnet}"
    assert "NatGatewaySpansVirtualNetworks" in [b.code for b in node.badges]


@pytest.mark.parametrize(
    ("scenario", "code", "element"),
    [
        ("overlapping_spaces", "VnetAddressSpacesOverlap", "peering:acquired|app"),
        ("one_sided_peering", "PeeringNotConnected", "peering:hub|spoke"),
    ],
)
def test_findings_are_badges_on_what_they_concern(scenario, code, element):
    diagram = layout(load_topology(path(scenario)))
    edge = next(e for e in diagram.edges if e.id == element)
    assert code in [b.code for b in edge.badges]
    assert code in render.mermaid(diagram)
    assert code in svg_text(render.image_bytes(diagram, "svg"))


def test_a_finding_about_an_nsg_lands_on_the_vnet_that_uses_it():
    net = hub_and_spokes()
    net.nsg("web-nsg")
    net.subnet("spoke1", "web", "10.1.1.0/24", nsg="web-nsg")
    about = Finding("Example", "Warning", "about the NSG", ("nsg/web-nsg/rule/x",))
    diagram = layout(net, findings=[about])
    assert [b.code for b in diagram.node("vnet:spoke1").badges] == ["Example"]
    lost = Finding("Lost", "Error", "about nothing drawn", ("traffic/x",))
    diagram = layout(net, findings=[lost])
    assert [b.code for b in diagram.unplaced] == ["Lost"]
    assert "Lost" in svg_text(render.image_bytes(diagram, "svg"))


@pytest.mark.parametrize(("src", "dst"), [("vm1", "dr-vm"), ("vm1", "vm2"), ("dr-vm", "nva")])
def test_highlight_follows_the_connectivity_trace(src, dst):
    net = load_topology(path("hub_spoke")).fabric
    trace = connectivity(fabric.ControlPlane(net), src, dst)
    diagram = layout(net, highlight=(src, dst))
    marked = diagram.highlight
    assert marked.status == trace.connection_status
    assert marked.reason == trace.reason
    edges = {e.id: e for e in diagram.edges}
    for a, b in itertools.pairwise(marked.nodes):  # a connected walk over drawn edges
        assert any({edges[e].source, edges[e].target} == {a, b} for e in marked.edges), (a, b)
    crossed = {s.link.vnet for s in trace.path.steps if type(s).__name__ == "Crossing"}
    for vnet in crossed:
        assert f"vnet:{vnet}" in marked.nodes
    if trace.reachable:
        assert marked.broken_at is None
        assert marked.nodes[-1] == f"vnet:{net.find_host(dst)[0].name}"
    else:
        assert marked.broken_at in marked.nodes


def test_transit_path_passes_the_hub_and_both_gateways():
    diagram = layout(load_topology(path("hub_spoke")), highlight=("vm1", "dr-vm"))
    assert diagram.highlight.nodes == (
        "vnet:spoke1",
        "vnet:hub",
        "gateway:hub-gw",
        "gateway:dr-gw",
        "vnet:dr",
    )
    assert "tunnel:dr-gw|hub-gw" in diagram.highlight.edges
    text = render.mermaid(diagram)
    assert "vm1 → dr-vm: Reachable" in text


def test_fabric_draw_returns_a_figure_and_draws_into_given_axes():
    from matplotlib.figure import Figure

    net = hub_and_spokes()
    fig = fabric.draw(net)
    assert isinstance(fig, Figure)
    assert any(t.get_text() == "hub" for t in fig.axes[0].texts)
    host = Figure()
    ax = host.add_subplot()
    assert fabric.draw(net, ax, highlight=("vm1", "dr-vm")) is host
    assert ax.texts


def test_subnets_are_listed_on_request():
    net = hub_and_spokes()
    plain = layout(net).node("vnet:hub")
    detailed = layout(net, subnets=True).node("vnet:hub")
    assert not any("GatewaySubnet" in line for line in plain.lines)
    assert "GatewaySubnet 10.0.255.0/27" in detailed.lines
    assert detailed.height > plain.height


# -- the command -----------------------------------------------------------------------------


def run_cli(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_draw_writes_every_format_asked(capsys, tmp_path):
    outs = [tmp_path / f"d.{ext}" for ext in ("svg", "png", "mmd", "dot")]
    args = [x for out in outs for x in ("-o", str(out))]
    code, answer = run_cli(capsys, "draw", str(path("hub_spoke")), *args)
    assert code == 0
    assert answer["written"] == [str(o) for o in outs]
    assert answer["valid"] is True
    ET.fromstring(outs[0].read_bytes())
    assert matplotlib.image.imread(io.BytesIO(outs[1].read_bytes())).size > 0
    assert outs[2].read_text().startswith("%% vnetsim")
    assert outs[3].read_text().startswith('graph "vnetsim"')


def test_draw_defaults_to_an_svg_named_after_the_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["draw", str(path("hub_spoke"))]) == 0
    assert "wrote hub_spoke.svg" in capsys.readouterr().out
    assert (tmp_path / "hub_spoke.svg").stat().st_size > 0


def test_draw_of_an_invalid_topology_draws_it_and_exits_1(capsys, tmp_path):
    out = tmp_path / "bad.mmd"
    code, answer = run_cli(capsys, "draw", str(path("overlapping_spaces")), "-o", str(out))
    assert code == 1
    assert answer["valid"] is False
    assert answer["written"] == [str(out)]
    assert "VnetAddressSpacesOverlap" in [f["code"] for f in answer["findings"]]
    assert "VnetAddressSpacesOverlap" in out.read_text()


def test_draw_highlight_reports_the_path_status(capsys, tmp_path):
    out = tmp_path / "h.svg"
    code, answer = run_cli(
        capsys, "draw", str(path("hub_spoke")), "-o", str(out), "--highlight", "vm1", "vm2"
    )
    assert code == 0
    assert answer["highlight"]["connection_status"] == "Unreachable"
    assert answer["highlight"]["reason"].startswith("DeniedByNsg")
    assert "✕" in svg_text(out.read_bytes())


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "diagram.pdf"],
        ["-o", "no/such/folder/d.svg"],
        ["--highlight", "10.99.0.4", "vm2"],
        ["--highlight", "vm1"],
        ["--port", "x"],
    ],
)
def test_draw_refuses_bad_usage_with_a_json_error(capsys, tmp_path, monkeypatch, options):
    monkeypatch.chdir(tmp_path)
    code, answer = run_cli(capsys, "draw", str(path("hub_spoke")), *options)
    assert code == 2
    assert set(answer["error"]) == {"code", "message", "file", "line"}
    assert not list(tmp_path.iterdir())


def test_draw_of_an_unreadable_file_is_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("vnets: [{name: a, region: westeurope, address_prefixes: [10.0.0.0/16]}, 3]")
    code, answer = run_cli(capsys, "draw", str(bad), "-o", str(tmp_path / "x.svg"))
    assert code == 2
    assert answer["error"]["file"] == str(bad)


def test_the_readme_shows_a_diagram_as_vnetsim_draws_it():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("```mermaid\n", 1)[1].split("```", 1)[0]
    diagram = layout(load_topology(path("hub_spoke")), highlight=("vm1", "dr-vm"))
    expected = render.mermaid(attrs.evolve(diagram, title="hub_spoke.yaml"))
    assert block == expected, "regenerate README's block with the command above it"


# -- Virtual Network Manager and absent links: what the control plane has (N8.1, §2.9) -----------


def test_avnm_peerings_and_connected_groups_are_drawn(tmp_path):
    document = load_topology(path("avnm_mesh_vs_hub_spoke"))
    diagram = layout(document, findings=[])
    edges = {e.id: e for e in diagram.edges}
    for spoke in ("spoke1", "spoke2", "direct1", "direct2"):  # really peered with the hub
        a, b = sorted(("hub", spoke))
        edge = edges[f"peering:{a}|{b}"]
        assert edge.kind == PEERING
        assert edge.state == "Connected"
        assert edge.created_by == ("hub-and-spoke",)
        assert "AVNM hub-and-spoke" in edge.label
    assert diagram.node("vnet:hub").role == "hub"
    assert "AVNM hub (hub-and-spoke)" in diagram.node("vnet:hub").lines  # also when compact
    joined = {(e.source, e.target, e.names) for e in diagram.edges if e.kind == GROUP_LINK}
    assert joined == {  # mesh3 is alone in North Europe: a regional group joins nobody
        ("vnet:mesh1", "vnet:mesh2", ("mesh/meshed/westeurope",)),
        ("vnet:direct1", "vnet:direct2", ("hub-and-spoke/direct",)),
    }
    assert not [n for n in diagram.nodes if n.kind == CONNECTED_GROUP]  # small groups: edges
    assert not [e for e in diagram.edges if e.kind == PEERING and "mesh1" in e.id]
    assert render.edge_style(edges["peering:hub|spoke1"])[0] == "peering Connected"
    styles = {render.edge_style(e) for e in diagram.edges if e.kind == GROUP_LINK}
    assert len(styles) == 1
    assert styles.pop()[0] == "connected group (AVNM)"
    mermaid = render.mermaid(diagram)
    assert "AVNM hub-and-spoke" in mermaid
    assert "mesh/meshed/westeurope<br/>AVNM mesh" in mermaid
    assert mermaid.count("-.-") == len(joined)
    assert "mesh/meshed/westeurope" in render.dot(diagram)
    text = svg_text(render.image_bytes(diagram, "svg"))
    assert "connected group (AVNM)" in text
    assert render.image_bytes(diagram, "svg") == render.image_bytes(
        layout(document, findings=[]), "svg"
    )
    assert_clean_layout(diagram)


def test_the_highlight_through_a_connected_group_follows_its_edge():
    document = load_topology(path("avnm_mesh_vs_hub_spoke"))
    diagram = layout(document, highlight=("mesh1-vm", "mesh2-vm"))
    assert diagram.highlight.nodes == ("vnet:mesh1", "vnet:mesh2")
    assert diagram.highlight.edges == ("group_link:mesh/meshed/westeurope|mesh1|mesh2",)


def test_a_large_connected_group_is_a_node_joined_to_each_member():
    net = mesh(GROUP_EDGES_MAX + 1)
    diagram = layout(net, highlight=("vnet1-vm", "vnet4-vm"))
    (group,) = [n for n in diagram.nodes if n.kind == CONNECTED_GROUP]
    assert group.name == "mesh/all"
    members = {e.source for e in diagram.edges if e.kind == GROUP_MEMBER}
    assert members == {f"vnet:{name}" for name in net.vnets}
    assert all(e.target == group.id for e in diagram.edges if e.kind == GROUP_MEMBER)
    assert not [e for e in diagram.edges if e.kind == GROUP_LINK]
    assert diagram.highlight.nodes == ("vnet:vnet1", group.id, "vnet:vnet4")
    assert render.edge_style(diagram.edges[0])[0] == "connected group member (AVNM)"
    assert_clean_layout(diagram)


def test_absent_declared_links_are_drawn_absent_with_why():
    refused = fabric.Fabric()
    refused.vnet("a", "westeurope", "10.1.0.0/16", subscription="sub-a")
    refused.vnet("b", "westeurope", "10.2.0.0/16", subscription="sub-b")
    refused.peer("a", "b")  # no grant: LinkedAuthorizationFailed on both links (§2.9)
    (edge,) = layout(refused, findings=[]).edges
    assert edge.state == "Absent"
    assert [b.code for b in edge.badges] == ["LinkedAuthorizationFailed"] * 2
    assert "LinkedAuthorizationFailed" in edge.detail
    assert render.edge_style(edge)[0] == "peering absent"
    # the finding validate gives for it is not a second badge
    (edge,) = layout(refused).edges
    assert [b.code for b in edge.badges] == ["LinkedAuthorizationFailed"] * 2
    deleted = fabric.Fabric()
    for name, octet in (("hub", 0), ("s1", 1), ("s2", 2)):
        deleted.vnet(name, "westeurope", f"10.{octet}.0.0/16")
    deleted.peer("s1", "s2")
    deleted.network_group("spokes", ["s1", "s2"])
    deleted.connectivity_configuration(
        "hs", "HubAndSpoke", "spokes", hubs="hub", delete_existing_peering=True
    )
    diagram = layout(deleted, findings=[])
    edges = {e.id: e for e in diagram.edges}
    assert edges["peering:s1|s2"].state == "Absent"
    assert {b.code for b in edges["peering:s1|s2"].badges} == {"PeeringDeletedByNetworkManager"}
    assert edges["peering:hub|s1"].state == "Connected"
    mermaid = render.mermaid(diagram)
    assert "PeeringDeletedByNetworkManager" in mermaid
    assert "Absent" in mermaid


@FUZZ
@given(net=fabrics(), members=st.sets(st.integers(0, 4)), is_global=st.booleans())
def test_what_is_drawn_joined_is_what_the_effective_routes_join(net, members, is_global):
    """Oracle: the effective routes. A VNet with a peering route to another has a Connected
    peering edge with it; one with a ConnectedGroup route a connected-group edge."""
    names = list(net.vnets)
    group = [names[i] for i in sorted(members) if i < len(names)]
    if group:
        net.network_group("g", group)
        net.connectivity_configuration("mesh", "Mesh", "g", is_global=is_global)
    plane = fabric.ControlPlane(net)
    diagram = layout(net, findings=[], plane=plane)
    peered = {
        frozenset((e.source, e.target))
        for e in diagram.edges
        if e.kind == PEERING and e.state == "Connected"
    }
    grouped = {frozenset((e.source, e.target)) for e in diagram.edges if e.kind == GROUP_LINK}
    for a in names:
        for route in plane.routes(a, "sub0").routes:
            for b in names:
                if b == a or route.prefix != ipaddress.ip_network(net.vnets[b].address_prefixes[0]):
                    continue
                ends = (f"vnet:{a}", f"vnet:{b}")
                if route.next_hop_type in ("VNetPeering", "VNetGlobalPeering"):
                    assert frozenset(ends) in peered
                if route.next_hop_type == "ConnectedGroup":  # fabrics(): groups of <= 5
                    assert frozenset(ends) in grouped
    assert_clean_layout(diagram)
