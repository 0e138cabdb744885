"""A measured window turned into numbers, each with a 95 % confidence interval.

Throughput without quantization. A closed loop's users finish in batches of one service time,
so counting completions in a fixed window moves in steps of a few per cent. Instead each user's
own loop is followed: between two consecutive completions of one user lies exactly one cycle
(its client-side gap plus one response time). Over the window, with C such cycles of total
length T among U users, the throughput is ``U * C / T`` (the response-time law X = N / (R + Z),
with every cycle measured rather than assumed). It is exact for users that differ, since each
user's cycles add up to the time it spent in the window, and it does not step with the
batches. Little's law then holds up to the client's own gap, which ``little_error_pct`` shows.

Precision by batch means: the window is cut into k batches of equal length, at least one
measured mean latency long (a full turn of the queue), at most 10;
batches are merged in pairs while their lag-1 autocorrelation exceeds 0.5, the usual check
that batch means are close to independent. The 95 % interval is the estimate plus or minus
t(k-1) * sd / sqrt(k). With fewer than 3 batches there is no interval (None), never a guess.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from statistics import fmean, stdev

from loadlab.judge.significance import t_cdf
from loadlab.measure import record as record
from loadlab.measure.samples import Sample, completed_between, percentile
from loadlab.measure.stats import Interval, WindowStats
from loadlab.shared import histograms

MAX_BATCHES = 10
MIN_BATCHES = 3
MAX_LAG1 = 0.5
MIN_PER_BATCH = 20  # below this a batch's p95 is one of its largest values, not a percentile
MIN_PER_BATCH_P99 = 100  # the same for a p99: a hundred answers a batch at least


def closed_loop(samples: list[Sample], start: float, end: float, users: int) -> WindowStats:
    """The statistics of the requests that completed in [start, end) of a closed loop."""
    inside = completed_between(samples, start, end)
    ok = sorted(s.response_ms for s in inside if s.ok)
    errors = Counter(s.error for s in inside if not s.ok)
    ended = [c for c in cycles(samples) if start <= c[0] < end]
    rps = throughput(inside, ended)
    mean = fmean(ok) if ok else None
    k = batch_count(end - start, mean)
    intervals = _intervals(inside, ended, start, end, k, rps, ok)
    return WindowStats(
        requests=len(inside),
        failures=sum(errors.values()),
        failure_ratio=_round(sum(errors.values()) / len(inside), 6) if inside else 0.0,
        rps=round(rps, 3),
        rps_ci=intervals["rps"],
        rps_count=round(len(ok) / (end - start), 3),
        mean_ms=_round(mean, 3),
        mean_ci=intervals["mean"],
        **_percentiles(ok),
        p95_ci=intervals["p95"],
        p99_ci=_closed_p99(inside, start, end, intervals["batches"], ok),
        users_seen=len({s.user for s in inside}),
        little_error_pct=little_error(rps, users, mean),
        window_start=start,
        window_end=end,
        duration=round(end - start, 3),
        batches=intervals["batches"],
        errors=dict(errors),
    )


def cycles(samples: Sequence[Sample]) -> list[tuple[float, float]]:
    """(end, length) of every cycle: from a user's completion back to its previous one.

    Pass every sample of the run and keep the cycles that *end* in the window: each completion
    in the window then brings its whole cycle, however long. Keeping only cycles that fit in
    the window would favour the short ones (the inspection paradox) and overstate throughput
    when cycles are long and vary (a throttled CPU-bound queue)."""
    last: dict[str, float] = {}
    found = []
    for s in samples:
        if s.user in last:
            found.append((s.end, s.end - last[s.user]))
        last[s.user] = s.end
    return found


def throughput(window: Sequence[Sample], found: list[tuple[float, float]] | None = None,
               users: int | None = None) -> float:  # fmt: skip
    """Successful requests a second: U * C / T over the cycles ending in the window (by
    default those of ``window`` alone), times the success share."""
    found = cycles(window) if found is None else found
    total = sum(length for _, length in found)
    if not found or total <= 0:
        return 0.0
    users = users if users is not None else len({s.user for s in window})
    ok_share = sum(s.ok for s in window) / len(window)
    return users * len(found) / total * ok_share


def little_error(rps: float, users: int, mean_ms: float | None) -> float | None:
    """(rps - U / mean latency) / (U / mean latency), in per cent."""
    if not mean_ms or not users:
        return None
    little = users / (mean_ms / 1000)
    return round((rps - little) / little * 100, 3)


def batch_count(duration: float, mean_ms: float | None) -> int:
    """Batches of at least one measured mean latency, a full turn of the queue (none if under
    MIN_BATCHES fit); correlated neighbours are merged afterwards (lag-1 check)."""
    shortest = (mean_ms or 0) / 1000
    fits = MAX_BATCHES if shortest <= 0 else int(duration / shortest)
    k = min(MAX_BATCHES, fits)
    return k if k >= MIN_BATCHES else 0


def confidence_interval(estimate: float, batch_values: Sequence[float]) -> Interval | None:
    """estimate +- t(k-1, 0.975) * sd / sqrt(k) over the batch values."""
    k = len(batch_values)
    if k < MIN_BATCHES:
        return None
    half = t_quantile(0.975, k - 1) * stdev(batch_values) / math.sqrt(k)
    return (round(estimate - half, 3), round(estimate + half, 3))


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (p > 0.5), by bisection on its CDF."""
    low, high = 0.0, 1000.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2


