"""How late the event loop runs a timer: the lag a blocked loop adds to every request on it.

A timer is armed for INTERVAL ahead; when it fires, how late it fired (actual - intended,
never below 0) is recorded with the wall-clock time, and the next timer is armed. A handler
that blocks the loop for 200 ms shows as one sample of about 200 ms; an idle loop reads
under a millisecond (uvloop's timers have millisecond resolution).

Its cost runs inside the CPU quota being measured, so it is one timer callback per interval
(no task, no coroutine, no future) writing two floats into preallocated arrays. Measured on
an idle probe (uvicorn, uvloop, Python 3.11 on the lab's host): about 0.15 CPU-seconds per
minute, 0.25 % of one core; see tests/probe/test_lag.py for how it is read.
"""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from collections.abc import Iterable, Iterator

INTERVAL = 0.020
KEEP_SECONDS = 20 * 60  # longer than any window the driver asks about, with room to spare
CAPACITY = int(KEEP_SECONDS / INTERVAL)  # 60,000 samples: 960 kB of arrays per process


class Ring:
    """The last ``capacity`` samples (wall-clock time, lag in seconds), oldest overwritten.

    Two arrays of doubles instead of a deque of tuples: 16 bytes a sample rather than about
    100, and nothing allocated that outlives a tick.
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.times = array("d", bytes(8 * capacity))
        self.lags = array("d", bytes(8 * capacity))
        self.count = 0  # every sample ever added; the ring holds the last ``capacity``

    def add(self, when: float, lag: float) -> None:
        i = self.count % self.capacity
        self.times[i] = when
        self.lags[i] = lag
        self.count += 1

    def __iter__(self) -> Iterator[tuple[float, float]]:
        held = min(self.count, self.capacity)
        return zip(self.times[:held], self.lags[:held], strict=True)


class Monitor:
    """One timer on one event loop, recording into ``ring``; start on the serving loop."""

    def __init__(self, ring: Ring | None = None, interval: float = INTERVAL) -> None:
        self.ring = Ring() if ring is None else ring
        self.interval = interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stop()
        self._loop = loop
        self._arm(loop.time())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, now: float) -> None:
        self._due = now + self.interval
        self._handle = self._loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        now = self._loop.time()
        late = now - self._due
        # asyncio runs a timer up to its clock resolution early; early is not lag.
        self.ring.add(time.time(), late if late > 0.0 else 0.0)
        self._arm(now)


def summarize(samples: Iterable[tuple[float, float]], since: float, until: float) -> dict:
    """p50, p99 and max lag (ms) of the samples taken from ``since`` to ``until`` (epoch s,
    both included); percentiles by nearest rank, None when no sample falls in the range."""
    lags = sorted(lag for when, lag in samples if since <= when <= until)
    if not lags:
        return {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "samples": len(lags),
        "p50_ms": _ms(_rank(lags, 0.50)),
        "p99_ms": _ms(_rank(lags, 0.99)),
        "max_ms": _ms(lags[-1]),
    }


def _rank(ordered: list[float], q: float) -> float:
    """The nearest-rank q-quantile: the smallest value with at least q of them at or below."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
