"""A step measured end to end on synthetic data: the same numbers, statuses and run.json
entries as the lab wrote before results were typed (fixtures/points-v2.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

from loadlab.errors import PointError
from loadlab.measure import record, samples, window
from loadlab.measure.stats import WindowStats
from loadlab.model import predictions
from loadlab.model.calibration import CpuCost
from loadlab.plan.matrix import Point
from loadlab.results import PointResult
from loadlab.shared.offered import STEPS_FILE, StepTimes
from loadlab.stack.cgroups import Reading

from . import open_loop
from .closed_loop import simulate

FIXTURE = Path(__file__).parent / "fixtures" / "points-v2.json"
RUNTIME = {"workers": 1, "thread_limiter_tokens": 40, "work_seconds": 0.2,
           "limit_concurrency": None}  # fmt: skip
COST = CpuCost(0.0012, (0.0011, 0.0012, 0.0013))


class Sampler:
    """Readings every half second: the target busy 0.6 cores, two workers 0.3 and 0.25."""

    SHARES: ClassVar[dict[str, float]] = {"target": 0.6, "locust-1": 0.3, "locust-2": 0.25}

    def names(self) -> list[str]:
        return list(self.SHARES)

    def series(self, name: str) -> list[Reading]:
        share = self.SHARES[name]
        return [Reading(999.0 + i * 0.5, cpu_usage_s=share * i * 0.5, nr_periods=5 * i,
                        nr_throttled=i, throttled_s=0.01 * i, memory_bytes=50_000_000 + i,
                        pids=3) for i in range(85)]  # fmt: skip

    def limit(self, name: str) -> float | None:
        return 1.0 if name == "target" else None


def plan() -> SimpleNamespace:
    """The settings the window reads: WARMUP 2 s, MAX_FAILURE_RATIO 0.1 %, uniform arrivals."""
    return SimpleNamespace(warmup=2.0, max_failure_ratio=0.001, arrivals="uniform",
                           in_flight_per_worker=1000, locust_workers=1)  # fmt: skip


def as_stored(found: PointResult) -> dict:
    """The point as run.json holds it (JSON has lists where the types have tuples)."""
    return json.loads(json.dumps(found.to_json()))


def result(point: Point, measured: window.Measured, cost: CpuCost | None) -> PointResult:
    """The point's result as the sweep records it."""
    found = PointResult(point, runtime=RUNTIME, stats=measured.stats,
                        telemetry=measured.telemetry, status=measured.status,
                        flags=measured.flags)  # fmt: skip
    found.prediction = predictions.prediction(point, RUNTIME, found.stats, plan(), cost)
    return found


def closed_points() -> list[PointResult]:
    """Two steps of one closed-loop run: 10 users, then 80 users on 40 threads."""
    found = sorted(simulate(10, 40, 0.2, jitter=0.02, seconds=20)
                   + simulate(80, 40, 0.2, jitter=0.02, seconds=20, t0=1020.0, seed=2),
                   key=lambda s: s.end)  # fmt: skip
    steps = [StepTimes(0, 10, 1000.0, 1020.0), StepTimes(1, 80, 1020.0, 1040.0)]
    tel = window.Telemetry(Sampler(), 2)
    out = []
    for users, step in zip((10, 80), steps, strict=True):
        point = Point("uvicorn", "io/sync", 1.0, users, 1)
        measured = window.closed_step(point, RUNTIME, found, step, plan(), tel)
        out.append(result(point, measured, COST))
    return out


