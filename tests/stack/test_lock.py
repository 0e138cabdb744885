"""One lab at a time: a second holder is refused by name, and a dead holder never blocks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from loadlab.errors import ConfigError
from loadlab.stack.lock import LOCK_NAME, hold

# A holder in another process that says when it holds the lock, then waits to be killed.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from loadlab.stack.lock import hold
    with hold(sys.argv[1], "sweep reports/crashing"):
        print("held", flush=True)
        time.sleep(600)
    """
)


@pytest.fixture
def holder(tmp_path) -> Iterator[subprocess.Popen]:
    """Another process holding the lock of ``tmp_path``; killed at the end if still alive."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout.readline() == "held\n"
        yield proc
        proc.kill()


def test_holder_is_recorded_in_the_lock_file(tmp_path):
    """While held, the lock file names the pid, the run and when it started."""
    with hold(tmp_path, "sweep reports/20261121-092732-default") as path:
        record = json.loads(path.read_text())
    assert path == tmp_path / LOCK_NAME
    assert record["pid"] == os.getpid()
    assert record["what"] == "sweep reports/20261121-092732-default"
    assert record["started_at"].endswith("+00:00")


def test_second_holder_is_refused_in_one_line_naming_the_run(tmp_path):
    """A second hold while the first runs is a one-line ConfigError naming the run in progress."""
    with (
        hold(tmp_path, "sweep reports/first"),
        pytest.raises(ConfigError) as caught,
        hold(tmp_path, "nightly"),
    ):
        pytest.fail("the second holder must not get the lock")
    message = str(caught.value)
    assert "sweep reports/first" in message and f"pid {os.getpid()}" in message
    assert "\n" not in message


def test_lock_is_free_again_after_the_block(tmp_path):
    """Leaving the block, normally or by an exception, lets the next run take the lock."""
    with hold(tmp_path, "sweep a"):
        pass
    with pytest.raises(RuntimeError), hold(tmp_path, "sweep b"):
        raise RuntimeError("the sweep failed")
    with hold(tmp_path, "sweep c"):
        pass
    assert (tmp_path / LOCK_NAME).read_text() == ""  # nobody claims it any more


def test_what_is_kept_on_one_line(tmp_path):
    """A multi-line description is folded, so the refusal stays one line."""
    with (
        hold(tmp_path, "sweep\nreports/x"),
        pytest.raises(ConfigError) as caught,
        hold(tmp_path, "up"),
    ):
        pass
    assert "sweep reports/x" in str(caught.value) and "\n" not in str(caught.value)


def test_another_process_holding_it_refuses_us(tmp_path, holder):
    """A lock held by a live process elsewhere refuses this one and names that run and its pid."""
    expected = rf"sweep reports/crashing \(pid {holder.pid},"
    with pytest.raises(ConfigError, match=expected), hold(tmp_path, "sweep"):
        pass


def test_sigkilled_holder_never_leaves_the_lab_locked(tmp_path, holder):
    """After its holder is SIGKILLed (no clean-up ran), the lock is free at once."""
    os.kill(holder.pid, signal.SIGKILL)
    assert holder.wait() == -signal.SIGKILL
    # The dead run's record is still in the file: only the kernel's flock decides.
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == holder.pid
    started = time.monotonic()
    with hold(tmp_path, "sweep after the crash") as path:
        assert json.loads(path.read_text())["what"] == "sweep after the crash"
    assert time.monotonic() - started < 1  # not a timeout that happened to expire


def test_unreadable_record_is_still_refused(tmp_path):
    """A lock held while its file holds no valid record is refused with a generic name."""
    with hold(tmp_path, "sweep") as path:
        path.write_text("not json")
        refused = pytest.raises(ConfigError, match="another lab is running in this checkout")
        with refused, hold(tmp_path, "up"):
            pass
