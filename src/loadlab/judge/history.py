"""Every night's per-point results, one JSON object a line, appended to the store.

JSON Lines so a night only ever appends (nothing earlier is rewritten) and a reader needs
nothing but ``json``. Each line is one point of one night: which machine (fingerprint),
the gate's verdict on its key, and the numbers with their 95 % intervals where the run
recorded them. A line's keys are stable; a value that was not measured is null.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.errors import LabError
from loadlab.judge.fingerprint import Fingerprint
from loadlab.judge.keys import Key, key_of
from loadlab.measure.stats import WindowStats
from loadlab.results import PointResult, Run

STATS = ("rps", "rps_ci", "mean_ms", "p95_ms", "p95_ci", "p99_ms", "failure_ratio", "requests")


@dataclass(frozen=True)
class Night:
    """The gate's verdict on one run, per key, as its history lines carry it."""

    outcome: str  # the verdict's: passed, recorded, failed, not-comparable
    reference: str | None = None  # the run judged against
    regressed: dict[Key, str] = field(default_factory=dict)  # key -> "rps 1.25x slower"
    failures: dict[Key, str] = field(default_factory=dict)  # key -> reason
    remeasured: dict[str, PointResult] = field(default_factory=dict)  # point id -> fresh result


def entries(run: Run, fp: Fingerprint, night: Night) -> list[dict]:
    started = run.metadata.get("started_at") or min(
        (r.started_at for r in run.points.values() if r.started_at), default=None
    )
    common = {
        "night": run.run_id,
        "started_at": started,
        "fingerprint": fp.id,
        "machine": fp.label,
        "git_sha": run.metadata.get("git_sha"),
        "outcome": night.outcome,
        "reference": night.reference,
    }
    found = []
    for result in run.points.values():
        key = key_of(result)
        fresh = night.remeasured.get(result.point.id)
        found.append(
            {
                **common,
                "point": result.point.id,
                **key._asdict(),
                "repeat": result.point.repeat,
                "status": result.status,
                **_numbers(result.stats),
                "regressed": night.regressed.get(key),
                "failure": night.failures.get(key),
                "remeasured": _measured(fresh.stats) if fresh and fresh.stats else None,
            }
        )
    return found


def append(path: Path, lines: Iterable[dict]) -> None:
    """Add lines in one write, so a crash cannot leave half a night behind a whole one."""
    text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("a") as f:
            f.write(text)
    except OSError as exc:
        raise LabError(f"cannot append to the history {path}: {exc}") from None


def load(path: Path) -> list[dict]:
    """All lines, oldest first; no file is an empty history."""
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(json.loads(line))
        except ValueError as exc:
            raise LabError(f"{path} line {number} is not JSON: {exc}") from None
    return found


def key(line: dict) -> Key:
    return Key(
        line["variant"], line["endpoint"], float(line["cpus"]), line.get("users"), line.get("rate")
    )


def _numbers(stats: WindowStats | None) -> dict:
    """A window's STATS as a line holds them (intervals as JSON lists); None: not measured."""
    return {name: _plain(getattr(stats, name)) if stats else None for name in STATS}


def _measured(stats: WindowStats) -> dict:
    return {name: value for name, value in _numbers(stats).items() if value is not None}


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
