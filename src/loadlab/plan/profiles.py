"""The named matrices a sweep starts from (PROFILE=...): series, limits, loads and timings."""

from __future__ import annotations

from dataclasses import dataclass

from loadlab.plan.variants import VARIANTS
from loadlab.shared.endpoints import ENDPOINTS

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
    """A matrix and its timings; every value can be overridden by the setting of its name.
    A profile states only what differs from these defaults."""

    series: tuple[Series, ...] = ()
    cpus: tuple[float, ...] = (1.0,)
    users: tuple[int, ...] = (10, 40, 80, 120)
    duration: float = 6
    warmup: float = 6
    repeats: int = 1
    work_seconds: float = 0.2  # the seeds' sleeps are seconds; 0.2 s keeps a sweep short
    rates: tuple[float, ...] = (50.0, 100.0, 150.0, 200.0, 250.0)  # LOAD=open


PROFILES = {
    # A quick check that the whole chain works and agrees with the model (CI runs this).
    "smoke": Profile(
        series=(("uvicorn", "io/async"), ("uvicorn", "io/sync")),
        users=(10, 60),
    ),
    # The seeds reproduced: the knees at 6, 40 and 100 threads, the fixes, and a CPU-bound
    # endpoint on two processes so the CPU limit visibly caps throughput.
    "default": Profile(
        series=(*IO_SERIES, ("uvicorn-workers", "cpu/sync")),
        cpus=(0.5, 1.0),
    ),
    # What the nightly job runs: the default series, twice each, so changes are tested
    # for significance; bounded to about 20 minutes on a 2-core runner.
    "nightly": Profile(
        series=(*IO_SERIES, ("uvicorn-workers", "cpu/sync")),
        repeats=2,
    ),
    # The lab's own capacity: how many requests a second Locust and uvicorn sustain on an
    # endpoint that does no work, so no measurement is read beyond what the lab can drive.
    "bench": Profile(
        series=(("uvicorn", "health"), ("uvicorn-workers", "health")),
        users=(1, 10, 50, 100),
        warmup=3,
    ),
    # The open loop (LOAD=open): a rate the server cannot slow down, below, at and above the
    # capacity of io/sync's 40 threads (200/s at 0.2 s), and io/async beside it.
    "open": Profile(
        series=(("uvicorn", "io/sync"), ("uvicorn", "io/async")),
        users=(10,),
        duration=10,  # the default warmup's 6 s also cover opening every connection
    ),
    # What a CPU limit does to CPU-bound work: one process (the GIL: one core at most), two
    # workers, and a process pool, from a quarter core to the whole host.
    "cpu": Profile(
        series=(
            ("uvicorn", "cpu/sync"),
            ("uvicorn-workers", "cpu/sync"),
            ("uvicorn", "cpu/process"),
        ),
        cpus=(0.25, 0.5, 1.0, 2.0),
        users=(1, 4, 16),
        duration=8,
        warmup=4,
    ),
    # The cpu_count lie: Python 3.11 sizes asyncio's default executor from os.cpu_count() (the
    # host's 2 cores: 6 threads), Python 3.13 from os.process_cpu_count() (the cpuset's 1 core:
    # 5 threads), whatever the quota says; the knee of io/executor-default moves with it.
    "cpucount": Profile(
        series=(("uvicorn", "io/executor-default"), ("uvicorn@3.13", "io/executor-default")),
        users=(4, 8, 16),
        duration=8,
        warmup=4,
    ),
    # Everything against everything; hours, not minutes.
    "full": Profile(
        series=tuple((v, e) for v in VARIANTS for e in ENDPOINTS if e != "health"),
        cpus=(0.5, 1.0, 2.0),
        users=(1, 10, 20, 40, 60, 80, 120, 160),
        duration=10,
        warmup=3,
        repeats=3,
    ),
}
