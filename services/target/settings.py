"""The service's configuration: every environment variable read once, here, at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

SERVERS = ("uvicorn", "gunicorn")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot run with."""


def _number(kind: type, *, minimum: float, inclusive: bool) -> Callable[[str, str], Any]:
    """Build a parser for a number that must be >= (or >) ``minimum``."""
    words = "a number" if kind is float else "an integer"
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"

    def parse(name: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"{name} must be {words} {bound}, got {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):  # NaN / inf
            raise SettingsError(f"{name} must be a finite number, got {raw!r}")
        if value < minimum or (value == minimum and not inclusive):
            raise SettingsError(f"{name} must be {bound}, got {raw!r}")
        return value

    return parse


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if raw not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return parse


def _setting(default: Any, parse: Callable[[str, str], Any], doc: str) -> Any:
    """A dataclass field that knows its env parser; the env name is the field name upper-cased."""
    return field(default=default, metadata={"parse": parse, "doc": doc})


_positive_int = _number(int, minimum=0, inclusive=False)
_non_negative_int = _number(int, minimum=0, inclusive=True)


@dataclass(frozen=True)
class Settings:
    """What the app and its launcher run with; ``None`` means "the library's own default"."""

    work_seconds: float = _setting(
        1.0,
        _number(float, minimum=0, inclusive=True),
        "default sleep of the /io and /background endpoints",
    )
    cpu_iterations: int = _setting(
        200_000, _positive_int, "default loop count of the /cpu endpoints"
    )
    thread_limit: int | None = _setting(
        None, _positive_int, "anyio default thread limiter tokens (unset: anyio's 40)"
    )
    executor_workers: int = _setting(
        100, _positive_int, "workers of the app's own ThreadPoolExecutor (/io/executor-custom)"
    )
    process_workers: int = _setting(
        2, _positive_int, "workers of the app's ProcessPoolExecutor (/cpu/process)"
    )
    server: str = _setting("uvicorn", _choice(*SERVERS), "which server runs the app")
    workers: int = _setting(1, _positive_int, "server worker processes")
    limit_concurrency: int | None = _setting(
        None, _positive_int, "uvicorn --limit-concurrency (unset: unlimited)"
    )
    host: str = _setting("127.0.0.1", lambda _name, raw: raw, "address the launcher binds")
    port: int = _setting(8000, _positive_int, "port the launcher binds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ``; an empty value counts as unset."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f.name.upper(), "").strip()
            if raw:
                values[f.name] = f.metadata["parse"](f.name.upper(), raw)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings (for worker processes)."""
        return {
            f.name.upper(): str(v) for f in fields(self) if (v := getattr(self, f.name)) is not None
        }
