"""Synthetic open-loop records: the hist-*.json files Locust's open-loop workers write.

Each worker sends its share of ``rate`` at evenly spaced intended times, sends each request a
little late (a seeded send lag) and gets its answer ``service`` seconds later (times 1 +
uniform(-jitter, jitter)). Files have the workers' format: t0, the slice width
(``offered.INTERVAL``), and per slice its index, counts and three encoded histograms.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from loadlab.shared import histograms, offered

COUNTS = ("sent", "dropped", "ok", "failed", "incomplete")


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
