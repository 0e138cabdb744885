"""From the environment to the server's argv: validated, the app imported once, then exec'd.

Everything that can be wrong with a container's settings or its app is found here, in one
process, before the server starts: a bad value or an app that does not import is one line
and exit status 2, rather than workers that fail to boot in a loop.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Protocol

from loadlab.probe.load import load_app
from loadlab.probe.settings import ServerSettings
from loadlab.shared.settings import SettingsError

ENTRY = "loadlab.probe.app:app"  # what the server loads: LAB_APP wrapped in the probe
GRACE_SECONDS = "5"  # in-flight requests get this long at shutdown (below compose's 10 s)


class Launch(Protocol):
    """What ``command`` reads: the probe's ServerSettings, or the demo's Settings."""

    server: str
    host: str
    port: int
    limit_concurrency: int | None

    def worker_count(self) -> int: ...


def command(settings: Launch) -> list[str]:
    """The argv that serves the probe-wrapped app the way ``settings`` asks."""
    if settings.server == "gunicorn":
        return _gunicorn(settings)
    return _uvicorn(settings)


def _gunicorn(settings: Launch) -> list[str]:
    if settings.limit_concurrency is not None:
        raise SettingsError("LIMIT_CONCURRENCY needs SERVER=uvicorn (gunicorn's worker ignores it)")
    # GUNICORN_CMD_ARGS stays in the environment untouched: gunicorn reads it itself, so a
    # user's own options still apply (the argv given here wins where both set one).
    return [
        sys.executable,
        "-m",
        "gunicorn",
        ENTRY,
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--workers",
        str(settings.worker_count()),
        "--bind",
        f"{settings.host}:{settings.port}",
        "--graceful-timeout",
        GRACE_SECONDS,
    ]


def _uvicorn(settings: Launch) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        ENTRY,
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.worker_count()),
        "--no-access-log",  # one log line per request would cost CPU the lab is measuring
        "--timeout-graceful-shutdown",
        GRACE_SECONDS,
    ]
    if settings.limit_concurrency is not None:
        argv += ["--limit-concurrency", str(settings.limit_concurrency)]
    return argv


def prepare(environ: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The server's argv and environment, once the settings hold and LAB_APP imports.

    Raises SettingsError or AppError (one line each); an app that exits at import (as the
    demo does on a bad setting of its own, having said why) exits this process the same way.
    """
    settings = ServerSettings.from_env(environ)
    argv = command(settings)
    load_app(settings.lab_app)
    # Worker processes re-read the environment; hand them the values as resolved here.
    return argv, {**environ, **settings.to_env()}
