"""Simulation results: per-flow and per-element records, JSON, and matplotlib figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from fabric.catalogue.latency import LatencyModel
from fabric.sim import figures
from simulator.stats import LatencyStats, RateTrend, ThroughputSeries
from simulator.units import NS_PER_S


def assumptions(parameters: LatencyModel) -> list[dict[str, Any]]:
    """Every named assumption a run rests on, with its value, unit and rationale."""
    from fabric.catalogue.vmsizes import DEFAULT_VM_SIZE, vm_size
    from fabric.sim import tcp

    size = vm_size(DEFAULT_VM_SIZE)
    return [
        *parameters.assumptions(),
        {
            "name": "default_vm_size",
            "value": DEFAULT_VM_SIZE,
            "unit": "VM size",
            "rationale": f"the size of a host that names none: a common general-purpose size "
            f"({size.max_egress_mbps:.0f} Mbps egress, N3.3)",
        },
        {
            "name": "default_congestion_control",
            "value": "cubic",
            "unit": "algorithm",
            "rationale": "Linux's and Windows' default (RFC 9438); a flow may ask for reno",
        },
        {
            "name": "default_receive_profile",
            "value": "linux",
            "unit": "OS profile",
            "rationale": f"a receiver that names no os_profile: Linux tcp_rmem max "
            f"{tcp.LINUX.max_window_bytes * 2} bytes, half of it as window (N4.3)",
        },
        {
            "name": "delayed_acks",
            "value": "; ".join(
                f"{p.name}: 1 per {p.every_segments} segments after {p.quick_acks}, "
                f"{p.delay_ns // 1_000_000} ms timer"
                for p in (tcp.LINUX_ACKS, tcp.WINDOWS_ACKS)
            ),
            "unit": "ACK policy per receiving OS",
            "rationale": "RFC 1122 §4.2.3.2: an ACK at least every second segment; the timers "
            "and Linux's quick ACKs at a connection's start are the OSes' own (the fact sheet "
            "is silent); out-of-order data for a round trip after a gap, and a segment that "
            "leaves half the window unacknowledged, are acknowledged at once",
        },
        {
            "name": "tunnel_caps_meter_payload",
            "value": True,
            "unit": "calibration",
            "rationale": "Microsoft's per-tunnel and aggregate figures are measured throughput "
            "(§3.4), so the Mbps caps meter payload bytes; ESP and headers count on the wire "
            "and every packet against the pps cap",
        },
    ]


def span_mbps(delivered_at_ns: np.ndarray, payload_bytes: np.ndarray) -> float:
    """Payload bits over the span of the deliveries, the first packet's own bits counted out
    (0 with fewer than two deliveries)."""
    if delivered_at_ns.size < 2:
        return 0.0
    span_ns = int(delivered_at_ns.max() - delivered_at_ns.min())
    if span_ns <= 0:
        return 0.0
    first = int(np.argmin(delivered_at_ns))
    bits = (int(payload_bytes.sum()) - int(payload_bytes[first])) * 8
    return round(bits / span_ns * 1e3, 6)  # bits per ns x 1e3 = Mbps


def trend_mbps(delivered_at_ns: np.ndarray, payload_bytes: np.ndarray) -> float:
    """The least-squares delivery rate of deliveries in time order (``RateTrend``)."""
    trend = RateTrend()
    trend.add(delivered_at_ns, payload_bytes)
    return trend.mbps()


@attrs.frozen(slots=True)
class Outage:
    """A stretch of a flow's packets lost to a failure or a change (not only to full queues):
    ``start_s`` is when the first lost packet was sent, ``end_s`` when the first packet to get
    through again was sent (None: none did before the flow ended); ``packets_lost`` counts the
    packets sent in between, by drop code."""

    start_s: float
    end_s: float | None
    packets_lost: int
    drop_reasons: dict[str, int]

    @property
    def duration_s(self) -> float | None:
        return None if self.end_s is None else round(self.end_s - self.start_s, 9)

    def to_json(self) -> dict[str, Any]:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "duration_s": self.duration_s,
            "packets_lost": self.packets_lost,
            "drop_reasons": self.drop_reasons,
        }


def outage_windows(
    delivered_sent_ns: np.ndarray,
    dropped_sent_ns: np.ndarray,
    dropped_codes: list[str],
    congestion: frozenset[str],
) -> tuple[Outage, ...]:
    """The outage windows of a flow: maximal runs of dropped packets, in the order they were
    sent, with no delivered packet sent in between, that hold at least one drop whose code is
    not congestion (a full queue)."""
    if dropped_sent_ns.size == 0:
        return ()
    delivered = np.sort(delivered_sent_ns)
    order = np.argsort(dropped_sent_ns, kind="stable")
    sent = dropped_sent_ns[order]
    codes = [dropped_codes[i] for i in order.tolist()]
    # Drops with the same number of deliveries sent at or before them form one run.
    before = np.searchsorted(delivered, sent, side="right")
    found = []
    starts = np.flatnonzero(np.r_[True, before[1:] != before[:-1]])
    ends = np.r_[starts[1:], sent.size]
    for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
        run_codes = codes[first:stop]
        if all(code in congestion for code in run_codes):
            continue
        after = int(before[first])
        end = int(delivered[after]) if after < delivered.size else None
        reasons: dict[str, int] = {}
        for code in run_codes:
            reasons[code] = reasons.get(code, 0) + 1
        found.append(
            Outage(
                round(int(sent[first]) / NS_PER_S, 9),
                None if end is None else round(end / NS_PER_S, 9),
                stop - first,
                dict(sorted(reasons.items())),
            )
        )
    return tuple(found)


def nice_bin_s(span_s: float, bins: int = 200) -> float:
    """A round bin width (1, 2 or 5 times a power of ten, at least 1 ms) giving at most about
    ``bins`` bins over ``span_s``."""
    target = max(span_s / bins, 1e-3)
    power = 10.0 ** math.floor(math.log10(target))
    for step in (1, 2, 5, 10):
        if step * power >= target - 1e-12:
            return round(step * power, 9)
    return round(10 * power, 9)


def _ms(value_ns: float | None) -> float | None:
    return None if value_ns is None else round(float(value_ns) / 1e6, 6)


class SamplesNotKeptError(ValueError):
    """A per-packet question about a flow whose run kept only streaming recorders."""


@attrs.frozen(slots=True, eq=False)
class Samples:
    """Every delivered packet of a flow, in delivery order: int64 ns and payload bytes."""

    latency_ns: np.ndarray
    delivered_at_ns: np.ndarray
    delivered_bytes: np.ndarray


@attrs.frozen(slots=True, eq=False)
class FlowResult:
    """What happened to one flow.

    ``throughput_mbps`` is the receiver's goodput: payload bits delivered over the span of the
    deliveries (first to last, the first packet's own bits counted out), so it never exceeds
    the narrowest cap on the path whatever the duration or the queue's drain; ``steady_mbps``
    is the delivery rate after the sender's start-up (TCP slow start, or the first 10% of an
    open-loop flow) as the least-squares slope of delivered payload over time
    (``simulator.stats.RateTrend``: it reads a window-limited flow's window ÷ RTT where a span
    would count one burst too many, and it never exceeds a serialising cap), for an
    open-loop flow at most its payload over the whole steady window; ``truncated``
    says the run ended before the flow did (DESIGN.md, 2026-11-30).

    Counts, throughputs, the mean latency and ``delivered_payload_bytes`` are exact; the
    latency quantiles come from ``latency`` (a ``LatencyStats``: within its
    ``relative_error``, 0.1%, of the exact sample quantiles). The per-packet arrays
    (``latency_ns``, ``delivered_at_ns``, ``delivered_bytes``; int64 ns and payload bytes)
    exist when the run kept them (``simulate(..., samples=True)``, the default): else asking
    for them raises SamplesNotKeptError.
    """

    name: str
    sent: int
    delivered: int
    drop_reasons: dict[str, int]  # by drop code
    drop_details: dict[str, str]  # the detail of each code, once
    throughput_mbps: float
    steady_mbps: float
    latency: LatencyStats
    delivered_payload_bytes: int
    series: ThroughputSeries  # delivered bytes in bounded bins (for figures without samples)
    duration_s: float
    reachable: bool
    reason: str | None
    code: str | None = None  # the path's drop code when it is unreachable
    truncated: bool = False
    status: str | None = None  # "ConnectionFailed" when a TCP connection never came up
    outages: tuple[Outage, ...] | None = None  # runs with events: the flow's outage windows
    samples: Samples | None = None  # every delivery, when the run kept them

    @property
    def dropped(self) -> int:
        return sum(self.drop_reasons.values())

    def _samples(self) -> Samples:
        if self.samples is None:
            raise SamplesNotKeptError(
                f"flow {self.name}: per-packet samples were not kept; run with "
                "simulate(..., samples=True) (vnetsim run keeps them with --out)"
            )
        return self.samples

    @property
    def latency_ns(self) -> np.ndarray:
        """Every delivered packet's one-way latency (ns)."""
        return self._samples().latency_ns

    @property
    def delivered_at_ns(self) -> np.ndarray:
        """When each packet was delivered (ns)."""
        return self._samples().delivered_at_ns

    @property
    def delivered_bytes(self) -> np.ndarray:
        """Each delivered packet's payload (bytes)."""
        return self._samples().delivered_bytes

    def __repr__(self) -> str:
        latency = self.latency_ms()
        return (
            f"FlowResult(name={self.name!r}, sent={self.sent}, delivered={self.delivered}, "
            f"dropped={self.dropped}, throughput_mbps={self.throughput_mbps}, "
            f"steady_mbps={self.steady_mbps}, latency_ms={latency}, "
            f"drop_reasons={self.drop_reasons})"
        )

    @classmethod
    def from_flow(cls, flow, horizon_s: float) -> FlowResult:
        from fabric.sim.dataplane import CONGESTION_CODES

        stats = flow.stats
        arrays = stats.sample_arrays()  # folds what is still buffered
        windows = None
        if stats.log_drops:
            if arrays is None:
                raise ValueError(f"flow {stats.name}: outage windows need the samples")
            sent = arrays["delivered_at_ns"] - arrays["latency_ns"]
            dropped = np.frombuffer(stats.drop_sent, dtype=np.int64).copy()
            if not stats.drop_sent:
                dropped = np.empty(0, np.int64)
            windows = outage_windows(sent, dropped, stats.drop_codes, CONGESTION_CODES)
        drop = flow.forwarding.drop
        spec = flow.spec
        status = stats.status.code if stats.status is not None else None
        return cls(
            name=spec.name,
            sent=stats.sent,
            delivered=stats.delivered,
            drop_reasons=dict(sorted(stats.drops.items())),
            drop_details=dict(sorted(stats.details.items())),
            throughput_mbps=stats.span.mbps(),
            steady_mbps=(
                stats.steady.capped_mbps(
                    stats.steady_from_ns, stats.sending_until_ns, stats.steady_rtt_ns
                )
                if stats.sending_until_ns is not None and stats.steady_from_ns is not None
                else stats.steady.mbps()
            ),
            latency=stats.latency_stats,
            delivered_payload_bytes=stats.span.total_bytes,
            series=stats.series,
            duration_s=spec.duration_s,
            reachable=drop is None and status is None,
            reason=drop.reason if drop else (stats.status.reason if stats.status else None),
            code=drop.code if drop else status,
            truncated=spec.start_s + spec.duration_s > horizon_s + 1e-12,
            status=status,
            outages=windows,
            samples=Samples(**arrays) if arrays is not None else None,
        )

    def throughput_series(self, end_s: float, bin_s: float) -> np.ndarray:
        """Delivered goodput in Mbps per bin of ``bin_s`` from 0 to ``end_s`` (needs the
        samples)."""
        bin_ns = max(1, round(bin_s * NS_PER_S))
        count = max(1, math.ceil(round(end_s * NS_PER_S) / bin_ns))
        index = np.minimum(self.delivered_at_ns // bin_ns, count - 1)
        bins = np.bincount(index, weights=self.delivered_bytes, minlength=count)
        return bins * 8 / (bin_ns / NS_PER_S) / 1e6

    def goodput_mbps(self, start_s: float, end_s: float) -> float:
        """Payload delivered within [start_s, end_s) divided by that window, in Mbps: the rate
        while the flow runs, without the queue draining after it stops (needs the samples)."""
        window = (self.delivered_at_ns >= round(start_s * NS_PER_S)) & (
            self.delivered_at_ns < round(end_s * NS_PER_S)
        )
        return float(self.delivered_bytes[window].sum()) * 8 / (end_s - start_s) / 1e6

    def latency_ms(self) -> dict[str, float | None]:
        """Mean (exact), p50 and p99 (within the recorder's relative error of the exact
        percentiles, numpy's linear interpolation) one-way latency in ms; None without
        deliveries."""
        stats = self.latency
        if not len(stats):
            return {"p50": None, "p99": None, "mean": None}
        return {
            "p50": _ms(stats.quantile_ns(0.50, "linear")),
            "p99": _ms(stats.quantile_ns(0.99, "linear")),
            "mean": _ms(stats.mean_ns()),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sent": self.sent,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "drop_reasons": self.drop_reasons,
            "drop_details": self.drop_details,
            "throughput_mbps": self.throughput_mbps,
            "steady_mbps": self.steady_mbps,
            "truncated": self.truncated,
            "status": self.status,
            "latency_ms": self.latency_ms(),
            "path": "Reachable" if self.reachable else f"Unreachable: {self.reason}",
        }


def _latency_cdf(flow: FlowResult) -> tuple[np.ndarray, np.ndarray]:
    """A flow's latency CDF: every sample when kept, else the histogram's 0.1% quantiles."""
    if flow.samples is not None:
        values = np.sort(flow.latency_ns).astype(float)
        return values, np.arange(1, values.size + 1) / values.size
    fractions = np.linspace(0, 1, 1001)
    return np.array([flow.latency.quantile_ns(q, "linear") for q in fractions]), fractions


@attrs.frozen(slots=True)
class ElementResult:
    """Load on one node: packets, bytes, utilisation, peak queue and drops."""

    name: str
    kind: str
    packets: int
    bytes: int
    utilisation: float | None
    peak_queue_packets: int
    drops: dict[str, int]
    cipher: str | None = None

    @classmethod
    def from_server(cls, name: str, kind: str, server, end_ns: int, cipher: str | None = None):
        return cls(
            name,
            kind,
            server.arrivals,
            0,
            round(server.busy_ns / end_ns, 6),
            server.peak_queue_packets,
            dict(sorted(server.drops.items())),
            cipher,
        )

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        if self.kind != "PeeringLink":
            data.pop("bytes")
        if self.cipher is None:
            data.pop("cipher")
        return data


@attrs.frozen(slots=True, eq=False)
class SimulationResult:
    """Everything a run produced; ``to_json`` is the ``results.json`` document."""

    flows: tuple[FlowResult, ...]
    elements: tuple[ElementResult, ...]
    seed: int
    duration_s: float
    end_s: float
    packet_hops: int
    switch_visits: int
    wall_s: float
    parameters: LatencyModel
    capture: Any = None  # fabric.pcap.Capture when the run captured packets
    engine: str = "events"  # which path produced the results (they are the same either way)
    events: tuple = ()  # fabric.sim.events.EventOutcome: what each scenario event did

    @property
    def timeline_end_s(self) -> float:
        """The end of the time axis of timelines: the run's end, the drain included."""
        return max(self.end_s, self.duration_s)

    @property
    def timeline_bin_s(self) -> float:
        """The bin width of the per-flow throughput timelines."""
        return nice_bin_s(self.timeline_end_s)

    def frame(self):
        """One row per flow (``run --json``'s flow rows, latency flattened) as a pandas
        DataFrame (needs the ``frame`` extra)."""
        from fabric.model.frames import data_frame

        rows = []
        for flow in self.flows:
            row = flow.to_json()
            latency = row.pop("latency_ms")
            rows.append(row | {f"latency_{k}_ms": v for k, v in latency.items()})
        return data_frame(rows)

    def flow(self, name: str) -> FlowResult:
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise KeyError(f"no flow named {name!r}; flows: {', '.join(f.name for f in self.flows)}")

    def to_json(self) -> dict[str, Any]:
        """Deterministic for a given scenario and seed (wall time is left out)."""
        params = attrs.asdict(self.parameters)
        for name, value in params.items():  # pair tables: ("a", "b") keys as "a/b"
            if isinstance(value, dict):
                params[name] = {
                    "/".join(k) if isinstance(k, tuple) else k: v for k, v in sorted(value.items())
                }
        flows = [f.to_json() for f in self.flows]
        if self.events:  # new keys for runs with events; the others are unchanged
            bin_s = self.timeline_bin_s
            for data, flow in zip(flows, self.flows, strict=True):
                series = flow.throughput_series(self.timeline_end_s, bin_s)
                data["outages"] = [o.to_json() for o in flow.outages or ()]
                data["timeline"] = {
                    "bin_s": bin_s,
                    "throughput_mbps": [round(float(v), 6) for v in series],
                }
        extra = {"events": [e.to_json() for e in self.events]} if self.events else {}
        return {
            **extra,
            "flows": flows,
            "elements": [e.to_json() for e in self.elements],
            "seed": self.seed,
            "duration_s": self.duration_s,
            "simulated_end_s": round(self.end_s, 9),
            "packet_hops": self.packet_hops,
            "switch_visits": self.switch_visits,
            "parameters": params,
            "assumptions": assumptions(self.parameters),
        }

    def table(self) -> str:
        """A readable per-flow table."""
        header = (
            f"{'flow':<18}{'sent':>9}{'delivered':>11}{'dropped':>9}{'Mbps':>10}"
            f"{'mean ms':>10}{'p99 ms':>10}"
        )
        lines = [header]
        for f in self.flows:
            lat = f.latency_ms()
            mean = f"{lat['mean']:.3f}" if lat["mean"] is not None else "-"
            p99 = f"{lat['p99']:.3f}" if lat["p99"] is not None else "-"
            lines.append(
                f"{f.name:<18}{f.sent:>9}{f.delivered:>11}{f.dropped:>9}"
                f"{f.throughput_mbps:>10.1f}{mean:>10}{p99:>10}"
            )
            for reason, count in f.drop_reasons.items():
                lines.append(f"{'':<18}  dropped {count} x {reason}")
        if self.events:
            lines += ["", *self.timeline_lines()]
        busy = [e for e in self.elements if e.packets]
        if busy:
            lines.append("")
            lines.append(f"{'element':<34}{'kind':<20}{'packets':>10}{'util':>8}{'peak queue':>12}")
            for e in busy:
                util = f"{e.utilisation:.1%}" if e.utilisation is not None else "-"
                lines.append(
                    f"{e.name:<34}{e.kind:<20}{e.packets:>10}{util:>8}{e.peak_queue_packets:>12}"
                )
        return "\n".join(lines)

    def timeline_lines(self) -> list[str]:
        """The events (what each did, when) and every flow's outage windows, as text."""
        lines = ["events:"]
        for event in self.events:
            lost = f"  ({event.packets_lost} packets lost)" if event.packets_lost else ""
            lines.append(f"  {event.label}{lost}")
            for at_s, what in event.effects:
                lines.append(f"    {at_s:>10.3f} s  {what}")
        lines.append("outages (first lost packet sent -> first packet through again sent):")
        shown = False
        for flow in self.flows:
            for outage in flow.outages or ():
                end = f"{outage.end_s:.3f} s" if outage.end_s is not None else "the end"
                length = f"{outage.duration_s:.3f} s" if outage.duration_s is not None else "-"
                codes = ", ".join(f"{n} x {c}" for c, n in outage.drop_reasons.items())
                lines.append(
                    f"  {flow.name:<18}{outage.start_s:>10.3f} s -> {end:<12} {length:>10}  "
                    f"{outage.packets_lost} lost ({codes})"
                )
                shown = True
        if not shown:
            lines.append("  none")
        return lines

    def write(self, out_dir: str | Path, title: str = "") -> list[Path]:
        """Write results.json and the figures (PNG and SVG) to ``out_dir``; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "results.json"
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return [path, *self.figures(out, title)]

    def figures(self, out: Path, title: str = "") -> list[Path]:
        """Latency CDF per flow and throughput over time, as PNG and SVG; ``title`` (the
        scenario's name) heads each figure."""
        prefix = f"{title}: " if title else ""
        written = []
        fig, ax = figures.figure()
        plotted = 0
        spans = []
        for flow in self.flows:
            if len(flow.latency):
                values_ns, fractions = _latency_cdf(flow)
                ax.plot(values_ns / 1e6, fractions, label=flow.name)
                spans.append(
                    (flow.latency.max_ns - flow.latency.min_ns) / max(1, flow.latency.min_ns)
                )
                plotted += 1
        ax.set_xlabel("one-way latency (ms)")
        ax.set_ylabel("fraction of delivered packets")
        ax.set_title(f"{prefix}latency CDF per flow")
        if plotted and max(spans, default=0) > 100:
            ax.set_xscale("log")
        figures.legend(ax, plotted)
        ax.grid(True, alpha=0.3)
        written += figures.save(fig, out / "latency_cdf")

        fig, ax = figures.figure()
        end_ns = max(1, round(max(self.end_s, self.duration_s) * NS_PER_S))
        bin_ns = max(1, end_ns // 100)
        plotted = 0
        for flow in self.flows:
            if flow.delivered and flow.samples is not None:
                bins = np.bincount(
                    flow.delivered_at_ns // bin_ns,
                    weights=flow.delivered_bytes,
                    minlength=math.ceil(end_ns / bin_ns) + 1,
                )
                times = np.arange(bins.size) * bin_ns / NS_PER_S
                ax.step(times, bins * 8 / (bin_ns / NS_PER_S) / 1e6, where="post", label=flow.name)
                plotted += 1
            elif flow.delivered:  # streaming only: the series' own (power-of-two) bins
                starts, bps = flow.series.series_bps(end_ns)
                ax.step(starts / NS_PER_S, bps / 1e6, where="post", label=flow.name)
                plotted += 1
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel("delivered throughput (Mbps)")
        ax.set_title(f"{prefix}throughput over time per flow")
        figures.legend(ax, plotted)
        ax.grid(True, alpha=0.3)
        written += figures.save(fig, out / "throughput")
        if self.events:
            written += figures.save(self.timeline_figure(title), out / "timeline")
        return written

    def timeline_figure(self, title: str = ""):
        """One time axis: each flow's delivered throughput (top), its outage windows (bottom,
        one row per flow, labelled with the packets lost) and every event (dashed lines)."""
        end = self.timeline_end_s
        bin_s = self.timeline_bin_s
        fig, (top, bottom) = figures.figure(
            2,
            1,
            size=(8, 3.5 + 0.3 * len(self.flows)),
            sharex=True,
            gridspec_kw={"height_ratios": [3, max(1, len(self.flows) * 0.4)]},
        )
        for flow in self.flows:
            series = flow.throughput_series(end, bin_s)
            top.step(np.arange(series.size) * bin_s, series, where="post", label=flow.name)
        top.set_ylabel("delivered (Mbps)")
        top.set_title(
            f"{title}: flows, events and outages" if title else "flows, events and outages"
        )
        top.grid(True, alpha=0.3)
        figures.legend(top, len(self.flows))
        for row, flow in enumerate(self.flows):
            for outage in flow.outages or ():
                stop = outage.end_s if outage.end_s is not None else end
                bottom.broken_barh(
                    [(outage.start_s, max(stop - outage.start_s, bin_s / 4))],
                    (row - 0.35, 0.7),
                    color="tab:red",
                    alpha=0.6,
                )
                bottom.annotate(
                    f"{outage.packets_lost} lost",
                    xy=((outage.start_s + stop) / 2, row),
                    ha="center",
                    va="center",
                    fontsize=7,
                )
        bottom.set_yticks(range(len(self.flows)), [f.name for f in self.flows], fontsize=8)
        bottom.set_ylim(len(self.flows) - 0.5, -0.5)
        bottom.set_xlabel("simulated time (s)")
        bottom.set_xlim(0, end)
        labels: dict[float, list[str]] = {}  # events at one instant share a line
        for event in self.events:
            if event.at_s < end:
                labels.setdefault(event.at_s, []).append(f"{event.action} {event.target}")
        for at_s, names in sorted(labels.items()):
            for axis in (top, bottom):
                axis.axvline(at_s, color="0.3", linestyle="--", linewidth=0.8)
            top.annotate(
                "\n".join(names),
                xy=(at_s, 0.98),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=7,
                ha="right",
                va="top",
            )
        return fig
