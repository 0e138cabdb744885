"""Files that survive a crash: a reader sees the old version or the new one, never half of one.

run.json and summary.csv are rewritten after every point of a sweep that may run for hours.
A kill, a power cut or a full disk in the middle of a write must not cost the points already
measured. So the text goes to a temporary file in the same directory (the same filesystem, so
the rename is atomic), is fsynced, then replaces the file, and the directory is fsynced so the
rename itself is on disk before we go on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

from loadlab.errors import LabError


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, written as given), durably; LabError if it cannot."""
    path = Path(path)
    try:
        _replace(path, text.encode("utf-8"))
    except OSError as exc:
        raise LabError(f"cannot write {path}: {exc.strerror or exc}") from None


def _replace(path: Path, data: bytes) -> None:
    # Hidden and unique, so neither a glob of the run directory nor a second writer sees it.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # 0o666 minus the umask: the same mode a plain open() would have given the file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # Disk full, interrupted: the old file is untouched, and no debris is left beside it.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    # os.write may write less than asked (a signal, a nearly full disk): loop until done.
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some filesystems cannot fsync a directory; the file itself is already on disk.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)
