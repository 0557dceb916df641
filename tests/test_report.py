"""The one-file report: it parses as HTML, every embedded image decodes (PNG with matplotlib,
SVG as XML), nothing is fetched from the network and no script runs; its findings, reachability
and cost are the same answers the other commands give. A headless browser renders it when one is
installed (the test skips cleanly otherwise)."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import matplotlib.image
import pytest

from fabric.cli import main
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.scenarios import path
from fabric.study.report import reachability_pairs, report_html
from fabric.watcher import connectivity


class Page(HTMLParser):
    """Collects what a self-contained page must and must not have."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "img":
            self.images.append(values["src"])
        for name in ("src", "href"):
            if name in values:
                self.links.append((tag, values[name]))

    def handle_data(self, data):
        self.text.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def decode(uri: str):
    """Decode a data URI image: PNG pixels, or the SVG's XML root."""
    head, _, data = uri.partition(",")
    raw = base64.b64decode(data, validate=True)
    if head == "data:image/png;base64":
        return matplotlib.image.imread(io.BytesIO(raw), format="png")
    assert head == "data:image/svg+xml;base64", head
    return ET.fromstring(raw)


def check_self_contained(text: str) -> Page:
    page = parse(text)
    assert text.startswith("<!DOCTYPE html>")
    assert "script" not in page.tags
    assert "link" not in page.tags
    assert "iframe" not in page.tags
    for tag, target in page.links:  # only data URIs and in-page anchors
        assert target.startswith(("data:", "#")), (tag, target[:60])
    assert page.images
    for uri in page.images:
        image = decode(uri)
        if hasattr(image, "shape"):
            assert min(image.shape[:2]) > 50
        else:
            assert image.tag.endswith("svg")
    return page


@pytest.fixture(scope="module")
def with_run() -> str:
    document = load_topology(path("hub_spoke"))
    return report_html(
        document, title="hub_spoke", scenario=document, scenario_name="hub_spoke", duration_s=0.05
    )


def test_report_with_a_scenario_is_self_contained_and_complete(with_run):
    page = check_self_contained(with_run)
    assert {"diagram", "findings", "reachability", "cost", "run"} <= page.ids
    assert len(page.images) == 3  # the diagram and the run's two figures
    text = " ".join(page.text)
    for flow in ("spoke1-to-dr", "spoke2-to-nva", "spoke1-to-spoke2"):
        assert flow in text
    assert "gateway_processing_ms" in text  # the run's assumptions
    assert "hours_per_month" in text  # the cost's
    assert "prices of c. 2023-2024" in text


def test_the_diagram_in_the_report_names_every_vnet(with_run):
    page = parse(with_run)
    svg = decode(page.images[0])
    shown = " ".join("".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for name in ("hub", "spoke1", "spoke2", "dr", "hub-gw", "dr-gw", "hub-to-spoke1"):
        assert name in shown


def test_findings_are_grouped_by_severity_with_their_fixes():
    document = load_topology(path("overlapping_spaces"))
    page = check_self_contained(report_html(document, title="overlapping"))
    text = " ".join(page.text)
    assert "Errors (1)" in text
    assert "VnetAddressSpacesOverlap" in text
    assert "Warnings" not in text
    from fabric.checks import validate

    for finding in validate(document.fabric):
        assert finding.message in text


def test_reachability_is_connectivitys_answer_for_every_subnet_pair():
    fabric = load_topology(path("hub_spoke_transit")).fabric
    plane = ControlPlane(fabric)
    pairs = {(p.src, p.dst): p for p in reachability_pairs(plane)}
    subnets = [
        f"{v.name}/{s.name}"
        for v in fabric.vnets.values()
        for s in v.subnets
        if s.name != "GatewaySubnet"
    ]
    assert set(pairs) == {(a, b) for a in subnets for b in subnets if a != b}
    hosts = {f"{v.name}/{h.subnet}": h.ip for v in fabric.vnets.values() for h in v.hosts}
    for (src, dst), pair in pairs.items():
        trace = connectivity(plane, hosts[src], hosts[dst])
        assert pair.connection_status == trace.connection_status
        assert pair.reason_code == trace.code
    assert pairs[("spoke1/app", "dr/app")].connection_status == "Reachable"
    assert pairs[("spoke3/app", "dr/app")].reason_code == "GatewayTransitNotConfigured"
    assert pairs[("spoke1/app", "spoke2/app")].reason_code == "PeeringNotTransitive"


def test_a_subnet_without_vms_is_asked_from_its_first_usable_address():
    import fabric

    net = fabric.Fabric()
    for i in (1, 2):
        net.vnet(f"v{i}", "westeurope", f"10.{i}.0.0/16")
        net.subnet(f"v{i}", "app", f"10.{i}.8.0/24")
    net.peer("v1", "v2")
    pairs = reachability_pairs(ControlPlane(net))
    assert [(p.src, p.dst, p.connection_status) for p in pairs] == [
        ("v1/app", "v2/app", "Reachable"),
        ("v2/app", "v1/app", "Reachable"),
    ]


def browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_a_headless_browser_renders_the_report(with_run, tmp_path):
    binary = browser()
    if binary is None:
        pytest.skip("no headless browser (chromium or chrome) installed here")
    page = tmp_path / "report.html"
    page.write_text(with_run)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            binary,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = matplotlib.image.imread(shot)
    assert pixels.std() > 0.01  # something was drawn, not a blank page


# -- the command -----------------------------------------------------------------------------------


def run_cli(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_report_command_writes_one_file(capsys, tmp_path):
    out = tmp_path / "report.html"
    code, answer = run_cli(
        capsys,
        "report",
        str(path("hub_spoke")),
        "--scenario",
        str(path("hub_spoke")),
        "--duration",
        "0.02",
        "-o",
        str(out),
    )
    assert code == 0
    assert answer["written"] == [str(out)]
    assert answer["valid"] is True
    check_self_contained(out.read_text())
    assert list(tmp_path.iterdir()) == [out]  # the run's figures are inside it


def test_report_of_an_invalid_topology_is_written_and_exits_1(capsys, tmp_path):
    out = tmp_path / "r.html"
    code, answer = run_cli(
        capsys,
        "report",
        str(path("overlapping_spaces")),
        "--scenario",
        str(path("overlapping_spaces")),
        "-o",
        str(out),
    )
    assert code == 1
    assert answer["valid"] is False
    assert "Not simulated: the topology has errors" in out.read_text()


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "report.pdf"],
        ["--scenario", "no-such-scenario.yaml"],
        ["--duration", "-1"],
    ],
)
def test_report_refuses_bad_usage(capsys, tmp_path, monkeypatch, options):
    monkeypatch.chdir(tmp_path)
    code, answer = run_cli(capsys, "report", str(path("hub_spoke")), *options)
    assert code == 2
    assert set(answer["error"]) == {"code", "message", "file", "line"}
    assert not list(tmp_path.iterdir())


def test_a_scenario_without_traffic_is_refused(capsys, tmp_path):
    topology = tmp_path / "t.yaml"
    topology.write_text("vnets: [{name: a, region: westeurope, address_prefixes: [10.0.0.0/16]}]\n")
    code, answer = run_cli(
        capsys,
        "report",
        str(topology),
        "--scenario",
        str(topology),
        "-o",
        str(tmp_path / "r.html"),
    )
    assert code == 2
    assert "traffic" in answer["error"]["message"]
