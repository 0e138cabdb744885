"""A container's readings through the Docker Engine API, for a container on any Docker context.

``cgroups`` reads the cgroup files of the driver's own host; a container on another engine (a
context over ssh:// or tcp://, a VM's engine) is read through the API instead: the answer of
``GET /containers/{id}/stats`` holds the same cumulative counters, parsed here into the same
``Reading`` (``reading_of``), so ``telemetry.summarise`` means the same from either source.

A context whose endpoint is a unix socket is connected to directly; any other goes through
``docker --context X system dial-stdio``, the CLI's own proxy to the engine's API socket
whatever the transport, so ssh keys and TLS stay the CLI's business; HTTP/1.1 either way.

The engine reads its containers' cgroups once a second (its stats collector) and answers any
stats request, one-shot too, at its next read: up to a second's wait. So a sampler follows each
container's stream (``Stream``): a reading a second, stamped with the engine's read time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import IO

from loadlab.errors import EngineError
from loadlab.stack.cgroups import Reading

NS = 1e9
STATS = "/containers/{id}/stats?stream={stream}&one-shot={one_shot}"
TIMEOUT_S = 10.0  # no answer, or no stream frame, for this long: the engine is not answering
CFS_PERIOD_US = 100_000  # the kernel's default period, used when HostConfig.CpuPeriod is 0
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)")


# --- parsing: pure ---------------------------------------------------------------------------


def reading_of(stats: dict, t: float | None = None) -> Reading:
    """One stats answer as a ``Reading``, t its ``read`` time (the engine host's clock) unless
    given; a field it lacks is None. Not running (or gone): Go's zero time and zeros, unknown."""
    read_at = parse_time(stats.get("read"))
    when = t if t is not None else read_at
    if read_at is None:  # the engine did not read the container's cgroup for this answer
        return Reading(t=when if when is not None else time.time())
    cpu = _section(stats, "cpu_stats")
    usage = _count(_section(cpu, "cpu_usage"), "total_usage")
    values: dict[str, float | int | None] = {}
    # Docker answers a CPU controller it could not read with zeros (these fields are not
    # omitempty), and a running container has always used some CPU: 0 ns means unknown, and
    # the throttling counters beside it are that same empty struct.
    if usage:
        throttling = _section(cpu, "throttling_data")
        values["cpu_usage_s"] = usage / NS
        values["nr_periods"] = _count(throttling, "periods")
        values["nr_throttled"] = _count(throttling, "throttled_periods")
        throttled = _count(throttling, "throttled_time")  # ns on v1 and v2 (v2: usec * 1000)
        values["throttled_s"] = None if throttled is None else throttled / NS
    # memory_stats.usage is memory.usage_in_bytes on v1 and memory.current on v2, the very
    # files cgroups.py reads: page cache included. Docker's CLI subtracts the inactive page
    # cache (v1 stats.total_inactive_file, v2 stats.inactive_file); we do not, so both
    # sources report the same number. 0 is Go's omitted value, never a running container's.
    values["memory_bytes"] = _count(_section(stats, "memory_stats"), "usage") or None
    values["pids"] = _count(_section(stats, "pids_stats"), "current") or None  # pids.current
    return Reading(t=when, **values)


def parse_time(text: object) -> float | None:
    """An RFC 3339 time with up to nanoseconds as seconds since the epoch; Go's zero time
    (year 1: never read) and anything unparsable are None."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    # fromisoformat takes at most microseconds, so the fraction is added on its own.
    at = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return None if at.year <= 1 else at.timestamp() + float(fraction or 0)


def quota_of(inspect: dict) -> float | None:
    """A container's CFS quota in cores from its inspect document, None if unlimited: --cpus
    is HostConfig.NanoCpus, --cpu-quota/--cpu-period CpuQuota/CpuPeriod (0: the 100 ms default)."""
    host = _section(inspect, "HostConfig")
    if nano := _count(host, "NanoCpus"):
        return nano / NS
    quota, period = _count(host, "CpuQuota"), _count(host, "CpuPeriod")
    return quota / (period or CFS_PERIOD_US) if quota else None


def _section(document: object, key: str) -> dict:
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


def _count(section: dict, key: str) -> int | None:
    value = section.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# --- one engine: its endpoint, connections and requests ----------------------------------


class NotFound(EngineError):
    """The engine has no such container (an answer 404)."""


class Engine:
    """The API of the engine a Docker context points at (``with Engine(ctx) as e``).

    ``stats`` and ``get`` send their requests one after another on one kept connection;
    ``connect`` opens another. ``via_cli``: through dial-stdio even to a unix socket.
    """

    def __init__(self, context: str, via_cli: bool = False, timeout: float = TIMEOUT_S) -> None:
        self.context = context
        self.host = endpoint(context)
        self.timeout = timeout
        unix = self.host.startswith("unix://") and not via_cli  # a path on this machine
        self._socket = self.host.removeprefix("unix://") if unix else None
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def connect(self) -> http.client.HTTPConnection:
        """A connection of its own (opened at its first request)."""
        argv = ["docker", "--context", self.context, "system", "dial-stdio"]
        return _Connection(self._socket, argv, self.timeout)

    def get(self, path: str) -> dict:
        """One JSON answer; a connection that went stale is replaced once."""
        with self._lock:
            for attempt in (1, 2):
                self._conn = self._conn or self.connect()
                try:
                    return json.loads(send(self._conn, path, self.context).read())
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    why = failure(self._conn, exc)
                    self.close_connection()
                    if attempt == 2 or isinstance(exc, TimeoutError | ValueError):
                        raise EngineError(f"docker context {self.context}: {why}") from None
        raise AssertionError("unreachable")

    def stats(self, container: str) -> Reading:
        """The container's counters at the engine's next read (up to a second from now)."""
        return reading_of(self.get(STATS.format(id=container, stream=0, one_shot=1)))

    def cpu_limit(self, container: str) -> float | None:
        """The container's CFS quota in cores, from ``docker --context X inspect``."""
        text = _docker("--context", self.context, "inspect", "--type", "container", container)
        try:
            [document] = json.loads(text)
        except ValueError:  # not JSON, or not one container
            raise EngineError(f"docker inspect {container}: not one container's JSON") from None
        return quota_of(document)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_connection()

    def close_connection(self) -> None:
        """Closes the kept connection (a stream's is its own); the next request opens one."""
        if self._conn is not None:
            interrupt(self._conn)
            self._conn.close()
            self._conn = None


def endpoint(context: str) -> str:
    """The context's engine endpoint (unix://..., tcp://..., ssh://...)."""
    host = _docker("context", "inspect", "--format", "{{.Endpoints.docker.Host}}", context)
    if not host.strip():
        raise EngineError(f"docker context {context} has no docker endpoint")
    return host.strip()


def send(conn: http.client.HTTPConnection, path: str, context: str) -> http.client.HTTPResponse:
    """GET ``path``; an answer other than 200 is an ``EngineError`` with the engine's message."""
    conn.request("GET", path)
    response = conn.getresponse()
    if response.status != 200:
        text = response.read().decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):  # the engine's {"message": ...}
            text = str(json.loads(text).get("message", text))
        kind = NotFound if response.status == 404 else EngineError
        raise kind(f"docker context {context}: {response.status} {_line(text)}")
    return response


