"""What pairs points across runs: a point's key, without its repeat.

The repeats of one key are the samples of one measurement. The CPU limit is part of the key,
so points measured under different limits are never paired; a closed-loop key has its users,
an open-loop key its rate.
"""

from __future__ import annotations

from typing import NamedTuple

from loadlab.results import PointResult


class Key(NamedTuple):
    """What pairs points across runs; ``users`` for the closed loop, ``rate`` for the open."""

    variant: str
    endpoint: str
    cpus: float
    users: int | None
    rate: float | None = None

    @property
    def load(self) -> str:
        return f"rate={self.rate:g}/s" if self.rate is not None else f"users={self.users}"

    @property
    def text(self) -> str:
        return f"{self.variant} {self.endpoint} cpus={self.cpus:g} {self.load}"


def key_of(result: PointResult) -> Key:
    pt = result.point
    users, rate = getattr(pt, "users", None), getattr(pt, "rate", None)
    return Key(
        pt.variant,
        pt.endpoint,
        float(pt.cpus),
        None if users is None else int(users),
        None if rate is None else float(rate),
    )
