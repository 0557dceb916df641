"""The public Python API: names, records that explain themselves, keyword-only questions,
figures that leave a notebook's backend alone, and the scenario's own engine choice."""

from __future__ import annotations

import json

import matplotlib
import pytest

import fabric
from fabric.cli import main
from fabric.control.plane import ControlPlane
from tests.fabrics import hub_and_spokes


def test_dir_lists_the_public_names_and_each_resolves():
    names = dir(fabric)
    for name in ("Fabric", "ControlPlane", "validate", "connectivity", "next_hop", "ip_flow"):
        assert name in names
    for name in fabric.__all__:
        assert getattr(fabric, name) is not None


def test_questions_take_keywords_after_the_addresses():
    plane = ControlPlane(hub_and_spokes())
    with pytest.raises(TypeError):
        fabric.connectivity(plane, "10.1.0.4", "10.2.0.4", "Tcp", 443)
    hop = fabric.next_hop(plane, "10.1.0.4", "10.50.1.4")
    assert hop.next_hop_type == "VirtualNetworkGateway"
    assert hop.to_json()["address_prefix"] == "10.50.0.0/16"


def test_flow_result_repr_is_short_and_has_no_arrays():
    net = hub_and_spokes(remote=False)
    flow = {"name": "f", "src": "vm1", "dst": "nva", "rate_mbps": 50, "duration_s": 0.05}
    result = fabric.simulate(net, [flow]).flow("f")
    text = repr(result)
    assert "array" not in text
    assert "name='f'" in text
    assert len(text) < 300


def test_writing_figures_leaves_the_backend_alone_and_svg_is_byte_identical(tmp_path):
    net = hub_and_spokes(remote=False)
    flow = {"name": "f", "src": "vm1", "dst": "nva", "rate_mbps": 50, "duration_s": 0.05}
    before = matplotlib.get_backend()
    fabric.simulate(net, [flow]).write(tmp_path / "a")
    assert matplotlib.get_backend() == before
    fabric.simulate(net, [flow]).write(tmp_path / "b")
    for name in ("latency_cdf.svg", "throughput.svg"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


SCENARIO = """
vnets:
  - name: a
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets: [{{name: s, address_prefix: 10.1.0.0/24}}]
    hosts: [{{name: a-vm, subnet: s, ip: 10.1.0.4}}, {{name: b-vm, subnet: s, ip: 10.1.0.5}}]
traffic:
  - {{name: f, src: a-vm, dst: b-vm, protocol: Tcp, pattern: {pattern}, duration_s: 0.02}}
simulation: {{engine: {engine}}}
"""


def test_the_scenario_engine_is_honoured_or_refused(tmp_path, capsys):
    path = tmp_path / "tcp_on_batch.yaml"
    path.write_text(SCENARIO.format(pattern="tcp", engine="batch"))
    assert main(["run", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert "engine batch cannot run this scenario" in err
    assert "Traceback" not in err
    path.write_text(SCENARIO.format(pattern="cbr", engine="events"))
    assert main(["run", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flows"][0]["delivered"] > 0