def open_points(directory: Path) -> list[PointResult]:
    """150/s with one request in 97 failing, and 250/s to an unbounded pool, with telemetry."""
    open_loop.write(directory / "a", rate=150, service=0.2, seconds=20, fail_every=97)
    point = Point("uvicorn", "io/sync", 1.0, None, 1, rate=150.0)
    measured = window.open_step(point, RUNTIME, record.load(directory / "a", 2),
                                StepTimes(0, 150.0, 1000.0, 1020.0), plan())  # fmt: skip
    out = [result(point, measured, None)]
    open_loop.write(directory / "b", rate=250, service=0.2, seconds=12)
    point = Point("uvicorn", "io/async", 0.5, None, 1, rate=250.0)
    measured = window.open_step(point, RUNTIME, record.load(directory / "b", 2),
                                StepTimes(0, 250.0, 1000.0, 1012.0), plan(),
                                window.Telemetry(Sampler(), 2))  # fmt: skip
    return [*out, result(point, measured, None)]


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(FIXTURE.read_text())


def test_closed_loop_steps_give_the_recorded_points(expected: dict) -> None:
    """Each closed-loop step's stats, telemetry, status and prediction are as recorded."""
    for found in closed_points():
        assert isinstance(found.stats, WindowStats) and found.stats.loop == "closed"
        stored = as_stored(found)
        # Newer than the fixture: p99's interval (for a p99 SLO), around its value.
        ci = stored["stats"].pop("p99_ci", None)
        assert ci is None or ci[0] <= stored["stats"]["p99_ms"] <= ci[1]
        assert stored == expected[found.point.id]


def test_open_loop_steps_give_the_recorded_points(expected: dict, tmp_path: Path) -> None:
    """Each open-loop step's stats, telemetry, status and prediction are as recorded, the
    failing one with its reason."""
    found = open_points(tmp_path)
    for point in found:
        assert point.stats.loop == "open"
        stored = as_stored(point)
        # Newer than the fixture: the median's and p99's intervals, each around its value.
        for key in ("p50", "p99"):
            ci = stored["stats"].pop(f"{key}_ci", None)
            assert ci is None or ci[0] <= stored["stats"][f"{key}_ms"] <= ci[1]
        assert stored == expected[point.point.id]
    assert found[0].status == "failing" and "failure ratio" in found[0].flags[0]


def test_window_statistics_are_written_with_each_loops_keys(expected: dict) -> None:
    """A closed-loop window writes no open-loop key, an open-loop one no closed-loop key."""
    closed = expected["uvicorn__io-sync__cpus1__u10__r1"]["stats"]
    opened = expected["uvicorn__io-sync__cpus1__rate150__r1"]["stats"]
    assert "users_seen" in closed and "sent_rate" not in closed
    assert "sent_rate" in opened and "users_seen" not in opened


@pytest.mark.parametrize("point_id", ["uvicorn__io-sync__cpus1__u80__r1",
                                      "uvicorn__io-async__cpus0.5__rate250__r1"])  # fmt: skip
def test_a_recorded_point_reads_back_and_writes_the_same_bytes(expected: dict,
                                                               point_id: str) -> None:  # fmt: skip
    """A point of run.json read into the typed result and written again is byte-identical."""
    document = expected[point_id]
    again = PointResult.from_json(document).to_json()
    assert json.dumps(again, indent=1) == json.dumps(document, indent=1)


def pool_step(directory: Path, rate: float, seconds: float, **pool) -> window.Measured:
    """One open-loop step of ``seconds`` at ``rate`` on uvicorn-limiter's io/sync, its answers
    from a pool (``open_loop.write_pool``)."""
    open_loop.write_pool(directory, rate=rate, seconds=seconds, **pool)
    point = Point("uvicorn-limiter", "io/sync", 1.0, None, 1, rate=rate)
    step = StepTimes(0, rate, 1000.0, 1000.0 + seconds)
    return window.open_step(point, RUNTIME, record.load(directory, 2), step, plan())


