"""What must hold before a Locust run starts: the limits in effect, a correct answer, an idle
target. (What a request costs, the CPU model's input, is measured in model/calibration.py.)"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request

from target.work import expected_burn

from loadlab.errors import EngineError, PointError
from loadlab.plan.placement import Placement, parse_cpuset
from loadlab.plan.target import LAG, RUNTIME, Target
from loadlab.shared.endpoints import ENDPOINTS
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


def check_answer(url: str, target: Target, endpoint: str, timeout: float = 120) -> bytes:
    """One request, as the target file describes it, checked for the expected status and
    body (and, on the demo, for a correct result), before the endpoint is put under load."""
    e = target.endpoint(endpoint)
    try:
        status, body = fetch(url + e.path, e.method, e.body, dict(e.headers), timeout=timeout)
    except PointError as exc:
        raise PointError(f"endpoint {e.name}: {exc}") from None
    wrong_body = e.expect_body is not None and e.expect_body.encode() not in body
    if status != e.expect_status or wrong_body:
        want = f"status {e.expect_status}" + (f" with {e.expect_body!r}" if e.expect_body else "")
        raise PointError(f"endpoint {e.name}: {e.method} {e.path} answered {status}, want {want}; "
                         f"it began {body[:80]!r}")  # fmt: skip
    if target.demo and endpoint in ENDPOINTS:
        checked(endpoint, json.loads(body))
    return body


def fetch(
    url: str, method: str = "GET", body: str | None = None,
    headers: dict[str, str] | None = None, timeout: float = 120,
) -> tuple[int, bytes]:  # fmt: skip
    """(status, body) of one request; an answer of any status is an answer."""
    data = body.encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except TimeoutError:
        raise PointError(f"{method} {url} did not answer within {timeout:g} s") from None
    except (OSError, ValueError) as exc:
        raise PointError(f"{method} {url} failed: {exc}") from None


def check_demo(url: str, endpoint: str) -> dict:
    """One request to the demo's ``endpoint``, its answer checked (``checked``) and returned."""
    return checked(endpoint, get_json(f"{url}/{endpoint}", timeout=120))


def checked(endpoint: str, answer: dict) -> dict:
    """``answer`` if it is the right one for the demo's ``endpoint``; PointError otherwise."""
    if ENDPOINTS[endpoint].kind == "cpu":
        want = expected_burn(int(answer.get("iterations", 0)))
        if answer.get("result") != want:
            raise PointError(f"/{endpoint} answered result={answer.get('result')}, want {want}")
    elif ENDPOINTS[endpoint].kind != "meta" and answer.get("endpoint") != endpoint:
        raise PointError(f"/{endpoint} answered for {answer.get('endpoint')!r}")
    return answer


def event_loop_lag(url: str, since: float, until: float, runtime: dict) -> dict | None:
    """How late the target's event loops woke a timer over [since, until] (the probe records
    it in every worker process): the worst process's p50, p99 and max. Each read reaches one
    worker, so read until every worker answered (or a few tries per worker)."""
    workers, seen = int(runtime.get("workers") or 1), {}
    for _ in range(4 * workers):
        try:
            lag = get_json(f"{url}{LAG}?since={since:.3f}&until={until:.3f}", timeout=10)
        except EngineError:
            return None
        seen[lag.get("pid")] = lag
        if len(seen) >= workers:
            break
    done = [v for v in seen.values() if v.get("samples")]
    if not done:
        return None
    worst = {k: max((v[k] for v in done if v.get(k) is not None), default=None)
             for k in ("p50_ms", "p99_ms", "max_ms")}  # fmt: skip
    # Tokens are per process: the server held their sum.
    for k in ("tokens_in_use_p50", "tokens_in_use_max"):
        held = [v[k] for v in done if v.get(k) is not None]
        worst[k] = sum(held) if held else None
    return {**worst, "samples": sum(v["samples"] for v in done), "processes": len(done),
            "interval_ms": done[0].get("interval_ms")}  # fmt: skip


def wait_idle(url: str, timeout: float = IDLE_TIMEOUT) -> dict:
    """Wait until no request is in flight and return the last (idle) /runtime document.

    Two idle reads in a row per worker process, since each read reaches one of them."""
    deadline, idle_reads, runtime = time.monotonic() + timeout, 0, {}
    while idle_reads < 2 * int(runtime.get("workers") or 1):
        if time.monotonic() > deadline:
            raise PointError(f"target still busy after {timeout:g} s (abandoned requests?)")
        try:
            runtime = get_json(url + RUNTIME, timeout=timeout)
            busy = runtime.get("requests_in_flight", 0)
        except EngineError:
            busy = 1
        idle_reads = idle_reads + 1 if busy == 0 else 0
        if busy:
            time.sleep(0.2)
    return runtime
