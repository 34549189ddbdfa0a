"""Event timestamps from one clock: the monotonic clock, anchored to wall time.

Start times from `time.time_ns()` and durations from `perf_counter_ns()` disagree by tens
of microseconds on some machines (the wall clock is stepped and slewed in small amounts),
enough to put a child's end after its parent's. Deriving every timestamp from the
monotonic clock keeps nesting exact. The anchor is moved only when the two clocks drifted
apart by more than RESYNC_NS (a clock step, or days of drift); the worker checks.
"""

from __future__ import annotations

import time

RESYNC_NS = 50_000_000

_perf = time.perf_counter_ns
offset = time.time_ns() - _perf()
"""Wall-clock ns minus monotonic ns; read by the hot path as `_clock.offset`."""


def now_ns() -> int:
    """Wall-clock nanoseconds since the epoch, consistent with every other event time."""
    return offset + _perf()


def resync() -> bool:
    """Moves the anchor when wall time and the monotonic clock drifted apart; True if moved."""
    global offset
    current = time.time_ns() - _perf()
    if abs(current - offset) > RESYNC_NS:
        offset = current
        return True
    return False
