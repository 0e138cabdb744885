"""The CPU model's one measured input: what a request costs the container, measured the way
the load will run, on the same container, just before the Locust run (never from its window).

The cost is the container's cgroup CPU over batches of requests sent on as many concurrent
keep-alive streams as the step has users, so the requests share the server's processes and
their GILs as they will under load: the same request costs more CPU the more requests share a
process (threads taking turns on the GIL every 5 ms), 2-10 % more at 40-120 users than at a
few. The streams are sent as Locust sends: on open connections (a new connection per request
would add the server's accept and set-up to each), and from ``client_cpus``, Locust's cores,
so the client never competes with the target for its core, as Locust does not. After a warm-up
on the same streams (a process pool starts its workers on demand: a start-up inside the count
doubled cpu/process's cost) come BATCHES batches between barriers, where the cgroup is read;
the median batch stands against a one-off burst (a collection, a timer) landing in the count.

The I/O models' one measured input is the service time S: the answers of an I/O endpoint at
low load, sent one at a time on one keep-alive connection after a warm-up, the median taken.
The server's own S is longer than the sleep it is asked for (framework, server, the round
trip Locust sees too: about 1.5 % at 0.2 s here), and near saturation waiting time grows as
1 / (1 - utilisation), so the nominal S alone moves an open-loop model by tens of per cent.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import statistics
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

from loadlab.errors import PointError
from loadlab.model import closed_loop
from loadlab.plan.matrix import Point
from loadlab.shared.endpoints import ENDPOINTS
from loadlab.stack import cgroups
from loadlab.stack.readiness import check_demo, checked

BATCHES = 5
# Requests in all streams together: enough for a batch to average over many GIL switches,
# and at least a few per stream, so a batch is not mostly its own ramp and drain.
WARM_TOTAL, BATCH_TOTAL = 12, 24
MIN_WARM, MIN_PER_BATCH = 1, 2
SERVICE_WARM, SERVICE_SAMPLES = 1, 7  # one at a time: 8 x S of wall time per container


@dataclass(frozen=True)
class CpuCost:
    """What one request of a /cpu endpoint costs the container: the median over batches, each
    batch's own figure (their spread is the calibration's precision), and the concurrency it
    was measured at."""

    seconds: float
    batches: tuple[float, ...]
    streams: int | None = None  # None: not recorded (runs before it was)


def streams_for(point: Point, runtime: dict) -> int:
    """As many streams as the step has users: the concurrency the load will run at. An open
    loop has no users: one stream more than requests that can run at once (the CPU busy)."""
    if point.users is not None:
        return point.users
    parallel = closed_loop.cpu_parallelism(point.endpoint, 10**6, runtime) or 1
    return math.ceil(parallel) + 1


@dataclass(frozen=True)
class ServiceTime:
    """An I/O endpoint's service time at low load: the median answer and every sample (their
    spread is the calibration's precision)."""

    seconds: float
    samples: tuple[float, ...]


@dataclass
class Calibrations:
    """Each step's CPU cost, measured once per container, endpoint and concurrency and reused
    by the container's later runs (repeats); ``seconds``: the wall time it took."""

    found: dict[tuple, CpuCost | None] = field(default_factory=dict)
    services: dict[tuple, ServiceTime] = field(default_factory=dict)
    seconds: float = 0.0

    def cost(self, url: str, container_id: str | None, point: Point, runtime: dict,
             client_cpus: set[int]) -> CpuCost | None:  # fmt: skip
        """The CPU cost of ``point``'s endpoint at its concurrency (None: not a /cpu one)."""
        if ENDPOINTS[point.endpoint].kind != "cpu":
            return None
        streams = streams_for(point, runtime)
        key = (point.variant, point.cpus, point.endpoint, streams, container_id)
        if key not in self.found:
            began = time.monotonic()
            self.found[key] = cpu_cost_of(url, point.endpoint, container_id, streams, client_cpus)
            self.seconds += time.monotonic() - began
        return self.found[key]

    def service(self, url: str, container_id: str | None, point: Point,
                client_cpus: set[int]) -> ServiceTime | None:  # fmt: skip
        """The service time of ``point``'s endpoint at low load (None: not an I/O one); one
        calibration per container and endpoint serves every step and repeat on it."""
        if ENDPOINTS[point.endpoint].kind != "io":
            return None
        key = (point.variant, point.cpus, point.endpoint, container_id)
        if key not in self.services:
            began = time.monotonic()
            self.services[key] = service_time_of(url, point.endpoint, client_cpus)
            self.seconds += time.monotonic() - began
        return self.services[key]


