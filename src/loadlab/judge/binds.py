"""Name what binds: for each measured series, the resource that caps its throughput.

A user's app has pools the lab does not know, so the answer comes from the measured series
and the telemetry, never from a model: the saturation throughput X (the series' highest
trusted rps), the service time S at the lowest load (its mean latency there), and Little's
law's concurrency ``X * S``: how many requests were really being worked on at once. Then:

- the CPU, when the target used its quota (or the kernel throttled it);
- the event loop, when a timer woke late by a good part of S (async code that blocks);
- the thread limiter, when every token was in use AND ``X * S`` fills them: all working;
- something inside the app, when ``X * S`` stays well below the requests the server held
  (the users, or the tokens in use): a thread waiting for a pooled connection still holds its
  token, so "every token in use" alone does not name the limiter;
- nothing, when ``X * S`` is as high as the users asked: the load, not the server, is the cap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import groupby

from loadlab.results import PointResult, Run

TRUSTED = ("ok",)  # a binding is named from trusted numbers only
CPU_USED = 0.9  # of the quota: the CPU is the cap
THROTTLED_PCT = 20.0  # of CFS periods
LAG_SHARE = 0.5  # of S: the loop is late by half a request's service time
LAG_FLOOR_MS = 20.0  # and by more than the monitor's own interval
WORKING = 0.9  # X * S within 10 % of the tokens: they are all working
WAITING = 0.8  # X * S below 80 % of the requests held: the rest wait inside the app


@dataclass(frozen=True)
class Binding:
    variant: str
    endpoint: str
    cpus: float
    points: int
    saturation_rps: float | None  # X
    service_s: float | None  # S, at the lowest load measured
    lowest_level: float | None  # the load S was measured at
    concurrency: float | None  # X * S
    held: float | None  # requests the server held at X: users (closed loop) or in flight
    tokens: int | None  # the thread limiter's tokens, over every worker process
    tokens_in_use: float | None  # the most in use during the saturation point's window
    cpu_used: float | None  # cores, at X
    cpu_quota: float | None
    throttled_pct: float | None
    loop_lag_p99_ms: float | None
    resource: str  # cpu, event loop, thread limiter, inside the app, none, unknown
    sentence: str

    def to_json(self) -> dict:
        return asdict(self)


def bindings(run: Run) -> list[Binding]:
    """One Binding per series and CPU limit with at least one trusted point."""
    found = []
    key = lambda r: (r.point.variant, r.point.endpoint, r.point.cpus)  # noqa: E731
    results = sorted((r for r in run.points.values() if r.status in TRUSTED), key=key)
    for (variant, endpoint, cpus), members in groupby(results, key=key):
        found.append(binding(variant, endpoint, cpus, list(members)))
    return found


def binding(variant: str, endpoint: str, cpus: float, members: list[PointResult]) -> Binding:
    # S where the least was asked; X the most completed; the server's state where the most
    # was asked (past the knee, that is where the cap shows).
    lowest = min(members, key=lambda r: r.point.level)
    top = max(members, key=lambda r: r.point.level)
    x = max(r.stats.rps or 0 for r in members) or None
    s = lowest.stats.mean_ms / 1000 if lowest.stats.mean_ms else None
    runtime = top.runtime or {}
    workers = int(runtime.get("workers") or 1)
    tokens = runtime.get("thread_limiter_tokens")
    loop = top.event_loop or {}
    in_use = loop.get("tokens_in_use_max")
    facts = {
        "saturation_rps": x, "service_s": s, "lowest_level": lowest.point.level,
        "concurrency": x * s if x and s else None,
        "held": float(top.point.users) if top.point.users else None,
        "tokens": tokens * workers if tokens else None,
        "tokens_in_use": in_use,
        "cpu_used": top.usage.target_cpu, "cpu_quota": runtime.get("cpu_quota"),
        "throttled_pct": top.usage.throttled_pct, "loop_lag_p99_ms": loop.get("p99_ms"),
    }  # fmt: skip
    resource, sentence = verdict(**facts, levels=len({r.point.level for r in members}))
    return Binding(variant, endpoint, cpus, len(members), **facts, resource=resource,
                   sentence=sentence)  # fmt: skip


def verdict(
    *, saturation_rps, service_s, lowest_level, concurrency, held, tokens, tokens_in_use,
    cpu_used, cpu_quota, throttled_pct, loop_lag_p99_ms, levels=2,
) -> tuple[str, str]:  # fmt: skip
    """(resource, one sentence) from the facts of a series; see the module's rules."""
    if concurrency is None:
        return "unknown", "no service time measured: nothing can be named"
    if levels < 2:
        return "unknown", (f"one load level only ({lowest_level:g}): S needs a lower one, below "
                           "the knee, before anything can be named")  # fmt: skip
    xs = (f"X = {saturation_rps:.1f}/s, S = {service_s * 1000:.0f} ms (at {lowest_level:g}), "
          f"X * S = {concurrency:.1f}")  # fmt: skip
    if (
        cpu_quota
        and cpu_used is not None
        and (cpu_used >= CPU_USED * cpu_quota or (throttled_pct or 0) >= THROTTLED_PCT)
    ):
        return "cpu", (f"the CPU binds: {cpu_used:.2f} of {cpu_quota:g} CPU used, throttled "
                       f"{throttled_pct or 0:.0f} % of periods ({xs})")  # fmt: skip
    if loop_lag_p99_ms is not None and loop_lag_p99_ms >= max(
        LAG_SHARE * service_s * 1000, LAG_FLOOR_MS
    ):
        return "event loop", (f"the event loop binds: a timer woke {loop_lag_p99_ms:.0f} ms late "
                              f"(p99), so code on the loop blocks it ({xs})")  # fmt: skip
    busy = tokens_in_use
    if tokens and busy is not None and busy >= tokens and concurrency >= WORKING * tokens:
        return "thread limiter", (f"the thread limiter binds: all {tokens} tokens in use and "
                                  f"all of them working ({xs})")  # fmt: skip
    holding = min((v for v in (held, busy) if v), default=None)
    if holding and concurrency < WAITING * holding:
        who = (f"{busy:.0f} threads busy" if busy and tokens and busy >= WORKING * tokens
               else f"{holding:.0f} requests in the server")  # fmt: skip
        return "inside the app", (f"{who}, {concurrency:.0f} of them working: the others wait "
                                  f"inside the app, for a pool such as a database pool "
                                  f"({xs})")  # fmt: skip
    # An open-loop series holds no users: its loads are rates, and "up to 0 users" would be false.
    upto = f"up to {held:.0f} users" if held else "at the loads measured"
    return "none", f"nothing binds {upto}: every request is worked on ({xs})"


