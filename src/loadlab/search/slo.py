"""A service-level objective and a trial's verdict against it.

``p99<250ms`` (also p95, p50, mean) is met by a trial when the upper end of its metric's
95 % interval is under the limit, missed when the lower end is over it, and undecided
otherwise (measured again with a longer window). A step that cannot be trusted is never a
pass: overloaded and failing steps miss every objective (their backlog or failures are the
result); harness-bound and unsteady ones are undecided, their reason kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loadlab.errors import ConfigError
from loadlab.measure.stats import WindowStats

# metric -> (the value's key, its interval's key) in WindowStats
METRICS = {
    "p99": ("p99_ms", "p99_ci"),
    "p95": ("p95_ms", "p95_ci"),
    "p50": ("p50_ms", "p50_ci"),
    "mean": ("mean_ms", "mean_ci"),
}
FORM = re.compile(r"\s*(p99|p95|p50|mean)\s*<\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s)\s*")
PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"
MISSED = ("overloaded", "failing")  # results that miss every objective
UNTRUSTED = ("harness-bound", "unsteady")  # measured again: the lab cannot tell


@dataclass(frozen=True)
class SLO:
    metric: str
    limit_ms: float

    def __str__(self) -> str:
        return f"{self.metric}<{self.limit_ms:g}ms"


def parse(text: str) -> SLO:
    """``p99<250ms`` or ``p95<0.5s``; ConfigError naming SLO otherwise."""
    found = FORM.fullmatch(text or "")
    if not found:
        raise ConfigError(f"SLO must look like p99<250ms (p99, p95, p50 or mean; ms or s), "
                          f"got {text!r}")  # fmt: skip
    metric, value, unit = found.groups()
    limit = float(value) * (1000 if unit == "s" else 1)
    if limit <= 0:
        raise ConfigError(f"SLO: the limit must be above 0, got {text!r}")
    return SLO(metric, limit)


@dataclass(frozen=True)
class Decision:
    verdict: str  # pass, fail, undecided
    value_ms: float | None
    interval: tuple[float, float] | None
    reason: str


def decide(slo: SLO, status: str, stats: WindowStats | None, flags: list[str]) -> Decision:
    """The verdict of one measured step against ``slo``."""
    if stats is None or status == "failed":
        return Decision(UNDECIDED, None, None, "not measured: " + "; ".join(flags))
    key, ci_key = METRICS[slo.metric]
    value, interval = getattr(stats, key), getattr(stats, ci_key)
    if status in MISSED:
        return Decision(FAIL, value, interval, f"{status}: " + "; ".join(flags))
    if status in UNTRUSTED:
        return Decision(UNDECIDED, value, interval, f"{status}: " + "; ".join(flags))
    if interval is None:
        return Decision(UNDECIDED, value, None, f"no interval on {slo.metric} (window too short)")
    low, high = interval
    if high < slo.limit_ms:
        return Decision(PASS, value, interval, f"{slo.metric} {high:.0f} ms at most")
    if low > slo.limit_ms:
        return Decision(FAIL, value, interval, f"{slo.metric} {low:.0f} ms at least")
    return Decision(UNDECIDED, value, interval, f"{slo.metric}'s interval straddles the limit")
