"""The open-loop model: c servers (the pool) with a fixed service time S, requests at a rate.

Capacity is c / S requests a second. Below it the throughput is the offered rate.

- Uniform arrivals (D/D/c): every request finds a free server (the one that took the request
  c arrivals earlier is done, since c / rate >= S), so latency is exactly S.
- Above capacity (either arrivals): throughput is c / S and the backlog grows by
  rate - c / S a second, so a request sent t seconds into the overload waits for that backlog
  to drain at c / S: latency S + (rate - c / S) t / (c / S). This is the fluid limit; the exact
  D/D/c latency is a staircase within one step of S - c / rate of that line.
- Poisson arrivals below capacity (M/D/c) queue too, and are solved exactly in steady state:
  the number in system N at multiples of S is a Markov chain, N' = max(N - c, 0) + A with
  A ~ Poisson(rate S) (everyone in service at t is gone by t + S, everyone waiting or arriving
  is still there). Its generating function has Crommelin's closed form in the c - 1 roots of
  z^c = exp(rate S (z - 1)) inside the unit disk (Crommelin 1932, "Delay probability formulas
  when the holding times are constant", P.O. Electr. Engr. J. 25; Franx 2001, "A simple
  solution for the M/D/c waiting time distribution", Oper. Res. Lett. 29). The mean wait
  follows from the roots in closed form, the waiting-time distribution from Franx's formula
  with the queue-length probabilities inverted numerically from the generating function.
  It is a steady state: a queue that starts empty needs roughly rho S / (c (1 - rho)^2)
  seconds to reach it (the heavy-traffic relaxation time), minutes when rho is near 1.

Driver-side only (the Locust image never needs it); stdlib only.
"""

from __future__ import annotations

import bisect
import cmath
import functools
import itertools
import math
from dataclasses import dataclass

from loadlab.shared.arrivals import ARRIVALS

QUANTILES = {"p50_ms": 0.5, "p90_ms": 0.9, "p95_ms": 0.95, "p99_ms": 0.99, "p999_ms": 0.999}
# Beyond this many inverted probabilities (utilisation above about 0.9997) percentiles cost
# seconds of pure Python; the mean stays exact and percentiles are left unknown.
MAX_TERMS = 1 << 16


def capacity(servers: float, service: float) -> float:
    """Requests a second that ``servers`` servers of ``service`` seconds complete at most."""
    return servers / service


def overload_latency(servers: float, service: float, rate: float, sent_at: float) -> float:
    """Fluid latency of a request sent ``sent_at`` seconds after load at ``rate`` began.

    Starts from an empty system; below capacity (and with an unbounded pool) it is S.
    """
    cap = capacity(servers, service)
    return service + max(rate - cap, 0.0) * sent_at / cap


