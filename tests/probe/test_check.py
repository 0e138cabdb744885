"""python3 -m loadlab.probe check: does the image hold what a variant's server needs?"""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadlab.probe.check import missing
from tests.probe.conftest import probe_env


def check(*names: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loadlab.probe", "check", *names],
        env=probe_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_every_need_present_exits_0_silently():
    """uvicorn, gunicorn, uvicorn_worker and anyio are all in this venv: exit 0, no output."""
    done = check("uvicorn", "gunicorn", "uvicorn_worker", "anyio")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_missing_module_exits_3_naming_its_pip_name():
    """What does not import is named in one line, and the status is 3."""
    done = check("uvicorn", "no_such_module_xyz", "uvicorn_worker", "no_such_either")
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "error: this image lacks no_such_module_xyz, no_such_either (pip names)"
    ]


def test_missing_lists_pip_names_in_order(monkeypatch):
    """missing() keeps the order given and says uvicorn_worker as pip does, uvicorn-worker."""
    assert missing(["zz_absent", "json", "uvicorn_worker"]) == ["zz_absent"]
    monkeypatch.setattr("loadlab.probe.check._imports", lambda name: name == "json")
    assert missing(["gunicorn", "json", "uvicorn_worker"]) == ["gunicorn", "uvicorn-worker"]


@pytest.mark.parametrize("argv", [["check"], ["frobnicate"], ["serve", "extra"]])
def test_a_wrong_command_line_exits_2_with_the_usage(argv):
    """No module to check, or an unknown command: the usage line, status 2."""
    done = subprocess.run([sys.executable, "-m", "loadlab.probe", *argv], env=probe_env(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["usage: python3 -m loadlab.probe [serve | check MODULE...]"]
