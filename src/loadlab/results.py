"""The results of a run on disk: run.json (the source of truth) and summary.csv.

run.json is a versioned document: the configuration and matrix, the environment metadata
(hoisted, common to every point), and one entry per measured point with its status and the
reasons for it (flags), the /runtime document read inside the container, the window
statistics with their confidence intervals, the container telemetry and the model's
prediction. Version 1 runs (before intervals and flags) still load; what they lack is absent.
It is rewritten atomically after every point, so an interrupted sweep loses nothing it
measured. Rendering (summary.csv, index.html) always starts from this file.

In memory a point's results are typed (PointResult: WindowStats, Prediction, Usage); on disk
they keep run.json's keys, so a run loaded and saved keeps its numbers byte for byte.
summary.csv's columns are one table, COLUMNS: a name, a one-line doc and how a point gives
the value; SUMMARY_COLUMNS is their names, in the order the file has always had.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.durable import write_atomic
from loadlab.errors import LabError
from loadlab.measure.stats import Usage, WindowStats
from loadlab.measure.status import STATUSES
from loadlab.model.predictions import Prediction
from loadlab.plan.matrix import Point

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


@dataclass
class PointResult:
    """One point's outcome. ``runtime`` is the service's own /runtime document and
    ``placement`` the CPU placement's, both stored as given; ``telemetry`` is the containers'
    summary as stored, read through ``usage``."""

    point: Point
    status: str = "pending"
    flags: list[str] = field(default_factory=list)
    error: str | None = None
    runtime: dict | None = None
    stats: WindowStats | None = None
    prediction: Prediction | None = None
    placement: dict | None = None
    telemetry: dict | None = None
    event_loop: dict | None = None  # the probe's event-loop lag over the window (readiness)
    locust_dir: str | None = None  # relative to the run directory: the Locust run it came from
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def usage(self) -> Usage:
        """What the containers used over the window (empty when nothing was recorded)."""
        return Usage.of(self.telemetry)

    def to_json(self) -> dict:
        stored = {k: getattr(self, k) for k in _STORED}
        for name in ("stats", "prediction"):
            if stored[name] is not None:
                stored[name] = stored[name].to_json()
        if stored["event_loop"] is None:  # runs recorded before the probe read it have none
            del stored["event_loop"]
        return {**self.point.to_json(), **stored}

    @classmethod
    def from_json(cls, data: dict) -> PointResult:
        stored = {k: data[k] for k in _STORED if data.get(k) is not None}
        if "stats" in stored:
            stored["stats"] = WindowStats.from_json(stored["stats"])
        if "prediction" in stored:
            stored["prediction"] = Prediction.from_json(stored["prediction"])
        return cls(Point.from_json(data), **stored)

    def summary_row(self) -> dict:
        """This point's row of summary.csv, one value per column of COLUMNS."""
        return {c.name: c.value(self) for c in COLUMNS}


