"""What the containers did during a run: their cgroups sampled, summarised over any window.

The kernel's counters are cumulative, so a reading every half second is enough to compute any
window after the fact: CPU used, CFS periods and throttling, memory and tasks (see ``cgroups``
for where each comes from).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from loadlab.stack.cgroups import CGROUP_ROOT, MIB, CgroupFiles, Reading, cpu_limit, locate, read


class Sampler:
    """Reads named containers' cgroups every ``interval`` seconds in a background thread.

    ``with Sampler({"target": id}) as s: ...`` then ``s.series("target")``. A container that
    does not exist yet is looked for again at every tick; one that is gone stops adding
    readings. The first reading is taken on entry and the last on exit, so a window that
    spans the block is covered at both ends.
    """

    def __init__(
        self, containers: Mapping[str, str], interval: float = 0.5, root: Path = CGROUP_ROOT
    ) -> None:
        self.interval = interval
        self._containers = dict(containers)
        self._root = root
        self._files: dict[str, CgroupFiles] = {}
        self._readings: dict[str, list[Reading]] = {name: [] for name in containers}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)

    def __enter__(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def watch(self, name: str, container_id: str) -> None:
        """Start reading one more container (one started after the sampler was)."""
        with self._lock:
            self._containers[name] = container_id
            self._readings.setdefault(name, [])

    def names(self) -> list[str]:
        with self._lock:
            return list(self._containers)

    def sample(self) -> None:
        """One reading of every container that can be found."""
        with self._lock:
            containers = list(self._containers.items())
        for name, container_id in containers:
            files = self._files.get(name) or locate(container_id, self._root)
            if files is None:
                continue
            self._files[name] = files
            reading = read(files)
            if reading.known():
                with self._lock:
                    self._readings[name].append(reading)

    def series(self, name: str) -> list[Reading]:
        """The readings of ``name`` so far, oldest first."""
        with self._lock:
            return list(self._readings[name])

    def limit(self, name: str) -> float | None:
        """The CFS quota of ``name`` in cores, from its cgroup; None if unlimited or unknown."""
        files = self._files.get(name)
        return None if files is None else cpu_limit(files)

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
