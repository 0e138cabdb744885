"""The sweep's configuration: every setting defined once, validated before anything starts.

Each field of SweepConfig carries its parser, bounds and help text (``shared.settings``); the
CLI options, the Makefile's variables (``stack.variables``) and docs/settings.md are derived
from the fields. The target's own settings are checked against the service's own parsers
(``shared.service``), with a stricter bound only where the lab needs one. ``None`` means
"take it from the profile". ``resolve`` decides everything once: the profile filled in, the
run's directory named, what depends on the host or on several settings checked; every error is
a ConfigError with one line naming the setting, raised before a container starts. Deep modules
read the resolved Plan, never the raw configuration.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from loadlab.engines import contexts
from loadlab.engines.contexts import Engines
from loadlab.errors import ConfigError
from loadlab.plan import target_file
from loadlab.plan.placement import host_cpus
from loadlab.plan.profiles import PROFILES, Profile
from loadlab.plan.series import of_plan, on_pythons, target_defaults
from loadlab.plan.series import with_knobs as knob_series
from loadlab.plan.target import Target
from loadlab.plan.variants import IMAGE_TAGS, TARGET_VARIANTS
from loadlab.shared import service
from loadlab.shared.offered import LOADS
from loadlab.shared.settings import Bound, SettingsError, items, parse_all, scalar, setting

# Where the numbers come from; each bound names its reason in the error it raises.
DOCKER_MIN_CPUS = Bound(0.01, why="Docker's smallest CPU quota is 0.01")
HARNESS_USERS = Bound(1, 10_000, why="what a few Locust workers on this host can hold")
HARNESS_RATE = Bound(0, 20_000, above=True, why="what a few Locust workers can send a second")
NIGHTLY_SECONDS = Bound(1, 3_600, why="an hour per point is all a nightly can afford")
SETTLE_SECONDS = Bound(0, 600, why="a point that needs ten minutes to settle never will")
REPEATS = Bound(1, 20, why="batch-means intervals make more repeats than this pointless")
# The lab's own bounds on the target's settings, beyond what the service accepts: the models
# divide by the service time, and uvicorn counts the connection asking among the concurrent
# ones (at 1 it answers every request 503, the healthcheck's and the lab's /runtime included).
MODEL_SECONDS = Bound(0, above=True, why="the lab's models divide by the service time")
SHEDDING = Bound(2, why="uvicorn answers 503 to everything at 1")
LOCUST_WORKERS = Bound(1, 16, why="each is a process; more than 16 only contend for the cores")
IN_FLIGHT = Bound(1, 100_000, why="each request in flight holds a connection")
RATIO = Bound(0, 1, why="a share of the requests")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
LONG_RUN_MINUTES = 120  # an estimate above this needs YES=1: a typo must not cost a night


@dataclass(frozen=True)
class SweepConfig:
    """What to sweep; built once at the edge (CLI) and passed down."""

    profile: str = setting(
        scalar(str, choices=tuple(PROFILES)), "the named matrix a sweep starts from", "default"
    )
    target: Path | None = setting(
        scalar(Path), "a target file (target.toml) or its directory; default: the demo app"
    )
    variants: tuple[str, ...] | None = setting(
        items(str, choices=TARGET_VARIANTS), "Compose services; name@3.13 runs the 3.13 image"
    )
    pythons: tuple[str, ...] | None = setting(
        items(str, choices=tuple(IMAGE_TAGS)), "target Pythons: every series on each (3.11,3.13)"
    )
    endpoints: tuple[str, ...] | None = setting(items(str), "endpoints, e.g. io/sync,io/async")
    cpus: tuple[float, ...] | None = setting(
        items(float, DOCKER_MIN_CPUS), "CPU limits (CFS quota), e.g. 0.5,1"
    )
    load: str | None = setting(
        scalar(str, choices=LOADS), "closed (USERS) or open (RATES); open for PROFILE=open"
    )
    users: tuple[int, ...] | None = setting(
        items(int, HARNESS_USERS), "closed loop: concurrent Locust users, e.g. 10,40"
    )
    rates: tuple[float, ...] | None = setting(
        items(float, HARNESS_RATE), "open loop: requests a second offered in total, e.g. 100,250"
    )
    arrivals: str = setting(
        scalar(str, choices=("uniform", "poisson")), "open loop: send times", "uniform"
    )
    max_in_flight: int = setting(
        scalar(int, IN_FLIGHT), "open loop: most requests in flight (beyond: dropped)", 1000
    )
    samples: int = setting(
        scalar(int, Bound(0, 1)), "open loop: 1 keeps raw per-request samples too", 0
    )
    duration: float | None = setting(
        scalar(float, NIGHTLY_SECONDS), "least measured seconds per point"
    )
    warmup: float | None = setting(
        scalar(float, SETTLE_SECONDS), "most seconds a point may take to settle, else unsteady"
    )
    repeats: int | None = setting(scalar(int, REPEATS), "measurements per point")
    work_seconds: float | None = setting(
        service.WORK_SECONDS.also(MODEL_SECONDS), "sleep of the /io endpoints (S)"
    )
    cpu_iterations: int | None = setting(service.CPU_ITERATIONS, "loop count of the /cpu endpoints")
    thread_limit: int | None = setting(service.THREAD_COUNT, "uvicorn-limiter's THREAD_LIMIT (100)")
    executor_workers: int | None = setting(service.THREAD_COUNT, "EXECUTOR_WORKERS (100)")
    workers: int | str | None = setting(
        service.WORKER_COUNT, "WORKERS of the multi-process variants (2), or auto"
    )
    limit_concurrency: int | None = setting(
        service.CONCURRENCY.also(SHEDDING), "LIMIT_CONCURRENCY (20)"
    )
    max_failure_ratio: float = setting(
        scalar(float, RATIO), "failed share of requests above which a point is not ok", 0.001
    )
    locust_workers: int | None = setting(
        scalar(int, LOCUST_WORKERS), "Locust worker processes (2; open loop: 1 per Locust core)"
    )
    target_context: str | None = setting(
        scalar(str), "the Docker context the target runs on (default: the current one)"
    )
    load_contexts: tuple[str, ...] | None = setting(
        items(str), "Docker contexts for Locust: the master on the first, workers on each"
    )
    target_address: str | None = setting(
        scalar(str), "where the load reaches the target (published there only; 127.0.0.1)"
    )
    master_address: str | None = setting(
        scalar(str), "where workers on other engines reach Locust's master"
    )
    out: Path = setting(scalar(Path), "where run directories go", Path("reports"))
    resume: Path | None = setting(scalar(Path), "finish this interrupted run instead")
    run_id: str | None = setting(scalar(str), "name of the run directory (default: a timestamp)")
    yes: int = setting(scalar(int, Bound(0, 1)), f"1: run even if over {LONG_RUN_MINUTES} min", 0)

    @classmethod
    def from_strings(cls, raw: Mapping[str, str]) -> SweepConfig:
        """Parse CLI / Make strings (keys are field names); unknown keys are an error."""
        try:
            return cls(**parse_all(cls, raw))
        except SettingsError as exc:
            raise ConfigError(str(exc)) from None

    def to_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


def settings_help() -> list[tuple[str, str, Any]]:
    """(name, help, default) of every setting, in order, for deriving the CLI."""
    return [(f.name, f.metadata["doc"], f.default) for f in fields(SweepConfig)]


@dataclass(frozen=True)
class Plan(Profile):
    """A validated configuration: the profile with the settings given over it, and every value
    derived from them decided once (the run's directory, the load, the Locust workers)."""

    config: SweepConfig = field(default_factory=SweepConfig)
    directory: Path = Path("reports/unnamed")  # where this run's results go
    load: str = "closed"
    locust_workers: int = 2
    target: Target = field(default_factory=target_file.demo)  # what is measured
    engines: Engines = field(default_factory=Engines)  # where the target and Locust run

    @property
    def arrivals(self) -> str:
        return self.config.arrivals

    @property
    def max_in_flight(self) -> int:
        return self.config.max_in_flight

    @property
    def in_flight_per_worker(self) -> int:
        """Each Locust worker's share of MAX_IN_FLIGHT, rounded up (so the cap over all of
        them is this times the workers)."""
        return math.ceil(self.max_in_flight / self.locust_workers)

    @property
    def keep_samples(self) -> bool:
        return bool(self.config.samples)

    @property
    def max_failure_ratio(self) -> float:
        return self.config.max_failure_ratio

    def to_json(self) -> dict:
        """The settings as given, plus what the profile filled in (key "resolved")."""
        resolved = {
            "series": [list(s) for s in self.series],
            "cpus": list(self.cpus),
            "users": list(self.users) if self.load == "closed" else None,
            "rates": list(self.rates) if self.load == "open" else None,
            "duration": self.duration,
            "warmup": self.warmup,
            "repeats": self.repeats,
            "work_seconds": self.work_seconds,
            "target_env": self.target_env(),
            "load": self.load,
            "locust_workers": self.locust_workers,
            "max_failure_ratio": self.max_failure_ratio,
        }
        if self.load == "open":
            resolved.update(arrivals=self.arrivals, max_in_flight=self.max_in_flight)
        return {**self.config.to_json(), "resolved": resolved}

    def target_env(self) -> dict[str, str]:
        """The variant settings Compose interpolates (unset ones keep compose.yaml's defaults)."""
        c = self.config
        env = {"WORK_SECONDS": f"{self.work_seconds:g}"}
        for name in ("cpu_iterations", "thread_limit", "executor_workers", "workers",
                     "limit_concurrency"):  # fmt: skip
            if getattr(c, name) is not None:
                env[name.upper()] = str(getattr(c, name))
        return env

    @property
    def levels(self) -> tuple[float, ...]:
        return tuple(self.users) if self.load == "closed" else self.rates

    @property
    def step_seconds(self) -> float:
        """What each step of a Locust run is planned to last: the settling budget + the window."""
        return self.warmup + self.duration


def resolve(config: SweepConfig, cores: list[int] | None = None,
            now: dt.datetime | None = None) -> Plan:  # fmt: skip
    """Fill in the profile and check every value; raises ConfigError on the first bad one."""
    target = target_file.load(config.target) if config.target else target_file.demo()
    config = target_defaults(config, target)
    profile = PROFILES[config.profile]
    load = config.load or ("open" if config.profile == "open" else "closed")
    series = knob_series(on_pythons(of_plan(config, profile, target), config.pythons), target)
    profile = replace(profile, series=series)
    given = {f.name: getattr(config, f.name) for f in fields(Profile) if f.name != "series"}
    engines = contexts.resolve(
        config.target_context, config.load_contexts, config.target_address, config.master_address
    )
    plan = Plan(
        **{**asdict_shallow(profile), **{k: v for k, v in given.items() if v is not None}},
        config=config,
        directory=config.resume or config.out / new_run_id(config, now),
        load=load,
        # Two workers share the closed loop's users; an open loop's sends must leave on time,
        # and two workers on one core wait for each other's time slices (milliseconds).
        # LOCUST_WORKERS is per load engine; the plan counts them all.
        locust_workers=(config.locust_workers or (2 if load == "closed" else 1))
        * len(engines.load),
        target=target,
        engines=engines,
    )
    _check(plan, host_cpus() if cores is None else cores)
    return plan


def asdict_shallow(profile: Profile) -> dict[str, Any]:
    """A profile's fields as a dict, values as they are (dataclasses.asdict would copy)."""
    return {f.name: getattr(profile, f.name) for f in fields(Profile)}


def _check(plan: Plan, cores: list[int]) -> None:
    c = plan.config
    if any(x > len(cores) for x in plan.cpus):
        raise ConfigError(f"CPUS must each be at most {len(cores)} (this host's cores), "
                          f"got {', '.join(f'{x:g}' for x in plan.cpus)}")  # fmt: skip
    if plan.load == "open" and plan.config.users is not None:
        raise ConfigError("USERS is for LOAD=closed; an open loop steps RATES")
    if plan.load == "closed" and plan.config.rates is not None:
        raise ConfigError("RATES is for LOAD=open; a closed loop steps USERS")
    if c.run_id is not None and not RUN_ID.fullmatch(c.run_id):
        raise ConfigError(f"RUN_ID must be a plain name (letters, digits, . _ -), "
                          f"got {c.run_id!r}")  # fmt: skip
    _check_out(c.out)
    minutes = estimated_minutes(plan)
    if minutes > LONG_RUN_MINUTES and not c.yes:
        raise ConfigError(f"this plan takes about {minutes:.0f} min (> {LONG_RUN_MINUTES}); "
                          "give YES=1 (--yes 1) to run it anyway")  # fmt: skip


def _check_out(out: Path) -> None:
    """OUT must be a directory this user can create runs in (or create itself)."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"OUT: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK) or str(existing.resolve()).startswith("/proc"):
        raise ConfigError(f"OUT: {out} is not writable (checked {existing})")


def estimated_minutes(plan: Plan) -> float:
    """Steps plus a Locust start per run and a container start per group (measured costs)."""
    runs = len(plan.series) * len(plan.cpus) * plan.repeats
    steps = runs * len(plan.levels)
    groups = len({v for v, _ in plan.series}) * len(plan.cpus)
    return (steps * plan.step_seconds + runs * 8 + groups * 6) / 60


def new_run_id(config: SweepConfig, now: dt.datetime | None = None) -> str:
    """RUN_ID, or the time and profile: read from the clock once, in ``resolve``."""
    now = now or dt.datetime.now(dt.UTC)
    return config.run_id or f"{now:%Y%m%d-%H%M%S}-{config.profile}"


def check_new_run(plan: Plan) -> Path:
    """The directory of a new run; an existing one is refused before anything starts."""
    directory = plan.directory
    if (directory / "run.json").exists():
        raise ConfigError(f"RUN_ID: {directory} already holds a run; choose another RUN_ID or "
                          f"finish it with RESUME={directory}")  # fmt: skip
    return directory


def with_resume_defaults(stored: dict, given: SweepConfig, resume: Path) -> SweepConfig:
    """The configuration a run was started with, to finish it unchanged; options given now
    that disagree with it are refused (a run is one experiment)."""
    known = {f.name for f in fields(SweepConfig)}
    values = {k: v for k, v in stored.items() if k in known and k not in ("resume", "yes")}
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    values["out"] = Path(values.get("out") or "reports")
    defaults = SweepConfig()
    for f in fields(SweepConfig):
        mine = getattr(given, f.name)
        if f.name in ("resume", "yes", "out") or mine == getattr(defaults, f.name):
            continue
        if mine != values.get(f.name, getattr(defaults, f.name)):
            raise ConfigError(f"RESUME: {f.name.upper()}={mine} disagrees with the run being "
                              f"resumed ({values.get(f.name)}); give RESUME alone")  # fmt: skip
    return replace(SweepConfig(**values), resume=resume, yes=1)
