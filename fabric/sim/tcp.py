"""An engine-independent model of a TCP sender and receiver.

Nothing here knows about the event engine or the dataplane: the caller drives the model with
times in integer nanoseconds and reads back what it may send. Every number is a named field of a
frozen record whose docstring gives its source (an RFC, the Linux documentation, Microsoft's
documentation as quoted in azure-facts), or says that it is our assumption and why.

Pieces, each with one job:

* ``RtoEstimator``: RFC 6298 retransmission timer (SRTT, RTTVAR, backoff), Linux's 200 ms floor.
* ``syn_retry_schedule``: when an unanswered SYN is retried and when connect() gives up.
* ``CongestionControl``: the interface a flow drives; ``Reno`` (NewReno-like, today's TcpFlow)
  and ``Cubic`` (RFC 9438) implement it. Both reduce once per window of data
  (``RecoveryTracker``), never below 2 segments on a loss, and collapse to 1 only on a timeout.
* ``HyStartPlusPlus``: RFC 9406 slow start (CUBIC's default), with ``RoundTracker`` finding
  round trips from ACK send times.
* ``ReceiveWindow`` with a ``ReceiveWindowProfile``: ``LINUX`` (tcp_rmem, autotuned),
  ``WINDOWS`` (AutoTuningLevel Normal), ``tuned_profile`` (fixed, user-set buffers) and the
  ``UNTUNED_WINDOWS_IPERF`` calibration (a fixed 190 KiB window, azure-facts N4.1).
* ``AckPolicy``: when the receiver acknowledges (delayed ACKs): ``LINUX_ACKS``, ``WINDOWS_ACKS``.
* ``TcpSender``: controller + timer; usable window = min(cwnd x MSS, receive window, send buffer).
* ``run_flights`` / ``Bottleneck`` / ``goodput_bps``: a TEST AID, not the dataplane: one flow
  through one drop-tail link, a round trip at a time.

How a flow drives it (times are integer ns; one sender and one receive window per connection)::

    sender = TcpSender(Cubic(), mss_bytes=1460)
    rwnd = ReceiveWindow(receive_profile("linux"))
    # whenever it may send: keep inflight_bytes <= sender.usable_window_bytes(rwnd.window_bytes)
    # data reaches the receiving application:   rwnd.on_data(now_ns, nbytes, rtt_estimate_ns)
    # ACK of new data at the sender:            sender.on_ack(now_ns, segments, rtt_ns or None)
    # loss seen by dupACKs/SACK (~1 RTT later): sender.on_loss(now_ns, sent_ns, inflight_bytes)
    # retransmission timer fired:               next_rto_ns = sender.on_timeout(now_ns, ...)
    # arm the timer with sender.rto_ns
"""

from __future__ import annotations

import enum
import math
from typing import Protocol

import attrs

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


# --- Retransmission timer (RFC 6298) -------------------------------------------------------------


@attrs.frozen(slots=True)
class RtoParams:
    """Constants of the retransmission timer.

    Attributes:
        alpha: SRTT gain, 1/8 (RFC 6298 §2.3).
        beta: RTTVAR gain, 1/4 (RFC 6298 §2.3).
        k: RTTVAR multiplier, 4 (RFC 6298 §2.3).
        initial_ns: RTO before the first RTT sample, 1 s (RFC 6298 §2.1; also Linux's initial
            SYN timeout).
        min_ns: floor on the RTO, 200 ms: Linux's TCP_RTO_MIN. RFC 6298 §2.4 asks for 1 s; Linux
            (and so most Azure VMs) uses 200 ms, which is what a retransmission costs in practice.
        max_ns: ceiling on the RTO, 120 s: Linux's TCP_RTO_MAX (RFC 6298 §2.5 allows any
            ceiling of at least 60 s).
        granularity_ns: clock granularity G in RTO = SRTT + max(G, K*RTTVAR). Assumption: 1 ms
            (a 1000 Hz kernel clock); it matters only below the 200 ms floor, so never in effect.
    """

    alpha: float = 1 / 8
    beta: float = 1 / 4
    k: int = 4
    initial_ns: int = 1 * NS_PER_S
    min_ns: int = 200 * NS_PER_MS
    max_ns: int = 120 * NS_PER_S
    granularity_ns: int = 1 * NS_PER_MS


class RtoEstimator:
    """The RFC 6298 retransmission timeout of one connection.

    Feed it RTT samples from segments that were not retransmitted (Karn's rule, RFC 6298 §3);
    call ``on_timeout`` when the timer fires, which doubles the RTO (§5.5) up to ``max_ns``.
    A new sample clears the backoff.
    """

    __slots__ = (
        "backoff",
        "params",
        "rttvar_ns",
        "srtt_ns",
    )

    def __init__(self, params: RtoParams | None = None) -> None:
        self.params = params or RtoParams()
        self.srtt_ns: float | None = None
        self.rttvar_ns: float | None = None
        self.backoff = 0

    def on_rtt_sample(self, rtt_ns: int) -> None:
        """Update SRTT and RTTVAR with one measurement (§2.2 for the first, §2.3 after)."""
        if rtt_ns <= 0:
            raise ValueError(f"an RTT sample must be positive, got {rtt_ns} ns")
        p = self.params
        if self.srtt_ns is None or self.rttvar_ns is None:
            self.srtt_ns = float(rtt_ns)
            self.rttvar_ns = rtt_ns / 2
        else:
            # RTTVAR first: it uses the SRTT from before this sample (§2.3).
            self.rttvar_ns = (1 - p.beta) * self.rttvar_ns + p.beta * abs(self.srtt_ns - rtt_ns)
            self.srtt_ns = (1 - p.alpha) * self.srtt_ns + p.alpha * rtt_ns
        self.backoff = 0

    @property
    def base_rto_ns(self) -> int:
        """SRTT + max(G, K*RTTVAR) within [min_ns, max_ns], before any backoff."""
        p = self.params
        if self.srtt_ns is None or self.rttvar_ns is None:
            value = p.initial_ns
        else:
            value = round(self.srtt_ns + max(p.granularity_ns, p.k * self.rttvar_ns))
        return min(max(value, p.min_ns), p.max_ns)

    @property
    def rto_ns(self) -> int:
        """The timeout to arm now: the base RTO doubled once per expiry, at most ``max_ns``."""
        return min(self.base_rto_ns << self.backoff, self.params.max_ns)

    def on_timeout(self) -> int:
        """The timer fired: back off (double the RTO) and return the new timeout."""
        if self.rto_ns < self.params.max_ns:
            self.backoff += 1
        return self.rto_ns


# --- Connection set-up ---------------------------------------------------------------------------