def test_an_open_step_above_capacity_is_overloaded_at_the_capacity_it_reached(tmp_path):
    """250/s offered to 40 threads of 0.215 s (186/s): the in-flight requests grow until the
    cap (1000) drops sends; the step is overloaded, its throughput the 186/s it reached with
    its interval, its backlog growing about 64/s, and run.json keeps both."""
    found = pool_step(tmp_path, 250.0, 24, threads=40, service=0.215)
    stats = found.stats
    assert found.status == "overloaded" and "the backlog grew" in found.flags[0]
    assert stats.rps == pytest.approx(40 / 0.215, rel=0.01)
    assert stats.rps_ci[0] <= stats.rps <= stats.rps_ci[1]
    assert stats.sent_rate > stats.rps and stats.dropped > 0  # in flight grew, then the cap
    assert stats.backlog_rps == pytest.approx(250 - 40 / 0.215, rel=0.05)
    assert stats.backlog_ci[0] <= stats.backlog_rps <= stats.backlog_ci[1]
    stored = as_stored(PointResult(Point("u", "io/sync", 1.0, None, 1, 250.0), stats=stats))
    assert stored["stats"]["backlog_rps"] == stats.backlog_rps
    assert stored["stats"]["backlog_ci"] == list(stats.backlog_ci)
    assert WindowStats.from_json(stored["stats"]) == stats


def test_an_open_step_below_capacity_with_steady_latency_is_ok(tmp_path):
    """150/s on a pool of 200/s keeps up and settles: ok, no flags, and no backlog written."""
    found = pool_step(tmp_path, 150.0, 20, threads=40, service=0.2)
    assert (found.status, found.flags) == ("ok", [])
    assert found.stats.rps == pytest.approx(150, rel=0.01)
    assert "backlog_rps" not in found.stats.to_json()


def test_an_open_step_below_capacity_whose_latency_drifts_is_unsteady(tmp_path):
    """100/s on a pool whose requests slow by 1.5 % a second (capacity 200/s falling to
    154/s) keeps up, but its latency drifts: unsteady, since the lab cannot name why."""
    found = pool_step(tmp_path, 100.0, 20, threads=40, service=0.2, slowing=0.015)
    assert found.status == "unsteady"
    assert found.flags == ["did not settle: its latency still moved after mid-step (measured "
                           "from 2.0 s into the step)"]  # fmt: skip
    assert found.stats.backlog_rps is None


def test_a_closed_loop_step_is_never_overloaded():
    """80 users on 40 threads queue at the pool, but each waits for its answer: the step is
    ok (as recorded), with no backlog."""
    saturated = closed_points()[1]
    assert (saturated.point.users, saturated.status) == (80, "ok")
    assert saturated.stats.backlog_rps is None


# Crafted closed loops: every time is a multiple of 1/16 s, so each sum below is exact.
CYCLE = 0.125  # each request holds the server 125 ms, and its user sends again at once
FAST = {"workers": 1, "thread_limiter_tokens": 100, "work_seconds": CYCLE,
        "limit_concurrency": None}  # fmt: skip


def loop(user: str, first: float, until: float, error_every: int = 0) -> list[samples.Sample]:
    """One user's back-to-back requests of CYCLE seconds, the first sent at ``first``; every
    ``error_every``-th answer is a 503."""
    out, sent, n = [], first, 0
    while sent < until:
        n += 1
        error = "HTTPError: 503" if error_every and n % error_every == 0 else ""
        out.append(samples.Sample(user, sent, sent + CYCLE, CYCLE * 1000, error))
        sent += CYCLE
    return out


def crowd(users: int, until: float = 1020.0, **kwargs) -> list[samples.Sample]:
    """``users`` users in step, their answers spread evenly over each half second."""
    return [s for i in range(users) for s in loop(f"u{i}", 999.9375, until, **kwargs)]


def closed(found: list[samples.Sample], *, users: int, step: StepTimes | None = None,
           runtime: dict = FAST, tel: window.Telemetry | None = None,
           **settings) -> window.Measured:  # fmt: skip
    """One closed-loop step of uvicorn's io/sync over ``found``, by default 20 s from t=1000."""
    point = Point("uvicorn", "io/sync", 1.0, users, 1)
    return window.closed_step(point, runtime, sorted(found, key=lambda s: s.end),
                              step or StepTimes(0, users, 1000.0, 1020.0),
                              SimpleNamespace(**{**vars(plan()), **settings}), tel)  # fmt: skip


