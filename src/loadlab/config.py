"""The sweep's configuration: every setting defined once, validated before anything starts.

Each field of SweepConfig carries its parser and help text; the CLI options (and through the
Makefile, the Make variables of the same name in upper case) are derived from the fields.
``None`` means "take it from the profile".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .cpus import host_cpus
from .endpoints import ENDPOINTS
from .errors import ConfigError
from .stack import VARIANTS

Series = tuple[str, str]  # (variant, endpoint)

IO_SERIES: tuple[Series, ...] = (
    ("uvicorn", "io/async"),
    ("uvicorn", "io/sync"),
    ("uvicorn", "io/threadpool"),
    ("uvicorn", "io/executor-default"),
    ("uvicorn", "io/executor-custom"),
    ("uvicorn-limiter", "io/sync"),
)


@dataclass(frozen=True)
class Profile:
    series: tuple[Series, ...]
    cpus: tuple[float, ...]
    users: tuple[int, ...]
    duration: float
    warmup: float
    repeats: int
    work_seconds: float


PROFILES = {
    # A quick check that the whole chain works and agrees with the model (CI runs this).
    "smoke": Profile(
        series=(("uvicorn", "io/async"), ("uvicorn", "io/sync")),
        cpus=(1.0,),
        users=(10, 60),
        duration=5,
        warmup=2,
        repeats=1,
        work_seconds=0.2,
    ),
    # The seeds reproduced: the knees at 6, 40 and 100 threads, the fixes, and a CPU-bound
    # endpoint on two processes so the CPU limit visibly caps throughput.
    "default": Profile(
        series=(*IO_SERIES, ("uvicorn-workers", "cpu/sync")),
        cpus=(0.5, 1.0),
        users=(10, 40, 80, 120),
        duration=6,
        warmup=2,
        repeats=1,
        work_seconds=0.2,
    ),
    # What the nightly job runs: the default series, twice each, so changes are tested
    # for significance; bounded to about 20 minutes on a 2-core runner.
    "nightly": Profile(
        series=(*IO_SERIES, ("uvicorn-workers", "cpu/sync")),
        cpus=(1.0,),
        users=(10, 40, 80, 120),
        duration=6,
        warmup=2,
        repeats=2,
        work_seconds=0.2,
    ),
    # The lab's own capacity: how many requests a second Locust and uvicorn sustain on an
    # endpoint that does no work, so no measurement is read beyond what the lab can drive.
    "bench": Profile(
        series=(("uvicorn", "health"), ("uvicorn-workers", "health")),
        cpus=(1.0,),
        users=(1, 10, 50, 100),
        duration=5,
        warmup=2,
        repeats=1,
        work_seconds=0.2,
    ),
    # Everything against everything; hours, not minutes.
    "full": Profile(
        series=tuple((v, e) for v in VARIANTS for e in ENDPOINTS if e != "health"),
        cpus=(0.5, 1.0, 2.0),
        users=(1, 10, 20, 40, 60, 80, 120, 160),
        duration=10,
        warmup=3,
        repeats=3,
        work_seconds=0.2,
    ),
}


def _items(kind: Callable[[str], Any]) -> Callable[[str, str], tuple]:
    def parse(name: str, raw: str) -> tuple:
        parts = [p for p in raw.replace(",", " ").split() if p]
        if not parts:
            raise ConfigError(f"{name} is empty")
        return tuple(_scalar(kind)(name, p) for p in parts)

    return parse


def _scalar(kind: Callable[[str], Any]) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a valid {kind.__name__}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name}: {raw!r} is not a finite number")
        return value

    return parse


def _setting(parse: Callable[[str, str], Any], doc: str, default: Any = None) -> Any:
    return field(default=default, metadata={"parse": parse, "doc": doc})


@dataclass(frozen=True)
class SweepConfig:
    """What to sweep; built once at the edge (CLI) and passed down."""

    profile: str = _setting(_scalar(str), "smoke, default, nightly, bench or full", "default")
    variants: tuple[str, ...] | None = _setting(_items(str), "variants (Compose services)")
    endpoints: tuple[str, ...] | None = _setting(_items(str), "endpoints, e.g. io/sync,io/async")
    cpus: tuple[float, ...] | None = _setting(_items(float), "CPU limits (CFS quota), e.g. 0.5,1")
    users: tuple[int, ...] | None = _setting(_items(int), "concurrent Locust users, e.g. 10,40")
    duration: float | None = _setting(_scalar(float), "measured seconds per point")
    warmup: float | None = _setting(_scalar(float), "seconds before the measured window")
    repeats: int | None = _setting(_scalar(int), "measurements per point")
    work_seconds: float | None = _setting(_scalar(float), "sleep of the /io endpoints (S)")
    cpu_iterations: int | None = _setting(_scalar(int), "loop count of the /cpu endpoints")
    thread_limit: int | None = _setting(_scalar(int), "uvicorn-limiter's THREAD_LIMIT (100)")
    executor_workers: int | None = _setting(_scalar(int), "EXECUTOR_WORKERS (100)")
    workers: int | None = _setting(_scalar(int), "WORKERS of the multi-process variants (2)")
    limit_concurrency: int | None = _setting(_scalar(int), "LIMIT_CONCURRENCY (20)")
    locust_workers: int = _setting(_scalar(int), "Locust worker processes", 2)
    out: Path = _setting(_scalar(Path), "where run directories go", Path("reports"))
    resume: Path | None = _setting(_scalar(Path), "finish this interrupted run instead")
    run_id: str | None = _setting(_scalar(str), "name of the run directory (default: a timestamp)")

    @classmethod
    def from_strings(cls, raw: Mapping[str, str]) -> SweepConfig:
        """Parse CLI / Make strings (keys are field names); unknown keys are an error."""
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, text in raw.items():
            if key not in known:
                raise ConfigError(f"unknown setting {key!r}")
            values[key] = known[key].metadata["parse"](key.upper(), text)
        return cls(**values)

    def to_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def settings_help() -> list[tuple[str, str, Any]]:
    """(name, help, default) of every setting, in order, for deriving the CLI."""
    return [(f.name, f.metadata["doc"], f.default) for f in fields(SweepConfig)]


@dataclass(frozen=True)
class Plan:
    """A validated configuration with the profile's defaults filled in."""

    config: SweepConfig
    series: tuple[Series, ...]
    cpus: tuple[float, ...]
    users: tuple[int, ...]
    duration: float
    warmup: float
    repeats: int
    work_seconds: float

    def to_json(self) -> dict:
        """The settings as given, plus what the profile filled in (key "resolved")."""
        resolved = {
            "series": [list(s) for s in self.series],
            "cpus": list(self.cpus),
            "users": list(self.users),
            "duration": self.duration,
            "warmup": self.warmup,
            "repeats": self.repeats,
            "work_seconds": self.work_seconds,
            "target_env": self.target_env(),
        }
        return {**self.config.to_json(), "resolved": resolved}

    def target_env(self) -> dict[str, str]:
        """The variant settings Compose interpolates (unset ones keep compose.yaml's defaults)."""
        c = self.config
        env = {"WORK_SECONDS": f"{self.work_seconds:g}"}
        for name in (
            "cpu_iterations",
            "thread_limit",
            "executor_workers",
            "workers",
            "limit_concurrency",
        ):
            if getattr(c, name) is not None:
                env[name.upper()] = str(getattr(c, name))
        return env

    @property
    def tail(self) -> float:
        # Locust's clock starts a little before the first request; this covers the gap
        # plus one service time, so the window is full before Locust stops.
        return 1.5 + self.work_seconds


