"""Sweeps: run a scenario over a grid of parameter values and replications, locally on a
process pool or on a Dask cluster, and summarise with means and confidence intervals.

A grid key names a value in the scenario document: ``<section>.<name>.<field>`` for the named
lists (``gateways.hq-gw.sku``, ``traffic.*.rate_mbps`` for every flow, ``vnets.hub.region``,
``peerings.<vnet>/<name>.allow_forwarded_traffic``), ``parameters.<name>`` for the latency model,
and ``duration_s``. Every run's seed comes from one root seed (its grid point and replication),
so the records are identical whichever executor ran them.
"""

from __future__ import annotations

import copy
import csv
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from fabric.checks import has_errors, validate
from fabric.checks.traffic import check_traffic
from fabric.io import InputError, NativeDocument, load_topology
from fabric.io.native import dump_native, load_native
from fabric.model import Finding, error
from fabric.model.container import Fabric
from fabric.sim import figures
from fabric.sim.progress import Progress
from simulator.stats import confidence_interval

SECTIONS = ("vnets", "peerings", "gateways", "connections", "nsgs", "route_tables", "traffic")
EXECUTORS = ("local", "dask")
METRICS = ("throughput_mbps", "latency_mean_ms", "latency_p99_ms", "delivered", "dropped")


class SweepError(ValueError):
    """A grid that cannot be applied; the message names the key and the fix."""


@attrs.frozen
class InvalidPoint:
    """A grid point whose topology or traffic does not validate, with the findings that say why."""

    point: int
    values: tuple[tuple[str, Any], ...]
    findings: tuple[Finding, ...]

    def label(self) -> str:
        """``point 3 (gateways.hq-gw.sku=VpnGw9)``."""
        assigned = ", ".join(f"{k}={v}" for k, v in self.values)
        return f"point {self.point}" + (f" ({assigned})" if assigned else "")


class InvalidSweepError(SweepError):
    """Some grid points do not validate; nothing was simulated."""

    def __init__(self, invalid: tuple[InvalidPoint, ...]) -> None:
        super().__init__(
            f"{len(invalid)} grid point(s) do not validate: "
            + "; ".join(p.label() for p in invalid)
            + " (fix the grid, or add --skip-invalid to run the others)"
        )
        self.invalid = invalid


class SweepInterruptedError(Exception):
    """The sweep was stopped (Ctrl-C); ``result`` holds the runs that had finished."""

    def __init__(self, result: SweepResult, total: int) -> None:
        super().__init__(f"interrupted after {len(result.records)} records of {total} runs")
        self.result = result
        self.total = total


