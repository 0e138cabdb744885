"""The probe around an app: the limiter and the monitor on the serving loop, requests passed
through and counted, the lab's paths kept from the app, lifespan handed over or answered."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.probe.asgi import lifespan, request

# An app that does not speak lifespan at all, as many hand-written ASGI apps do not.
NO_LIFESPAN = """
async def app(scope, receive, send):
    assert scope["type"] == "http", scope["type"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"plain"})
"""
# One that reads the startup message, then gives up.
READS_THEN_RAISES = NO_LIFESPAN.replace(
    '    assert scope["type"] == "http", scope["type"]\n',
    '    if scope["type"] == "lifespan":\n'
    "        await receive()\n"
    '        raise NotImplementedError("no lifespan here")\n',
)
# A FastAPI app whose own startup fails: that is the app's failure, not "no lifespan".
FAILING_STARTUP = """
from contextlib import asynccontextmanager
from fastapi import FastAPI

@asynccontextmanager
async def lifespan(app):
    raise RuntimeError("database unreachable")
    yield

app = FastAPI(lifespan=lifespan)
"""
# A FastAPI app whose lifespan says whether it ran, and sets a limit of its own.
OWN_LIFESPAN = """
from contextlib import asynccontextmanager
from anyio import to_thread
from fastapi import FastAPI

@asynccontextmanager
async def lifespan(app):
    app.state.phases.append("startup")
    to_thread.current_default_thread_limiter().total_tokens = 4
    yield
    app.state.phases.append("shutdown")

app = FastAPI(lifespan=lifespan)
app.state.phases = []

@app.get("/tokens")
async def tokens():
    return {"tokens": to_thread.current_default_thread_limiter().total_tokens}
"""


def run(scenario):
    return asyncio.run(scenario())


def test_thread_limit_sets_the_limiter_of_the_serving_loop(probe):
    """THREAD_LIMIT=4: /_lab/runtime reads 4 tokens, and 8 concurrent 0.1 s def handlers
    take two rounds (>= 0.2 s), not one."""
    app = probe(THREAD_LIMIT="4")

    async def scenario():
        async with lifespan(app):
            info = (await request(app, "/_lab/runtime")).json()
            start = time.monotonic()
            answers = await asyncio.gather(*(request(app, "/sync?seconds=0.1") for _ in range(8)))
            return info, time.monotonic() - start, answers

    info, elapsed, answers = run(scenario)
    assert (info["thread_limiter_tokens"], info["thread_limit_setting"]) == (4, 4)
    assert [a.status for a in answers] == [200] * 8
    assert elapsed >= 0.2


def test_without_thread_limit_anyio_keeps_its_default(probe):
    """No THREAD_LIMIT: the limiter keeps anyio's own 40 tokens, and the setting reads None."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            return (await request(app, "/_lab/runtime")).json()

    info = run(scenario)
    assert (info["thread_limiter_tokens"], info["thread_limit_setting"]) == (40, None)


def test_the_apps_own_routes_answer_through_the_probe(probe):
    """A request to the app's own route gets the app's own answer."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            return await request(app, "/hello")

    answer = run(scenario)
    assert (answer.status, answer.json()) == (200, {"hello": "world"})


@pytest.mark.parametrize("path", ["/_lab/runtime", "/_lab/lag", "/_lab/nothing", "/_lab"])
def test_lab_paths_never_reach_the_app(probe, path):
    """Every path under /_lab/ is the probe's (a 404 of its own if unknown); the app's
    catch-all route sees none of them, and still sees its own."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            lab = await request(app, path)
            own = await request(app, "/_labs")  # not the lab's: only /_lab and /_lab/...
            return lab, own

    lab, own = run(scenario)
    assert lab.status in (200, 404) and "reached" not in lab.json()
    assert own.json() == {"reached": "_labs"}
    assert app.app.state.reached == ["/_labs"]


def test_requests_in_flight_are_counted_while_they_run(probe):
    """A request still being served counts; the lab's own requests and finished ones do not."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            slow = asyncio.ensure_future(request(app, "/sync?seconds=0.3"))
            await asyncio.sleep(0.1)
            during = (await request(app, "/_lab/runtime")).json()["requests_in_flight"]
            await slow
            after = (await request(app, "/_lab/runtime")).json()["requests_in_flight"]
            return during, after

    assert run(scenario) == (1, 0)


@pytest.mark.parametrize("source", [NO_LIFESPAN, READS_THEN_RAISES])
def test_an_app_without_lifespan_still_starts_and_serves(probe, source):
    """An app that raises on the lifespan scope (before or after reading startup) gets its
    startup and shutdown answered by the probe, and still serves its requests."""
    app = probe(source, THREAD_LIMIT="3")

    async def scenario():
        async with lifespan(app) as sent:
            answer = await request(app, "/anything")
            info = (await request(app, "/_lab/runtime")).json()
        return sent, answer, info

    sent, answer, info = run(scenario)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert (answer.status, answer.body) == (200, b"plain")
    assert info["thread_limiter_tokens"] == 3


def test_a_server_without_lifespan_sets_up_at_the_first_request(probe):
    """With no lifespan at all (uvicorn --lifespan off), the first request sets the limiter
    and starts the monitor on its loop."""
    app = probe(NO_LIFESPAN, THREAD_LIMIT="5")

    async def scenario():
        await request(app, "/first")
        await asyncio.sleep(0.1)
        info = (await request(app, "/_lab/runtime")).json()
        lag = (await request(app, "/_lab/lag")).json()
        app.monitor.stop()
        return info, lag

    info, lag = run(scenario)
    assert info["thread_limiter_tokens"] == 5
    assert lag["samples"] >= 2


def test_the_apps_own_lifespan_runs_unchanged(probe):
    """An app's lifespan runs at startup and shutdown; a limit it sets itself wins over none."""
    app = probe(OWN_LIFESPAN)

    async def scenario():
        async with lifespan(app):
            return (await request(app, "/tokens")).json()

    assert run(scenario) == {"tokens": 4}
    assert app.app.state.phases == ["startup", "shutdown"]


def test_an_apps_failing_startup_is_reported_not_answered(probe):
    """An app that speaks lifespan and fails its startup is not papered over: its failure
    reaches the server (lifespan.startup.failed, then the exception)."""
    app = probe(FAILING_STARTUP)

    async def scenario():
        async with lifespan(app):
            pass

    with pytest.raises(RuntimeError, match=r"lifespan\.startup\.failed"):
        run(scenario)


def test_the_monitor_stops_with_the_lifespan(probe):
    """After shutdown the lag monitor records nothing more."""
    app = probe()

    async def scenario():
        async with lifespan(app):
            await asyncio.sleep(0.1)
        count = app.monitor.ring.count
        await asyncio.sleep(0.1)
        return count, app.monitor.ring.count

    before, after = run(scenario)
    assert before >= 2 and after == before
