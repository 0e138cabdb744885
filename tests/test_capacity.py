"""A capacity search's plan, checked before anything starts: RATE or USERS, one endpoint, the
thread limits each validated, the CPU range's top as the plan's limit."""

from __future__ import annotations

import pytest

from loadlab.capacity import plan_of
from loadlab.errors import ConfigError


def planned(tmp_path, **changes):
    given = {"endpoints": "io/sync", "variants": "uvicorn-limiter", "out": str(tmp_path)}
    asked = dict(rate="150", users=None, objective="p99<250ms", cpus="0.5..1", cpu_step=None,
                 thread_limit="20,40", headroom=False)  # fmt: skip
    return plan_of(given, **{**asked, **changes})


def test_an_open_loop_search(tmp_path):
    plan, ask = planned(tmp_path)
    assert (plan.load, plan.rates, plan.cpus) == ("open", (150.0,), (1.0,))
    assert (ask.rate, ask.cpu_range, ask.cpu_step, ask.thread_limits) == (150, (0.5, 1), 0.05,
                                                                           (20, 40))  # fmt: skip


def test_users_search_under_a_closed_loop(tmp_path):
    plan, ask = planned(tmp_path, rate=None, users="40")
    assert (plan.load, plan.users, ask.load, ask.rate) == ("closed", (40,), "closed", 40)


@pytest.mark.parametrize(("changes", "named"), [
    (dict(rate=None), "RATE"), (dict(users="10"), "RATE"), (dict(objective="p99"), "SLO"),
    (dict(thread_limit="20,0"), "THREAD_LIMIT"), (dict(cpus="1..0.5"), "CPUS"),
    (dict(cpu_step="x"), "CPU_STEP"), (dict(rate=None, users="10,20"), "USERS"),
    (dict(attempts="0"), "ATTEMPTS"), (dict(attempts="6"), "ATTEMPTS"),
    (dict(attempts="2.5"), "ATTEMPTS"),
])  # fmt: skip
def test_bad_input_is_one_line_naming_it(tmp_path, changes, named):
    with pytest.raises(ConfigError) as caught:
        planned(tmp_path, **changes)
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_attempts_are_three_windows_unless_asked(tmp_path):
    assert planned(tmp_path)[1].attempts == 3
    assert planned(tmp_path, attempts="1")[1].attempts == 1
    assert planned(tmp_path, attempts="5")[1].attempts == 5


def test_resume_asks_what_the_interrupted_search_asked(tmp_path):
    """RESUME alone continues the same search (its question read back from run.json); a
    setting given with it that disagrees is refused in one line."""
    from loadlab import capacity, workflow

    plan, ask = planned(tmp_path, headroom=True, attempts="2")
    run = workflow.open_run(plan)
    run.config["capacity"] = capacity.ask_json(ask)
    run.save()
    nothing = dict(rate=None, users=None, objective=None, cpus=None, cpu_step=None,
                   thread_limit=None, headroom=None)  # fmt: skip
    resumed = {"resume": str(run.directory)}
    again_plan, again = plan_of(resumed, **nothing)
    assert again == ask and again_plan.directory == run.directory
    with pytest.raises(ConfigError, match="RATE was 150, not 300"):
        plan_of(resumed, **{**nothing, "rate": "300"})
    with pytest.raises(ConfigError, match="ATTEMPTS was 2, not 3"):
        plan_of(resumed, **{**nothing, "attempts": "3"})
    assert plan_of(resumed, **{**nothing, "attempts": "2"})[1].attempts == 2
    with pytest.raises(ConfigError, match="no capacity search"):
        plan_of({"resume": str(tmp_path)}, **nothing)


def test_only_an_open_loop_search_is_guided_by_the_cpu_floor(tmp_path):
    """The floor is a rate times a request's CPU: a closed loop's users are no rate."""
    from loadlab import capacity
    from loadlab.search import bisection

    plan, ask = planned(tmp_path)
    assert capacity.Searcher(plan, ask, None, None, None)._model() is bisection.cpu_floor
    plan, ask = planned(tmp_path, rate=None, users="40")
    assert capacity.Searcher(plan, ask, None, None, None)._model() is None
