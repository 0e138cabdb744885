"""The nightly store: one directory that outlives a CI job, holding a baseline per machine.

On GitHub it is an actions/cache entry restored by key prefix (the newest one wins) and
saved under a new key after every night; anywhere else it is just a folder. Layout:

    <store>/baselines/<fingerprint id>/run.json     the run later nights are judged against
    <store>/baselines/<fingerprint id>/summary.csv
    <store>/baselines/<fingerprint id>/fingerprint.json
    <store>/history.jsonl                            every night's points (history.py)
    <store>/history.html                             the trend page (trend.py)

Every file is written durably (durable.write_atomic), so a job cancelled mid-write leaves the
previous baseline whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from loadlab.durable import write_atomic
from loadlab.errors import LabError
from loadlab.judge.fingerprint import Fingerprint
from loadlab.results import Run

FINGERPRINT = "fingerprint.json"


@dataclass(frozen=True)
class Store:
    root: Path

    @property
    def history(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def page(self) -> Path:
        return self.root / "history.html"

    def baseline_dir(self, fp: Fingerprint) -> Path:
        return self.root / "baselines" / fp.id

    def baseline(self, fp: Fingerprint) -> Run | None:
        """The run recorded for this machine, or None on its first night."""
        directory = self.baseline_dir(fp)
        if not (directory / "run.json").exists():
            return None
        return Run.load(directory)

    def record(self, run: Run, fp: Fingerprint) -> Path:
        """Make ``run`` the baseline of its machine, replacing the one there."""
        directory = self.baseline_dir(fp)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            summary = run.write_summary().read_text()
            write_atomic(directory / "run.json", run.path.read_text())
        except OSError as exc:
            raise LabError(f"cannot record the baseline in {directory}: {exc}") from None
        write_atomic(directory / "summary.csv", summary)
        write_atomic(directory / FINGERPRINT, json.dumps(fp.to_json(), indent=1) + "\n")
        return directory
