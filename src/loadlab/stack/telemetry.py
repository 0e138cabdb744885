"""What the containers did: CPU used, CFS throttling, memory and tasks, read from their cgroups.

The driver reads each container's cgroup files from the host (it runs as root) instead of
asking the container or Docker: a process cannot cheaply see its own cgroup's throttling
counters, and ``docker stats`` takes 1-2 s a call and hands back averages over its own
interval, not counters that can be cut on the measured window. The kernel's counters are
cumulative, so a reading every half second is enough to compute any window after the fact.

Both cgroup layouts are read: v1 (one tree per controller: ``cpu``, ``cpuacct``, ``memory``,
``pids``, possibly joined as ``cpu,cpuacct``) and v2 (one unified tree). A file that cannot
be found or read is left out (absent = unknown), never guessed.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
MIB = 1024 * 1024
# Where Docker puts a container's cgroup, relative to a hierarchy's root: the cgroupfs
# driver, then the systemd driver.
PLACES = ("docker/{id}", "system.slice/docker-{id}.scope")
# v1 controllers may be mounted alone or co-mounted ("cpu,cpuacct" on systemd machines).
V1_MOUNTS = {
    "cpu": ("cpu", "cpu,cpuacct", "cpuacct,cpu"),
    "cpuacct": ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"),
}
# A container's cgroup sits a few levels down (kubepods.slice/.../docker-<id>.scope at worst).
MAX_DEPTH = 6


@dataclass(frozen=True)
class CgroupFiles:
    """The files of one container's cgroup that the lab reads; None where there is none."""

    version: int
    cpu_usage: Path | None  # v1 cpuacct.usage (ns); v2 cpu.stat (usage_usec)
    cpu_stat: Path | None  # CFS periods and throttling: cpu.stat in both layouts
    cpu_limit: Path | None  # v1 cpu.cfs_quota_us (cpu.cfs_period_us beside it); v2 cpu.max
    memory: Path | None  # v1 memory.usage_in_bytes; v2 memory.current (page cache included)
    pids: Path | None  # pids.current: tasks, i.e. threads, not processes


@dataclass(frozen=True)
class Reading:
    """One container's cumulative counters at one instant (t in seconds since the epoch)."""

    t: float
    cpu_usage_s: float | None = None
    nr_periods: int | None = None
    nr_throttled: int | None = None
    throttled_s: float | None = None
    memory_bytes: int | None = None
    pids: int | None = None

    def known(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name != "t")


# --- locating a container's files ----------------------------------------------------------


def locate(container_id: str, root: Path = ROOT) -> CgroupFiles | None:
    """The cgroup files of the container with this full id, or None if none can be found."""
    if (root / "cgroup.controllers").is_file():
        files = _locate_v2(container_id, root)
    else:
        files = _locate_v1(container_id, root)
    return files if files and any(getattr(files, f.name) for f in fields(files)[1:]) else None


def _locate_v2(container_id: str, root: Path) -> CgroupFiles | None:
    where = _find(root, container_id)
    if where is None:
        return None
    return CgroupFiles(
        version=2,
        cpu_usage=_file(where, "cpu.stat"),
        cpu_stat=_file(where, "cpu.stat"),
        cpu_limit=_file(where, "cpu.max"),
        memory=_file(where, "memory.current"),
        pids=_file(where, "pids.current"),
    )


def _locate_v1(container_id: str, root: Path) -> CgroupFiles:
    def controller(name: str) -> Path | None:
        for mount in V1_MOUNTS.get(name, (name,)):
            if (root / mount).is_dir() and (where := _find(root / mount, container_id)):
                return where
        return None

    cpu, cpuacct, memory, pids = map(controller, ("cpu", "cpuacct", "memory", "pids"))
    return CgroupFiles(
        version=1,
        cpu_usage=_file(cpuacct, "cpuacct.usage"),
        cpu_stat=_file(cpu, "cpu.stat"),
        cpu_limit=_file(cpu, "cpu.cfs_quota_us"),
        memory=_file(memory, "memory.usage_in_bytes"),
        pids=_file(pids, "pids.current"),
    )