def parse_value(text: str) -> Any:
    """``100`` -> 100, ``true`` -> True, ``VpnGw1`` -> 'VpnGw1' (YAML scalars)."""
    value = yaml.safe_load(text)
    return value if isinstance(value, str | int | float | bool) else text


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["traffic.*.rate_mbps=100,200", ...]`` -> ``{"traffic.*.rate_mbps": [100, 200]}``."""
    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values:
            raise SweepError(f"--grid {item!r}: write it as key=value1,value2")
        if key in grid:
            raise SweepError(
                f"--grid {key!r} is given twice; list all its values in one --grid {key}=v1,v2"
            )
        grid[key] = [parse_value(v.strip()) for v in values.split(",")]
    return grid


def _entry_name(section: str, entry: dict) -> str:
    return f"{entry.get('from')}/{entry['name']}" if section == "peerings" else entry["name"]


def apply(document: dict, key: str, value: Any) -> None:
    """Set one grid key in a native document (a dict, changed in place)."""
    parts = key.split(".")
    if key == "duration_s":
        document.setdefault("simulation", {})["duration_s"] = value
        return
    if parts[0] == "parameters" and len(parts) == 2:
        simulation = document.setdefault("simulation", {})
        simulation.setdefault("parameters", {})[parts[1]] = value
        return
    if len(parts) != 3 or parts[0] not in SECTIONS:
        raise SweepError(
            f"grid key {key!r}: use <section>.<name|*>.<field> with a section of "
            f"{', '.join(SECTIONS)}, parameters.<name>, or duration_s"
        )
    section, name, field = parts
    entries = document.get(section) or []
    matched = [e for e in entries if name == "*" or _entry_name(section, e) == name]
    if not matched:
        names = ", ".join(_entry_name(section, e) for e in entries) or "none"
        raise SweepError(f"grid key {key!r}: no {section} entry named {name!r} (have: {names})")
    for entry in matched:
        entry[field] = value


@attrs.frozen
class RunSpec:
    """One task: a grid point and a replication, with everything a worker needs."""

    point: int
    replication: int
    values: tuple[tuple[str, Any], ...]
    seed: int
    document: dict
    engine: str | None  # None: the scenario's own simulation.engine


def plan_runs(
    document: NativeDocument,
    grid: Mapping[str, list[Any]],
    replications: int,
    seed: int,
    engine: str | None = None,
) -> list[RunSpec]:
    """Every (grid point, replication) with its own seed derived from the root seed."""
    if replications < 1:
        raise SweepError("replications must be at least 1")
    base = dump_native(document.fabric, document.traffic, document.simulation, document.events)
    keys = list(grid)
    points = list(itertools.product(*(grid[k] for k in keys))) if keys else [()]
    children = np.random.SeedSequence(seed).spawn(len(points) * replications)
    runs = []
    for p, values in enumerate(points):
        assigned = copy.deepcopy(base)
        for key, value in zip(keys, values, strict=True):
            apply(assigned, key, value)
        for r in range(replications):
            child = children[p * replications + r]
            run_seed = int(child.generate_state(1, dtype=np.uint32)[0])
            runs.append(
                RunSpec(p, r, tuple(zip(keys, values, strict=True)), run_seed, assigned, engine)
            )
    return runs


def run_one(spec: RunSpec) -> list[dict[str, Any]]:
    """Simulate one run; one tidy record per flow. Module-level so that workers can pickle it."""
    from fabric.sim.runs import run_document

    document = load_native(copy.deepcopy(spec.document), f"sweep point {spec.point}")
    # Summaries only: streaming recorders, memory bounded per flow.
    result = run_document(document, seed=spec.seed, engine=spec.engine, samples=False)
    records = []
    for flow in result.flows:
        latency = flow.latency_ms()
        records.append(
            {
                "point": spec.point,
                "replication": spec.replication,
                "seed": spec.seed,
                **dict(spec.values),
                "flow": flow.name,
                "sent": flow.sent,
                "delivered": flow.delivered,
                "dropped": flow.dropped,
                "throughput_mbps": flow.throughput_mbps,
                "latency_mean_ms": latency["mean"],
                "latency_p50_ms": latency["p50"],
                "latency_p99_ms": latency["p99"],
            }
        )
    return records


@attrs.frozen
class SweepResult:
    """Tidy records (one per run and flow) and their summary per grid point and flow."""

    keys: tuple[str, ...]
    records: tuple[dict[str, Any], ...]
    skipped: tuple[InvalidPoint, ...] = ()

    def summary(self, level: float = 0.95) -> list[dict[str, Any]]:
        """Mean and confidence interval of each metric, per grid point and flow."""
        groups: dict[tuple, list[dict]] = {}
        for record in self.records:
            groups.setdefault((record["point"], record["flow"]), []).append(record)
        rows = []
        for (point, flow), members in sorted(groups.items()):
            row = {
                "point": point,
                **{k: members[0][k] for k in self.keys},
                "flow": flow,
                "replications": len(members),
            }
            for metric in METRICS:
                values = [m[metric] for m in members if m[metric] is not None]
                if not values:
                    row[metric], row[f"{metric}_ci"] = None, None
                    continue
                interval = confidence_interval(values, level)
                row[metric] = interval.mean
                row[f"{metric}_ci"] = interval.half_width if len(values) > 1 else None
            rows.append(row)
        return rows

    def frame(self):
        """The tidy records (one per run and flow) as a pandas DataFrame (the ``frame``
        extra); ``frame().groupby(...)`` and ``summary()`` agree."""
        from fabric.model.frames import data_frame

        return data_frame(self.records)

    def write(self, out_dir: str | Path) -> list[Path]:
        """records.csv, records.json, summary.csv and one figure per swept key."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, rows in (("records", list(self.records)), ("summary", self.summary())):
            path = out / f"{name}.csv"
            with path.open("w", newline="") as handle:
                fields = list(dict.fromkeys(k for row in rows for k in row))
                writer = csv.DictWriter(handle, fieldnames=fields)
                writer.writeheader()
                writer.writerows(rows)
            written.append(path)
        (out / "records.json").write_text(json.dumps(list(self.records), indent=1, sort_keys=True))
        written.append(out / "records.json")
        for key in self.keys:
            written += self.figure(key, out)
        return written

    def figure(self, key: str, out: Path) -> list[Path]:
        """Mean throughput and latency (with 95% intervals) against one swept key."""
        summary = self.summary()
        fig, (top, bottom) = figures.figure(2, 1, size=(8, 7), sharex=True)
        values = list(dict.fromkeys(row[key] for row in summary))
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        for flow in dict.fromkeys(row["flow"] for row in summary):
            for axis, metric in ((top, "throughput_mbps"), (bottom, "latency_mean_ms")):
                xs, ys, errs = [], [], []
                for value in values:
                    rows = [
                        r
                        for r in summary
                        if r[key] == value and r["flow"] == flow and r[metric] is not None
                    ]
                    if rows:  # other keys varying too: average over them
                        xs.append(value if numeric else values.index(value))
                        ys.append(float(np.mean([r[metric] for r in rows])))
                        errs.append(float(np.mean([r[f"{metric}_ci"] or 0 for r in rows])))
                axis.errorbar(xs, ys, yerr=errs, marker="o", capsize=3, label=flow)
        if not numeric:
            bottom.set_xticks(range(len(values)), [str(v) for v in values], rotation=30)
        top.set_ylabel("throughput (Mbps)")
        bottom.set_ylabel("mean one-way latency (ms)")
        bottom.set_xlabel(key)
        top.set_title(f"Sweep over {key}: means with 95% intervals across replications")
        figures.legend(top, len(dict.fromkeys(row["flow"] for row in summary)))
        for axis in (top, bottom):
            axis.grid(True, alpha=0.3)
        stem = out / ("sweep_" + key.replace("*", "all").replace("/", "_").replace(".", "_"))
        return figures.save(fig, stem, dpi=110)


