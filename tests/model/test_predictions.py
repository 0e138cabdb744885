"""The yardstick as run.json stores it: each loop's keys, an unbounded pool, the CPU cost."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from loadlab.measure.stats import WindowStats
from loadlab.model.calibration import CpuCost, ServiceTime
from loadlab.model.predictions import CPU_KEYS, SERVICE_KEYS, Prediction, prediction
from loadlab.plan.matrix import Point

RUNTIME = {"workers": 1, "thread_limiter_tokens": 40, "work_seconds": 0.2}
PLAN = SimpleNamespace(arrivals="uniform")
OPEN_KEYS = ["pool", "capacity", "rps", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
             "p999_ms", "method"]  # fmt: skip


def test_a_closed_loop_prediction_holds_pool_rps_and_mean():
    """The closed loop's model writes pool, rps and mean_ms, and nothing else without a cost."""
    found = prediction(Point("uvicorn", "io/sync", 1.0, 80, 1), RUNTIME, None, PLAN, None)
    assert found.to_json() == {"pool": 40, "rps": 200.0, "mean_ms": 400.0}
    assert Prediction.from_json(found.to_json()) == found


def test_the_measured_cpu_cost_is_kept_in_milliseconds():
    """A calibrated cost adds cpu_cost_ms, each batch's cost and the concurrency it was
    measured at, after the model's keys."""
    cost = CpuCost(0.0012, (0.0011, 0.0012, 0.0013), 80)
    found = prediction(Point("uvicorn", "io/sync", 1.0, 80, 1), RUNTIME, None, PLAN, cost)
    stored = found.to_json()
    assert list(stored) == ["pool", "rps", "mean_ms", *CPU_KEYS]
    assert stored["cpu_cost_ms"] == 1.2 and stored["cpu_cost_batches_ms"] == [1.1, 1.2, 1.3]
    assert stored["cpu_cost_streams"] == 80
    assert Prediction.from_json(stored) == found


def test_an_open_loop_prediction_holds_the_open_models_keys():
    """The open loop's model writes its own keys in order; an infinite pool is "unbounded"."""
    window = WindowStats(requests=1, failures=0, rps=1.0, window_start=102.0, window_end=108.0,
                         step_start=100.0)  # fmt: skip
    point = Point("uvicorn", "io/async", 1.0, None, 1, rate=150.0)
    found = prediction(point, RUNTIME, window, PLAN, None)
    stored = found.to_json()
    assert list(stored) == OPEN_KEYS and stored["pool"] == "unbounded"
    assert found.pool == math.inf and found.method == "unbounded pool"
    assert Prediction.from_json(stored) == found and found.load == "open"


def test_no_model_is_a_prediction_of_nothing():
    """A background endpoint has no model: pool, rps and mean_ms are all null."""
    found = prediction(Point("uvicorn", "health", 1.0, 10, 1), RUNTIME, None, PLAN, None)
    assert found.to_json() == {"pool": None, "rps": None, "mean_ms": None}


def test_the_io_models_take_the_measured_service_time_and_keep_the_nominal():
    """With S measured at 0.204 s the closed loop expects 40 / 0.204 a second, not 200, and the
    open loop's M/D/40 (Poisson, 190/s) waits longer than with the nominal 0.2 s: utilisation
    0.969 against 0.95. The samples, their median and the nominal S are stored and read back."""
    service = ServiceTime(0.204, (0.203, 0.204, 0.206))
    closed = prediction(Point("uvicorn", "io/sync", 1.0, 80, 1), RUNTIME, None, PLAN, None,
                        service)  # fmt: skip
    assert closed.rps == round(40 / 0.204, 3)
    assert closed.mean_ms == pytest.approx(80 * 0.204 / 40 * 1000)  # Little: users / rps
    stored = closed.to_json()
    assert list(stored) == ["pool", "rps", "mean_ms", *SERVICE_KEYS]
    assert stored["service_ms"] == 204.0 and stored["service_samples_ms"] == [203.0, 204.0, 206.0]
    assert stored["nominal_service_ms"] == 200.0
    assert Prediction.from_json(stored) == closed
    poisson = SimpleNamespace(arrivals="poisson")
    runtime = {**RUNTIME, "thread_limiter_tokens": 40}
    window = WindowStats(requests=1, failures=0, rps=1.0, window_start=110.0, window_end=170.0,
                         step_start=100.0)  # fmt: skip
    point = Point("uvicorn-limiter", "io/sync", 1.0, None, 1, rate=190.0)
    measured = prediction(point, runtime, window, poisson, None, service)
    nominal = prediction(point, runtime, window, poisson, None)
    assert measured.capacity == pytest.approx(40 / 0.204)
    assert measured.mean_ms > nominal.mean_ms > 200.0
    assert Prediction.from_json(measured.to_json()) == measured
