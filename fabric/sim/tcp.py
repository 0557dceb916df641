"""An engine-independent model of a TCP sender and receiver.

Nothing here knows about the event engine or the dataplane: the caller drives the model with
times in integer nanoseconds and reads back what it may send. Every number is a named field of a
frozen record whose docstring gives its source (an RFC, the Linux documentation, Microsoft's
documentation as quoted in azure-facts), or says that it is our assumption and why.

Pieces, each with one job:

* ``RtoEstimator``: RFC 6298 retransmission timer (SRTT, RTTVAR, backoff), Linux's 200 ms floor.
* ``syn_retry_schedule``: when an unanswered SYN is retried and when connect() gives up.
"""

from __future__ import annotations

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