@attrs.frozen(slots=True)
class SynSchedule:
    """When a client sends its SYN (and its retries) to a peer that never answers.

    Attributes:
        send_times_ns: the first SYN at 0, then each retransmission, relative to connect().
        give_up_ns: when connect() reports failure (ETIMEDOUT): one more timeout after the
            last retransmission.
    """

    send_times_ns: tuple[int, ...]
    give_up_ns: int

    @property
    def retries(self) -> int:
        return len(self.send_times_ns) - 1


LINUX_SYN_RETRIES = 6
"""net.ipv4.tcp_syn_retries default (Linux Documentation/networking/ip-sysctl.rst: 6 retries,
the last one 63 s after the first SYN, failure after 127 s with the 1 s initial RTO)."""


def syn_retry_schedule(
    retries: int = LINUX_SYN_RETRIES,
    initial_rto_ns: int = 1 * NS_PER_S,
    max_rto_ns: int = 120 * NS_PER_S,
) -> SynSchedule:
    """The SYN retry schedule: waits of initial_rto, 2x, 4x ... (each at most max_rto).

    With Linux's defaults the SYNs leave at 0, 1, 3, 7, 15, 31 and 63 s and connect() fails at
    127 s. RFC 6298 §5.5 gives the doubling; the retry count is the OS's. The default times are
    RtoParams' initial_ns (1 s) and max_ns (120 s).
    """
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if initial_rto_ns <= 0 or max_rto_ns < initial_rto_ns:
        raise ValueError("need 0 < initial_rto_ns <= max_rto_ns")
    times = [0]
    wait = initial_rto_ns
    for _ in range(retries):
        times.append(times[-1] + wait)
        wait = min(2 * wait, max_rto_ns)
    return SynSchedule(tuple(times), times[-1] + wait)


# --- Congestion control: the interface ------------------------------------------------------------


class CongestionControl(Protocol):
    """What a flow asks of a congestion controller. Windows are in segments (MSS).

    The flow calls ``on_ack`` for every ACK of new data, ``on_loss_event`` when duplicate ACKs or
    SACK show a segment lost (the controller itself keeps it to one reduction per window of
    data), and ``on_timeout`` when the retransmission timer fires.
    """

    @property
    def cwnd(self) -> float: ...

    @property
    def ssthresh(self) -> float: ...

    @property
    def in_slow_start(self) -> bool: ...

    def on_ack(
        self, now_ns: int, acked_segments: float, rtt_ns: int | None, *, cwnd_limited: bool = True
    ) -> None:
        """New data acknowledged; ``rtt_ns`` is the sample for the newest segment it covers, or
        None when that segment was retransmitted (Karn's rule). ``cwnd_limited`` False says the
        sender is held back by something else (receive window, send buffer, application): the
        window then does not grow (RFC 7661, RFC 9438 §5.8)."""
        ...

    def on_loss_event(
        self, now_ns: int, sent_ns: int | None = None, flight_segments: float | None = None
    ) -> bool:
        """A segment (sent at ``sent_ns``, if known) was found lost. Returns whether this was a
        new congestion event, i.e. whether the window was reduced. ``flight_segments``, if
        known, is the data in flight: the reduction starts from it when it is below cwnd (RFC
        5681 eq. 4 and RFC 9438 §4.6 reduce from FlightSize)."""
        ...

    def on_timeout(self, now_ns: int, flight_segments: float | None = None) -> None:
        """The retransmission timer fired: cwnd to one segment, slow start again."""
        ...


class RoundTracker:
    """Counts round trips from ACKs alone.

    A round ends with the first ACK for data sent after the round began: RFC 9406's
    "windowEnd = SND.NXT" rule, told by the send time of the acknowledged segment
    (now - rtt) instead of by sequence numbers, so the caller needs to pass nothing more.
    """

    __slots__ = (
        "count",
        "start_ns",
    )

    def __init__(self) -> None:
        self.start_ns: int | None = None
        self.count = 0

    def on_ack(self, now_ns: int, rtt_ns: int | None) -> bool:
        """Whether this ACK begins a new round (the first ACK ever begins round 1)."""
        if rtt_ns is None:
            return False
        if self.start_ns is None or now_ns - rtt_ns >= self.start_ns:
            self.start_ns = now_ns
            self.count += 1
            return True
        return False


class RecoveryTracker:
    """Decides whether a reported loss is a new congestion event: one reduction per window.

    After a reduction at time T, losses of segments sent before T belong to the same event
    (NewReno's "recover" point, RFC 6582, by send time instead of sequence number). While the
    first ACK for data sent after T has not arrived the connection is in recovery and the window
    does not grow. When the caller does not know the lost segment's send time, a loss counts as
    new only outside recovery and at least one smoothed RTT after the last reduction.
    """

    __slots__ = (
        "in_recovery",
        "reduced_at_ns",
    )

    def __init__(self) -> None:
        self.reduced_at_ns: int | None = None
        self.in_recovery = False

    def is_new_event(self, now_ns: int, sent_ns: int | None, srtt_ns: float | None) -> bool:
        if self.reduced_at_ns is None:
            return True
        if sent_ns is not None:
            return sent_ns >= self.reduced_at_ns
        if self.in_recovery:
            return False
        return srtt_ns is None or now_ns - self.reduced_at_ns >= srtt_ns

    def reduced(self, now_ns: int, *, recovery: bool) -> None:
        """The window was just reduced; ``recovery`` is False after a timeout, where slow start
        grows the window from the next ACK on (RFC 5681 §3.1)."""
        self.reduced_at_ns = now_ns
        self.in_recovery = recovery

    def on_ack(self, now_ns: int, rtt_ns: int | None, srtt_ns: float | None) -> bool:
        """Whether the connection is still in recovery after this ACK."""
        if self.in_recovery and self.reduced_at_ns is not None:
            if rtt_ns is not None:
                self.in_recovery = now_ns - rtt_ns < self.reduced_at_ns
            elif srtt_ns is not None:
                self.in_recovery = now_ns - self.reduced_at_ns < srtt_ns
        return self.in_recovery


# --- HyStart++ (RFC 9406) ------------------------------------------------------------------------


