"""The results of a run on disk: run.json (the source of truth) and summary.csv.

run.json is a versioned document: the configuration and matrix, the environment metadata
(hoisted, common to every point), and one entry per measured point with its status and the
reasons for it (flags), the /runtime document read inside the container, the window
statistics with their confidence intervals, the container telemetry and the model's
prediction. Version 1 runs (before intervals and flags) still load; what they lack is absent.
It is rewritten atomically after every point, so an interrupted sweep loses nothing it
measured. Rendering (summary.csv, index.html) always starts from this file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.durable import write_atomic
from loadlab.errors import LabError
from loadlab.plan.matrix import Point

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
SUMMARY_COLUMNS = [
    "variant",
    "endpoint",
    "cpus",
    "users",
    "repeat",
    "requests",
    "failures",
    "rps",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "predicted_rps",
    "predicted_mean_ms",
    "status",
    "pool",
    "rps_error_pct",
    "point_id",
    "rps_ci_low",
    "rps_ci_high",
    "mean_ci_low",
    "mean_ci_high",
    "p95_ci_low",
    "p95_ci_high",
    "p90_ms",
    "p999_ms",
    "failure_ratio",
    "little_error_pct",
    "warmup_s",
    "window_s",
    "flags",
    "target_cpu",
    "throttled_pct",
    "throttled_ms",
    "locust_cpu",
]


@dataclass
class PointResult:
    """One point's outcome. ``stats`` and ``prediction`` are plain dicts as stored in run.json."""

    point: Point
    status: str = "pending"
    flags: list[str] = field(default_factory=list)
    error: str | None = None
    runtime: dict | None = None
    stats: dict | None = None
    prediction: dict | None = None
    placement: dict | None = None
    telemetry: dict | None = None
    locust_dir: str | None = None  # relative to the run directory: the Locust run it came from
    started_at: str | None = None
    finished_at: str | None = None

    def to_json(self) -> dict:
        return {**self.point.to_json(), **{k: getattr(self, k) for k in _STORED}}

    @classmethod
    def from_json(cls, data: dict) -> PointResult:
        stored = {k: data[k] for k in _STORED if data.get(k) is not None}
        return cls(Point.from_json(data), **stored)

    def summary_row(self) -> dict:
        s, p = self.stats or {}, self.prediction or {}
        pt = self.point
        error = None
        if s.get("rps") is not None and p.get("rps"):
            error = round((s["rps"] - p["rps"]) / p["rps"] * 100, 2)
        return {
            "variant": pt.variant,
            "endpoint": pt.endpoint,
            "cpus": pt.cpus,
            "users": pt.users,
            "repeat": pt.repeat,
            **{k: s.get(k) for k in SUMMARY_COLUMNS[5:13]},
            "predicted_rps": p.get("rps"),
            "predicted_mean_ms": p.get("mean_ms"),
            "status": self.status,
            "pool": p.get("pool"),
            "rps_error_pct": error,
            "point_id": pt.id,
            **_interval("rps", s.get("rps_ci")),
            **_interval("mean", s.get("mean_ci")),
            **_interval("p95", s.get("p95_ci")),
            **{k: s.get(k) for k in ("p90_ms", "p999_ms", "failure_ratio", "little_error_pct")},
            "warmup_s": s.get("warmup"),
            "window_s": s.get("duration"),
            "flags": "; ".join(self.flags),
            **_telemetry_columns(self.telemetry or {}),
        }


_STORED = ("status", "flags", "error", "runtime", "stats", "prediction", "placement",
           "telemetry", "locust_dir", "started_at", "finished_at")  # fmt: skip


def _telemetry_columns(telemetry: dict) -> dict:
    target = telemetry.get("target") or {}
    workers = [w.get("cpu_cores") for w in (telemetry.get("locust") or {}).values()]
    workers = [w for w in workers if w is not None]
    return {
        "target_cpu": _rounded(target.get("cpu_cores")),
        "throttled_pct": _rounded(target.get("throttled_pct")),
        "throttled_ms": _rounded(target.get("throttled_ms")),
        "locust_cpu": _rounded(max(workers)) if workers else None,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _interval(name: str, ci: list | tuple | None) -> dict:
    low, high = ci if ci else (None, None)
    return {f"{name}_ci_low": low, f"{name}_ci_high": high}


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
