"""What must hold before a Locust run starts: the limits in effect, a correct answer, an idle
target; and, for the CPU model, what one request costs, read from the service itself."""

from __future__ import annotations

import http.client
import json
import math
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from target.work import expected_burn

from . import telemetry
from .cpus import Placement, parse_cpuset
from .endpoints import ENDPOINTS
from .errors import EngineError, PointError
from .stack import get_json

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


WARM, CALIBRATE = 3, 12  # requests that warm the core, then the ones counted (per stream)


def cpu_cost_of(url: str, endpoint: str, container_id: str | None,
                streams: int = 1) -> float | None:  # fmt: skip
    """The CPU seconds one request of a /cpu endpoint costs the whole container (framework,
    server and the loop itself), read from its cgroup over ``streams`` concurrent keep-alive
    streams of a dozen requests each, after a few that warm the core and the server's pools;
    each answer is checked.

    Streams are what Locust sends: requests on open connections (a new connection per request
    would add the server's accept and set-up to each), one more than can run at once, so the
    CPU stays busy as under load (an idle virtual CPU runs slower; sequential requests left
    the model up to 45 % off at 0.25 CPU). None for other endpoints, or when the cgroup
    cannot be read; then the service's own per-request ``cpu_seconds`` (the loop alone) is
    the fallback."""
    check_answer(url, endpoint)
    if ENDPOINTS[endpoint].kind != "cpu":
        return None
    # The warm-up runs as many streams as the count: a process pool starts its workers on
    # demand, and a start-up (fork and imports) inside the count doubled cpu/process's cost.
    _streams(url, endpoint, streams, WARM)
    files = telemetry.locate(container_id) if container_id else None
    before = telemetry.read(files) if files else None
    answers = _streams(url, endpoint, streams, CALIBRATE)
    after = telemetry.read(files) if files else None
    if before and after and before.cpu_usage_s is not None and after.cpu_usage_s is not None:
        return (after.cpu_usage_s - before.cpu_usage_s) / len(answers)
    costs = sorted(a["cpu_seconds"] for a in answers if a.get("cpu_seconds") is not None)
    return costs[len(costs) // 2] if costs else None


def _streams(url: str, endpoint: str, streams: int, count: int) -> list[dict]:
    """``count`` checked answers on each of ``streams`` concurrent keep-alive connections."""
    with ThreadPoolExecutor(streams) as pool:
        done = pool.map(lambda _: _stream(url, endpoint, count), range(streams))
        return [answer for stream in done for answer in stream]


def _stream(url: str, endpoint: str, count: int) -> list[dict]:
    """``count`` checked answers over one keep-alive connection."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        answers = []
        for _ in range(count):
            connection.request("GET", f"{parts.path}/{endpoint}")
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise PointError(f"/{endpoint} answered HTTP {response.status} while calibrating")
            answers.append(checked(endpoint, json.loads(body)))
        return answers
    except (OSError, ValueError) as exc:
        raise PointError(f"/{endpoint} failed while calibrating: {exc}") from None
    finally:
        connection.close()
