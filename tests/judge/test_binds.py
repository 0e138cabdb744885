"""What binds, named from a series' own numbers: each rule on the facts that make it true,
and the trap the issue names (every token in use, most of them waiting inside the app)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from loadlab.judge import binds
from loadlab.judge.binds import verdict
from loadlab.measure.stats import WindowStats
from loadlab.plan.matrix import Point
from loadlab.results import PointResult, Run

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
    assert named(levels=1) == (
        "unknown",
        "one load level only (5): S needs a lower one, below the knee, before anything can be "
        "named",
    )


def test_without_a_service_time_nothing_is_named():
    """No X * S (no latency at the lowest load): the verdict says so instead of guessing."""
    assert named(concurrency=None) == ("unknown", "no service time measured: nothing can be named")


def test_the_sentence_carries_its_evidence():
    """Every named cause quotes X, S in ms at its load level, and X * S."""
    resource, sentence = named(saturation_rps=50.0, service_s=0.8, concurrency=40.0)
    assert resource == "thread limiter"
    assert sentence == (
        "the thread limiter binds: all 40 tokens in use and all of them working "
        "(X = 50.0/s, S = 800 ms (at 5), X * S = 40.0)"
    )


def test_the_cpu_binds_from_nine_tenths_of_its_quota_or_a_fifth_of_its_periods_throttled():
    """At 90 % of a 2-CPU quota, or throttled in exactly 20 % of periods: the CPU, its figures
    in the sentence; one core of two, throttled less: not the CPU."""
    resource, sentence = named(cpu_used=1.8, cpu_quota=2.0)
    assert resource == "cpu"
    assert sentence.startswith("the CPU binds: 1.80 of 2 CPU used, throttled 0 % of periods (X =")
    resource, sentence = named(throttled_pct=20.0)
    assert resource == "cpu" and "0.10 of 1 CPU used, throttled 20 % of periods" in sentence
    assert named(cpu_used=1.0, cpu_quota=2.0, throttled_pct=19.9)[0] != "cpu"


def test_the_loop_binds_from_a_lag_of_half_the_service_time():
    """S = 100 ms: a timer 50 ms late is the event loop, 49 ms is not (the floor is 20 ms)."""
    assert named(loop_lag_p99_ms=50.0)[0] == "event loop"
    assert named(loop_lag_p99_ms=49.0)[0] != "event loop"


def test_tokens_working_from_nine_tenths_of_them_is_the_thread_limiter():
    """All 40 tokens in use and X * S = 36 (90 %) is the limiter; at 35.9 it is not."""
    assert named(concurrency=36.0, held=60.0)[0] == "thread limiter"
    assert named(concurrency=35.9, held=60.0)[0] != "thread limiter"


def test_a_pool_inside_the_app_needs_fewer_than_four_in_five_at_work():
    """X * S at exactly 80 % of the 40 requests held is not yet waiting inside the app."""
    assert named(concurrency=31.9, tokens_in_use=None)[0] == "inside the app"
    resource, sentence = named(concurrency=32.0, tokens_in_use=None)
    assert resource == "none"
    assert sentence.startswith("nothing binds up to 40 users: every request is worked on (X =")


def test_threads_are_named_busy_only_when_the_limiter_is_nearly_full():
    """36 of 40 tokens in use (90 %) are busy threads; 20 of 40 are requests in the server;
    without a token count, busy threads cannot be claimed."""
    assert named(tokens_in_use=36)[1].startswith("36 threads busy, 15 of them working")
    assert named(tokens_in_use=20)[1].startswith("20 requests in the server, 15 of them")
    assert named(tokens=None, tokens_in_use=20)[1].startswith("20 requests in the server")


def test_nothing_known_to_hold_requests_names_no_pool():
    """An open-loop series (no users) whose limiter was not read: no pool inside the app."""
    resource, sentence = named(held=None, tokens=None, tokens_in_use=None)
    assert resource == "none"
    # Its loads are rates: no count of users is claimed ("up to 0 users" was once written).
    assert sentence.startswith("nothing binds at the loads measured: every request is worked on")


# What binds each series of a run: the facts read from its points.


LIMITER = {"cpu_quota": 1.0, "workers": 2, "thread_limiter_tokens": 20}  # 40 tokens in all


def measured(users, rps, mean_ms, *, variant="uvicorn-limiter", status="ok", runtime=LIMITER,
             loop=None, cpu=0.3, throttled=2.0):  # fmt: skip
    """One point of ``variant`` io/sync at 1 CPU: its load, rps, mean and the server's state."""
    r = PointResult(Point(variant, "io/sync", 1.0, users, 1), status=status)
    r.runtime = runtime
    r.event_loop = loop
    r.telemetry = {"target": {"cpu_cores": cpu, "throttled_pct": throttled}}
    r.stats = WindowStats(requests=1000, failures=0, rps=rps, mean_ms=mean_ms)
    return r


def run_of(*results):
    return Run(Path("run"), {}, points={r.point.id: r for r in results})


