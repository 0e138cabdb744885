"""Open-loop send schedules: the rate they offer and how their arrivals are spread.

The statistical tolerances are set at four to five standard errors for the sample sizes used,
so a correct scheduler fails them with probability well under 1e-4 whatever the seed (the
seeds are fixed anyway, so the tests are deterministic).
"""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from loadlab.shared.arrivals import send_times, worker_schedule

RATE = 100.0  # sends a second
SECONDS = 2000  # 200,000 sends: enough for every tolerance below
START = 1000.0


def schedule(arrivals: str, seed: int = 1) -> list[float]:
    return list(send_times(RATE, START, SECONDS, arrivals, random.Random(seed)))


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def counts_per_second(times: list[float]) -> list[int]:
    counts = [0] * SECONDS
    for t in times:
        counts[int(t - START)] += 1
    return counts


def dispersion(counts: list[int]) -> float:
    """Index of dispersion: variance / mean of counts, 1 for Poisson, 0 for a regular grid."""
    return statistics.variance(counts) / statistics.fmean(counts)


@pytest.fixture(scope="module")
def poisson() -> list[float]:
    return schedule("poisson")


@pytest.fixture(scope="module")
def uniform() -> list[float]:
    return schedule("uniform")


def test_uniform_schedule_offers_the_rate_exactly(uniform):
    """A uniform schedule sends rate x duration requests, all inside [start, start + duration)."""
    assert len(uniform) == RATE * SECONDS
    assert uniform[0] >= START and uniform[-1] < START + SECONDS


def test_poisson_schedule_offers_the_rate_within_one_percent(poisson):
    """A Poisson schedule's count is within 1 % of rate x duration.

    The count is Poisson(200,000): one standard deviation is 447 (0.22 %), so 1 % is 4.5 sigma.
    """
    assert len(poisson) == pytest.approx(RATE * SECONDS, rel=0.01)
    assert poisson[0] >= START and poisson[-1] < START + SECONDS


def test_uniform_gaps_have_zero_variance(uniform):
    """Uniform gaps are all 1 / rate, up to float rounding of absolute times near 3000 s."""
    assert statistics.pstdev(gaps(uniform)) < 1e-9
    assert statistics.fmean(gaps(uniform)) == pytest.approx(1 / RATE, rel=1e-9)


def test_poisson_gaps_are_exponential(poisson):
    """Poisson gaps have mean 1 / rate and coefficient of variation 1.

    For n exponential gaps the standard error of the mean is 1/sqrt(n) relative and, by the
    delta method, that of the sample CV is also about 1/sqrt(n): 0.0022 for n = 200,000, so
    both are checked to 1 % (4.5 standard errors).
    """
    g = gaps(poisson)
    assert statistics.fmean(g) == pytest.approx(1 / RATE, rel=0.01)
    assert statistics.stdev(g) / statistics.fmean(g) == pytest.approx(1, abs=0.01)


def test_poisson_counts_per_second_have_index_of_dispersion_one(poisson):
    """Counts per second of a Poisson schedule have variance / mean = 1.

    Over n = 2000 one-second bins, (n - 1) x dispersion is chi-squared with n - 1 degrees of
    freedom, so its standard error is sqrt(2 / (n - 1)) = 0.032; 0.15 is 4.7 standard errors.
    """
    assert dispersion(counts_per_second(poisson)) == pytest.approx(1, abs=0.15)


def test_uniform_counts_per_second_do_not_vary(uniform):
    """A uniform schedule puts the same number of sends in every second (dispersion ~ 0)."""
    assert dispersion(counts_per_second(uniform)) < 0.01


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_uniform_workers_interleave_into_one_even_grid(workers):
    """Phase-shifted uniform workers together send evenly 1 / total rate apart, never at once."""
    total = 240.0
    merged = sorted(
        t for i in range(workers) for t in worker_schedule(total, workers, i, START, 10.0)
    )
    assert len(merged) == total * 10
    assert all(g == pytest.approx(1 / total, rel=1e-6) for g in gaps(merged))


def test_poisson_workers_add_up_to_a_poisson_process_of_the_total_rate():
    """Four Poisson workers at a quarter of the rate each merge into one Poisson process.

    Same tolerances as the single schedule (200,000 sends, 2000 bins); equal seeds across
    workers would fail this (every send would be doubled, dispersion 4).
    """
    merged = sorted(
        t for i in range(4) for t in worker_schedule(RATE, 4, i, START, SECONDS, "poisson", seed=7)
    )
    assert len(merged) == pytest.approx(RATE * SECONDS, rel=0.01)
    assert dispersion(counts_per_second(merged)) == pytest.approx(1, abs=0.15)
    g = gaps(merged)
    assert statistics.stdev(g) / statistics.fmean(g) == pytest.approx(1, abs=0.01)


def test_a_seed_reproduces_the_schedule():
    """The same seed and worker index give the same Poisson send times; another seed does not."""
    a = list(worker_schedule(50, 2, 1, 0.0, 5.0, "poisson", seed=3))
    assert a == list(worker_schedule(50, 2, 1, 0.0, 5.0, "poisson", seed=3))
    assert a != list(worker_schedule(50, 2, 1, 0.0, 5.0, "poisson", seed=4))


def test_endless_schedule_keeps_going():
    """Without a duration the schedule never ends; the caller stops taking times."""
    times = send_times(1000.0, 0.0)
    assert [next(times) for _ in range(3)] == [0.0, 0.001, 0.002]
    assert math.isclose(next(send_times(10.0, 5.0, phase=0.5)), 5.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": math.inf}, "rate"),
        ({"rate": 1, "arrivals": "bursty"}, "arrivals"),
        ({"rate": 1, "phase": 1.0}, "phase"),
    ],
)
def test_bad_arguments_are_refused_at_once(kwargs, message):
    """Bad arguments raise when the schedule is made, not at the first send."""
    with pytest.raises(ValueError, match=message):
        send_times(start=0.0, **kwargs)