def test_a_clean_crafted_closed_step_is_ok_from_its_first_cycle():
    """40 users on a pool of 100 at 125 ms a request: settled once every user completed a
    request sent in the step (0.1875 s in), ok, measured from there at 320/s."""
    found = closed(crowd(40), users=40)
    assert (found.status, found.flags) == ("ok", [])
    assert found.stats.window_start == 1000.1875 and found.stats.rps == 320.0


def test_slow_requests_may_take_two_of_their_cycles_to_settle():
    """With requests of 1.23456 s the budget is two measured cycles (2.469 s, to the
    millisecond), beyond WARMUP's 1 s: a step that turned over after one cycle settled."""
    found = window.closed_step(Point("uvicorn", "io/sync", 1.0, 5, 1), RUNTIME,
                               simulate(5, 10, 1.23456, seconds=20),
                               StepTimes(0, 5, 1000.0, 1020.0),
                               SimpleNamespace(**{**vars(plan()), "warmup": 1.0}))  # fmt: skip
    assert found.stats.settle_budget == 2.469
    assert found.stats.warmup == 1.235 and (found.status, found.flags) == ("ok", [])


def test_a_step_without_an_answer_has_warmup_as_its_budget():
    """No request succeeded, so there is no cycle to wait for: the budget is WARMUP itself,
    even a WARMUP of 0."""
    found = closed(crowd(4, error_every=1), users=4, warmup=0.0)
    assert found.stats.settle_budget == 0.0 and found.status == "failing"


def test_a_step_that_settles_exactly_at_its_budget_has_settled():
    """A user who joins late completes its first request exactly 2 s (WARMUP) into the step:
    the step settled within its budget, not past it."""
    late = loop("late", 1001.875, 1020.0)
    found = closed(crowd(40) + late, users=41)
    assert found.stats.truncation.turnover == 2.0 and found.stats.settle_budget == 2.0
    assert (found.status, found.flags) == ("ok", [])
    assert found.stats.window_start == 1002.0


@pytest.mark.parametrize(("joins", "window_start"), [(1018.375, 1018.5), (1018.875, 1002.0)])
def test_a_late_settling_step_is_measured_from_its_settling_while_a_second_is_left(
    joins: float, window_start: float
) -> None:
    """A user who joins late makes the step settle past its budget (unsteady): 18.5 s into
    its 20 s, it is measured from there; 19 s in, with no more than a second left, from WARMUP."""
    found = closed(crowd(40) + loop("late", joins, 1020.0), users=41)
    assert found.stats.window_start == window_start
    assert found.status == "unsteady" and found.flags[0].startswith("settled after")


@pytest.mark.parametrize(
    ("step", "window_start"),
    [(StepTimes(0, 40, 1000.0, 1003.0), 1001.5), (StepTimes(0, 40, 1000.0, 1020.0), 1002.0)],
)
def test_a_step_that_never_settles_is_measured_from_warmup_or_half_the_step(step, window_start):
    """A 41st user whose only answer came from a request sent before the step never turned
    over: the step is unsteady and measured from WARMUP (2 s), or from half of a 3 s step."""
    stuck = samples.Sample("stuck", 999.0, 1000.5, 1500.0, "")
    found = closed([*crowd(40, until=step.end), stuck], users=40, step=step)
    assert found.stats.window_start == window_start
    assert found.status == "unsteady" and "some user never completed" in found.flags[0]