@attrs.frozen(slots=True)
class HyStartParams:
    """HyStart++ constants, all from RFC 9406 §4.3.

    Attributes:
        min_rtt_thresh_ns: MIN_RTT_THRESH, 4 ms: smallest RTT rise that ends standard slow start.
        max_rtt_thresh_ns: MAX_RTT_THRESH, 16 ms: largest RTT rise needed.
        min_rtt_divisor: MIN_RTT_DIVISOR, 8: the threshold is the last round's min RTT / 8,
            clamped to [4 ms, 16 ms].
        n_rtt_sample: N_RTT_SAMPLE, 8: RTT samples a round needs before it is judged.
        css_growth_divisor: CSS_GROWTH_DIVISOR, 4: Conservative Slow Start grows a quarter as
            fast as slow start.
        css_rounds: CSS_ROUNDS, 5: rounds of CSS before congestion avoidance.
        ack_limit_segments: L, the most one ACK may add to cwnd in slow start: 8 segments for a
            sender that does not pace (RFC 9406 §4.3; a paced sender uses infinity). The modelled
            flows do not pace.
    """

    min_rtt_thresh_ns: int = 4 * NS_PER_MS
    max_rtt_thresh_ns: int = 16 * NS_PER_MS
    min_rtt_divisor: int = 8
    n_rtt_sample: int = 8
    css_growth_divisor: int = 4
    css_rounds: int = 5
    ack_limit_segments: float = 8.0


class SlowStartPhase(enum.Enum):
    """Where HyStart++ is: standard slow start, Conservative Slow Start, or finished."""

    STANDARD = "standard"
    CSS = "css"
    DONE = "done"


class HyStartPlusPlus:
    """RFC 9406 slow start: the window grows as in standard slow start until a round's minimum
    RTT exceeds the previous round's by the threshold; then Conservative Slow Start (a quarter
    of the growth) for CSS_ROUNDS rounds, back to standard slow start if the RTT falls below the
    CSS baseline (a false alarm), and at the end congestion avoidance with ssthresh = cwnd.

    ``on_ack`` returns the window increment for one ACK; the controller applies it.
    """

    __slots__ = (
        "_settled_round",
        "css_baseline_min_rtt_ns",
        "css_round_count",
        "current_round_min_rtt_ns",
        "last_round_min_rtt_ns",
        "params",
        "phase",
        "rounds",
        "rtt_sample_count",
    )

    def __init__(self, params: HyStartParams | None = None) -> None:
        self.params = params or HyStartParams()
        self.phase = SlowStartPhase.STANDARD
        self.rounds = RoundTracker()
        self.last_round_min_rtt_ns = math.inf
        self.current_round_min_rtt_ns = math.inf
        self.rtt_sample_count = 0
        self.css_baseline_min_rtt_ns = math.inf
        self.css_round_count = 0
        # The round whose judgement in standard slow start came out "no rise": within a round
        # the minimum RTT only falls, so it cannot come out otherwise until the next round (or
        # a switch from CSS, which a "no rise" in this round rules out), and is not redone.
        self._settled_round = -1

    def on_ack(self, now_ns: int, acked_segments: float, rtt_ns: int | None) -> float:
        p = self.params
        if self.phase is SlowStartPhase.DONE:
            return 0.0
        if self.rounds.on_ack(now_ns, rtt_ns):
            self._new_round()
            if self.phase is SlowStartPhase.DONE:
                return 0.0
        limit = p.ack_limit_segments  # min() spelt out: this runs once per ACK
        increment = acked_segments if acked_segments < limit else limit
        if self.phase is SlowStartPhase.CSS:
            increment /= p.css_growth_divisor
        if rtt_ns is not None:
            if rtt_ns < self.current_round_min_rtt_ns:
                self.current_round_min_rtt_ns = rtt_ns
            self.rtt_sample_count += 1
        if self.rtt_sample_count >= p.n_rtt_sample and self._settled_round != self.rounds.count:
            self._judge_round()
        return increment

    def _new_round(self) -> None:
        if self.phase is SlowStartPhase.CSS:
            # The partial round in which CSS began counts towards CSS_ROUNDS.
            self.css_round_count += 1
            if self.css_round_count >= self.params.css_rounds:
                self.phase = SlowStartPhase.DONE
        self.last_round_min_rtt_ns = self.current_round_min_rtt_ns
        self.current_round_min_rtt_ns = math.inf
        self.rtt_sample_count = 0

    def _judge_round(self) -> None:
        p = self.params
        current, last = self.current_round_min_rtt_ns, self.last_round_min_rtt_ns
        if self.phase is SlowStartPhase.STANDARD:
            if math.isinf(current) or math.isinf(last):
                self._settled_round = self.rounds.count  # no last round to compare with
                return
            threshold = max(p.min_rtt_thresh_ns, min(last / p.min_rtt_divisor, p.max_rtt_thresh_ns))
            if current >= last + threshold:
                self.css_baseline_min_rtt_ns = current
                self.css_round_count = 0
                self.phase = SlowStartPhase.CSS
            else:
                self._settled_round = self.rounds.count
        elif current < self.css_baseline_min_rtt_ns:
            # The RTT rise was spurious: resume standard slow start.
            self.css_baseline_min_rtt_ns = math.inf
            self.phase = SlowStartPhase.STANDARD


# --- Loss-based controllers ----------------------------------------------------------------------


