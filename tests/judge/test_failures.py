"""Why a point gives no trusted number: each reason a failure is listed with, and what still
counts as a trusted number."""

from __future__ import annotations

import pytest

from loadlab.judge.failures import problem
from loadlab.measure.stats import WindowStats
from loadlab.plan.matrix import Point
from loadlab.results import PointResult


def result(status="ok", *, flags=(), error=None, **stats) -> PointResult:
    """A point of uvicorn io/sync at 10 users; ``stats`` override a trusted window's."""
    window = {"requests": 2000, "failures": 0, "rps": 200.0, "p95_ms": 210.0, **stats}
    r = PointResult(Point("uvicorn", "io/sync", 1.0, 10, 1), status=status, error=error)
    r.flags = list(flags)
    r.stats = WindowStats(**window)
    return r


def test_a_trusted_point_has_no_problem():
    """ok, with its statistics and successful requests: a trusted number."""
    assert problem(result()) is None


def test_a_status_other_than_ok_is_named_with_its_flags_and_error():
    """Every flag that made the point unsteady is listed, then the error."""
    r = result("unsteady", flags=("drift", "too few batches"), error="window too short")
    assert problem(r) == "unsteady (drift, too few batches): window too short"
    assert problem(result("failed")) == "failed"


def test_a_pending_point_was_never_measured():
    """A point the run never reached says so, whatever stats it may carry."""
    assert problem(result("pending")) == "pending (never measured)"


def test_an_ok_point_without_a_p95_has_no_trusted_number():
    """The p95 is one of the compared metrics: without it the point cannot be judged."""
    assert problem(result(p95_ms=None)) == "ok but without statistics"


def test_an_ok_point_without_any_statistics_has_no_trusted_number():
    r = result()
    r.stats = None
    assert problem(r) == "ok but without statistics"


@pytest.mark.parametrize(
    "counts",
    [
        dict(requests=1, failures=0, rps=0.0),  # one success in a long window: rps rounds to 0
        dict(requests=None, failures=None, rps=0.5),  # a stats document without counts
    ],
)
def test_one_successful_request_is_enough(counts):
    """The counts decide, not the rounded rps; without counts, the rps does."""
    assert problem(result(**counts)) is None


@pytest.mark.parametrize(
    "counts",
    [
        dict(requests=500, failures=500, rps=0.0),
        dict(requests=0, failures=0, rps=0.0),
        dict(requests=None, failures=None, rps=0.0),
    ],
)
def test_no_successful_request_is_a_failure(counts):
    """Every request failed, none completed, or no counts and no throughput."""
    assert problem(result(**counts)) == "no successful request"
