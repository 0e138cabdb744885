"""The open-loop model against published formulas and an independent exact computation.

Published references used:
- M/D/1 mean wait, Pollaczek-Khinchine: Wq = rho S / (2 (1 - rho)), exact.
- M/D/1 waiting-time distribution, Erlang (1909):
  P(W <= x) = (1 - rho) sum_{k=0}^{floor(x/S)} (lam (kS - x))^k / k! exp(-lam (kS - x)).
- M/D/c waiting-time distribution, Erlang's integral equation (as given by Franx 2001):
  F(y) = integral_0^inf F(x + y - S) lam^c x^(c-1) / (c-1)! exp(-lam x) dx.
- M/M/c Erlang C values (textbook closed forms) and Cosmetatos' M/D/c approximation (1975).
The independent check solves the embedded Markov chain N' = max(N - c, 0) + Poisson(lam S)
by brute-force power iteration, sharing no code with the model.
"""

from __future__ import annotations

import math

import pytest

from loadlab.model.open_loop import (
    MDc,
    capacity,
    cosmetatos_wait,
    erlang_c,
    overload_latency,
    predict_open,
)

S = 0.2  # the lab's default service time
POOL = 40  # anyio's default thread limiter


def erlang_md1_cdf(x: float, lam: float, service: float) -> float:
    """Erlang's 1909 M/D/1 waiting-time distribution (alternating; fine for x <= 10 S)."""
    rho = lam * service
    return (1 - rho) * math.fsum(
        (lam * (k * service - x)) ** k / math.factorial(k) * math.exp(-lam * (k * service - x))
        for k in range(int(x // service) + 1)
    )


def chain_mean_queue(c: int, a: float, states: int = 1500) -> float:
    """E[max(N - c, 0)] from the embedded chain's stationary law, by power iteration."""
    arrivals = [math.exp(-a)]
    while len(arrivals) < a or arrivals[-1] > 1e-20:
        arrivals.append(arrivals[-1] * a / len(arrivals))
    law = [1.0] + [0.0] * (states - 1)
    for _ in range(100_000):
        new = [0.0] * states
        for n, pn in enumerate(law):
            if pn > 1e-20:  # what is dropped moves the mean by far less than the tolerance
                base = max(n - c, 0)
                for i, pi in enumerate(arrivals[: states - base]):
                    new[base + i] += pn * pi
        moved = math.fsum(abs(x - y) for x, y in zip(new, law, strict=True))
        law = new
        if moved < 1e-13:
            break
    return math.fsum(max(n - c, 0) * pn for n, pn in enumerate(law))


# --- uniform arrivals (D/D/c) and overload -------------------------------------------------


@pytest.mark.parametrize("rate", [50.0, 100.0, 150.0, 200.0])
def test_uniform_arrivals_below_capacity_see_exactly_the_service_time(rate):
    """Up to capacity (40 / 0.2 s = 200/s) every uniform request takes S and throughput = rate."""
    p = predict_open(POOL, S, rate, "uniform")
    assert (p.capacity, p.rps, p.method) == (200.0, rate, "D/D/c")
    assert {p.mean_ms, p.p50_ms, p.p99_ms, p.p999_ms} == {200.0}


def test_overload_throughput_is_capacity_and_latency_climbs_through_the_window():
    """At 250/s on 200/s of capacity the backlog grows 50/s: +0.25 s of latency per second sent.

    Sends 5-15 s into the load: mean = latency at 10 s = 0.2 + 50 x 10 / 200 = 2.7 s, and the
    p99 is the latency of a send 99 % of the way through the window.
    """
    p = predict_open(POOL, S, 250.0, "uniform", window=(5.0, 15.0))
    assert (p.rps, p.method) == (200.0, "overload (fluid)")
    assert p.mean_ms == p.p50_ms == pytest.approx(2700.0)
    assert p.p99_ms == pytest.approx((0.2 + 50 * 14.9 / 200) * 1000)


def test_overload_latency_has_no_steady_state_without_a_window():
    """Above capacity latency depends on when a request was sent, so none is given alone."""
    p = predict_open(POOL, S, 300.0, "poisson")
    assert (p.rps, p.mean_ms, p.p99_ms) == (200.0, None, None)


def test_fluid_overload_follows_the_exact_d_d_c_staircase():
    """The fluid line stays within one staircase step (S - c / rate) of exact FCFS D/D/c.

    Exact: request k sent at k / rate starts at max(k / rate, start of request k - c + S).
    """
    c, rate = 40, 250.0
    starts: list[float] = []
    for k in range(250 * 20):
        sent = k / rate
        starts.append(max(sent, starts[k - c] + S) if k >= c else sent)
    step = S - c / rate
    for k in range(0, len(starts), 97):
        exact = starts[k] + S - k / rate
        assert abs(exact - overload_latency(c, S, rate, k / rate)) <= step + 1e-12


def test_unbounded_pool_never_queues():
    """io/async's pool is unbounded: any rate is served in S."""
    p = predict_open(math.inf, S, 5000.0, "poisson")
    assert (p.rps, p.mean_ms, p.p999_ms, p.method) == (5000.0, 200.0, 200.0, "unbounded pool")
    assert capacity(math.inf, S) == math.inf


def test_missing_pool_or_service_time_gives_no_prediction():
    """Endpoints the model does not cover get nothing rather than a wrong number."""
    assert predict_open(None, S, 100.0).rps is None
    assert predict_open(POOL, None, 100.0).rps is None


# --- Poisson arrivals below capacity (M/D/c) -----------------------------------------------


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.9, 0.99, 0.999])
def test_md1_mean_wait_is_pollaczek_khinchine(rho):
    """With one server the mean wait is rho S / (2 (1 - rho)) to 1e-9 (both exact)."""
    assert MDc(1, S, rho / S).mean_wait() == pytest.approx(rho * S / (2 * (1 - rho)), rel=1e-9)