class _LossBasedControl:
    """What Reno and CUBIC share: slow start (optionally HyStart++), one reduction per window of
    data, recovery without growth, and the collapse to one segment on a timeout.

    Subclasses supply ``_avoid`` (growth in congestion avoidance), ``_reduce`` (a loss event)
    and ``_timeout_ssthresh``.
    """

    __slots__ = (
        "_cwnd",
        "_ssthresh",
        "_timeouts_in_a_row",
        "hystart",
        "recovery",
        "srtt_ns",
    )

    def __init__(self, initial_window: float, hystart: HyStartParams | None) -> None:
        if not initial_window >= 1:
            raise ValueError(f"the initial window must be >= 1 segment, got {initial_window}")
        self._cwnd = float(initial_window)
        self._ssthresh = math.inf
        self.hystart = HyStartPlusPlus(hystart) if hystart is not None else None
        self.recovery = RecoveryTracker()
        self.srtt_ns: float | None = None  # the controller's own RFC 6298 SRTT
        self._timeouts_in_a_row = 0

    @property
    def cwnd(self) -> float:
        return self._cwnd

    @property
    def ssthresh(self) -> float:
        return self._ssthresh

    @property
    def in_slow_start(self) -> bool:
        return self._cwnd < self._ssthresh

    def on_ack(
        self, now_ns: int, acked_segments: float, rtt_ns: int | None, *, cwnd_limited: bool = True
    ) -> None:
        if acked_segments <= 0:
            return
        if rtt_ns is not None and rtt_ns > 0:
            self.srtt_ns = rtt_ns if self.srtt_ns is None else 0.875 * self.srtt_ns + rtt_ns / 8
        self._timeouts_in_a_row = 0
        recovery = self.recovery
        if recovery.in_recovery and recovery.on_ack(now_ns, rtt_ns, self.srtt_ns):
            return  # no growth until data sent after the reduction is acknowledged
        if self._cwnd < self._ssthresh:  # in slow start (the property, read once per ACK)
            self._slow_start(now_ns, acked_segments, rtt_ns, cwnd_limited)
        elif cwnd_limited:
            self._avoid(now_ns, acked_segments, rtt_ns)

    def _slow_start(
        self, now_ns: int, acked_segments: float, rtt_ns: int | None, cwnd_limited: bool
    ) -> None:
        if self.hystart is not None:
            # HyStart++ keeps counting rounds and RTTs even while the window is not the limit.
            increment = self.hystart.on_ack(now_ns, acked_segments, rtt_ns)
            if cwnd_limited:
                self._cwnd = min(self._cwnd + increment, self._ssthresh)
            if self.hystart.phase is SlowStartPhase.DONE:
                self._ssthresh = self._cwnd  # RFC 9406: enter congestion avoidance
        elif cwnd_limited:
            self._cwnd = min(self._cwnd + acked_segments, self._ssthresh)

    def on_loss_event(
        self, now_ns: int, sent_ns: int | None = None, flight_segments: float | None = None
    ) -> bool:
        if not self.recovery.is_new_event(now_ns, sent_ns, self.srtt_ns):
            return False
        before = self._cwnd
        self._start_from_flight(flight_segments)
        self.hystart = None  # RFC 9406 §4.2: HyStart++ only for the initial slow start
        self._reduce(now_ns)
        self._cwnd = min(self._cwnd, before)  # never grow on a loss (the 2-segment floor)
        self.recovery.reduced(now_ns, recovery=True)
        return True

    def _start_from_flight(self, flight_segments: float | None) -> None:
        """Reduce from the data actually in flight when the window was not all used."""
        if flight_segments is not None and flight_segments < self._cwnd:
            self._cwnd = max(float(flight_segments), 1.0)

    def on_timeout(self, now_ns: int, flight_segments: float | None = None) -> None:
        if self._timeouts_in_a_row == 0:
            self._start_from_flight(flight_segments)
            # On a repeated timeout ssthresh is held (RFC 5681 §3.1): cwnd is already 1.
            self._ssthresh = self._timeout_ssthresh()
        self._timeouts_in_a_row += 1
        self._cwnd = 1.0  # the loss window, RFC 5681 §3.1
        self.hystart = None
        self.recovery.reduced(now_ns, recovery=False)

    def _avoid(self, now_ns: int, acked_segments: float, rtt_ns: int | None) -> None:
        raise NotImplementedError

    def _reduce(self, now_ns: int) -> None:
        raise NotImplementedError

    def _timeout_ssthresh(self) -> float:
        raise NotImplementedError


@attrs.frozen(slots=True)
class RenoParams:
    """NewReno-like congestion control (RFC 5681, RFC 6582): today's TcpFlow behaviour.

    Attributes:
        initial_window: 10 segments (RFC 6928).
        beta: multiplicative decrease, 1/2 (RFC 5681 eq. 4: ssthresh = FlightSize / 2, with the
            window standing in for FlightSize).
        min_ssthresh: 2 segments (RFC 5681 eq. 4).
        hystart: HyStart++ constants, or None for standard slow start (the default, as today).
    """

    initial_window: float = 10.0
    beta: float = 0.5
    min_ssthresh: float = 2.0
    hystart: HyStartParams | None = None


class Reno(_LossBasedControl):
    """Slow start, +1 segment per round trip (acked/cwnd per ACK), halving once per window."""

    __slots__ = ("params",)

    def __init__(self, params: RenoParams | None = None) -> None:
        self.params = params or RenoParams()
        super().__init__(self.params.initial_window, self.params.hystart)

    def _avoid(self, now_ns: int, acked_segments: float, rtt_ns: int | None) -> None:
        self._cwnd += acked_segments / self._cwnd

    def _reduce(self, now_ns: int) -> None:
        self._ssthresh = max(self._cwnd * self.params.beta, self.params.min_ssthresh)
        self._cwnd = self._ssthresh

    def _timeout_ssthresh(self) -> float:
        return max(self._cwnd * self.params.beta, self.params.min_ssthresh)


@attrs.frozen(slots=True)
class CubicParams:
    """CUBIC constants (RFC 9438).

    Attributes:
        c: C = 0.4, the cubic's scaling constant (RFC 9438 §5.1), in segments / s^3.
        beta: beta_cubic = 0.7, the multiplicative decrease (§4.6).
        fast_convergence: lower W_max when a loss comes before the window got back to it (§4.7;
            "SHOULD", on in Linux).
        initial_window: 10 segments (RFC 6928).
        min_window_after_loss: 2 segments: a loss (not a timeout) never takes cwnd or ssthresh
            below this (RFC 9438 §4.6).
        hystart: HyStart++ constants (RFC 9438 §4.10 recommends HyStart++), or None.
    """

    c: float = 0.4
    beta: float = 0.7
    fast_convergence: bool = True
    initial_window: float = 10.0
    min_window_after_loss: float = 2.0
    hystart: HyStartParams | None = attrs.field(factory=HyStartParams)

    @property
    def alpha(self) -> float:
        """alpha_cubic = 3 (1 - beta) / (1 + beta): the Reno-friendly additive increase (§4.3),
        0.529 segments per round trip with beta = 0.7."""
        return 3 * (1 - self.beta) / (1 + self.beta)