def sweep(
    scenario: str | Path | NativeDocument | Fabric,
    grid: Mapping[str, list[Any]] | None = None,
    *,
    traffic: Iterable[Mapping[str, Any]] | None = None,
    replications: int = 1,
    seed: int = 1,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    engine: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    skip_invalid: bool = False,
    scheduler_timeout_s: float = 10.0,
) -> SweepResult:
    """Run every grid point and replication; records come back in a fixed order.

    ``scenario`` is a scenario file, a loaded document, or a Fabric with ``traffic`` (a list of
    flow mappings). ``executor``: ``local`` (a process pool over the local cores; ``workers=1``
    runs in this process) or ``dask`` (``distributed``: the cluster at ``scheduler``, else a
    LocalCluster). Every grid point is validated first: an invalid one raises InvalidSweepError, or
    is left out and listed in ``skipped`` with ``skip_invalid``. Ctrl-C raises SweepInterruptedError
    carrying the records of the runs that had finished.
    """
    if isinstance(scenario, Fabric):
        document = NativeDocument(scenario, tuple(dict(t) for t in traffic or ()))
    elif isinstance(scenario, NativeDocument):
        document = scenario
    else:
        document = load_topology(scenario)
    if not document.traffic:
        raise SweepError("the scenario has no traffic to simulate")
    if executor not in EXECUTORS:
        raise SweepError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise SweepError(f"workers must be at least 1 (got {workers})")
    grid = dict(grid or {})
    runs = plan_runs(document, grid, replications, seed, engine)
    invalid = _invalid_points(runs)
    if invalid and not skip_invalid:
        raise InvalidSweepError(invalid)
    bad = {p.point for p in invalid}
    runs = [run for run in runs if run.point not in bad]
    results = _execute(runs, executor, workers, scheduler, progress, scheduler_timeout_s)
    records = [record for batch in results if batch is not None for record in batch]
    if any(batch is None for batch in results):
        raise SweepInterruptedError(SweepResult(tuple(grid), tuple(records), invalid), len(runs))
    return SweepResult(tuple(grid), tuple(records), invalid)


