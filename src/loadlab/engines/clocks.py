"""Each engine's clock against the driver's, measured at the start of a run, corrected, bounded.

Samples come from workers on several hosts and step boundaries from the master; a worker
whose clock is ahead by d moves each of its samples d later against the steps. The offset is
measured the way NTP does: the driver notes its clock t0, asks the engine for its own
(the Engine API's /info SystemTime, nanoseconds), notes t1; the engine read its clock within
[t0, t1], so offset = remote - (t0 + t1) / 2 within +-(t1 - t0) / 2, and the probe with the
shortest round trip of several is kept. Every Locust process on that engine then subtracts
the offset from the times it writes (loadlab.shared.clock).

The bound: what is left after the correction is at most the uncertainty, and a clock that is
off at all is suspect of drifting through the run (an undisciplined quartz clock drifts by up
to ~100 ppm, 0.1 s in a 20-minute run). A step boundary that moves by a share f of a window
moves at most that share of its samples in from the next step, so the run is refused when the
offset or its uncertainty exceeds 1 % of the shortest window: 60 ms for 6 s windows, below
the spread of any window's throughput that the lab reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from loadlab.errors import ConfigError

PROBES = 7
WINDOW_SHARE = 0.01  # of the shortest window: the most a step boundary may move

Probe = tuple[float, float, float]  # driver's t0, the engine's clock, driver's t1


@dataclass(frozen=True)
class Offset:
    engine: str
    offset_s: float  # the engine's clock minus the driver's
    uncertainty_s: float  # half the best probe's round trip
    probes: int

    def to_json(self) -> dict:
        return asdict(self)


def estimate(engine: str, probes: Sequence[Probe]) -> Offset:
    """The offset from the probe with the shortest round trip."""
    if not probes:
        raise ValueError("no probe of the clock")
    t0, remote, t1 = min(probes, key=lambda p: p[2] - p[0])
    return Offset(engine, remote - (t0 + t1) / 2, (t1 - t0) / 2, len(probes))


def measure(engine: str, ask: Callable[[], float], probes: int = PROBES) -> Offset:
    """``ask`` returns the engine's clock (epoch seconds); it is called ``probes`` times."""
    seen = []
    for _ in range(probes):
        t0 = time.time()
        remote = ask()
        seen.append((t0, remote, time.time()))
    return estimate(engine, seen)


def of_engine(context: str) -> Offset:
    """The offset of ``context``'s engine, read through its API (/info SystemTime)."""
    from loadlab.stack.engine_stats import Engine, parse_time  # the engine's API client

    engine = Engine(context)
    try:
        engine.get("/info")  # the connection made before the probes: they time one request
        return measure(context, lambda: parse_time(engine.get("/info")["SystemTime"]))
    finally:
        engine.close_connection()


def bound(window_s: float) -> float:
    return WINDOW_SHARE * window_s


def check(offsets: Sequence[Offset], window_s: float) -> None:
    """Refuse a run whose engines' clocks cannot be trusted to the bound."""
    limit = bound(window_s)
    for o in offsets:
        if abs(o.offset_s) > limit or o.uncertainty_s > limit:
            raise ConfigError(f"the clock of engine {o.engine} is {o.offset_s * 1000:+.0f} ms "
                              f"(+-{o.uncertainty_s * 1000:.0f}) from the driver's, over "
                              f"{limit * 1000:.0f} ms (1 % of a {window_s:g} s window): "
                              "synchronise it (NTP) or lengthen DURATION")  # fmt: skip