_STORED = ("status", "flags", "error", "runtime", "stats", "prediction", "placement",
           "telemetry", "event_loop", "locust_dir", "started_at", "finished_at")  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One column of summary.csv: its name, what it holds, and how a point gives it."""

    name: str
    doc: str
    value: Callable[[PointResult], object]


def _stat(name: str) -> Callable[[PointResult], object]:
    return lambda r: getattr(r.stats, name) if r.stats is not None else None


def _predicted(name: str) -> Callable[[PointResult], object]:
    return lambda r: getattr(r.prediction, name) if r.prediction is not None else None


def _bound(name: str, side: int) -> Callable[[PointResult], float | None]:
    def value(r: PointResult) -> float | None:
        ci = getattr(r.stats, name) if r.stats is not None else None
        return ci[side] if ci else None

    return value


def _used(name: str) -> Callable[[PointResult], float | None]:
    return lambda r: _rounded(getattr(r.usage, name))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _model_error(r: PointResult) -> float | None:
    measured, predicted = _stat("rps")(r), _predicted("rps")(r)
    if measured is None or not predicted:
        return None
    return round((measured - predicted) / predicted * 100, 2)


# summary.csv, column by column, in the order it has always had (new columns go last).
COLUMNS = (
    Column("variant", "the target variant (a Compose service: uvicorn, gunicorn...)",
           lambda r: r.point.variant),
    Column("endpoint", "the endpoint measured, e.g. io/sync", lambda r: r.point.endpoint),
    Column("cpus", "the container's CPU limit, in cores", lambda r: r.point.cpus),
    Column("users", "closed loop: concurrent users (empty for the open loop)",
           lambda r: r.point.users),
    Column("repeat", "which repeat of the point, from 1", lambda r: r.point.repeat),
    Column("requests", "requests completed in the window, failed ones included",
           _stat("requests")),
    Column("failures", "requests that failed in the window", _stat("failures")),
    Column("rps", "successful requests a second over the window", _stat("rps")),
    Column("mean_ms", "mean latency, ms (open loop: from the intended send time)",
           _stat("mean_ms")),
    Column("p50_ms", "median latency, ms", _stat("p50_ms")),
    Column("p95_ms", "95th percentile latency, ms", _stat("p95_ms")),
    Column("p99_ms", "99th percentile latency, ms", _stat("p99_ms")),
    Column("max_ms", "the slowest request's latency, ms", _stat("max_ms")),
    Column("predicted_rps", "the model's throughput (empty: no model)", _predicted("rps")),
    Column("predicted_mean_ms", "the model's mean latency, ms", _predicted("mean_ms")),
    Column("status", f"the point's status: {', '.join(STATUSES)}", lambda r: r.status),
    Column("pool", "the model's pool: requests that progress at once, or unbounded",
           lambda r: r.prediction.stored_pool if r.prediction is not None else None),
    Column("rps_error_pct", "(rps - predicted_rps) / predicted_rps, in per cent", _model_error),
    Column("point_id", "the point's stable id, as in run.json", lambda r: r.point.id),
    Column("rps_ci_low", "low end of the throughput's 95 % confidence interval",
           _bound("rps_ci", 0)),
    Column("rps_ci_high", "high end of the throughput's 95 % interval", _bound("rps_ci", 1)),
    Column("mean_ci_low", "low end of the mean latency's 95 % interval", _bound("mean_ci", 0)),
    Column("mean_ci_high", "high end of the mean latency's 95 % interval",
           _bound("mean_ci", 1)),
    Column("p95_ci_low", "low end of the p95 latency's 95 % interval", _bound("p95_ci", 0)),
    Column("p95_ci_high", "high end of the p95 latency's 95 % interval", _bound("p95_ci", 1)),
    Column("p90_ms", "90th percentile latency, ms", _stat("p90_ms")),
    Column("p999_ms", "99.9th percentile latency, ms", _stat("p999_ms")),
    Column("failure_ratio", "failures / requests in the window", _stat("failure_ratio")),
    Column("little_error_pct", "closed loop: (rps - U / mean latency) / (U / mean latency), "
           "in per cent", _stat("little_error_pct")),
    Column("warmup_s", "seconds into the step where the series settled (the detected warmup)",
           _stat("warmup")),
    Column("window_s", "the measured window's length, seconds", _stat("duration")),
    Column("flags", "every reason against the point, separated by '; '",
           lambda r: "; ".join(r.flags)),
    Column("target_cpu", "CPU the target used over the window, in cores", _used("target_cpu")),
    Column("throttled_pct", "share of the target's CFS periods that were throttled, in per "
           "cent", _used("throttled_pct")),
    Column("throttled_ms", "time the target was throttled over the window, ms",
           _used("throttled_ms")),
    Column("locust_cpu", "CPU the busiest Locust worker used, in cores", _used("locust_cpu")),
    Column("loop_lag_p99_ms", "how late the target's event loop woke a timer, p99 over the "
           "window, ms (the worst worker)", lambda r: _lag(r, "p99_ms")),
    Column("loop_lag_max_ms", "the event loop's longest lateness over the window, ms",
           lambda r: _lag(r, "max_ms")),
)  # fmt: skip


def _lag(r: PointResult, key: str) -> float | None:
    return (r.event_loop or {}).get(key)


SUMMARY_COLUMNS = [c.name for c in COLUMNS]


@dataclass
class Run:
    """A run directory and its run.json."""

    directory: Path
    config: dict
    metadata: dict = field(default_factory=dict)
    points: dict[str, PointResult] = field(default_factory=dict)  # by point id, in matrix order

    @property
    def run_id(self) -> str:
        return self.directory.name

    @property
    def path(self) -> Path:
        return self.directory / "run.json"

    def locust_dir(self, point: Point) -> Path:
        """Where the Locust run that measured ``point`` left its files (shared by its steps)."""
        return self.directory / "locust" / point.run_key

    def to_json(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "run_id": self.run_id,
            "config": self.config,
            "metadata": self.metadata,
            "matrix": [r.point.to_json() for r in self.points.values()],
            "points": [r.to_json() for r in self.points.values()],
        }

    def save(self) -> None:
        """Write run.json atomically and durably: a crash or a power cut mid-write never
        leaves a truncated file, and a full disk is a LabError with the old file intact."""
        write_atomic(self.path, json.dumps(self.to_json(), indent=1, default=_json_default) + "\n")

    @classmethod
    def create(cls, directory: Path, config: dict, matrix: list[Point]) -> Run:
        if (directory / "run.json").exists():
            raise LabError(f"{directory} already holds a run; use RESUME={directory} to finish it")
        directory.mkdir(parents=True)
        run = cls(directory, config, points={p.id: PointResult(p) for p in matrix})
        run.save()
        return run

    @classmethod
    def load(cls, directory: Path) -> Run:
        path = directory / "run.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise LabError(f"{directory} is not a run directory (no run.json)") from None
        except ValueError as exc:
            raise LabError(f"{path} is not valid JSON: {exc}") from None
        if data.get("version") not in READABLE_VERSIONS:
            raise LabError(f"{path} has format version {data.get('version')}, "
                           f"this lab reads {READABLE_VERSIONS}")  # fmt: skip
        results = [PointResult.from_json(p) for p in data["points"]]
        return cls(
            directory, data["config"], data.get("metadata", {}), {r.point.id: r for r in results}
        )

    def finished(self) -> list[PointResult]:
        return [r for r in self.points.values() if r.status != "pending"]

    def write_summary(self) -> Path:
        path = self.directory / "summary.csv"
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(_csv_cell(r.summary_row()) for r in self.finished())
        write_atomic(path, text.getvalue())
        return path


def _json_default(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _csv_cell(row: dict) -> dict:
    return {k: "" if v is None else v for k, v in row.items()}


def link_latest(run: Run) -> None:
    """Point reports/latest at this run (a relative symlink, so the tree can be moved)."""
    latest = run.directory.parent / "latest"
    tmp = latest.with_name(".latest.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run.directory.name)
    os.replace(tmp, latest)
