"""A point's status and its reasons, from window statistics."""

from __future__ import annotations

from dataclasses import replace

import pytest

from loadlab.measure.stats import WindowStats
from loadlab.measure.status import (
    CEILING_TOLERANCE,
    MAX_LITTLE_ERROR_PCT,
    MAX_LOCUST_CPU_SHARE,
    MAX_SEND_LAG_MS,
    STATUSES,
    assess,
    backlog,
    can_meet_slo,
)
from loadlab.measure.steady import Truncation

BASE = WindowStats(requests=1000, failures=0, failure_ratio=0.0, rps=100.0,
                   rps_ci=(99.0, 101.0), users_seen=20, little_error_pct=0.1,
                   settle_budget=6.0, step_start=100.0, window_start=106.0)  # fmt: skip


def judge(settled: bool = True, **stats):
    return assess(replace(BASE, **stats), users=20, settled=settled, max_failure_ratio=0.01)


def test_a_clean_point_is_ok():
    """A settled window with no failures and Little's law kept is ok, with no flags."""
    assert (judge().status, judge().flags) == ("ok", [])


def test_an_unsettled_step_says_which_series_moved():
    """A step whose throughput still moved after mid-step is unsteady, and its flag says so."""
    cut = Truncation(latency=0.0, throughput=6.0, turnover=0.3, drifting=True,
                     drifting_in=("throughput",))  # fmt: skip
    found = judge(settled=False, truncation=cut, warmup=None)
    assert found.status == "unsteady"
    assert found.flags == ["did not settle: its throughput still moved after mid-step "
                             "(measured from 6.0 s into the step)"]  # fmt: skip


def test_a_step_without_turnover_says_so():
    """A step where some user never turned over is flagged for that reason."""
    cut = Truncation(latency=0.0, throughput=0.0, turnover=None, drifting=False)
    flags = judge(settled=False, truncation=cut, warmup=None).flags
    assert flags[0].startswith("did not settle: some user never completed a request")


def test_a_late_settle_names_both_times():
    """A step that settled past its budget names when it settled and what its budget was."""
    cut = Truncation(latency=7.0, throughput=0.0, turnover=1.0, drifting=False)
    flags = judge(settled=False, truncation=cut, warmup=7.0, window_start=107.0).flags
    assert flags == ["settled after 7.0 s, past its budget of 6.0 s (measured from 7.0 s into "
                     "the step)"]  # fmt: skip


def test_failures_and_the_pool_ceiling_outrank_unsteadiness():
    """Failing outranks unsteady, and a throughput above P/S fails the point."""
    found = judge(settled=False, truncation=Truncation(0.0, 0.0, turnover=None), failures=50,
                  failure_ratio=0.05, rps=210.0, rps_ci=(208.0, 212.0))  # fmt: skip
    assert found.status == "failing"
    bounded = assess(replace(BASE, rps=210.0, rps_ci=(208.0, 212.0)), users=20, settled=True,
                     max_failure_ratio=0.01, ceiling_rps=200.0)  # fmt: skip
    assert bounded.status == "failed" and "exceeds the pool's ceiling" in bounded.flags[0]


def test_fewer_users_seen_than_asked_is_harness_bound():
    """A window in which only 19 of 20 users completed a request is harness-bound."""
    found = judge(users_seen=19)
    assert found.status == "harness-bound"
    assert found.flags == ["only 19 of 20 users completed a request"]


@pytest.mark.parametrize("error", [2.5, -2.5])
def test_littles_law_broken_either_way_is_harness_bound(error):
    """A Little's-law error beyond 2 %, above or below, makes the point harness-bound."""
    found = judge(little_error_pct=error)
    assert found.status == "harness-bound"
    assert found.flags == [f"Little's-law error {error:+.2f} % (> 2 %)"]


@pytest.mark.parametrize("error", [MAX_LITTLE_ERROR_PCT, -MAX_LITTLE_ERROR_PCT])
def test_littles_law_at_exactly_the_bound_is_ok(error):
    """A Little's-law error of exactly 2 % (either sign) is still within the rule."""
    found = judge(little_error_pct=error)
    assert (found.status, found.flags) == ("ok", [])


