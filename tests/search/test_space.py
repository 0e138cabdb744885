"""The search space's edges: the CPU grid at Docker's resolution, the range's smallest limit,
and the combinations of several variants with thread limits."""

from __future__ import annotations

import pytest

from loadlab.errors import ConfigError
from loadlab.search.space import Combo, combos, cpu_grid, parse_range


@pytest.mark.parametrize(("lo", "hi"), [(1.0, 1.0), (0.5, 0.52)])
def test_a_range_narrower_than_a_step_is_its_ends(lo, hi):
    """One CPU value (CPUS=1) is a grid of one limit; a range under one step is its two ends."""
    assert cpu_grid(lo, hi, 0.05) == tuple(dict.fromkeys((lo, hi)))


def test_the_grid_is_on_dockers_resolution():
    """Limits off the 0.01 grid (a range from 0.333 to 0.999) are rounded to it, the top too."""
    assert cpu_grid(0.333, 0.999, 0.25) == (0.33, 0.58, 0.83, 1.0)


def test_the_smallest_step_is_dockers_resolution():
    """CPU_STEP=0.01 is allowed (every quota Docker can set); below it is a ConfigError naming
    CPU_STEP."""
    assert cpu_grid(0.5, 0.53, 0.01) == (0.5, 0.51, 0.52, 0.53)
    with pytest.raises(ConfigError, match=r"^CPU_STEP must be at least 0.01, got 0.005$"):
        cpu_grid(0.5, 1.0, 0.005)


def test_the_range_may_start_at_dockers_smallest_quota():
    """0.01 CPU is the smallest quota Docker sets, so a range may start there."""
    assert parse_range("0.01..1") == (0.01, 1.0)


def test_a_range_from_zero_is_refused_as_not_rising_from_above_zero():
    """0 CPU (or less) is no limit at all: the message says the range must rise from above 0."""
    for bad in ("0..1", "-1..1"):
        with pytest.raises(ConfigError, match=r"^CPUS: the range must rise from above 0"):
            parse_range(bad)


def test_every_variant_is_kept_when_a_non_limiter_comes_first():
    """Thread limits multiply the limiter's variant only, whatever the order of the variants:
    one given before it is once in, and the limiter still gets every limit."""
    found = combos(("uvicorn-workers", "uvicorn-limiter", "gunicorn"), (20, 40))
    assert found == [Combo("uvicorn-workers"), Combo("uvicorn-limiter", 20),
                     Combo("uvicorn-limiter", 40), Combo("gunicorn")]  # fmt: skip
