"""The command line: bad input is one line on stderr and exit 2, before anything starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadlab.measure.stats import WindowStats


def loadlab(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadlab", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", "--cpus", "0"],
        ["sweep", "--users", "x"],
        ["sweep", "--profile", "nope"],
        ["sweep", "--variants", "apache"],
        ["sweep", "--resume", "nowhere"],
    ],
)
def test_bad_sweep_input_fails_fast_with_one_line(tmp_path, args):
    """Bad sweep input exits 2 with one `error:` line and creates no run directory."""
    done = loadlab(*args, "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert not (tmp_path / "reports").exists()


def test_dry_run_prints_the_plan(tmp_path):
    """--dry-run validates and prints the number of points without touching Docker."""
    done = loadlab("sweep", "--dry-run", "--profile", "smoke", cwd=tmp_path)
    assert done.returncode == 0 and "4 points" in done.stdout


def test_report_of_a_missing_run_is_an_error(tmp_path):
    """`loadlab report` on a directory without run.json says so in one line, exit 1."""
    done = loadlab("report", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: ")


def test_a_plan_past_the_measured_harness_ceiling_is_warned_about(tmp_path):
    """With a bench run that drove 300 rps, io/async at 120 users (600/s possible) is named."""
    from loadlab.plan.config import SweepConfig, resolve
    from loadlab.plan.matrix import Point
    from loadlab.results import Run
    from loadlab.workflow import ceiling_warnings, harness_ceiling

    bench = Run.create(tmp_path / "bench-1", {}, [Point("uvicorn", "health", 1.0, 10, 1)])
    (only,) = bench.points.values()
    only.status, only.stats = "ok", WindowStats(requests=3000, failures=0, rps=300.0)
    bench.metadata["harness_ceiling_rps"] = harness_ceiling(bench)
    bench.save()
    plan = resolve(SweepConfig.from_strings({"out": str(tmp_path), "users": "10,120"}), [0, 1])
    (warning,) = ceiling_warnings(plan)
    assert "300 requests/s" in warning and "bench-1" in warning and "at 120" in warning
