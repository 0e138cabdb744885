"""A point's status and its reasons, from window statistics."""

from __future__ import annotations

from dataclasses import replace

from loadlab.measure.stats import WindowStats
from loadlab.measure.status import assess
from loadlab.measure.steady import Truncation

BASE = WindowStats(requests=1000, failures=0, failure_ratio=0.0, rps=100.0,
                   rps_ci=(99.0, 101.0), users_seen=20, little_error_pct=0.1,
                   settle_budget=6.0, step_start=100.0, window_start=106.0)  # fmt: skip


def judge(settled: bool = True, **stats):
    return assess(replace(BASE, **stats), users=20, settled=settled, max_failure_ratio=0.01)


def test_a_clean_point_is_ok():
    """A settled window with no failures and Little's law kept is ok, with no flags."""
    assert (judge().status, judge().flags) == ("ok", [])


def test_an_unsettled_step_says_which_series_moved():
    """A step whose throughput still moved after mid-step is unsteady, and its flag says so."""
    cut = Truncation(latency=0.0, throughput=6.0, turnover=0.3, drifting=True,
                     drifting_in=("throughput",))  # fmt: skip
    found = judge(settled=False, truncation=cut, warmup=None)
    assert found.status == "unsteady"
    assert found.flags == ["did not settle: its throughput still moved after mid-step "
                             "(measured from 6.0 s into the step)"]  # fmt: skip


def test_a_step_without_turnover_says_so():
    """A step where some user never turned over is flagged for that reason."""
    cut = Truncation(latency=0.0, throughput=0.0, turnover=None, drifting=False)
    flags = judge(settled=False, truncation=cut, warmup=None).flags
    assert flags[0].startswith("did not settle: some user never completed a request")


def test_a_late_settle_names_both_times():
    """A step that settled past its budget names when it settled and what its budget was."""
    cut = Truncation(latency=7.0, throughput=0.0, turnover=1.0, drifting=False)
    flags = judge(settled=False, truncation=cut, warmup=7.0, window_start=107.0).flags
    assert flags == ["settled after 7.0 s, past its budget of 6.0 s (measured from 7.0 s into "
                     "the step)"]  # fmt: skip


def test_failures_and_the_pool_ceiling_outrank_unsteadiness():
    """Failing outranks unsteady, and a throughput above P/S fails the point."""
    found = judge(settled=False, truncation=Truncation(0.0, 0.0, turnover=None), failures=50,
                  failure_ratio=0.05, rps=210.0, rps_ci=(208.0, 212.0))  # fmt: skip
    assert found.status == "failing"
    bounded = assess(replace(BASE, rps=210.0, rps_ci=(208.0, 212.0)), users=20, settled=True,
                     max_failure_ratio=0.01, ceiling_rps=200.0)  # fmt: skip
    assert bounded.status == "failed" and "exceeds the pool's ceiling" in bounded.flags[0]