class BusySampler(Sampler):
    """Like ``Sampler``, with the target and two Locust workers at the cores given."""

    def __init__(self, target: float, *workers: float) -> None:
        self.shares = {"target": target} | {f"locust-{i}": w for i, w in enumerate(workers, 1)}

    def names(self) -> list[str]:
        return list(self.shares)

    def series(self, name: str) -> list[Reading]:
        share = self.shares[name]
        return [Reading(999.0 + i * 0.5, cpu_usage_s=share * i * 0.5, nr_periods=5 * i,
                        nr_throttled=0, throttled_s=0.0, memory_bytes=1, pids=3)
                for i in range(50)]  # fmt: skip


def test_a_closed_step_whose_locust_worker_was_busy_is_harness_bound():
    """A Locust worker at 95 % of its core over the window set the pace, not the target; at
    half a core each the same step is ok."""
    busy = closed(crowd(40), users=40, tel=window.Telemetry(BusySampler(0.6, 0.95, 0.5), 2))
    assert busy.status == "harness-bound"
    assert busy.flags == ["a Locust worker used 95% of its CPU"]
    calm = closed(crowd(40), users=40, tel=window.Telemetry(BusySampler(0.6, 0.5, 0.5), 2))
    assert (calm.status, calm.flags) == ("ok", [])
    assert calm.telemetry["locust"]["locust-1"]["cpu_cores"] == 0.5


def test_a_load_generator_is_as_busy_as_its_busiest_worker_or_its_whole_cpuset():
    """One worker against the one core a Python process uses, or all of them against their
    cpuset's cores, whichever is busier; no worker read, no share."""
    summary = {"locust": {"locust-1": {"cpu_cores": 0.6}, "locust-2": {"cpu_cores": 0.5}}}
    assert window.Telemetry(Sampler(), 2).locust_share(summary) == 0.6
    assert window.Telemetry(Sampler(), 1).locust_share(summary) == pytest.approx(1.1)
    assert window.Telemetry(Sampler(), 2).locust_share({"locust": {}}) is None


def test_a_closed_step_above_the_pools_ceiling_fails():
    """320/s from a pool of 20 threads sleeping 125 ms (at most 160/s) breaks physics: the
    point fails."""
    found = closed(crowd(40), users=40, runtime={**FAST, "thread_limiter_tokens": 20})
    assert found.status == "failed"
    assert found.flags == ["320 rps exceeds the pool's ceiling P/S = 160"]


def test_a_shedding_variants_503s_are_no_failure_of_its_closed_step():
    """One answer in ten a 503: a variant that sheds (--limit-concurrency) meant it, a
    variant that does not is failing."""
    found = crowd(40, error_every=10)
    shed = closed(found, users=40, runtime={**FAST, "limit_concurrency": 50})
    assert (shed.status, shed.flags) == ("ok", [])
    plain = closed(found, users=40)
    assert plain.status == "failing" and "MAX_FAILURE_RATIO" in plain.flags[0]


def test_an_open_step_held_back_by_a_cap_below_the_pool_is_harness_bound(tmp_path):
    """60/s offered with 6 requests in flight at most (3 per worker) against a pool of 40:
    the server never had 40 requests to work on, so the cap, not it, set the throughput."""
    open_loop.write_pool(tmp_path, rate=60, threads=40, service=0.2, seconds=12,
                         max_in_flight=6)  # fmt: skip
    point = Point("uvicorn", "io/sync", 1.0, None, 1, rate=60.0)
    found = window.open_step(point, RUNTIME, record.load(tmp_path, 2),
                             StepTimes(0, 60.0, 1000.0, 1012.0),
                             SimpleNamespace(**{**vars(plan()), "in_flight_per_worker": 3,
                                                "locust_workers": 2}))  # fmt: skip
    assert found.status == "harness-bound" and "the backlog grew" in found.flags[0]
    assert found.flags[1].startswith("362 sends dropped at the in-flight cap of 6, below "
                                     "the server's pool of 40")  # fmt: skip
    assert found.stats.backlog_rps is not None


