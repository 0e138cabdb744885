"""The target service's settings: every environment variable it reads, its bounds and why.

Defined once, here, for both sides: the service reads its environment through ``Settings``
at start-up (services/target/settings.py), and the driver validates the same variables
against the same parsers before anything starts (plan/config.py), adding a bound of its own
only where the lab needs more (and saying why).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from loadlab.shared.settings import Bound, Parser, from_environ, scalar, setting

SERVERS = ("uvicorn", "gunicorn")
AUTO = "auto"

# The bounds, and why. A value past them is a typo or a different experiment, and it would
# fail later and worse (a hung client, an OOM kill, a server that cannot bind).
SLEEP = Bound(0, 60, why="a sleep past a minute outlives every client timeout the lab uses")
ITERATIONS = Bound(1, 50_000_000, why="about 3 s of one core per request; 200k is ~12 ms")
# Every thread is a kernel task (counted against the container's pids limit) with its own stack
# mapping (8 MiB by default); 10k is far past any user count the harness can hold.
THREADS = Bound(1, 10_000, why="each thread is a kernel task with its own stack")
# Each process is a whole interpreter with the app imported (tens of MB resident): 64 already
# overflow the default 1 GiB memory limit, and processes beyond the cores only queue.
PROCESSES = Bound(1, 64, why="each process is a whole interpreter, tens of MB")
# uvicorn counts connections and tasks against it; a limit above any number of connections
# the harness opens never sheds, so it is not a limit under test.
CONNECTIONS = Bound(1, 100_000, why="beyond what the harness opens it never sheds")
# 0 ("any free port") is refused because the healthcheck must know the port.
PORTS = Bound(1, 65_535, why="a TCP port the healthcheck can know")

WORK_SECONDS = scalar(float, SLEEP)
CPU_ITERATIONS = scalar(int, ITERATIONS)
THREAD_COUNT = scalar(int, THREADS)
PROCESS_COUNT = scalar(int, PROCESSES)
WORKER_COUNT = Parser(int, (PROCESSES,), word=AUTO)  # or "auto": the server's usual recipe
CONCURRENCY = scalar(int, CONNECTIONS)


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

    work_seconds: float = setting(
        WORK_SECONDS, "default sleep of the /io and /background endpoints", 1.0
    )
    cpu_iterations: int = setting(
        CPU_ITERATIONS, "default loop count of the /cpu endpoints", 200_000
    )
    thread_limit: int | None = setting(
        THREAD_COUNT, "anyio default thread limiter tokens (unset: anyio's 40)"
    )
    executor_workers: int = setting(
        THREAD_COUNT, "workers of the app's own ThreadPoolExecutor (/io/executor-custom)", 100
    )
    process_workers: int = setting(
        PROCESS_COUNT, "workers of the app's ProcessPoolExecutor (/cpu/process)", 2
    )
    server: str = setting(scalar(str, choices=SERVERS), "which server runs the app", "uvicorn")
    workers: int | str = setting(
        WORKER_COUNT, "server worker processes, or auto (the server's usual recipe)", 1
    )
    limit_concurrency: int | None = setting(
        CONCURRENCY, "uvicorn --limit-concurrency (unset: unlimited)"
    )
    host: str = setting(scalar(str), "address the launcher binds", "127.0.0.1")
    port: int = setting(scalar(int, PORTS), "port the launcher binds", 8000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ``; an empty value counts as unset."""
        return cls(**from_environ(cls, os.environ if environ is None else environ))

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


def names() -> tuple[str, ...]:
    """The environment variables the service reads, as a user writes them."""
    return tuple(f.name.upper() for f in fields(Settings))
