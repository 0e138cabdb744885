"""Model error as a figure: how far each yardstick is from what was measured, per kind of series.

A point's kind is its loop and its work: closed I/O and closed CPU (the endpoint's kind in
``shared.endpoints.ENDPOINTS``), open uniform and open Poisson (the run's arrivals). Each kind
is judged on the figure its yardstick predicts: the closed loop's throughput, the open loop's
mean latency (where the model gives one) and throughput. The error is signed, in per cent of
the model: ``(measured - predicted) / predicted * 100`` (summary.csv's ``rps_error_pct`` for
throughput), so a negative throughput error is a server slower than the model, a positive
latency error one slower than it.

Only trusted points count (status ``ok``); every other point of a kind is counted as left out,
with why (its status, or "no model" where the model gives no figure). Per kind the median and
the worst (the largest in absolute value) error, with the point it was measured on; per series
(variant and endpoint) one sentence: where model and measurement part (the lowest load at
which the error first exceeds PARTS_PCT) and by how much. Beside them, the yardstick's
measured inputs (``calibrations``): each CPU cost and service time the models took, with its
spread and when it was measured, so a reader sees how precise the line is. Nothing here
renders HTML: the report and the command line read these results.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from statistics import median

from loadlab.results import PointResult, Run
from loadlab.shared.endpoints import ENDPOINTS

TRUSTED = ("ok",)
KINDS = ("closed I/O", "closed CPU", "open uniform", "open Poisson")
METRICS = {"closed": ("rps",), "open": ("mean_ms", "rps")}  # the figures each loop's model gives
NAMES = {"rps": "throughput", "mean_ms": "mean latency"}
PARTS_PCT = 5.0  # model and measurement part where the error first exceeds this
NO_MODEL = "no model"
# A point that shed load (uvicorn's --limit-concurrency answering 503): its throughput is of the
# answers that got through, and how many get through depends on how uvicorn counts connections
# and tasks, which no yardstick here models: a status of ok, but not the model's to judge.
SHEDDING = "shedding"


@dataclass(frozen=True)
class KindError:
    """One kind's model error on one figure, over its trusted points."""

    kind: str  # one of KINDS
    metric: str  # the figure compared: "rps" or "mean_ms"
    points: int  # trusted points with a model for the figure
    median_pct: float | None
    worst_pct: float | None  # the largest in absolute value, signed
    worst_point: str | None  # its point id
    left_out: dict[str, int] = field(default_factory=dict)  # why -> points

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SeriesError:
    """Where one series' model and measurement part, from its trusted points."""

    variant: str
    endpoint: str
    kind: str
    metric: str
    points: int
    low_pct: float | None  # the lowest signed error
    high_pct: float | None  # the highest
    parts_at: float | None  # the lowest load whose error exceeds PARTS_PCT (None: none does)
    sentence: str

    def to_json(self) -> dict:
        return asdict(self)


def kind_of(run: Run, r: PointResult) -> str | None:
    """The point's kind (one of KINDS), or None for work no model covers (a user's endpoint,
    background tasks, health)."""
    if r.point.load == "open":
        resolved = run.config.get("resolved") or {}
        arrivals = resolved.get("arrivals") or run.config.get("arrivals") or "uniform"
        return "open Poisson" if arrivals == "poisson" else "open uniform"
    work = getattr(ENDPOINTS.get(r.point.endpoint), "kind", None)
    return {"io": "closed I/O", "cpu": "closed CPU"}.get(work)


def error_pct(r: PointResult, metric: str) -> float | None:
    """(measured - predicted) / predicted, in per cent; None without both."""
    measured = getattr(r.stats, metric, None) if r.stats is not None else None
    predicted = getattr(r.prediction, metric, None) if r.prediction is not None else None
    if measured is None or not predicted:
        return None
    return (measured - predicted) / predicted * 100


def kinds(run: Run) -> list[KindError]:
    """One KindError per kind in the run and figure its model gives, in KINDS' order."""
    found = []
    for kind in KINDS:
        members = [r for r in run.points.values() if kind_of(run, r) == kind]
        if not members:
            continue
        for metric in METRICS[members[0].point.load]:
            found.append(_kind(kind, metric, members))
    return found


def _kind(kind: str, metric: str, members: list[PointResult]) -> KindError:
    errors, left_out = _trusted(members, metric)
    if not errors:
        return KindError(kind, metric, 0, None, None, None, left_out)
    worst = max(errors, key=lambda e: abs(e[1]))
    return KindError(kind, metric, len(errors), round(median(e for _, e in errors), 2),
                     round(worst[1], 2), worst[0].point.id, left_out)  # fmt: skip


