"""How late the event loop runs a timer: the lag a blocked loop adds to every request on it.

A timer is armed for INTERVAL ahead; when it fires, how late it fired (actual - intended,
never below 0) is recorded with the wall-clock time, and the next timer is armed. A handler
that blocks the loop for 200 ms shows as one sample of about 200 ms; an idle loop reads
under a millisecond (uvloop's timers have millisecond resolution).

Its cost runs inside the CPU quota being measured, so it is one timer callback per interval
(no task, no coroutine, no future) writing three floats into preallocated arrays. Measured on
the lab's 2-core host (Python 3.11, uvloop), idle for 60 s, three times: uvicorn serving an
app directly used 0.08-0.09 CPU-seconds a minute, through the probe 0.38-0.52, so the
monitor costs about 0.3-0.4 CPU-seconds a minute, 0.5-0.7 % of one core (1-1.4 % of a
0.5-CPU quota), the more the busier the host. Nearly all of it is the loop waking 50 times
a second: a timer that only re-arms itself costs 0.26 on a bare uvloop loop, this one 0.30
(0.36 on a busier host, with or without reading the limiter), an asyncio.sleep() loop in a
task 0.38.
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
        self.busy = array("d", bytes(8 * capacity))  # thread-limiter tokens in use then
        self.count = 0  # every sample ever added; the ring holds the last ``capacity``

    def add(self, when: float, lag: float, busy: float = 0.0) -> None:
        i = self.count % self.capacity
        self.times[i] = when
        self.lags[i] = lag
        self.busy[i] = busy
        self.count += 1

    def busy_between(self, since: float, until: float) -> list[float]:
        """The tokens in use at each sample from ``since`` to ``until``."""
        held = min(self.count, self.capacity)
        return [b for w, b in zip(self.times[:held], self.busy[:held], strict=True)
                if since <= w <= until]  # fmt: skip

    def __iter__(self) -> Iterator[tuple[float, float]]:
        held = min(self.count, self.capacity)
        return zip(self.times[:held], self.lags[:held], strict=True)


class Monitor:
    """One timer on one event loop, recording into ``ring``; start on the serving loop."""

    def __init__(self, ring: Ring | None = None, interval: float = INTERVAL) -> None:
        self.ring = Ring() if ring is None else ring
        self.interval = interval
        # What else to read at each tick: the thread limiter's tokens in use (set in start).
        self.limiter: object | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self, loop: asyncio.AbstractEventLoop, limiter: object | None = None) -> None:
        self.stop()
        self._loop = loop
        self.limiter = limiter
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
        busy = self.limiter.borrowed_tokens if self.limiter is not None else 0.0
        self.ring.add(time.time(), late if late > 0.0 else 0.0, busy)
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
