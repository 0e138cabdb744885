"""The numbers of one measured window, typed: ``WindowStats`` for either loop, ``Usage`` for
what the containers used over it.

run.json keeps its format: ``WindowStats.to_json`` writes exactly the keys a loop has always
written, in the same order and with the values as estimated (rounded there), and
``from_json`` reads both formats (1 and 2). A key a document lacks is None here and is left
out again when that document is written back (absent means unknown, never null), so a run
that is loaded and saved keeps its statistics byte for byte. Every key either format has
ever written is a field here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from loadlab.measure.steady import Truncation

Interval = tuple[float, float]  # a 95 % confidence interval (low, high)

# run.json's keys per loop, in the order the lab has always written them.
CLOSED_KEYS = (
    "requests", "failures", "failure_ratio", "rps", "rps_ci", "rps_count", "mean_ms", "mean_ci",
    "p50_ms", "p90_ms", "p95_ms", "p95_ci", "p99_ms", "p999_ms", "max_ms", "users_seen",
    "little_error_pct", "window_start", "window_end", "duration", "batches", "errors",
    "warmup", "truncation", "step_start", "step_end", "settle_budget",
)  # fmt: skip
OPEN_KEYS = (
    "requests", "failures", "failure_ratio", "rps", "rps_ci", "offered_rate", "sent_rate",
    "dropped", "incomplete", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms",
    "max_ms", "mean_ci", "p95_ci", "mean_uncorrected_ms", "p50_uncorrected_ms",
    "p99_uncorrected_ms", "lag_p50_ms", "lag_p99_ms", "lag_max_ms", "window_start",
    "window_end", "duration", "batches", "errors", "warmup", "truncation", "step_start",
    "step_end", "settle_budget",
)  # fmt: skip
# Written only where they were judged (an overloaded point's backlog), so no other point changes.
WHEN_SET_KEYS = ("backlog_rps", "backlog_ci", "p50_ci", "p99_ci")
_INTERVALS = ("rps_ci", "mean_ci", "p95_ci", "backlog_ci", "p50_ci", "p99_ci")


@dataclass(frozen=True)
class WindowStats:
    """One window's statistics, for either loop; a field that does not apply is None."""

    requests: int
    failures: int
    rps: float  # successful requests a second
    failure_ratio: float | None = None
    rps_ci: Interval | None = None  # None: too few batches
    mean_ms: float | None = None  # open loop: from the intended send time
    mean_ci: Interval | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p95_ci: Interval | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None
    window_start: float | None = None  # epoch seconds
    window_end: float | None = None
    duration: float | None = None  # seconds
    batches: int | None = None  # batch means behind the intervals (0: no interval)
    errors: dict[str, int] = field(default_factory=dict)
    # The closed loop only.
    rps_count: float | None = None  # completions / window: what a plain counter reports
    users_seen: int | None = None
    little_error_pct: float | None = None
    # The open loop only (latencies ``*_uncorrected_ms`` from the actual send).
    offered_rate: float | None = None
    sent_rate: float | None = None
    dropped: int | None = None
    incomplete: int | None = None
    mean_uncorrected_ms: float | None = None
    p50_uncorrected_ms: float | None = None
    p99_uncorrected_ms: float | None = None
    lag_p50_ms: float | None = None
    lag_p99_ms: float | None = None
    lag_max_ms: float | None = None
    backlog_rps: float | None = None  # overloaded: arrivals minus completions, requests/s
    backlog_ci: Interval | None = None
    # The open loop's median and p99 intervals (what an SLO on them is decided by).
    p50_ci: Interval | None = None
    p99_ci: Interval | None = None
    # Where the window sits in its step (measure.window).
    warmup: float | None = None  # seconds into the step where the series settled; None: never
    truncation: Truncation | None = None
    step_start: float | None = None
    step_end: float | None = None
    settle_budget: float | None = None
    # The keys of the document this was read from, in its order (empty: not read from disk).
    read_keys: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def loop(self) -> str:
        return "closed" if self.offered_rate is None else "open"

    def to_json(self) -> dict:
        keys = self.read_keys or (CLOSED_KEYS if self.loop == "closed" else OPEN_KEYS)
        keys += tuple(k for k in WHEN_SET_KEYS if k not in keys and getattr(self, k) is not None)
        return {key: _stored(getattr(self, key)) for key in keys}

    @classmethod
    def from_json(cls, data: dict) -> WindowStats:
        known = [key for key in data if key in _FIELDS]
        values = {key: _read(key, data[key]) for key in known}
        return cls(**{**dict.fromkeys(_REQUIRED), **values}, read_keys=tuple(known))


_FIELDS = {f.name for f in fields(WindowStats)} - {"read_keys"}
_REQUIRED = ("requests", "failures", "rps")


def _stored(value: object) -> object:
    return value.to_json() if isinstance(value, Truncation) else value


def _read(key: str, value: object) -> object:
    if value is None:
        return None
    if key in _INTERVALS:
        return tuple(value)
    if key == "truncation":
        return Truncation.from_json(value)
    return value


@dataclass(frozen=True)
class Usage:
    """What the containers used over a point's window, read from its telemetry document
    (``measure.window.Telemetry.over``); what the document lacks is None."""

    target_cpu: float | None = None  # cores
    throttled_pct: float | None = None  # share of CFS periods in which the target was throttled
    throttled_ms: float | None = None
    workers_cpu: tuple[float, ...] = ()  # cores, per Locust worker

    @property
    def locust_cpu(self) -> float | None:
        """The busiest Locust worker's cores."""
        return max(self.workers_cpu) if self.workers_cpu else None

    @classmethod
    def of(cls, telemetry: dict | None) -> Usage:
        telemetry = telemetry or {}
        target = telemetry.get("target") or {}
        workers = [w.get("cpu_cores") for w in (telemetry.get("locust") or {}).values()]
        return cls(
            target.get("cpu_cores"),
            target.get("throttled_pct"),
            target.get("throttled_ms"),
            tuple(w for w in workers if w is not None),
        )
