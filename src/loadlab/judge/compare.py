"""Compare two runs the way pyperf's compare_to does: the first run (A) is the reference.

Points are paired by key (variant, endpoint, CPU limit, and users or rate); the repeats of
one key are the samples of one measurement. The CPU limit is part of the key, so points
measured under different limits are never paired. Each pair is judged on throughput (rps,
higher is better) and tail latency (p95, lower is better). A change is significant when
all of these hold:

- it is at least the threshold (measured run-to-run noise, below);
- with two repeats or more on both sides, Welch's t-test agrees (p < alpha);
- where both sides carry 95 % confidence intervals, they do not overlap: a change that
  stays inside both runs' own noise is not a change.

Failures are results (``failures``): a key of B without a trusted number fails a gate like
a regression. Runs from another host or with other settings (service time, pools, workers,
window, Locust workers, load mode) are refused in one line naming the differences, unless
forced; code, image and tool changes are only shown, since measuring those is the point.
Keys live in ``keys``, failures in ``failures``, refusals in ``comparable``; their names are
importable from here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import fmean, geometric_mean, stdev

from loadlab.errors import CompareError
from loadlab.judge.comparable import FORCE_HINT, INFO_KEYS, conflicts, differences
from loadlab.judge.failures import METRICS, Failure, failures, problem, samples
from loadlab.judge.keys import Key, key_of
from loadlab.judge.significance import welch_t_test
from loadlab.measure.stats import Interval, WindowStats
from loadlab.results import Run

__all__ = [
    "DEFAULT_THRESHOLD", "FORCE_HINT", "INFO_KEYS", "METRICS", "P95_THRESHOLD", "Change",
    "Comparison", "Failure", "Interval", "Key", "Row", "compare", "conflicts", "differences",
    "factor_text", "failures", "intervals_overlap", "key_of", "problem", "samples", "span",
]  # fmt: skip

# Relative changes below which nothing is reported, whatever the t-test says, chosen from
# measured noise (28 keys of the default series at CPUS=1, 2-core host, 6 s windows):
# throughput moved at most 9.2 % between two runs (p90 1.6 %), so 10 %; p95 latency moved up
# to 18.5 % between runs (p90 8.6 %) and 39 % between repeats of a CPU-saturated point, so 25 %.
DEFAULT_THRESHOLD = 0.10
P95_THRESHOLD = 0.25
UNSTABLE_CV = 0.10  # pyperf's rule: a std dev >= 10 % of the mean makes a result suspect
# Comparing float ratios against the threshold: 100 -> 90 rps is a 10 % change, not 9.99...
_ROUNDING = 1e-9


@dataclass(frozen=True)
class Change:
    """One metric of one key in both runs."""

    a_mean: float
    b_mean: float
    ratio: float  # b_mean / a_mean, of the metric itself (not of performance)
    p_value: float | None  # None: fewer than 2 repeats on a side, no t-test
    significant: bool
    higher_is_better: bool
    a_ci: Interval | None = None  # the span of the side's 95 % intervals; None: not recorded
    b_ci: Interval | None = None

    @property
    def overlap(self) -> bool:
        return intervals_overlap(self.a_ci, self.b_ci)

    @property
    def slower(self) -> bool:
        return self.significant and (self.ratio < 1) == self.higher_is_better

    @property
    def faster(self) -> bool:
        return self.significant and not self.slower

    @property
    def word(self) -> str:
        """How the change reads: "1.23x slower", "1.10x faster" or "no significant change"."""
        if not self.significant:
            return "no significant change"
        return factor_text(self.ratio, self.higher_is_better)


@dataclass(frozen=True)
class Row:
    """One key measured in both runs."""

    key: Key
    n_a: int  # repeats measured in A
    n_b: int
    rps: Change
    p95: Change

    @property
    def regressed(self) -> bool:
        return self.rps.slower or self.p95.slower

    @property
    def what(self) -> str:
        """The slower metrics, e.g. "rps 1.25x slower, p95 1.40x slower"."""
        return ", ".join(
            f"{name} {c.word}" for name, c in (("rps", self.rps), ("p95", self.p95)) if c.slower
        )


@dataclass
class Comparison:
    """Everything a report needs; rendering (compare_report) reads only this."""

    a_id: str
    b_id: str
    threshold: float
    alpha: float
    p95_threshold: float = P95_THRESHOLD
    rows: list[Row] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    only_in_a: list[Key] = field(default_factory=list)
    only_in_b: list[Key] = field(default_factory=list)
    geometric_mean: float | None = None  # of the rps ratios B/A over the rows
    warnings: list[str] = field(default_factory=list)
    differences: list[tuple[str, object, object]] = field(default_factory=list)

    def regressions(self) -> list[Row]:
        """Rows significantly slower in B, on throughput or on p95."""
        return [row for row in self.rows if row.regressed]

    @property
    def failed(self) -> bool:
        """What a gate fails on: a regression or a failure."""
        return bool(self.regressions() or self.failures)


def compare(
    a: Run,
    b: Run,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = 0.05,
    force: bool = False,
    p95_threshold: float = P95_THRESHOLD,
) -> Comparison:
    """Compare run ``b`` against the reference ``a``; raise CompareError if they can't be.

    ``threshold`` applies to throughput, ``p95_threshold`` to p95 latency (noisier)."""
    c = Comparison(a.run_id, b.run_id, threshold, alpha, p95_threshold)
    reasons = conflicts(a, b)
    if reasons and not force:
        raise CompareError(
            f"cannot compare {a.run_id} with {b.run_id}: {'; '.join(reasons)}; {FORCE_HINT}"
        )
    c.warnings += [f"compared although they differ (forced): {reason}" for reason in reasons]
    if not {key_of(r) for r in a.points.values()} & {key_of(r) for r in b.points.values()}:
        raise CompareError(f"{a.run_id} and {b.run_id} have no point in common")
    c.differences = differences(a, b)
    samples_a, samples_b = samples(a), samples(b)
    c.warnings += _ignored_warning(a, samples_a)
    c.failures = failures(b, expected=samples_a)
    failed = {f.key for f in c.failures}
    c.only_in_a = [k for k in samples_a if k not in samples_b and k not in failed]
    c.only_in_b = [k for k in samples_b if k not in samples_a]
    for key in [k for k in samples_a if k in samples_b]:
        c.rows.append(_row(key, samples_a[key], samples_b[key], (threshold, p95_threshold), alpha))
        c.warnings += _unstable("A", key, samples_a[key]) + _unstable("B", key, samples_b[key])
    c.warnings += _few_repeats(c.rows, threshold)
    ratios = [r.rps.ratio for r in c.rows if 0 < r.rps.ratio < math.inf]
    c.geometric_mean = geometric_mean(ratios) if ratios else None
    return c


def _row(
    key: Key,
    a: list[WindowStats],
    b: list[WindowStats],
    thresholds: tuple[float, float],
    alpha: float,
) -> Row:
    def change(metric: str, higher_is_better: bool, threshold: float) -> Change:
        return _change(a, b, metric, higher_is_better, threshold, alpha)

    rps, p95 = change("rps", True, thresholds[0]), change("p95_ms", False, thresholds[1])
    return Row(key, len(a), len(b), rps, p95)


def _change(
    a: list[WindowStats],
    b: list[WindowStats],
    metric: str,
    higher_is_better: bool,
    threshold: float,
    alpha: float,
) -> Change:
    values_a, values_b = [getattr(s, metric) for s in a], [getattr(s, metric) for s in b]
    a_mean, b_mean = fmean(values_a), fmean(values_b)
    ratio = b_mean / a_mean if a_mean else (1.0 if b_mean == 0 else math.inf)
    big_enough = abs(ratio - 1) >= threshold - _ROUNDING
    p_value = welch_t_test(values_a, values_b)[1] if len(a) >= 2 and len(b) >= 2 else None
    a_ci, b_ci = span(_cis(a, metric)), span(_cis(b, metric))
    apart = not intervals_overlap(a_ci, b_ci)
    significant = big_enough and (p_value is None or p_value < alpha) and apart
    return Change(a_mean, b_mean, ratio, p_value, significant, higher_is_better, a_ci, b_ci)


def _cis(stats: list[WindowStats], metric: str) -> list:
    return [getattr(s, METRICS[metric]) for s in stats]


def span(found: list) -> Interval | None:
    """From the lowest low to the highest high of the repeats' intervals; None if any lacks one.

    The span, not a pooled interval: it holds the spread between repeats as well as the
    noise within each window, so the overlap rule errs towards "no change"."""
    if not found or any(
        not isinstance(ci, list | tuple) or len(ci) != 2 or None in ci for ci in found
    ):
        return None
    return (min(float(ci[0]) for ci in found), max(float(ci[1]) for ci in found))


def intervals_overlap(a: Interval | None, b: Interval | None) -> bool:
    """Whether two intervals share a value; False when either is unknown (nothing to say)."""
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def factor_text(ratio: float, higher_is_better: bool) -> str:
    """Like "1.23x slower" or "1.10x faster": in terms of performance, not of the metric."""
    worse = (ratio < 1) == higher_is_better
    factor = math.inf if ratio in (0, math.inf) else max(ratio, 1 / ratio)
    return f"{factor:.2f}x {'slower' if worse else 'faster'}"


def _ignored_warning(run: Run, found: dict[Key, list[WindowStats]]) -> list[str]:
    ignored = len(run.points) - sum(len(v) for v in found.values())
    if not ignored:
        return []
    return [f"A: {ignored} of {len(run.points)} points ignored (not ok, or no successful request)"]


def _unstable(label: str, key: Key, stats: list[WindowStats]) -> list[str]:
    found = []
    for metric in METRICS:
        values = [getattr(s, metric) for s in stats]
        if len(values) >= 2 and fmean(values) and stdev(values) >= UNSTABLE_CV * fmean(values):
            found.append(
                f"unstable: {label} {key.text} {metric} std dev is "
                f"{stdev(values) / fmean(values):.0%} of the mean (>= "
                f"{UNSTABLE_CV:.0%}); add repeats or quiet the host"
            )
    return found


def _few_repeats(rows: list[Row], threshold: float) -> list[str]:
    few = sum(1 for r in rows if min(r.n_a, r.n_b) < 2)
    if not few:
        return []
    return [
        f"{few} of {len(rows)} keys have fewer than 2 repeats on a side: judged by the "
        f"{threshold:.0%} threshold and the intervals, no t-test (REPEATS >= 2 enables "
        "it)"
    ]