def lag1(values: Sequence[float]) -> float:
    """Lag-1 autocorrelation; 0 for a constant series."""
    mean = fmean(values)
    denominator = sum((v - mean) ** 2 for v in values)
    if denominator == 0:
        return 0.0
    numerator = sum((a - mean) * (b - mean) for a, b in pairwise(values))
    return numerator / denominator


def _intervals(inside: list[Sample], ended: list[tuple[float, float]], start: float, end: float,
               k: int, rps: float, ok: list[float]) -> dict:  # fmt: skip
    """The CIs of rps, mean and p95, merging batches while they are correlated."""
    while k >= MIN_BATCHES:
        batches = _batches(inside, ended, start, end, k)
        series = {
            "rps": [b["rps"] for b in batches],
            "mean": [b["mean"] for b in batches],
        }
        if any(v is None for values in series.values() for v in values):
            k //= 2  # an empty batch: too many batches for this window
            continue
        if k >= 2 * MIN_BATCHES and max(lag1(v) for v in series.values()) > MAX_LAG1:
            k //= 2
            continue
        p95s = [b["p95"] for b in batches]
        return {
            "rps": confidence_interval(rps, series["rps"]),
            "mean": confidence_interval(fmean(ok), series["mean"]),
            "p95": None if None in p95s else confidence_interval(percentile(ok, 95), p95s),
            "batches": k,
        }
    return {"rps": None, "mean": None, "p95": None, "batches": 0}


