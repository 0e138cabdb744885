"""An SLO's verdict from the metric's interval, and the search space's parsing."""

from __future__ import annotations

import pytest

from loadlab.errors import ConfigError
from loadlab.measure.stats import WindowStats
from loadlab.search.slo import FAIL, PASS, SLO, UNDECIDED, decide, parse
from loadlab.search.space import Combo, combos, cpu_grid, parse_range


@pytest.mark.parametrize(("text", "slo"), [("p99<250ms", SLO("p99", 250)),
                                           ("p95 < 0.5s", SLO("p95", 500)),
                                           ("mean<80ms", SLO("mean", 80))])  # fmt: skip
def test_an_slo_is_parsed(text, slo):
    assert parse(text) == slo


@pytest.mark.parametrize("text", ["p99<", "p98<250ms", "p99>250ms", "p99<0ms", "", "250ms"])
def test_a_bad_slo_is_one_line_naming_it(text):
    with pytest.raises(ConfigError, match=r"^SLO") as caught:
        parse(text)
    assert "\n" not in str(caught.value)


def stats(p99, ci):
    return WindowStats(requests=1000, failures=0, rps=100.0, p99_ms=p99, p99_ci=ci)


@pytest.mark.parametrize(("ci", "verdict"), [((180.0, 240.0), PASS), ((255.0, 300.0), FAIL),
                                             ((230.0, 270.0), UNDECIDED)])  # fmt: skip
def test_the_interval_decides(ci, verdict):
    assert decide(SLO("p99", 250), "ok", stats(sum(ci) / 2, ci), []).verdict == verdict


def test_an_overloaded_step_misses_every_slo_and_an_unsteady_one_is_undecided():
    fast = stats(10.0, (9.0, 11.0))
    assert decide(SLO("p99", 250), "overloaded", fast, ["backlog"]).verdict == FAIL
    assert decide(SLO("p99", 250), "unsteady", fast, ["moved"]).verdict == UNDECIDED
    assert decide(SLO("p99", 250), "ok", stats(10.0, None), []).verdict == UNDECIDED


def test_the_cpu_grid_and_range():
    assert cpu_grid(0.25, 2, 0.05)[:3] == (0.25, 0.3, 0.35) and cpu_grid(0.25, 2, 0.05)[-1] == 2
    assert cpu_grid(0.5, 1.2, 0.25) == (0.5, 0.75, 1.0, 1.2)
    assert parse_range("0.25..2") == (0.25, 2.0) and parse_range("1") == (1.0, 1.0)
    for bad in ("2..1", "a..b", "0..1", "0.001..1"):
        with pytest.raises(ConfigError, match=r"^CPUS"):
            parse_range(bad)


def test_thread_limits_multiply_the_limiters_variant_only():
    found = combos(("uvicorn-limiter", "uvicorn-workers"), (20, 40))
    assert found == [Combo("uvicorn-limiter", 20), Combo("uvicorn-limiter", 40),
                     Combo("uvicorn-workers")]  # fmt: skip
