"""Synthetic open-loop records: the hist-*.json files Locust's open-loop workers write.

Each worker sends its share of ``rate`` at evenly spaced intended times, sends each request a
little late (a seeded send lag) and gets its answer ``service`` seconds later (times 1 +
uniform(-jitter, jitter)). Files have the workers' format: t0, the slice width
(``offered.INTERVAL``), and per slice its index, counts and three encoded histograms.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from pathlib import Path

from loadlab.shared import histograms, offered

COUNTS = ("sent", "dropped", "ok", "failed", "incomplete")
HISTOGRAMS = ("corrected", "uncorrected", "lag")


def write(directory: Path, *, rate: float, service: float, seconds: float, workers: int = 2,
          t0: float = 1000.0, jitter: float = 0.05, fail_every: int = 0,
          seed: int = 1) -> None:  # fmt: skip
    """Write ``workers`` hist-<n>.json files for ``seconds`` of load at ``rate`` a second."""
    directory.mkdir(parents=True, exist_ok=True)
    for worker in range(workers):
        record = _worker(rate / workers, service, seconds, t0, jitter, fail_every,
                         random.Random(seed + worker), offset=worker / rate)  # fmt: skip
        name = f"{offered.HISTOGRAMS_PREFIX}{worker}.json"
        (directory / name).write_text(json.dumps(record))


def _worker(rate: float, service: float, seconds: float, t0: float, jitter: float,
            fail_every: int, rng: random.Random, offset: float) -> dict:  # fmt: skip
    width = offered.INTERVAL
    slices: dict[int, dict] = {}
    errors: dict[str, int] = {}

    def at(when: float) -> dict:
        index = int((when - t0) // width)
        if index not in slices:
            slices[index] = {"index": index, **dict.fromkeys(COUNTS, 0),
                             **{h: histograms.make() for h in ("corrected", "uncorrected",
                                                               "lag")}}  # fmt: skip
        return slices[index]

    n = int(seconds * rate)
    for i in range(n):
        intended = t0 + offset + i / rate
        sent = intended + rng.uniform(0.0001, 0.0008)
        end = sent + service * (1 + rng.uniform(-jitter, jitter))
        at(sent)["sent"] += 1
        histograms.record(at(sent)["lag"], sent - intended)
        done = at(end)
        if fail_every and i % fail_every == 0:
            done["failed"] += 1
            errors["HTTPError: 503"] = errors.get("HTTPError: 503", 0) + 1
            continue
        done["ok"] += 1
        histograms.record(done["corrected"], end - intended)
        histograms.record(done["uncorrected"], end - sent)
    encoded = []
    for index in sorted(slices):
        raw = dict(slices[index])
        for name in ("corrected", "uncorrected", "lag"):
            raw[name] = histograms.encode(raw[name])
        encoded.append(raw)
    return {"t0": t0, "interval": width, "intervals": encoded, "errors": errors}


def write_pool(directory: Path, *, rate: float, threads: int, service: float, seconds: float,
               max_in_flight: int = 1000, workers: int = 2, t0: float = 1000.0,
               jitter: float = 0.05, slowing: float = 0.0, seed: int = 1) -> None:  # fmt: skip
    """Like ``write``, but the answers come from a FIFO pool of ``threads`` threads, each
    request holding one ``service`` seconds (times 1 + uniform(-jitter, jitter), and times
    1 + ``slowing`` per second since t0): above threads / service the queue grows. Each
    worker drops a send while its share of ``max_in_flight`` requests is unanswered, as the
    Locust workers do."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cap = math.ceil(max_in_flight / workers)
    free = [t0] * threads  # when each thread is next free (a min-heap)
    in_flight: list[list[float]] = [[] for _ in range(workers)]  # answer times, min-heaps
    records = [_Slices(t0) for _ in range(workers)]
    for intended, worker in _schedule(rate, seconds, workers, t0):
        mine, slices = in_flight[worker], records[worker]
        sent = intended + rng.uniform(0.0001, 0.0008)
        while mine and mine[0] <= sent:
            heapq.heappop(mine)
        if len(mine) >= cap:
            slices.at(intended)["dropped"] += 1
            continue
        begin = max(sent, heapq.heappop(free))
        held = service * (1 + rng.uniform(-jitter, jitter)) * (1 + slowing * (begin - t0))
        heapq.heappush(free, begin + held)
        heapq.heappush(mine, begin + held)
        slices.sent(intended, sent)
        slices.answered(intended, sent, begin + held)
    for worker, slices in enumerate(records):
        name = f"{offered.HISTOGRAMS_PREFIX}{worker}.json"
        (directory / name).write_text(json.dumps(slices.encoded()))


def _schedule(rate: float, seconds: float, workers: int, t0: float) -> list[tuple[float, int]]:
    """Every intended send (evenly spaced, interleaved across workers) and its worker."""
    return [(t0 + i / rate, i % workers) for i in range(int(seconds * rate))]


class _Slices:
    """One worker's slices, in the workers' format."""

    def __init__(self, t0: float) -> None:
        self.t0, self.slices = t0, {}

    def at(self, when: float) -> dict:
        index = int((when - self.t0) // offered.INTERVAL)
        if index not in self.slices:
            self.slices[index] = {"index": index, **dict.fromkeys(COUNTS, 0),
                                  **{h: histograms.make() for h in HISTOGRAMS}}  # fmt: skip
        return self.slices[index]

    def sent(self, intended: float, sent: float) -> None:
        self.at(sent)["sent"] += 1
        histograms.record(self.at(sent)["lag"], sent - intended)

    def answered(self, intended: float, sent: float, end: float) -> None:
        done = self.at(end)
        done["ok"] += 1
        histograms.record(done["corrected"], end - intended)
        histograms.record(done["uncorrected"], end - sent)

    def encoded(self) -> dict:
        intervals = []
        for index in sorted(self.slices):
            raw = dict(self.slices[index])
            for name in HISTOGRAMS:
                raw[name] = histograms.encode(raw[name])
            intervals.append(raw)
        return {"t0": self.t0, "interval": offered.INTERVAL, "intervals": intervals,
                "errors": {}}  # fmt: skip
