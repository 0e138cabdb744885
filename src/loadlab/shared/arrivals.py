"""When an open-loop load generator means to send each request.

In an open loop the send times are fixed in advance and never wait for answers, so a slow
server cannot slow its own load (no coordinated omission): latency is then measured from the
*intended* send time. A total rate R is split across W Locust workers, each sending R / W a
second on its own schedule:

- ``uniform``: evenly spaced 1 / rate apart. Worker i of W starts i / W of a gap late, so the
  union of the workers' schedules is evenly spaced 1 / R apart instead of W requests colliding
  at every tick.
- ``poisson``: exponential gaps (a Poisson process). Independent Poisson processes add up to
  a Poisson process of the summed rate, so each worker only needs its own random stream.

This module runs inside the Locust image too: stdlib only, nothing from loadlab.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

ARRIVALS = ("uniform", "poisson")


def send_times(
    rate: float,
    start: float,
    duration: float | None = None,
    arrivals: str = "uniform",
    rng: random.Random | None = None,
    phase: float = 0.0,
) -> Iterator[float]:
    """Absolute intended send times at ``rate`` a second in [start, start + duration).

    ``duration`` None means endless. ``phase`` in [0, 1) delays a uniform schedule by that
    fraction of one gap; Poisson schedules ignore it (they have no grid to align) and draw
    their gaps from ``rng``, which each worker must own so that workers do not collide.
    """
    if not rate > 0 or math.isinf(rate):
        raise ValueError(f"rate must be a positive number, got {rate!r}")
    if arrivals not in ARRIVALS:
        raise ValueError(f"arrivals must be one of {', '.join(ARRIVALS)}, got {arrivals!r}")
    if not 0 <= phase < 1:
        raise ValueError(f"phase must be in [0, 1), got {phase!r}")
    end = math.inf if duration is None else start + duration
    if arrivals == "uniform":
        return _uniform(rate, start, end, phase)
    return _poisson(rate, start, end, rng or random.Random())


def _uniform(rate: float, start: float, end: float, phase: float) -> Iterator[float]:
    # Each time is computed from its index, not by adding gaps, so float error does not
    # accumulate over a long schedule (a million sends would drift by microseconds).
    k = 0
    while (t := start + (k + phase) / rate) < end:
        yield t
        k += 1


def _poisson(rate: float, start: float, end: float, rng: random.Random) -> Iterator[float]:
    t = start
    while (t := t + rng.expovariate(rate)) < end:
        yield t


def worker_schedule(
    total_rate: float,
    workers: int,
    index: int,
    start: float,
    duration: float | None = None,
    arrivals: str = "uniform",
    seed: int | str = 0,
) -> Iterator[float]:
    """Send times of worker ``index`` (0-based) of ``workers`` sharing ``total_rate``.

    Uniform workers are phase-shifted to interleave; Poisson workers get independent streams
    derived from ``seed`` and their index, so a run is reproducible from its seed.
    """
    if not 0 <= index < workers:
        raise ValueError(f"worker index must be in [0, {workers}), got {index!r}")
    # A string seed is hashed with SHA-512 by random.seed, independent of PYTHONHASHSEED.
    rng = random.Random(f"{seed}:{index}")
    phase = index / workers if arrivals == "uniform" else 0.0
    return send_times(total_rate / workers, start, duration, arrivals, rng, phase)