def _closed_p99(inside: list[Sample], start: float, end: float, k: int,
                ok: list[float]) -> Interval | None:  # fmt: skip
    """The CI of p99 from at most the batches the rps and mean were vetted on (fewer batches
    are less correlated), each holding MIN_PER_BATCH_P99 answers; None if the window is too
    short for MIN_BATCHES of them (a p99 SLO then stays undecided, never guessed)."""
    k = min(k, len(ok) // MIN_PER_BATCH_P99)
    if k < MIN_BATCHES:
        return None
    width, p99s = (end - start) / k, []
    for j in range(k):
        batch = completed_between(inside, start + j * width, start + (j + 1) * width)
        answered = sorted(s.response_ms for s in batch if s.ok)
        if len(answered) < MIN_PER_BATCH_P99:
            return None
        p99s.append(percentile(answered, 99))
    return confidence_interval(percentile(ok, 99), p99s)


def _batches(inside: list[Sample], ended: list[tuple[float, float]], start: float, end: float,
             k: int) -> list[dict]:  # fmt: skip
    width = (end - start) / k
    users = len({s.user for s in inside})
    found = []
    for j in range(k):
        a, b = start + j * width, start + (j + 1) * width
        batch = completed_between(inside, a, b)
        lengths = [length for e, length in ended if a <= e < b]
        ok = sorted(s.response_ms for s in batch if s.ok)
        share = len(ok) / len(batch) if batch else 0
        found.append({
            "rps": users * len(lengths) / sum(lengths) * share if lengths else None,
            "mean": fmean(ok) if ok else None,
            "p95": percentile(ok, 95) if len(ok) >= MIN_PER_BATCH else None,
        })  # fmt: skip
    return found


def _percentiles(ok: list[float]) -> dict[str, float | None]:
    def pct(q: float) -> float | None:
        return round(percentile(ok, q), 3) if ok else None

    return {
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "p999_ms": pct(99.9),
        "max_ms": round(ok[-1], 3) if ok else None,
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def open_loop(slices: list, width: float, rate: float, errors: dict[str, int]) -> WindowStats:
    """The statistics of an open-loop window: whole slices of every worker's record.

    Throughput is what completed per second (arrivals do not wait for answers, so nothing
    quantizes it); latencies are from the intended send time (``*_ms``, what a user of the
    service sees) and from the actual send (``*_uncorrected_ms``, what the server took);
    ``lag_*`` is how late the sends left. Intervals by batch means over groups of slices.
    """
    seconds = len(slices) * width
    ok, failed = record.total(slices, "ok"), record.total(slices, "failed")
    corrected = histograms.percentiles(record.merged(slices, "corrected"))
    uncorrected = histograms.percentiles(record.merged(slices, "uncorrected"))
    lag = histograms.percentiles(record.merged(slices, "lag"))
    sent = record.total(slices, "sent")
    rps = ok / seconds if seconds else 0.0
    cis = _open_intervals(slices, width, rps, corrected)
    done = ok + failed
    return WindowStats(
        requests=done,
        failures=failed,
        failure_ratio=round(failed / done, 6) if done else 0.0,
        rps=round(rps, 3),
        rps_ci=cis["rps"],
        offered_rate=rate,
        sent_rate=round(sent / seconds, 3) if seconds else 0.0,
        dropped=record.total(slices, "dropped"),
        incomplete=record.total(slices, "incomplete"),
        **{
            k: corrected[k]
            for k in ("mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")
        },
        mean_ci=cis["mean"],
        p95_ci=cis["p95"],
        p50_ci=cis["p50"],
        p99_ci=cis["p99"],
        mean_uncorrected_ms=uncorrected["mean_ms"],
        p50_uncorrected_ms=uncorrected["p50_ms"],
        p99_uncorrected_ms=uncorrected["p99_ms"],
        lag_p50_ms=lag["p50_ms"],
        lag_p99_ms=lag["p99_ms"],
        lag_max_ms=lag["max_ms"],
        window_start=slices[0].start if slices else None,
        window_end=slices[-1].start + width if slices else None,
        duration=round(seconds, 3),
        batches=cis["batches"],
        errors=errors,
    )


def _p99_interval(slices: list, k: int, corrected: dict) -> tuple[float, float] | None:
    """The p99's interval over fewer, larger batches than the mean's (at most ``k``, the
    batches found uncorrelated): each needs a hundred answers for its p99 to be one."""
    answered = record.total(slices, "ok")
    k = min(k, answered // MIN_PER_BATCH_P99)
    if k < MIN_BATCHES:
        return None
    size = len(slices) // k
    groups = [slices[j * size : (j + 1) * size] for j in range(k)]
    p99s = [histograms.percentiles(record.merged(g, "corrected"))["p99_ms"] for g in groups]
    if None in p99s:
        return None
    return confidence_interval(corrected["p99_ms"], p99s)


def _open_intervals(slices: list, width: float, rps: float, corrected: dict) -> dict:
    """Batch means over groups of consecutive slices (k <= 10, merged while correlated)."""
    k = min(MAX_BATCHES, len(slices))
    while k >= MIN_BATCHES:
        size = len(slices) // k
        groups = [slices[j * size : (j + 1) * size] for j in range(k)]
        rates = [record.total(g, "ok") / (len(g) * width) for g in groups]
        stats = [histograms.percentiles(record.merged(g, "corrected")) for g in groups]
        means = [s["mean_ms"] for s in stats]
        if None in means or (k >= 2 * MIN_BATCHES and max(lag1(rates), lag1(means)) > MAX_LAG1):
            k //= 2
            continue
        enough = all(s["count"] >= MIN_PER_BATCH for s in stats)

        def interval(key: str, ok: bool, batches: list = stats) -> tuple[float, float] | None:
            return confidence_interval(corrected[key], [b[key] for b in batches]) if ok else None

        return {
            "rps": confidence_interval(rps, rates),
            "mean": confidence_interval(corrected["mean_ms"], means),
            "p95": interval("p95_ms", enough),
            "p50": interval("p50_ms", enough),
            "p99": _p99_interval(slices, k, corrected),
            "batches": k,
        }
    return {"rps": None, "mean": None, "p95": None, "p50": None, "p99": None, "batches": 0}
