"""A progress bar with point i/N and an ETA, on stderr; one line per point when not a TTY."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, seconds_per_point: float, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.guess = seconds_per_point  # until a point has been measured
        # sys.stderr when the bar starts, not when the module was imported: a stream swapped in
        # since (pytest's capture, contextlib.redirect_stderr) is the one written to.
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.tty = self.stream.isatty()

    def eta(self) -> float:
        left = self.total - self.done
        if self.done == 0:
            return left * self.guess
        return left * (time.monotonic() - self.started) / self.done

    def show(self, label: str) -> None:
        width = 30
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (width - filled)
        line = f"[{bar}] {self.done}/{self.total} ETA {_clock(self.eta())}  {label}"
        if self.tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def advance(self, label: str) -> None:
        self.done += 1
        self.show(label)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        elapsed = self.elapsed()
        self.stream.write(f"{self.done}/{self.total} points in {_clock(elapsed)}\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s"
