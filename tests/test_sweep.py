"""Sweeps: grid application, seeds, summaries, the local and the Dask executors agree, and a
worker killed mid-sweep loses no grid point."""

from __future__ import annotations

import contextlib
import json
import os
import threading

import pytest

from fabric.cli import main
from fabric.io import load_topology
from fabric.scenarios import path
from fabric.study.sweeps import SweepError, parse_grid, plan_runs, sweep

GRID = {"gateways.hq-gw.sku": ["VpnGw1", "VpnGw3"], "traffic.*.rate_mbps": [40, 160]}


def short_ladder():
    document = load_topology(path("sku_ladder"))
    traffic = tuple({**t, "duration_s": 0.01} for t in document.traffic)
    return type(document)(document.fabric, traffic, document.simulation)


def test_grid_parsing_and_application():
    assert parse_grid(["a.b.c=1,2.5,true,VpnGw1"]) == {"a.b.c": [1, 2.5, True, "VpnGw1"]}
    with pytest.raises(SweepError, match="key=value1,value2"):
        parse_grid(["nonsense"])
    runs = plan_runs(short_ladder(), GRID, replications=2, seed=7)
    assert len(runs) == 8
    assert len({r.seed for r in runs}) == 8  # independent seeds per point and replication
    assert runs[0].document["gateways"][0]["sku"] == "VpnGw1"
    assert {t["rate_mbps"] for t in runs[-1].document["traffic"]} == {160}
    with pytest.raises(SweepError, match="no gateways entry named 'nope'"):
        plan_runs(short_ladder(), {"gateways.nope.sku": ["VpnGw1"]}, 1, 1)
    with pytest.raises(SweepError, match=r"<section>\.<name"):
        plan_runs(short_ladder(), {"sku": ["VpnGw1"]}, 1, 1)


def test_sweep_summary_shows_the_cap():
    result = sweep(short_ladder(), GRID, replications=2, workers=1)
    assert len(result.records) == 2 * 2 * 2 * 5
    summary = {
        (r["gateways.hq-gw.sku"], r["traffic.*.rate_mbps"], r["flow"]): r for r in result.summary()
    }
    slow = summary[("VpnGw1", 160, "to-site1")]
    fast = summary[("VpnGw3", 160, "to-site1")]
    assert slow["latency_mean_ms"] > fast["latency_mean_ms"]  # 800 Mbps offered > VpnGw1's 650
    assert slow["replications"] == 2
    assert slow["throughput_mbps_ci"] is not None


def test_local_pool_gives_the_same_records_as_in_process():
    one = sweep(short_ladder(), GRID, replications=2, workers=1)
    pool = sweep(short_ladder(), GRID, replications=2, workers=2)
    assert pool.records == one.records


def _exit_worker(address: str, victim: str) -> None:
    """Make one worker process exit at once (its connection drops: that is the point)."""
    import distributed

    with distributed.Client(address) as client, contextlib.suppress(Exception):
        client.run(os._exit, 1, workers=[victim])


def test_dask_local_cluster_gives_the_same_records_and_survives_a_killed_worker():
    distributed = pytest.importorskip("distributed")
    reference = sweep(short_ladder(), GRID, replications=3, workers=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert (
            sweep(short_ladder(), GRID, replications=3, executor="dask", scheduler=address).records
            == reference.records
        )

        killed = []

        def kill_a_worker(done: int, total: int) -> None:
            if done == 2 and not killed:  # mid-sweep: one worker process dies abruptly
                with distributed.Client(address) as client:
                    victim = sorted(client.scheduler_info()["workers"])[0]
                killed.append(victim)
                threading.Thread(target=_exit_worker, args=(address, victim), daemon=True).start()

        survived = sweep(
            short_ladder(),
            GRID,
            replications=3,
            executor="dask",
            scheduler=address,
            progress=kill_a_worker,
        )
        assert killed
        assert survived.records == reference.records


def test_sweep_command_writes_tidy_records_and_figures(tmp_path, capsys):
    args = [
        "sweep",
        str(path("sku_ladder")),
        "--grid",
        "gateways.hq-gw.sku=VpnGw1,VpnGw2",
        "--grid",
        "duration_s=0.01",
        "--replications",
        "2",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--json",
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert {row["gateways.hq-gw.sku"] for row in summary} == {"VpnGw1", "VpnGw2"}
    for name in ("records.csv", "summary.csv", "records.json", "sweep_gateways_hq-gw_sku.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert main(["sweep", str(path("sku_ladder")), "--grid", "gateways.x.sku=VpnGw1"]) == 2
    assert "no gateways entry named 'x'" in capsys.readouterr().err
