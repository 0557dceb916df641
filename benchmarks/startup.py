"""Start-up: ``vnetsim --help`` and a ``next-hop`` on a small file, as fresh processes (targets
of issue 18: < 0.4 s each), beside the floors measured in the same run: a bare ``python -c
pass`` and ``python -c "import fabric.cli"``. Medians of ``--repeat`` calls after a warm-up,
wall and CPU seconds (the machine may be shared), and the heaviest imports of each path by
``python -X importtime`` (cumulative microseconds). The calls run with bytecode caching on, as
an installed package has its .pyc files.

Run: python benchmarks/startup.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMALL = """\
vnets:
  - name: hub
    region: westeurope
    address_prefixes: [10.0.0.0/16]
    subnets: [{name: workload, address_prefix: 10.0.1.0/24}]
    hosts: [{name: hub-vm, subnet: workload, ip: 10.0.1.4}]
  - name: spoke
    region: westeurope
    address_prefixes: [10.1.0.0/16]
    subnets: [{name: app, address_prefix: 10.1.1.0/24}]
peerings:
  - {name: hub-to-spoke, from: hub, to: spoke}
  - {name: spoke-to-hub, from: spoke, to: hub}
"""
CLI = "import sys; from fabric.cli import main; sys.exit(main())"


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["VNETSIM_CACHE"] = "off"
    return env


def timed(arguments: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``python arguments`` run ``repeat`` times."""
    env = _env()
    subprocess.run([sys.executable, *arguments], env=env, capture_output=True)  # warm-up
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, *arguments], env=env, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def heaviest_imports(arguments: list[str], count: int = 8) -> list[tuple[str, int]]:
    """The top-level imports with the largest cumulative time (us), by -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments], env=_env(), capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split(":", 1)[1].split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((name.strip(), int(cumulative)))
    return sorted(rows, key=lambda row: -row[1])[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vnetsim-startup-") as folder:
        topology = Path(folder) / "small.yaml"
        topology.write_text(SMALL)
        hop = ["-c", CLI, "next-hop", str(topology), "--src", "10.0.1.4", "--dst", "10.1.1.4"]
        rows = {
            "python_floor": timed(["-c", "pass"], args.repeat),
            "import_fabric_cli": timed(["-c", "import fabric.cli"], args.repeat),
            "help": timed(["-c", CLI, "--help"], args.repeat),
            "next_hop_small": timed([*hop, "--json"], args.repeat),
        }
        imports = heaviest_imports([*hop, "--json"])
    report = {f"{name}_s": wall for name, (wall, _) in rows.items()}
    report |= {f"{name}_cpu_s": cpu for name, (_, cpu) in rows.items()}
    report["help_over_floor"] = report["help_s"] / report["python_floor_s"]
    report["next_hop_over_import"] = report["next_hop_small_s"] / report["import_fabric_cli_s"]
    report["next_hop_heaviest_imports_us"] = dict(imports)
    if not args.json:
        for name, (wall, cpu) in rows.items():
            print(f"{name:<20} {wall * 1e3:7.0f} ms wall {cpu * 1e3:7.0f} ms CPU")
        print(
            "heaviest imports of next-hop: "
            + ", ".join(f"{n} {t / 1e3:.0f} ms" for n, t in imports)
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
