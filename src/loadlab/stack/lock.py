"""One lab at a time per checkout.

Two sweeps at once would share one Compose project, its ports and the very CPUs being
measured: each would ruin the other's numbers. So a run holds an exclusive flock on
``<root>/.loadlab.lock`` while it works. The kernel releases a flock when its holder dies,
however it dies (Ctrl-C, SIGKILL, a crash), so a dead run never leaves the lab locked; the
file itself may stay, and only says who holds it, to name the run in progress in the refusal.
Never delete it by hand: a run that opens a new file would lock that one beside the old holder.

The descriptor is not inherited by the commands the lab runs (Python opens it close-on-exec),
so a `docker compose` child cannot keep the lock alive after its parent is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from loadlab.errors import ConfigError, LabError

LOCK_NAME = ".loadlab.lock"


@contextlib.contextmanager
def hold(root: str | os.PathLike[str], what: str) -> Iterator[Path]:
    """Hold the lab's lock while the block runs; ConfigError (one line) if a run holds it.

    ``what`` names this run for a second user, e.g. "sweep reports/20261121-092732-default".
    """
    path = Path(root) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LabError(f"cannot open the lab's lock {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(_refusal(fd, path)) from None
        _write(fd, holder(what))
        try:
            yield path
        finally:
            # Say nobody holds it any more; closing the descriptor below releases the flock.
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def holder(what: str) -> dict:
    """What the lock file says about the run holding it."""
    return {
        "pid": os.getpid(),
        "what": " ".join(what.split()),  # one line, whatever the caller passed
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _write(fd: int, record: dict) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)


def _refusal(fd: int, path: Path) -> str:
    try:
        record = json.loads(os.pread(fd, 4096, 0))
        run = f"{record['what']} (pid {record['pid']}, started {record['started_at']})"
    except (OSError, ValueError, TypeError, KeyError):
        # Locked between its holder's flock and its write, or written by hand: still refused.
        run = f"a run holding {path}"
    return f"another lab is running in this checkout: {run}; wait for it or stop it"
