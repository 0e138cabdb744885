"""The service's configuration: every environment variable read once, here, at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

SERVERS = ("uvicorn", "gunicorn")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot run with."""


def _show(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _number(
    kind: type, *, minimum: float, maximum: float, inclusive: bool = True
) -> Callable[[str, str], Any]:
    """Build a parser for a number >= (or >) ``minimum`` and <= ``maximum``."""
    words = "a number" if kind is float else "an integer"
    low = f">= {_show(minimum)}" if inclusive else f"> {_show(minimum)}"
    high = f"<= {_show(maximum)}"

    def parse(name: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"{name} must be {words} {low} and {high}, got {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):  # NaN / inf
            raise SettingsError(f"{name} must be a finite number, got {raw!r}")
        if value < minimum or (value == minimum and not inclusive):
            raise SettingsError(f"{name} must be {low}, got {raw!r}")
        if value > maximum:
            raise SettingsError(f"{name} must be {high}, got {raw!r}")
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


def _count(maximum: int) -> Callable[[str, str], int]:
    """A count from 1 to ``maximum``; the error for 0 keeps the short "> 0" wording."""
    return _number(int, minimum=0, maximum=maximum, inclusive=False)


# The bounds, and why. A value past them is a typo or a different experiment, and it would
# fail later and worse (a hung client, an OOM kill, a server that cannot bind).
# The /io and /background query parameter's bound: a request sleeping past a minute outlives
# every client timeout the lab uses, so it measures timeouts, not a service time.
_work_seconds = _number(float, minimum=0, maximum=60)
# The /cpu query parameter's bound: about 3 s of one core per request here (200k is ~12 ms).
_iterations = _count(50_000_000)
# Every thread is a kernel task (counted against the container's pids limit) with its own
# stack mapping (8 MiB by default); 10k is far past any user count the harness can hold, so a
# larger pool cannot change a measurement, only exhaust the container.
_threads = _count(10_000)
# Each process is a whole interpreter with the app imported (tens of MB resident): 64 already
# overflow the default 1 GiB memory limit, and processes beyond the cores only queue.
_processes = _count(64)
# uvicorn counts connections and tasks against it; a limit above any number of connections
# the harness opens never sheds, so it is not a limit under test.
_connections = _count(100_000)
# TCP ports; 0 ("any free port") is refused because the healthcheck must know the port.
_port = _count(65_535)


AUTO = "auto"


def _workers(name: str, raw: str) -> int | str:
    """A worker count, or "auto": the count the server's usual recipe gives (auto_workers)."""
    return AUTO if raw == AUTO else _processes(name, raw)


def auto_workers(server: str, cpus: int) -> int:
    """The worker count a user gets from the usual recipe for ``server`` on ``cpus`` CPUs.

    gunicorn documents (2 x num_cores) + 1 as the number to start with ("How Many Workers?",
    https://docs.gunicorn.org/en/stable/design.html#how-many-workers). uvicorn documents no
    recipe (--workers defaults to $WEB_CONCURRENCY or 1, https://www.uvicorn.org/settings/);
    the common one is a worker per core (WORKERS_PER_CORE=1 in the FastAPI author's
    tiangolo/uvicorn-gunicorn-docker). Configs compute both from multiprocessing.cpu_count(),
    i.e. os.cpu_count(): in a container that is the host's CPUs whatever the quota or cpuset,
    which is the oversubscription the lab means to show.
    """
    return 2 * cpus + 1 if server == "gunicorn" else cpus


@dataclass(frozen=True)
class Settings:
    """What the app and its launcher run with; ``None`` means "the library's own default"."""

    work_seconds: float = _setting(
        1.0, _work_seconds, "default sleep of the /io and /background endpoints"
    )
    cpu_iterations: int = _setting(200_000, _iterations, "default loop count of the /cpu endpoints")
    thread_limit: int | None = _setting(
        None, _threads, "anyio default thread limiter tokens (unset: anyio's 40)"
    )
    executor_workers: int = _setting(
        100, _threads, "workers of the app's own ThreadPoolExecutor (/io/executor-custom)"
    )
    process_workers: int = _setting(
        2, _processes, "workers of the app's ProcessPoolExecutor (/cpu/process)"
    )
    server: str = _setting("uvicorn", _choice(*SERVERS), "which server runs the app")
    workers: int | str = _setting(
        1, _workers, "server worker processes, or auto (the server's usual recipe)"
    )
    limit_concurrency: int | None = _setting(
        None, _connections, "uvicorn --limit-concurrency (unset: unlimited)"
    )
    host: str = _setting("127.0.0.1", lambda _name, raw: raw, "address the launcher binds")
    port: int = _setting(8000, _port, "port the launcher binds")

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

    def worker_count(self) -> int:
        """The server worker processes these settings run: WORKERS, or auto resolved here."""
        if self.workers == AUTO:
            return auto_workers(self.server, os.cpu_count() or 1)
        return self.workers

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings (for worker processes).

        WORKERS=auto stays "auto": every process of one container resolves it to the same
        count, and /runtime can then say the count was chosen, not given.
        """
        return {
            f.name.upper(): str(v) for f in fields(self) if (v := getattr(self, f.name)) is not None
        }
