"""The nightly GitHub workflow is valid, runs `make nightly`, and keeps its store in the cache."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loadlab.judge import gate

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
SUMMARY_SCRIPT = ROOT / "scripts" / "nightly-summary.sh"


def actionlint() -> str:
    found = Path(sys.executable).parent / "actionlint"
    return str(found) if found.exists() else shutil.which("actionlint") or "actionlint"


@pytest.mark.parametrize("name", ["nightly.yml", "test.yml"])
def test_every_workflow_passes_actionlint(name):
    """actionlint finds no problem in the workflow."""
    path = ROOT / ".github" / "workflows" / name
    done = subprocess.run(
        [actionlint(), str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_nightly_workflow_is_scheduled_and_runs_make_nightly():
    """The workflow has a cron schedule, manual dispatch, and runs `make nightly`."""
    text = WORKFLOW.read_text()
    assert "schedule:" in text and "cron:" in text and "workflow_dispatch:" in text
    assert "run: make nightly" in text and "run: scripts/nightly-summary.sh" in text
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


def test_the_store_is_restored_by_prefix_and_saved_under_a_new_key():
    """The cache step restores the newest store by prefix and saves the same folder, always."""
    text = WORKFLOW.read_text()
    store = gate.STORE.relative_to(ROOT).as_posix()
    assert text.count(f"path: {store}") == 2
    assert "uses: actions/cache/restore@" in text and "uses: actions/cache/save@" in text
    keys = re.findall(r"^\s+key: (.+)$", text, re.MULTILINE)
    assert len(keys) == 2 and keys[0] == keys[1] and "github.run_id" in keys[0]
    (prefix,) = re.findall(r"restore-keys: (.+)$", text, re.MULTILINE)
    assert keys[0].startswith(prefix)
    assert f"hashFiles('{store}/history.jsonl')" in text


def test_the_workflow_runs_only_the_repositorys_own_commands():
    """Beyond checkout and the cache, every step runs make or a script of this repository."""
    runs = re.findall(r"^\s+run: (.+)$", WORKFLOW.read_text(), re.MULTILINE)
    assert runs == [
        "docker version && docker compose version",
        "make nightly",
        "scripts/nightly-summary.sh reports",
        "make down",
    ]
    assert "REBASELINE: ${{ inputs.rebaseline }}" in WORKFLOW.read_text()


def summary_script(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SUMMARY_SCRIPT), str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


def test_the_summary_script_appends_the_verdict_to_the_job_page(tmp_path):
    """The job page gets nightly-summary.md of reports/latest, appended to what is there."""
    run = tmp_path / "reports" / "20261121-031700-nightly"
    run.mkdir(parents=True)
    (run / "nightly-summary.md").write_text("# Nightly\n\n**Gate passed:** ...\n")
    (tmp_path / "reports" / "latest").symlink_to(run.name)
    page = tmp_path / "step-summary.md"
    page.write_text("earlier step\n")
    done = summary_script(tmp_path, {"GITHUB_STEP_SUMMARY": str(page)})
    assert done.returncode == 0, done.stderr
    assert page.read_text() == "earlier step\n# Nightly\n\n**Gate passed:** ...\n"


def test_the_summary_script_says_when_there_is_no_verdict(tmp_path):
    """A job that died before the gate gets a line saying so; outside Actions it refuses."""
    page = tmp_path / "step-summary.md"
    done = summary_script(tmp_path, {"GITHUB_STEP_SUMMARY": str(page)})
    assert done.returncode == 0 and "stopped before the gate" in page.read_text()
    done = summary_script(tmp_path, {})
    assert done.returncode != 0 and "GITHUB_STEP_SUMMARY" in done.stderr


TEST_WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"


def test_test_workflow_runs_make_test_on_every_push_and_pull_request():
    """The suite runs on push and pull_request, as `make test`, the command CI runs."""
    text = TEST_WORKFLOW.read_text()
    assert re.search(r"^on:\n  push:\n  pull_request:", text, re.MULTILINE)
    runs = re.findall(r"^\s+run: (.+)$", text, re.MULTILINE)
    assert "make test" in runs
    assert "make test" in (ROOT / ".ci" / "run").read_text()
