"""The command-line contract of docs/cli.md under bad usage: exit 2 with a JSON error under
``--json``, checks before any simulation (output folder, memory, grid points), Ctrl-C (exit 130,
one line, finished sweep records kept), and ``import`` that agrees with ``validate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabric.cli import main
from fabric.scenarios import path
from fabric.scenarios import path as scenario

HUB_SPOKE = str(scenario("hub_spoke"))
SKU_LADDER = str(scenario("sku_ladder"))
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def run_json(capsys, argv: list[str]) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_argparse_errors_are_json_errors_under_json(capsys):
    code, out = run_json(capsys, ["routes", HUB_SPOKE])  # --vnet and --subnet missing
    assert code == 2
    assert out["error"]["code"] == "BadUsage"
    assert "--vnet" in out["error"]["message"]
    code, out = run_json(capsys, ["no-such-command"])
    assert code == 2
    assert "invalid choice" in out["error"]["message"]


def test_unreadable_input_names_the_file_under_json(capsys, tmp_path):
    missing = tmp_path / "missing.yaml"
    code, out = run_json(capsys, ["validate", str(missing)])
    assert code == 2
    assert out["error"]["code"] == "InvalidInput"
    assert out["error"]["file"] == str(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("vnets:\n  - name: a\n    bogus_key: 1\n")
    code, out = run_json(capsys, ["validate", str(broken)])
    assert code == 2
    assert out["error"]["line"] == 3


def test_run_refuses_an_output_folder_before_simulating(capsys, tmp_path, monkeypatch):
    import fabric.sim.runs

    def never(*args, **kwargs):
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(fabric.sim.runs, "run_document", never)
    a_file = tmp_path / "results"
    a_file.write_text("x")
    assert main(["run", HUB_SPOKE, "--out", str(a_file)]) == 2
    assert "is a file" in capsys.readouterr().err
    full = tmp_path / "full"
    full.mkdir()
    (full / "results.json").write_text("{}")
    code, out = run_json(capsys, ["run", HUB_SPOKE, "--out", str(full)])
    assert code == 2
    assert "--force" in out["error"]["message"]


def test_run_force_writes_into_a_non_empty_folder(capsys, tmp_path):
    (tmp_path / "old.txt").write_text("keep")
    argv = ["run", HUB_SPOKE, "--duration", "0.05", "--out", str(tmp_path), "--force"]
    assert main(argv) == 0
    assert (tmp_path / "results.json").exists()
    assert (tmp_path / "old.txt").read_text() == "keep"


def test_run_seed_overrides_the_scenario_and_is_deterministic(capsys):
    argv = ["run", HUB_SPOKE, "--duration", "0.05"]
    _, first = run_json(capsys, [*argv, "--seed", "7"])
    _, again = run_json(capsys, [*argv, "--seed", "7"])
    _, other = run_json(capsys, [*argv, "--seed", "8"])
    assert first == again
    assert first["seed"] == 7
    assert other["seed"] == 8
    assert first["flows"] != other["flows"]  # poisson flows: another seed, other arrivals
    assert main([*argv, "--seed", "-1"]) == 2


def test_run_adds_a_traffic_file_to_a_topology_without_traffic(capsys, tmp_path):
    topology = tmp_path / "topology.yaml"
    topology.write_text(
        "vnets:\n  - {name: a, region: westeurope, address_prefixes: [10.0.0.0/16],\n"
        "     subnets: [{name: s, address_prefix: 10.0.0.0/24}],\n"
        "     hosts: [{name: h1, subnet: s, ip: 10.0.0.4}, {name: h2, subnet: s, ip: 10.0.0.5}]}\n"
    )
    assert main(["run", str(topology)]) == 2
    assert "--traffic" in capsys.readouterr().err
    traffic = tmp_path / "traffic.yaml"
    traffic.write_text(
        "traffic:\n  - {name: f, src: h1, dst: h2, rate_mbps: 50, duration_s: 0.02}\n"
        "simulation: {seed: 5}\n"
    )
    code, out = run_json(capsys, ["run", str(topology), "--traffic", str(traffic)])
    assert code == 0
    assert out["seed"] == 5
    assert out["flows"][0]["delivered"] == out["flows"][0]["sent"] > 0


def test_run_estimates_memory_before_starting(capsys, monkeypatch):
    import fabric.cli.simulate as simulate

    monkeypatch.setattr(simulate, "_available_memory_bytes", lambda: 1024 * 1024)
    code, out = run_json(capsys, ["run", HUB_SPOKE])
    assert code == 2
    assert out["error"]["code"] == "InsufficientMemory"
    assert "--duration" in out["error"]["message"]


def test_memory_estimate_scales_with_rate_and_duration():
    from fabric.io import load_topology
    from fabric.model.traffic import FlowSpec
    from fabric.sim.runs import estimate_packets

    fabric = load_topology(HUB_SPOKE).fabric
    flow = FlowSpec(name="f", src="vm1", dst="vm2", rate_mbps=112, packet_bytes=1400)
    assert estimate_packets(fabric, [flow], None) == 10_000  # 112 Mbps for 1 s
    assert estimate_packets(fabric, [flow], 0.5) == 5_000
    tcp = FlowSpec(name="t", src="vm1", dst="vm2", pattern="tcp", protocol="Tcp")
    assert estimate_packets(fabric, [tcp], None) == int(8000e6 / 8 / 1400)  # vm1's 8 Gbps


def test_ctrl_c_during_run_is_one_line_and_exit_130(capsys, monkeypatch):
    import fabric.sim.runs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fabric.sim.runs, "run_document", interrupted)
    assert main(["run", HUB_SPOKE]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "vnetsim: interrupted"


def test_sweep_refuses_bad_options(capsys):
    grid = ["--grid", "duration_s=0.01"]
    assert main(["sweep", SKU_LADDER, *grid, "--workers", "0"]) == 2
    assert "--workers 0" in capsys.readouterr().err
    twice = ["--grid", "duration_s=0.01", "--grid", "duration_s=0.02"]
    code, out = run_json(capsys, ["sweep", SKU_LADDER, *twice])
    assert code == 2
    assert "given twice" in out["error"]["message"]


def test_sweep_validates_every_grid_point(capsys, tmp_path):
    grid = ["--grid", "gateways.hq-gw.sku=VpnGw1,VpnGw9", "--grid", "duration_s=0.01"]
    argv = ["sweep", SKU_LADDER, *grid, "--replications", "1", "--workers", "1"]
    code, out = run_json(capsys, argv)
    assert code == 1
    [point] = out["invalid_points"]
    assert point["values"]["gateways.hq-gw.sku"] == "VpnGw9"
    assert "InvalidGatewaySku" in {f["code"] for f in point["findings"]}
    code, out = run_json(capsys, [*argv, "--skip-invalid"])
    assert code == 0
    assert [p["values"]["gateways.hq-gw.sku"] for p in out["skipped"]] == ["VpnGw9"]
    assert {row["gateways.hq-gw.sku"] for row in out["summary"]} == {"VpnGw1"}


def test_sweep_of_an_invalid_scenario_exits_1(capsys):
    argv = ["sweep", str(scenario("overlapping_spaces")), "--replications", "1"]
    assert main(argv) == 1
    assert "VnetAddressSpacesOverlap" in capsys.readouterr().err


def test_ctrl_c_during_a_sweep_keeps_the_finished_records(capsys, tmp_path, monkeypatch):
    import fabric.study.sweeps as sweeps

    real = sweeps.run_one
    calls = []

    def stop_on_second(spec):
        calls.append(spec)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(spec)

    monkeypatch.setattr(sweeps, "run_one", stop_on_second)
    out = tmp_path / "out"
    argv = ["sweep", SKU_LADDER, "--grid", "duration_s=0.01", "--replications", "3"]
    assert main([*argv, "--workers", "1", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert str(out) in err
    records = json.loads((out / "records.json").read_text())
    assert {r["replication"] for r in records} == {0}


def test_unreachable_dask_scheduler_times_out_with_a_message(capsys):
    pytest.importorskip("distributed")
    argv = ["sweep", SKU_LADDER, "--grid", "duration_s=0.01", "--replications", "1"]
    argv += ["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1"]
    assert main(argv) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_nan_never_reaches_json():
    from fabric.cli.common import finite

    assert json.dumps(finite({"a": [float("nan"), 1.0, float("inf")]})) == (
        '{"a": [null, 1.0, null]}'
    )


# -- import agrees with validate ------------------------------------------------------------------


def _corpus_inputs() -> list[Path]:
    if not CORPUS.exists():
        return []
    found = sorted(p for p in (CORPUS / "arm").glob("*/azuredeploy.json"))
    found += sorted((CORPUS / "rest").glob("*.json"))
    found += sorted(p for p in (CORPUS / "terraform").iterdir() if p.is_dir())
    return found


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside the repo")
@pytest.mark.parametrize("source", _corpus_inputs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_validate_of_the_import_reports_the_errors_of_validate(source, tmp_path, capsys):
    argv = [str(source)]
    parameters = source.parent / "azuredeploy.parameters.json"
    if source.name == "azuredeploy.json" and parameters.exists():
        argv += ["--parameters", str(parameters)]
    code, before = run_json(capsys, ["validate", *argv])
    assert code in (0, 1)
    written = tmp_path / "imported.yaml"
    imported = main(["import", *argv, "-o", str(written)])
    capsys.readouterr()
    errors = sorted(f["code"] for f in before["findings"] if f["severity"] == "Error")
    assert imported == (1 if errors else 0)
    code, after = run_json(capsys, ["validate", str(written)])
    assert sorted(f["code"] for f in after["findings"] if f["severity"] == "Error") == errors


def test_ip_flow_takes_host_names_and_any_case(capsys):
    argv = ["ip-flow", HUB_SPOKE, "--src", "10.50.1.4", "--dst", "vm1", "--protocol", "tcp"]
    code, out = run_json(capsys, [*argv, "--port", "22", "--direction", "inbound"])
    assert code == 1
    assert out["rule_name"] == "deny-ssh-from-anywhere"


SIZES = """
vnets:
  - {name: a, region: westeurope, address_prefixes: [10.0.0.0/16],
     subnets: [{name: s, address_prefix: 10.0.0.0/24}],
     hosts: [{name: h1, subnet: s, ip: 10.0.0.4, vm_size: Standard_Z99},
             {name: h2, subnet: s, ip: 10.0.0.5, os_profile: tuned}]}
