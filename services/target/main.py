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
from starlette.types import ASGIApp, Receive, Scope, Send

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
        # The limiter is per event loop, so it must be set on the loop that serves requests.
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


class InFlight:
    """Counts requests still being served, including ones whose client already gave up.

    A load test that stops mid-queue leaves abandoned work behind (uvicorn does not cancel a
    handler when its client disconnects); the lab waits for this to reach zero between points.
    """

    def __init__(self, app: ASGIApp, counter: list[int]) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.counter[0] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter[0] -= 1


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
        settings = _settings(request)
        return runtime.snapshot(
            settings,
            custom_executor_workers=request.app.state.executor._max_workers,
            process_workers=settings.process_workers,
            in_flight=request.app.state.in_flight[0] - 1,  # not counting this request
        )


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="fastapi-concurrency-lab target", lifespan=lifespan)
    app.state.settings = settings
    app.state.in_flight = [0]  # one cell shared with the middleware; the loop is one thread
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
