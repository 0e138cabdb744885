"""What must hold before a Locust run (stack/readiness.py), against a real server on loopback:
an idle target and a correct answer."""

from __future__ import annotations

import threading
import time

import pytest
from target.work import expected_burn

from loadlab.errors import PointError
from loadlab.stack.readiness import check_demo, wait_idle


@pytest.fixture(scope="module")
def server(serve):
    return serve(work_seconds=0.01, cpu_iterations=1000)


def slow_request(server, seconds: float) -> threading.Thread:
    """A /io/sync request of ``seconds`` in a thread, returned once the server counts it."""
    thread = threading.Thread(target=server.get, args=(f"/io/sync?seconds={seconds}",))
    thread.start()
    deadline = time.monotonic() + 5
    while server.runtime()["requests_in_flight"] == 0:
        assert time.monotonic() < deadline, "the slow request never arrived"
        time.sleep(0.01)
    return thread


def test_an_idle_target_gives_its_runtime_document(server):
    """With nothing in flight wait_idle returns the target's idle /runtime document."""
    runtime = wait_idle(server.url, timeout=10)
    assert runtime["requests_in_flight"] == 0
    assert runtime["server"] == "uvicorn" and runtime["work_seconds"] == 0.01


def test_it_waits_while_a_request_is_in_flight(server):
    """A 1.5 s request in flight: wait_idle returns only after it has been answered."""
    began = time.monotonic()
    thread = slow_request(server, 1.5)
    runtime = wait_idle(server.url, timeout=10)
    assert time.monotonic() - began >= 1.5
    assert runtime["requests_in_flight"] == 0
    thread.join(timeout=10)


def test_a_target_that_stays_busy_fails_the_point_after_the_timeout(server):
    """A 2 s request against a 0.5 s timeout: PointError after about 0.5 s, not at its end."""
    thread = slow_request(server, 2.0)
    began = time.monotonic()
    with pytest.raises(PointError, match=r"target still busy after 0.5 s"):
        wait_idle(server.url, timeout=0.5)
    assert 0.5 <= time.monotonic() - began < 1.5
    thread.join(timeout=10)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("io/sync", {"endpoint": "io/sync", "seconds": 0.01}),
        ("cpu/sync", {"endpoint": "cpu/sync", "iterations": 1000, "result": expected_burn(1000)}),
        ("health", {"status": "ok"}),
    ],
)
def test_the_right_answer_is_accepted_and_returned(server, endpoint, expected):
    """Each kind of endpoint's own answer (io, cpu, meta) passes the check and is returned."""
    answer = check_demo(server.url, endpoint)
    assert {k: answer[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("answering", "endpoint", "message"),
    [
        ("io/async", "io/sync", r"^/io/sync answered for 'io/async'$"),
        ("io/sync", "cpu/sync", r"^/cpu/sync answered result=None, want 0$"),
    ],
)
def test_an_answer_for_another_endpoint_fails_the_point(server, answering, endpoint, message):
    """A target answering for another endpoint (a misrouted path) fails with the endpoint named."""
    # The check asks for <url>/<endpoint>; a query string makes that path reach ``answering``.
    misrouted = f"{server.url}/{answering}?misrouted="
    with pytest.raises(PointError, match=message):
        check_demo(misrouted, endpoint)