class Cubic(_LossBasedControl):
    """CUBIC (RFC 9438) with HyStart++ slow start and one reduction per window of data.

    After a congestion event the window follows W_cubic(t) = C (t - K)^3 + W_max, t in seconds
    since the congestion-avoidance stage began (the first ACK after recovery), with
    K = cbrt((W_max - cwnd_epoch) / C). Per acknowledged segment cwnd moves by
    (target - cwnd) / cwnd towards target = W_cubic(t + SRTT) clamped to [cwnd, 1.5 cwnd], unless
    the Reno-friendly estimate W_est is above W_cubic(t), in which case cwnd = W_est.

    RFC 9438 states the increase per ACK; it is applied here per acknowledged segment so that
    delayed ACKs (two segments per ACK) do not halve the growth. ssthresh uses cwnd where the RFC
    says flight size: the model's flows keep the window full.
    """

    __slots__ = (
        "_after_timeout",
        "cwnd_prior",
        "epoch_ns",
        "k_s",
        "params",
        "w_est",
        "w_max",
    )

    def __init__(self, params: CubicParams | None = None) -> None:
        self.params = params or CubicParams()
        super().__init__(self.params.initial_window, self.params.hystart)
        self.w_max: float | None = None  # window before the last reduction (None: none yet)
        self.k_s = 0.0
        self.w_est = self._cwnd
        self.cwnd_prior = self._cwnd
        self.epoch_ns: int | None = None  # when the current congestion-avoidance stage began
        self._after_timeout = False

    def w_cubic(self, t_s: float) -> float:
        """RFC 9438 eq. 1: C (t - K)^3 + W_max, segments, t in seconds since the epoch."""
        w_max = self._cwnd if self.w_max is None else self.w_max
        return self.params.c * (t_s - self.k_s) ** 3 + w_max

    def _start_epoch(self, now_ns: int) -> None:
        self.epoch_ns = now_ns
        if self.w_max is None and not self._after_timeout:
            # Slow start ended without congestion (HyStart++): no W_max to return to. As after
            # a timeout, K = 0 and W_max = cwnd; ssthresh was just set, at this cwnd.
            self.cwnd_prior = self._cwnd
        if self.w_max is None or self._after_timeout:
            # RFC 9438 §4.8: first stage after a timeout: K = 0, W_max = cwnd at its start.
            self.w_max = self._cwnd
            self.k_s = 0.0
            self._after_timeout = False
        else:
            self.k_s = math.cbrt((self.w_max - self._cwnd) / self.params.c)
        self.w_est = self._cwnd

    def _avoid(self, now_ns: int, acked_segments: float, rtt_ns: int | None) -> None:
        p = self.params
        if self.epoch_ns is None:
            self._start_epoch(now_ns)
            assert self.epoch_ns is not None
        t_s = (now_ns - self.epoch_ns) / NS_PER_S
        cwnd = self._cwnd
        # Reno-friendly region (§4.3): alpha_cubic until W_est reaches cwnd_prior, then 1.
        alpha = 1.0 if self.w_est >= self.cwnd_prior else p.alpha
        self.w_est += alpha * acked_segments / cwnd
        if self.w_cubic(t_s) < self.w_est:
            self._cwnd = max(cwnd, self.w_est)
            return
        # Concave (cwnd < W_max) and convex (cwnd >= W_max) regions (§4.4, §4.5).
        srtt_s = (self.srtt_ns or rtt_ns or 0) / NS_PER_S
        target = min(max(self.w_cubic(t_s + srtt_s), cwnd), 1.5 * cwnd)
        self._cwnd = cwnd + (target - cwnd) / cwnd * acked_segments

    def _reduce(self, now_ns: int) -> None:
        p = self.params
        cwnd = self._cwnd
        if p.fast_convergence and self.w_max is not None and cwnd < self.w_max:
            self.w_max = cwnd * (1 + p.beta) / 2  # §4.7: release bandwidth for a newcomer
        else:
            self.w_max = cwnd
        self.cwnd_prior = cwnd
        self._ssthresh = max(cwnd * p.beta, p.min_window_after_loss)
        self._cwnd = self._ssthresh
        self.k_s = math.cbrt((self.w_max - self._cwnd) / p.c)
        self.epoch_ns = None
        self._after_timeout = False

    def _timeout_ssthresh(self) -> float:
        # §4.8: ssthresh with beta_cubic; the next congestion-avoidance stage starts with K = 0.
        self.cwnd_prior = self._cwnd
        self.epoch_ns = None
        self._after_timeout = True
        return max(self._cwnd * self.params.beta, self.params.min_window_after_loss)


def congestion_control(name: str) -> CongestionControl:
    """A controller with default parameters by name: ``reno`` or ``cubic``."""
    factories = {"reno": Reno, "cubic": Cubic}
    try:
        return factories[name.lower()]()
    except KeyError:
        raise ValueError(
            f"unknown congestion control {name!r}; known: {sorted(factories)}"
        ) from None


# --- Receive window ------------------------------------------------------------------------------

MAX_UNSCALED_WINDOW = 65_535
"""The largest window a 16-bit TCP header field holds; a SYN's window is never scaled
(RFC 7323 §2.2), so this bounds every connection's initial window."""

AUTOTUNE_GROWTH = 2.0
"""Receive-window autotuning step (our rule, an assumption). Once per receiver round trip, if
the application read at least 1/AUTOTUNE_GROWTH of the advertised window in it, the window is
multiplied by AUTOTUNE_GROWTH (or set to that multiple of what was read, if larger), up to the
profile's maximum; it never shrinks. So the window stays 2-4x ahead of what the sender moves per
round trip and doubles each round trip while the sender keeps filling it, which is how Linux's
dynamic right-sizing behaves (it sizes the buffer from the bytes the application consumed per
RTT, ahead of a sender that may double in slow start). The half-used test, rather than
"filled", allows for the one round trip between the receiver raising the window and the sender
using it. The same rule is assumed for Windows, whose algorithm is not in our sources."""


@attrs.frozen(slots=True)
class ReceiveWindowProfile:
    """How a receiver sizes the window it advertises.

    Attributes:
        name: profile name (``linux``, ``windows``, ``tuned``, ``untuned-windows-iperf`` ...).
        initial_window_bytes: the window advertised at connection start.
        max_window_bytes: the largest window it will ever advertise.
        autotune: whether the window grows towards the maximum (see ``AUTOTUNE_GROWTH``);
            otherwise it stays at the initial value.
        source: where the numbers come from.
    """

    name: str
    initial_window_bytes: int
    max_window_bytes: int
    autotune: bool
    source: str = ""

    def __attrs_post_init__(self) -> None:
        if not 0 < self.initial_window_bytes <= self.max_window_bytes:
            raise ValueError(
                f"profile {self.name!r}: need 0 < initial window <= max window, got "
                f"{self.initial_window_bytes} and {self.max_window_bytes}"
            )


@attrs.frozen(slots=True)
class LinuxReceiveBuffers:
    """Linux's receive-buffer sysctls and the share of the buffer advertised as window.

    Attributes:
        rmem_min: net.ipv4.tcp_rmem[0], 4 KiB (azure-facts N4.3, ip-sysctl.rst).
        rmem_default: net.ipv4.tcp_rmem[1], 131,072 B (87,380 before an early-2021 patch; N4.3).
        rmem_max: net.ipv4.tcp_rmem[2], 6,291,456 B (6 MiB): the autotuning ceiling. It is
            131,072 B to 6 MB depending on RAM, 6 MB on VM sizes worth modelling; a 2025 patch
            raises the default to 32 MB (N4.3), not modelled by default.
        adv_win_scale: net.ipv4.tcp_adv_win_scale, default 1. The buffer also holds per-packet
            overhead; ip-sysctl.rst counts it as bytes/2^s (s > 0) or bytes - bytes/2^-s
            (s <= 0), so with 1 half of the buffer is window. We keep the documented default:
            it is what the kernels of the period use, and it is the conservative choice.
            Kernels from 6.6 on replace it with a ratio measured from the traffic's real
            overhead (the sysctl is documented as obsolete), which can give a larger share;
            set ``adv_win_scale=2`` (3/4) to see that effect.
    """

    rmem_min: int = 4096
    rmem_default: int = 131_072
    rmem_max: int = 6_291_456
    adv_win_scale: int = 1

    @property
    def window_fraction(self) -> float:
        s = self.adv_win_scale
        return 1 - 2.0**-s if s > 0 else 2.0**s

    def profile(self, name: str = "linux") -> ReceiveWindowProfile:
        fraction = self.window_fraction
        return ReceiveWindowProfile(
            name=name,
            initial_window_bytes=min(int(self.rmem_default * fraction), MAX_UNSCALED_WINDOW),
            max_window_bytes=int(self.rmem_max * fraction),
            autotune=True,
            source="net.ipv4.tcp_rmem, tcp_adv_win_scale (Linux ip-sysctl.rst; azure-facts N4.3)",
        )


