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


def test_values_that_differ_between_points_are_all_kept(tmp_path: Path) -> None:
    """Points of one run on two cpusets, two target Pythons or two library versions: the
    fingerprint and the per-variant Python name both values, sorted and joined by "/"."""
    points = fx.grid(repeats=1)
    points[0]["placement"]["target_cpuset"] = "1"
    points[0]["runtime"].update(python="3.12.1", versions={"fastapi": "0.166.0"})
    run = fx.write(tmp_path / "mixed", points)
    fp = fingerprint.of(run)
    assert fp.label == (
        "4x Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz, cpus 1 on 0/1, "
        "cpython 3.11.2/cpython 3.12.1"
    )
    assert fp.components["target"]["versions"]["fastapi"] == "0.165.0/0.166.0"
    assert fingerprint.target_pythons(run) == {"uvicorn": "3.11.2/3.12.1"}


def test_what_the_target_did_not_report_stays_absent(tmp_path: Path) -> None:
    """No implementation and no library version from /runtime: the Python is its bare
    version and the fingerprint has no versions at all, rather than guessed ones."""
    points = fx.grid(repeats=1)
    for p in points:
        del p["runtime"]["implementation"]
        p["runtime"]["versions"] = {"fastapi": None}
    fp = fingerprint.of(fx.write(tmp_path / "bare", points))
    assert fp.components["target"] == {"python": "3.11.2"}
    assert fp.label.endswith(", cpus 1 on 0, 3.11.2")


def test_a_users_app_is_named_with_its_images(tmp_path: Path) -> None:
    """A user's target enters the fingerprint by name and image ids: another app on the same
    image is another machine's night too."""

    def own(name: str, app: str) -> Run:
        target = {"name": app, "file": "/srv/shop/target.toml", "images": {"app:probe": "sha256:1"}}
        return run_with(tmp_path, name, metadata={"target": target})

    shop, cart = fingerprint.of(own("a", "shop")), fingerprint.of(own("b", "cart"))
    assert shop.components["target"]["app"] == {"name": "shop", "images": {"app:probe": "sha256:1"}}
    assert shop.id != cart.id


def test_each_engines_host_and_role_are_part_of_the_fingerprint(tmp_path: Path) -> None:
    """Over several engines the fingerprint keeps each engine's CPU model and count (not its
    kernel) and where the target ran: another count or another target engine is another night."""

    def spread(name: str, target: str | None = None, ncpu: int = 2) -> Run:
        hosts = {c: {"ncpu": ncpu, "cpu_model": "Xeon", "kernel": "6.1"} for c in ("current", "b")}
        engines = {"arrangement": {"target": target, "load": ["b"]}, "engines": hosts}
        return run_with(tmp_path, name, metadata={"engines": engines})

    base = fingerprint.of(spread("base"))
    assert base.components["engines"]["hosts"]["b"] == {"cpu_model": "Xeon", "ncpu": 2}
    assert base.components["engines"]["target"] is None
    assert fingerprint.of(spread("moved", target="b")).components["engines"]["target"] == "b"
    assert (
        len(
            {
                base.id,
                fingerprint.of(spread("moved2", "b")).id,
                fingerprint.of(spread("big", ncpu=8)).id,
            }
        )
        == 3
    )


def test_settings_conflicts_read_every_variable_on_both_sides(tmp_path: Path) -> None:
    """A variable given the same on both sides is no conflict, one given on one side only ran
    at its default on the other, and variables sorted after WORK_SECONDS are still read."""
    a = run_with(
        tmp_path,
        "a",
        settings={"target_env": {"WORK_SECONDS": "0.2", "THREAD_LIMIT": "64", "WORK_SIZE": "1"}},
    )
    b = run_with(
        tmp_path,
        "b",
        settings={"target_env": {"WORK_SECONDS": "0.2", "THREAD_LIMIT": "64", "WORK_SIZE": "2"}},
    )
    c = run_with(tmp_path, "c", settings={"target_env": {"WORK_SECONDS": "0.2"}})
    assert fingerprint.settings_conflicts(a, b) == ["WORK_SIZE 1 vs 2"]
    assert fingerprint.settings_conflicts(a, c) == [
        "THREAD_LIMIT 64 vs default",
        "WORK_SIZE 1 vs default",
    ]
    assert fingerprint.settings_conflicts(c, a) == [
        "THREAD_LIMIT default vs 64",
        "WORK_SIZE default vs 1",
    ]


def test_settings_conflicts_without_a_target_env_on_one_side(tmp_path: Path) -> None:
    """A run that did not record its variables (unknown) has no variable conflict."""
    a = run_with(tmp_path, "a", settings={"target_env": {"THREAD_LIMIT": "64"}})
    unknown = run_with(tmp_path, "b", settings={"target_env": None})
    assert fingerprint.settings_conflicts(a, unknown) == []
    assert fingerprint.settings_conflicts(unknown, a) == []
