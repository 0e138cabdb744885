"""The capacity card (search/card.py) from searches on a simulated system: the cheapest answer
with its failing neighbour, every other combination's best or why it has none, every trial in
the order measured, and without an answer the trial that came closest."""

from __future__ import annotations

from dataclasses import replace

from loadlab.search import card
from loadlab.search.bisection import Trial, search_combo
from loadlab.search.slo import FAIL, PASS, parse
from loadlab.search.space import Combo, cpu_grid

GRID = cpu_grid(0.25, 1.0, 0.25)
SLO_P99 = parse("p99<250ms")


def system(need: float, calls: list):
    """Meets the SLO from ``need`` CPU on; p99 falls as CPU rises (400 ms at 0.25)."""

    def measure(combo: Combo, cpus: float, rate: float, attempt: int) -> Trial:
        calls.append((combo.variant, cpus))
        value = 100 / cpus
        verdict = PASS if cpus >= need - 1e-9 else FAIL
        return Trial(combo, cpus, rate, attempt, verdict, value_ms=value,
                     interval=(value * 0.9, value * 1.1), reason="simulated",
                     point_id=f"{combo.variant}-{cpus:g}-{len(calls)}", rps=rate,
                     bound="the CPU" if verdict == FAIL else None, cpu_ms=5.0)  # fmt: skip

    return measure


def make(outcomes, **given) -> card.Card:
    fixed = {"slo": SLO_P99, "rate": 30.0, "endpoint": "cpu/sync", "cpu_range": (0.25, 1.0),
             "cpu_step": 0.25, "wall_s": 12.345, "recheck": "make sweep ..."}  # fmt: skip
    return card.card_of(outcomes, **{**fixed, **given})


def test_the_cheapest_answer_its_neighbour_and_the_others():
    """b answers at 0.5 CPU, cheaper than a's 0.75: the answer is b's passing trial with its
    guess, the neighbour b's failing 0.25, a is another with its best; every trial is there
    in the order measured, and the card exits 0."""
    calls: list = []
    a = search_combo(Combo("a"), GRID, 30, system(0.75, calls))
    b = search_combo(Combo("b", thread_limit=8), GRID, 30, system(0.5, calls), guess=0.5)
    found = make([a, b], headroom={"sustains_rps": 40})
    assert (found.answer["variant"], found.answer["cpus"]) == ("b", 0.5)
    assert found.answer["thread_limit"] == 8 and found.answer["guess_cpus"] == 0.5
    assert found.answer["value_ms"] == 200.0 and found.answer["interval"] == (200 * 0.9, 200 * 1.1)
    assert (found.neighbour["cpus"], found.neighbour["verdict"]) == (0.25, FAIL)
    assert found.neighbour["bound"] == "the CPU" and found.neighbour["cpu_ms"] == 5.0
    (other,) = found.others
    assert other == {"variant": "a", "thread_limit": None, "guess_cpus": a.guess,
                     "best_cpus": 0.75, "value_ms": 100 / 0.75,
                     "interval": (100 / 0.75 * 0.9, 100 / 0.75 * 1.1)}  # fmt: skip
    assert [(t["variant"], t["cpus"]) for t in found.trials] == calls
    assert found.wall_s == 12.3 and found.slo == "p99<250ms" and found.closest is None
    assert found.recheck == "make sweep ..." and found.headroom == {"sustains_rps": 40}
    stored = found.to_json()
    assert stored["trial_count"] == len(calls) and stored["exit_code"] == 0 == found.exit_code
    assert stored["load"] == "open" and stored["contradictions"] == []


def test_without_an_answer_the_closest_trial_and_why_not():
    """Nothing passes in range: no answer, neighbour, re-check or headroom; the other says why
    not, the closest is the trial whose metric came nearest (the top, 100 ms), exit 1."""
    calls: list = []
    never = search_combo(Combo("a"), GRID, 30, system(2.0, calls))
    found = make([never], headroom={"sustains_rps": 40}, load="closed")
    assert found.answer is None and found.neighbour is None
    assert found.recheck is None and found.headroom is None
    (other,) = found.others
    assert other["best_cpus"] is None and other["why_not"] == never.why_not
    assert found.closest["cpus"] == 1.0 and found.closest["value_ms"] == 100.0
    assert found.exit_code == 1 and found.to_json()["exit_code"] == 1
    assert found.load == "closed"


def test_a_contradiction_is_named_by_its_combination():
    """A pass below a fail of one combination is listed with the combination's label."""
    calls: list = []
    flaky = search_combo(Combo("a"), GRID, 30, system(0.5, calls))
    flaky.contradictions.append("passed at 0.5 CPU below a fail at 0.75 CPU")
    found = make([flaky])
    assert found.contradictions == [
        f"{Combo('a').label}: passed at 0.5 CPU below a fail at 0.75 CPU"
    ]


def test_no_trial_with_a_metric_has_no_closest():
    """Every trial without a value (none answered): no closest, and still no answer."""
    none = search_combo(Combo("a"), GRID, 30,
                        lambda c, cpus, r, at: Trial(c, cpus, r, at, FAIL))  # fmt: skip
    found = make([none])
    assert found.closest is None and found.answer is None and found.trials


def test_the_card_states_what_was_asked():
    """The card records the rate, the endpoint, the CPU range and its step it searched."""
    calls: list = []
    found = make([search_combo(Combo("a"), GRID, 30, system(0.5, calls))]).to_json()
    assert (found["rate"], found["endpoint"]) == (30.0, "cpu/sync")
    assert (found["cpu_range"], found["cpu_step"]) == ((0.25, 1.0), 0.25)


def test_each_trial_keeps_its_rate_attempt_throughput_reason_and_point():
    """A trial on the card says at what rate and which attempt it was measured, the rps it
    reached, why it got its verdict, and which point of run.json holds it."""
    calls: list = []
    found = make([search_combo(Combo("a"), GRID, 30, system(0.5, calls))])
    first = found.trials[0]
    assert (first["rate"], first["attempt"], first["rps"]) == (30, 0, 30)
    assert (first["reason"], first["point_id"]) == ("simulated", "a-1-1")


def test_the_closest_is_the_lowest_metric_of_every_combination():
    """Without an answer, the closest trial is the one with the lowest metric over every
    combination (b's 90 ms at the top, searched after a's 100 ms), not the first."""
    calls: list = []
    a = search_combo(Combo("a"), GRID, 30, system(2.0, calls))
    quicker = system(2.0, calls)
    b = search_combo(Combo("b"), GRID, 30,
                     lambda *at: replace(quicker(*at), value_ms=90.0))  # fmt: skip
    found = make([a, b])
    assert (found.closest["variant"], found.closest["value_ms"]) == ("b", 90.0)
