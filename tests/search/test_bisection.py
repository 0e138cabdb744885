"""The search on simulated systems whose answer is known: found to the grid step within
ceil(log2(n)) + 1 trials a combination plus re-measurements, pruning never losing it, an
undecided trial measured again, and a non-monotone system reported as such."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from loadlab.search.bisection import (
    Trial,
    cheapest,
    contradictions,
    cpu_floor,
    search,
    search_combo,
)
from loadlab.search.slo import FAIL, PASS, UNDECIDED
from loadlab.search.space import Combo, cpu_grid

GRID = cpu_grid(0.25, 2.0, 0.05)  # 36 limits
BOUND = math.ceil(math.log2((2.0 - 0.25) / 0.05)) + 1  # the bound: 7


def monotone(needs: dict[str, float], calls: list | None = None):
    """A system where ``combo`` meets the SLO from ``needs[variant]`` CPU on."""

    def measure(combo: Combo, cpus: float, rate: float, attempt: int) -> Trial:
        if calls is not None:
            calls.append((combo.variant, cpus, attempt))
        ok = cpus >= needs[combo.variant] - 1e-9
        return Trial(combo, cpus, rate, attempt, PASS if ok else FAIL, reason="simulated")

    return measure


@pytest.mark.parametrize("need", [0.25, 0.3, 0.55, 1.0, 1.37, 1.95, 2.0])
def test_a_monotone_system_is_answered_to_the_step_within_the_bound(need):
    calls: list = []
    outcome = search_combo(Combo("a"), GRID, 100, monotone({"a": need}, calls))
    expected = min(c for c in GRID if c >= need - 1e-9)
    assert outcome.answer.cpus == expected
    assert len(calls) <= BOUND + 1  # the bound, and the answer's replicate
    assert calls[-1] == ("a", expected, 0)
    if expected > GRID[0]:  # the neighbour one step below, measured and failing
        assert outcome.neighbour.cpus == GRID[GRID.index(expected) - 1]
        assert outcome.neighbour.verdict == FAIL


def test_beyond_the_range_is_infeasible_in_one_trial():
    calls: list = []
    outcome = search_combo(Combo("a"), GRID, 100, monotone({"a": 3.0}, calls))
    assert outcome.answer is None and "infeasible at any CPU in range" in outcome.why_not
    assert len(calls) == 1


@pytest.mark.parametrize("order", [("a", "b", "c"), ("c", "b", "a"), ("b", "c", "a")])
def test_pruning_never_discards_the_true_answer(order):
    needs = {"a": 1.2, "b": 0.6, "c": 0.65}
    outcomes = search([Combo(v) for v in order], GRID, 100, monotone(needs))
    best = cheapest(outcomes)
    assert best.combo.variant == "b" and best.answer.cpus == 0.6


def test_a_combination_that_cannot_beat_the_best_costs_one_trial():
    calls: list = []
    search([Combo("b"), Combo("a")], GRID, 100, monotone({"a": 1.2, "b": 0.6}, calls))
    assert [c for c in calls if c[0] == "a"] == [("a", 0.55, 0)]  # one step below b's 0.6


def test_an_undecided_trial_is_measured_again_with_a_longer_window():
    attempts: list = []

    def measure(combo, cpus, rate, attempt):
        attempts.append((cpus, attempt))
        if cpus == 2.0 and attempt == 0:
            return Trial(combo, cpus, rate, attempt, UNDECIDED, reason="straddles")
        return Trial(combo, cpus, rate, attempt, PASS if cpus >= 1 else FAIL)

    outcome = search_combo(Combo("a"), GRID, 100, measure)
    assert attempts[:2] == [(2.0, 0), (2.0, 1)] and outcome.answer.cpus == 1.0


def test_a_trial_that_never_decides_is_not_an_answer():
    def measure(combo, cpus, rate, attempt):
        return Trial(combo, cpus, rate, attempt, UNDECIDED, reason="straddles")

    outcome = search_combo(Combo("a"), GRID, 100, measure, attempts=3)
    assert outcome.answer is None and outcome.why_not.startswith("undecided at 2 CPU")
    assert len(outcome.trials) == 3


def test_a_non_monotone_system_is_reported():
    """A system that passes at 1.1 once and fails there the next time (as one whose
    throughput falls with more CPU would, seen at its boundary): reported, not hidden."""
    seen: dict[float, int] = {}

    def measure(combo, cpus, rate, attempt):
        seen[cpus] = seen.get(cpus, 0) + 1
        ok = cpus >= 1.1 - 1e-9 and not (cpus == 1.1 and seen[cpus] > 1)
        return Trial(combo, cpus, rate, attempt, PASS if ok else FAIL)

    outcome = search_combo(Combo("a"), GRID, 100, measure)
    assert outcome.contradictions == ["passed at 1.1 CPU and failed at 1.1 CPU"]


def test_a_guess_places_the_first_trials_only():
    calls: list = []
    outcome = search_combo(Combo("a"), GRID, 100, monotone({"a": 0.9}, calls), guess=0.9)
    assert [c[1] for c in calls] == [2.0, 0.9, 0.85, 0.9]  # top, guess, below it, replicate
    assert outcome.answer.cpus == 0.9 and outcome.guess == 0.9


def costing(need: float, cpu_ms: float, calls: list):
    """A monotone system whose trials report the CPU a request cost, as measured ones do."""
    inner = monotone({"a": need}, calls)
    return lambda *a: replace(inner(*a), cpu_ms=cpu_ms)


@pytest.mark.parametrize("need", [0.25, 0.6, 0.65, 0.8, 1.5, 2.0])
def test_the_cpu_models_floor_guides_but_the_measurements_decide(need):
    """The model's floor (30/s x 20 ms = 0.6 CPU) starts the bisection; whether it is right
    (0.6), a step short (0.65) or far off either way, the answer is the measured one, within
    the bound plus the two guided trials."""
    calls: list = []
    outcome = search_combo(Combo("a"), GRID, 30, costing(need, 20.0, calls), model=cpu_floor)
    assert outcome.guess == pytest.approx(0.6)
    assert calls[1][1] == pytest.approx(0.6)
    assert outcome.answer.cpus == min(c for c in GRID if c >= need - 1e-9)
    assert len(calls) <= BOUND + 3
    if need in (0.6, 0.65):  # the floor right, or a step short (throttling adds cost)
        assert len(calls) == 4  # top, floor, its neighbour, replicate: 36 limits or 3600


def test_the_cpu_floor_is_the_rate_times_a_requests_cpu():
    trial = Trial(Combo("a"), 1.0, 30, 0, PASS, cpu_ms=20.0)
    assert cpu_floor(trial, 30) == pytest.approx(0.6)
    assert cpu_floor(replace(trial, cpu_ms=None), 30) is None  # no telemetry: no guess


def test_every_trial_is_measured_at_the_searchs_rate():
    """The top, the halves, the pruning trial and the replicates all run at the rate asked."""
    outcomes = search([Combo("b"), Combo("a")], GRID, 150, monotone({"a": 1.2, "b": 0.6}))
    rates = {t.rate for o in outcomes for t in o.trials}
    assert rates == {150} and len(outcomes[0].trials) > 2 and len(outcomes[1].trials) == 1


def never_decides(combo, cpus, rate, attempt):
    return Trial(combo, cpus, rate, attempt, UNDECIDED, reason="straddles")


def test_a_trial_is_measured_three_times_at_most_unless_told():
    """By default a trial and two re-measurements (each window twice the last); ``attempts``
    given to the search reaches every combination's trials."""
    assert len(search_combo(Combo("a"), GRID, 100, never_decides).trials) == 3
    assert [len(o.trials) for o in search([Combo("a")], GRID, 100, never_decides)] == [3]
    found = search([Combo("a"), Combo("b")], GRID, 100, never_decides, attempts=2)
    assert [[t.attempt for t in o.trials] for o in found] == [[0, 1], [0, 1]]