def test_a_shedding_variant_is_not_harness_bound_for_littles_law():
    """Shedding breaks Little's law by design (503s answered at once): no harness flag."""
    found = assess(replace(BASE, little_error_pct=-40.0), users=20, settled=True,
                   max_failure_ratio=0.01, shedding=True)  # fmt: skip
    assert (found.status, found.flags) == ("ok", [])


def test_a_shedding_variants_503s_are_its_result_not_failing():
    """A shedding variant answers 503 by design: 30 % shed is no failure of the point, while
    the same ratio fails a variant that does not shed; shedding nothing at all still fails."""
    shed = {"failures": 300, "failure_ratio": 0.3}
    found = assess(replace(BASE, **shed), users=20, settled=True, max_failure_ratio=0.01,
                   shedding=True)  # fmt: skip
    assert (found.status, found.flags) == ("ok", []), "a shedding variant's 503s made it failing"
    assert judge(**shed).status == "failing"
    none_served = assess(replace(BASE, failures=1000, failure_ratio=1.0), users=20,
                         settled=True, max_failure_ratio=0.01, shedding=True)  # fmt: skip
    assert none_served.flags == ["no successful request in the window"]


@pytest.mark.parametrize(
    ("share", "status"), [(MAX_LOCUST_CPU_SHARE, "harness-bound"), (0.95, "harness-bound"),
                          (0.89, "ok")],
)  # fmt: skip
def test_a_locust_worker_at_90_percent_cpu_is_harness_bound(share, status):
    """A Locust worker at 90 % of its CPU or more makes the point harness-bound; 89 % does not."""
    found = assess(BASE, users=20, settled=True, max_failure_ratio=0.01, locust_cpu_share=share)
    assert found.status == status
    if status != "ok":
        assert found.flags == [f"a Locust worker used {share:.0%} of its CPU"]


def test_harness_bound_outranks_unsteady_and_both_are_flagged():
    """A Locust-bound step that also never settled is harness-bound, with both reasons."""
    cut = Truncation(latency=0.0, throughput=0.0, turnover=None, drifting=False)
    found = judge(settled=False, truncation=cut, warmup=None, users_seen=10)
    assert found.status == "harness-bound"
    assert found.flags[0] == "only 10 of 20 users completed a request"
    assert found.flags[1].startswith("did not settle")


OPEN = replace(BASE, users_seen=None, little_error_pct=None, rps=99.0, rps_ci=None,
               sent_rate=100.0, offered_rate=100.0, dropped=0, lag_p99_ms=1.0,
               duration=10.0)  # fmt: skip


def judge_open(settled: bool = True, **stats):
    return assess(replace(OPEN, **stats), users=None, settled=settled, max_failure_ratio=0.01)


def test_a_punctual_open_loop_that_kept_up_is_ok():
    """Sends on time, none dropped, 99 of 100 sent answered a second: ok, no flags."""
    assert (judge_open().status, judge_open().flags) == ("ok", [])


def test_late_sends_while_the_server_kept_up_are_harness_bound():
    """A p99 send lag above 5 ms while the server answered what was sent is harness-bound."""
    found = judge_open(lag_p99_ms=6.5)
    assert found.status == "harness-bound"
    assert found.flags == ["p99 send lag 6.5 ms > 5 ms below saturation"]
    assert judge_open(lag_p99_ms=MAX_SEND_LAG_MS).status == "ok"  # at the bound: still on time


def test_drops_while_the_server_kept_up_are_harness_bound():
    """Sends dropped (MAX_IN_FLIGHT) while the server kept up make the point harness-bound."""
    found = judge_open(dropped=3)
    assert found.status == "harness-bound"
    assert found.flags == ["3 sends dropped (MAX_IN_FLIGHT) while the server kept up"]


@pytest.mark.parametrize("late", [{"lag_p99_ms": 40.0}, {"dropped": 120}])
def test_an_overloaded_open_loop_is_not_harness_bound_for_lag_or_drops(late):
    """When completions fall 4 % short of arrivals the server was the limit: lag and drops
    are its overload, not the harness's, and the point is overloaded."""
    found = judge_open(rps=96.0, **late)
    assert found.status == "overloaded"
    assert not any("harness" in flag or "kept up" in flag for flag in found.flags)