LINUX = LinuxReceiveBuffers().profile()
"""Default Linux receiver: 65,535 B at first, autotuned up to 3,145,728 B (6 MiB / 2)."""

WINDOWS_AUTOTUNING_SCALE: dict[str, int] = {
    "disabled": 0,
    "highlyrestricted": 2,
    "restricted": 4,
    "normal": 8,
    "experimental": 14,
}
"""Windows AutoTuningLevel -> window scale factor (azure-facts N4.2, Microsoft's TCP/IP
performance-tuning page): the maximum window is 65,535 x 2^scale bytes."""


def windows_profile(level: str = "normal") -> ReceiveWindowProfile:
    """A Windows receiver at an AutoTuningLevel: starts at 65,535 B, grows to 65,535 x 2^scale.

    The growth rule (``AUTOTUNE_GROWTH``) is our assumption; only the ceiling is documented.
    """
    key = level.replace(" ", "").replace("_", "").replace("-", "").lower()
    if key not in WINDOWS_AUTOTUNING_SCALE:
        raise ValueError(
            f"unknown AutoTuningLevel {level!r}; known: {sorted(WINDOWS_AUTOTUNING_SCALE)}"
        )
    scale = WINDOWS_AUTOTUNING_SCALE[key]
    return ReceiveWindowProfile(
        name="windows" if key == "normal" else f"windows-{key}",
        initial_window_bytes=MAX_UNSCALED_WINDOW,
        max_window_bytes=MAX_UNSCALED_WINDOW << scale,
        autotune=scale > 0,
        source=f"AutoTuningLevel {key}: scale factor {scale} (azure-facts N4.2)",
    )


WINDOWS = windows_profile("normal")
"""Default Windows receiver (AutoTuningLevel Normal): 65,535 B up to 16,776,960 B."""


def tuned_profile(window_bytes: int, name: str = "tuned") -> ReceiveWindowProfile:
    """A fixed window: the application set its buffers (SO_RCVBUF, iPerf -w), which turns
    autotuning off for the socket (azure-facts N4.3). On Linux the kernel doubles SO_RCVBUF for
    overhead, so the window is about the value asked for; it is capped by net.core.rmem_max."""
    return ReceiveWindowProfile(
        name=name,
        initial_window_bytes=window_bytes,
        max_window_bytes=window_bytes,
        autotune=False,
        source="user-set socket buffers (fixed window)",
    )


UNTUNED_WINDOWS_IPERF = attrs.evolve(
    tuned_profile(194_560, "untuned-windows-iperf"),
    source=(
        "calibration, azure-facts N4.1: Microsoft's ExpressRoute single-session table behaves "
        "like a fixed window; throughput x latency is 1.48-1.56 Mbit (185-196 kB) in every row "
        "from 18 ms up (median 194 kB), so 190 KiB = 194,560 B"
    ),
)
"""Untuned Windows iPerf single flow, as measured by Microsoft (N4.1): a fixed ~190 KB window."""


def receive_profile(name: str, window_bytes: int | None = None) -> ReceiveWindowProfile:
    """A profile by name: ``linux``, ``windows`` (Normal), ``windows-<level>``,
    ``untuned-windows-iperf``, or ``tuned`` (needs ``window_bytes``)."""
    key = name.lower()
    if key == "linux":
        return LINUX
    if key == "windows":
        return WINDOWS
    if key.startswith("windows-"):
        return windows_profile(key.removeprefix("windows-"))
    if key == UNTUNED_WINDOWS_IPERF.name:
        return UNTUNED_WINDOWS_IPERF
    if key == "tuned":
        if window_bytes is None:
            raise ValueError("the 'tuned' profile needs window_bytes (the window the user set)")
        return tuned_profile(window_bytes)
    known = ["linux", "windows", "windows-<level>", "tuned", UNTUNED_WINDOWS_IPERF.name]
    raise ValueError(f"unknown receive-window profile {name!r}; known: {known}")


class ReceiveWindow:
    """The window one receiver advertises.

    With autotuning, the receiver measures the bytes the application read in each round trip
    (the application is taken to keep up, so every delivered byte counts) and doubles the
    window when at least half of it was used (``AUTOTUNE_GROWTH``), never above the profile's
    maximum and never down.
    """

    __slots__ = (
        "_interval_bytes",
        "_interval_start_ns",
        "profile",
        "window_bytes",
    )

    def __init__(self, profile: ReceiveWindowProfile) -> None:
        self.profile = profile
        self.window_bytes = profile.initial_window_bytes
        self._interval_start_ns: int | None = None
        self._interval_bytes = 0

    def on_data(self, now_ns: int, nbytes: int, rtt_ns: int | None) -> int:
        """``nbytes`` of new data reached the application at ``now_ns``; ``rtt_ns`` is the
        receiver's estimate of the round trip. Returns the window to advertise."""
        p = self.profile
        if not p.autotune or self.window_bytes >= p.max_window_bytes:
            return self.window_bytes
        if self._interval_start_ns is None:
            self._interval_start_ns = now_ns
        elif rtt_ns is not None and now_ns - self._interval_start_ns >= rtt_ns:
            read = self._interval_bytes
            if AUTOTUNE_GROWTH * read >= self.window_bytes:
                target = int(AUTOTUNE_GROWTH * max(self.window_bytes, read))
                self.window_bytes = min(target, p.max_window_bytes)
            self._interval_start_ns = now_ns
            self._interval_bytes = 0
        self._interval_bytes += nbytes
        return self.window_bytes


# --- Acknowledgements -----------------------------------------------------------------------------


