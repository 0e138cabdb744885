"""The probe around the user's ASGI app: what it adds, without changing what the app does.

On the serving event loop, once (at lifespan startup, or at the first request when the
server runs no lifespan): the anyio thread limiter gets THREAD_LIMIT tokens and the lag
monitor starts. Requests in flight are counted; paths under /_lab/ are the lab's own
(``routes``) and never reach the app. Everything else is passed through unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from anyio import to_thread

from loadlab.probe import routes
from loadlab.probe.lag import Monitor
from loadlab.probe.runtime import Served, snapshot

# uvicorn's and gunicorn's error log (a name, not an import: the probe runs under either).
log = logging.getLogger("uvicorn.error")

Message = dict[str, Any]


class InFlight:
    """Counts requests still being served, including ones whose client already gave up.

    A load test that stops mid-queue leaves abandoned work behind (uvicorn does not cancel a
    handler when its client disconnects); the lab waits for this to reach zero between points.
    """

    def __init__(self, app: Any, counter: list[int]) -> None:
        self.app = app
        self.counter = counter  # one cell, shared with whoever reports it; the loop is one thread

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.counter[0] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter[0] -= 1


class Probe:
    """``app`` served with the lab's facts and limits, as ``settings`` ask."""

    def __init__(self, app: Any, settings: Served, name: str = "") -> None:
        self.app = app
        self.settings = settings
        self.name = name  # LAB_APP, as the document reports it
        self.in_flight = [0]
        self.monitor = Monitor()
        self._counted = InFlight(app, self.in_flight)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(scope, receive, send)
        if scope["type"] == "http":
            self._start()
            if routes.reserved(scope["path"]):
                return await routes.answer(self, scope, send)
        await self._counted(scope, receive, send)

    def _start(self) -> None:
        """Set up this event loop, once per loop: both the limiter and the timer are per loop."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        self._loop = loop
        limiter = to_thread.current_default_thread_limiter()
        if self.settings.thread_limit is not None:
            limiter.total_tokens = self.settings.thread_limit
        # Read here, in a task: a timer callback has no task, and anyio needs one to find it.
        self.monitor.start(loop, limiter)

    def document(self) -> dict:
        """/_lab/runtime: this process's facts, then any the app adds (state.lab_facts)."""
        found = snapshot(self.settings, in_flight=self.in_flight[0])
        found["app"] = self.name
        # The app adds facts of its own; it never replaces one the probe read itself.
        found.update({k: v for k, v in self._app_facts().items() if k not in found})
        return found

    def _app_facts(self) -> dict:
        facts = getattr(getattr(self.app, "state", None), "lab_facts", None)
        if not callable(facts):
            return {}
        try:
            return dict(facts())
        except Exception as exc:  # the lab's own facts must still be readable
            return {"lab_facts_error": f"{type(exc).__name__}: {exc}"}

    async def _lifespan(self, scope: dict, receive: Any, send: Any) -> None:
        """Start on this loop, then hand the lifespan to the app, as uvicorn's "auto" does:
        an app that raises before answering startup does not speak lifespan, so the probe
        answers for it."""
        self._start()
        seen: dict[str, Message] = {}

        async def app_receive() -> Message:
            message = await receive()
            seen.setdefault(message["type"], message)
            return message

        async def app_send(message: Message) -> None:
            seen.setdefault(message["type"], message)
            await send(message)

        try:
            await self.app(scope, app_receive, app_send)
        except Exception as exc:
            if "lifespan.startup.complete" in seen or "lifespan.startup.failed" in seen:
                raise  # it speaks lifespan and failed: the server reports it
            log.info("LAB_APP does not support lifespan (%s); the probe answers it", exc)
            await _answer_lifespan(receive, send, started="lifespan.startup" in seen)
        finally:
            self.monitor.stop()


async def _answer_lifespan(receive: Any, send: Any, *, started: bool) -> None:
    """Complete startup (its message already read by the app when ``started``) and shutdown."""
    if not started:
        await receive()  # lifespan.startup
    await send({"type": "lifespan.startup.complete"})
    await receive()  # lifespan.shutdown
    await send({"type": "lifespan.shutdown.complete"})
