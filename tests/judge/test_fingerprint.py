"""The machine fingerprint: what changes it, what does not, and that it is stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadlab.judge import fingerprint
from loadlab.results import Run
from tests.judge import runs_fixture as fx

ROOT = Path(__file__).resolve().parents[2]


def run_with(
    tmp_path: Path,
    name: str = "run",
    *,
    runtime: dict | None = None,
    placement: dict | None = None,
    **kwargs: object,
) -> Run:
    points = fx.grid(repeats=1)
    for p in points:
        p["runtime"].update(runtime or {})
        p["placement"].update(placement or {})
    return fx.write(tmp_path / name, points, **kwargs)


def test_the_same_conditions_give_the_same_fingerprint(tmp_path: Path) -> None:
    """Two nights on one machine with other numbers, code and driver Python share a fingerprint."""
    a = run_with(tmp_path, "a")
    b = fx.write(
        tmp_path / "b",
        fx.grid({("io/sync", 80): 150.0}, repeats=1),
        metadata={
            "python_version": "3.11.13",
            "git_sha": "b" * 40,
            "images": {"target": "sha256:new"},
        },
    )
    assert fingerprint.of(a).id == fingerprint.of(b).id


CHANGES = [
    ("host model", {"metadata": fx.HOST_Y}),
    ("host count", {"metadata": {"host_cpu_count": 2}}),
    ("target cpuset", {"placement": {"target_cpuset": "3"}}),
    ("load generator cpuset", {"placement": {"locust_cpuset": "0-1", "shared": True}}),
    ("quota seen inside", {"runtime": {"cpu_quota": 0.5}}),
    ("target python", {"runtime": {"python": "3.11.9"}}),
    ("a library", {"runtime": {"versions": {"fastapi": "0.166.0"}}}),
    ("window", {"settings": {"duration": 20}}),
    ("pool setting", {"settings": {"target_env": {"WORK_SECONDS": "0.2", "THREAD_LIMIT": "64"}}}),
    ("load mode", {"settings": {"load": "open"}}),
    ("locust workers", {"settings": {"locust_workers": 3}}),
    ("matrix", {"settings": {"users": [10, 40, 80]}}),
]


@pytest.mark.parametrize(("what", "change"), CHANGES, ids=[c[0] for c in CHANGES])
def test_what_changes_results_changes_the_fingerprint(
    tmp_path: Path, what: str, change: dict
) -> None:
    """Host, granted CPUs, target Python and libraries, and lab settings each make a new one."""
    assert (
        fingerprint.of(run_with(tmp_path, "a")).id
        != fingerprint.of(run_with(tmp_path, "b", **change)).id
    )


def test_numbers_are_compared_by_value(tmp_path: Path) -> None:
    """A duration of 10 and of 10.0 is one setting, one fingerprint."""
    a = run_with(tmp_path, "a", settings={"duration": 10})
    b = run_with(tmp_path, "b", settings={"duration": 10.0})
    assert fingerprint.of(a).id == fingerprint.of(b).id


def test_the_fingerprint_of_a_known_run_is_pinned(tmp_path: Path) -> None:
    """The id is a stable hash: changing what goes into it moves every machine's baseline."""
    fp = fingerprint.of(run_with(tmp_path))
    assert fp.label == (
        "4x Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz, cpus 1 on 0, cpython 3.11.2"
    )
    assert fp.components["settings"] == {
        "load": "closed",
        "work_seconds": 0.2,
        "duration": 10,
        "locust_workers": 2,
        "target_env": {"WORK_SECONDS": "0.2"},
    }
    assert fp.id == "8e28f470df4d"


def test_failed_points_without_runtime_do_not_change_it(tmp_path: Path) -> None:
    """Points that never reached /runtime add nothing; the others still name the target."""
    points = fx.grid(repeats=1)
    points[0].update(status="failed", runtime=None, placement=None, stats=None)
    broken = fx.write(tmp_path / "b", points)
    assert fingerprint.of(broken).id == fingerprint.of(run_with(tmp_path, "a")).id


def test_format_1_runs_are_closed_loop_with_locust_workers_beside_resolved() -> None:
    """The committed baseline (format 1) reads as a closed loop of 2 Locust workers."""
    base = Run.load(ROOT / "baseline")
    settings = fingerprint.settings(base)
    assert settings["load"] == "closed" and settings["locust_workers"] == 2
    assert "arrivals" not in settings
    assert fingerprint.of(base).components["host"]["host_cpu_count"] == 2


def test_settings_conflicts_name_each_difference(tmp_path: Path) -> None:
    """Variables not given ran at their default; WORK_SECONDS is judged once, as work_seconds."""
    a = run_with(tmp_path, "a")
    b = run_with(
        tmp_path,
        "b",
        settings={
            "work_seconds": 0.5,
            "target_env": {"WORK_SECONDS": "0.5", "EXECUTOR_WORKERS": "8"},
        },
    )
    assert fingerprint.settings_conflicts(a, b) == [
        "work_seconds 0.2 vs 0.5",
        "EXECUTOR_WORKERS default vs 8",
    ]
    assert fingerprint.settings_conflicts(a, a) == []


def test_a_users_target_is_part_of_the_fingerprint_and_the_demos_image_is_not(tmp_path: Path):
    """Another image of a user's app is another machine's night; a rebuilt demo image (the
    lab's own code, which the nightly judges) is the same machine."""

    def own(name: str, image: str, file: str = "/srv/shop/target.toml") -> Run:
        target = {"name": "shop", "file": file, "images": {"loadlab/app-shop:probe": image}}
        return run_with(tmp_path, name, metadata={"target": target})

    a, b, c = own("a", "sha256:1"), own("b", "sha256:1"), own("c", "sha256:2")
    assert fingerprint.of(a).id == fingerprint.of(b).id != fingerprint.of(c).id
    demo = "/x/services/target/target.toml"
    d, e = own("d", "sha256:1", demo), own("e", "sha256:2", demo)
    assert fingerprint.of(d).id == fingerprint.of(e).id


def test_the_engines_are_part_of_the_fingerprint_and_one_engine_keeps_its_own(tmp_path: Path):
    """Another arrangement of engines (or another host behind one) is another machine's
    night; a run on one engine has the fingerprint it always had (no engines component), and
    compare shows the arrangements rather than refusing them."""
    from loadlab.judge import comparable

    def spread(name: str, load: list, model: str = "Xeon") -> Run:
        hosts = {c: {"ncpu": 2, "cpu_model": model, "kernel": "6.1"} for c in ("current", *load)}
        engines = {"arrangement": {"target": None, "load": load}, "engines": hosts}
        return run_with(tmp_path, name, metadata={"engines": engines})

    one = run_with(tmp_path, "one")
    b, b2 = spread("b", ["lab-b"]), spread("b2", ["lab-b"])
    both, other_cpu = spread("both", ["lab-b", "default"]), spread("x", ["lab-b"], "EPYC")
    assert "engines" not in fingerprint.of(one).components
    ids = {fingerprint.of(r).id for r in (one, b, both, other_cpu)}
    assert len(ids) == 4 and fingerprint.of(b).id == fingerprint.of(b2).id
    assert comparable.conflicts(one, b) == []
    assert ("engines", "one engine", "target on current, Locust on lab-b") in (
        comparable.differences(one, b)
    )
