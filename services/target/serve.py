"""The container's entry point: turn Settings into a uvicorn or gunicorn command and exec it.

Settings are validated here, before the server starts, so a bad value is one line on stderr
and exit status 2 rather than a worker that fails to boot in a loop.
"""

from __future__ import annotations

import os
import sys

from .settings import Settings, SettingsError

APP = "target.main:app"


def command(settings: Settings) -> list[str]:
    """The argv that serves the app the way ``settings`` asks."""
    if settings.server == "gunicorn":
        if settings.limit_concurrency is not None:
            raise SettingsError(
                "LIMIT_CONCURRENCY needs SERVER=uvicorn (gunicorn's worker ignores it)"
            )
        return [
            sys.executable,
            "-m",
            "gunicorn",
            APP,
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            str(settings.worker_count()),
            "--bind",
            f"{settings.host}:{settings.port}",
            "--graceful-timeout",
            "5",
        ]
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        APP,
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.worker_count()),
        "--no-access-log",  # one log line per request would cost CPU the lab is measuring
        "--timeout-graceful-shutdown",
        "5",
    ]
    if settings.limit_concurrency is not None:
        argv += ["--limit-concurrency", str(settings.limit_concurrency)]
    return argv


def main() -> None:
    try:
        settings = Settings.from_env()
        argv = command(settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print("serve: " + " ".join(argv), file=sys.stderr, flush=True)
    # Worker processes re-read the environment; hand them the resolved values.
    os.execvpe(argv[0], argv, {**os.environ, **settings.to_env()})


if __name__ == "__main__":
    main()
