"""The committed peering-vs-VPN results obey what their own model and Azure's published figures
imply, and the README shows exactly the table the benchmark wrote. (The benchmark itself takes
about 40 minutes; ``benchmarks/peering_vs_vpn.py --quick`` is smoke-tested elsewhere.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabric.catalogue.skus import lookup
from tests.helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ROWS = json.loads((RESULTS / "peering_vs_vpn.json").read_text())
SLACK = 1.01  # 1%: interval noise, never a rate cap exceeded by more
# A flow held by its receive window delivers one window per round trip, in bursts; a span of
# deliveries (first to last) holds up to one burst more than its length's share: up to
# RTT / duration, about 1% for ~100 round trips. So a window bound gets 2%.
WINDOW_SLACK = 1.02

FLOWS = (("tcp_linux_mbps", "bound_linux_mbps"), ("tcp_windows_mbps", "bound_windows_mbps"))


def _label(row: dict) -> str:
    return f"{row['scope']} {row['path']} {row['vm_size']}"


@pytest.mark.parametrize("row", ROWS, ids=_label)
def test_no_throughput_exceeds_the_narrowest_cap(row):
    for measured, bound in (*FLOWS, ("parallel_mbps", "bound_parallel_mbps")):
        kind = row[bound.removesuffix("_mbps")]
        slack = WINDOW_SLACK if kind == "receive window" else SLACK
        assert row[measured] <= row[bound] * slack, (measured, row[measured], row[bound], kind)


@pytest.mark.parametrize("row", ROWS, ids=_label)
def test_throughput_reaches_most_of_its_bound(row):
    """A TCP flow in steady state fills the binding cap minus the 2% background (and ESP /
    header overhead for a VPN): at least 90% of the bound."""
    for measured, bound in FLOWS:
        assert row[measured] >= 0.9 * row[bound], (measured, row[measured], row[bound])


@pytest.mark.parametrize("row", [r for r in ROWS if r["path"].startswith("VPN")], ids=_label)
def test_vpn_rows_stay_under_the_published_figures(row):
    _, sku, generation = row["path"].split()
    spec = lookup(sku, f"Generation{generation.removeprefix('Gen')}")
    for measured, _ in FLOWS:
        assert row[measured] <= spec.aggregate_mbps * SLACK
        if row["published_mbps"]:
            assert row[measured] <= row["published_mbps"] * SLACK


def test_vpn_is_slower_to_cross_than_peering_and_global_than_regional():
    latency = {(r["scope"], r["path"], r["vm_size"]): r["latency_mean_ms"] for r in ROWS}
    for scope in ("regional", "global"):
        peering = latency[(scope, "peering", "Standard_D4s_v5")]
        vpn = [v for (s, p, _), v in latency.items() if s == scope and p.startswith("VPN")]
        assert vpn
        assert all(v > peering for v in vpn)
    for (scope, path, size), value in latency.items():
        regional = latency.get(("regional", path, size))
        if scope == "global" and regional is not None:
            assert value > regional


def test_the_readme_shows_the_generated_table():
    table = [
        line
        for line in (RESULTS / "peering_vs_vpn.md").read_text().splitlines()
        if line.startswith("|")
    ]
    readme = (ROOT / "README.md").read_text()
    assert table
    for line in table:
        assert line in readme, f"README is missing the benchmark row: {line}"


# -- the performance table (benchmarks/summary.py) -------------------------------------------

summary = load_script("benchmarks", "summary")
PERFORMANCE = RESULTS / "performance.json"


def test_the_performance_table_is_rendered_from_the_saved_figures():
    report = json.loads(PERFORMANCE.read_text())
    assert (RESULTS / "performance.md").read_text() == summary.render(report)


def test_the_readme_shows_the_performance_table():
    table = [line for line in (RESULTS / "performance.md").read_text().splitlines() if line]
    readme = (ROOT / "README.md").read_text()
    for line in table:
        assert line in readme, f"README is missing the performance row: {line}"


def test_every_row_of_the_table_was_measured():
    report = json.loads(PERFORMANCE.read_text())
    assert "not measured" not in summary.render(report)
    assert not [name for name, raw in report["results"].items() if "failed" in raw]


def _report(results: dict) -> dict:
    return {"results": results, "date": "d", "machine": {"cpus": 2, "platform": "p", "python": "3"}}


def test_met_compares_the_right_side_of_each_target():
    """A floor target on a ratio, a ceiling on a figure: each says yes only on its side."""
    fast = _report({"engine": {"bare_events_per_s": {"vnetsim": 9, "heapq_floor": 10}}})
    slow = _report({"engine": {"bare_events_per_s": {"vnetsim": 7, "heapq_floor": 10}}})
    row = next(line for line in summary.render(fast).splitlines() if "bare timeouts" in line)
    assert "| 0.90× | ≥ 0.8× | yes |" in row
    row = next(line for line in summary.render(slow).splitlines() if "bare timeouts" in line)
    assert "| 0.70× | ≥ 0.8× | no |" in row
    under = _report({"long_tcp": {"wall_s": 59.0, "peak_rss_mb": 501}})
    lines = summary.render(under).splitlines()
    assert "| < 60.00 | yes |" in next(line for line in lines if "at 8 Gbps" in line)
    assert "| < 500 | no |" in next(line for line in lines if "TCP flow: peak RSS" in line)
