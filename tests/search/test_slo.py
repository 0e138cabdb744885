"""An SLO's verdict from the metric's interval, and the search space's parsing."""

from __future__ import annotations

import pytest

from loadlab.errors import ConfigError
from loadlab.measure.stats import WindowStats
from loadlab.search.slo import FAIL, PASS, SLO, UNDECIDED, Decision, decide, parse
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


@pytest.mark.parametrize(("text", "slo"), [("p50<1ms", SLO("p50", 1.0)),
                                           ("p99<0.5ms", SLO("p99", 0.5)),
                                           ("mean<0.001s", SLO("mean", 1.0))])  # fmt: skip
def test_a_limit_of_a_millisecond_or_less_is_still_a_limit(text, slo):
    """Any limit above 0 is accepted, a sub-millisecond one too (only 0 is refused)."""
    assert parse(text) == slo


@pytest.mark.parametrize(("ci", "verdict", "reason"), [
    ((180.0, 240.0), PASS, "p99 240 ms at most"),
    ((255.0, 300.0), FAIL, "p99 255 ms at least"),
    ((230.0, 270.0), UNDECIDED, "p99's interval straddles the limit"),
])  # fmt: skip
def test_the_decision_keeps_the_metric_its_interval_and_says_why(ci, verdict, reason):
    """Each verdict carries the metric's value and interval (the trial line prints them) and a
    reason naming the end of the interval that decided it."""
    found = decide(SLO("p99", 250), "ok", stats(sum(ci) / 2, ci), [])
    assert (found.verdict, found.value_ms, found.interval) == (verdict, sum(ci) / 2, ci)
    assert found.reason == reason


@pytest.mark.parametrize("ci", [(200.0, 250.0), (250.0, 300.0)])
def test_an_interval_ending_exactly_at_the_limit_is_undecided(ci):
    """Passing needs the upper end under the limit, failing the lower end over it: an interval
    that only touches the limit proves neither, and is measured again."""
    assert decide(SLO("p99", 250), "ok", stats(sum(ci) / 2, ci), []).verdict == UNDECIDED


@pytest.mark.parametrize(("status", "verdict"), [("overloaded", FAIL), ("failing", FAIL),
                                                 ("harness-bound", UNDECIDED),
                                                 ("unsteady", UNDECIDED)])  # fmt: skip
def test_an_untrusted_step_keeps_its_figures_and_every_flag(status, verdict):
    """An overloaded or failing step fails, a harness-bound or unsteady one is undecided,
    whatever its interval; its measured figures and its status with every flag stay."""
    fast = stats(10.0, (9.0, 11.0))
    found = decide(SLO("p99", 250), status, fast, ["backlog grew", "lag 80 ms"])
    assert (found.verdict, found.value_ms, found.interval) == (verdict, 10.0, (9.0, 11.0))
    assert found.reason == f"{status}: backlog grew; lag 80 ms"


def test_a_window_without_an_interval_is_undecided_with_its_value():
    """No interval on the metric (too short a window): undecided, the value kept, and why."""
    found = decide(SLO("p99", 250), "ok", stats(10.0, None), [])
    assert (found.verdict, found.value_ms, found.interval) == (UNDECIDED, 10.0, None)
    assert found.reason == "no interval on p99 (window too short)"


@pytest.mark.parametrize("measured", [None, stats(10.0, (9.0, 11.0))])
def test_a_failed_step_is_not_measured_whatever_it_holds(measured):
    """A step that failed (or has no statistics) is undecided with no figures, never a pass on
    numbers it left behind; the reason gives every error."""
    found = decide(SLO("p99", 250), "failed", measured, ["target exited", "no stats"])
    assert found == Decision(UNDECIDED, None, None, "not measured: target exited; no stats")


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
