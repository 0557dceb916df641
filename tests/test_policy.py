"""Network policy as tests: the matrix of who reaches whom, what a change does (diff), and
intents with counterexamples, on hub-and-spoke with and without transit and a firewall
appliance (azure-facts §2.5 non-transitive peering, §2.6 gateway transit and forwarded
traffic, §5 NSGs), through the Python API and the CLI contract (DESIGN.md)."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
import yaml

import fabric
from fabric.cli import main
from fabric.control.plane import ControlPlane
from fabric.io import NativeDocument, load_topology, to_yaml
from fabric.scenarios import path as scenario
from fabric.study.diff import diff
from fabric.study.intents import IntentError, check, parse_intents
from fabric.study.matrix import COMMON_SERVICES, matrix
from fabric.watcher import connectivity
from tests.fabrics import hub_and_spokes

HUB_SPOKE = str(scenario("hub_spoke"))
HUB_SPOKE_NVA = str(scenario("hub_spoke_nva"))
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SANDBOX = CORPUS / "arm" / "hub-and-spoke-sandbox" / "azuredeploy.json"


def run(capsys, argv: list[str]) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def write(tmp_path: Path, name: str, net) -> str:
    path = tmp_path / name
    path.write_text(to_yaml(NativeDocument(net)))
    return str(path)


# -- matrix ------------------------------------------------------------------------------------


def test_matrix_hub_and_spoke_without_transit():
    """§2.5: spokes peered to a hub do not reach each other; §2.6: without gateway transit
    they do not reach the VNet behind the hub's gateway either."""
    result = matrix(hub_and_spokes(transit=False), protocol="Tcp", port=443)
    spoke_to_spoke = result.pair("spoke1/app", "spoke2/app")
    assert not spoke_to_spoke.reachable
    assert spoke_to_spoke.reason_code == "DeniedByNsg" or "PeeringNotTransitive" in (
        spoke_to_spoke.reason or ""
    )
    assert result.pair("spoke1/app", "dr/app").reason_code == "GatewayTransitNotConfigured"
    assert result.pair("spoke1/app", "hub/fw").reachable


def test_matrix_hub_and_spoke_with_transit_reaches_the_remote_vnet_through_the_gateway():
    result = matrix(hub_and_spokes(transit=True), protocol="Tcp", port=443)
    pair = result.pair("spoke1/app", "dr/app")
    assert pair.reachable
    assert "hub-gw" in pair.path
    assert "dr-gw" in pair.path
    assert not result.pair("spoke1/app", "spoke2/app").reachable


def test_matrix_with_a_firewall_appliance_routes_spoke_to_spoke_through_it():
    result = matrix(load_topology(HUB_SPOKE_NVA).fabric, protocol="Tcp", port=443, hosts=True)
    pair = result.pair("vm1", "vm2")
    assert pair.reachable
    assert pair.path[0] == "vm1"
    assert pair.path[-1] == "vm2"
    assert "nva" in pair.path


def test_matrix_pairs_every_ordered_pair_for_each_common_service():
    result = matrix(load_topology(HUB_SPOKE).fabric)
    n = len(result.endpoints)
    assert result.services == COMMON_SERVICES
    assert len(result.pairs) == n * (n - 1) * len(COMMON_SERVICES)
    # hub_spoke.yaml's app-nsg denies inbound TCP 22 only
    assert result.pair("hub/fw", "spoke1/app", "Tcp", 22).reason_code == "DeniedByNsg"
    assert result.pair("hub/fw", "spoke1/app", "Tcp", 443).reachable
    assert result.pair("hub/fw", "spoke1/app", "Icmp", None).reachable


def test_a_subnet_stands_for_a_vm_without_a_nic_nsg():
    """The matrix's subnet endpoint is a hypothetical NIC: the first usable address that no
    declared VM holds (§1.2: .4 is the first usable)."""
    net = hub_and_spokes()
    net.nsg("deny-all-in", [fabric.SecurityRule("deny", 100, "Inbound", "Deny")])
    vm = net.vnets["spoke2"].hosts[0]
    net.vnets["spoke2"] = attrs.evolve(
        net.vnets["spoke2"], hosts=(attrs.evolve(vm, nsg="deny-all-in"),)
    )
    result = matrix(net, protocol="Tcp", port=443)
    endpoint = next(e for e in result.endpoints if e.label == "spoke2/app")
    assert endpoint.address == "10.2.0.5"  # 10.2.0.4 is vm2's
    assert result.pair("hub/fw", "spoke2/app").reachable
    by_host = matrix(net, protocol="Tcp", port=443, hosts=True)
    assert by_host.pair("nva", "vm2").reason_code == "DeniedByNsg"


