"""``.frame()``: answers as pandas DataFrames (the optional ``frame`` extra); without pandas a
clear ImportError that says how to add it, and the core imports nothing of pandas."""

from __future__ import annotations

import subprocess
import sys

import pytest

import fabric
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.model.frames import FrameUnavailableError
from fabric.scenarios import path as scenario
from fabric.study.matrix import matrix

HUB_SPOKE = scenario("hub_spoke")


def test_without_pandas_frame_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    net = load_topology(HUB_SPOKE).fabric
    with pytest.raises(FrameUnavailableError, match=r"vnetsim\[frame\]"):
        matrix(net, protocol="Icmp").frame()


def test_the_core_does_not_import_pandas():
    code = (
        "import sys, fabric; from fabric.cli import main; "
        "main(['matrix', sys.argv[1], '--protocol', 'Icmp', '--json']); "
        "assert 'pandas' not in sys.modules"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(HUB_SPOKE)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_routes_findings_flows_and_sweeps_become_frames():
    pandas = pytest.importorskip("pandas")
    net = load_topology(HUB_SPOKE).fabric
    routes = ControlPlane(net).routes("spoke1", "app").frame()
    assert isinstance(routes, pandas.DataFrame)
    assert "10.1.0.0/16" in set(routes["address_prefixes"])
    clashing = net.copy()
    clashing.vnet("clash", "westeurope", "10.1.0.0/16")
    clashing.peer("hub", "clash")
    findings = fabric.frame(fabric.validate(clashing))
    assert {"code", "severity", "message", "resources"} <= set(findings.columns)
    assert len(findings) >= 1
    run = fabric.simulate(
        net,
        [{"name": "f", "src": "vm1", "dst": "dr-vm", "rate_mbps": 10, "duration_s": 0.01}],
    )
    flows = run.frame()
    assert list(flows["name"]) == ["f"]
    assert "latency_p99_ms" in flows.columns
    sweep = fabric.sweep(
        net,
        {"traffic.*.rate_mbps": [10, 20]},
        traffic=[{"name": "f", "src": "vm1", "dst": "dr-vm", "rate_mbps": 10, "duration_s": 0.01}],
        workers=1,
    )
    assert len(sweep.frame()) == len(sweep.records)