def test_late_sends_within_3_percent_of_the_arrivals_are_the_harnesss():
    """Completions within 3 % of the arrivals: the server kept up, so a late send is the
    harness's (harness-bound), never an overload."""
    assert judge_open(rps=97.5, lag_p99_ms=40.0).status == "harness-bound"


# 250/s offered to a pool that completes 186/s, at the in-flight cap: 194.5/s sent (each
# send waits for a free slot) and 555 dropped in 10 s, so 250/s arrived.
OVER = {"sent_rate": 194.5, "dropped": 555, "rps": 186.0, "rps_ci": (183.0, 189.0),
        "offered_rate": 250.0, "requests": 1860, "lag_p99_ms": 12.0}  # fmt: skip


def test_arrivals_beyond_completions_are_overloaded_at_the_capacity_reached():
    """250/s arriving (sent or dropped) against 186/s answered is overloaded, not
    harness-bound for its drops or late sends: the backlog grew 64/s (61 to 67), and the flag
    names the arrivals, the capacity with its interval and the drops."""
    found = judge_open(**OVER)
    assert found.status == "overloaded"
    assert found.backlog is not None
    assert found.backlog.growth == 64.0 and found.backlog.growth_ci == (61.0, 67.0)
    assert found.flags == ["250.0 requests/s arrived, 186.0/s were answered (the capacity it "
                           "reached, 95 % CI 183.0-189.0): the backlog grew 64.0/s; 555 sends "
                           "dropped at the in-flight cap (MAX_IN_FLIGHT)"]  # fmt: skip


def test_drops_at_a_cap_below_the_pool_are_the_harnesss_not_an_overload():
    """The same window with a cap of 5 in flight against a pool of 40: the server never had 40
    requests to work on, so the cap set the throughput: harness-bound, the overload kept in
    the flags; a cap at or above the pool (or an unknown pool) leaves it overloaded."""
    window = replace(OPEN, **OVER)
    found = assess(window, users=None, settled=True, max_failure_ratio=0.01, in_flight_cap=5,
                   pool=40)  # fmt: skip
    assert found.status == "harness-bound" and found.backlog.growth == 64.0
    assert found.flags[1] == (
        "555 sends dropped at the in-flight cap of 5, below the server's pool of 40: the cap, "
        "not the server, set the throughput"
    )
    for cap, pool in ((40, 40), (1000, 40), (5, None)):
        kept = assess(window, users=None, settled=True, max_failure_ratio=0.01,
                      in_flight_cap=cap, pool=pool)  # fmt: skip
        assert kept.status == "overloaded", (cap, pool)
    no_drops = replace(window, sent_rate=250.0, dropped=0)
    assert assess(no_drops, users=None, settled=True, max_failure_ratio=0.01, in_flight_cap=5,
                  pool=40).status == "overloaded"  # fmt: skip


def test_a_growing_backlog_without_drops_is_overloaded_too():
    """Before the in-flight cap is reached nothing is dropped; 250/s sent against 186/s
    answered is overloaded all the same."""
    found = judge_open(**{**OVER, "sent_rate": 250.0, "dropped": 0})
    assert found.status == "overloaded" and found.backlog.growth == 64.0
    assert "dropped" not in found.flags[0]


@pytest.mark.parametrize(("sent", "ci"), [(105.0, (94.0, 106.0)), (102.0, (99.5, 100.5))])
def test_a_backlog_within_the_noise_is_not_overloaded(sent, ci):
    """Arrivals above completions within the completion rate's own interval (105 against
    100 +- 6), or within 3 % of them (102 against 100 +- 0.5), are no overload."""
    found = judge_open(sent_rate=sent, rps=100.0, rps_ci=ci)
    assert (found.status, found.backlog) == ("ok", None)


def test_overloaded_outranks_unsteady_and_both_reasons_are_kept():
    """An overloaded step's latency climbs, so it does not settle: it is overloaded, with the
    overload first and the unsettled series after it."""
    cut = Truncation(latency=0.0, throughput=0.0, turnover=0.0, drifting=True,
                     drifting_in=("latency",))  # fmt: skip
    found = judge_open(settled=False, truncation=cut, warmup=None, **OVER)
    assert found.status == "overloaded"
    assert "the backlog grew" in found.flags[0]
    assert found.flags[1].startswith("did not settle: its latency still moved after mid-step")


