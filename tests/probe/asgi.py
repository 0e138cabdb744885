"""A server's side of ASGI, in a few lines: enough to drive the probe without a network.

(starlette's TestClient would do, but it needs httpx, which the lab does not install.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def request(app: Any, path: str, method: str = "GET") -> Answer:
    """One HTTP request through ``app``, as uvicorn would pass it."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"probe.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("probe.test", 80),
        "state": {},
    }
    sent: list[dict] = []
    requested = False

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], body)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[list[dict]]:
    """Run ``app``'s lifespan around the block as a server does; yields the messages it sent.

    Raises RuntimeError if startup does not complete (the app's own exception, if it raised).
    """
    inbox: asyncio.Queue[dict] = asyncio.Queue()
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    for _ in range(500):  # 5 s
        if sent or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done() and task.exception() is not None:
        raise RuntimeError(f"lifespan raised {task.exception()!r}; sent {sent}")
    if [m["type"] for m in sent] != ["lifespan.startup.complete"]:
        task.cancel()
        raise RuntimeError(f"startup did not complete: {sent}")
    try:
        yield sent
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(task, timeout=5)