def _invalid_points(runs: list[RunSpec]) -> tuple[InvalidPoint, ...]:
    """The grid points whose document does not load or whose topology or traffic has errors."""
    invalid = []
    for run in runs:
        if run.replication:
            continue
        try:
            loaded = load_native(copy.deepcopy(run.document), f"sweep point {run.point}")
        except InputError as problem:
            where = tuple(error("InvalidInput", p.render(problem.file)) for p in problem.problems)
            invalid.append(InvalidPoint(run.point, run.values, where))
            continue
        findings = [
            *loaded.findings,
            *validate(loaded.fabric),
            *check_traffic(loaded.fabric, loaded.traffic),
        ]
        if has_errors(findings):
            errors = tuple(f for f in findings if f.severity == "Error")
            invalid.append(InvalidPoint(run.point, run.values, errors))
    return tuple(invalid)


def _execute(runs, executor, workers, scheduler, progress, timeout_s) -> list[list[dict] | None]:
    """One batch of records per run, in order; None for runs cut off by Ctrl-C."""
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(runs))

    out: list[list[dict] | None] = [None] * len(runs)
    if executor == "dask":
        return _execute_dask(runs, workers, scheduler, tick, out, timeout_s)
    try:
        if workers == 1:
            for i, run in enumerate(runs):
                out[i] = run_one(run)
                tick()
            return out
        from concurrent.futures import ProcessPoolExecutor, as_completed

        pool = ProcessPoolExecutor(max_workers=workers)
        try:
            futures = {pool.submit(run_one, run): i for i, run in enumerate(runs)}
            for future in as_completed(futures):
                out[futures[future]] = future.result()
                tick()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    except KeyboardInterrupt:
        pass
    return out


def _execute_dask(runs, workers, scheduler, tick, out, timeout_s) -> list[list[dict] | None]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError(
            "the dask executor needs 'distributed': pip install 'vnetsim[dask]'"
        ) from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True)
    try:
        client = Client(scheduler or cluster, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as problem:
        if cluster is not None:
            cluster.close()
        raise SweepError(
            f"cannot reach the Dask scheduler at {scheduler} within {timeout_s:g} s "
            f"({problem}); check the address and that the scheduler is running"
        ) from None
    try:
        # pure=False: every run is its own task; retries: a lost worker's runs go elsewhere.
        futures = [client.submit(run_one, run, pure=False, retries=3) for run in runs]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            out[index[future.key]] = future.result()
            tick()
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return out


def text_progress() -> Callable[[int, int], None]:
    """A ``progress`` callback for ``sweep``: one bar on stderr (runs done of total) with an
    estimate of what is left."""
    bar: list[Progress] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(Progress(total, "sweep"))
        bar[0].update(done, f"{done}/{total} runs, ")
        if done >= total:
            bar[0].close()

    return update
