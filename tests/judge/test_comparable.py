"""What compare shows but never refuses: the engines' arrangement and image changes."""

from __future__ import annotations

from pathlib import Path

from loadlab.judge import comparable
from loadlab.results import Run
from tests.judge import runs_fixture as fx


def arranged(tmp_path: Path, name: str, target: str | None, load: list) -> Run:
    """A run over several engines: ``None`` is the current engine."""
    hosts = {c or "current": {"ncpu": 2, "cpu_model": "Xeon"} for c in (target, *load)}
    engines = {"arrangement": {"target": target, "load": load}, "engines": hosts}
    return fx.write(tmp_path / name, fx.grid(repeats=1), metadata={"engines": engines})


def test_the_arrangement_names_every_load_engine_and_the_current_one(tmp_path: Path) -> None:
    """Locust spread over the current engine and another is shown as 'current,lab-b', in the
    arrangement's order, next to the engine the target ran on."""
    one = fx.write(tmp_path / "one", fx.grid(repeats=1))
    spread = arranged(tmp_path, "spread", "lab-t", [None, "lab-b"])
    assert comparable.conflicts(one, spread) == []
    assert comparable.differences(one, spread) == [
        ("engines", "one engine", "target on lab-t, Locust on current,lab-b")
    ]
    other = arranged(tmp_path, "other", None, ["lab-b", "lab-c"])
    assert comparable.differences(spread, other) == [
        (
            "engines",
            "target on lab-t, Locust on current,lab-b",
            "target on current, Locust on lab-b,lab-c",
        )
    ]


def test_an_image_only_one_run_recorded_is_unknown_not_changed(tmp_path: Path) -> None:
    """An image digest absent from one run is unknown there: no difference is listed for it,
    while a digest both runs recorded and that changed is."""
    a = fx.write(tmp_path / "a", fx.grid(repeats=1), metadata={"images": {"target": "sha256:a"}})
    b = fx.write(
        tmp_path / "b",
        fx.grid(repeats=1),
        metadata={"images": {"target": "sha256:b", "locust": "sha256:l"}},
    )
    assert comparable.differences(a, b) == [("images.target", "sha256:a", "sha256:b")]
