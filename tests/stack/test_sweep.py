"""`loadlab sweep` for real: containers, Locust, the model check, the report in Chromium,
Ctrl-C with nothing left behind, RESUME, and the A/A comparison."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadlab.results import SUMMARY_COLUMNS

from .conftest import PROJECT, RANDOM_PORTS, leftovers

pytestmark = pytest.mark.docker

# The model ignores per-request overhead (a millisecond or two on a 200 ms sleep) and the
# measured window holds a few hundred requests, so I/O points agree to within a few per cent;
# 10 % leaves room for a busy CI machine without letting a wrong pool size (a 2x error) pass.
MODEL_TOLERANCE = 0.10
METADATA_KEYS = {
    "git_sha",
    "lock_sha256",
    "images",
    "docker_version",
    "compose_version",
    "locust_version",
    "python_version",
    "host_cpu_model",
    "host_cpu_count",
    "started_at",
    "finished_at",
}


def sweep_env() -> dict[str, str]:
    return {**os.environ, "COMPOSE_PROJECT_NAME": PROJECT, **RANDOM_PORTS}


def loadlab(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loadlab", *args],
        env=sweep_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, stack):
    """One real smoke sweep (PROFILE=smoke), shared by the checks below."""
    out = tmp_path_factory.mktemp("reports")
    code, _, stderr = finish(loadlab("sweep", "--profile", "smoke", "--out", str(out)))
    assert code == 0, stderr
    return out / "latest"


def rows(run: Path) -> list[dict]:
    with (run / "summary.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_smoke_sweep_writes_the_summary_contract(smoke):
    """summary.csv has the contract's columns and one ok row per point."""
    with (smoke / "summary.csv").open(newline="") as f:
        assert csv.DictReader(f).fieldnames[:16] == SUMMARY_COLUMNS[:16]
    assert len(rows(smoke)) == 4 and {r["status"] for r in rows(smoke)} == {"ok"}


def test_io_points_agree_with_the_queueing_model(smoke):
    """Every I/O point's throughput and mean latency are within 10 % of min(U, P) / S."""
    for row in rows(smoke):
        assert int(row["failures"]) == 0 and int(row["requests"]) > 100
        rps, predicted = float(row["rps"]), float(row["predicted_rps"])
        assert abs(rps - predicted) <= MODEL_TOLERANCE * predicted, row
        mean, predicted_mean = float(row["mean_ms"]), float(row["predicted_mean_ms"])
        assert abs(mean - predicted_mean) <= MODEL_TOLERANCE * predicted_mean, row


def test_run_json_records_the_environment_and_each_runtime(smoke):
    """run.json has the matrix, the metadata, and per point the /runtime seen inside."""
    data = json.loads((smoke / "run.json").read_text())
    assert data["version"] == 1 and len(data["matrix"]) == 4
    assert set(data["metadata"]) >= METADATA_KEYS
    for point in data["points"]:
        assert point["runtime"]["cpu_quota"] == point["cpus"]
        assert point["runtime"]["work_seconds"] == 0.2


def test_each_point_keeps_locusts_own_reports(smoke):
    """points/<id>/ holds Locust's report.html, stats.csv, stats_history.csv and failures.csv."""
    for row in rows(smoke):
        files = {p.name for p in (smoke / "points" / row["point_id"]).iterdir()}
        assert {"report.html", "stats.csv", "stats_history.csv", "failures.csv"} <= files


def test_report_renders_in_headless_chromium_with_its_plots(smoke, tmp_path):
    """index.html, opened offline by headless Chromium, has its charts and model lines."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is missing: `make test` installs it"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = (smoke / "index.html").resolve().as_uri()
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count('class="chart"') >= 2
    assert 'class="measured"' in dom and 'class="predicted"' in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", "--window-size=1400,2000", url],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 20_000  # a blank page is a few kB


def test_report_re_renders_from_disk(smoke):
    """`loadlab report` rebuilds summary.csv and index.html from run.json alone."""
    before = (smoke / "summary.csv").read_text()
    (smoke / "summary.csv").unlink()
    (smoke / "index.html").unlink()
    code, _, err = finish(loadlab("report", str(smoke)))
    assert code == 0, err
    assert (smoke / "summary.csv").read_text() == before and (smoke / "index.html").exists()


def _wait_for_ok_point(run_json: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run_json.exists():
            points = json.loads(run_json.read_text())["points"]
            if any(p["status"] == "ok" for p in points):
                return
        time.sleep(0.5)
    raise AssertionError("no point finished in time")


def test_ctrl_c_keeps_finished_points_and_resume_finishes_the_run(stack, tmp_path):
    """SIGINT mid-sweep exits 130 with containers gone and points kept; RESUME completes it."""
    args = [
        "--profile",
        "smoke",
        "--endpoints",
        "io/async",
        "--users",
        "5,10,15",
        "--duration",
        "2",
        "--warmup",
        "1",
        "--out",
        str(tmp_path),
        "--run-id",
        "cut",
    ]
    proc = loadlab("sweep", *args)
    _wait_for_ok_point(tmp_path / "cut" / "run.json")
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert leftovers() == []
    statuses = [p["status"] for p in json.loads((tmp_path / "cut/run.json").read_text())["points"]]
    assert "ok" in statuses and "pending" in statuses
    assert (tmp_path / "cut" / "index.html").exists()
    code, _, err = finish(loadlab("sweep", "--resume", str(tmp_path / "cut")))
    assert code == 0, err
    statuses = [p["status"] for p in json.loads((tmp_path / "cut/run.json").read_text())["points"]]
    assert statuses == ["ok"] * 3


def test_a_a_comparison_shows_no_significant_change(stack, tmp_path):
    """Two back-to-back runs of the same small matrix compare as 'no significant change'."""
    args = [
        "--profile",
        "smoke",
        "--endpoints",
        "io/sync",
        "--users",
        "10,60",
        "--duration",
        "4",
        "--repeats",
        "2",
        "--out",
        str(tmp_path),
    ]
    for run_id in ("a", "b"):
        code, _, err = finish(loadlab("sweep", *args, "--run-id", run_id))
        assert code == 0, err
    code, markdown, err = finish(loadlab("compare", str(tmp_path / "a"), str(tmp_path / "b")))
    assert code == 0, err
    table = [line for line in markdown.splitlines() if line.startswith("| uvicorn")]
    assert len(table) == 2 and all(line.count("no significant change") == 2 for line in table)
    assert (tmp_path / "b" / "compare.html").exists()
