"""The search space: the CPU limits of a range on a grid, and the other axes' combinations."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from loadlab.errors import ConfigError

DOCKER_STEP = 0.01  # Docker's CPU quota resolution


@dataclass(frozen=True)
class Combo:
    """One combination of the axes other than the CPU limit: a variant (with its knobs, as
    ``variant+NAME=value``) and, for the limiter's variant, a thread limit."""

    variant: str
    thread_limit: int | None = None

    @property
    def label(self) -> str:
        limit = f" THREAD_LIMIT={self.thread_limit}" if self.thread_limit else ""
        return self.variant + limit


def parse_range(text: str) -> tuple[float, float]:
    """``0.25..2`` (or one value); ConfigError naming CPUS otherwise."""
    low, sep, high = text.partition("..")
    try:
        lo, hi = float(low), float(high if sep else low)
    except ValueError:
        raise ConfigError(f"CPUS must be a range such as 0.25..2, got {text!r}") from None
    if not (0 < lo <= hi) or not math.isfinite(hi):
        raise ConfigError(f"CPUS: the range must rise from above 0, got {text!r}")
    if lo < DOCKER_STEP:
        raise ConfigError(f"CPUS: Docker's smallest CPU quota is {DOCKER_STEP}, got {text!r}")
    return lo, hi


def cpu_grid(lo: float, hi: float, step: float) -> tuple[float, ...]:
    """lo, lo + step, ... up to hi (hi itself always in), on Docker's 0.01 resolution."""
    if step < DOCKER_STEP:
        raise ConfigError(f"CPU_STEP must be at least {DOCKER_STEP}, got {step:g}")
    count = math.floor((hi - lo) / step + 1e-9)
    grid = [round(lo + i * step, 2) for i in range(count + 1)]
    if grid[-1] < hi - 1e-9:
        grid.append(round(hi, 2))
    return tuple(dict.fromkeys(grid))


def combos(variants: tuple[str, ...], thread_limits: tuple[int, ...] | None) -> list[Combo]:
    """Every variant; the limiter's variant once per thread limit given."""
    found = []
    for variant, limit in itertools.product(variants, thread_limits or (None,)):
        if limit is not None and not variant.startswith("uvicorn-limiter"):
            if (variant, None) not in [(c.variant, c.thread_limit) for c in found]:
                found.append(Combo(variant))
            continue
        found.append(Combo(variant, limit))
    return found
