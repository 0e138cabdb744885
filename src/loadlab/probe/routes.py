"""The lab's own paths, answered by the probe in plain ASGI (no framework of the app's).

    GET /_lab/runtime                         this process's runtime document
    GET /_lab/lag?since=EPOCH_S&until=EPOCH_S the event-loop lag over that wall-clock range

Both are per process: with several workers, the one that answers is the one described (its
"pid" says which).
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from loadlab.probe.lag import summarize

if TYPE_CHECKING:
    from loadlab.probe.wrap import Probe

PREFIX = "/_lab"


def reserved(path: str) -> bool:
    """Whether ``path`` is the lab's: /_lab itself or anything under /_lab/."""
    return path == PREFIX or path.startswith(PREFIX + "/")


async def answer(probe: Probe, scope: dict, send: Any) -> None:
    path = scope["path"]
    if scope["method"] != "GET":
        return await _json(send, 405, {"error": f"{path} answers GET only"})
    if path == PREFIX + "/runtime":
        return await _json(send, 200, probe.document())
    if path == PREFIX + "/lag":
        try:
            since, until = _range(scope.get("query_string", b""))
        except ValueError as exc:
            return await _json(send, 400, {"error": str(exc)})
        return await _json(send, 200, lag_document(probe, since, until))
    await _json(send, 404, {"error": f"no lab path {path} (there are /_lab/runtime, /_lab/lag)"})


def lag_document(probe: Probe, since: float, until: float) -> dict:
    """The lag samples of ``since`` to ``until``, summarised. Sorting a long range (up to 20
    minutes of samples) takes a few milliseconds of this loop: ask after a window, not during."""
    busy = sorted(probe.monitor.ring.busy_between(since, until))
    return {
        "pid": os.getpid(),
        **summarize(probe.monitor.ring, since, until),
        "interval_ms": probe.monitor.interval * 1000,
        # How many of the thread limiter's tokens were held, sampled at each tick.
        "tokens_in_use_p50": busy[len(busy) // 2] if busy else None,
        "tokens_in_use_max": busy[-1] if busy else None,
    }


def _range(query_string: bytes) -> tuple[float, float]:
    """since and until from the query (epoch seconds); absent: from the first to the last."""
    query = parse_qs(query_string.decode("latin-1"))
    return _epoch(query, "since", -math.inf), _epoch(query, "until", math.inf)


def _epoch(query: dict[str, list[str]], name: str, default: float) -> float:
    values = query.get(name)
    if not values:
        return default
    try:
        value = float(values[-1])
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a time in epoch seconds, got {values[-1]!r}")
    return value


async def _json(send: Any, status: int, body: dict) -> None:
    payload = json.dumps(body, default=str).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
