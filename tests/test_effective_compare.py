"""``vnetsim routes --compare``: vnetsim's effective routes against Azure's own listing (az
network nic show-effective-route-table, or REST ``effectiveRouteTable``), route by route."""

from __future__ import annotations

import json

from fabric.cli import main
from fabric.scenarios import path

HUB_SPOKE = str(path("hub_spoke"))
ASK = ["routes", HUB_SPOKE, "--vnet", "spoke1", "--subnet", "app"]


def azure_listing(capsys) -> list[dict]:
    """Our routes written the way the az CLI prints them (camelCase, Azure's spellings)."""
    assert main([*ASK, "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    spelled = {"VNetPeering": "VNetPeering", "VnetLocal": "VnetLocal"}
    return [
        {
            "source": r["source"],
            "state": r["state"],
            "addressPrefix": r["address_prefixes"],
            "nextHopType": spelled.get(r["next_hop_type"], r["next_hop_type"]),
            "nextHopIpAddress": r["next_hop_ip_address"],
            "disableBgpRoutePropagation": False,
        }
        for r in ours
    ]


def compare(capsys, tmp_path, listing, wrap: bool = False) -> tuple[int, dict]:
    file = tmp_path / "effective.json"
    file.write_text(json.dumps({"value": listing} if wrap else listing))
    code = main([*ASK, "--compare", str(file), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_same_routes_compare_equal_in_either_shape(capsys, tmp_path):
    listing = azure_listing(capsys)
    assert compare(capsys, tmp_path, listing) == (0, {"same": True, "differences": []})
    assert compare(capsys, tmp_path, listing, wrap=True)[0] == 0


def test_other_spellings_of_next_hop_types_are_the_same_route(capsys, tmp_path):
    listing = azure_listing(capsys)
    for row in listing:
        if row["nextHopType"] == "VnetLocal":
            row["nextHopType"] = "VirtualNetwork"  # how some listings print it
    assert compare(capsys, tmp_path, listing)[0] == 0


def test_a_missing_an_extra_and_a_changed_route_are_each_reported(capsys, tmp_path):
    listing = azure_listing(capsys)
    removed = listing.pop(0)
    listing[0]["state"] = "Invalid"
    listing.append(
        {
            "source": "User",
            "state": "Active",
            "addressPrefix": ["192.168.0.0/16"],
            "nextHopType": "VirtualAppliance",
            "nextHopIpAddress": ["10.0.2.4"],
        }
    )
    code, out = compare(capsys, tmp_path, listing)
    assert code == 1
    assert out["same"] is False
    by_prefix = {d["prefix"]: d for d in out["differences"]}
    assert by_prefix[removed["addressPrefix"][0]]["azure"] is None
    assert by_prefix["192.168.0.0/16"]["vnetsim"] is None
    assert by_prefix[listing[0]["addressPrefix"][0]]["azure"].startswith("Invalid")


def test_an_unreadable_listing_is_bad_input(capsys, tmp_path):
    file = tmp_path / "effective.json"
    file.write_text('{"value": 3}')
    assert main([*ASK, "--compare", str(file), "--json"]) == 2
    assert "list of routes" in json.loads(capsys.readouterr().out)["error"]["message"]
