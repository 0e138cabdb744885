"""What must hold before a Locust run starts: the limits in effect, a correct answer, an idle
target. (What a request costs, the CPU model's input, is measured in model/calibration.py.)"""

from __future__ import annotations

import math
import time

from target.work import expected_burn

from loadlab.errors import EngineError, PointError
from loadlab.plan.placement import Placement, parse_cpuset
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