def _find(hierarchy: Path, container_id: str) -> Path | None:
    """The container's directory in one hierarchy: Docker's usual places, else a short walk."""
    for place in PLACES:
        if (hierarchy / place.format(id=container_id)).is_dir():
            return hierarchy / place.format(id=container_id)
    # Nested engines and orchestrators put it deeper; the name still carries the full id.
    names = {container_id, f"docker-{container_id}.scope"}
    base = len(hierarchy.parts)
    for parent, dirs, _ in os.walk(hierarchy):
        if found := names.intersection(dirs):
            return Path(parent) / found.pop()
        if len(Path(parent).parts) - base >= MAX_DEPTH:
            dirs.clear()
    return None


def _file(directory: Path | None, name: str) -> Path | None:
    return directory / name if directory and (directory / name).is_file() else None


# --- parsers: one per file format, pure ----------------------------------------------------


def parse_keyed(text: str) -> dict[str, int]:
    """A flat-keyed file ('nr_periods 340' per line, cpu.stat) as a dict of integers."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key and value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def parse_value(text: str) -> int | None:
    """A single-value file (cpuacct.usage, memory.current, pids.current); 'max' is None."""
    text = text.strip()
    return None if text == "max" else int(text)


def parse_cpu_stat(text: str, version: int) -> dict[str, float | int | None]:
    """cpu.stat as Reading fields; v1 counts nanoseconds and v2 microseconds."""
    stat = parse_keyed(text)
    # v1 has no usage_usec (cpuacct.usage holds it), so its usage stays None here.
    throttled, unit = ("throttled_time", 1e9) if version == 1 else ("throttled_usec", 1e6)
    return {
        "cpu_usage_s": _scaled(stat.get("usage_usec"), 1e6),
        "nr_periods": stat.get("nr_periods"),
        "nr_throttled": stat.get("nr_throttled"),
        "throttled_s": _scaled(stat.get(throttled), unit),
    }


def parse_v1_quota(quota_text: str, period_text: str) -> float | None:
    """cpu.cfs_quota_us over cpu.cfs_period_us in cores; -1 (no limit) is None."""
    quota, period = int(quota_text), int(period_text)
    return None if quota < 0 or period <= 0 else quota / period


def parse_cpu_max(text: str) -> float | None:
    """cpu.max ('$MAX $PERIOD', newer kernels add '$BURST') in cores; 'max' is None."""
    limit, period, *_ = text.split()
    return None if limit == "max" or int(period) <= 0 else int(limit) / int(period)


# --- reading -------------------------------------------------------------------------------


def read(files: CgroupFiles) -> Reading:
    """The container's counters now; each one that cannot be read is None."""
    values: dict[str, float | int | None] = {}
    if files.cpu_stat and (text := _text(files.cpu_stat)) is not None:
        values.update(parse_cpu_stat(text, files.version))
    if files.version == 1:
        values["cpu_usage_s"] = _scaled(_value(files.cpu_usage), 1e9)
    values["memory_bytes"] = _value(files.memory)
    values["pids"] = _value(files.pids)
    return Reading(t=time.time(), **values)


def cpu_limit(files: CgroupFiles) -> float | None:
    """The container's CFS quota in cores, as the kernel enforces it; None when unlimited."""
    if files.cpu_limit is None:
        return None
    text = _text(files.cpu_limit)
    if text is None:
        return None
    try:
        if files.version == 2:
            return parse_cpu_max(text)
        period = _text(files.cpu_limit.with_name("cpu.cfs_period_us"))
        return None if period is None else parse_v1_quota(text, period)
    except ValueError:
        return None


def _scaled(count: int | None, per_second: float) -> float | None:
    return None if count is None else count / per_second


def _text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:  # the container went away, or the file never existed
        return None


def _value(path: Path | None) -> int | None:
    text = None if path is None else _text(path)
    try:
        return None if text is None else parse_value(text)
    except ValueError:
        return None


# --- sampling through a measurement --------------------------------------------------------


class Sampler:
    """Reads named containers' cgroups every ``interval`` seconds in a background thread.

    ``with Sampler({"target": id}) as s: ...`` then ``s.series("target")``. A container that
    does not exist yet is looked for again at every tick; one that is gone stops adding
    readings. The first reading is taken on entry and the last on exit, so a window that
    spans the block is covered at both ends.
    """

    def __init__(
        self, containers: Mapping[str, str], interval: float = 0.5, root: Path = ROOT
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