def test_the_search_hands_each_combination_its_own_guess_or_the_model():
    """A guess given for a combination places its trials (and only that one's); without one the
    CPU model guesses from the top trial."""
    calls: list = []
    guessed = search([Combo("a")], GRID, 100, monotone({"a": 0.9}, calls),
                     guesses={Combo("a"): 0.9, Combo("z"): 0.3})  # fmt: skip
    assert [c[1] for c in calls] == [2.0, 0.9, 0.85, 0.9] and guessed[0].guess == 0.9
    calls.clear()
    modelled = search([Combo("a")], GRID, 30, costing(0.6, 20.0, calls), model=cpu_floor)
    assert modelled[0].guess == pytest.approx(0.6) and calls[1][1] == pytest.approx(0.6)


def test_a_wrong_guess_places_two_trials_then_the_bisection_takes_over():
    """A guess too low (0.9 for a need of 1.5): the guess fails, its neighbour one step above
    is measured, then the search halves what is left (0.95 to 2) instead of creeping up."""
    calls: list = []
    outcome = search_combo(Combo("a"), GRID, 100, monotone({"a": 1.5}, calls), guess=0.9)
    assert [c[1] for c in calls[:4]] == [2.0, 0.9, 0.95, 1.45]  # 1.45: halfway, on the grid
    assert outcome.answer.cpus == 1.5


