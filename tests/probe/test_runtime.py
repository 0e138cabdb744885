"""/_lab/runtime: the keys the lab reads, and the facts an app adds of its own."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.probe.asgi import lifespan, request

KEYS = {
    "pid", "server", "workers_setting", "workers", "limit_concurrency", "python",
    "implementation", "versions", "event_loop", "cpu_count", "affinity", "cpu_quota",
    "process_cpu_seconds", "thread_limiter_tokens", "thread_limiter_in_use",
    "default_executor_workers", "default_executor_source", "active_threads",
    "requests_in_flight", "app", "thread_limit_setting",
} | ({"process_cpu_count"} if sys.version_info >= (3, 13) else set())  # fmt: skip

WITH_FACTS = """
from fastapi import FastAPI

app = FastAPI()
app.state.lab_facts = lambda: {"pool_size": 7, "pid": -1, "cpu_count": -1}
"""
BROKEN_FACTS = """
from fastapi import FastAPI

def facts():
    raise KeyError("pool")

app = FastAPI()
app.state.lab_facts = facts
"""


def document(app) -> dict:
    async def scenario():
        async with lifespan(app):
            return (await request(app, "/_lab/runtime")).json()

    return asyncio.run(scenario())


def test_the_document_has_the_keys_the_lab_reads(probe):
    """Exactly the demo's /runtime keys of the process (process_cpu_count from 3.13), plus the
    app served and the THREAD_LIMIT asked for."""
    app = probe(WORKERS="auto", LIMIT_CONCURRENCY="50")
    info = document(app)
    assert set(info) == KEYS
    assert info["app"] == app.name and info["app"].endswith(":app")
    assert (info["workers_setting"], info["workers"]) == ("auto", os.cpu_count())
    assert info["limit_concurrency"] == 50 and info["pid"] == os.getpid()
    assert info["versions"]["anyio"] and info["versions"]["fastapi"]


def test_an_app_adds_facts_but_never_replaces_the_probes(probe):
    """state.lab_facts() is merged in: its new keys appear, keys the probe read stay the
    probe's."""
    info = document(probe(WITH_FACTS))
    assert info["pool_size"] == 7
    assert info["pid"] == os.getpid() and info["cpu_count"] == os.cpu_count()


def test_failing_app_facts_leave_the_document_readable(probe):
    """A lab_facts that raises costs its own facts only, named in lab_facts_error."""
    info = document(probe(BROKEN_FACTS))
    assert info["lab_facts_error"] == "KeyError: 'pool'"
    assert set(info) >= KEYS
