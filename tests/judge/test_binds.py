"""What binds, named from a series' own numbers: each rule on the facts that make it true,
and the trap the issue names (every token in use, most of them waiting inside the app)."""

from __future__ import annotations

import pytest

from loadlab.judge import binds
from loadlab.judge.binds import verdict

BASE = dict(saturation_rps=150.0, service_s=0.1, lowest_level=5, concurrency=15.0, held=40.0,
            tokens=40, tokens_in_use=40, cpu_used=0.1, cpu_quota=1.0, throttled_pct=0.0,
            loop_lag_p99_ms=1.0)  # fmt: skip


def named(**changes) -> tuple[str, str]:
    return verdict(**{**BASE, **changes})


def test_every_token_in_use_but_few_working_is_a_pool_inside_the_app():
    """40 threads busy and X * S = 15: the limiter is full of threads waiting for a connection."""
    resource, sentence = named()
    assert resource == "inside the app"
    assert sentence.startswith("40 threads busy, 15 of them working: the others wait inside")


def test_every_token_in_use_and_working_is_the_thread_limiter():
    resource, sentence = named(saturation_rps=400.0, concurrency=40.0, held=60.0)
    assert resource == "thread limiter" and "all 40 tokens in use" in sentence


@pytest.mark.parametrize("changes", [dict(cpu_used=0.95), dict(throttled_pct=35.0)])
def test_a_used_quota_or_throttling_is_the_cpu(changes):
    assert named(**changes)[0] == "cpu"


def test_a_late_timer_is_the_event_loop():
    """A loop 283 ms late against S = 100 ms: async code blocks it."""
    assert named(loop_lag_p99_ms=283.0)[0] == "event loop"
    assert named(loop_lag_p99_ms=10.0)[0] != "event loop"  # below the monitor's own floor


def test_an_async_pool_without_threads_is_still_inside_the_app():
    resource, sentence = named(tokens_in_use=0)
    assert resource == "inside the app" and sentence.startswith("40 requests in the server, 15")


def test_every_request_worked_on_is_nothing_binding():
    assert named(concurrency=39.0, tokens_in_use=39)[0] == "none"


def test_one_level_cannot_name_anything():
    """S measured past the knee would be the queue's, not the service's."""
    assert named(levels=1)[0] == "unknown"


# What bound one step that missed its objective (a capacity trial), from its own telemetry.


def step(status="ok", *, quota=1.0, used=0.5, throttled=0.0, lag=None, tokens_max=None,
         failure_ratio=0.0, work_seconds=0.2):  # fmt: skip
    from loadlab.measure.stats import WindowStats
    from loadlab.plan.matrix import Point
    from loadlab.results import PointResult

    r = PointResult(Point("uvicorn-limiter", "io/sync", quota, None, 1, rate=150.0))
    r.status = status
    r.runtime = {"cpu_quota": quota, "workers": 2, "thread_limiter_tokens": 10,
                 "work_seconds": work_seconds}  # fmt: skip
    r.telemetry = {"target": {"cpu_cores": used, "throttled_pct": throttled}}
    r.event_loop = {"p99_ms": lag, "tokens_in_use_max": tokens_max}
    r.stats = WindowStats(requests=100, failures=int(100 * failure_ratio), rps=10.0,
                          failure_ratio=failure_ratio)  # fmt: skip
    return r


def test_a_failing_step_is_bound_by_its_failures_first():
    r = step("failing", used=1.0, failure_ratio=0.125)
    assert binds.what_bound(r) == "failures (12.5% of requests)"


def test_a_step_at_its_quota_or_throttled_is_bound_by_the_cpu():
    """At CPU_USED of the quota, or throttled in a fifth of its periods: the CPU; just under
    both: not the CPU."""
    used = binds.CPU_USED * 1.0
    assert binds.what_bound(step(used=used)) == (
        f"the CPU: {used:.2f} of 1 used, throttled 0 % of periods"
    )
    assert binds.what_bound(step(used=0.2, throttled=20)).startswith("the CPU: 0.20 of 1")
    assert not binds.what_bound(step(used=used - 0.01, throttled=19.9)).startswith("the CPU")


def test_a_late_timer_binds_a_step_from_five_times_the_floor():
    late = binds.LAG_FLOOR_MS * 5
    assert binds.what_bound(step(lag=late)) == f"the event loop: a timer {late:.0f} ms late (p99)"
    assert "event loop" not in binds.what_bound(step(lag=late - 0.1))


def test_every_token_of_every_worker_in_use_binds_with_its_ceiling():
    """2 workers x 10 tokens = 20 at 0.2 s: P/S = 100/s; without a service time, no ceiling;
    one token short is something inside the app."""
    assert binds.what_bound(step(tokens_max=20)) == "every limiter token in use (20, P/S = 100/s)"
    assert binds.what_bound(step(tokens_max=20, work_seconds=None)) == (
        "every limiter token in use (20)"
    )
    assert binds.what_bound(step(tokens_max=19)) == (
        "something inside the app (no CPU, token or loop limit reached)"
    )
