"""Domain-free discrete-event engine: integer-nanosecond clock, event heap, queues, statistics."""

from simulator.engine import Simulation, StopSimulation
from simulator.process import Event, Process, Timeout
from simulator.queues import Delay, RateServer, TokenBucket
from simulator.stats import (
    LatencyRecorder,
    LatencyStats,
    LogHistogram,
    ThroughputRecorder,
    ThroughputSeries,
    TimeWeighted,
    confidence_interval,
)
from simulator.units import UnitError, milliseconds, seconds, serialisation_ns

__all__ = [
    "Delay",
    "Event",
    "LatencyRecorder",
    "LatencyStats",
    "LogHistogram",
    "Process",
    "RateServer",
    "Simulation",
    "StopSimulation",
    "ThroughputRecorder",
    "ThroughputSeries",
    "TimeWeighted",
    "Timeout",
    "TokenBucket",
    "UnitError",
    "confidence_interval",
    "milliseconds",
    "seconds",
    "serialisation_ns",
]
