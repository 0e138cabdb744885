"""The lab's load: one closed-loop Locust user class per endpoint of the target.

Pick a class by name on the command line (``locust -f locustfile.py IoSync``); ``--list``
shows them all. Users wait for each answer and ask again at once (no think time), which is
the closed loop the lab's model assumes: throughput = min(users, pool) / service time.

Besides Locust's own CSV and HTML reports, every worker writes its raw samples (one row per
request: end time, response time, outcome) to $LAB_SAMPLES_DIR when the test stops, so the
lab computes exact statistics over its measured window, warmup excluded.
"""

from __future__ import annotations

import csv
import os
import socket
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

# endpoint path -> user class name; the driver relies on this mapping (loadlab.endpoints).
ENDPOINTS = {
    "io/async": "IoAsync",
    "io/sync": "IoSync",
    "io/threadpool": "IoThreadpool",
    "io/executor-default": "IoExecutorDefault",
    "io/executor-custom": "IoExecutorCustom",
    "io/blocking-in-async": "IoBlockingInAsync",
    "cpu/sync": "CpuSync",
    "cpu/async": "CpuAsync",
    "cpu/process": "CpuProcess",
    "background/sync": "BackgroundSync",
    "background/async": "BackgroundAsync",
    "health": "Health",
}

_samples: list[tuple[float, float, str]] = []


def _user_class(path: str, name: str) -> type[FastHttpUser]:
    def hit(self: FastHttpUser) -> None:
        self.client.get("/" + path, name="/" + path)

    doc = f"Closed-loop user hitting GET /{path}."
    return type(
        name,
        (FastHttpUser,),
        {"wait_time": constant(0), "tasks": [task(hit)], "__doc__": doc, "__module__": __name__},
    )


for _path, _name in ENDPOINTS.items():
    globals()[_name] = _user_class(_path, _name)


@events.request.add_listener
def _record(response_time: float, exception: BaseException | None = None, **_: object) -> None:
    error = "" if exception is None else type(exception).__name__ + ": " + str(exception)[:120]
    _samples.append((time.time(), response_time, error))


@events.test_start.add_listener
def _schedule_reset(environment, **_: object) -> None:
    # Locust's own report should cover the measured window too, not the warmup.
    warmup = float(os.environ.get("LAB_WARMUP", "0"))
    if warmup > 0 and isinstance(environment.runner, MasterRunner):
        gevent.spawn_later(warmup, _reset_everywhere, environment)


def _reset_everywhere(environment) -> None:
    environment.runner.stats.reset_all()
    environment.runner.send_message("lab_reset_stats")


@events.init.add_listener
def _on_init(environment, **_: object) -> None:
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(
            "lab_reset_stats", lambda *_a, **_k: environment.runner.stats.reset_all()
        )


@events.test_stop.add_listener
def _write_samples(environment, **_: object) -> None:
    out = os.environ.get("LAB_SAMPLES_DIR")
    if not out or isinstance(environment.runner, MasterRunner):
        return
    path = Path(out) / f"samples-{socket.gethostname()}-{os.getpid()}.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["end_time", "response_ms", "error"])
        writer.writerows((f"{t:.6f}", f"{ms:.3f}", e) for t, ms, e in _samples)
    _samples.clear()
