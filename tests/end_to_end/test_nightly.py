"""`loadlab nightly` for real, without --judge: its own sweep, then the gate, which re-measures a
regressed point on a fresh container and window (``Sweep.remeasure``, never a stub) before
it fails the job."""

from __future__ import annotations

import json

import pytest

from tests.containers import leftovers
from tests.end_to_end.test_sweep import finish, loadlab

pytestmark = pytest.mark.docker


def test_a_regression_is_measured_again_for_real_and_stands(stack, tmp_path):
    """The first night becomes the store's baseline; doubled there (a past that served twice
    the throughput), the second night regresses, the gate measures that point again in a
    fresh Locust run whose own status is kept beside its numbers, the regression stands on
    the fresh window, and the night exits 1 with nothing left running."""
    store = tmp_path / "store"
    args = ["--profile", "smoke", "--endpoints", "io/sync", "--users", "10", "--warmup", "4",
            "--duration", "6", "--out", str(tmp_path), "--store", str(store),
            "--baseline", str(tmp_path / "none")]  # fmt: skip
    code, out, err = finish(loadlab("nightly", *args, "--run-id", "first"))
    first_night = json.loads((tmp_path / "first" / "nightly.json").read_text())
    assert code == 0 and first_night["outcome"] == "recorded", out + err
    (kept,) = store.rglob("run.json")
    past = json.loads(kept.read_text())
    for point in past["points"]:
        stats = point["stats"]
        stats["rps"], stats["rps_ci"] = stats["rps"] * 2, [c * 2 for c in stats["rps_ci"]]
    kept.write_text(json.dumps(past))

    code, out, err = finish(loadlab("nightly", *args, "--run-id", "second"))
    assert code == 1, out + err
    night = tmp_path / "second"
    verdict = json.loads((night / "nightly.json").read_text())
    assert verdict["outcome"] == "failed" and verdict["source"] == "store"
    (recheck,) = verdict["rechecks"]
    assert recheck["confirmed"] and recheck["second"]["rps"]["ratio"] < 0.6, recheck
    (point_id,) = verdict["remeasured"]
    fresh = verdict["remeasured"][point_id]
    assert fresh["status"] == "ok" and fresh["requests"] > 0  # trusted by its own status
    assert list((night / "remeasured" / point_id).glob("*")), "no fresh Locust run on disk"
    first = json.loads((night / "run.json").read_text())["points"][0]["stats"]
    # A fresh window, not the first one copied: the same physics, other numbers.
    assert fresh["rps"] != first["rps"] and fresh["rps"] == pytest.approx(first["rps"], rel=0.1)
    assert leftovers() == []
