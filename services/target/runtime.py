"""What this process actually runs with: the facts /runtime reports.

The lab never trusts the configuration it asked for; it reads these back from inside the
container, so a CPU limit that did not take effect is caught before anything is measured.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from importlib import metadata
from pathlib import Path

from anyio import to_thread

from .settings import Settings

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


def default_executor_workers() -> int:
    """Threads the asyncio default executor has (or will get) in this process."""
    loop = asyncio.get_running_loop()
    executor = getattr(loop, "_default_executor", None)
    if executor is not None:
        return executor._max_workers
    # What concurrent.futures.ThreadPoolExecutor() picks when max_workers is None (3.8+).
    return min(32, (os.cpu_count() or 1) + 4)


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


def snapshot(
    settings: Settings, *, custom_executor_workers: int, process_workers: int, in_flight: int
) -> dict:
    """The /runtime document; must be called on the event loop (the limiter is per loop)."""
    limiter = to_thread.current_default_thread_limiter()
    return {
        "pid": os.getpid(),
        "server": server_name(),
        "workers": settings.workers,
        "limit_concurrency": settings.limit_concurrency,
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "versions": versions(),
        "event_loop": event_loop_name(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu_quota": cpu_quota(),
        "thread_limiter_tokens": limiter.total_tokens,
        "thread_limiter_in_use": limiter.borrowed_tokens,
        "default_executor_workers": default_executor_workers(),
        "custom_executor_workers": custom_executor_workers,
        "process_workers": process_workers,
        "active_threads": threading.active_count(),
        "requests_in_flight": in_flight,
        "work_seconds": settings.work_seconds,
        "cpu_iterations": settings.cpu_iterations,
    }