def test_matrix_figure_svg_is_byte_for_byte_stable(tmp_path):
    result = matrix(load_topology(HUB_SPOKE).fabric)
    first = result.write(tmp_path / "a")
    second = result.write(tmp_path / "b")
    assert [p.suffix for p in first] == [".png", ".svg"]
    assert first[1].read_bytes() == second[1].read_bytes()


def test_matrix_cli_json_shape_and_grid(capsys, tmp_path):
    code, out = run(capsys, ["matrix", HUB_SPOKE, "--protocol", "tcp", "--port", "443"])
    assert code == 0
    assert {"src", "dst", "connection_status", "reason_code", "path"} <= set(out["pairs"][0])
    assert {(p["protocol"], p["port"]) for p in out["pairs"]} == {("Tcp", 443)}
    figure = tmp_path / "m.svg"
    assert main(["matrix", HUB_SPOKE, "--hosts", "--figure", str(figure)]) == 0
    text = capsys.readouterr().out
    assert "Tcp/22" in text
    assert "vm1" in text
    assert figure.exists()
    assert figure.with_suffix(".png").exists()
    code, out = run(capsys, ["matrix", HUB_SPOKE, "--protocol", "Xyz"])
    assert code == 2
    assert "protocol" in out["error"]["message"]


# -- diff --------------------------------------------------------------------------------------


def test_a_change_that_breaks_a_path_shows_in_diff(tmp_path, capsys):
    """§2.6: the spoke links must allow forwarded traffic for spoke-to-spoke via the NVA."""
    after = yaml.safe_load(Path(HUB_SPOKE_NVA).read_text())
    for link in after["peerings"]:
        link["allow_forwarded_traffic"] = False
    broken = tmp_path / "after.yaml"
    broken.write_text(yaml.safe_dump(after))
    code, out = run(
        capsys, ["diff", HUB_SPOKE_NVA, str(broken), "--protocol", "Tcp", "--port", "443"]
    )
    assert code == 1
    assert set(out) == {"findings", "routes", "reachability"}
    assert set(out["findings"]) == {"added", "removed"}
    changes = {(r["src"], r["dst"]): r for r in out["reachability"]}
    row = changes[("spoke1/app", "spoke2/app")]
    assert (row["before"], row["after"]) == ("Reachable", "Unreachable")
    assert row["reason_code"] == "ForwardedTrafficNotAllowed"
    assert {"src", "dst", "before", "after", "reason_code"} <= set(row)


def test_diff_of_a_topology_with_itself_is_empty_and_exits_0(capsys):
    code, out = run(capsys, ["diff", HUB_SPOKE, HUB_SPOKE])
    assert code == 0
    assert out == {"findings": {"added": [], "removed": []}, "routes": [], "reachability": []}


def test_diff_lists_effective_routes_and_findings_that_change():
    before = hub_and_spokes(transit=True)
    after = hub_and_spokes(transit=False)
    result = diff(before, after, protocol="Tcp", port=443)
    changed = {(c.vnet, c.subnet) for c in result.routes}
    assert ("spoke1", "app") in changed  # the gateway's learned routes leave the spokes
    removed = [r for c in result.routes if c.vnet == "spoke1" for r in c.removed]
    assert {r["next_hop_type"] for r in removed} == {"VirtualNetworkGateway"}
    assert any(c.src == "spoke1/app" and c.dst == "dr/app" for c in result.reachability)
    overlapping = hub_and_spokes()
    overlapping.vnet("clash", "westeurope", "10.1.0.0/16")
    overlapping.peer("hub", "clash")  # §2.4: overlaps an already peered VNet
    added = diff(before, overlapping, protocol="Tcp", port=443).findings_added
    assert any("Overlap" in f.code for f in added)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside the repo")
