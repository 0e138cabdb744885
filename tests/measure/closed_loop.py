"""Synthetic closed-loop traces with known rates: U users, a FIFO pool of P threads, service S."""

from __future__ import annotations

import heapq
import random

from loadlab.measure.samples import Sample


def simulate(users: int, pool: int, service: float, *, gap: float = 0.0005, seconds: float = 30,
             jitter: float = 0.0, t0: float = 1000.0, seed: int = 1,
             ramp: float = 0.0) -> list[Sample]:  # fmt: skip
    """Every user sends at once (the batch case), waits for its answer, sends again after ``gap``.

    Requests queue FIFO for one of ``pool`` threads and hold it ``service`` seconds (times
    1 + uniform(-jitter, jitter)). ``ramp`` spreads the users' first sends over that many seconds.
    Exact throughput in steady state: min(users, pool) / service when pool < users, else
    users / (service + gap) (with jitter, on average).
    """
    rng = random.Random(seed)
    free = [t0] * pool  # when each thread is next free (a min-heap)
    heapq.heapify(free)
    sends = [(t0 + (ramp * i / users if ramp else 0.0), f"u{i}") for i in range(users)]
    heapq.heapify(sends)
    out = []
    while sends:
        sent, user = heapq.heappop(sends)
        if sent > t0 + seconds:
            continue
        thread_free = heapq.heappop(free)
        begin = max(sent, thread_free)
        done = begin + service * (1 + rng.uniform(-jitter, jitter))
        heapq.heappush(free, done)
        out.append(Sample(user, sent, done, (done - sent) * 1000, ""))
        heapq.heappush(sends, (done + gap, user))
    return sorted(out, key=lambda s: s.end)