def what_bound(r: PointResult) -> str:
    """What bound one measured step that missed its objective, from its own telemetry: the
    CPU, every limiter token in use, the event loop, failures, or something inside the app."""
    runtime, usage, loop = r.runtime or {}, r.usage, r.event_loop or {}
    quota, used, throttled = runtime.get("cpu_quota"), usage.target_cpu, usage.throttled_pct
    workers = int(runtime.get("workers") or 1)
    tokens = (runtime.get("thread_limiter_tokens") or 0) * workers
    if r.status == "failing" and r.stats is not None:
        return f"failures ({r.stats.failure_ratio:.1%} of requests)"
    if quota and used is not None and (used >= CPU_USED * quota or (throttled or 0) >= 20):
        return (f"the CPU: {used:.2f} of {quota:g} used, throttled {throttled or 0:.0f} % "
                "of periods")  # fmt: skip
    if (loop.get("p99_ms") or 0) >= LAG_FLOOR_MS * 5:
        return f"the event loop: a timer {loop['p99_ms']:.0f} ms late (p99)"
    if tokens and (loop.get("tokens_in_use_max") or 0) >= tokens:
        service = runtime.get("work_seconds")  # the demo's S; a user's app does not say
        ceiling = f", P/S = {tokens / service:.0f}/s" if service else ""
        return f"every limiter token in use ({tokens}{ceiling})"
    return "something inside the app (no CPU, token or loop limit reached)"
