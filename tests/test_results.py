"""run.json read into typed results and written back: both formats, both loops, byte for byte;
summary.csv's columns from one table."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from loadlab.measure.stats import Usage, WindowStats
from loadlab.model.predictions import Prediction
from loadlab.plan.matrix import Point
from loadlab.results import COLUMNS, SUMMARY_COLUMNS, PointResult, Run

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "baseline" / "run.json"  # a real closed-loop run, format 1
POINTS = ROOT / "tests" / "measure" / "fixtures" / "points-v2.json"  # format 2, both loops
# summary.csv's columns as the lab has always written them: their names and order are a contract.
CONTRACT = [
    "variant", "endpoint", "cpus", "users", "repeat", "requests", "failures", "rps", "mean_ms",
    "p50_ms", "p95_ms", "p99_ms", "max_ms", "predicted_rps", "predicted_mean_ms", "status",
    "pool", "rps_error_pct", "point_id", "rps_ci_low", "rps_ci_high", "mean_ci_low",
    "mean_ci_high", "p95_ci_low", "p95_ci_high", "p90_ms", "p999_ms", "failure_ratio",
    "little_error_pct", "warmup_s", "window_s", "flags", "target_cpu", "throttled_pct",
    "throttled_ms", "locust_cpu", "loop_lag_p99_ms", "loop_lag_max_ms",
]  # fmt: skip


def stored(directory: Path) -> list[dict]:
    return json.loads((directory / "run.json").read_text())["points"]


def saved_again(source: Path, tmp_path: Path) -> Path:
    """A copy of the run directory holding ``source``, loaded and saved by this lab."""
    directory = tmp_path / "run"
    directory.mkdir()
    shutil.copy(source, directory / "run.json")
    Run.load(directory).save()
    return directory


@pytest.mark.parametrize("key", ["stats", "prediction"])
def test_the_baseline_keeps_its_stats_and_predictions_byte_for_byte(tmp_path, key):
    """The committed baseline (format 1, closed loop) loaded and saved writes the same bytes."""
    before = json.loads(BASELINE.read_text())["points"]
    after = stored(saved_again(BASELINE, tmp_path))
    assert len(after) == len(before) == 56
    for old, new in zip(before, after, strict=True):
        assert json.dumps(new[key], indent=1) == json.dumps(old[key], indent=1), old["id"]


def test_format_1_keys_it_lacks_read_as_none():
    """A format-1 point has no intervals, flags' inputs or open-loop numbers: all None."""
    first = json.loads(BASELINE.read_text())["points"][0]
    stats = PointResult.from_json(first).stats
    assert stats.rps == 50.0 and stats.warmup == 2 and stats.duration == 6
    assert stats.rps_ci is None and stats.users_seen is None and stats.truncation is None
    assert stats.loop == "closed" and stats.sent_rate is None


def test_a_format_2_run_of_both_loops_round_trips_byte_for_byte(tmp_path):
    """Closed- and open-loop points of format 2 (telemetry, an unbounded pool, an infinite
    capacity) loaded and saved keep every key, value and order."""
    points = list(json.loads(POINTS.read_text()).values())
    matrix = [Point.from_json(p).to_json() for p in points]
    document = {"version": 2, "run_id": "run", "config": {}, "metadata": {}, "matrix": matrix,
                "points": points}  # fmt: skip
    source = tmp_path / "source.json"
    source.write_text(json.dumps(document, indent=1) + "\n")
    again = saved_again(source, tmp_path)
    assert (again / "run.json").read_text() == source.read_text()


def test_typed_fields_come_back_typed():
    """Stats, prediction and telemetry read back as WindowStats, Prediction and Usage."""
    points = json.loads(POINTS.read_text())
    closed = PointResult.from_json(points["uvicorn__io-sync__cpus1__u10__r1"])
    opened = PointResult.from_json(points["uvicorn__io-async__cpus0.5__rate250__r1"])
    assert isinstance(closed.stats, WindowStats) and closed.stats.truncation.turnover > 0
    assert closed.stats.rps_ci == (49.801, 49.894)
    assert closed.prediction == Prediction(40, 50.0, 200.0, cpu_cost_ms=1.2,
                                           cpu_cost_batches_ms=(1.1, 1.2, 1.3))  # fmt: skip
    assert opened.prediction.load == "open" and opened.prediction.pool == math.inf
    assert opened.prediction.capacity == math.inf and opened.prediction.method
    target = opened.telemetry["target"]
    workers = tuple(w["cpu_cores"] for w in opened.telemetry["locust"].values())
    assert opened.usage == Usage(target["cpu_cores"], target["throttled_pct"],
                                 target["throttled_ms"], workers)  # fmt: skip
    assert opened.usage.locust_cpu == max(workers) and len(workers) == 2


def test_a_missing_telemetry_document_is_an_empty_usage():
    """A point without telemetry has no CPU numbers rather than an error."""
    usage = PointResult(Point("uvicorn", "io/sync", 1.0, 10, 1)).usage
    assert usage == Usage() and usage.locust_cpu is None


def test_summary_columns_keep_their_names_and_order():
    """summary.csv's header is the contract's, derived from COLUMNS, each with a doc."""
    assert SUMMARY_COLUMNS == CONTRACT
    assert [c.name for c in COLUMNS] == CONTRACT
    assert all(c.doc and "\n" not in c.doc for c in COLUMNS)


def test_summary_row_of_a_recorded_point():
    """A recorded point's row holds its numbers, the model's, its intervals and CPU use."""
    points = json.loads(POINTS.read_text())
    row = PointResult.from_json(points["uvicorn__io-sync__cpus1__u10__r1"]).summary_row()
    assert list(row) == CONTRACT
    assert (row["rps"], row["predicted_rps"], row["pool"]) == (49.848, 50.0, 40)
    assert row["rps_error_pct"] == round((49.848 - 50.0) / 50.0 * 100, 2)
    assert (row["rps_ci_low"], row["rps_ci_high"]) == (49.801, 49.894)
    assert row["warmup_s"] == 0.203 and row["window_s"] == 19.797 and row["flags"] == ""
    assert row["target_cpu"] == 0.6 and row["locust_cpu"] == 0.3
    unbounded = PointResult.from_json(points["uvicorn__io-async__cpus0.5__rate250__r1"])
    assert unbounded.summary_row()["pool"] == "unbounded"
    assert unbounded.summary_row()["users"] is None


def test_summary_row_of_a_pending_point_is_empty_but_for_the_point():
    """A point never measured has its key and status, and nothing else."""
    row = PointResult(Point("uvicorn", "io/sync", 1.0, 10, 1)).summary_row()
    assert (row["variant"], row["users"], row["status"], row["flags"]) == (
        "uvicorn", 10, "pending", "")  # fmt: skip
    assert row["rps"] is None and row["pool"] is None and row["target_cpu"] is None
