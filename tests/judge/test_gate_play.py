"""Four nights through the command line, against a local folder standing in for the CI cache.

The play of the issue: night 1 on machine X records its baseline (exit 0, a notice); night 2
on X is judged and passes; night 3 on X runs code whose io/sync work takes 20 % longer (new
git sha and target image, same settings) and fails naming the series (exit 1); night 4 on
machine Y records its own baseline (exit 0). Recorded runs stand in for the sweeps: the gate
reads only run.json, which is what a real sweep would hand it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loadlab.judge import fingerprint, gate, history
from loadlab.report import nightly_summary
from loadlab.results import Run
from tests.judge import runs_fixture as fx

SLOWER_CODE = {"git_sha": "c" * 40, "images": {"target": "sha256:slow", "locust": "sha256:lll"}}


def loadlab_nightly(run: Run, store: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITHUB_ACTIONS": "true"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "loadlab",
            "nightly",
            "--judge",
            str(run.directory),
            "--store",
            str(store),
            "--baseline",
            str(tmp_path / "no-committed-baseline"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_four_nights_on_two_machines(tmp_path: Path) -> None:
    """Record on X, pass on X, fail on X's slower code naming io/sync, record on Y."""
    cache = tmp_path / "cache"
    reports = tmp_path / "reports"
    runs = [
        fx.write(reports / "night1", fx.grid()),
        fx.write(reports / "night2", fx.grid()),
        fx.write(reports / "night3", fx.grid(slower={"io/sync": 1.2}), metadata=SLOWER_CODE),
        fx.write(reports / "night4", fx.grid(), metadata=fx.HOST_Y),
    ]
    x, y = fingerprint.of(runs[0]), fingerprint.of(runs[3])
    assert fingerprint.of(runs[2]).id == x.id != y.id  # code changed, the machine did not

    one = loadlab_nightly(runs[0], cache, tmp_path)
    assert one.returncode == 0, one.stderr
    assert "Gate passed, first night on this machine" in one.stdout
    assert "::notice title=Nightly%3A new baseline::" in one.stdout and x.id in one.stdout

    two = loadlab_nightly(runs[1], cache, tmp_path)
    assert two.returncode == 0, two.stderr
    assert "**Gate passed:**" in two.stdout and "against night1" in two.stdout

    three = loadlab_nightly(runs[2], cache, tmp_path)
    assert three.returncode == 1, three.stderr
    assert three.stderr.startswith("error: the nightly gate failed")
    assert "**Gate FAILED:** 2 confirmed regression(s), 0 failure(s), against night2" in (
        three.stdout
    )
    assert (
        "::error title=Nightly gate::uvicorn io/sync cpus=1 users=10: rps 1.20x slower"
        in three.stdout
    )
    assert "::error title=Nightly gate::uvicorn io/sync cpus=1 users=80: rps 1.20x slower" in (
        three.stdout
    )
    assert "uvicorn io/async" not in three.stdout.split("## What failed the gate")[1].split("##")[0]
    assert "git_sha: " + "a" * 40 + " (A) vs " + "c" * 40 + " (B)" in three.stdout

    four = loadlab_nightly(runs[3], cache, tmp_path)
    assert four.returncode == 0, four.stderr
    assert "first night on this machine" in four.stdout and y.id in four.stdout

    baselines = {p.name: gate.recorded_id(Run.load(p)) for p in (cache / "baselines").iterdir()}
    assert baselines == {x.id: "night2", y.id: "night4"}  # night 3 replaced nothing
    lines = history.load(cache / "history.jsonl")
    assert [n for n in dict.fromkeys(line["night"] for line in lines)] == [
        "night1",
        "night2",
        "night3",
        "night4",
    ]
    assert {line["outcome"] for line in lines if line["night"] == "night3"} == {"failed"}
    page = (cache / "history.html").read_text()
    assert x.id in page and y.id in page and page.count("<svg") == 8
    for run in runs:
        written = (nightly_summary.SUMMARY, nightly_summary.VERDICT)
        assert all((run.directory / name).exists() for name in written)


def test_a_night_without_a_readable_baseline_exits_3(tmp_path: Path) -> None:
    """An unreadable stored baseline: the summary on stdout says how to replace it, exit 3."""
    cache, reports = tmp_path / "cache", tmp_path / "reports"
    first = fx.write(reports / "night1", fx.grid())
    assert loadlab_nightly(first, cache, tmp_path).returncode == 0
    (cache / "baselines" / fingerprint.of(first).id / "run.json").write_text("{")
    done = loadlab_nightly(fx.write(reports / "night2", fx.grid()), cache, tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stderr == "error: no comparable baseline; see the summary\n"
    assert "**Gate FAILED, no comparison:**" in done.stdout and "REBASELINE=1" in done.stdout
    summary = reports / "night2" / nightly_summary.SUMMARY
    assert f"summary: {summary}" in done.stdout and summary.read_text() in done.stdout


def test_a_missing_run_is_one_error_line(tmp_path: Path) -> None:
    """Judging a folder without run.json fails in one line, exit 1, and keeps nothing."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadlab",
            "nightly",
            "--judge",
            str(tmp_path / "none"),
            "--store",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ") and not (tmp_path / "cache").exists()
