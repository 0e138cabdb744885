"""What a CPU limit changed: each series at its saturation point, the CPU limit on the x-axis.

The question the lab exists for ("what CPU limit does this service need?") reads across the
panels, so it is answered here as data: for every series measured under two or more limits,
its saturation throughput (the most it did at any user count or rate), the p99 latency there,
the CPU the target used and how often the kernel throttled it, plus one sentence that says
what the limit changed. Only ok points count; rendering is the report's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadlab.plan.profiles import Series
from loadlab.results import PointResult, Run

SAME = 0.05  # throughput within 5 % across limits: the limit changed nothing that matters


@dataclass(frozen=True)
class AtLimit:
    cpus: float
    rps: float
    rps_ci: tuple[float, float] | None
    p99_ms: float | None
    cpu_cores: float | None
    throttled_pct: float | None


@dataclass(frozen=True)
class Across:
    series: Series
    limits: list[AtLimit]

    @property
    def sentence(self) -> str:
        return what_changed(self.series, self.limits)


def across_limits(run: Run) -> list[Across]:
    """Every series with ok points under two or more CPU limits, limits in rising order."""
    found: dict[Series, dict[float, PointResult]] = {}
    for result in run.points.values():
        if result.status != "ok" or result.stats is None or not result.stats.rps:
            continue
        key = (result.point.variant, result.point.endpoint)
        best = found.setdefault(key, {}).get(result.point.cpus)
        if best is None or result.stats.rps > best.stats.rps:
            found[key][result.point.cpus] = result
    return [Across(key, [_at(cpus, r) for cpus, r in sorted(by_limit.items())])
            for key, by_limit in found.items() if len(by_limit) >= 2]  # fmt: skip


def _at(cpus: float, result: PointResult) -> AtLimit:
    stats, usage = result.stats, result.usage
    ci = stats.rps_ci
    return AtLimit(cpus, stats.rps, tuple(ci) if ci else None, stats.p99_ms,
                   usage.target_cpu, usage.throttled_pct)  # fmt: skip


def what_changed(series: Series, limits: list[AtLimit]) -> str:
    """One sentence: did throughput follow the CPU limit, and was the target throttled?"""
    low, high = limits[0], limits[-1]
    name = " ".join(series)
    gain, cpu_gain = high.rps / low.rps if low.rps else float("inf"), high.cpus / low.cpus
    span = f"{low.rps:.0f} to {high.rps:.0f} rps from {low.cpus:g} to {high.cpus:g} CPU"
    throttled = max((at.throttled_pct or 0.0) for at in limits)
    where = f"; throttled in up to {throttled:.0f} % of CFS periods" if throttled >= 1 else ""
    if abs(gain - 1) <= SAME and not _separated(low, high):
        return f"{name}: the CPU limit changed nothing ({span}): it waits, not computes{where}."
    ratio = f"{gain:.1f}x for {cpu_gain:.1f}x CPU"
    if gain >= 0.8 * cpu_gain:
        return f"{name}: CPU-bound, throughput followed the limit ({span}, {ratio}){where}."
    if gain > 1:
        return (f"{name}: more CPU helped less than in proportion ({span}, {ratio}): something "
                f"else (the GIL, a pool, the harness) caps it{where}.")  # fmt: skip
    return f"{name}: more CPU did not help ({span}){where}."


def _separated(a: AtLimit, b: AtLimit) -> bool:
    """The two throughputs' 95 % intervals do not overlap."""
    if a.rps_ci is None or b.rps_ci is None:
        return False
    return a.rps_ci[1] < b.rps_ci[0] or b.rps_ci[1] < a.rps_ci[0]
