"""Acceptance-audit cases: rules of azure-facts.md that the §10 cases do not probe, each
asked through the questions a user asks (validation findings, traces)."""

from __future__ import annotations

import pytest

from fabric.catalogue.clouds import cloud_of
from fabric.checks import validate
from fabric.control.peering import peering_state
from fabric.control.plane import ControlPlane
from fabric.model.container import Fabric
from fabric.watcher import connectivity


def _two_peered(region_a: str, region_b: str) -> Fabric:
    fabric = Fabric()
    fabric.vnet("A", region_a, "10.0.0.0/16")
    fabric.subnet("A", "s", "10.0.0.0/24")
    fabric.host("A", "a-vm", "s", "10.0.0.4")
    fabric.vnet("B", region_b, "10.1.0.0/16")
    fabric.subnet("B", "s", "10.1.0.0/24")
    fabric.host("B", "b-vm", "s", "10.1.0.4")
    fabric.peer("A", "B")
    return fabric


@pytest.mark.parametrize(
    ("region_b", "allowed"),
    [
        ("westeurope", True),  # global peering among public regions
        ("chinaeast2", False),  # public <-> 21Vianet: never
        ("usgovvirginia", False),  # public <-> Government: never
    ],
)
def test_peering_never_crosses_clouds(region_b, allowed):
    """§2.1: global peering works among all public regions, among China regions and among
    Government regions, never across clouds (e.g. public <-> 21Vianet)."""
    fabric = _two_peered("eastus", region_b)
    found = [f for f in validate(fabric) if f.code == "PeeringAcrossClouds"]
    trace = connectivity(ControlPlane(fabric), "10.0.0.4", "10.1.0.4")
    if allowed:
        assert not found
        assert trace.connection_status == "Reachable"
    else:
        assert [f.severity for f in found] == ["Error"]
        assert region_b in found[0].message
        link = next(p for (vnet, _), p in fabric.peerings.items() if vnet == "A")
        assert peering_state(fabric, link) != "Connected"
        assert trace.connection_status == "Unreachable"


def test_peering_within_a_sovereign_cloud_is_global_peering():
    """§2.1: China regions peer with each other, as do Government regions."""
    for a, b in (("chinaeast2", "chinanorth3"), ("usgovvirginia", "usgovarizona")):
        assert cloud_of(a) == cloud_of(b) != cloud_of("eastus")
        fabric = _two_peered(a, b)
        assert "PeeringAcrossClouds" not in [f.code for f in validate(fabric)]