def test_diff_works_across_formats(tmp_path, capsys):
    """YAML before, ARM after: the same topology differs in nothing; a YAML without one
    spoke's peering differs in the pairs that peering carries."""
    document = load_topology(SANDBOX)
    same = tmp_path / "same.yaml"
    same.write_text(to_yaml(document))
    code, out = run(capsys, ["diff", str(same), str(SANDBOX), "--protocol", "Tcp"])
    assert code == 0, out
    assert out["reachability"] == []
    net = document.fabric
    spoke = next(name for name in net.vnets if name.startswith("spokeDev"))
    for key in [k for k, link in net.peerings.items() if spoke in (link.vnet, link.remote_vnet)]:
        del net.peerings[key]
    unpeered = write(tmp_path, "unpeered.yaml", net)
    code, out = run(capsys, ["diff", unpeered, str(SANDBOX), "--protocol", "Tcp"])
    assert code == 1
    assert all(row["after"] == "Reachable" for row in out["reachability"])
    assert any(row["src"].startswith(spoke) for row in out["reachability"])


def test_diff_simulates_a_scenarios_flows_before_and_after(tmp_path, capsys):
    after = yaml.safe_load(Path(HUB_SPOKE_NVA).read_text())
    for host in after["vnets"][0]["hosts"]:
        host["enable_ip_forwarding"] = False
    broken = tmp_path / "after.yaml"
    broken.write_text(yaml.safe_dump(after))
    argv = ["diff", HUB_SPOKE_NVA, str(broken), "--protocol", "Tcp", "--traffic", HUB_SPOKE_NVA]
    code, out = run(capsys, argv)
    assert code == 1
    flows = {flow["name"]: flow for flow in out["traffic"]}
    crossing = flows["spoke1-to-spoke2"]
    assert crossing["before"]["delivered"] > 0
    assert crossing["after"]["delivered"] == 0
    assert "IpForwardingDisabled" in crossing["after"]["path"]
    untouched = flows["spoke1-to-hub"]
    assert untouched["before"]["throughput_mbps"] == untouched["after"]["throughput_mbps"]


def test_diff_bad_input_is_a_json_error(capsys, tmp_path):
    code, out = run(capsys, ["diff", HUB_SPOKE, str(tmp_path / "missing.yaml")])
    assert code == 2
    assert out["error"]["code"] == "InvalidInput"


# -- check -------------------------------------------------------------------------------------

ISSUE_INTENTS = """
intents:
  - {name: spokes-isolated, from: spoke1, to: spoke2, expect: unreachable}
  - {name: dr-https, from: [spoke1, spoke2], to: dr, protocol: Tcp, port: 443, expect: reachable}
  - {name: via-gateway, from: spoke1, to: dr, expect: reachable, through: [hub-gw]}
  - {name: max-latency, from: vm1, to: dr-vm, expect: {latency_ms_below: 50.0}}
"""


def test_intents_of_a_hub_and_spoke_hold(tmp_path, capsys):
    intents = tmp_path / "intents.yaml"
    intents.write_text(ISSUE_INTENTS)
    code, out = run(capsys, ["check", HUB_SPOKE, "--intents", str(intents)])
    assert code == 0, out
    assert out["passed"] is True
    assert [i["name"] for i in out["intents"]] == [
        "spokes-isolated",
        "dr-https",
        "via-gateway",
        "max-latency",
    ]
    assert all(i["holds"] and i["counterexample"] is None for i in out["intents"])
    assert all(i["atoms"] >= 1 for i in out["intents"])


def test_a_failing_intent_gives_a_counterexample_that_connectivity_confirms(tmp_path, capsys):
    """hub_spoke.yaml's app-nsg denies inbound SSH: 'dr reaches spoke1 on 22' fails at vm1's
    subnet NSG, and the connectivity trace of the counterexample says the same."""
    intents = tmp_path / "intents.yaml"
    intents.write_text(
        "intents:\n  - {name: dr-ssh, from: dr, to: spoke1, protocol: Tcp, port: 22, "
        "expect: reachable}\n"
    )
    code, out = run(capsys, ["check", HUB_SPOKE, "--intents", str(intents)])
    assert code == 1
    assert out["passed"] is False
    example = out["intents"][0]["counterexample"]
    assert example["code"] == "DeniedByNsg"
    assert example["rule"] == "nsg app-nsg rule deny-ssh-from-anywhere"
    assert example["protocol"] == "Tcp"
    assert example["port"] == 22
    argv = ["connectivity", HUB_SPOKE, "--src", example["src"], "--dst", example["dst"]]
    argv += ["--protocol", example["protocol"], "--port", str(example["port"])]
    argv += ["--src-port", str(example["source_port"])]
    code, trace = run(capsys, argv)
    assert code == 1
    assert trace["reason"].startswith("DeniedByNsg")
    hops = [hop for hop in trace["hops"] if hop["issues"]]
    assert hops[0]["name"] == example["hop"]


