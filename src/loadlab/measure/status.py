"""Whether a measured point can be trusted: its status, and every reason against it.

A number that breaks physics is a bug in the lab until shown otherwise, so these rules read
only what was measured (and the pool sizes read from /runtime), never the model's prediction:

- ``failing``: more failed requests than MAX_FAILURE_RATIO allows, or no successful request at
  all. A shedding variant (uvicorn's --limit-concurrency) answers 503 by design: its shed ratio
  is its result, not a failure of the point.
- ``harness-bound``: the load generator, not the target, set the pace: fewer users completed
  requests than were asked for, the closed loop broke Little's law by more than 2 % (the
  client spent that share of each cycle outside the server), a Locust worker used 90 % or
  more of the CPU it had, or (open loop) the sends left late (p99 send lag above 5 ms) or were
  dropped while the server kept up with what arrived.
- ``overloaded`` (open loop only): the backlog grew. More requests arrived (sent, or dropped
  at the in-flight cap) than were answered, by more than 3 % of the arrivals (what KEPT_UP
  allows) and by more than the completion rate's own 95 % interval: the server was the limit,
  so its latency climbs through the window and, once MAX_IN_FLIGHT requests wait, the cap
  drops sends. This is a result, not an accident: the point's throughput is the capacity it
  reached (``rps``, with ``rps_ci``) and ``backlog`` says how fast the queue grew. It fails
  every service-level objective, whatever its window's numbers read: its latency has no
  steady value to meet one with (``can_meet_slo``). Unless the cap itself is below the
  server's pool P (read from /runtime) and sends were dropped: then the server never had P
  requests to work on, the cap set the throughput, and the point is harness-bound.
- ``unsteady``: the step never settled within its budget (see ``steady``) for a reason the
  lab cannot name: a closed loop, or an open loop that kept up with its arrivals.
- a throughput above the pool's physical ceiling P / S fails the point: no pool can exceed it.

The first of failed, failing, harness-bound, overloaded and unsteady that applies is the
status; every reason that applies is kept in the flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadlab.measure.stats import Interval, WindowStats

MAX_LITTLE_ERROR_PCT = 2.0
MAX_SEND_LAG_MS = 5.0  # a few scheduler ticks: beyond it the sends no longer follow the plan
KEPT_UP = 0.97  # completions within 3 % of arrivals: the server was not the limit
MAX_LOCUST_CPU_SHARE = 0.90
CEILING_TOLERANCE = 0.005  # the pool ceiling is exact; half a per cent covers timer resolution
STATUSES = ("ok", "failed", "failing", "harness-bound", "overloaded", "unsteady", "pending")
# Statuses whose numbers are results, drawn as such: an overloaded point's throughput is the
# capacity it reached. Only ``ok`` can meet a service-level objective (``can_meet_slo``).
RESULTS = ("ok", "overloaded")


@dataclass(frozen=True)
class Backlog:
    """An open-loop window's arrivals against its completions, in requests a second."""

    arrived: float  # sent, or dropped at the in-flight cap
    completed: float  # answered, successfully or not
    completed_ci: Interval | None  # the completion rate's 95 % interval (None: too few batches)
    dropped: int  # sends the in-flight cap refused in the window

    @property
    def growth(self) -> float:
        """How fast the backlog grew: arrivals minus completions."""
        return round(self.arrived - self.completed, 3)

    @property
    def growth_ci(self) -> Interval | None:
        ci = self.completed_ci
        return None if ci is None else (round(self.arrived - ci[1], 3),
                                        round(self.arrived - ci[0], 3))  # fmt: skip

    @property
    def growing(self) -> bool:
        """Arrivals above completions by more than KEPT_UP allows and beyond the completion
        rate's own interval (a short, noisy window is not called overloaded)."""
        short = self.completed < KEPT_UP * self.arrived
        beyond = self.completed_ci is None or self.arrived > self.completed_ci[1]
        return short and beyond


def backlog(stats: WindowStats) -> Backlog | None:
    """What arrived against what completed in an open-loop window (None: a closed loop)."""
    if stats.sent_rate is None:
        return None
    seconds = stats.duration or 0.0

    def per_second(count: int | None) -> float:
        return (count or 0) / seconds if seconds else 0.0

    failed = per_second(stats.failures)
    ci = stats.rps_ci
    return Backlog(
        arrived=stats.sent_rate + per_second(stats.dropped),
        completed=(stats.rps or 0.0) + failed,
        completed_ci=None if ci is None else (ci[0] + failed, ci[1] + failed),
        dropped=stats.dropped or 0,
    )


def can_meet_slo(status: str) -> bool:
    """Whether a point of this status can meet a service-level objective at all: only an ok
    one. An overloaded point fails every SLO (its backlog and so its latency grow without
    bound, whatever its window's percentiles read); the other statuses are not trusted."""
    return status == "ok"


@dataclass
class Assessment:
    """A point's status and every reason against trusting it (its flags); an overloaded
    point's backlog too."""

    status: str = "ok"
    flags: list[str] = field(default_factory=list)
    backlog: Backlog | None = None

    def add(self, status: str, reason: str) -> None:
        self.flags.append(reason)
        if STATUSES.index(status) < STATUSES.index(self.status) or self.status == "ok":
            self.status = status


