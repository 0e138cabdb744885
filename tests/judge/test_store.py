"""The nightly store: where a machine's baseline is kept, and what recording one writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadlab.errors import LabError
from loadlab.judge import fingerprint
from loadlab.judge.store import Store
from tests.judge import runs_fixture as fx


def test_recording_writes_the_run_its_summary_and_its_fingerprint(tmp_path: Path) -> None:
    """A recorded baseline is run.json, summary.csv and fingerprint.json under the machine's id;
    fingerprint.json names the machine as the fingerprint does, and the run reads back."""
    run = fx.write(tmp_path / "n1", fx.grid())
    fp, store = fingerprint.of(run), Store(tmp_path / "store")
    directory = store.record(run, fp)
    assert directory == tmp_path / "store" / "baselines" / fp.id
    assert {p.name for p in directory.iterdir()} == {"run.json", "summary.csv", "fingerprint.json"}
    assert (directory / "summary.csv").read_text() == run.write_summary().read_text()
    written = json.loads((directory / "fingerprint.json").read_text())
    assert written["id"] == fp.id and written["label"] == fp.label
    assert written["components"] == fp.components
    assert set(store.baseline(fp).points) == set(run.points)


def test_a_machine_without_a_baseline_has_none(tmp_path: Path) -> None:
    """On a machine's first night the store has no run for its fingerprint."""
    run = fx.write(tmp_path / "n1", fx.grid())
    assert Store(tmp_path / "store").baseline(fingerprint.of(run)) is None


def test_a_store_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    """A store whose folder is not writable (here: a file) fails in one LabError naming it."""
    run = fx.write(tmp_path / "n1", fx.grid())
    (tmp_path / "store").write_text("not a folder")
    with pytest.raises(LabError, match=r"cannot record the baseline in .*store/baselines/"):
        Store(tmp_path / "store").record(run, fingerprint.of(run))