def _trusted(members: list[PointResult], metric: str):
    """[(point, error)] of the trusted points with a model, and {why: count} of the others."""
    errors, left_out = [], Counter()
    for r in members:
        if r.status in TRUSTED and shed(r):
            left_out[SHEDDING] += 1
            continue
        error = error_pct(r, metric) if r.status in TRUSTED else None
        if error is None:
            left_out[r.status if r.status not in TRUSTED else NO_MODEL] += 1
        else:
            errors.append((r, error))
    return errors, dict(sorted(left_out.items()))


def shed(r: PointResult) -> bool:
    """Whether the point's server shed requests: a concurrency limit and failed answers."""
    limited = bool((r.runtime or {}).get("limit_concurrency"))
    return limited and r.stats is not None and (r.stats.failures or 0) > 0


def series(run: Run) -> list[SeriesError]:
    """One SeriesError per (variant, endpoint) of a kind, in the run's order."""
    groups: dict[tuple[str, str], list[PointResult]] = {}
    for r in run.points.values():
        if kind_of(run, r) is not None:
            groups.setdefault((r.point.variant, r.point.endpoint), []).append(r)
    return [_series(run, variant, endpoint, members)
            for (variant, endpoint), members in groups.items()]  # fmt: skip


def _series(run: Run, variant: str, endpoint: str, members: list[PointResult]) -> SeriesError:
    kind, load = kind_of(run, members[0]), members[0].point.load
    metrics = METRICS[load]  # the open loop: its mean latency, its throughput where it has none
    metric = next((m for m in metrics if _trusted(members, m)[0]), metrics[0])
    errors, left_out = _trusted(members, metric)
    name = f"{variant} {endpoint}"
    if not errors:
        why = ", ".join(f"{n} {reason}" for reason, n in left_out.items())
        return SeriesError(variant, endpoint, kind, metric, 0, None, None, None,
                           f"{name}: no trusted point with a model ({why})")  # fmt: skip
    errors.sort(key=lambda e: e[0].point.level)
    values = [e for _, e in errors]
    low, high = min(values), max(values)
    apart = next((r.point.level for r, e in errors if abs(e) > PARTS_PCT), None)
    measured = f"the measured {NAMES[metric]}"
    if apart is None:
        sentence = (f"{name}: the model is within {max(map(abs, values)):.1f} % of {measured} "
                    f"at every level ({_span(errors, load)})")  # fmt: skip
    else:
        after = [e for r, e in errors if r.point.level >= apart]
        before = [e for r, e in errors if r.point.level < apart]
        sentence = f"{name}: {measured} {_by(after)} from {_level(apart, load)} on"
        if before:
            lower = sorted({r.point.level for r, _ in errors if r.point.level < apart})
            where = (f"at {_level(lower[0], load)}" if len(lower) == 1
                     else f"below {_level(apart, load)}")  # fmt: skip
            sentence += f" (within {max(map(abs, before)):.1f} % {where})"
    return SeriesError(variant, endpoint, kind, metric, len(errors), round(low, 2),
                       round(high, 2), apart, sentence)  # fmt: skip


@dataclass(frozen=True)
class Overload:
    """An overloaded open-loop point: the throughput the server reached (its interval) next to
    the model's capacity P/S, so a gap between them is shown as the server's."""

    point_id: str
    reached_rps: float
    reached_ci: tuple[float, float] | None
    capacity_rps: float
    gap_pct: float  # (reached - capacity) / capacity, in per cent
    sentence: str


def overloads(run: Run) -> list[Overload]:
    """One Overload per overloaded point with a model capacity, in the run's order."""
    found = []
    for r in run.points.values():
        capacity = getattr(r.prediction, "capacity", None)
        if r.status != "overloaded" or not capacity or r.stats is None or r.stats.rps is None:
            continue
        ci = r.stats.rps_ci
        gap = (r.stats.rps - capacity) / capacity * 100
        within = f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""
        sentence = (f"{describe(run, r.point.id)}: overloaded, the server reached "
                    f"{r.stats.rps:.1f}/s{within} against P/S = {capacity:.1f}/s "
                    f"({gap:+.1f} %)")  # fmt: skip
        found.append(Overload(r.point.id, r.stats.rps, ci, capacity, round(gap, 2), sentence))
    return found