def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arrival waits in M/M/c with ``offered`` = rate x mean service."""
    blocking = 1.0  # Erlang B by its recursion, which stays finite for any number of servers
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    rho = offered / servers
    return blocking / (1 - rho + rho * blocking)


def cosmetatos_wait(servers: int, service: float, rate: float) -> float:
    """Cosmetatos' approximation of the M/D/c mean wait (INFOR 13, 1975), in seconds.

    Half the M/M/c mean wait (exact for c = 1, right in heavy traffic), corrected for c > 1.
    Not used for predictions: kept as a published cross-check of the exact value.
    """
    c, a = servers, rate * service
    rho = a / c
    mmc = erlang_c(c, a) * service / (c * (1 - rho))
    return mmc / 2 * (1 + (1 - rho) * (c - 1) * (math.sqrt(4 + 5 * c) - 2) / (16 * rho * c))


class MDc:
    """The M/D/c queue in steady state: exact mean, distribution and percentiles of the wait."""

    def __init__(self, servers: int, service: float, rate: float):
        if servers < 1 or int(servers) != servers:
            raise ValueError(f"servers must be a whole number >= 1, got {servers!r}")
        if not (service > 0 and rate > 0):
            raise ValueError("service time and rate must be > 0")
        self.servers, self.service, self.rate = int(servers), service, rate
        self.offered = rate * service  # a: servers busy on average
        self.rho = self.offered / self.servers
        if not self.rho < 1:
            raise ValueError(f"no steady state at utilisation {self.rho:.4g} >= 1")
        self.roots = _roots(self.servers, self.offered)

    def mean_wait(self) -> float:
        """Mean time in queue, seconds: Lq / rate, with Lq = Q'(1) from Crommelin's form."""
        c, a = self.servers, self.offered
        lq = sum(1 / (1 - z) for z in self.roots).real - (c * (c - 1) - a * a) / (2 * (c - a))
        return lq / self.rate

    @functools.cached_property
    def queue(self) -> list[float] | None:
        """P(max(N - c, 0) = j) for j = 0, 1, ...; None when too close to capacity."""
        return _queue_probabilities(self.servers, self.offered, self.roots)

    def wait_cdf(self, x: float) -> float:
        """P(wait <= x) by Franx's formula (raises ValueError when ``queue`` is None).

        With x = kS + u, a request waits at most x iff max(N - c, 0) taken S - u seconds before
        it arrives, plus the arrivals since then, is below (k + 1) c: those are the requests
        ahead of it that k + 1 service rounds of c servers must clear.
        """
        if x < 0:
            return 0.0
        if self.queue is None:
            raise ValueError("wait distribution not computed this close to capacity")
        k = int(x // self.service)
        if k * self.servers >= len(self.queue):
            return 1.0  # P(wait < kS) already holds all the computed mass
        rounds = (k + 1) * self.servers
        q = self.queue[:rounds]
        late = _poisson_cdf(rounds - 1, self.rate * (self.service - (x - k * self.service)))
        return min(1.0, math.fsum(qj * late[rounds - 1 - j] for j, qj in enumerate(q)))

    @functools.cached_property
    def rounds(self) -> list[float] | None:
        """P(wait < (k + 1) S) for k = 0, 1, ...: fewer than (k + 1) c requests queued."""
        if self.queue is None:
            return None
        c, q = self.servers, self.queue
        return list(itertools.accumulate(math.fsum(q[i : i + c]) for i in range(0, len(q), c)))

    def wait_quantile(self, p: float) -> float | None:
        """Smallest wait x with P(wait <= x) >= p, seconds; None when not computable."""
        if self.rounds is None:
            return None
        if p <= self.wait_cdf(0.0):
            return 0.0
        k = bisect.bisect_left(self.rounds, p)  # the service round the quantile falls in
        if k == len(self.rounds):
            return None
        lo, hi = k * self.service, (k + 1) * self.service
        while hi - lo > 1e-9 * self.service:  # the CDF is continuous and increasing within
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self.wait_cdf(mid) < p else (lo, mid)
        return hi


def _roots(c: int, a: float) -> list[complex]:
    """The c - 1 roots of z^c = exp(a (z - 1)) in the unit disk other than z = 1.

    z = w exp(a (z - 1) / c) for each c-th root of unity w != 1 maps the disk into itself with
    derivative at most a / c < 1, so plain iteration converges to its one root (Franx 2001).
    """
    roots = []
    for k in range(1, c):
        w = cmath.exp(2j * math.pi * k / c)
        z, previous = w * cmath.exp(-a / c), 0j
        for _ in range(10_000_000):  # a bound, never reached below rho = 0.9999999
            if abs(z - previous) < 1e-15:
                break
            previous, z = z, w * cmath.exp(a * (z - 1) / c)
        roots.append(z)
    return roots


def _queue_probabilities(c: int, a: float, roots: list[complex]) -> list[float] | None:
    """Invert Q(z) = E[z^max(N-c,0)] on the unit circle (a discrete Fourier transform).

    Q(z) = (c - a)(z - 1) / (z^c - exp(a (z - 1))) x prod (z - z_k) / (1 - z_k). The terms
    decay like tau^-j, tau > 1 the real root of the same equation, and M points alias
    q_j with q_{j+M}, so M is chosen to make the aliased mass negligible (< 1e-15).
    """
    tau = _outer_root(c, a)
    needed = (36 + math.log(1 / (1 - 1 / tau))) / math.log(tau)
    m = max(64, 1 << math.ceil(math.log2(needed)))
    if m > MAX_TERMS:
        return None
    scale = 1 / math.prod(1 - z for z in roots) if roots else 1
    values = [1 + 0j] * m
    for k in range(1, m // 2 + 1):
        z = cmath.exp(2j * math.pi * k / m)
        v = (c - a) * (z - 1) / (z**c - cmath.exp(a * (z - 1))) * scale
        for r in roots:
            v *= z - r
        values[k], values[m - k] = v, v.conjugate()  # Q has real coefficients
    return [max(0.0, v.real / m) for v in _fft(values, -1)]


def _outer_root(c: int, a: float) -> float:
    """The root tau > 1 of c ln z = a (z - 1), where the queue-length tail decays."""

    def g(z: float) -> float:  # concave, 0 at z = 1, positive just above it (c > a)
        return c * math.log(z) - a * (z - 1)

    lo, hi = 1 + (c - a) / c, 2.0
    while g(hi) > 0:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
    return lo


def _poisson_cdf(n: int, mu: float) -> list[float]:
    """P(A <= i) for i = 0..n, A ~ Poisson(mu); from the log pmf where exp(-mu) underflows."""
    if mu < 700:
        pmfs = itertools.accumulate(
            range(1, n + 1), lambda pmf, i: pmf * mu / i, initial=math.exp(-mu)
        )
    else:
        pmfs = (math.exp(i * math.log(mu) - mu - math.lgamma(i + 1)) for i in range(n + 1))
    return [min(total, 1.0) for total in itertools.accumulate(pmfs)]


def _fft(values: list[complex], sign: int) -> list[complex]:
    """Iterative radix-2 transform: out[j] = sum_k values[k] exp(sign 2 pi i j k / n)."""
    a, n = list(values), len(values)
    j = 0
    for i in range(1, n):  # bit-reversal permutation
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    size = 2
    while size <= n:
        half = size // 2
        twiddles = [cmath.exp(sign * 2j * math.pi * k / size) for k in range(half)]
        for start in range(0, n, size):
            for k, w in enumerate(twiddles):
                u, v = a[start + k], a[start + k + half] * w
                a[start + k], a[start + k + half] = u + v, u - v
        size *= 2
    return a


@dataclass(frozen=True)
class OpenPrediction:
    pool: float | None  # servers c; inf = unbounded
    capacity: float | None  # c / S, requests a second
    rps: float | None
    mean_ms: float | None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    method: str | None = None  # which model gave the latencies


NOT_APPLICABLE = OpenPrediction(None, None, None, None)


def predict_open(
    pool: float | None,
    service: float | None,
    rate: float,
    arrivals: str = "uniform",
    window: tuple[float, float] | None = None,
) -> OpenPrediction:
    """Throughput and latency (from the intended send) the open-loop model expects.

    ``window`` is the measured span of send times, seconds since the load began; above
    capacity latency grows through it, so without a window only the throughput is predicted.
    """
    if arrivals not in ARRIVALS:
        raise ValueError(f"arrivals must be one of {', '.join(ARRIVALS)}, got {arrivals!r}")
    if pool is None or not service or not rate > 0:
        return NOT_APPLICABLE
    cap = capacity(pool, service)
    rps = round(float(min(rate, cap)), 3)
    if math.isinf(pool) or (arrivals == "uniform" and rate <= cap):
        flat = round(service * 1000, 3)
        method = "unbounded pool" if math.isinf(pool) else "D/D/c"
        return OpenPrediction(pool, cap, rps, flat, **dict.fromkeys(QUANTILES, flat), method=method)
    if rate >= cap:
        return _overload(pool, service, rate, window, rps)
    return _steady_poisson(pool, service, rate, rps)


def _overload(pool, service, rate, window, rps) -> OpenPrediction:
    if window is None:
        return OpenPrediction(pool, capacity(pool, service), rps, None, method="overload (fluid)")
    t0, t1 = window
    # Latency is linear in the send time and sends are spread evenly over the window, so
    # the mean is the value at its midpoint and the p-quantile the value a fraction p in.
    ms = {
        key: round(overload_latency(pool, service, rate, t0 + p * (t1 - t0)) * 1000, 3)
        for key, p in {"mean_ms": 0.5, **QUANTILES}.items()
    }
    return OpenPrediction(pool, capacity(pool, service), rps, **ms, method="overload (fluid)")


def _steady_poisson(pool, service, rate, rps) -> OpenPrediction:
    queue = _mdc(pool, service, rate)
    ms = {"mean_ms": round((service + queue.mean_wait()) * 1000, 3)}
    for key, p in QUANTILES.items():
        wait = queue.wait_quantile(p)
        ms[key] = None if wait is None else round((service + wait) * 1000, 3)
    return OpenPrediction(pool, capacity(pool, service), rps, **ms, method="M/D/c exact")


@functools.lru_cache(maxsize=64)
def _mdc(servers: float, service: float, rate: float) -> MDc:
    # Repeats and re-rendered reports ask for the same point many times.
    return MDc(servers, service, rate)