@pytest.mark.parametrize(
    ("endpoint", "runtime", "pool", "ceiling"),
    [("io/sync", RUNTIME, 40, 200.0),
     ("io/sync", {**RUNTIME, "workers": 2, "limit_concurrency": 15}, 30, 150.0),
     ("io/async", RUNTIME, math.inf, None),
     ("io/sync", {**RUNTIME, "work_seconds": None}, 40, None),
     ("io/sync", {**RUNTIME, "work_seconds": 0}, 40, None),
     ("cpu/sync", RUNTIME, None, None),
     ("orders/{id}", RUNTIME, None, None)],
)  # fmt: skip
def test_the_pool_and_its_ceiling_are_known_for_the_demos_io_endpoints_only(
    endpoint, runtime, pool, ceiling
):
    """P is the threads (or --limit-concurrency) of a demo I/O endpoint, unbounded for
    async; P / S needs a bounded pool and a sleep; a CPU endpoint or a user's has neither."""
    assert window.pool_of(endpoint, runtime) == pool
    assert window.pool_ceiling(endpoint, runtime) == ceiling


def test_the_in_flight_cap_is_every_workers_share_in_an_open_loop_only():
    """Three workers of 334 in flight each may hold 1002; a closed loop has no cap."""
    settings = SimpleNamespace(in_flight_per_worker=334, locust_workers=3)
    assert window.in_flight_cap(Point("u", "io/sync", 1.0, None, 1, 100.0), settings) == 1002
    assert window.in_flight_cap(Point("u", "io/sync", 1.0, 10, 1), settings) is None


def write_samples(directory: Path, worker: int, rows: list[samples.Sample]) -> None:
    """One worker's samples-<n>.csv, in the Locust workers' format."""
    lines = ["user,start_time,end_time,response_ms,error"]
    lines += [f"{s.user},{s.start},{s.end},{s.response_ms},{s.error}" for s in rows]
    (directory / f"samples-{worker}.csv").write_text("\n".join(lines) + "\n")


def test_every_workers_samples_are_loaded_in_completion_order(tmp_path):
    """Two workers' samples come back as one list, sorted by when each answer arrived."""
    write_samples(tmp_path, 0, [samples.Sample("a", 1.0, 3.0, 2000.0, "")])
    write_samples(tmp_path, 1, [samples.Sample("b", 1.5, 2.0, 500.0, "HTTPError: 503")])
    found = window.load_closed(tmp_path, 2)
    assert [(s.user, s.end, s.ok) for s in found] == [("b", 2.0, False), ("a", 3.0, True)]


def test_a_worker_that_wrote_no_samples_fails_the_points(tmp_path):
    """One of two workers wrote its samples: the run is incomplete, and the error says so."""
    write_samples(tmp_path, 0, [samples.Sample("a", 1.0, 3.0, 2000.0, "")])
    with pytest.raises(PointError, match=r"^samples incomplete: 1 of 2 Locust workers wrote "
                                         r"them$"):  # fmt: skip
        window.load_closed(tmp_path, 2)


def test_the_step_times_are_read_as_the_master_recorded_them(tmp_path):
    """steps.json gives when each step really began and ended."""
    times = [StepTimes(0, 10, 1000.0, 1020.5), StepTimes(1, 20, 1020.5, 1040.0)]
    (tmp_path / STEPS_FILE).write_text(json.dumps([t.to_json() for t in times]))
    assert window.step_times(tmp_path, 2) == times


def test_missing_or_short_step_times_fail_the_run(tmp_path):
    """No steps.json, or fewer steps than planned, is an error that says which, and where to
    look for why."""
    with pytest.raises(PointError, match=r"^Locust recorded no step times: .*steps\.json"):
        window.step_times(tmp_path, 2)
    (tmp_path / STEPS_FILE).write_text(json.dumps([StepTimes(0, 10, 1.0, 2.0).to_json()]))
    with pytest.raises(PointError) as raised:
        window.step_times(tmp_path, 2)
    assert str(raised.value) == f"Locust ran 1 of 2 steps; see {tmp_path / 'locust.log'}"
