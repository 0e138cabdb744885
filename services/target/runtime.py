"""The demo's /runtime: the probe's facts of this process, plus the demo's own.

The generic facts (CPUs, quota, pools, versions) are the probe's (loadlab.probe.runtime), so
the demo's /runtime and any app's /_lab/runtime are read the same way; they are re-exported
here for the demo's tests. The demo adds what only it has: its defaults and its own pools.
"""

from __future__ import annotations

from loadlab.probe.runtime import (
    PACKAGES,
    cpu_quota,
    default_executor,
    event_loop_name,
    process_cpu_count,
    server_name,
    versions,
)
from loadlab.probe.runtime import snapshot as process_facts

from .settings import Settings

__all__ = [
    "PACKAGES",
    "cpu_quota",
    "default_executor",
    "demo_facts",
    "event_loop_name",
    "process_cpu_count",
    "server_name",
    "snapshot",
    "versions",
]


def demo_facts(
    settings: Settings, *, custom_executor_workers: int | None, process_workers: int | None
) -> dict:
    """What the demo adds to the probe's document (its state.lab_facts); the pools' sizes as
    read from the pools (None before the lifespan has made them)."""
    return {
        "custom_executor_workers": custom_executor_workers,
        "process_workers": process_workers,
        "limit_concurrency": settings.limit_concurrency,
        "work_seconds": settings.work_seconds,
        "cpu_iterations": settings.cpu_iterations,
    }


def snapshot(
    settings: Settings,
    *,
    custom_executor_workers: int | None,
    process_workers: int | None,
    in_flight: int,
) -> dict:
    """The /runtime document; must be called on the event loop (the limiter is per loop)."""
    pools = {"custom_executor_workers": custom_executor_workers, "process_workers": process_workers}
    return {**process_facts(settings, in_flight=in_flight), **demo_facts(settings, **pools)}
