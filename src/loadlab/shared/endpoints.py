"""The target's endpoints as the driver knows them: path, Locust class, and kind of work."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    path: str  # without the leading slash, e.g. "io/sync"
    locust_class: str  # the user class in loadtests/locustfile.py
    kind: str  # "io", "cpu", "background" or "meta"


ENDPOINTS = {
    e.path: e
    for e in (
        Endpoint("io/async", "IoAsync", "io"),
        Endpoint("io/sync", "IoSync", "io"),
        Endpoint("io/threadpool", "IoThreadpool", "io"),
        Endpoint("io/executor-default", "IoExecutorDefault", "io"),
        Endpoint("io/executor-custom", "IoExecutorCustom", "io"),
        Endpoint("io/blocking-in-async", "IoBlockingInAsync", "io"),
        Endpoint("cpu/sync", "CpuSync", "cpu"),
        Endpoint("cpu/async", "CpuAsync", "cpu"),
        Endpoint("cpu/process", "CpuProcess", "cpu"),
        Endpoint("background/sync", "BackgroundSync", "background"),
        Endpoint("background/async", "BackgroundAsync", "background"),
        Endpoint("health", "Health", "meta"),
    )
}
