"""What the containers did during a run: their cgroups sampled, summarised over any window.

The kernel's counters are cumulative, so a reading every half second is enough to compute any
window after the fact: CPU used, CFS periods and throttling, memory and tasks (see ``cgroups``
for where each comes from). A container on another Docker engine (a context) is read through
the Engine API instead (``engine_stats``): the same counters, one reading a second.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from loadlab.errors import EngineError
from loadlab.stack.cgroups import CGROUP_ROOT, MIB, CgroupFiles, Reading, cpu_limit, locate, read
from loadlab.stack.engine_stats import Engine, Stream

RETRY_S = 2.0  # a remote container not found yet, or whose stream broke, is asked for again
EDGE_S = 2.5  # the engine reads once a second: on entry and exit, its next reading comes by then


class _Same:
    def __repr__(self) -> str:
        return "SAME"


SAME = _Same()  # watch()'s default: the context the sampler was made with


class Sampler:
    """Reads named containers' cgroups every ``interval`` seconds in a background thread.

    ``with Sampler({"target": id}) as s: ...`` then ``s.series("target")``. A container that
    does not exist yet is looked for again at every tick; one that is gone stops adding
    readings. The first reading is taken on entry and the last on exit, so a window that
    spans the block is covered at both ends.

    ``context`` is the Docker context the containers run on: None is the driver's own engine,
    read from the cgroup files here; any other is read through that engine's API, each
    container's stream giving a reading a second (``engine_stats``). ``watch`` can put each
    container on a context of its own (Locust workers on two engines).
    """

    def __init__(
        self,
        containers: Mapping[str, str],
        interval: float = 0.5,
        root: Path = CGROUP_ROOT,
        context: str | None = None,
    ) -> None:
        self.interval = interval
        self.context = context
        self._containers = dict(containers)
        self._where: dict[str, str | None] = dict.fromkeys(containers, context)
        self._root = root
        self._files: dict[str, CgroupFiles] = {}
        self._engines: dict[str, Engine] = {}
        self._streams: dict[str, Stream] = {}
        self._asked: dict[str, float] = {}  # when a remote container's stream was last opened
        self._limits: dict[str, float | None] = {}
        self._readings: dict[str, list[Reading]] = {name: [] for name in containers}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)
        if context is not None:
            self._engine(context)  # an unknown context fails here, in one line

    def __enter__(self) -> Sampler:
        self.sample()
        self._edge()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self._edge()
        for stream in list(self._streams.values()):
            stream.close()
        for engine in self._engines.values():
            engine.close_connection()

    def watch(self, name: str, container_id: str, context: str | _Same | None = SAME) -> None:
        """Start reading one more container (one started after the sampler was), on the
        sampler's context unless ``context`` is given (None: the driver's own engine)."""
        where = self.context if isinstance(context, _Same) else context
        if where is not None:
            self._engine(where)
        with self._lock:
            self._containers[name] = container_id
            self._where[name] = where
            self._readings.setdefault(name, [])

    def names(self) -> list[str]:
        with self._lock:
            return list(self._containers)

    def sample(self) -> None:
        """One reading of every container that can be found here; every remote container's
        stream kept open (its readings come by themselves)."""
        with self._lock:
            containers = [(n, c, self._where[n]) for n, c in self._containers.items()]
        for name, container_id, where in containers:
            if where is not None:
                self._follow(name, container_id, where)
                continue
            files = self._files.get(name) or locate(container_id, self._root)
            if files is None:
                continue
            self._files[name] = files
            reading = read(files)
            if reading.known():
                self._add(name, reading)

    def series(self, name: str) -> list[Reading]:
        """The readings of ``name`` so far, oldest first."""
        with self._lock:
            return list(self._readings[name])

    def limit(self, name: str) -> float | None:
        """The CFS quota of ``name`` in cores (its cgroup, or its engine's inspect); None if
        unlimited or unknown."""
        if self._where.get(name) is None:
            files = self._files.get(name)
            return None if files is None else cpu_limit(files)
        if name not in self._limits:
            self._ask_limit(name)
        return self._limits.get(name)

    def problems(self) -> dict[str, str]:
        """Why a remote container has no readings now, by name (one line each)."""
        streams = list(self._streams.items())  # the sampler's thread may add one meanwhile
        return {n: s.error for n, s in streams if s.error and not s.running()}

    def _engine(self, context: str) -> Engine:
        if context not in self._engines:
            self._engines[context] = Engine(context)
        return self._engines[context]

    def _follow(self, name: str, container_id: str, context: str) -> None:
        stream = self._streams.get(name)
        if stream is not None and stream.running():
            return
        if stream is not None and stream.gone and self._readings[name]:
            return  # it was read and has been removed: ids are never reused
        if time.monotonic() - self._asked.get(name, -RETRY_S) < RETRY_S:
            return
        self._asked[name] = time.monotonic()
        if stream is not None:
            stream.close()
        on_reading = functools.partial(self._add, name)
        self._streams[name] = Stream(self._engine(context), container_id, on_reading).start()

    def _edge(self) -> None:
        """Waits (at most EDGE_S, all streams at once) for each open stream's next reading."""
        wanted = [(s, s.readings + 1) for s in list(self._streams.values()) if s.running()]
        deadline = time.monotonic() + EDGE_S
        for stream, count in wanted:
            stream.wait_for(count, max(0.0, deadline - time.monotonic()))

    def _add(self, name: str, reading: Reading) -> None:
        with self._lock:
            self._readings[name].append(reading)
        if self._where.get(name) is not None and name not in self._limits:
            self._ask_limit(name)  # while the container surely exists

    def _ask_limit(self, name: str) -> None:
        with self._lock:
            container_id, where = self._containers[name], self._where[name]
        if where is None:
            return
        with contextlib.suppress(EngineError):  # unknown for now: asked again when next wanted
            self._limits[name] = self._engine(where).cpu_limit(container_id)

    def _run(self) -> None:
        # Ticks on a fixed grid, so a slow read does not stretch every later interval.
        due = time.monotonic()
        while True:
            due += self.interval
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self.sample()


# --- summarising a window ------------------------------------------------------------------


def summarise(
    readings: Sequence[Reading], start: float, end: float, quota: float | None = None
) -> dict:
    """What the container did over [start, end): rates from the first and last readings inside.

    ``throttled_pct`` is the share of CFS periods in which the container was throttled; the
    kernel counts only periods in which the container had work to run. Keys that cannot be
    computed are absent.
    """
    inside = [r for r in readings if start <= r.t < end]
    out: dict = {"readings": len(inside)}
    if (cores := _rate(inside, "cpu_usage_s")) is not None:
        out["cpu_cores"] = round(cores, 4)
        if quota:
            out["quota_used"] = round(cores / quota, 4)
    periods, throttled = _delta(inside, "nr_periods"), _delta(inside, "nr_throttled")
    if periods is not None:
        out["periods"] = periods
    if throttled is not None:
        out["throttled_periods"] = throttled
    if periods and throttled is not None:
        out["throttled_pct"] = round(100 * throttled / periods, 2)
    if (throttled_s := _delta(inside, "throttled_s")) is not None:
        out["throttled_ms"] = round(throttled_s * 1000, 1)
    if memory := [r.memory_bytes for r in inside if r.memory_bytes is not None]:
        out["memory_max_mb"] = round(max(memory) / MIB, 1)
    if pids := [r.pids for r in inside if r.pids is not None]:
        out["pids_max"] = max(pids)
    if series := _series(inside, start):
        out["series"] = series
    return out


def _known(readings: Sequence[Reading], name: str) -> list[tuple[float, float]]:
    return [(r.t, v) for r in readings if (v := getattr(r, name)) is not None]


def _delta(readings: Sequence[Reading], name: str) -> float | None:
    known = _known(readings, name)
    if len(known) < 2 or known[-1][1] < known[0][1]:  # a counter that went back was reset
        return None
    return known[-1][1] - known[0][1]


def _rate(readings: Sequence[Reading], name: str) -> float | None:
    known = _known(readings, name)
    if len(known) < 2 or known[-1][0] <= known[0][0]:
        return None
    delta = _delta(readings, name)
    return None if delta is None else delta / (known[-1][0] - known[0][0])


def _series(readings: Sequence[Reading], start: float) -> dict[str, list]:
    """Per interval between readings: its end (s after start), cores, throttled fraction."""
    columns: dict[str, list] = {"t": [], "cores": [], "throttled": []}
    for a, b in itertools.pairwise(readings):
        cores = _rate((a, b), "cpu_usage_s")
        periods, throttled = _delta((a, b), "nr_periods"), _delta((a, b), "nr_throttled")
        share = throttled / periods if periods and throttled is not None else None
        columns["t"].append(round(b.t - start, 3))
        columns["cores"].append(None if cores is None else round(cores, 3))
        columns["throttled"].append(None if share is None else round(share, 3))
    known = {k: v for k, v in columns.items() if any(x is not None for x in v)}
    return known if len(known) > 1 else {}