@pytest.mark.parametrize("rho", [0.3, 0.8, 0.95])
@pytest.mark.parametrize("x_in_s", [0.0, 0.3, 1.0, 2.5, 5.0, 10.0])
def test_md1_wait_distribution_is_erlangs(rho, x_in_s):
    """With one server P(W <= x) equals Erlang's 1909 closed form to 1e-9 (both exact)."""
    queue = MDc(1, S, rho / S)
    assert queue.wait_cdf(x_in_s * S) == pytest.approx(
        erlang_md1_cdf(x_in_s * S, rho / S, S), abs=1e-9
    )


@pytest.mark.parametrize(("c", "rho"), [(2, 0.7), (3, 0.85), (5, 0.9)])
def test_mdc_wait_distribution_solves_erlangs_integral_equation(c, rho):
    """P(W <= y) satisfies Erlang's M/D/c integral equation, up to Simpson's error (1e-6).

    The equation says that the wait of every c-th customer is a Lindley recursion with
    Erlang-c gaps; it pins the whole distribution, not just its mean.
    """
    lam = c * rho / S
    queue = MDc(c, S, lam)
    density = lambda x: lam**c * x ** (c - 1) / math.factorial(c - 1) * math.exp(-lam * x)  # noqa: E731
    for y in (0.0, 0.05, 0.15, 0.3):
        lo, hi, n = max(0.0, S - y), max(0.0, S - y) + (c + 40 * math.sqrt(c)) / lam, 2000
        h = (hi - lo) / n
        f = [queue.wait_cdf(lo + i * h + y - S) * density(lo + i * h) for i in range(n + 1)]
        simpson = h / 3 * (f[0] + f[-1] + 4 * math.fsum(f[1:-1:2]) + 2 * math.fsum(f[2:-1:2]))
        assert queue.wait_cdf(y) == pytest.approx(simpson, abs=1e-6)


@pytest.mark.parametrize(("c", "rho"), [(2, 0.8), (5, 0.9), (10, 0.6), (40, 0.75), (40, 0.95)])
def test_mdc_mean_wait_matches_the_embedded_chain_solved_by_brute_force(c, rho):
    """Crommelin's closed form agrees with power iteration of the chain to 1e-8 relative."""
    lam = c * rho / S
    assert MDc(c, S, lam).mean_wait() == pytest.approx(chain_mean_queue(c, c * rho) / lam, rel=1e-8)


@pytest.mark.parametrize(("c", "rho"), [(1, 0.9), (3, 0.5), (40, 0.95)])
def test_wait_distribution_is_a_distribution_with_the_closed_form_mean(c, rho):
    """The inverted queue-length law sums to 1 and gives Lq / lam = the closed-form mean wait."""
    lam = c * rho / S
    queue = MDc(c, S, lam)
    assert math.fsum(queue.queue) == pytest.approx(1, abs=1e-12)
    lq = math.fsum(j * qj for j, qj in enumerate(queue.queue))
    assert lq / lam == pytest.approx(queue.mean_wait(), rel=1e-9)


