"""The results of a run on disk: run.json (the source of truth) and summary.csv.

run.json is a versioned document: the configuration and matrix, the environment metadata
(hoisted, common to every point), and one entry per measured point with the /runtime
document read inside the container, the window statistics and the model's prediction.
It is rewritten atomically after every point, so an interrupted sweep loses nothing it
measured. Rendering (summary.csv, index.html) always starts from this file.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabError
from .matrix import Point

FORMAT_VERSION = 1
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
]
STATUSES = ("ok", "failed", "pending")


@dataclass
class PointResult:
    """One point's outcome. ``stats`` and ``prediction`` are plain dicts as stored in run.json."""

    point: Point
    status: str = "pending"
    error: str | None = None
    runtime: dict | None = None
    stats: dict | None = None
    prediction: dict | None = None
    placement: dict | None = None
    started_at: str | None = None
    finished_at: str | None = None

    def to_json(self) -> dict:
        return {
            **self.point.to_json(),
            "status": self.status,
            "error": self.error,
            "runtime": self.runtime,
            "stats": self.stats,
            "prediction": self.prediction,
            "placement": self.placement,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_json(cls, data: dict) -> PointResult:
        keys = (
            "status",
            "error",
            "runtime",
            "stats",
            "prediction",
            "placement",
            "started_at",
            "finished_at",
        )
        return cls(Point.from_json(data), **{k: data.get(k) for k in keys})

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
        }


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

    def point_dir(self, point: Point) -> Path:
        return self.directory / "points" / point.id

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
        """Write run.json atomically: a crash mid-write never leaves a truncated file."""
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, default=_json_default) + "\n")
        os.replace(tmp, self.path)

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
        if data.get("version") != FORMAT_VERSION:
            raise LabError(f"{path} has format version {data.get('version')}, expected 1")
        results = [PointResult.from_json(p) for p in data["points"]]
        return cls(
            directory, data["config"], data.get("metadata", {}), {r.point.id: r for r in results}
        )

    def finished(self) -> list[PointResult]:
        return [r for r in self.points.values() if r.status != "pending"]

    def write_summary(self) -> Path:
        path = self.directory / "summary.csv"
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, SUMMARY_COLUMNS)
            writer.writeheader()
            writer.writerows(_csv_cell(r.summary_row()) for r in self.finished())
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
