"""The nightly gate on fixture runs: baseline recording and the verdict's exit conditions."""

from __future__ import annotations

import pytest

from loadlab import nightly
from loadlab.errors import LabError
from loadlab.matrix import Point
from loadlab.results import Run

ENV = {"host_cpu_model": "Xeon", "host_cpu_count": 2, "python_version": "3.11.7"}


def fixture_run(directory, rps: float, *, status: str = "ok", metadata=None) -> Run:
    """A run of two points (one key, two repeats) with the given throughput."""
    matrix = [Point("uvicorn", "io/sync", 1.0, 40, r) for r in (1, 2)]
    run = Run.create(directory, {"profile": "nightly"}, matrix)
    run.metadata = dict(ENV if metadata is None else metadata)
    for i, result in enumerate(run.points.values()):
        result.status = status
        result.stats = {"rps": rps + i * 0.1, "p95_ms": 210.0 + i * 0.1, "requests": 100}
    run.save()
    return Run.load(directory)


def test_baseline_copies_the_results_into_the_repository_folder(tmp_path):
    """make baseline copies run.json and summary.csv, which Run.load then reads back."""
    fixture_run(tmp_path / "run", 200.0)
    nightly.record_baseline(tmp_path / "run", tmp_path / "baseline")
    assert {p.name for p in (tmp_path / "baseline").iterdir()} == {"run.json", "summary.csv"}
    assert len(Run.load(tmp_path / "baseline").points) == 2


def test_a_run_without_measurements_cannot_be_the_baseline(tmp_path):
    """A run whose points all failed is refused as a baseline."""
    fixture_run(tmp_path / "run", 200.0, status="failed")
    with pytest.raises(LabError, match="no successfully measured point"):
        nightly.record_baseline(tmp_path / "run", tmp_path / "baseline")


def test_same_numbers_pass_the_gate(tmp_path):
    """An unchanged run passes and its summary says so."""
    nightly.record_baseline(fixture_run(tmp_path / "a", 200.0).directory, tmp_path / "base")
    verdict = nightly.judge(fixture_run(tmp_path / "b", 200.0), tmp_path / "base")
    assert verdict.passed and "Gate passed" in verdict.markdown
    assert (tmp_path / "b" / nightly.SUMMARY).exists() and (tmp_path / "b/compare.html").exists()


def test_halved_throughput_fails_the_gate(tmp_path):
    """A point at half the baseline's throughput is a regression and fails the gate."""
    nightly.record_baseline(fixture_run(tmp_path / "a", 200.0).directory, tmp_path / "base")
    verdict = nightly.judge(fixture_run(tmp_path / "b", 100.0), tmp_path / "base")
    assert not verdict.passed and verdict.regressions == 1
    assert "2.00x slower" in verdict.markdown


def test_a_baseline_from_another_machine_is_not_comparable(tmp_path):
    """A baseline from another CPU model gives no verdict but a loud, explained summary."""
    other = {**ENV, "host_cpu_model": "EPYC"}
    nightly.record_baseline(
        fixture_run(tmp_path / "a", 200.0, metadata=other).directory, tmp_path / "base"
    )
    verdict = nightly.judge(fixture_run(tmp_path / "b", 200.0), tmp_path / "base")
    assert not verdict.comparable and not verdict.passed
    assert "host_cpu_model" in verdict.markdown and "make baseline RUN=" in verdict.markdown


def test_a_missing_baseline_is_not_comparable(tmp_path):
    """With no baseline recorded the summary says how to record one."""
    verdict = nightly.judge(fixture_run(tmp_path / "b", 200.0), tmp_path / "nowhere")
    assert not verdict.comparable and "make baseline RUN=" in verdict.markdown