@pytest.mark.parametrize(("c", "a", "want"), [(1, 0.7, 0.7), (2, 1.0, 1 / 3), (3, 2.0, 4 / 9)])
def test_erlang_c_matches_textbook_values(c, a, want):
    """Erlang C: rho for one server, 1/3 for M/M/2 at 1 erlang, 4/9 for M/M/3 at 2 erlangs."""
    assert erlang_c(c, a) == pytest.approx(want, rel=1e-12)


def test_erlang_c_matches_the_factorial_formula_for_many_servers():
    """The Erlang B recursion agrees with the textbook factorial form (10 servers, 8 erlangs)."""
    c, a = 10, 8.0
    top = a**c / math.factorial(c) * c / (c - a)
    want = top / (math.fsum(a**k / math.factorial(k) for k in range(c)) + top)
    assert erlang_c(c, a) == pytest.approx(want, rel=1e-12)
    assert erlang_c(c, a) == pytest.approx(0.4092, abs=1e-4)


@pytest.mark.parametrize("c", [1, 2, 3, 5, 10, 20])
@pytest.mark.parametrize("rho", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_exact_mean_wait_is_close_to_cosmetatos_approximation(c, rho):
    """Cosmetatos' approximation is exact for c = 1 and within 1.5 % for c <= 20, rho >= 0.5.

    The literature reports it as accurate in heavy traffic and overestimating for many
    servers or light traffic (Kimura 1991); 1.5 % bounds its error over this range.
    """
    lam = c * rho / S
    assert cosmetatos_wait(c, S, lam) == pytest.approx(MDc(c, S, lam).mean_wait(), rel=0.015)


@pytest.mark.parametrize("c", [1, 2, 10, 40])
def test_mdc_waits_half_as_long_as_mmc_in_heavy_traffic(c):
    """Near capacity deterministic service halves the M/M/c wait (Kingman): ratio 0.5 +- 1 %."""
    rho = 0.99
    mmc = erlang_c(c, c * rho) * S / (c * (1 - rho))
    assert MDc(c, S, c * rho / S).mean_wait() / mmc == pytest.approx(0.5, rel=0.01)


def test_quantile_inverts_the_distribution():
    """wait_quantile(p) is where the CDF reaches p; below P(no wait) the quantile is 0."""
    queue = MDc(POOL, S, 190.0)
    no_wait = queue.wait_cdf(0.0)
    assert queue.wait_quantile(no_wait / 2) == 0.0
    for p in (0.9, 0.99, 0.999):
        x = queue.wait_quantile(p)
        assert queue.wait_cdf(x) == pytest.approx(p, abs=1e-6)


def test_poisson_prediction_adds_the_mdc_wait_to_the_service_time():
    """At 150/s on 40 threads of 0.2 s (rho 0.75) the mean is S + Wq, percentiles ordered."""
    p = predict_open(POOL, S, 150.0, "poisson")
    queue = MDc(POOL, S, 150.0)
    assert (p.rps, p.method) == (150.0, "M/D/c exact")
    assert p.mean_ms == pytest.approx((S + queue.mean_wait()) * 1000, abs=1e-3)
    assert 200.0 <= p.p50_ms <= p.p90_ms <= p.p95_ms <= p.p99_ms <= p.p999_ms
    assert p.p99_ms > 200.0  # Poisson arrivals queue below capacity, uniform ones do not


def test_too_close_to_capacity_keeps_the_mean_and_drops_percentiles():
    """At rho = 0.99995 the mean is still exact (P-K) but percentiles are left unknown."""
    rho = 0.99995
    p = predict_open(1, S, rho / S, "poisson")
    assert p.mean_ms == pytest.approx((S + rho * S / (2 * (1 - rho))) * 1000, rel=1e-6)
    assert p.p99_ms is None


@pytest.mark.parametrize(("servers", "rate"), [(2.5, 1.0), (0, 1.0), (2, 10.0)])
def test_mdc_refuses_fractional_pools_and_overload(servers, rate):
    """M/D/c needs a whole number of servers and utilisation below 1."""
    with pytest.raises(ValueError):
        MDc(servers, S, rate)
