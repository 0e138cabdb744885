"""What binds, named from a series' own numbers: each rule on the facts that make it true,
and the trap the issue names (every token in use, most of them waiting inside the app)."""

from __future__ import annotations

import pytest

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