def resolve(config: SweepConfig, cores: list[int] | None = None) -> Plan:
    """Fill in the profile and check every value; raises ConfigError on the first bad one."""
    if config.profile not in PROFILES:
        raise ConfigError(f"PROFILE must be one of {', '.join(PROFILES)}, got {config.profile!r}")
    profile = PROFILES[config.profile]
    plan = Plan(
        config=config,
        series=_series(config, profile),
        cpus=config.cpus or profile.cpus,
        users=config.users or profile.users,
        duration=profile.duration if config.duration is None else config.duration,
        warmup=profile.warmup if config.warmup is None else config.warmup,
        repeats=profile.repeats if config.repeats is None else config.repeats,
        work_seconds=profile.work_seconds if config.work_seconds is None else config.work_seconds,
    )
    _check(plan, host_cpus() if cores is None else cores)
    return plan


def _series(config: SweepConfig, profile: Profile) -> tuple[Series, ...]:
    if config.variants is None and config.endpoints is None:
        return profile.series
    variants = config.variants or tuple(dict.fromkeys(v for v, _ in profile.series))
    endpoints = config.endpoints or tuple(dict.fromkeys(e for _, e in profile.series))
    for v in variants:
        if v not in VARIANTS:
            raise ConfigError(f"VARIANTS: unknown variant {v!r} (known: {', '.join(VARIANTS)})")
    for e in endpoints:
        if e.strip("/") not in ENDPOINTS:
            raise ConfigError(f"ENDPOINTS: unknown endpoint {e!r} (known: {', '.join(ENDPOINTS)})")
    return tuple((v, e.strip("/")) for v in variants for e in endpoints)


def _check(plan: Plan, cores: list[int]) -> None:
    c = plan.config
    rules = [
        (
            all(0 < x <= len(cores) for x in plan.cpus),
            f"CPUS must each be > 0 and <= {len(cores)} (this host's cores), got {plan.cpus}",
        ),
        (all(u >= 1 for u in plan.users), f"USERS must each be >= 1, got {plan.users}"),
        (plan.duration > 0, f"DURATION must be > 0, got {plan.duration:g}"),
        (plan.warmup >= 0, f"WARMUP must be >= 0, got {plan.warmup:g}"),
        (plan.repeats >= 1, f"REPEATS must be >= 1, got {plan.repeats}"),
        (
            0 < plan.work_seconds <= 60,
            f"WORK_SECONDS must be in (0, 60], got {plan.work_seconds:g}",
        ),
        (c.locust_workers >= 1, f"LOCUST_WORKERS must be >= 1, got {c.locust_workers}"),
    ]
    for name in (
        "cpu_iterations",
        "thread_limit",
        "executor_workers",
        "workers",
        "limit_concurrency",
    ):
        value = getattr(c, name)
        rules.append((value is None or value >= 1, f"{name.upper()} must be >= 1, got {value}"))
    for ok, message in rules:
        if not ok:
            raise ConfigError(message)
    if len(set(plan.cpus)) != len(plan.cpus) or len(set(plan.users)) != len(plan.users):
        raise ConfigError("CPUS and USERS must not repeat a value")


def new_run_id(config: SweepConfig, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return config.run_id or f"{now:%Y%m%d-%H%M%S}-{config.profile}"


def with_resume_defaults(stored: dict, resume: Path) -> SweepConfig:
    """The configuration a run was started with, to finish it unchanged."""
    known = {f.name for f in fields(SweepConfig)}
    values = {k: v for k, v in stored.items() if k in known}
    for key in ("variants", "endpoints", "cpus", "users"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    values["out"] = Path(values.get("out") or "reports")
    return replace(SweepConfig(**values), resume=resume)
