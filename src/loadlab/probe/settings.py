"""What the probe reads from the environment: the server to run, the app to serve.

Each setting the demo service also reads (SERVER, WORKERS, THREAD_LIMIT, LIMIT_CONCURRENCY,
HOST, PORT) takes its parser, bounds and help from ``loadlab.shared.service``, so a value is
refused in the same words by the driver, the demo and the probe. Only the defaults differ
where the probe's place differs (it binds every address: it runs inside a container).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from loadlab.shared.service import AUTO, Settings, auto_workers
from loadlab.shared.settings import SettingsError, from_environ, scalar, setting

# package.module:attribute, as uvicorn and gunicorn write an app (a dotted attribute allowed).
_APP_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_SHARED = {f.name: f for f in fields(Settings)}


def _shared(name: str, default: Any = None) -> Any:
    """The service's own setting ``name`` (parser, bounds, help), with the probe's default."""
    return field(default=default, metadata=_SHARED[name].metadata)


@dataclass(frozen=True)
class ServerSettings:
    """How the probe serves LAB_APP; ``None`` means "the library's own default"."""

    lab_app: str = setting(scalar(str), "the ASGI app to serve, package.module:attribute", "")
    server: str = _shared("server", "uvicorn")
    workers: int | str = _shared("workers", 1)
    thread_limit: int | None = _shared("thread_limit")
    limit_concurrency: int | None = _shared("limit_concurrency")
    host: str = _shared("host", "0.0.0.0")
    port: int = _shared("port", 8000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Read every setting from ``environ``; an empty value counts as unset.

        Raises SettingsError (one line) for a bad value or a missing or malformed LAB_APP.
        """
        settings = cls(**from_environ(cls, os.environ if environ is None else environ))
        settings._check_app()
        return settings

    def _check_app(self) -> None:
        if not self.lab_app:
            raise SettingsError("LAB_APP is not set (the ASGI app to serve, package.module:attr)")
        if not _APP_SPEC.fullmatch(self.lab_app):
            raise SettingsError(f"LAB_APP must be package.module:attribute, got {self.lab_app!r}")

    def worker_count(self) -> int:
        """The server worker processes these settings run: WORKERS, or auto resolved here."""
        if self.workers == AUTO:
            return auto_workers(self.server, os.cpu_count() or 1)
        return self.workers

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in the server's worker processes.

        WORKERS=auto stays "auto", so /_lab/runtime can say the count was chosen, not given.
        """
        return {
            f.name.upper(): str(v) for f in fields(self) if (v := getattr(self, f.name)) is not None
        }
