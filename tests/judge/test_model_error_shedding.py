"""A point that shed load is ok by its status but left out of model error: the yardsticks say
nothing of how many answers uvicorn's --limit-concurrency lets through (measured: 4.4/s of
successes at 40/s offered, LIMIT_CONCURRENCY=2, against a model of 9.9/s)."""

from __future__ import annotations

from loadlab.judge import model_error
from loadlab.measure.stats import WindowStats
from loadlab.model.predictions import Prediction
from loadlab.plan.matrix import Point
from loadlab.results import Run

SHED = "uvicorn-limit-concurrency"


def shedding_run(directory, failures: int) -> Run:
    points = [Point(SHED, "io/sync", 1.0, 50, 1), Point("uvicorn", "io/sync", 1.0, 10, 1)]
    run = Run.create(directory, {"profile": "test", "resolved": {"load": "closed"}}, points)
    for point, rps, predicted, limit in ((points[0], 4.4, 9.9, 2), (points[1], 49.5, 50.0, None)):
        result = run.points[point.id]
        result.status = "ok"
        result.runtime = {"limit_concurrency": limit}
        result.stats = WindowStats(requests=1000, failures=failures if limit else 0, rps=rps,
                                   mean_ms=200.0)  # fmt: skip
        result.prediction = Prediction(pool=2, rps=predicted, mean_ms=None)
    return run


def test_a_shedding_point_is_left_out_with_its_reason(tmp_path):
    (kind,) = model_error.kinds(shedding_run(tmp_path / "a", failures=800))
    assert kind.points == 1 and kind.worst_pct == -1.0
    assert kind.left_out == {model_error.SHEDDING: 1}
    found = model_error.series(shedding_run(tmp_path / "b", failures=800))
    sentences = {s.variant: s.sentence for s in found}
    assert "no trusted point with a model (1 shedding)" in sentences[SHED]


def test_a_limited_server_that_shed_nothing_is_judged(tmp_path):
    """Below its limit the concurrency-limited variant is a server like the others."""
    (kind,) = model_error.kinds(shedding_run(tmp_path / "a", failures=0))
    assert kind.points == 2 and kind.left_out == {}
    assert kind.worst_pct == round((4.4 - 9.9) / 9.9 * 100, 2)


def test_every_shedding_point_is_counted_down_to_one_shed_request(tmp_path):
    """Two points at the limit, one of which shed a single request: both left out, both
    counted."""
    points = [Point(SHED, "io/sync", 1.0, users, 1) for users in (20, 50)]
    run = Run.create(tmp_path / "run", {"profile": "test", "resolved": {"load": "closed"}}, points)
    for point, failures in zip(points, (1, 800), strict=True):
        result = run.points[point.id]
        result.status, result.runtime = "ok", {"limit_concurrency": 2}
        result.stats = WindowStats(requests=1000, failures=failures, rps=9.0, mean_ms=200.0)
        result.prediction = Prediction(pool=2, rps=9.9, mean_ms=None)
    (kind,) = model_error.kinds(run)
    assert kind.points == 0 and kind.left_out == {model_error.SHEDDING: 2}
