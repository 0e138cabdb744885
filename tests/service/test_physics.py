"""The queueing physics the lab is built on, pinned down against a real server on loopback.

Every bound is physical: N sleeps of S seconds through P threads cannot finish in fewer than
ceil(N / P) rounds. Upper bounds are generous; they only catch "this did not queue at all".
"""

from __future__ import annotations

import contextlib
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

ROUND = 0.2
KNEE_ROUND = 0.5  # 80 requests at once: their client's own cost stays well under a round
LIMITED = {"thread_limit": 4, "executor_workers": 3, "work_seconds": ROUND}


def rounds(elapsed: float, round_seconds: float = ROUND) -> float:
    return elapsed / round_seconds


@pytest.mark.parametrize("path", ["/io/sync", "/io/threadpool"])
def test_anyio_pool_queues_beyond_its_tokens(serve, path):
    """8 concurrent requests through 4 limiter tokens take at least 2 sleep rounds."""
    elapsed, statuses = serve(**LIMITED).burst(path, 8)
    assert statuses == [200] * 8
    assert 2 <= rounds(elapsed) < 3.5


@pytest.mark.parametrize("path", ["/io/sync", "/io/threadpool"])
def test_anyio_pool_serves_its_tokens_in_one_round(serve, path):
    """4 concurrent requests through 4 limiter tokens finish in about one round."""
    elapsed, _ = serve(**LIMITED).burst(path, 4)
    assert 1 <= rounds(elapsed) < 1.9


def test_async_sleep_is_not_bounded_by_the_limiter(serve):
    """8 concurrent /io/async requests finish in about one round despite 4 limiter tokens."""
    elapsed, statuses = serve(**LIMITED).burst("/io/async", 8)
    assert statuses == [200] * 8
    assert 1 <= rounds(elapsed) < 1.9


def test_default_executor_is_bounded_by_its_reported_size(serve):
    """/io/executor-default queues at the size /runtime reports, whatever the limiter says."""
    server = serve(**LIMITED)
    size = server.runtime()["default_executor_workers"]
    elapsed_full, _ = server.burst("/io/executor-default", size)
    elapsed_over, statuses = server.burst("/io/executor-default", size + 1)
    assert statuses == [200] * (size + 1)
    assert 1 <= rounds(elapsed_full) < 1.9
    assert 2 <= rounds(elapsed_over) < 3.5


def test_custom_executor_is_bounded_by_executor_workers(serve):
    """/io/executor-custom with EXECUTOR_WORKERS=3 serves 3 in one round and 6 in two."""
    server = serve(**LIMITED)
    assert 1 <= rounds(server.burst("/io/executor-custom", 3)[0]) < 1.9
    assert 2 <= rounds(server.burst("/io/executor-custom", 6)[0]) < 3.5


def test_blocking_in_async_serialises_everything(serve):
    """4 concurrent /io/blocking-in-async requests run one after another: at least 4 rounds."""
    elapsed, statuses = serve(**LIMITED).burst("/io/blocking-in-async", 4)
    assert statuses == [200] * 4
    assert 4 <= rounds(elapsed) < 6.5


def test_library_default_limiter_is_the_blog_knee(serve):
    """With no THREAD_LIMIT the limiter has 40 tokens: 40 sync requests take 1 round, 80 take 2.

    80 client threads and connections cost time of their own, which a longer round makes
    small beside it: with both cores busy (as beside another test process) the first burst,
    which also starts the limiter's 40 threads, took 2.03 and 2.04 rounds of 0.2 s and an
    80-request async burst 2.06; rounds of 0.5 s, a warm-up burst first."""
    server = serve(work_seconds=KNEE_ROUND)
    assert server.runtime()["thread_limiter_tokens"] == 40
    server.burst("/io/sync", 40)
    assert 1 <= rounds(server.burst("/io/sync", 40)[0], KNEE_ROUND) < 1.9
    assert 2 <= rounds(server.burst("/io/sync", 80)[0], KNEE_ROUND) < 3.5
    assert 1 <= rounds(server.burst("/io/async", 80)[0], KNEE_ROUND) < 1.9


def test_sync_background_tasks_hold_limiter_tokens(serve):
    """A def background task answers at once but holds a limiter token while it sleeps."""
    server = serve(**LIMITED)
    start = time.monotonic()
    for _ in range(2):
        assert server.get("/background/sync?seconds=0.6")[0] == 200
    assert time.monotonic() - start < 0.6
    time.sleep(0.1)
    assert server.runtime()["thread_limiter_in_use"] >= 2
    time.sleep(0.7)
    assert server.runtime()["thread_limiter_in_use"] == 0


def test_async_background_tasks_hold_no_limiter_token(serve):
    """An async def background task answers at once and runs on the loop, not in the pool."""
    server = serve(**LIMITED)
    assert server.get("/background/async?seconds=0.5")[0] == 200
    assert server.runtime()["thread_limiter_in_use"] == 0


def test_limit_concurrency_rejects_the_excess_with_503(serve):
    """uvicorn --limit-concurrency 2 serves a request already in flight and answers 7 more
    arriving while it runs with 503."""
    server = serve(limit_concurrency=2, work_seconds=1.0)
    with ThreadPoolExecutor(1) as pool:
        # In flight before the others connect: 8 connections opened at once can all find
        # the limit reached (uvicorn counts connections too) and be shed, none served.
        first = pool.submit(server.get, "/io/async")
        time.sleep(0.3)
        _, statuses = server.burst("/io/async", 7)
        assert first.result()[0] == 200
    assert statuses == [503] * 7


def test_abandoned_requests_stay_in_flight_until_served(serve):
    """Requests whose client gave up still count in /runtime until the server has served them."""
    server = serve(**LIMITED)
    for _ in range(6):
        # The client gives up at once; the server keeps the work.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(server.url + "/io/sync?seconds=0.5", timeout=0.05)
    assert server.runtime()["requests_in_flight"] >= 4
    time.sleep(1.3)  # 6 sleeps of 0.5 s through 4 threads: 2 rounds
    assert server.runtime()["requests_in_flight"] == 0
