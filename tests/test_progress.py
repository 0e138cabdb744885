"""The progress bar writes to the stream in force when it starts."""

from __future__ import annotations

import contextlib
import io

from loadlab.progress import Progress


def test_the_bar_writes_to_the_stderr_of_when_it_starts():
    """A bar made under redirect_stderr writes there, not to the stderr of import time (a
    closed pytest capture, once a test session has ended in the same process)."""
    swapped = io.StringIO()
    with contextlib.redirect_stderr(swapped):
        bar = Progress(2, 1.0)
    bar.advance("io/sync")
    bar.close()
    assert "1/2" in swapped.getvalue() and "1/2 points in" in swapped.getvalue()