@attrs.frozen(slots=True)
class AckPolicy:
    """When a receiver acknowledges data (delayed ACKs, RFC 1122 §4.2.3.2, RFC 5681 §4.2).

    The first ``quick_acks`` data segments of a connection are acknowledged one by one (Linux's
    quick-ACK mode, so slow start is not held back); after them one ACK covers
    ``every_segments`` segments, and a segment left over waits at most ``delay_ns`` for a
    companion. Acknowledged at once besides (the flow applies these, ``fabric.sim.flows``):
    out-of-order data, as RFC 5681 §4.2 asks (a segment after a gap, and every segment for a
    round trip after it, the time a retransmission would take to fill the gap: the model
    does not resend lost data as such), so SACK tells the sender without delay; and a
    segment that leaves half the window or more unacknowledged, since reading it opens the
    window twofold and Linux then sends the window update at once (``tcp_cleanup_rbuf``).

    Attributes:
        name: the receiving OS the policy belongs to.
        every_segments: full-sized segments one ACK covers; RFC 1122 asks for at least every
            second one.
        delay_ns: the delayed-ACK timer: the longest a received segment waits for its ACK.
        quick_acks: segments acknowledged one by one at the start of a connection.
        source: where the numbers come from.
    """

    name: str = "linux"
    every_segments: int = 2
    delay_ns: int = 40 * NS_PER_MS
    quick_acks: int = 16
    source: str = (
        "RFC 1122 §4.2.3.2 (an ACK at least every second full-sized segment); Linux "
        "include/net/tcp.h: TCP_ATO_MIN = HZ/25 (40 ms, the delayed-ACK timer's floor, its "
        "adaptive growth not modelled), TCP_MAX_QUICKACKS = 16"
    )

    def __attrs_post_init__(self) -> None:
        if self.every_segments < 1 or self.delay_ns < 0 or self.quick_acks < 0:
            raise ValueError(
                f"ACK policy {self.name!r}: need every_segments >= 1, delay_ns >= 0 and "
                f"quick_acks >= 0, got {self.every_segments}, {self.delay_ns}, {self.quick_acks}"
            )


LINUX_ACKS = AckPolicy()
"""A Linux receiver: 16 quick ACKs, then one ACK per two segments, a lone one within 40 ms."""

WINDOWS_ACKS = AckPolicy(
    name="windows",
    every_segments=2,
    delay_ns=200 * NS_PER_MS,
    quick_acks=0,
    source=(
        "Microsoft's TCP/IP registry documentation: TcpAckFrequency default 2 segments, "
        "delayed-ACK timer 200 ms (TcpDelAckTicks default 2, in 100 ms ticks); no quick-ACK "
        "start is documented, none is assumed"
    ),
)
"""A Windows receiver: one ACK per two segments from the start, a lone one within 200 ms."""


def ack_policy(os_profile: str) -> AckPolicy:
    """The ACK policy of a receiving host's OS profile: Windows' for ``windows`` and its
    AutoTuningLevel and iPerf variants, Linux's for every other (``linux``, ``tuned``)."""
    return WINDOWS_ACKS if "windows" in os_profile.lower() else LINUX_ACKS


# --- The sender ----------------------------------------------------------------------------------

DEFAULT_MSS_BYTES = 1460
"""MSS = MTU 1500 - 40 bytes of IP and TCP headers (azure-facts §3.8); tunnel paths clamp to
1350 (the dataplane passes its own value)."""


class TcpSender:
    """What one TCP sender may have in flight: min(cwnd x MSS, receive window, send buffer).

    It forwards ACKs, losses and timeouts to its congestion controller and keeps the RFC 6298
    timer. The send buffer (net.ipv4.tcp_wmem on Linux, autotuned there up to 4 MB) is not
    modelled unless ``send_buffer_bytes`` is given.
    """

    __slots__ = (
        "_other_limit_bytes",
        "cc",
        "mss_bytes",
        "rto",
        "send_buffer_bytes",
    )

    def __init__(
        self,
        cc: CongestionControl | None = None,
        mss_bytes: int = DEFAULT_MSS_BYTES,
        send_buffer_bytes: int | None = None,
        rto: RtoEstimator | None = None,
    ) -> None:
        if mss_bytes <= 0:
            raise ValueError(f"mss_bytes must be positive, got {mss_bytes}")
        self.cc: CongestionControl = cc if cc is not None else Cubic()
        self.mss_bytes = mss_bytes
        self.send_buffer_bytes = send_buffer_bytes
        self.rto = rto or RtoEstimator()
        self._other_limit_bytes: int | None = None  # receive window / send buffer, last seen

    @property
    def rto_ns(self) -> int:
        return self.rto.rto_ns

    @property
    def cwnd_limited(self) -> bool:
        """Whether the congestion window is what holds the sender back, judged against the
        receive window and send buffer last passed to ``usable_window_bytes``. In congestion
        avoidance cwnd must be the binding limit; in slow start it may run up to twice the
        other limits, so that one round trip of receive-window autotuning lag does not stall
        it (RFC 7661 counts a window as used down to half of it)."""
        limit = self._other_limit_bytes
        if limit is None:
            return True
        window = self.cc.cwnd * self.mss_bytes
        return window < 2 * limit if self.cc.in_slow_start else window <= limit

    def on_ack(
        self,
        now_ns: int,
        acked_segments: float,
        rtt_ns: int | None,
        newest_rtt_ns: int | None = None,
    ) -> None:
        """New data acknowledged; ``rtt_ns`` None for a retransmitted segment (Karn).

        The timer takes its sample from the earliest segment the ACK covers (RFC 7323 §4.3:
        with delayed ACKs that includes the delay), the congestion control from the newest
        (``newest_rtt_ns``, when given; Linux's ``ca_rtt``), so HyStart++ does not read an
        ACK that waited for the delayed-ACK timer as a rise in the path's delay."""
        if rtt_ns is not None:
            self.rto.on_rtt_sample(rtt_ns)
        if newest_rtt_ns is None:
            newest_rtt_ns = rtt_ns
        self.cc.on_ack(now_ns, acked_segments, newest_rtt_ns, cwnd_limited=self.cwnd_limited)

    def on_loss(
        self, now_ns: int, sent_ns: int | None = None, inflight_bytes: int | None = None
    ) -> bool:
        """A loss seen by duplicate ACKs or SACK (the lost segment sent at ``sent_ns``, with
        ``inflight_bytes`` outstanding, when known); True if it reduced the window."""
        return self.cc.on_loss_event(now_ns, sent_ns, self._segments(inflight_bytes))

    def on_timeout(self, now_ns: int, inflight_bytes: int | None = None) -> int:
        """The retransmission timer fired: window to one segment; returns the backed-off RTO."""
        self.cc.on_timeout(now_ns, self._segments(inflight_bytes))
        return self.rto.on_timeout()

    def _segments(self, nbytes: int | None) -> float | None:
        return None if nbytes is None else nbytes / self.mss_bytes

    def usable_window_bytes(self, receive_window_bytes: int) -> int:
        """min(cwnd x MSS, receive window, send buffer): what may be in flight now (never
        below zero). Once per ACK: spelt with comparisons, not min() and max()."""
        other = receive_window_bytes
        send_buffer = self.send_buffer_bytes
        if send_buffer is not None and send_buffer < other:
            other = send_buffer
        self._other_limit_bytes = other
        window = int(self.cc.cwnd * self.mss_bytes)
        if other < window:
            window = other
        return window if window > 0 else 0


