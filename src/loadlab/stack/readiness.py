"""What must hold before a Locust run starts: the limits in effect, a correct answer, an idle
target; and, for the CPU model, what one request costs, read from the service itself."""

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
from dataclasses import dataclass
from itertools import pairwise

from target.work import expected_burn

from loadlab.errors import EngineError, PointError
from loadlab.plan.placement import Placement, parse_cpuset
from loadlab.shared.endpoints import ENDPOINTS
from loadlab.stack import cgroups
from loadlab.stack.compose import get_json

IDLE_TIMEOUT = 120.0


def check_limits(runtime: dict, placement: Placement) -> None:
    """Fail the point unless the container really has the CPU quota and cpuset asked for."""
    quota, affinity = runtime.get("cpu_quota"), runtime.get("affinity")
    if quota is None or not math.isclose(quota, placement.cpus, rel_tol=1e-6):
        raise PointError(
            f"CPU limit not in effect: asked cpus={placement.cpus:g}, "
            f"/runtime reports cpu_quota={quota}"
        )
    wanted = len(parse_cpuset(placement.target_cpuset))
    if affinity != wanted:
        raise PointError(
            f"cpuset not in effect: asked {placement.target_cpuset!r} "
            f"({wanted} cores), /runtime reports affinity {affinity}"
        )


def check_answer(url: str, endpoint: str) -> dict:
    """One request, checked for a correct answer, before the endpoint is put under load."""
    return checked(endpoint, get_json(f"{url}/{endpoint}", timeout=120))


def checked(endpoint: str, answer: dict) -> dict:
    """``answer`` if it is the right one for ``endpoint``; PointError otherwise."""
    if ENDPOINTS[endpoint].kind == "cpu":
        want = expected_burn(int(answer.get("iterations", 0)))
        if answer.get("result") != want:
            raise PointError(f"/{endpoint} answered result={answer.get('result')}, want {want}")
    elif ENDPOINTS[endpoint].kind != "meta" and answer.get("endpoint") != endpoint:
        raise PointError(f"/{endpoint} answered for {answer.get('endpoint')!r}")
    return answer


def wait_idle(url: str, timeout: float = IDLE_TIMEOUT) -> dict:
    """Wait until no request is in flight and return the last (idle) /runtime document.

    Two idle reads in a row per worker process, since each read reaches one of them."""
    deadline, idle_reads, runtime = time.monotonic() + timeout, 0, {}
    while idle_reads < 2 * int(runtime.get("workers") or 1):
        if time.monotonic() > deadline:
            raise PointError(f"target still busy after {timeout:g} s (abandoned requests?)")
        try:
            runtime = get_json(url + "/runtime", timeout=timeout)
            busy = runtime.get("requests_in_flight", 0)
        except EngineError:
            busy = 1
        idle_reads = idle_reads + 1 if busy == 0 else 0
        if busy:
            time.sleep(0.2)
    return runtime


# Per stream: requests that warm the core and the server's pools, then batches of counted ones.
WARM, BATCHES, PER_BATCH = 3, 5, 6


@dataclass(frozen=True)
class CpuCost:
    """What one request of a /cpu endpoint costs the container: the median over batches, and
    each batch's own figure (their spread is the calibration's precision)."""

    seconds: float
    batches: tuple[float, ...]


def cpu_cost_of(url: str, endpoint: str, container_id: str | None, streams: int = 1,
                client_cpus: set[int] | None = None) -> CpuCost | None:  # fmt: skip
    """The CPU seconds one request of a /cpu endpoint costs the whole container (framework,
    server and the loop itself), read from its cgroup around batches of requests sent on
    ``streams`` concurrent keep-alive connections, after a few that warm the core and the
    server's pools; each answer is checked.

    The streams are sent as Locust sends: on open connections (a new connection per request
    would add the server's accept and set-up to each), one more than can run at once, so the
    CPU stays busy as under load (an idle virtual CPU runs slower; sequential requests left
    the model up to 45 % off at 0.25 CPU), and from ``client_cpus``, Locust's cores, so the
    client never competes with the target for its core, as Locust does not. The median
    batch stands against a one-off burst (a collection, a timer) landing in the count: one
    batch in five often reads 15-33 % high, and one unpinned count read 11.3 ms against
    9.5 ms under load in CI. None for other endpoints, or when the cgroup cannot be read;
    then the service's own per-request ``cpu_seconds`` (the loop alone) is the fallback."""
    check_answer(url, endpoint)
    if ENDPOINTS[endpoint].kind != "cpu":
        return None
    files = cgroups.locate(container_id) if container_id else None
    marks: list[float | None] = []

    def mark() -> None:  # run by one stream while all wait at a batch boundary
        reading = cgroups.read(files) if files else None
        marks.append(reading.cpu_usage_s if reading else None)

    barrier = threading.Barrier(streams, action=mark)
    with ThreadPoolExecutor(streams) as pool:
        # The warm-up runs on the same streams as the count: a process pool starts its workers
        # on demand, and a start-up (fork and imports) inside the count doubled cpu/process's cost.
        done = pool.map(lambda _: _stream(url, endpoint, barrier, client_cpus), range(streams))
        answers = [answer for stream in done for answer in stream]
    if marks and None not in marks:
        costs = [(b - a) / (streams * PER_BATCH) for a, b in pairwise(marks)]
        return CpuCost(statistics.median(costs), tuple(costs))
    costs = [a["cpu_seconds"] for a in answers if a.get("cpu_seconds") is not None]
    return CpuCost(statistics.median(costs), ()) if costs else None


def _stream(url: str, endpoint: str, barrier: threading.Barrier,
            client_cpus: set[int] | None) -> list[dict]:  # fmt: skip
    """One keep-alive connection: the warm-up, then ``BATCHES`` batches of counted answers,
    each batch begun and ended at ``barrier`` (where the cgroup is read)."""
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)  # this thread only (Linux)
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        _send(connection, parts.path, endpoint, WARM)
        answers = []
        for _ in range(BATCHES):
            barrier.wait()
            answers += _send(connection, parts.path, endpoint, PER_BATCH)
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