def test_an_open_loop_that_kept_up_but_drifted_is_unsteady():
    """Below capacity (completions meet the arrivals) a drifting latency is unsteady: the lab
    cannot name its cause."""
    cut = Truncation(latency=0.0, throughput=0.0, turnover=0.0, drifting=True,
                     drifting_in=("latency",))  # fmt: skip
    found = judge_open(settled=False, truncation=cut, warmup=None)
    assert (found.status, found.backlog) == ("unsteady", None)


def test_failing_outranks_overloaded():
    """An overloaded step with too many failures is failing, the overload kept in its flags."""
    found = judge_open(**{**OVER, "failures": 60, "failure_ratio": 0.03})
    assert found.status == "failing"
    assert any("the backlog grew" in flag for flag in found.flags)


def test_a_closed_loop_is_never_overloaded():
    """A closed loop's users wait for their answers, so no backlog can grow: even with
    open-loop counts in its statistics it is judged as a closed loop."""
    found = assess(replace(BASE, **OVER), users=20, settled=True, max_failure_ratio=0.01)
    assert (found.status, found.backlog) == ("ok", None)


def test_only_an_ok_point_can_meet_an_slo():
    """An overloaded point fails every SLO, as every status but ok does."""
    assert [s for s in STATUSES if can_meet_slo(s)] == ["ok"]


def test_the_open_loop_ignores_the_locust_cpu_share():
    """An open-loop worker spins before each send, so its CPU share flags nothing."""
    found = assess(OPEN, users=None, settled=True, max_failure_ratio=0.01, locust_cpu_share=1.0)
    assert (found.status, found.flags) == ("ok", [])


def test_a_window_with_no_request_at_all_is_failing():
    """No request completed in the window (none sent, none counted): nothing succeeded."""
    for counts in ({"requests": 0, "failures": 0}, {"requests": None, "failures": None}):
        found = judge(**counts, failure_ratio=None)
        assert found.status == "failing"
        assert found.flags == ["no successful request in the window"]


def test_a_failure_ratio_of_exactly_max_failure_ratio_is_allowed():
    """MAX_FAILURE_RATIO is what the point may fail: 1 % failed against a 1 % limit is ok,
    one more failure is failing."""
    assert (judge(failures=10, failure_ratio=0.01).status, judge().flags) == ("ok", [])
    found = judge(failures=11, failure_ratio=0.011)
    assert found.flags == ["failure ratio 1.10% > 1.00% (MAX_FAILURE_RATIO)"]


def test_the_window_offset_is_named_to_a_tenth_of_a_second_or_as_unknown():
    """The reason names where the window began in the step, to 0.1 s; a window read from a
    run that recorded no step start or window start still gets its reason."""
    cut = Truncation(latency=0.0, throughput=0.0, turnover=None)
    found = judge(settled=False, truncation=cut, window_start=106.04)
    assert found.flags[0].endswith("(measured from 6.0 s into the step)")
    for unknown in ({"step_start": None}, {"window_start": None}):
        flag = judge(settled=False, truncation=cut, **unknown).flags[0]
        assert flag.startswith("did not settle: some user never completed a request")


def test_every_series_that_drifted_is_named():
    """Latency and throughput both still moving are both named; a drift recorded without
    its series (an early run) says the series."""
    both = Truncation(0.0, 0.0, 0.3, drifting=True, drifting_in=("latency", "throughput"))
    assert judge(settled=False, truncation=both).flags == [
        "did not settle: its latency and throughput still moved after mid-step (measured "
        "from 6.0 s into the step)"]  # fmt: skip
    unnamed = Truncation(0.0, 0.0, 0.3, drifting=True)
    assert judge(settled=False, truncation=unnamed).flags[0].startswith(
        "did not settle: its series still moved after mid-step")  # fmt: skip


