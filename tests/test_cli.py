"""The command line: bad input is one line on stderr and exit 2, before anything starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loadlab.measure.stats import WindowStats
from loadlab.stack import lock

CHECKOUT = Path(__file__).resolve().parents[1]


def loadlab(*args: str, cwd, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadlab", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


def checkout_of_its_own(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """This checkout's code copied under ``tmp_path``, and the environment that runs it: the
    lock is per checkout (compose.ROOT), so the test neither meets nor blocks a real lab."""
    root = tmp_path / "checkout"
    for part in ("src", "services"):
        shutil.copytree(CHECKOUT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    path = os.pathsep.join(str(root / part) for part in ("src", "services"))
    return root, {**os.environ, "PYTHONPATH": path}


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


def test_a_second_lab_in_the_checkout_is_refused_until_the_first_ends(tmp_path):
    """While a run holds the checkout's lock, even a dry run exits 2 with one `error:` line
    naming that run; once it is released the same dry run exits 0."""
    root, env = checkout_of_its_own(tmp_path)
    dry_run = ("sweep", "--dry-run", "--profile", "smoke")
    with lock.hold(root, "sweep reports/held-by-the-test"):
        refused = loadlab(*dry_run, cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: another lab is running in this checkout: ")
    assert f"sweep reports/held-by-the-test (pid {os.getpid()}, started " in refused.stderr
    assert refused.stdout == ""  # the plan is not printed under another run's lock
    released = loadlab(*dry_run, cwd=tmp_path, env=env)
    assert released.returncode == 0 and "4 points" in released.stdout


def test_the_nightly_takes_a_target(tmp_path):
    """`make nightly TARGET=...` plans the nightly sweep of that app (its endpoints, its knobs)."""
    root, env = checkout_of_its_own(tmp_path)
    shutil.copytree(CHECKOUT / "tests" / "apps", root / "tests" / "apps")
    (root / "pyproject.toml").write_text((CHECKOUT / "pyproject.toml").read_text())
    done = loadlab("nightly", "--dry-run", "--target", "tests/apps/blocking", "--out",
                   str(tmp_path / "out"), cwd=root, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "4 series" in done.stdout and "nightly" in done.stdout
