"""Model error per series kind and per series, on small runs built from real PointResults:
an unsteady point left out, a CPU series whose error grows with users, an open-loop Poisson
run judged on its mean latency, and work no model covers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadlab.judge import model_error
from loadlab.measure.stats import WindowStats
from loadlab.model.predictions import Prediction
from loadlab.plan.matrix import Point
from loadlab.results import Run

CPU = "uvicorn-workers"


def stats(rps: float, mean_ms: float = 100.0) -> WindowStats:
    return WindowStats(requests=int(rps * 10), failures=0, rps=rps, mean_ms=mean_ms,
                       p50_ms=mean_ms, p95_ms=mean_ms * 1.2, p99_ms=mean_ms * 1.5,
                       max_ms=mean_ms * 2)  # fmt: skip


def closed_run(directory: Path) -> Run:
    """cpu/sync 3 % below its model at 10 users, 6 % at 40, 10 % at 80, unsteady at 120; io/sync
    within 1 % at 10 and 80; a background endpoint no model covers."""
    cases = {
        Point(CPU, "cpu/sync", 1.0, 10, 1): ("ok", 97.0, 100.0),
        Point(CPU, "cpu/sync", 1.0, 40, 1): ("ok", 94.0, 100.0),
        Point(CPU, "cpu/sync", 1.0, 80, 1): ("ok", 90.0, 100.0),
        Point(CPU, "cpu/sync", 1.0, 120, 1): ("unsteady", 50.0, 100.0),
        Point("uvicorn", "io/sync", 1.0, 10, 1): ("ok", 49.5, 50.0),
        Point("uvicorn", "io/sync", 1.0, 80, 1): ("ok", 200.8, 200.0),
        Point("uvicorn", "io/sync", 1.0, 120, 1): ("ok", 200.0, None),  # no model
        Point("uvicorn", "background/sync", 1.0, 10, 1): ("ok", 50.0, None),
    }
    run = Run.create(directory, {"profile": "test", "resolved": {"load": "closed"}}, list(cases))
    for point, (status, rps, predicted) in cases.items():
        result = run.points[point.id]
        result.status, result.stats = status, stats(rps)
        result.prediction = Prediction(pool=2, rps=predicted, mean_ms=None)
    return run


def open_run(directory: Path, arrivals: str = "poisson") -> Run:
    """The issue's M/D/40 points: 203.7 ms against 200.7 at 150/s, 275 against 234 at 190/s;
    overloaded at 250/s."""
    cases = {150.0: ("ok", 150.0, 203.7, 200.7), 190.0: ("ok", 189.0, 275.0, 234.0),
             250.0: ("overloaded", 198.0, 900.0, 800.0)}  # fmt: skip
    matrix = [Point("uvicorn-limiter", "io/sync", 1.0, None, 1, rate) for rate in cases]
    config = {"load": "open", "arrivals": arrivals,
              "resolved": {"load": "open", "arrivals": arrivals}}  # fmt: skip
    run = Run.create(directory, config, matrix)
    for point in matrix:
        status, rps, mean, predicted = cases[point.rate]
        result = run.points[point.id]
        result.status, result.stats = status, stats(rps, mean)
        result.prediction = Prediction(pool=40, rps=min(point.rate, 200.0), mean_ms=predicted,
                                       load="open", capacity=200.0, method="M/D/c")  # fmt: skip
    return run


def by_kind(run: Run) -> dict[tuple[str, str], model_error.KindError]:
    return {(k.kind, k.metric): k for k in model_error.kinds(run)}


def test_closed_cpu_worst_and_median_leave_the_unsteady_point_out(tmp_path):
    run = closed_run(tmp_path / "closed")
    cpu = by_kind(run)[("closed CPU", "rps")]
    assert (cpu.points, cpu.median_pct, cpu.worst_pct) == (3, -6.0, -10.0)
    assert cpu.worst_point == Point(CPU, "cpu/sync", 1.0, 80, 1).id
    assert cpu.left_out == {"unsteady": 1}


def test_closed_io_counts_a_point_without_a_model_as_left_out(tmp_path):
    io = by_kind(closed_run(tmp_path / "closed"))[("closed I/O", "rps")]
    assert (io.points, io.worst_pct, io.left_out) == (2, -1.0, {"no model": 1})
    assert io.median_pct == pytest.approx((-1.0 + 0.4) / 2)


def test_work_no_model_covers_belongs_to_no_kind(tmp_path):
    run = closed_run(tmp_path / "closed")
    background = next(r for r in run.points.values() if r.point.endpoint == "background/sync")
    assert model_error.kind_of(run, background) is None
    assert set(by_kind(run)) == {("closed CPU", "rps"), ("closed I/O", "rps")}
    assert [s.endpoint for s in model_error.series(run)] == ["cpu/sync", "io/sync"]


def test_a_series_whose_error_grows_with_users_says_where_it_parts(tmp_path):
    cpu, io = model_error.series(closed_run(tmp_path / "closed"))
    assert (cpu.parts_at, cpu.low_pct, cpu.high_pct, cpu.points) == (40, -10.0, -3.0, 3)
    assert cpu.sentence == (
        "uvicorn-workers cpu/sync: the measured throughput is below the "
        "model by 6.0-10.0 % from 40 users on (within 3.0 % at 10 users)"
    )
    assert io.parts_at is None
    assert io.sentence == ("uvicorn io/sync: the model is within 1.0 % of the measured "
                           "throughput at every level (10-80 users)")  # fmt: skip


def test_open_poisson_is_judged_on_its_mean_latency_and_throughput(tmp_path):
    run = open_run(tmp_path / "open")
    kinds = by_kind(run)
    assert set(kinds) == {("open Poisson", "mean_ms"), ("open Poisson", "rps")}
    mean = kinds[("open Poisson", "mean_ms")]
    assert (mean.points, mean.worst_pct, mean.left_out) == (2, 17.52, {"overloaded": 1})
    assert mean.median_pct == pytest.approx((1.49 + 17.52) / 2, abs=0.01)
    assert mean.worst_point == "uvicorn-limiter__io-sync__cpus1__rate190__r1"
    assert kinds[("open Poisson", "rps")].worst_pct == pytest.approx(-0.53, abs=0.01)
    (series,) = model_error.series(run)
    assert series.metric == "mean_ms" and series.parts_at == 190
    assert series.sentence == (
        "uvicorn-limiter io/sync: the measured mean latency is above the "
        "model by 17.5 % from 190/s on (within 1.5 % at 150/s)"
    )


def test_uniform_arrivals_are_their_own_kind(tmp_path):
    run = open_run(tmp_path / "open", arrivals="uniform")
    assert {k.kind for k in model_error.kinds(run)} == {"open uniform"}


def test_the_summary_is_json_and_the_lines_name_the_worst_point(tmp_path):
    run = closed_run(tmp_path / "closed")
    stored = json.loads(json.dumps(model_error.summary(run)))
    assert [k["kind"] for k in stored["kinds"]] == ["closed I/O", "closed CPU"]
    assert stored["series"][0]["parts_at"] == 40
    assert model_error.lines(run)[1] == (
        "model error: closed CPU median -6.0 %, worst -10.0 % (uvicorn-workers cpu/sync cpus=1 "
        "users=80), 3 points (1 left out: 1 unsteady)"
    )
    assert model_error.lines(open_run(tmp_path / "open"))[0].startswith(
        "model error: open Poisson mean latency median +9.5 %, worst +17.5 % (uvicorn-limiter "
        "io/sync cpus=1 rate=190), 2 points (1 left out: 1 overloaded)"
    )


def test_a_kind_without_a_trusted_point_says_so(tmp_path):
    run = closed_run(tmp_path / "closed")
    for r in run.points.values():
        r.status = "unsteady" if r.point.endpoint == "cpu/sync" else r.status
    cpu = by_kind(run)[("closed CPU", "rps")]
    assert (cpu.points, cpu.median_pct, cpu.worst_point) == (0, None, None)
    assert (
        "closed CPU: no trusted point with a model (4 left out: 4 unsteady)"
        in (model_error.lines(run)[1])
    )
    assert model_error.series(run)[0].sentence == (
        "uvicorn-workers cpu/sync: no trusted point with a model (4 unsteady)"
    )


def test_each_measured_input_is_listed_once_with_its_spread_and_when(tmp_path):
    """Two repeats sharing a CPU cost at 10 streams are one calibration of two points; another
    concurrency is another; an I/O service time keeps the time asked for; no model, no row."""
    from loadlab.model.calibration import CpuCost, ServiceTime
    from loadlab.model.predictions import prediction

    plan = type("Plan", (), {"arrivals": "uniform"})
    runtime = {"workers": 2, "thread_limiter_tokens": 40, "work_seconds": 0.1}
    cost10, cost80 = CpuCost(0.010, (0.009, 0.010, 0.012), 10), CpuCost(0.011, (0.011,), 80)
    cases = {
        Point(CPU, "cpu/sync", 1.0, 10, 1): cost10,
        Point(CPU, "cpu/sync", 1.0, 10, 2): cost10,
        Point(CPU, "cpu/sync", 1.0, 80, 1): cost80,
        Point("uvicorn", "io/sync", 1.0, 10, 1): ServiceTime(0.1016, (0.1012, 0.1016, 0.1030)),
        Point("uvicorn", "background/sync", 1.0, 10, 1): None,
    }
    run = Run.create(tmp_path / "r", {"resolved": {"load": "closed"}}, list(cases))
    for i, (point, measured) in enumerate(cases.items()):
        result = run.points[point.id]
        result.started_at = f"2026-12-01T20:0{i}:00Z"
        cpu = measured if isinstance(measured, CpuCost) else None
        service = measured if isinstance(measured, ServiceTime) else None
        result.prediction = prediction(point, runtime, None, plan, cpu, service)
    ten, eighty, io = model_error.calibrations(run)
    assert (ten.what, ten.streams, ten.points, ten.median_ms) == ("CPU a request", 10, 2, 10.0)
    assert ten.measured_at == "2026-12-01T20:00:00Z" and ten.samples == 3
    assert ten.spread_pct == pytest.approx(30.0)  # 9-12 ms over 10
    assert (eighty.streams, eighty.points, eighty.spread_pct) == (80, 1, 0.0)
    assert (io.what, io.median_ms, io.nominal_ms, io.streams) == (
        "service time",
        101.6,
        100.0,
        None,
    )
    assert io.low_ms == 101.2 and io.high_ms == 103.0


def test_an_overloaded_point_shows_what_the_server_reached_next_to_p_over_s(tmp_path):
    """At 250/s the server reached 198/s against the model's 200/s: one sentence with the
    gap, in the summary and the lines; the points below capacity have none."""
    run = open_run(tmp_path / "open")
    (over,) = model_error.overloads(run)
    assert (over.reached_rps, over.capacity_rps, over.gap_pct) == (198.0, 200.0, -1.0)
    assert over.sentence == (
        "uvicorn-limiter io/sync cpus=1 rate=250: overloaded, the server reached 198.0/s "
        "against P/S = 200.0/s (-1.0 %)"
    )
    assert model_error.lines(run)[-1] == f"model capacity: {over.sentence}"
    assert json.loads(json.dumps(model_error.summary(run)))["overloads"][0]["gap_pct"] == -1.0
    assert model_error.overloads(closed_run(tmp_path / "closed")) == []


def one_series(directory: Path, measured: dict, *, load: str = "closed", predicted: float = 100.0,
               statuses: dict | None = None) -> Run:  # fmt: skip
    """One series whose model predicts ``predicted`` at every level: the closed loop's
    throughput (cpu/sync, levels are users) or the open loop's mean latency (io/sync under
    uniform arrivals, levels are rates, the throughput on the model)."""
    if load == "closed":
        matrix = [Point(CPU, "cpu/sync", 1.0, level, 1) for level in measured]
    else:
        matrix = [Point("uvicorn-limiter", "io/sync", 1.0, None, 1, level) for level in measured]
    run = Run.create(directory, {"resolved": {"load": load, "arrivals": "uniform"}}, matrix)
    for point in matrix:
        result, value = run.points[point.id], measured[point.level]
        result.status = (statuses or {}).get(point.level, "ok")
        if load == "closed":
            result.stats = stats(value)
            result.prediction = Prediction(pool=2, rps=predicted, mean_ms=None)
        else:
            result.stats = stats(point.rate, value)
            result.prediction = Prediction(pool=40, rps=point.rate, mean_ms=predicted,
                                           load="open", capacity=400.0)  # fmt: skip
    return run


@pytest.mark.parametrize(
    ("measured", "part"),
    [
        ({10: 99.0, 40: 92.0, 80: 100.0}, "is off the model by -8.0 to +0.0 %"),
        ({10: 99.0, 40: 92.0, 80: 100.5}, "is off the model by -8.0 to +0.5 %"),
        ({10: 101.0, 40: 108.0, 80: 100.0}, "is off the model by +0.0 to +8.0 %"),
        ({10: 101.0, 40: 108.0, 80: 100.5}, "is above the model by 0.5-8.0 %"),
    ],
)
def test_a_series_is_below_or_above_the_model_only_if_every_point_past_the_parting_is(
    tmp_path, measured, part
):
    """A point on the model (0 %) or on the other side of it, however close, past where the
    series parts makes the series 'off' the model, not below or above it."""
    (found,) = model_error.series(one_series(tmp_path / "r", measured))
    assert found.sentence == (
        f"uvicorn-workers cpu/sync: the measured throughput {part} from 40 users on "
        "(within 1.0 % at 10 users)"
    )


def test_an_error_of_exactly_parts_pct_is_not_yet_parting(tmp_path):
    """5.0 % is within PARTS_PCT: the series parts where the error first exceeds it, and the
    levels before are summed up as 'below' the parting level when there are several."""
    (found,) = model_error.series(one_series(tmp_path / "r", {10: 95.0, 40: 105.0, 80: 91.0}))
    assert (found.variant, found.endpoint, found.kind, found.metric) == (
        CPU, "cpu/sync", "closed CPU", "rps",
    )  # fmt: skip
    assert (found.parts_at, found.points, found.low_pct, found.high_pct) == (80, 3, -9.0, 5.0)
    assert found.sentence == (
        "uvicorn-workers cpu/sync: the measured throughput is below the model by 9.0 % "
        "from 80 users on (within 5.0 % below 80 users)"
    )


def test_one_user_and_one_level_read_as_such(tmp_path):
    """'at 1 user', singular; a series measured at one level names it, not a range."""
    (parting,) = model_error.series(one_series(tmp_path / "a", {1: 99.0, 10: 92.0}))
    assert parting.sentence.endswith("by 8.0 % from 10 users on (within 1.0 % at 1 user)")
    (single,) = model_error.series(one_series(tmp_path / "b", {10: 99.0}))
    assert single.sentence == (
        "uvicorn-workers cpu/sync: the model is within 1.0 % of the measured throughput at "
        "every level (10 users)"
    )


def test_open_loop_sentences_give_rates_not_users(tmp_path):
    """Every level of an open-loop sentence is a rate: a range, a single rate, and the level
    below which it stays within the model."""
    within, single, parting = (
        model_error.series(one_series(tmp_path / name, measured, load="open"))[0].sentence
        for name, measured in (
            ("within", {150.0: 102.0, 190.0: 104.0}),
            ("single", {150.0: 102.0}),
            ("parting", {100.0: 101.0, 150.0: 102.0, 190.0: 117.0}),
        )
    )
    assert within.endswith("within 4.0 % of the measured mean latency at every level (150-190/s)")
    assert single.endswith("at every level (150/s)")
    assert parting == (
        "uvicorn-limiter io/sync: the measured mean latency is above the model by 17.0 % "
        "from 190/s on (within 2.0 % below 190/s)"
    )


def test_an_open_series_without_a_latency_model_is_judged_on_its_throughput(tmp_path):
    """Where the open-loop model gives no mean latency, the series is judged on throughput
    rather than reported as having no model."""
    run = one_series(tmp_path / "r", {150.0: 102.0, 190.0: 104.0}, load="open")
    for r in run.points.values():
        r.prediction = Prediction(pool=40, rps=r.point.rate * 1.02, mean_ms=None, load="open",
                                  capacity=400.0)  # fmt: skip
    (found,) = model_error.series(run)
    assert (found.metric, found.points, found.parts_at) == ("rps", 2, None)
    assert "of the measured throughput at every level (150-190/s)" in found.sentence


def test_a_series_without_a_trusted_point_names_itself_and_every_reason(tmp_path):
    """No trusted point: the series keeps its variant, endpoint, kind and figure, counts no
    point, and its sentence and its kind's line list each reason left out."""
    statuses = {10: "failed", 40: "unsteady", 80: "unsteady"}
    run = one_series(tmp_path / "r", {10: 99.0, 40: 92.0, 80: 90.0}, statuses=statuses)
    (found,) = model_error.series(run)
    assert (found.variant, found.endpoint, found.kind, found.metric, found.points) == (
        CPU, "cpu/sync", "closed CPU", "rps", 0,
    )  # fmt: skip
    assert found.sentence == (
        "uvicorn-workers cpu/sync: no trusted point with a model (1 failed, 2 unsteady)"
    )
    assert model_error.lines(run) == [
        "model error: closed CPU: no trusted point with a model (3 left out: 1 failed, 2 unsteady)"
    ]


