"""The real ``sweep.Sweep`` between its container seams, with a fake stack and the measuring
stubbed: each Locust run saved before the next, a dead target revived for the group's next
run, the re-measurement returning fresh results without touching the run, and the pre-run
checks (idle, answer) before Locust starts."""

from __future__ import annotations

import io

import pytest

from loadlab import sweep as sweep_module
from loadlab.errors import EngineError, PointError
from loadlab.measure.stats import WindowStats
from loadlab.plan.config import SweepConfig, resolve
from loadlab.progress import Progress
from loadlab.results import Run
from loadlab.stack import images
from loadlab.workflow import points

# One group (uvicorn at 1 CPU), two Locust runs (io/async, then io/sync), two steps each.
SETTINGS = {"profile": "smoke", "users": "10,60", "endpoints": "io/async,io/sync"}


class FakeStack:
    """Stands in for ``compose.Stack``: records what the sweep asked of it; the target can
    die after a Locust run and may refuse to come back."""

    context = None

    def __init__(self, comes_back: bool = True) -> None:
        self.calls: list[str] = []
        self.dead = False
        self.comes_back = comes_back

    def up(self, variant: str, env: dict, timeout: float | None = None) -> None:
        self.calls.append(f"up {variant}")
        if self.dead and not self.comes_back:
            raise EngineError(f"{variant} exited")
        self.dead = False

    def exited(self, variant: str) -> tuple[int, float] | None:
        return (137, 0.0) if self.dead else None

    def stop(self, variant: str) -> None:
        self.calls.append(f"stop {variant}")

    def down(self) -> None:
        self.calls.append("down")

    def url(self, variant: str) -> str:
        return "http://target.invalid"

    def container_ids(self, variant: str) -> dict[str, str]:
        return {}

    def compose(self, *args, **kwargs):  # the logs of a target that did not come up
        return type("Done", (), {"stdout": "", "stderr": "", "returncode": 0})()

    def run_locust(self, *args, **kwargs) -> int:
        self.calls.append("run_locust")
        raise PointError("stopped here: Locust is a container's")


def make(tmp_path, stack: FakeStack) -> sweep_module.Sweep:
    plan = resolve(SweepConfig.from_strings({"out": str(tmp_path), "run_id": "run",
                                             **SETTINGS}), [0, 1])  # fmt: skip
    run = Run.create(tmp_path / "run", plan.to_json(), points(plan))
    progress = Progress(len(run.points), 1.0, stream=io.StringIO())
    return sweep_module.Sweep(plan, run, stack, progress, prepared=images.Prepared(None, {}))


def stub_measure(monkeypatch, each=None, status=lambda point: "ok") -> list[list[str]]:
    """Replace Sweep._measure: every result gets ``status`` and a window; ``each(sweep,
    results)`` runs first. Returns the point ids of every call, in order."""
    seen: list[list[str]] = []

    def measure(self, results, placement, out=None) -> None:
        seen.append([r.point.id for r in results])
        if each is not None:
            each(self, results)
        for result in results:
            result.status = status(result.point)
            result.stats = WindowStats(requests=100, failures=0, rps=10.0, duration=10.0)

    monkeypatch.setattr(sweep_module.Sweep, "_measure", measure)
    return seen


def on_disk(sweep: sweep_module.Sweep) -> dict[str, str]:
    return {pid: r.status for pid, r in Run.load(sweep.run.directory).points.items()}


def test_each_locust_run_is_saved_before_the_next_begins(tmp_path, monkeypatch):
    """When the second Locust run starts, run.json on disk already holds the first run's
    points as measured (a full disk later loses only what came after)."""
    found: list[dict[str, str]] = []
    stub_measure(monkeypatch, each=lambda sweep, results: found.append(on_disk(sweep)))
    sweep = make(tmp_path, FakeStack())
    sweep.execute()
    first, second = found
    assert set(first.values()) == {"pending"}
    assert sorted(second.values()) == ["ok", "ok", "pending", "pending"], (
        f"run.json was not saved after the first Locust run: {second}"
    )
    assert set(on_disk(sweep).values()) == {"ok"}


def test_a_target_that_died_is_revived_for_the_groups_next_run(tmp_path, monkeypatch):
    """The target dies during the first Locust run: it is brought up again, and the second
    run is measured on it (every point ok), not failed."""
    stack = FakeStack()

    def die(sweep, results) -> None:
        stack.dead = True

    seen = stub_measure(monkeypatch, each=die)
    sweep = make(tmp_path, stack)
    sweep.execute()
    assert len(seen) == 2, f"the group's second Locust run never ran: {seen}"
    assert stack.calls.count("up uvicorn") == 2, f"the dead target was not revived: {stack.calls}"
    assert set(on_disk(sweep).values()) == {"ok"}


def test_a_target_that_does_not_come_back_fails_the_groups_next_run(tmp_path, monkeypatch):
    """A dead target that fails to come up again fails the rest of its group, named."""
    stack = FakeStack(comes_back=False)

    def die(sweep, results) -> None:
        stack.dead = True

    seen = stub_measure(monkeypatch, each=die)
    sweep = make(tmp_path, stack)
    sweep.execute()
    assert len(seen) == 1
    failed = [r for r in sweep.run.points.values() if r.status == "failed"]
    assert [r.point.endpoint for r in failed] == ["io/sync", "io/sync"]
    assert {r.error for r in failed} == {"uvicorn died and did not come back up"}