# --- Test and estimation aid: a round-based bottleneck -------------------------------------------
#
# Not the dataplane. A deterministic, single-flow model of one drop-tail link, stepped one flight
# (one round trip of data) at a time, so that tests and notebooks can check the TCP model against
# window / RTT arithmetic and Microsoft's published figures without the event engine.


@attrs.frozen(slots=True)
class Bottleneck:
    """Test aid: one drop-tail link on the path of a single flow.

    Attributes:
        rate_bps: link rate, bits per second.
        base_rtt_ns: round trip without queueing (propagation and processing), split evenly
            between the two directions.
        buffer_bytes: bytes the link can hold waiting; a chunk that does not fit is dropped.
    """

    rate_bps: float
    base_rtt_ns: int
    buffer_bytes: int

    @property
    def bdp_bytes(self) -> float:
        """Bandwidth-delay product: the bytes in flight that keep the link busy."""
        return self.rate_bps * self.base_rtt_ns / NS_PER_S / 8


@attrs.frozen(slots=True)
class FlightRecord:
    """One round trip of data through the ``Bottleneck``.

    Attributes:
        first_ack_ns, last_ack_ns: when its first and last ACK reached the sender (the send
            time of its first byte when nothing came back).
        window_bytes: usable window when it was sent.
        delivered_bytes, lost_bytes: what arrived and what the link dropped.
        min_rtt_ns, max_rtt_ns: RTT samples seen in it (0 when nothing came back).
        cwnd: congestion window (segments) after its ACKs.
        receive_window_bytes: advertised window after its ACKs.
        in_slow_start: whether the controller was still in slow start after its ACKs.
        timed_out: nothing came back and the retransmission timer fired.
    """

    first_ack_ns: int
    last_ack_ns: int
    window_bytes: int
    delivered_bytes: int
    lost_bytes: int
    min_rtt_ns: int
    max_rtt_ns: int
    cwnd: float
    receive_window_bytes: int
    in_slow_start: bool
    timed_out: bool


def run_flights(
    sender: TcpSender,
    receiver: ReceiveWindow,
    link: Bottleneck,
    duration_ns: int,
    ack_every_segments: int = 2,
) -> list[FlightRecord]:
    """Test aid: one flow through one ``Bottleneck`` for ``duration_ns``, a flight at a time.

    Each flight is the usable window, cut into ACK-sized chunks (delayed ACKs: two segments by
    default). Its chunks leave spread over the interval in which the previous flight's ACKs
    came back (ACK clocking; the first flight leaves at once), queue at the link and are ACKed
    half a base RTT after they leave it. A dropped chunk is reported as a loss with the next ACK
    that arrives (SACK); a flight with no ACK at all costs a retransmission timeout. Lost data is
    not resent separately: the fluid flow simply carries on with new data.
    """
    mss = sender.mss_bytes
    chunk_bytes = ack_every_segments * mss
    byte_ns = 8 * NS_PER_S / link.rate_bps  # time to send one byte on the link
    half_rtt = link.base_rtt_ns // 2
    busy_until = 0.0  # when the link finishes what it already holds
    clock_start, clock_end = 0, 0  # the previous flight's ACKs: when this flight leaves
    pending_losses: list[int] = []  # send times of dropped chunks not yet reported
    flights: list[FlightRecord] = []
    while clock_start < duration_ns:
        window = sender.usable_window_bytes(receiver.window_bytes)
        chunks = [chunk_bytes] * (window // chunk_bytes)
        if window % chunk_bytes:
            chunks.append(window % chunk_bytes)
        spread = clock_end - clock_start
        first_ack = last_ack = -1
        delivered = lost = 0
        rtts: list[int] = []
        for j, size in enumerate(chunks):
            sent = clock_start + (spread * j // (len(chunks) - 1) if len(chunks) > 1 else 0)
            arrival = sent + half_rtt
            backlog = max(0.0, busy_until - arrival) / byte_ns
            if backlog + size > link.buffer_bytes:
                lost += size
                pending_losses.append(sent)
                continue
            busy_until = max(busy_until, arrival) + size * byte_ns
            ack = math.ceil(busy_until) + half_rtt
            rtt = ack - sent
            for lost_sent in pending_losses:
                sender.on_loss(ack, lost_sent, window)
            pending_losses.clear()
            receiver.on_data(ack - half_rtt, size, rtt)
            sender.on_ack(ack, size / mss, rtt)
            delivered += size
            rtts.append(rtt)
            first_ack = ack if first_ack < 0 else first_ack
            last_ack = ack
        timed_out = not rtts
        if timed_out:
            first_ack = last_ack = clock_end + sender.rto_ns
            sender.on_timeout(first_ack, window)
            pending_losses.clear()
        flights.append(
            FlightRecord(
                first_ack_ns=first_ack,
                last_ack_ns=last_ack,
                window_bytes=window,
                delivered_bytes=delivered,
                lost_bytes=lost,
                min_rtt_ns=min(rtts, default=0),
                max_rtt_ns=max(rtts, default=0),
                cwnd=sender.cc.cwnd,
                receive_window_bytes=receiver.window_bytes,
                in_slow_start=sender.cc.in_slow_start,
                timed_out=timed_out,
            )
        )
        clock_start, clock_end = first_ack, last_ack
    return flights


def goodput_bps(flights: list[FlightRecord], since_ns: int = 0) -> float:
    """Test aid: delivered bits per second over the flights whose ACKs began at or after
    ``since_ns``, from the last ACK of the flight before them to their own last ACK."""
    index = next((i for i, f in enumerate(flights) if f.first_ack_ns >= since_ns), None)
    if index is None or index == 0 or index == len(flights):
        raise ValueError("need at least one flight before and one after since_ns")
    chosen = flights[index:]
    elapsed = chosen[-1].last_ack_ns - flights[index - 1].last_ack_ns
    return 8 * sum(f.delivered_bytes for f in chosen) * NS_PER_S / elapsed