def service_time_of(url: str, endpoint: str, client_cpus: set[int] | None = None,
                    samples: int = SERVICE_SAMPLES) -> ServiceTime:  # fmt: skip
    """``samples`` answers of ``endpoint`` timed one at a time from the client's cores, after
    SERVICE_WARM untimed ones, on one keep-alive connection as Locust sends; each is checked."""
    found: list[float] = []

    def timed() -> None:
        connection, path = _connect(url, client_cpus)
        try:
            _send(connection, path, endpoint, SERVICE_WARM)
            for _ in range(samples):
                began = time.perf_counter()
                _send(connection, path, endpoint, 1)
                found.append(time.perf_counter() - began)
        except (OSError, ValueError) as exc:
            raise PointError(f"/{endpoint} failed while calibrating: {exc}") from None
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: the affinity stays there
        pool.submit(timed).result()
    return ServiceTime(statistics.median(found), tuple(found))


def sizes(streams: int) -> tuple[int, int]:
    """(warm-up, batch) requests per stream for ``streams`` concurrent streams."""
    warm = max(MIN_WARM, math.ceil(WARM_TOTAL / streams))
    return warm, max(MIN_PER_BATCH, math.ceil(BATCH_TOTAL / streams))


def cpu_cost_of(url: str, endpoint: str, container_id: str | None, streams: int = 1,
                client_cpus: set[int] | None = None) -> CpuCost | None:  # fmt: skip
    """The CPU seconds one request of a /cpu endpoint costs the whole container (framework,
    server and the loop itself) at ``streams`` requests at once; each answer is checked.

    None for other endpoints, or when the cgroup cannot be read and the service reports no
    ``cpu_seconds`` of its own (its loop alone: the fallback, which leaves out the framework)."""
    check_demo(url, endpoint)
    if ENDPOINTS[endpoint].kind != "cpu":
        return None
    files = cgroups.locate(container_id) if container_id else None
    marks: list[float | None] = []

    def mark() -> None:  # run by one stream while all wait at a batch boundary
        reading = cgroups.read(files) if files else None
        marks.append(reading.cpu_usage_s if reading else None)

    warm, per_batch = sizes(streams)
    barrier = threading.Barrier(streams, action=mark)
    with ThreadPoolExecutor(streams) as pool:
        sent = [pool.submit(_stream, url, endpoint, barrier, client_cpus, warm, per_batch)
                for _ in range(streams)]  # fmt: skip
        answers = [answer for stream in sent for answer in stream.result()]
    if marks and None not in marks:
        costs = [(b - a) / (streams * per_batch) for a, b in pairwise(marks)]
        return CpuCost(statistics.median(costs), tuple(costs), streams)
    costs = [a["cpu_seconds"] for a in answers if a.get("cpu_seconds") is not None]
    return CpuCost(statistics.median(costs), (), streams) if costs else None


def _stream(url: str, endpoint: str, barrier: threading.Barrier, client_cpus: set[int] | None,
            warm: int, per_batch: int) -> list[dict]:  # fmt: skip
    """One keep-alive connection: the warm-up, then BATCHES batches of counted answers, each
    batch begun and ended at ``barrier`` (where the cgroup is read)."""
    connection, path = _connect(url, client_cpus)
    try:
        _send(connection, path, endpoint, warm)
        answers = []
        for _ in range(BATCHES):
            barrier.wait()
            answers += _send(connection, path, endpoint, per_batch)
        barrier.wait()
        return answers
    except threading.BrokenBarrierError:
        raise PointError(f"/{endpoint} failed while calibrating (another stream failed)") from None
    except PointError:
        barrier.abort()  # the other streams stop at their next boundary instead of hanging
        raise
    except (OSError, ValueError) as exc:
        barrier.abort()
        raise PointError(f"/{endpoint} failed while calibrating: {exc}") from None
    finally:
        connection.close()


def _connect(url: str, client_cpus: set[int] | None) -> tuple[http.client.HTTPConnection, str]:
    """A keep-alive connection to ``url`` from the client's cores (this thread's affinity, as
    Locust's), and the path its requests go under."""
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)  # this thread only (Linux)
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=120), parts.path


def _send(connection: http.client.HTTPConnection, path: str, endpoint: str,
          count: int) -> list[dict]:  # fmt: skip
    """``count`` checked answers over ``connection``."""
    answers = []
    for _ in range(count):
        connection.request("GET", f"{path}/{endpoint}")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise PointError(f"/{endpoint} answered HTTP {response.status} while calibrating")
        answers.append(checked(endpoint, json.loads(body)))
    return answers
