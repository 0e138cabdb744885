"""The open loop for real: a rate the server cannot slow down, below and above its capacity."""

from __future__ import annotations

import json
import math

import pytest

from tests.end_to_end.test_sweep import finish, loadlab

pytestmark = pytest.mark.docker

CAPACITY = 40 / 0.2  # io/sync: anyio's 40 threads, 0.2 s each


@pytest.fixture(scope="module")
def open_run(tmp_path_factory, stack):
    """io/sync on uvicorn (anyio's 40 threads, 0.2 s each: P/S = 200/s) at 100, 150 and 250
    requests a second, uniform arrivals: below, near and past capacity in one sweep."""
    out = tmp_path_factory.mktemp("open")
    args = ["--profile", "open", "--endpoints", "io/sync", "--rates", "100,150,250",
            "--duration", "8", "--out", str(out), "--run-id", "open"]  # fmt: skip
    code, _, err = finish(loadlab("sweep", *args))
    points = json.loads((out / "open" / "run.json").read_text())["points"]
    # Overloaded is a result (exit 0); anything else not ok makes the sweep exit 1.
    assert code == (0 if {p["status"] for p in points} <= {"ok", "overloaded"} else 1), err
    return {"dir": out / "open", "code": code, **{p["rate"]: p for p in points}}


def test_below_capacity_the_throughput_is_the_offered_rate(open_run):
    """At 100 and 150/s the server keeps up: throughput within 2 % of the rate, p50 near S."""
    for rate in (100.0, 150.0):
        stats = open_run[rate]["stats"]
        assert stats["rps"] == pytest.approx(rate, rel=0.02)
        assert stats["p50_ms"] == pytest.approx(200, rel=0.10)
        assert stats["dropped"] == 0


# A virtual CPU that its host stalls for ~10 ms moves one window's p99 send lag past the
# 5 ms rule (seen once in six runs here on 2026-12-01: 9.4 ms, against 0.25-0.29 ms in the
# others); the lab then marks the point harness-bound, as it must. The median send stays
# punctual through such a stall, and a harness that is really late moves it too.
PUNCTUAL_P50_MS = 1.0


def test_sends_leave_on_time_below_capacity(open_run):
    """Where the server keeps up the harness is not the limit: the point is ok, or at worst
    flagged for a p99 send lag alone while its median send left on time."""
    for rate in (100.0, 150.0):
        point = open_run[rate]
        if point["status"] != "ok":
            assert point["status"] == "harness-bound", point["flags"]
            assert all("send lag" in flag for flag in point["flags"]), point["flags"]
        assert point["stats"]["lag_p50_ms"] < PUNCTUAL_P50_MS, point["stats"]


def test_above_capacity_the_backlog_grows_and_latency_climbs(open_run):
    """At 250/s the server completes no more than its capacity and latency explodes."""
    over, under = open_run[250.0]["stats"], open_run[150.0]["stats"]
    assert over["rps"] <= CAPACITY * 1.03 and over["rps"] < 0.9 * 250
    assert over["p99_ms"] > 5 * under["p99_ms"]
    assert open_run[250.0]["prediction"]["method"] == "overload (fluid)"


def test_the_model_takes_the_service_time_measured_on_the_container(open_run):
    """Every point's yardstick took S measured just before on the same container: seven
    answers, none quicker than the 0.2 s asked for (physics), and the model's capacity is the
    pool over that S; the overloaded point says what the server reached next to it."""
    service = {p["prediction"]["service_ms"] for rate in (100.0, 150.0, 250.0)
               for p in [open_run[rate]]}  # fmt: skip
    assert len(service) == 1  # one calibration per container and endpoint: every step shares it
    for rate in (100.0, 150.0, 250.0):
        model = open_run[rate]["prediction"]
        assert len(model["service_samples_ms"]) == 7 and min(model["service_samples_ms"]) >= 200
        assert model["nominal_service_ms"] == 200.0
        assert model["capacity"] == pytest.approx(40 / (model["service_ms"] / 1000), rel=1e-3)
    run = json.loads((open_run["dir"] / "run.json").read_text())
    said = {o["point_id"]: o for o in run["metadata"]["model_error"]["overloads"]}
    assert set(said) == {p["id"] for p in run["points"] if p["status"] == "overloaded"}
    for point_id, over in said.items():
        point = next(p for p in run["points"] if p["id"] == point_id)
        assert over["reached_rps"] == point["stats"]["rps"]
        assert over["capacity_rps"] == point["prediction"]["capacity"]


def test_percentiles_come_from_bounded_histograms(open_run):
    """The worker left interval histograms and no raw samples (SAMPLES=0); every point has
    p50, p90, p99, p99.9, max and the send lag."""
    locust = open_run["dir"] / open_run[100.0]["locust_dir"]
    assert len(list(locust.glob("hist-*.json"))) == 1 and not list(locust.glob("*samples*"))
    for rate in (100.0, 150.0, 250.0):
        keys = {"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "lag_p99_ms"}
        assert keys <= set(open_run[rate]["stats"])


def test_a_sweep_past_capacity_is_overloaded_and_exits_0(open_run):
    """The 250/s step is overloaded, its throughput the capacity it reached and its backlog
    growing; overloaded is a result, so with the two steps below capacity ok the sweep exits
    0. (A step below capacity may be harness-bound for a p99 send lag alone, as the test of
    punctual sends allows: then, and only then, the sweep exits 1.)"""
    assert open_run[250.0]["status"] == "overloaded", open_run[250.0]["flags"]
    over = open_run[250.0]["stats"]
    assert over["rps"] <= CAPACITY * 1.03 and over["backlog_rps"] > 0.03 * 250
    below = {open_run[rate]["status"] for rate in (100.0, 150.0)}
    assert below <= {"ok", "harness-bound"}
    assert open_run["code"] == (0 if below == {"ok"} else 1)


def test_a_cap_on_requests_in_flight_drops_sends_and_never_delays_them(tmp_path, stack):
    """MAX_IN_FLIGHT=5 at 100/s of a 0.2 s endpoint (20 would be in flight): about three in
    four sends are dropped, those sent leave on time, and no more than 5 / S are answered a
    second; a cap that delayed sends instead would drop none and send late. A cap below the
    server's pool (40 threads) set the throughput, not the server: the point is harness-bound
    (never overloaded, which would pass 25/s off as the server's capacity), the sweep exits 1."""
    args = ["--profile", "open", "--variants", "uvicorn-limiter", "--thread-limit", "40",
            "--work-seconds", "0.2", "--endpoints", "io/sync", "--rates", "100",
            "--max-in-flight", "5", "--duration", "8", "--out", str(tmp_path),
            "--run-id", "capped"]  # fmt: skip
    code, _, stderr = finish(loadlab("sweep", *args))
    (point,) = json.loads((tmp_path / "capped" / "run.json").read_text())["points"]
    stats = point["stats"]
    workers = len(list((tmp_path / "capped" / point["locust_dir"]).glob("hist-*.json")))
    cap = math.ceil(5 / workers) * workers  # the cap is shared out per worker, rounded up
    assert stats["dropped"] > 0.5 * stats["offered_rate"] * stats["duration"], stats
    assert stats["rps"] <= cap / 0.2 * 1.05, stats  # physics: cap at a time, 0.2 s each
    assert stats["lag_p50_ms"] < PUNCTUAL_P50_MS, stats  # those sent left when intended
    assert point["status"] == "harness-bound" and code == 1, (point["flags"], stderr)
    assert any(f"in-flight cap of {cap}, below the server's pool of 40" in flag
               for flag in point["flags"]), point["flags"]  # fmt: skip