def test_figures_are_kept_to_hundredths_of_a_per_cent(tmp_path):
    """Errors of a third of a per cent are stored rounded to two decimals, not to whole per
    cents nor to more decimals than the figures carry."""
    run = one_series(tmp_path / "r", {10: 290.0, 40: 280.0, 80: 250.0}, predicted=300.0)
    (kind,) = model_error.kinds(run)
    assert (kind.median_pct, kind.worst_pct) == (-6.67, -16.67)
    (found,) = model_error.series(run)
    assert (found.low_pct, found.high_pct) == (-16.67, -3.33)


def test_the_lines_of_kinds_with_and_without_trusted_points(tmp_path):
    """A kind with no trusted point does not stop the lines of the kinds after it; a kind of
    one point says '1 point' and one with nothing left out says nothing about leaving out;
    the open loop's throughput line names its figure."""
    run = closed_run(tmp_path / "closed")
    for r in run.points.values():
        if r.point.endpoint == "io/sync":
            r.status = "unsteady"
        elif r.point.endpoint == "cpu/sync" and r.point.users != 10:
            r.prediction = Prediction(pool=2, rps=None, mean_ms=None)
    assert model_error.lines(run) == [
        "model error: closed I/O: no trusted point with a model (3 left out: 3 unsteady)",
        "model error: closed CPU median -3.0 %, worst -3.0 % (uvicorn-workers cpu/sync cpus=1 "
        "users=10), 1 point (3 left out: 2 no model, 1 unsteady)",
    ]
    single = one_series(tmp_path / "single", {10: 97.0, 40: 94.0})
    assert model_error.lines(single) == [
        "model error: closed CPU median -4.5 %, worst -6.0 % (uvicorn-workers cpu/sync cpus=1 "
        "users=40), 2 points"
    ]
    assert model_error.lines(open_run(tmp_path / "open"))[1].startswith(
        "model error: open Poisson throughput median"
    )


