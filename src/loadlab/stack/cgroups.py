"""A container's cgroup, read from the host: where its files are (v1 and v2), what they say.

The driver reads each container's cgroup files from the host (it runs as root) instead of
asking the container or Docker: a process cannot cheaply see its own cgroup's throttling
counters, and ``docker stats`` takes 1-2 s a call and hands back averages over its own
interval, not counters that can be cut on the measured window.

Both cgroup layouts are read: v1 (one tree per controller: ``cpu``, ``cpuacct``, ``memory``,
``pids``, possibly joined as ``cpu,cpuacct``) and v2 (one unified tree). A file that cannot
be found or read is left out (absent = unknown), never guessed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, fields
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
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


def locate(container_id: str, root: Path = CGROUP_ROOT) -> CgroupFiles | None:
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
