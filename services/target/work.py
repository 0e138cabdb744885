"""The simulated work: a sleep stands for blocking I/O, a pure-Python loop for CPU."""

from __future__ import annotations

import time

# A prime modulus keeps the running total small (cheap integer ops) and the result checkable.
_MODULUS = 1_000_003


def burn(iterations: int) -> int:
    """Spin the interpreter for ``iterations`` steps, holding the GIL throughout."""
    total = 0
    for i in range(iterations):
        total = (total + i * i) % _MODULUS
    return total


def burn_timed(iterations: int) -> tuple[int, float]:
    """``burn`` plus the CPU seconds this thread spent on it (importable for process pools)."""
    start = time.thread_time()
    result = burn(iterations)
    return result, time.thread_time() - start


def expected_burn(iterations: int) -> int:
    """The value ``burn`` must return, in closed form, so a client can check the answer."""
    n = iterations - 1
    return (n * (n + 1) * (2 * n + 1) // 6) % _MODULUS if iterations > 0 else 0
