"""What the load sends: one endpoint of the target, or a weighted mix of several.

The driver encodes the requests of a series (from the target file, ``plan.target``) into
$LAB_REQUESTS; the Locust side (loadtests/locustfile.py, which has this module copied in)
decodes them and sends them, so the two sides read one format. Stdlib only.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

VARIABLE = "LAB_REQUESTS"


@dataclass(frozen=True)
class Request:
    name: str  # the endpoint's name in the target file, and Locust's statistics name
    path: str  # with its leading slash and query
    method: str = "GET"
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int = 200
    weight: int = 1


def encode(requests: Sequence[Request]) -> str:
    return json.dumps([
        {"name": r.name, "path": r.path, "method": r.method, "body": r.body,
         "headers": dict(r.headers), "expect_status": r.expect_status, "weight": r.weight}
        for r in requests
    ], separators=(",", ":"))  # fmt: skip


def decode(text: str) -> tuple[Request, ...]:
    if not text.strip():
        return ()
    return tuple(_request(d) for d in json.loads(text))


def _request(d: dict) -> Request:
    headers = tuple(sorted((d.get("headers") or {}).items()))
    return Request(
        d["name"],
        d["path"],
        d.get("method", "GET"),
        d.get("body"),
        headers,
        int(d.get("expect_status", 200)),
        int(d.get("weight", 1)),
    )


class Chooser:
    """The next request to send: always the one, or drawn by weight from a mix (seeded, so a
    user's sequence is reproducible)."""

    def __init__(self, requests: Sequence[Request], seed: object = 0) -> None:
        if not requests:
            raise ValueError(f"${VARIABLE} names no request")
        self.requests = tuple(requests)
        self.weights = [r.weight for r in self.requests]
        self.rng = random.Random(str(seed))

    def next(self) -> Request:
        if len(self.requests) == 1:
            return self.requests[0]
        return self.rng.choices(self.requests, self.weights)[0]