def test_remeasure_returns_fresh_results_and_leaves_the_run_alone(tmp_path, monkeypatch):
    """The nightly's re-measurement: each asked point measured again with its own status
    (one unsteady here), returned by id; the run's own results, in memory and on disk, are
    the first measurement's."""
    stub_measure(monkeypatch)
    sweep = make(tmp_path, FakeStack())
    sweep.execute()
    before = on_disk(sweep)
    asked = sorted(sweep.run.points)[:2]
    stub_measure(monkeypatch,
                 status=lambda point: "unsteady" if point.id == asked[0] else "ok")  # fmt: skip
    fresh = sweep.remeasure(asked)
    assert {pid: r.status for pid, r in fresh.items()} == {asked[0]: "unsteady", asked[1]: "ok"}
    assert all(fresh[pid] is not sweep.run.points[pid] for pid in asked)
    assert (
        {pid: r.status for pid, r in sweep.run.points.items()}
        == before
        == dict.fromkeys(before, "ok")
    )
    assert on_disk(sweep) == before


def test_a_remeasured_point_without_a_window_is_absent(tmp_path, monkeypatch):
    """A point that gave no statistics on re-measurement is not returned (the gate reads
    that as nothing came back), the other one is."""
    stub_measure(monkeypatch)
    sweep = make(tmp_path, FakeStack())
    sweep.execute()
    asked = sorted(sweep.run.points)[:2]

    def measure(self, results, placement, out=None) -> None:
        for result in results:
            if result.point.id != asked[0]:
                result.status = "ok"
                result.stats = WindowStats(requests=100, failures=0, rps=10.0, duration=10.0)

    monkeypatch.setattr(sweep_module.Sweep, "_measure", measure)
    assert list(sweep.remeasure(asked)) == [asked[1]]


def test_the_answer_is_checked_after_idle_and_before_locust_starts(tmp_path, monkeypatch):
    """Before a Locust run the target is waited idle, its limits checked and each endpoint's
    answer checked (within the target file's answer_seconds); a wrong answer fails the run's
    points with its reason and Locust never starts."""
    calls: list[str] = []
    readiness = sweep_module.readiness

    def wait_idle(url: str) -> dict:
        calls.append("wait_idle")
        return {}

    def check_answer(url, target, endpoint, timeout) -> bytes:
        calls.append(f"check_answer {endpoint} {timeout:g}")
        raise PointError(f"/{endpoint} answered 500")

    monkeypatch.setattr(readiness, "wait_idle", wait_idle)
    monkeypatch.setattr(readiness, "check_limits", lambda idle, placement: calls.append("limits"))
    monkeypatch.setattr(readiness, "check_answer", check_answer)
    stack = FakeStack()
    sweep = make(tmp_path, stack)
    sweep.execute()
    assert "run_locust" not in stack.calls, "Locust started although the answer was wrong"
    assert calls == ["wait_idle", "limits", "check_answer io/async 120",
                     "wait_idle", "limits", "check_answer io/sync 120"]  # fmt: skip
    errors = {r.point.endpoint: r.error for r in sweep.run.points.values()}
    assert errors == {"io/async": "/io/async answered 500", "io/sync": "/io/sync answered 500"}
    assert {r.status for r in sweep.run.points.values()} == {"failed"}


@pytest.fixture(autouse=True)
def _no_services(monkeypatch):
    """The demo has no services of its own; nothing may reach a real engine."""
    monkeypatch.setattr(sweep_module.verify, "start_services", lambda stack, plan: None)


# The container verify checked and left up (preflight(keep=True)) is the first group's.


def verified_sweep(tmp_path, stack: FakeStack, verified) -> sweep_module.Sweep:
    sweep = make(tmp_path, stack)
    sweep.verified = verified
    return sweep


def test_the_verified_container_is_measured_on_without_starting_another(tmp_path, monkeypatch):
    """verify left uvicorn at 1 CPU running: the group measures on it (no `up`), and it is
    stopped after the group as any other."""
    stub_measure(monkeypatch)
    stack = FakeStack()
    sweep = verified_sweep(tmp_path, stack, ("uvicorn", 1.0))
    sweep.execute()
    assert stack.calls == ["stop uvicorn", "down"], stack.calls
    assert set(on_disk(sweep).values()) == {"ok"}


def test_a_verified_container_that_died_is_started_afresh(tmp_path, monkeypatch):
    """The verified container exited before the sweep began: it is removed and the group
    starts its own."""
    stub_measure(monkeypatch)
    stack = FakeStack()
    stack.dead = True
    verified_sweep(tmp_path, stack, ("uvicorn", 1.0)).execute()
    assert stack.calls[:2] == ["stop uvicorn", "up uvicorn"], stack.calls


def test_a_verified_container_of_another_limit_is_stopped_first(tmp_path, monkeypatch):
    """verify's container is another variant (a resumed run whose first group is left): it is
    stopped before the group's own target starts, so two targets never run at once, and only
    the first group is ever offered it."""
    stub_measure(monkeypatch)
    stack = FakeStack()
    sweep = verified_sweep(tmp_path, stack, ("uvicorn-workers", 1.0))
    sweep.execute()
    assert stack.calls[:2] == ["stop uvicorn-workers", "up uvicorn"], stack.calls
    assert sweep.verified is None