@dataclass(frozen=True)
class Calibration:
    """One measured input of the models: a CPU cost a request at ``streams`` concurrent
    streams, or an I/O endpoint's service time at low load; its samples' spread is its
    precision, ``points`` how many points' models took it."""

    variant: str
    cpus: float
    endpoint: str
    what: str  # "CPU a request" or "service time"
    streams: int | None  # the concurrency a CPU cost was measured at
    median_ms: float
    low_ms: float | None  # the lowest and highest sample (batch): None when none were kept
    high_ms: float | None
    samples: int
    nominal_ms: float | None  # the service time asked for (WORK_SECONDS), for an I/O endpoint
    measured_at: str | None  # the first of its points' start: measured just before
    points: int

    @property
    def spread_pct(self) -> float | None:
        """The samples' range in per cent of the median."""
        if self.low_ms is None or not self.median_ms:
            return None
        return (self.high_ms - self.low_ms) / self.median_ms * 100


def calibrations(run: Run) -> list[Calibration]:
    """Every distinct measured input of the run's models, in the run's order."""
    found: dict[tuple, list[PointResult]] = {}
    for r in run.points.values():
        key = _calibration_key(r)
        if key is not None:
            found.setdefault(key, []).append(r)
    return [_calibration(key, members) for key, members in found.items()]


def _calibration_key(r: PointResult) -> tuple | None:
    p, m = r.point, r.prediction
    if m is None:
        return None
    if m.cpu_cost_ms is not None:
        return (p.variant, p.cpus, p.endpoint, "CPU a request", m.cpu_cost_streams,
                m.cpu_cost_ms, m.cpu_cost_batches_ms or ())  # fmt: skip
    if m.service_ms is not None:
        return (p.variant, p.cpus, p.endpoint, "service time", None, m.service_ms,
                m.service_samples_ms or ())  # fmt: skip
    return None


def _calibration(key: tuple, members: list[PointResult]) -> Calibration:
    variant, cpus, endpoint, what, streams, value, samples = key
    started = sorted(r.started_at for r in members if r.started_at)
    nominal = members[0].prediction.nominal_service_ms
    return Calibration(variant, cpus, endpoint, what, streams, value,
                       min(samples) if samples else None, max(samples) if samples else None,
                       len(samples), nominal, started[0] if started else None,
                       len(members))  # fmt: skip


def _by(errors: list[float]) -> str:
    """'is below the model by 6.0-10.7 %', 'above ... by', or 'is off the model by -3 to +8'."""
    low, high = min(errors), max(errors)
    sizes = sorted({f"{abs(low):.1f}", f"{abs(high):.1f}"}, key=float)
    if high < 0 or low > 0:
        side = "below" if high < 0 else "above"
        return f"is {side} the model by {'-'.join(sizes)} %"
    return f"is off the model by {low:+.1f} to {high:+.1f} %"


def _level(level: float, load: str) -> str:
    if load == "open":
        return f"{level:g}/s"
    return f"{level:g} user{'s' if level != 1 else ''}"


def _span(errors: list, load: str) -> str:
    levels = [r.point.level for r, _ in errors]
    lo, hi = min(levels), max(levels)
    return _level(lo, load) if lo == hi else f"{lo:g}-{_level(hi, load)}"


def summary(run: Run) -> dict:
    """What run.json keeps in metadata.model_error: the kinds and the series."""
    return {"kinds": [k.to_json() for k in kinds(run)],
            "series": [s.to_json() for s in series(run)],
            "overloads": [asdict(o) for o in overloads(run)]}  # fmt: skip


def describe(run: Run, point_id: str) -> str:
    """A point in a few words: 'uvicorn-workers cpu/sync cpus=1 users=80'."""
    p = run.points[point_id].point
    load = f"users={p.users}" if p.rate is None else f"rate={p.rate:g}"
    repeat = f" repeat {p.repeat}" if p.repeat > 1 else ""
    return f"{p.variant} {p.endpoint} cpus={p.cpus:g} {load}{repeat}"


def lines(run: Run) -> list[str]:
    """One line per kind and figure, as the end of a sweep prints them."""
    found = []
    for k in kinds(run):
        figure = "" if k.metric == "rps" and k.kind.startswith("closed") else f" {NAMES[k.metric]}"
        out = ", ".join(f"{n} {why}" for why, n in k.left_out.items())
        out = f" ({sum(k.left_out.values())} left out: {out})" if out else ""
        if k.points == 0:
            found.append(f"model error: {k.kind}{figure}: no trusted point with a model{out}")
            continue
        found.append(f"model error: {k.kind}{figure} median {k.median_pct:+.1f} %, worst "
                     f"{k.worst_pct:+.1f} % ({describe(run, k.worst_point)}), "
                     f"{k.points} point{'s' if k.points > 1 else ''}{out}")  # fmt: skip
    return found + [f"model capacity: {o.sentence}" for o in overloads(run)]
