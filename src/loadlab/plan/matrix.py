"""The points of a sweep: each (variant, endpoint) series at each CPU limit, offered load
(a user count in the closed loop, a request rate in the open loop), repeat."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import groupby

from loadlab.plan.config import Plan


@dataclass(frozen=True)
class Point:
    variant: str
    endpoint: str
    cpus: float
    users: int | None  # closed loop
    repeat: int
    rate: float | None = None  # open loop: requests a second offered, across all workers

    @property
    def load(self) -> str:
        return "closed" if self.rate is None else "open"

    @property
    def level(self) -> float:
        """The offered load: users, or requests a second."""
        return float(self.users) if self.rate is None else self.rate

    @property
    def id(self) -> str:
        """Stable and filesystem-safe."""
        endpoint = self.endpoint.replace("/", "-")
        level = f"u{self.users}" if self.rate is None else f"rate{self.rate:g}"
        return f"{self.variant}__{endpoint}__cpus{self.cpus:g}__{level}__r{self.repeat}"

    @property
    def run_key(self) -> str:
        """Points measured in one stepped Locust run: one series, limit and repeat."""
        endpoint = self.endpoint.replace("/", "-")
        return f"{self.variant}__{endpoint}__cpus{self.cpus:g}__r{self.repeat}"

    @property
    def group(self) -> tuple[str, float]:
        """Points that share one running container: the same variant under the same limit."""
        return (self.variant, self.cpus)

    def to_json(self) -> dict:
        return {"id": self.id, **asdict(self), "load": self.load}

    @classmethod
    def from_json(cls, data: dict) -> Point:
        users, rate = data.get("users"), data.get("rate")
        return cls(
            data["variant"],
            data["endpoint"],
            float(data["cpus"]),
            None if users is None else int(users),
            int(data["repeat"]),
            None if rate is None else float(rate),
        )


def points(plan: Plan) -> list[Point]:
    """Ordered so each container starts once (by variant and CPU limit) and each Locust run's
    steps are neighbours (by repeat and series), user counts rising within a run."""
    levels = sorted(plan.users) if plan.load == "closed" else sorted(plan.rates)
    found = [
        _point(variant, endpoint, cpus, level, repeat, plan.load)
        for variant in dict.fromkeys(v for v, _ in plan.series)
        for cpus in plan.cpus
        for repeat in range(1, plan.repeats + 1)
        for v, endpoint in plan.series
        if v == variant
        for level in levels
    ]
    return found


def _point(variant: str, endpoint: str, cpus: float, level: float, repeat: int,
           load: str) -> Point:  # fmt: skip
    if load == "closed":
        return Point(variant, endpoint, cpus, int(level), repeat)
    return Point(variant, endpoint, cpus, None, repeat, float(level))


def groups(found: list[Point]) -> list[tuple[tuple[str, float], list[Point]]]:
    return [(key, list(members)) for key, members in groupby(found, key=lambda p: p.group)]