def test_an_unreachable_intent_that_fails_names_the_packet_that_gets_through():
    net = load_topology(HUB_SPOKE_NVA).fabric
    result = check(
        net, [{"name": "iso", "from": "spoke1", "to": "spoke2", "expect": "unreachable"}]
    )
    example = result.results[0].counterexample
    assert not result.passed
    assert example.code == "Reachable"
    trace = connectivity(
        ControlPlane(net),
        example.source,
        example.destination,
        protocol=example.protocol,
        port=example.port,
        source_port=example.source_port,
    )
    assert trace.reachable
    assert "nva" in [hop.name for hop in trace.hops]


def test_through_holds_only_when_every_path_passes_the_node():
    net = load_topology(HUB_SPOKE_NVA).fabric
    base = {"from": "spoke1", "to": "spoke2", "expect": "reachable"}
    result = check(
        net,
        [
            base | {"name": "via-nva", "through": ["nva"]},
            base | {"name": "via-ip", "through": ["10.0.2.4"]},
            base | {"name": "via-hub", "through": ["hub"]},
            {
                "name": "direct",
                "from": "spoke1",
                "to": "hub",
                "expect": "reachable",
                "through": ["nva"],
            },
        ],
    )
    holds = {r.intent.name: r.holds for r in result.results}
    assert holds == {"via-nva": True, "via-ip": True, "via-hub": True, "direct": False}
    assert result.results[-1].counterexample.code == "NotThrough"


def test_encrypted_intent_needs_vnet_encryption_on_both_sides():
    """N5: peering alone does not encrypt; both VNets enabling encryption with capable VMs
    does (DTLS). The counterexample names the stretch in the clear."""
    net = hub_and_spokes(remote=False)
    intent = {"name": "enc", "from": "vm1", "to": "nva", "expect": "encrypted"}
    failed = check(net, [intent]).results[0]
    assert not failed.holds
    assert failed.counterexample.code == "NotEncrypted"
    assert "not enabled" in failed.counterexample.reason
    for name in ("hub", "spoke1"):
        net.vnets[name] = attrs.evolve(net.vnets[name], encryption=True)
    assert check(net, [intent]).passed


def test_latency_intent_fails_with_the_estimate():
    result = check(
        hub_and_spokes(),
        [{"name": "fast", "from": "vm1", "to": "dr-vm", "expect": {"latency_ms_below": 1.0}}],
    )
    example = result.results[0].counterexample
    assert example.code == "LatencyTooHigh"
    assert "not below 1.0 ms" in example.reason


def test_reachable_without_a_port_needs_some_traffic_through_every_address_pair():
    """Without protocol and port, 'reachable' asks for some packet through for every address
    pair; with a port named, that port must get through."""
    net = load_topology(HUB_SPOKE).fabric
    loose = {"name": "any", "from": "dr", "to": "spoke1", "expect": "reachable"}
    strict = loose | {"name": "ssh", "protocol": "Tcp", "port": 22}
    result = check(net, [loose, strict])
    assert [r.holds for r in result.results] == [True, False]