def assess(stats: WindowStats, *, users: int | None, settled: bool, max_failure_ratio: float,
           shedding: bool = False, ceiling_rps: float | None = None,
           locust_cpu_share: float | None = None, in_flight_cap: int | None = None,
           pool: float | None = None) -> Assessment:  # fmt: skip
    """The status of one point from its window statistics (open loop when ``users`` is None);
    ``in_flight_cap`` (the open loop's, over every worker) and ``pool`` (P, from /runtime)
    tell a cap below the pool from a server that was the limit."""
    found = Assessment()
    _failures(found, stats, max_failure_ratio, shedding)
    if users is None:
        # The open loop spins through the last millisecond before each send, so its CPU says
        # nothing; whether the sends left on time is measured directly (the send lag).
        _open_loop(found, stats, in_flight_cap, pool)
    else:
        _harness(found, stats, users, shedding)
        if locust_cpu_share is not None and locust_cpu_share >= MAX_LOCUST_CPU_SHARE:
            found.add("harness-bound", f"a Locust worker used {locust_cpu_share:.0%} of its CPU")
    if not settled:
        found.add("unsteady", unsettled_reason(stats))
    rps, ci = stats.rps or 0.0, stats.rps_ci
    low = ci[0] if ci else rps
    if ceiling_rps is not None and low > ceiling_rps * (1 + CEILING_TOLERANCE):
        found.add("failed", f"{rps:g} rps exceeds the pool's ceiling P/S = {ceiling_rps:g}")
    return found


def unsettled_reason(stats: WindowStats) -> str:
    """Which of ``steady``'s rules kept the step from settling within its budget."""
    cut, budget = stats.truncation, stats.settle_budget
    window = f"measured from {_offset(stats)} s into the step"
    if cut is not None and cut.drifting:
        series = " and ".join(cut.drifting_in) or "series"
        return f"did not settle: its {series} still moved after mid-step ({window})"
    if cut is None or cut.turnover is None:
        return f"did not settle: some user never completed a request sent in the step ({window})"
    return f"settled after {stats.warmup} s, past its budget of {budget} s ({window})"


def overload_reason(found: Backlog, stats: WindowStats) -> str:
    """The overload in numbers: arrivals, the capacity reached, the backlog's growth."""
    ci = found.completed_ci
    interval = f", 95 % CI {ci[0]:.1f}-{ci[1]:.1f}" if ci else ""
    text = (f"{found.arrived:.1f} requests/s arrived, {found.completed:.1f}/s were "
            f"answered (the capacity it reached{interval}): the backlog grew "
            f"{found.growth:.1f}/s")  # fmt: skip
    if found.dropped:
        text += f"; {found.dropped} sends dropped at the in-flight cap (MAX_IN_FLIGHT)"
    return text


def _offset(stats: WindowStats) -> float | None:
    start, window = stats.step_start, stats.window_start
    return None if start is None or window is None else round(window - start, 1)


def _failures(found: Assessment, stats: WindowStats, limit: float, shedding: bool) -> None:
    requests, failures = stats.requests or 0, stats.failures or 0
    if requests == failures:
        found.add("failing", "no successful request in the window")
    elif not shedding and (stats.failure_ratio or 0) > limit:
        found.add("failing", f"failure ratio {stats.failure_ratio:.2%} > {limit:.2%} "
                             "(MAX_FAILURE_RATIO)")  # fmt: skip


def _harness(found: Assessment, stats: WindowStats, users: int, shedding: bool) -> None:
    seen = stats.users_seen
    if seen is not None and seen < users:
        found.add("harness-bound", f"only {seen} of {users} users completed a request")
    little = stats.little_error_pct
    if not shedding and little is not None and abs(little) > MAX_LITTLE_ERROR_PCT:
        found.add("harness-bound", f"Little's-law error {little:+.2f} % (> "
                                   f"{MAX_LITTLE_ERROR_PCT:g} %)")  # fmt: skip


def _open_loop(found: Assessment, stats: WindowStats, cap: int | None = None,
               pool: float | None = None) -> None:  # fmt: skip
    """Overloaded when the backlog grew, unless a cap below the pool dropped the sends; else
    late or dropped sends are the harness's."""
    arrivals = backlog(stats)
    if arrivals is not None and arrivals.growing:
        found.backlog = arrivals
        found.add("overloaded", overload_reason(arrivals, stats))
        if stats.dropped and cap is not None and pool is not None and cap < pool:
            found.add("harness-bound", f"{stats.dropped} sends dropped at the in-flight cap of "
                                       f"{cap}, below the server's pool of {pool:g}: the cap, "
                                       "not the server, set the throughput")  # fmt: skip
        return
    # Completions within KEPT_UP of the arrivals: the server kept up, so late or dropped
    # sends were the harness's. Between the two (short of arrivals, but within the interval)
    # nothing is said about the sends: the server may have been the limit.
    kept_up = arrivals is not None and arrivals.arrived > 0 and (
        arrivals.completed >= KEPT_UP * arrivals.arrived)  # fmt: skip
    lag = stats.lag_p99_ms
    if kept_up and lag is not None and lag > MAX_SEND_LAG_MS:
        found.add("harness-bound", f"p99 send lag {lag:g} ms > {MAX_SEND_LAG_MS:g} ms "
                                   "below saturation")  # fmt: skip
    if kept_up and stats.dropped:
        found.add("harness-bound", f"{stats.dropped} sends dropped (MAX_IN_FLIGHT) while "
                                   "the server kept up")  # fmt: skip
