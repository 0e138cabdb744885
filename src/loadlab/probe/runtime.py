"""What this process actually runs with: the facts /_lab/runtime (and the demo's /runtime)
report.

The lab never trusts the configuration it asked for; it reads these back from inside the
container, so a CPU limit that did not take effect is caught before anything is measured.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Protocol

from anyio import to_thread

PACKAGES = (
    "fastapi",
    "starlette",
    "anyio",
    "uvicorn",
    "gunicorn",
    "uvicorn-worker",
    "uvloop",
    "httptools",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")


class Served(Protocol):
    """The settings a document reports: the probe's ServerSettings, or the demo's Settings."""

    workers: int | str
    limit_concurrency: int | None
    thread_limit: int | None

    def worker_count(self) -> int: ...


def cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """Effective CPUs granted by the cgroup CPU quota (v2 or v1); None when unlimited or unknown."""
    v2 = root / "cpu.max"
    if v2.is_file():
        quota, _, period = v2.read_text().strip().partition(" ")
        if quota == "max":
            return None
        return int(quota) / int(period or 100_000)
    for v1 in (root / "cpu,cpuacct", root / "cpu"):
        quota_file = v1 / "cpu.cfs_quota_us"
        if quota_file.is_file():
            quota_us = int(quota_file.read_text())
            if quota_us <= 0:
                return None
            return quota_us / int((v1 / "cpu.cfs_period_us").read_text())
    return None


def default_executor(loop: asyncio.AbstractEventLoop) -> tuple[int | None, str]:
    """Threads of ``loop``'s default executor, and "read" or "computed" for where that came from."""
    # asyncio's loops keep it in a Python attribute; uvloop's Loop in a C field Python cannot
    # name, but the loop reports it to the garbage collector like any object it holds.
    executor = getattr(loop, "_default_executor", None) or next(
        (r for r in gc.get_referents(loop) if isinstance(r, Executor)), None
    )
    if executor is not None:
        return getattr(executor, "_max_workers", None), "read"
    # Not made yet: the first run_in_executor(None, ...) makes it, in asyncio and in uvloop
    # alike (uvloop/loop.pyx: cc_ThreadPoolExecutor(thread_name_prefix='uvloop'), i.e.
    # concurrent.futures.ThreadPoolExecutor without max_workers). One built here sizes itself
    # by the same interpreter rule (3.13 counts os.process_cpu_count(), 3.11 os.cpu_count())
    # and starts no thread until something is submitted.
    probe = ThreadPoolExecutor()
    try:
        return probe._max_workers, "computed"
    finally:
        probe.shutdown(wait=False)


def process_cpu_count() -> dict[str, int | None]:
    """os.process_cpu_count() (3.13+: the CPUs this process may run on), absent before 3.13."""
    count = getattr(os, "process_cpu_count", None)
    return {} if count is None else {"process_cpu_count": count()}


def server_name() -> str:
    """Which server imported us: gunicorn's workers also import uvicorn, so test gunicorn first."""
    return "gunicorn" if "gunicorn" in sys.modules else "uvicorn"


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def event_loop_name() -> str:
    loop = asyncio.get_running_loop()
    return f"{type(loop).__module__}.{type(loop).__qualname__}"


def snapshot(settings: Served, *, in_flight: int) -> dict:
    """The facts of this process; must be called on the event loop (the limiter is per loop)."""
    limiter = to_thread.current_default_thread_limiter()
    default_workers, default_source = default_executor(asyncio.get_running_loop())
    return {
        "pid": os.getpid(),
        "server": server_name(),
        "workers_setting": settings.workers,
        "workers": settings.worker_count(),
        "limit_concurrency": settings.limit_concurrency,
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "versions": versions(),
        "event_loop": event_loop_name(),
        "cpu_count": os.cpu_count(),
        **process_cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu_quota": cpu_quota(),
        # This worker's own CPU time (not its siblings', not its child processes'): two
        # readings around a window give the CPU a request really cost here.
        "process_cpu_seconds": time.process_time(),
        "thread_limit_setting": settings.thread_limit,
        "thread_limiter_tokens": limiter.total_tokens,
        "thread_limiter_in_use": limiter.borrowed_tokens,
        "default_executor_workers": default_workers,
        "default_executor_source": default_source,
        "active_threads": threading.active_count(),
        "requests_in_flight": in_flight,
    }
