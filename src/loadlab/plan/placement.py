"""Where the target and the load generator run: CPU quota and cpuset placement."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from loadlab.errors import ConfigError


@dataclass(frozen=True)
class Placement:
    """The cpusets for one CPU limit; ``shared`` when Locust must share the target's cores."""

    cpus: float
    target_cpuset: str
    locust_cpuset: str
    shared: bool

    def note(self) -> str:
        if self.shared:
            return (
                f"load generator shares CPUs {self.locust_cpuset} with the target "
                f"(cpus={self.cpus:g} needs every core of this host)"
            )
        return f"target on CPUs {self.target_cpuset}, load generator on CPUs {self.locust_cpuset}"


def host_cpus() -> list[int]:
    """The cores this process may use, which is what containers can be pinned to."""
    return sorted(os.sched_getaffinity(0))


def place(
    cpus: float, cores: list[int] | None = None, target_cpuset: str | None = None
) -> Placement:
    """Pin the target to the fewest cores that hold its quota and Locust to the rest, if any."""
    cores = host_cpus() if cores is None else cores
    if not 0 < cpus <= len(cores):
        raise ConfigError(f"CPUS must be > 0 and <= {len(cores)} (this host's cores), got {cpus:g}")
    if target_cpuset is not None:
        return _place_given(cpus, cores, target_cpuset)
    need = math.ceil(cpus)
    target = ",".join(map(str, cores[:need]))
    rest = cores[need:]
    if not rest:
        return Placement(cpus, target, ",".join(map(str, cores)), shared=True)
    return Placement(cpus, target, ",".join(map(str, rest)), shared=False)


def parse_cpuset(text: str) -> list[int]:
    """'0-2,5' -> [0, 1, 2, 5]; raises ConfigError on anything else."""
    cores: set[int] = set()
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            cores.update(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ConfigError(f"CPUSET must look like '0' or '0-1,3', got {text!r}") from None
    return sorted(cores)


def _place_given(cpus: float, cores: list[int], target_cpuset: str) -> Placement:
    wanted = parse_cpuset(target_cpuset)
    if not set(wanted) <= set(cores):
        raise ConfigError(f"CPUSET {target_cpuset!r} names cores this host does not have ({cores})")
    if cpus > len(wanted):
        raise ConfigError(f"CPUS={cpus:g} does not fit in CPUSET {target_cpuset!r}")
    rest = [c for c in cores if c not in wanted]
    locust = ",".join(map(str, rest or cores))
    return Placement(cpus, target_cpuset, locust, shared=not rest)
