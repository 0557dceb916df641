"""Start-up stays light (no matplotlib or numpy on the question paths, no Terraform or ARM
machinery for a YAML file), and the command line's per-file document cache (fabric/io/cache.py)
returns what a fresh load returns, re-loads when anything it depends on changes, and never
reads an entry that someone else could have written.

Timings are benchmarks' business (benchmarks/control_plane.py); these tests check behaviour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from ipaddress import ip_network
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric.cli import main
from fabric.control.addressing import AddressError, parse_prefix
from fabric.control.peering import spaces_overlap
from fabric.io import cache, load_topology
from fabric.model import Fabric

SMALL = """\
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets:
      - {name: workload, address_prefix: 10.0.1.0/24}
    hosts:
      - {name: hub-vm, subnet: workload, ip: 10.0.1.4}
  - name: spoke
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets:
      - {name: app, address_prefix: 10.1.1.0/24}
peerings:
  - {name: hub-to-spoke, from: hub, to: spoke}
  - {name: spoke-to-hub, from: spoke, to: hub}
"""

HEAVY = ("matplotlib", "numpy", "hcl2", "lark", "fabric.io.arm", "fabric.io.terraform.modules")


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted(sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        env={**os.environ, "VNETSIM_CACHE": "off"},
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_cli_loads_no_plotting_numerics_or_other_formats(tmp_path):
    assert _heavy(_modules_after("import fabric.cli", tmp_path)) == []


def test_help_loads_no_plotting_or_numerics(tmp_path):
    code = """
        import contextlib, io
        from fabric.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            main(["--help"])
    """
    assert _heavy(_modules_after(code, tmp_path)) == []


@pytest.mark.parametrize("question", ["next-hop", "connectivity"])
def test_a_question_on_a_yaml_file_loads_no_plotting_numerics_or_other_formats(tmp_path, question):
    topology = tmp_path / "small.yaml"
    topology.write_text(SMALL)
    code = f"""
        import contextlib, io
        from fabric.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["{question}", "{topology}", "--src", "10.0.1.4", "--dst", "10.1.1.4",
                         "--json"])
        assert code == 0, code
    """
    assert _heavy(_modules_after(code, tmp_path)) == []


# -- the document cache -------------------------------------------------------------------------


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("VNETSIM_CACHE_DIR", str(folder))
    monkeypatch.delenv("VNETSIM_CACHE", raising=False)
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    return folder


def _counting(path: Path):
    calls = []

    def load():
        calls.append(1)
        return load_topology(path)

    return load, calls


def test_the_second_load_of_the_same_content_comes_from_the_cache_and_is_equal(tmp_path, cache_dir):
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    load, calls = _counting(topology)
    key = cache.entry_key(topology, None, None)
    first = cache.cached(key, load)
    second = cache.cached(key, load)
    assert len(calls) == 1
    assert second is not first
    assert second.fabric == first.fabric
    assert second.findings == first.findings
    assert second.source_format == first.source_format
    assert [p.name for p in cache_dir.iterdir()] == [key + ".pickle"]
    assert cache_dir.stat().st_mode & 0o777 == 0o700


def test_the_key_follows_the_content_the_path_and_the_parameters(tmp_path, cache_dir):
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    key = cache.entry_key(topology, None, None)
    assert cache.entry_key(topology, None, None) == key
    topology.write_text(SMALL.replace("10.1.1.0/24", "10.1.2.0/24"))
    changed = cache.entry_key(topology, None, None)
    assert changed != key
    copy = tmp_path / "copy.yaml"
    copy.write_text(topology.read_text())
    assert cache.entry_key(copy, None, None) != changed
    assert cache.entry_key(topology, None, {"vnetName": "x"}) != changed
    parameters = tmp_path / "p.json"
    parameters.write_text("{}")
    assert cache.entry_key(topology, parameters, None) != changed


def test_small_files_and_folders_are_not_cached(tmp_path, monkeypatch):
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    assert cache.entry_key(topology, None, None) is None  # below MIN_BYTES
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    assert cache.entry_key(tmp_path, None, None) is None
    assert cache.entry_key(tmp_path / "missing.yaml", None, None) is None


def test_off_means_every_call_loads(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("VNETSIM_CACHE", "off")
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    load, calls = _counting(topology)
    key = cache.entry_key(topology, None, None)
    cache.cached(key, load)
    cache.cached(key, load)
    assert len(calls) == 2
    assert not cache_dir.exists()


def test_an_entry_in_a_folder_others_can_write_is_never_read(tmp_path, cache_dir):
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    load, calls = _counting(topology)
    key = cache.entry_key(topology, None, None)
    cache.cached(key, load)
    cache_dir.chmod(0o777)
    try:
        cache.cached(key, load)
    finally:
        cache_dir.chmod(0o700)
    assert len(calls) == 2


def test_a_corrupt_entry_is_dropped_and_the_file_loaded(tmp_path, cache_dir):
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    load, calls = _counting(topology)
    key = cache.entry_key(topology, None, None)
    cache.cached(key, load)
    (cache_dir / (key + ".pickle")).write_bytes(b"not a pickle")
    again = cache.cached(key, load)
    assert len(calls) == 2
    assert again.fabric == load_topology(topology).fabric
    assert cache.cached(key, load).fabric == again.fabric
    assert len(calls) == 2  # the fresh load was stored again


def test_the_cache_keeps_a_bounded_number_of_entries(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for i in range(6):
        cache.cached(f"key{i}", lambda i=i: {"value": i})
    assert len(list(cache_dir.glob("*.pickle"))) == 3


def test_the_command_line_answers_the_same_from_the_cache(tmp_path, cache_dir, capsys):
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    arguments = ["next-hop", str(topology), "--src", "10.0.1.4", "--dst", "10.1.1.4", "--json"]
    answers = []
    for _ in range(2):
        assert main(arguments) == 0
        answers.append(json.loads(capsys.readouterr().out))
    assert answers[0] == answers[1]
    assert answers[0]["next_hop_type"] == "VNetPeering"
    # the document, and its validation (a question is answered only about a valid topology)
    assert len(list(cache_dir.glob("*.pickle"))) == 2
    # A bad file is still reported as such, and nothing is stored for it.
    broken = tmp_path / "broken.yaml"
    broken.write_text("vnets: [\n")
    assert main(["validate", str(broken), "--json"]) == 2
    assert "error" in json.loads(capsys.readouterr().out)
    assert len(list(cache_dir.glob("*.pickle"))) == 2


def test_a_question_hashes_its_file_once(tmp_path, cache_dir, capsys, monkeypatch):
    """The key hashes the whole file; loading it and validating it share one key."""
    topology = tmp_path / "t.yaml"
    topology.write_text(SMALL)
    hashed = []
    original = cache.entry_key
    monkeypatch.setattr(cache, "entry_key", lambda *a: hashed.append(a) or original(*a))
    arguments = ["next-hop", str(topology), "--src", "10.0.1.4", "--dst", "10.1.1.4", "--json"]
    assert main(arguments) == 0
    assert json.loads(capsys.readouterr().out)["next_hop_type"] == "VNetPeering"
    assert len(hashed) == 1
    assert len(list(cache_dir.glob("*.pickle"))) == 2  # the document and its validation


# -- the faster paths agree with the standard library ------------------------------------------

octet = st.one_of(st.integers(0, 255), st.integers(256, 999), st.sampled_from([0, 1, 255]))
spelling = st.one_of(
    st.builds(
        lambda a, b, c, d, n, zero: f"{a}.{b}.{'0' if zero else ''}{c}.{d}/{n}",
        octet,
        octet,
        octet,
        octet,
        st.integers(0, 40),
        st.booleans(),
    ),
    st.text("0123456789./:", max_size=20),
)


@settings(max_examples=500)
@given(spelling)
def test_prefix_parsing_agrees_with_ipaddress(text):
    """Strict CIDR as ipaddress reads it; a bare address (no /length) is refused by design."""
    try:
        expected = ip_network(text, strict=True) if "/" in text else None
    except ValueError:
        expected = None
    try:
        parsed = parse_prefix(text)
    except AddressError:
        parsed = None
    assert parsed == expected
    if parsed is not None:
        assert type(parsed) is type(expected)
        assert str(parsed) == str(expected)


prefixes = st.builds(
    lambda a, n: str(ip_network(f"{a}/{n}", strict=False)),
    st.sampled_from(["10.0.0.0", "10.0.128.0", "10.1.0.0", "10.0.0.64", "172.16.0.0", "fd00::"]),
    st.integers(8, 30),
)


@given(st.lists(prefixes, min_size=1, max_size=3), st.lists(prefixes, min_size=1, max_size=3))
def test_space_overlap_agrees_with_ipaddress(left, right):
    fabric = Fabric()
    fabric.vnet("a", "westeurope", left)
    fabric.vnet("b", "westeurope", right)
    expected = any(
        x.version == y.version and x.overlaps(y)
        for x in map(ip_network, left)
        for y in map(ip_network, right)
    )
    assert spaces_overlap(fabric, "a", "b") == expected


def test_a_terraform_file_is_never_cached(tmp_path):
    """A .tf file reads its folder's terraform.tfvars and modules: its bytes alone do not
    decide what it loads."""
    from fabric.io.cache import MIN_BYTES, entry_key

    main = tmp_path / "main.tf"
    main.write_text("# padding\n" * (MIN_BYTES // 10 + 1))
    assert entry_key(main, None, None) is None