@pytest.mark.parametrize(("rps", "ci", "failed"), [
    (210.0, None, True),  # no interval: the throughput itself is above
    (202.0, (198.0, 206.0), False),  # the interval reaches below the ceiling: not shown
    (206.0, (202.0, 210.0), True),  # the whole interval above
    (200.0 * (1 + CEILING_TOLERANCE), None, False),  # exactly the timer's half per cent
    (201.5, None, True),
])  # fmt: skip
def test_only_a_throughput_surely_above_the_pools_ceiling_fails_the_point(rps, ci, failed):
    """A throughput fails the point against P/S = 200 only when its interval's low end (or,
    without one, itself) exceeds the ceiling by more than half a per cent."""
    found = assess(replace(BASE, rps=rps, rps_ci=ci), users=20, settled=True,
                   max_failure_ratio=0.01, ceiling_rps=200.0)  # fmt: skip
    assert (found.status == "failed") == failed
    if failed:
        assert found.flags == [f"{rps:g} rps exceeds the pool's ceiling P/S = 200"]


def test_a_window_that_answered_nothing_is_not_above_even_a_tiny_ceiling():
    """One thread sleeping 4 s can complete 0.25/s: a window with no throughput is failing
    for its failures, not above that ceiling."""
    found = assess(replace(BASE, rps=None, rps_ci=None, failures=1000, failure_ratio=1.0),
                   users=20, settled=True, max_failure_ratio=0.01, ceiling_rps=0.25)  # fmt: skip
    assert found.flags == ["no successful request in the window"]


def test_failed_answers_are_completions_of_the_backlog():
    """A 503 answers its request as surely as a 200 does: 80/s ok and 20/s failed complete
    the 100/s sent, interval and all, and nothing is overloaded."""
    found = backlog(replace(OPEN, sent_rate=100.0, rps=80.0, rps_ci=(78.0, 82.0),
                            failures=200, duration=10.0))  # fmt: skip
    assert (found.arrived, found.completed, found.completed_ci) == (100.0, 100.0, (98.0, 102.0))
    every_answer_failed = backlog(replace(OPEN, rps=None, failures=1000, duration=10.0))
    assert every_answer_failed.completed == 100.0
    shed = judge_open(rps=80.0, rps_ci=(78.0, 82.0), failures=200, failure_ratio=0.2)
    assert shed.status == "failing" and shed.backlog is None


def test_a_window_of_unknown_length_adds_no_drops_or_failures_to_its_rates():
    """Without the window's duration counts cannot become rates: arrivals are the sends,
    completions the successes."""
    found = backlog(replace(OPEN, duration=None, dropped=555, failures=30))
    assert (found.arrived, found.completed, found.dropped) == (100.0, 99.0, 555)
    assert backlog(replace(OPEN, duration=0.0, dropped=555)).arrived == 100.0


def test_an_overload_without_an_interval_names_no_interval():
    """Too few batches for the completion rate's interval: the flag gives the capacity
    reached alone."""
    found = judge_open(**{**OVER, "rps_ci": None})
    assert found.status == "overloaded"
    assert found.flags[0].startswith("250.0 requests/s arrived, 186.0/s were answered (the "
                                     "capacity it reached): the backlog grew 64.0/s")  # fmt: skip


def test_completions_of_exactly_97_percent_of_the_arrivals_kept_up():
    """KEPT_UP is 'within 3 %': 97 of 100 answered is the server keeping up, so a late send
    is the harness's; a slow open loop of half a request a second counts the same way."""
    assert judge_open(rps=97.0, lag_p99_ms=40.0).status == "harness-bound"
    slow = judge_open(sent_rate=0.5, offered_rate=0.5, rps=0.5, requests=5, lag_p99_ms=40.0)
    assert slow.status == "harness-bound" and "send lag" in slow.flags[0]


def test_completions_short_of_the_arrivals_but_within_the_noise_say_nothing_of_the_sends():
    """95 of 100 answered with an interval reaching 101: not an overload, and not the
    server keeping up either, so late sends are nobody's flag."""
    found = judge_open(rps=95.0, rps_ci=(89.0, 101.0), lag_p99_ms=40.0, dropped=0)
    assert (found.status, found.flags) == ("ok", [])


def test_nothing_arrived_is_no_harness_flag():
    """A window in which nothing was sent or dropped: no successful request, and no claim
    that the server kept up with late sends."""
    found = judge_open(sent_rate=0.0, rps=0.0, requests=0, failures=0, lag_p99_ms=40.0)
    assert found.flags == ["no successful request in the window"]