def test_a_series_binding_reads_x_s_and_the_server_where_most_was_asked():
    """X is the series' best trusted rps (not the failing point's), S the mean at the lowest
    load, the tokens those of both workers and the server's state that of the top load."""
    run = run_of(
        measured(5, 48.0, 100.0, loop={"p99_ms": 1.0, "tokens_in_use_max": 5}),
        measured(20, 150.0, 130.0, loop={"p99_ms": 2.0, "tokens_in_use_max": 20}),
        measured(40, 148.0, 270.0, loop={"p99_ms": 3.0, "tokens_in_use_max": 40}, cpu=0.35),
        measured(80, 300.0, 260.0, status="failing"),
    )
    (b,) = binds.bindings(run)
    assert (b.variant, b.endpoint, b.cpus, b.points) == ("uvicorn-limiter", "io/sync", 1.0, 3)
    assert (b.saturation_rps, b.lowest_level, b.held) == (150.0, 5.0, 40.0)
    assert b.service_s == pytest.approx(0.1) and b.concurrency == pytest.approx(15.0)
    assert (b.tokens, b.tokens_in_use, b.loop_lag_p99_ms) == (40, 40, 3.0)
    assert (b.cpu_used, b.cpu_quota, b.throttled_pct) == (0.35, 1.0, 2.0)
    assert b.resource == "inside the app"
    assert b.sentence.startswith("40 threads busy, 15 of them working: the others wait inside")


def test_a_single_process_series_counts_its_own_tokens():
    """No workers in the runtime document: one process, its 40 tokens all working."""
    one = {"cpu_quota": 1.0, "thread_limiter_tokens": 40}
    run = run_of(
        measured(5, 48.0, 100.0, runtime=one),
        measured(40, 400.0, 100.0, runtime=one, loop={"p99_ms": 3.0, "tokens_in_use_max": 40}),
    )
    (b,) = binds.bindings(run)
    assert b.tokens == 40 and b.resource == "thread limiter"


def test_a_cpu_quota_and_a_late_loop_are_read_from_the_top_point():
    """The quota from the runtime document, the lag from the probe: each names its cause."""
    quota = {"cpu_quota": 0.5, "workers": 1, "thread_limiter_tokens": 40}
    run = run_of(
        measured(5, 48.0, 100.0, runtime=quota),
        measured(40, 90.0, 400.0, runtime=quota, cpu=0.48, throttled=5.0),
        measured(5, 48.0, 100.0, variant="uvicorn"),
        measured(40, 60.0, 600.0, variant="uvicorn", loop={"p99_ms": 280.0}),
    )
    assert [(b.variant, b.resource) for b in binds.bindings(run)] == [
        ("uvicorn", "event loop"),
        ("uvicorn-limiter", "cpu"),
    ]


def test_one_level_measured_names_nothing_even_with_repeats():
    """Two repeats at one user count are one load level: S has no lower load to come from."""
    first = measured(40, 150.0, 260.0, loop={"p99_ms": 3.0, "tokens_in_use_max": 40})
    second = measured(40, 152.0, 258.0)
    second.point = replace(second.point, repeat=2)
    (b,) = binds.bindings(run_of(first, second))
    assert b.points == 2 and b.resource == "unknown"


def test_a_series_that_completed_nothing_names_nothing():
    """Every trusted point at 0 rps: no X, so no X * S and nothing named."""
    (b,) = binds.bindings(run_of(measured(5, 0.0, 100.0), measured(40, 0.0, 100.0)))
    assert b.saturation_rps is None and b.resource == "unknown"


# What bound one step that missed its objective (a capacity trial), from its own telemetry.


def step(status="ok", *, quota=1.0, used=0.5, throttled=0.0, lag=None, tokens_max=None,
         failure_ratio=0.0, work_seconds=0.2, workers=2, tokens=10):  # fmt: skip
    r = PointResult(Point("uvicorn-limiter", "io/sync", quota, None, 1, rate=150.0))
    r.status = status
    r.runtime = {"cpu_quota": quota, "workers": workers, "thread_limiter_tokens": tokens,
                 "work_seconds": work_seconds}  # fmt: skip
    r.runtime = {k: v for k, v in r.runtime.items() if v is not None}
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
    assert binds.what_bound(step(used=0.2, throttled=20)) == (
        "the CPU: 0.20 of 1 used, throttled 20 % of periods"
    )
    assert not binds.what_bound(step(used=used - 0.01, throttled=19.9)).startswith("the CPU")
    assert not binds.what_bound(step(quota=2.0, used=1.0)).startswith("the CPU")  # half of 2


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


def test_a_single_process_step_counts_its_own_tokens():
    """No workers in the runtime document: one process, its 10 tokens, P/S = 10 / 0.2 s."""
    assert binds.what_bound(step(tokens_max=10, workers=None)) == (
        "every limiter token in use (10, P/S = 50/s)"
    )


def test_tokens_nobody_counted_bind_no_step():
    """No limiter in the runtime document, or a one-token limiter the probe did not read: the
    tokens are not named as the cap."""
    inside = "something inside the app (no CPU, token or loop limit reached)"
    assert binds.what_bound(step(tokens_max=5, tokens=None)) == inside
    assert binds.what_bound(step(tokens_max=None, tokens=1, workers=None)) == inside
