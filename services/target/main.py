"""The FastAPI app: one endpoint per way of doing work that the seeds compare.

Each handler is deliberately naive about its own style; the point of the lab is to measure
what the style costs, so nothing here works around the pools it runs on.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated

from anyio import to_thread
from fastapi import BackgroundTasks, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from loadlab.probe.wrap import InFlight
from loadlab.shared.service import ITERATIONS, SLEEP

from . import runtime
from .settings import Settings, SettingsError
from .work import burn_timed

# The settings' own bounds keep a bad query parameter from turning into a hung worker.
Seconds = Annotated[
    float | None,
    Query(ge=SLEEP.low, le=SLEEP.high, description="sleep length (default WORK_SECONDS)"),
]
Iterations = Annotated[
    int | None,
    Query(ge=ITERATIONS.low, le=ITERATIONS.high, description="loop count (default CPU_ITERATIONS)"),
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.thread_limit is not None:
        # The probe sets the same tokens from the same THREAD_LIMIT before this runs; this is
        # for the demo served bare (make serve: uvicorn target.main:app). The limiter is per
        # event loop, so it must be set on the loop that serves requests.
        to_thread.current_default_thread_limiter().total_tokens = settings.thread_limit
    app.state.executor = ThreadPoolExecutor(settings.executor_workers, thread_name_prefix="custom")
    # spawn, not fork: forking a process that already runs an event loop and threads is unsafe.
    app.state.processes = ProcessPoolExecutor(
        settings.process_workers, mp_context=multiprocessing.get_context("spawn")
    )
    try:
        yield
    finally:
        app.state.executor.shutdown(wait=False, cancel_futures=True)
        app.state.processes.shutdown(wait=False, cancel_futures=True)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _io_answer(endpoint: str, seconds: float) -> dict:
    return {"endpoint": endpoint, "seconds": seconds, "thread": threading.current_thread().name}


def _cpu_answer(endpoint: str, iterations: int, result: int, cpu_seconds: float) -> dict:
    return {
        "endpoint": endpoint,
        "iterations": iterations,
        "result": result,
        "cpu_seconds": cpu_seconds,
    }


def _add_io_routes(app: FastAPI) -> None:
    @app.get("/io/async")
    async def io_async(request: Request, seconds: Seconds = None) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        await asyncio.sleep(s)
        return _io_answer("io/async", s)

    @app.get("/io/sync")
    def io_sync(request: Request, seconds: Seconds = None) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        time.sleep(s)
        return _io_answer("io/sync", s)

    @app.get("/io/threadpool")
    async def io_threadpool(request: Request, seconds: Seconds = None) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        await run_in_threadpool(time.sleep, s)
        return _io_answer("io/threadpool", s)

    @app.get("/io/executor-default")
    async def io_executor_default(request: Request, seconds: Seconds = None) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        await asyncio.get_running_loop().run_in_executor(None, time.sleep, s)
        return _io_answer("io/executor-default", s)

    @app.get("/io/executor-custom")
    async def io_executor_custom(request: Request, seconds: Seconds = None) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        await asyncio.get_running_loop().run_in_executor(request.app.state.executor, time.sleep, s)
        return _io_answer("io/executor-custom", s)

    @app.get("/io/blocking-in-async")
    async def io_blocking_in_async(request: Request, seconds: Seconds = None) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        time.sleep(s)  # the anti-pattern under test: this blocks the event loop
        return _io_answer("io/blocking-in-async", s)


def _add_cpu_routes(app: FastAPI) -> None:
    @app.get("/cpu/sync")
    def cpu_sync(request: Request, iterations: Iterations = None) -> dict:
        n = _settings(request).cpu_iterations if iterations is None else iterations
        return _cpu_answer("cpu/sync", n, *burn_timed(n))

    @app.get("/cpu/async")
    async def cpu_async(request: Request, iterations: Iterations = None) -> dict:
        n = _settings(request).cpu_iterations if iterations is None else iterations
        return _cpu_answer("cpu/async", n, *burn_timed(n))

    @app.get("/cpu/process")
    async def cpu_process(request: Request, iterations: Iterations = None) -> dict:
        n = _settings(request).cpu_iterations if iterations is None else iterations
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(request.app.state.processes, burn_timed, n)
        return _cpu_answer("cpu/process", n, *result)


def _sleep_sync(seconds: float) -> None:
    time.sleep(seconds)


async def _sleep_async(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _add_background_routes(app: FastAPI) -> None:
    @app.get("/background/sync")
    async def background_sync(
        request: Request, tasks: BackgroundTasks, seconds: Seconds = None
    ) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        tasks.add_task(_sleep_sync, s)  # a def task: runs in the anyio thread pool
        return {"endpoint": "background/sync", "scheduled_seconds": s}

    @app.get("/background/async")
    async def background_async(
        request: Request, tasks: BackgroundTasks, seconds: Seconds = None
    ) -> dict:
        s = _settings(request).work_seconds if seconds is None else seconds
        tasks.add_task(_sleep_async, s)  # an async def task: runs on the event loop
        return {"endpoint": "background/async", "scheduled_seconds": s}


def _add_meta_routes(app: FastAPI) -> None:
    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/runtime")
    async def runtime_info(request: Request) -> dict:
        return runtime.snapshot(
            _settings(request),
            **_pool_sizes(request.app),
            in_flight=request.app.state.in_flight[0] - 1,  # not counting this request
        )


def _pool_sizes(app: FastAPI) -> dict[str, int | None]:
    """The demo's own pools as made (None before the lifespan has made them)."""
    executor = getattr(app.state, "executor", None)
    processes = getattr(app.state, "processes", None)
    return {
        "custom_executor_workers": getattr(executor, "_max_workers", None),
        "process_workers": getattr(processes, "_max_workers", None),
    }


def _lab_facts(app: FastAPI) -> dict:
    """What the probe adds to /_lab/runtime for the demo (its defaults and its own pools)."""
    return runtime.demo_facts(app.state.settings, **_pool_sizes(app))


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="fastapi-concurrency-lab target", lifespan=lifespan)
    app.state.settings = settings
    app.state.in_flight = [0]  # one cell shared with the middleware; the loop is one thread
    app.state.lab_facts = lambda: _lab_facts(app)
    app.add_middleware(InFlight, counter=app.state.in_flight)
    _add_io_routes(app)
    _add_cpu_routes(app)
    _add_background_routes(app)
    _add_meta_routes(app)
    return app


def _app_from_env() -> FastAPI:
    # This module is the ASGI entry point (the edge), so a bad setting ends here as one line.
    try:
        return create_app(Settings.from_env())
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


app = _app_from_env()
