"""Durable writes: the file is the old version or the new one, never torn, never debris beside."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadlab import durable
from loadlab.durable import write_atomic
from loadlab.errors import LabError


def _enospc(*_: object) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def unwritable(tmp_path) -> Iterator[Path]:
    """A directory this process cannot create files in, even as root (sysfs refuses root)."""
    if os.geteuid() == 0:
        yield Path("/sys")
        return
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield tmp_path
    tmp_path.chmod(stat.S_IRWXU)


def test_write_creates_the_file_with_exactly_the_text(tmp_path):
    """A new file holds the text as given (UTF-8, line endings untouched) and nothing else."""
    target = tmp_path / "summary.csv"
    write_atomic(target, "a,b\r\n1,é\r\n")
    assert target.read_bytes() == "a,b\r\n1,é\r\n".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_write_replaces_an_existing_file(tmp_path):
    """An existing file is replaced whole, by a new inode, not rewritten in place."""
    target = tmp_path / "run.json"
    target.write_text("old, and longer than the new text")
    before = target.stat().st_ino
    write_atomic(target, "new")
    assert target.read_text() == "new" and target.stat().st_ino != before


def test_new_file_gets_the_mode_a_plain_open_would_give(tmp_path):
    """The file's mode is 0o666 minus the umask, not the 0o600 of a private temp file."""
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "run.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "run.json").stat().st_mode) == 0o644


def test_data_and_directory_are_fsynced_before_returning(tmp_path, monkeypatch):
    """fsync runs on the temp file before the rename and on the directory after it."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(durable.os, "fsync", fsync)
    monkeypatch.setattr(durable.os, "replace", replace)
    write_atomic(tmp_path / "run.json", "{}")
    assert events == ["fsync-file", "replace", "fsync-dir"]


def test_disk_full_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    """ENOSPC halfway through a write is a one-line LabError; the old file is intact, no debris."""
    target = tmp_path / "run.json"
    target.write_text('{"points": ["measured"]}')
    real_write = os.write
    calls = []

    def half_then_full(fd: int, data) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])
        return _enospc()

    monkeypatch.setattr(durable.os, "write", half_then_full)
    with pytest.raises(LabError, match=r"^cannot write .*run\.json: No space left on device$"):
        write_atomic(target, '{"points": ["measured", "new"]}')
    assert len(calls) == 2  # the short write was retried, then the disk was full
    assert target.read_text() == '{"points": ["measured"]}'
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_failing_fsync_is_a_lab_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    """ENOSPC reported only at fsync (delayed allocation, NFS) still fails before the rename."""
    target = tmp_path / "summary.csv"
    target.write_text("old")
    monkeypatch.setattr(durable.os, "fsync", _enospc)
    with pytest.raises(LabError, match="No space left on device"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_unwritable_directory_is_a_one_line_lab_error(unwritable):
    """A directory the lab cannot write to gives a one-line LabError naming the file."""
    target = unwritable / "run.json"
    with pytest.raises(LabError) as caught:
        write_atomic(target, "{}")
    message = str(caught.value)
    assert message.startswith(f"cannot write {target}: ") and "\n" not in message
    assert not target.exists()


def test_missing_directory_is_a_lab_error(tmp_path):
    """A run directory that vanished (deleted mid-run) is a LabError, not a traceback."""
    with pytest.raises(LabError, match="No such file or directory"):
        write_atomic(tmp_path / "gone" / "run.json", "{}")
