"""The points of a sweep: each (variant, endpoint) series at each CPU limit, user count, repeat."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import groupby

from .config import Plan


@dataclass(frozen=True)
class Point:
    variant: str
    endpoint: str
    cpus: float
    users: int
    repeat: int

    @property
    def id(self) -> str:
        """Stable and filesystem-safe: the name of the point's directory."""
        endpoint = self.endpoint.replace("/", "-")
        return f"{self.variant}__{endpoint}__cpus{self.cpus:g}__u{self.users}__r{self.repeat}"

    @property
    def group(self) -> tuple[str, float]:
        """Points that share one running container: the same variant under the same limit."""
        return (self.variant, self.cpus)

    def to_json(self) -> dict:
        return {"id": self.id, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> Point:
        return cls(
            data["variant"],
            data["endpoint"],
            float(data["cpus"]),
            int(data["users"]),
            int(data["repeat"]),
        )


def points(plan: Plan) -> list[Point]:
    """Ordered so each container starts once: by variant and CPU limit, then series, users."""
    found = [
        Point(variant, endpoint, cpus, users, repeat)
        for variant in dict.fromkeys(v for v, _ in plan.series)
        for cpus in plan.cpus
        for repeat in range(1, plan.repeats + 1)
        for v, endpoint in plan.series
        if v == variant
        for users in plan.users
    ]
    return found


def groups(found: list[Point]) -> list[tuple[tuple[str, float], list[Point]]]:
    return [(key, list(members)) for key, members in groupby(found, key=lambda p: p.group)]