traffic:
  - {name: t, src: h1, dst: h2, protocol: Tcp, pattern: tcp, duration_s: 0.01}
"""


def test_an_unknown_vm_size_or_a_tuned_receiver_is_a_finding_not_a_traceback(capsys, tmp_path):
    scenario = tmp_path / "sizes.yaml"
    scenario.write_text(SIZES)
    code, out = run_json(capsys, ["run", str(scenario)])
    assert code == 1
    found = {f["code"]: f["message"] for f in out["findings"]}
    assert "Standard_Z99" in found["VmSizeNotInCatalogue"]
    assert "window_packets" in found["InvalidTraffic"]
    scenario.write_text(
        SIZES.replace("duration_s: 0.01}", "duration_s: 0.01, window_packets: 100}").replace(
            "vm_size: Standard_Z99", "vm_size: Standard_Z99, bandwidth_mbps: 1000"
        )
    )
    code, out = run_json(capsys, ["run", str(scenario)])
    assert code == 0
    assert out["flows"][0]["delivered"] > 0


def test_pair_tables_in_parameters_print_as_json(capsys, tmp_path):
    traffic = tmp_path / "t.yaml"
    traffic.write_text(
        "traffic:\n  - {name: f, src: web-vm, dst: db-er, protocol: Udp, rate_mbps: 10,"
        " duration_s: 0.01}\nsimulation: {parameters: {peering_location_rtt_ms:"
        ' {"Amsterdam/northeurope": 30}, region_rtt_ms: {"westeurope/eastus": 90}}}\n'
    )
    scenario = str(path("expressroute_vs_vpn_vs_peering"))
    code, out = run_json(capsys, ["run", scenario, "--traffic", str(traffic)])
    assert code == 0
    assert out["parameters"]["peering_location_rtt_ms"] == {"amsterdam/northeurope": 30.0}
    assert out["parameters"]["region_rtt_ms"] == {"westeurope/eastus": 90.0}


def test_a_tunnel_event_on_an_expressroute_connection_is_refused(capsys, tmp_path):
    traffic = tmp_path / "t.yaml"
    traffic.write_text(
        "traffic:\n  - {name: f, src: web-vm, dst: db-er, protocol: Udp, rate_mbps: 10,"
        " duration_s: 0.2}\nevents: [{at_s: 0.1, action: tunnel_down, target: app-er-to-ams}]\n"
    )
    scenario = str(path("expressroute_vs_vpn_vs_peering"))
    code, out = run_json(capsys, ["run", scenario, "--traffic", str(traffic)])
    assert code == 2
    assert "ExpressRoute connection" in out["error"]["message"]


@pytest.mark.parametrize(
    "question",
    [
        ["routes", "--vnet", "app", "--subnet", "web"],
        ["next-hop", "--src", "web-vm", "--dst", "db-vm"],
        [
            "ip-flow",
            "--src",
            "web-vm",
            "--dst",
            "db-vm",
            "--protocol",
            "Tcp",
            "--port",
            "1433",
            "--direction",
            "Outbound",
        ],
        ["connectivity", "--src", "web-vm", "--dst", "db-vm"],
        ["matrix"],
    ],
)
def test_a_question_about_an_invalid_topology_gets_the_validate_answer(question, capsys):
    """DESIGN.md: exit 1 when the topology has errors, and under --json 'the validate shape'."""
    file = str(scenario("overlapping_spaces"))
    arguments = [question[0], file, *question[1:], "--json"]
    assert main(arguments) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["valid"] is False
    assert "VnetAddressSpacesOverlap" in [f["code"] for f in printed["findings"]]