def test_a_repeat_after_the_first_is_named(tmp_path):
    """'... users=80 repeat 2': the first repeat is the point itself and carries no suffix."""
    matrix = [Point(CPU, "cpu/sync", 1.0, 80, repeat) for repeat in (1, 2)]
    run = Run.create(tmp_path / "r", {"resolved": {"load": "closed"}}, matrix)
    first, second = (model_error.describe(run, p.id) for p in matrix)
    assert first == "uvicorn-workers cpu/sync cpus=1 users=80"
    assert second == "uvicorn-workers cpu/sync cpus=1 users=80 repeat 2"


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"resolved": {"load": "open", "arrivals": "poisson"}}, "open Poisson"),
        ({"arrivals": "uniform", "resolved": {"arrivals": "poisson"}}, "open Poisson"),
        ({"arrivals": "poisson", "resolved": {"load": "open"}}, "open Poisson"),
        ({"arrivals": "poisson"}, "open Poisson"),
        ({"resolved": {"load": "open"}}, "open uniform"),
    ],
)
def test_the_arrivals_resolved_for_the_run_decide_the_open_kind(tmp_path, config, kind):
    """The resolved arrivals first, the configured ones where a run resolved none, and
    uniform where neither says."""
    point = Point("uvicorn-limiter", "io/sync", 1.0, None, 1, 150.0)
    run = Run.create(tmp_path / "r", config, [point])
    assert model_error.kind_of(run, run.points[point.id]) == kind


