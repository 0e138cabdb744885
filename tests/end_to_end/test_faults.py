"""Faults survived: a Locust worker killed mid-run, a full disk, SIGTERM while starting.

Each leaves nothing running and loses nothing already measured (the target killed mid-run
is in test_sweep, beside the gate it must fail).
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.containers import PROJECT, leftovers
from tests.end_to_end.test_sweep import finish, loadlab

pytestmark = pytest.mark.docker


def _kill_one_worker(run_dir: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(run_dir.glob("locust/*")):
        time.sleep(0.2)
    time.sleep(9)  # Locust up (~5 s), then into the first step
    labels = [f"label=com.docker.compose.project={PROJECT}",
              "label=com.docker.compose.service=locust-worker"]  # fmt: skip
    filters = [arg for label in labels for arg in ("--filter", label)]
    ids = subprocess.run(["docker", "ps", *filters, "-q"], capture_output=True,
                         text=True).stdout.split()  # fmt: skip
    subprocess.run(["docker", "kill", ids[0]], capture_output=True)


def test_a_killed_locust_worker_fails_its_points_never_ok(stack, tmp_path):
    """A worker killed mid-run leaves incomplete samples: its run's points fail with that cause."""
    args = ["--profile", "smoke", "--endpoints", "io/async", "--users", "10", "--warmup",
            "6", "--duration", "6", "--out", str(tmp_path), "--run-id", "w"]  # fmt: skip
    proc = loadlab("sweep", *args)
    killer = threading.Thread(target=_kill_one_worker, args=(tmp_path / "w",))
    killer.start()
    code, _, err = finish(proc)
    killer.join()
    points = json.loads((tmp_path / "w" / "run.json").read_text())["points"]
    assert code == 1, err
    assert len(points) == 1 and {p["status"] for p in points} == {"failed"}
    assert all("samples incomplete: 1 of 2" in p["error"] for p in points)
    assert leftovers() == []


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs: room for the first Locust run's files, not for the second's."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_measured(stack, tiny_disk):
    """OUT filling up mid-run: one `error:` line, exit 1, the last run.json still whole."""
    args = ["--profile", "smoke", "--endpoints", "io/async,io/sync,io/threadpool",
            "--users", "10,60", "--warmup", "3", "--duration", "4", "--out", str(tiny_disk),
            "--run-id", "full"]  # fmt: skip
    code, _, err = finish(loadlab("sweep", *args))
    assert code == 1, err
    assert err.strip().splitlines()[-1].startswith("error: ")
    data = json.loads((tiny_disk / "full" / "run.json").read_text())  # never truncated
    assert len(data["points"]) == 6
    # The first group fitted: its points were saved measured, not just the all-pending start.
    measured = [p for p in data["points"] if (p.get("stats") or {}).get("requests")]
    assert measured, [p["status"] for p in data["points"]]
    assert leftovers() == []


def test_sigterm_while_starting_exits_143_and_leaves_nothing(stack, tmp_path):
    """SIGTERM while the target comes up (verify waiting for it to be ready, before any run
    is made): exit 143, no container or network left behind, no run on disk."""
    proc = loadlab("sweep", "--profile", "smoke", "--out", str(tmp_path), "--run-id", "s")
    label = f"label=com.docker.compose.project={PROJECT}"
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and not subprocess.run(
            ["docker", "ps", "-a", "-q", "--filter", label], capture_output=True, text=True
        ).stdout.strip()
    ):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # the container exists: not yet ready
    code, _, err = finish(proc)
    assert code == 143, err
    assert leftovers() == []
    assert not (tmp_path / "s").exists()