def failure(conn: http.client.HTTPConnection, exc: BaseException) -> str:
    """Why a connection failed, in one line: dial-stdio's own words when it said any."""
    said = conn.said() if isinstance(conn, _Connection) else ""
    return said or _line(str(exc)) or type(exc).__name__


def interrupt(conn: http.client.HTTPConnection) -> None:
    """Wakes a thread blocked reading ``conn``: it reads the end of the stream."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: never opened
        conn.sock.shutdown(socket.SHUT_RDWR)


# --- the transports ---------------------------------------------------------------------------


class _Connection(http.client.HTTPConnection):
    """HTTP/1.1 on a unix socket, or on a socket pair's end whose other is dial-stdio's stdio."""

    def __init__(self, socket_path: str | None, argv: list[str], timeout: float) -> None:
        super().__init__("docker", timeout=timeout)
        self._path, self._argv = socket_path, argv
        self.proc: subprocess.Popen | None = None
        self._errors: IO[bytes] | None = None
        self._said = ""

    def connect(self) -> None:
        if self._path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(self._path)
            return
        ours, theirs = socket.socketpair()
        # A file, read once it failed: a pipe nobody reads could fill and block the process.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        try:
            with theirs:
                self.proc = subprocess.Popen(self._argv, stdin=theirs, stdout=theirs,
                                             stderr=self._errors)  # fmt: skip
        except OSError as exc:
            ours.close()
            self._errors.close()
            raise EngineError(f"cannot run docker: {exc.strerror}") from None
        ours.settimeout(self.timeout)
        self.sock = ours

    def said(self) -> str:
        """The last line dial-stdio wrote to stderr, once it has exited (it says why)."""
        if self.proc is not None:
            self._reap(wait=1.0)
        return self._said

    def close(self) -> None:  # http.client closes it on a failed answer, too
        super().close()
        if self.proc is not None:
            self._reap(wait=0.0)

    def _reap(self, wait: float) -> None:
        assert self.proc is not None and self._errors is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(wait)
        self.proc.kill()  # a no-op once it has exited
        self.proc.wait()
        self._errors.seek(0)
        self._said = _line(self._errors.read().decode(errors="replace"))
        self._errors.close()
        self.proc = self._errors = None


# --- following a container's stream ----------------------------------------------------------


class Stream:
    """One container's stats stream, read in a thread: ``on_reading`` gets every known reading.

    It ends when the engine says the container does not exist or ends the stream (the
    container was removed: ``gone``), on an error (``error``, one line), or on ``close``.
    """

    def __init__(self, engine: Engine, container: str, on_reading: Callable[[Reading], None]):
        self.engine, self.container = engine, container
        self.gone = False
        self.error: str | None = None
        self.readings = 0
        self._ended = False
        self._on_reading = on_reading
        self._conn = engine.connect()
        self._closing = threading.Event()
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"stats {container[:12]}",
                                        daemon=True)  # fmt: skip

    def start(self) -> Stream:
        self._thread.start()
        return self

    def running(self) -> bool:
        return self._thread.is_alive()

    def wait_for(self, readings: int, timeout: float) -> bool:
        """Waits until ``readings`` known readings have come; False if not in time."""
        with self._arrived:
            self._arrived.wait_for(lambda: self.readings >= readings or self._ended, timeout)
            return self.readings >= readings

    def close(self) -> None:
        self._closing.set()
        interrupt(self._conn)
        self._thread.join(self.engine.timeout)
        self._conn.close()

    def _run(self) -> None:
        try:
            path = STATS.format(id=self.container, stream=1, one_shot=0)
            response = send(self._conn, path, self.engine.context)
            for line in iter(response.readline, b""):
                self._take(reading_of(json.loads(line)))
            # The engine ends a stream only when the container is removed.
            self.gone = not self._closing.is_set()
        except NotFound:
            self.gone = True
        except EngineError as exc:
            self.error = str(exc)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if not self._closing.is_set():
                self.error = f"docker context {self.engine.context}: {failure(self._conn, exc)}"
        finally:
            with self._arrived:
                self._ended = True
                self._arrived.notify_all()

    def _take(self, reading: Reading) -> None:
        if not reading.known():  # the container is not running (yet, or any more)
            return
        self._on_reading(reading)
        with self._arrived:
            self.readings += 1
            self._arrived.notify_all()


# --- helpers ----------------------------------------------------------------------------------


def _docker(*argv: str) -> str:
    try:
        done = subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"docker {argv[0]} {argv[1]}: {_line(str(exc))}") from None
    if done.returncode:
        raise EngineError(f"docker {' '.join(argv[:2])}: {_line(done.stderr) or done.returncode}")
    return done.stdout


def _line(text: str) -> str:  # the last non-empty line: where docker puts the reason
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[-1] if lines else ""