def test_intents_file_errors_name_the_line_and_the_fix(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "intents:\n  - name: a\n    from: spoke1\n    to: spoke2\n    expct: reachable\n"
    )
    code, out = run(capsys, ["check", HUB_SPOKE, "--intents", str(bad)])
    assert code == 2
    assert out["error"]["code"] == "InvalidIntents"
    assert out["error"]["line"] == 5
    assert "expect" in out["error"]["message"]
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("intents:\n  - {name: a, from: spoke1, to: spoke9, expect: reachable}\n")
    code, out = run(capsys, ["check", HUB_SPOKE, "--intents", str(unknown)])
    assert code == 2
    assert "spoke9" in out["error"]["message"]
    assert "did you mean 'spoke2'?" in out["error"]["message"]
    assert out["error"]["line"] == 2
    code, out = run(capsys, ["check", HUB_SPOKE, "--intents", str(tmp_path / "none.yaml")])
    assert code == 2
    assert out["error"]["file"].endswith("none.yaml")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "a", "from": "x", "to": "y", "expect": "reachble"}, "expect"),
        ({"name": "a", "from": "x", "to": "y", "expect": "reachable", "port": "70000"}, "port"),
        (
            {
                "name": "a",
                "from": "x",
                "to": "y",
                "expect": "reachable",
                "protocol": "Icmp",
                "port": 1,
            },
            "no ports",
        ),
        (
            {"name": "a", "from": "x", "to": "y", "expect": "unreachable", "through": ["fw"]},
            "through",
        ),
        ({"name": "a", "from": "x", "to": "y", "expect": {"latency_ms_below": -1}}, "positive"),
    ],
)
def test_bad_intents_are_refused(entry, message):
    with pytest.raises(Exception, match=message):
        parse_intents({"intents": [entry]})


def with_site() -> fabric.Fabric:
    """hub_and_spokes with a site-to-site connection to on-premises 192.168.0.0/16 (N12)."""
    net = hub_and_spokes()
    net.local_network_gateway("onprem", ["192.168.0.0/16"], gateway_ip_address="203.0.113.10")
    net.connect_site("hub-to-onprem", "hub-gw", "onprem", shared_key="abc123")
    return net


def test_spokes_reach_on_premises_through_the_hub_gateway():
    """The issue's onprem-https intent: spokes using the hub's gateway (§2.6) reach the site's
    prefixes on 443, over the IPsec tunnel."""
    intent = {
        "name": "onprem-https",
        "from": ["spoke1", "spoke2"],
        "to": "onprem",
        "protocol": "Tcp",
        "port": 443,
        "expect": "reachable",
    }
    assert check(with_site(), [intent]).passed
    failed = check(hub_and_spokes(), [intent | {"to": "192.168.0.0/16"}]).results[0]
    assert not failed.holds
    assert failed.counterexample.destination.startswith("192.168.")


def test_check_names_what_a_source_cannot_be():
    net = with_site()
    with pytest.raises(IntentError, match="no address of a subnet"):
        check(net, [{"name": "a", "from": "8.8.8.0/24", "to": "spoke1", "expect": "reachable"}])
    with pytest.raises(IntentError, match="on-premises site"):
        check(net, [{"name": "a", "from": "onprem", "to": "spoke1", "expect": "reachable"}])
    with pytest.raises(IntentError, match="through 'fw'"):
        check(
            net,
            [{"name": "a", "from": "vm1", "to": "vm2", "expect": "reachable", "through": ["fw"]}],
        )


def test_public_api_exposes_matrix_diff_and_check():
    net = hub_and_spokes()
    assert fabric.matrix(net, protocol="Icmp").services == (("Icmp", None),)
    assert fabric.diff(net, net, protocol="Icmp").reachability == ()
    assert fabric.check(
        net, [{"name": "a", "from": "vm1", "to": "vm2", "expect": "unreachable"}]
    ).passed


def test_frames_need_pandas():
    pandas = pytest.importorskip("pandas")
    net = load_topology(HUB_SPOKE).fabric
    frame = matrix(net, protocol="Tcp", port=443).frame()
    assert isinstance(frame, pandas.DataFrame)
    assert {"src", "dst", "connection_status", "reason_code", "path"} <= set(frame.columns)
    result = check(net, [{"name": "a", "from": "vm1", "to": "vm2", "expect": "reachable"}])
    assert list(result.frame()["name"]) == ["a"]


def test_intent_names_may_be_shell_patterns():
    """``spoke*`` stands for every VNet (or vnet/subnet, or VM) whose name matches."""
    net = hub_and_spokes()
    result = check(
        net,
        [
            {
                "name": "all",
                "from": "hub",
                "to": "spoke*",
                "protocol": "Tcp",
                "port": 443,
                "expect": "reachable",
            },
            {"name": "apps", "from": "spoke1/*", "to": "*/app", "expect": "reachable"},
        ],
    )
    assert result.results[0].holds
    assert not result.results[1].holds  # spoke1 does not reach spoke2/app
    with pytest.raises(IntentError, match="nothing"):
        check(net, [{"name": "x", "from": "hub", "to": "zz*", "expect": "reachable"}])