def test_an_endpoint_the_lab_does_not_know_belongs_to_no_kind(tmp_path):
    """A user's own endpoint has no model of the lab's kinds: no kind, no series."""
    point = Point("uvicorn", "orders/list", 1.0, 10, 1)
    run = Run.create(tmp_path / "r", {"resolved": {"load": "closed"}}, [point])
    run.points[point.id].status, run.points[point.id].stats = "ok", stats(50.0)
    assert model_error.kind_of(run, run.points[point.id]) is None
    assert model_error.series(run) == [] and model_error.kinds(run) == []


def test_a_figure_only_one_side_gives_has_no_error(tmp_path):
    """The error needs both a measurement and a prediction of the figure."""
    run = closed_run(tmp_path / "closed")
    r = run.points[Point(CPU, "cpu/sync", 1.0, 10, 1).id]
    assert model_error.error_pct(r, "rps") == pytest.approx(-3.0)
    assert model_error.error_pct(r, "max_ms") is None  # measured, never predicted
    assert model_error.error_pct(r, "capacity") is None  # an open-loop model's, not measured


def test_an_overload_shows_the_interval_reached_and_a_gap_to_two_decimals(tmp_path):
    """The reached throughput's interval is kept and printed; the gap is kept to hundredths;
    a point with no measured throughput has no overload."""
    run = open_run(tmp_path / "open")
    over_id = "uvicorn-limiter__io-sync__cpus1__rate250__r1"
    result = run.points[over_id]
    result.stats = WindowStats(requests=2900, failures=0, rps=290.0, rps_ci=(287.25, 292.75),
                               mean_ms=900.0)  # fmt: skip
    result.prediction = Prediction(pool=40, rps=250.0, mean_ms=800.0, load="open",
                                   capacity=300.0)  # fmt: skip
    (over,) = model_error.overloads(run)
    assert (over.point_id, over.reached_ci, over.gap_pct) == (over_id, (287.25, 292.75), -3.33)
    assert over.sentence == (
        "uvicorn-limiter io/sync cpus=1 rate=250: overloaded, the server reached 290.0/s "
        "[287.2, 292.8] against P/S = 300.0/s (-3.3 %)"
    )
    result.stats = WindowStats(requests=0, failures=0, rps=None)
    assert model_error.overloads(run) == []


def test_a_calibration_without_samples_or_start_times_has_no_spread(tmp_path):
    """A CPU cost kept without its batches, on points with no start time: no low, high or
    spread, and no time it was measured, rather than a crash."""
    point = Point(CPU, "cpu/sync", 1.0, 10, 1)
    run = Run.create(tmp_path / "r", {"resolved": {"load": "closed"}}, [point])
    run.points[point.id].prediction = Prediction(pool=2, rps=100.0, mean_ms=None,
                                                 cpu_cost_ms=10.0, cpu_cost_streams=10)  # fmt: skip
    (found,) = model_error.calibrations(run)
    assert (found.median_ms, found.streams, found.points) == (10.0, 10, 1)
    assert (found.low_ms, found.high_ms, found.samples, found.measured_at) == (None, None, 0, None)
    assert found.spread_pct is None
