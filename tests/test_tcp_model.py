"""The engine-independent TCP model (fabric.sim.tcp) against its sources.

Expected numbers are worked out by hand from the published equations (RFC 6298 for the
retransmission timer, RFC 9438 for CUBIC, RFC 9406 for HyStart++) and written here as literals,
with the arithmetic in a comment, so that a wrong formula in the module cannot also be the
"expected" value.
"""

from __future__ import annotations

import numpy as np
import pytest

from fabric.sim import tcp

MS = 1_000_000
S = 1_000_000_000


# --- RFC 6298 retransmission timer --------------------------------------------------------------


def test_rto_before_any_sample_is_one_second():
    assert tcp.RtoEstimator().rto_ns == 1 * S  # RFC 6298 §2.1


def test_rto_arithmetic_on_a_sample_sequence():
    rto = tcp.RtoEstimator()
    # R1 = 100 ms: SRTT = 100, RTTVAR = 50, RTO = 100 + 4*50 = 300 ms (RFC 6298 §2.2).
    rto.on_rtt_sample(100 * MS)
    assert rto.srtt_ns == pytest.approx(100 * MS)
    assert rto.rttvar_ns == pytest.approx(50 * MS)
    assert rto.rto_ns == 300 * MS
    # R2 = 120 ms (§2.3, RTTVAR first, with the old SRTT):
    #   RTTVAR = 3/4*50 + 1/4*|100-120| = 37.5 + 5 = 42.5
    #   SRTT   = 7/8*100 + 1/8*120 = 87.5 + 15 = 102.5
    #   RTO    = 102.5 + 4*42.5 = 272.5 ms
    rto.on_rtt_sample(120 * MS)
    assert rto.rttvar_ns == pytest.approx(42.5 * MS)
    assert rto.srtt_ns == pytest.approx(102.5 * MS)
    assert rto.rto_ns == 272_500_000
    # R3 = 80 ms: RTTVAR = 3/4*42.5 + 1/4*22.5 = 31.875 + 5.625 = 37.5
    #             SRTT = 7/8*102.5 + 1/8*80 = 89.6875 + 10 = 99.6875
    #             RTO = 99.6875 + 150 = 249.6875 ms
    rto.on_rtt_sample(80 * MS)
    assert rto.rttvar_ns == pytest.approx(37.5 * MS)
    assert rto.srtt_ns == pytest.approx(99.6875 * MS)
    assert rto.rto_ns == 249_687_500


def test_rto_has_linux_200ms_floor_on_short_paths():
    rto = tcp.RtoEstimator()
    for _ in range(20):
        rto.on_rtt_sample(1 * MS)  # in-region: SRTT + 4*RTTVAR is a few ms
    assert rto.rto_ns == 200 * MS


def test_rto_backs_off_exponentially_up_to_120s_and_a_new_sample_clears_backoff():
    rto = tcp.RtoEstimator()
    rto.on_rtt_sample(100 * MS)  # 300 ms
    assert [rto.on_timeout() for _ in range(4)] == [600 * MS, 1200 * MS, 2400 * MS, 4800 * MS]
    for _ in range(20):
        rto.on_timeout()
    assert rto.rto_ns == 120 * S
    rto.on_rtt_sample(100 * MS)
    # RTTVAR = 3/4*50 + 0 = 37.5, SRTT = 100 -> RTO = 250 ms, backoff cleared.
    assert rto.rto_ns == 250 * MS


def test_syn_schedule_linux_default_retries_then_gives_up():
    schedule = tcp.syn_retry_schedule()
    # First SYN at 0, retries after 1, 2, 4, 8, 16, 32 s; the last wait is 64 s.
    assert schedule.send_times_ns == tuple(t * S for t in (0, 1, 3, 7, 15, 31, 63))
    assert schedule.retries == 6
    assert schedule.give_up_ns == 127 * S


def test_syn_schedule_caps_each_wait_at_max_rto():
    schedule = tcp.syn_retry_schedule(retries=8, initial_rto_ns=1 * S, max_rto_ns=60 * S)
    waits = [int(w) for w in np.diff(schedule.send_times_ns)]
    assert waits == [t * S for t in (1, 2, 4, 8, 16, 32, 60, 60)]
    assert schedule.give_up_ns == schedule.send_times_ns[-1] + 60 * S


def test_syn_schedule_with_no_retries_waits_one_rto():
    schedule = tcp.syn_retry_schedule(retries=0)
    assert schedule.send_times_ns == (0,)
    assert schedule.give_up_ns == 1 * S


def test_syn_schedule_rejects_negative_retries():
    with pytest.raises(ValueError, match="retries"):
        tcp.syn_retry_schedule(retries=-1)
