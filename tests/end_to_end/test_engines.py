"""The same points on one engine, with Locust on a second engine, and with Locust's workers on
both: a second Docker engine on this machine (its own network namespace, `make second-engine`),
reached through its Docker context, the target published on the veth's host end only.

Each arrangement must agree with the single-engine run within both runs' intervals (compare
finds no significant change), with telemetry on every point: the target's from its cgroup
files, the second engine's workers' through the Engine API.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from loadlab.engines import second
from tests.containers import leftovers
from tests.end_to_end.conftest import MATRIX
from tests.end_to_end.test_sweep import finish, loadlab, points

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def engine2():
    """The second engine, up for this module and down after it, also when a test fails."""
    state = second.up()
    try:
        yield state
    finally:
        second.down()
        assert second.leftovers() == []


@pytest.fixture(scope="module")
def runs(twice, engine2, tmp_path_factory):
    """Each arrangement's run by name; "one" is the single-engine run `a` that the A/A
    comparison also uses (the same matrix, measured once)."""
    out = tmp_path_factory.mktemp("engines")
    host, master = engine2["host_address"], engine2["namespace_address"]
    context = engine2["context"]
    arrangements = {
        "load-on-b": ["--load-contexts", context, "--target-address", host],
        "workers-on-both": [
            *("--load-contexts", f"{context},default"),
            *("--target-address", host, "--master-address", master),
            *("--locust-workers", "1"),
        ],
    }
    found = {"one": twice / "a"}
    for run_id, where in arrangements.items():
        code, _, err = finish(loadlab("sweep", *MATRIX, *where, "--out", str(out),
                                      "--run-id", run_id), timeout=900)  # fmt: skip
        assert code in (0, 1), err  # 1: a short step may settle late (unsteady), still kept
        assert leftovers() == [] and _on_b(context) == [], run_id
        found[run_id] = out / run_id
    return found


def _on_b(context: str) -> list[str]:
    """Containers and volumes left on the second engine."""
    found = []
    for kind in (["ps", "-a", "--format", "{{.Names}}"], ["volume", "ls", "--format",
                                                          "{{.Name}}"]):  # fmt: skip
        done = subprocess.run(["docker", "--context", context, *kind], capture_output=True,
                              text=True, check=True)  # fmt: skip
        found += done.stdout.split()
    return found


@pytest.mark.parametrize("arrangement", ["load-on-b", "workers-on-both"])
def test_an_arrangement_agrees_with_one_engine(runs, arrangement):
    code, markdown, err = finish(loadlab("compare", str(runs["one"]), str(runs[arrangement])))
    assert code == 0, err
    rows = [line for line in markdown.splitlines() if line.startswith("| uvicorn")]
    assert len(rows) == 2 and all(r.count("no significant change") == 2 for r in rows), markdown


@pytest.mark.parametrize("arrangement", ["one", "load-on-b", "workers-on-both"])
def test_every_point_has_telemetry_from_every_container(runs, arrangement):
    """The target's CPU and the workers' CPU on every point, whichever engine they ran on."""
    workers = 2
    for point in points(runs[arrangement]):
        if point["status"] not in ("ok", "unsteady"):
            continue
        telemetry = point["telemetry"]
        assert telemetry["target"]["cpu_cores"] > 0
        assert len(telemetry["locust"]) == workers, telemetry["locust"].keys()
        assert all(w["cpu_cores"] > 0 for w in telemetry["locust"].values())


def test_the_run_records_its_engines_images_and_clocks(runs, engine2):
    meta = json.loads((runs["workers-on-both"] / "run.json").read_text())["metadata"]
    engines = meta["engines"]
    assert engines["arrangement"]["load"] == [engine2["context"], "default"]
    locust = engines["images"]["loadlab/locust:latest"]
    assert len(set(locust.values())) == 1 and len(locust) == 3  # current, engine2, default
    clock = {c["engine"]: c for c in engines["clocks"]}
    assert set(clock) == {engine2["context"], "default"}
    # One kernel, one clock: the offset is zero within its own uncertainty (a round trip).
    for c in clock.values():
        assert abs(c["offset_s"]) <= c["uncertainty_s"] + 0.002, c
    assert all(e["ncpu"] and e["cpu_model"] for e in engines["engines"].values())
    one = json.loads((runs["one"] / "run.json").read_text())["metadata"]
    assert "engines" not in one  # one engine: the fingerprint it always had
