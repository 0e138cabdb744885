"""The lab's paths: /_lab/lag's contract and the answers to a wrong request."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from anyio import to_thread

from tests.probe.asgi import lifespan, request

LAG_KEYS = {"pid", "samples", "p50_ms", "p99_ms", "max_ms", "interval_ms", "tokens_in_use_p50",
            "tokens_in_use_max"}  # fmt: skip


def test_lag_counts_the_thread_limiters_tokens_in_use(probe):
    """Three threads held for 0.2 s show as 3 tokens in use at the ticks meanwhile, 0 before."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            await asyncio.sleep(0.1)
            idle_until = time.time()
            since = time.time()
            held = [asyncio.create_task(to_thread.run_sync(time.sleep, 0.2)) for _ in range(3)]
            await asyncio.gather(*held)
            until = time.time()
            busy = (await request(app, f"/_lab/lag?since={since}&until={until}")).json()
            idle = (await request(app, f"/_lab/lag?until={idle_until}")).json()
            return busy, idle

    busy, idle = run(scenario)
    assert busy["tokens_in_use_max"] == 3 and idle["tokens_in_use_max"] == 0


def test_lag_reports_the_samples_of_a_wall_clock_range(probe):
    """/_lab/lag?since&until counts the ticks of that range, and a range in the future none."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            since = time.time()
            await asyncio.sleep(0.3)
            until = time.time()
            now = (await request(app, f"/_lab/lag?since={since}&until={until}")).json()
            later = (await request(app, f"/_lab/lag?since={until + 60}")).json()
            return now, later

    now, later = run(scenario)
    assert set(now) == LAG_KEYS and now["pid"] == os.getpid()
    assert now["interval_ms"] == 20.0
    assert 5 <= now["samples"] <= 16  # 15 ticks of 20 ms in 0.3 s, less what the loop delays
    assert 0 <= now["p50_ms"] <= now["p99_ms"] <= now["max_ms"] < 150
    assert later == {**later, "samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}


def test_a_blocking_handler_shows_in_the_lag(probe):
    """An async def handler that time.sleep()s 0.2 s shows as a tick >= 150 ms late."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            since = time.time()
            await request(app, "/block?seconds=0.2")
            await asyncio.sleep(0.05)
            return (await request(app, f"/_lab/lag?since={since}")).json()

    assert run(scenario)["max_ms"] >= 150


@pytest.mark.parametrize(
    ("path", "method", "status", "error"),
    [
        ("/_lab/lag?since=abc", "GET", 400, "since must be a time in epoch seconds, got 'abc'"),
        ("/_lab/lag?until=nan", "GET", 400, "until must be a time in epoch seconds, got 'nan'"),
        ("/_lab/runtime", "POST", 405, "/_lab/runtime answers GET only"),
        ("/_lab/nothing", "GET", 404, "no lab path /_lab/nothing"),
    ],
)
def test_a_wrong_request_gets_its_status_and_a_one_line_error(probe, path, method, status, error):
    """A bad range is a 400, another method a 405, an unknown lab path a 404, each in JSON."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            return await request(app, path, method)

    answer = run(scenario)
    assert answer.status == status
    assert answer.json()["error"].startswith(error)


def run(scenario):
    return asyncio.run(scenario())
