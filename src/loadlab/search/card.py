"""The capacity card: the answer, its failing neighbour and what bound it, the best of every
other combination or why it has none, every trial in order, and how to re-check the answer.

Data only (capacity.json); report/index.py draws it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from loadlab.search.bisection import ComboOutcome, Trial, cheapest
from loadlab.search.slo import SLO

FILE = "capacity.json"


@dataclass(frozen=True)
class Card:
    slo: str
    rate: float
    endpoint: str
    cpu_range: tuple[float, float]
    cpu_step: float
    answer: dict | None  # variant, thread_limit, knobs, cpus, the metric and its interval
    neighbour: dict | None  # the answer's combination one step below, and what bound it
    others: list[dict]  # every other combination: its best, or why it has none
    trials: list[dict]  # in the order measured
    wall_s: float
    recheck: str | None  # a plain sweep that measures the answer again
    headroom: dict | None = None  # the highest rate the answer sustains under the SLO
    contradictions: list[str] = field(default_factory=list)
    closest: dict | None = None  # without an answer: what came closest, and why it failed
    load: str = "open"  # "closed": ``rate`` is the users of a closed loop

    @property
    def exit_code(self) -> int:
        """0 with an answer, 1 when nothing in the space meets the SLO."""
        return 0 if self.answer else 1

    def to_json(self) -> dict:
        return {**asdict(self), "trial_count": len(self.trials), "exit_code": self.exit_code}


def trial_json(t: Trial) -> dict:
    return {"variant": t.combo.variant, "thread_limit": t.combo.thread_limit, "cpus": t.cpus,
            "rate": t.rate, "attempt": t.attempt, "verdict": t.verdict, "value_ms": t.value_ms,
            "interval": t.interval, "rps": t.rps, "reason": t.reason, "bound": t.bound,
            "point_id": t.point_id, "cpu_ms": t.cpu_ms}  # fmt: skip


def card_of(outcomes: list[ComboOutcome], *, slo: SLO, rate: float, endpoint: str,
            cpu_range: tuple[float, float], cpu_step: float, wall_s: float,
            recheck: str | None, headroom: dict | None = None,
            load: str = "open") -> Card:  # fmt: skip
    best = cheapest(outcomes)
    return Card(
        slo=str(slo), rate=rate, endpoint=endpoint, cpu_range=cpu_range, cpu_step=cpu_step,
        answer={**trial_json(best.answer), "guess_cpus": best.guess} if best else None,
        neighbour=trial_json(best.neighbour) if best and best.neighbour else None,
        others=[_other(o) for o in outcomes if o is not best],
        trials=[trial_json(t) for o in outcomes for t in o.trials],
        wall_s=round(wall_s, 1), recheck=recheck if best else None,
        headroom=headroom if best else None,
        contradictions=[f"{o.combo.label}: {c}" for o in outcomes for c in o.contradictions],
        closest=None if best else _closest(outcomes), load=load,
    )  # fmt: skip


def _other(o: ComboOutcome) -> dict:
    found = {"variant": o.combo.variant, "thread_limit": o.combo.thread_limit,
             "guess_cpus": o.guess}  # fmt: skip
    if o.answer is not None:
        return {**found, "best_cpus": o.answer.cpus, "value_ms": o.answer.value_ms,
                "interval": o.answer.interval}  # fmt: skip
    return {**found, "best_cpus": None, "why_not": o.why_not}


def _closest(outcomes: list[ComboOutcome]) -> dict | None:
    """Without an answer: the trial whose metric came nearest the limit, and why it failed."""
    measured = [t for o in outcomes for t in o.trials if t.value_ms is not None]
    return trial_json(min(measured, key=lambda t: t.value_ms)) if measured else None
