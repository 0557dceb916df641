"""Generated topologies (fabric.generate, ``vnetsim generate``): as many VNets as asked, address
plans without overlaps, valid, and loadable once written."""

from __future__ import annotations

import json
from ipaddress import ip_network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fabric
from fabric.checks import validate
from fabric.cli import main
from fabric.control.plane import ControlPlane
from fabric.io import load_topology
from fabric.study.generate import GenerateError


def overlapping_pairs(net) -> list[tuple[str, str]]:
    """Brute force: every pair of VNets whose address spaces overlap."""
    spaces = [(v.name, ip_network(p)) for v in net.vnets.values() for p in v.address_prefixes]
    return [
        (a, b)
        for i, (a, x) in enumerate(spaces)
        for b, y in spaces[i + 1 :]
        if a != b and x.overlaps(y)
    ]


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 60),
    prefixlen=st.integers(20, 28),
    avnm=st.booleans(),
    direct=st.booleans(),
)
def test_hub_spoke_has_n_spokes_no_overlap_and_no_errors(n, prefixlen, avnm, direct):
    net = fabric.generate.hub_spoke(
        n, spoke_prefixlen=prefixlen, avnm=avnm, direct_connectivity=direct
    )
    assert len(net.vnets) == n + 1
    assert overlapping_pairs(net) == []
    assert [f for f in validate(net) if f.severity == "Error"] == []
    plane = ControlPlane(net)
    hops = {str(r.prefix): r.next_hop_type for r in plane.routes(f"spoke{n}", "app").routes}
    assert hops["10.0.0.0/16"] == "VNetPeering"  # the hub, peered (by AVNM or by hand)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 60), prefixlen=st.integers(16, 28), regions=st.integers(1, 3))
def test_mesh_has_n_vnets_no_overlap_and_every_pair_connected(n, prefixlen, regions):
    names = ["westeurope", "northeurope", "eastus"][:regions]
    net = fabric.generate.mesh(n, prefixlen=prefixlen, regions=names, is_global=True)
    assert len(net.vnets) == n
    assert overlapping_pairs(net) == []
    assert [f for f in validate(net) if f.severity == "Error"] == []
    plane = ControlPlane(net)
    hops = [r.next_hop_type for r in plane.routes("vnet1", "app").routes]
    assert hops.count("ConnectedGroup") == n - 1


def test_beyond_the_per_region_vnet_limit_vnets_spread_over_subscriptions():
    net = fabric.generate.hub_spoke(1000, hosts=False, gateway_sku=None, use_hub_gateway=False)
    assert {v.subscription for v in net.vnets.values()} == {"sub-1", "sub-2"}
    assert [f for f in validate(net) if f.severity == "Error"] == []
    manual = fabric.generate.hub_spoke(25, avnm=False, vnets_per_subscription=10)
    assert {v.subscription for v in manual.vnets.values()} == {"sub-1", "sub-2", "sub-3"}
    assert [f for f in validate(manual) if f.severity == "Error"] == []  # permissions granted
    assert len(manual.permissions) == 6


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fabric.generate.hub_spoke(0), "spokes"),
        (lambda: fabric.generate.mesh(1), ">= 2"),
        (lambda: fabric.generate.mesh(300, space="10.0.0.0/24", prefixlen=28), "do not fit"),
        (lambda: fabric.generate.mesh(3, prefixlen=30), "/29"),
        (lambda: fabric.generate.hub_spoke(3, gateway_sku=None), "gateway"),
    ],
)
def test_impossible_requests_say_why(call, message):
    with pytest.raises(GenerateError, match=message):
        call()


def test_cli_writes_a_file_that_validates_and_loads(tmp_path, capsys):
    out = tmp_path / "big.yaml"
    assert main(["generate", "hub-spoke", "--spokes", "200", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    document = load_topology(str(out))
    assert len(document.fabric.vnets) == 201
    assert main(["validate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


def test_cli_mesh_json_and_bad_usage(capsys):
    assert (
        main(
            [
                "generate",
                "mesh",
                "--vnets",
                "4",
                "--json",
                "--region",
                "westeurope",
                "--region",
                "northeurope",
                "--global",
            ]
        )
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer["vnets"] == 4
    assert "connectivity_topology: Mesh" in answer["yaml"]
    assert main(["generate", "mesh", "--vnets", "1", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "BadUsage"
    assert main(["generate", "hub-spoke", "--json"]) == 2
    assert "--spokes" in json.loads(capsys.readouterr().out)["error"]["message"]