def test_infeasible_keeps_the_failing_top_as_the_neighbour_and_what_bound_it():
    """A fail at the top is the reason there is no answer: kept as the neighbour, and the
    why-not names the limit, the trial's reason and what bound it (when known)."""

    def bound(combo, cpus, rate, attempt):
        return Trial(combo, cpus, rate, attempt, FAIL, reason="p99 900 ms at least",
                     bound="the CPU quota")  # fmt: skip

    outcome = search_combo(Combo("a"), GRID, 100, bound)
    assert outcome.neighbour is outcome.trials[0] and outcome.neighbour.cpus == 2.0
    assert outcome.why_not == (
        "infeasible at any CPU in range: fails at 2 (p99 900 ms at least; bound by the CPU quota)"
    )
    plain = search_combo(Combo("a"), GRID, 100, monotone({"a": 3.0}))
    assert plain.why_not == "infeasible at any CPU in range: fails at 2 (simulated)"


def test_an_undecided_top_has_no_neighbour():
    """A top that never decides is not a fail: no neighbour, and it says undecided."""
    outcome = search_combo(Combo("a"), GRID, 100, never_decides)
    assert outcome.neighbour is None
    assert outcome.why_not == "undecided at 2 CPU after every re-measurement (straddles)"


def test_a_pruned_combination_says_it_cannot_beat_the_best():
    """Pruned by a best of 0.6: a fail one step below reads "cannot beat", an undecided one
    "undecided", and a best at the bottom of the range costs no trial at all."""
    (_, failed) = search([Combo("b"), Combo("a")], GRID, 100, monotone({"a": 1.2, "b": 0.6}))
    assert failed.why_not == "cannot beat 0.6 CPU: fails at 0.55 (simulated)"
    assert failed.neighbour.cpus == 0.55
    undecided = search_combo(Combo("a"), GRID, 100, never_decides, best=0.6)
    assert undecided.why_not == "undecided at 0.55 CPU after every re-measurement (straddles)"
    bottom = search_combo(Combo("a"), GRID, 100, never_decides, best=0.25)
    assert bottom.why_not == "cannot beat 0.25 CPU: no limit of the range below it"
    assert bottom.trials == []


def test_a_pass_below_a_fail_is_named_as_such():
    """A pass at 0.5 CPU with a fail at 0.6 breaks monotonicity: "below a fail", told apart from
    a pass and a fail at the same limit; a pass above a fail is no contradiction."""
    trials = [Trial(Combo("a"), 0.6, 100, 0, FAIL), Trial(Combo("a"), 0.5, 100, 0, PASS),
              Trial(Combo("a"), 0.7, 100, 0, PASS)]  # fmt: skip
    assert contradictions(trials) == ["passed at 0.5 CPU below a fail at 0.6 CPU"]
