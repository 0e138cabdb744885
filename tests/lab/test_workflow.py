"""The nightly GitHub workflow is valid and runs exactly `make nightly`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"


def actionlint() -> str:
    found = Path(sys.executable).parent / "actionlint"
    return str(found) if found.exists() else shutil.which("actionlint") or "actionlint"


def test_nightly_workflow_passes_actionlint():
    """actionlint finds no problem in .github/workflows/nightly.yml."""
    done = subprocess.run(
        [actionlint(), str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_nightly_workflow_is_scheduled_and_runs_make_nightly():
    """The workflow has a cron schedule, manual dispatch, and runs `make nightly`."""
    text = WORKFLOW.read_text()
    assert "schedule:" in text and "cron:" in text and "workflow_dispatch:" in text
    assert "run: make nightly" in text and "GITHUB_STEP_SUMMARY" in text
    assert "upload-artifact" in text and "if: always()" in text


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The check has teeth: a workflow with an unknown runner label and bad expression fails."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.nope.nope }}\n"
    )
    done = subprocess.run([actionlint(), str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
