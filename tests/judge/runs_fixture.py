"""Small builders of run directories for the judging tests: run.json written as plain data.

Written as the document itself (not through Run.create) so the fixtures carry what a run of
either format holds: format 1 fields, and the format 2 ones (rate, load, flags, intervals,
config.resolved.locust_workers) that format 1 readers ignore.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from loadlab.results import FORMAT_VERSION, Run

HOST_X = {"host_cpu_model": "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", "host_cpu_count": 4}
HOST_Y = {"host_cpu_model": "AMD EPYC 7763 64-Core Processor", "host_cpu_count": 4}
METADATA = {
    **HOST_X,
    "python_version": "3.11.9",
    "git_sha": "a" * 40,
    "git_dirty": False,
    "lock_sha256": "1" * 64,
    "images": {"target": "sha256:aaa", "locust": "sha256:lll"},
    "started_at": "2026-11-20T03:17:00+00:00",
}
RUNTIME = {
    "python": "3.11.2",
    "implementation": "cpython",
    "versions": {"fastapi": "0.165.0", "starlette": "1.10.0", "anyio": "4.16.0"},
    "cpu_count": 4,
    "affinity": 1,
    "cpu_quota": 1.0,
    "thread_limiter_tokens": 40,
}
SERIES = (("uvicorn", "io/async"), ("uvicorn", "io/sync"))
USERS = (10, 80)


def point(
    variant: str = "uvicorn",
    endpoint: str = "io/sync",
    cpus: float = 1.0,
    users: int | None = 40,
    repeat: int = 1,
    *,
    rps: float = 200.0,
    p95: float = 210.0,
    ci: float | None = 0.01,
    status: str = "ok",
    error: str | None = None,
    rate: float | None = None,
    requests: int = 2000,
    failures: int = 0,
    runtime: dict | None = None,
) -> dict:
    """One point as run.json holds it; ``ci`` is the intervals' relative half-width."""
    stats = {
        "requests": requests,
        "failures": failures,
        "failure_ratio": failures / requests if requests else None,
        "rps": rps,
        "mean_ms": p95 * 0.95,
        "p50_ms": p95 * 0.95,
        "p95_ms": p95,
        "p99_ms": p95 * 1.02,
        "max_ms": p95 * 1.05,
    }
    if ci is not None:
        stats["rps_ci"] = [rps * (1 - ci), rps * (1 + ci)]
        stats["p95_ci"] = [p95 * (1 - 2 * ci), p95 * (1 + 2 * ci)]
    slug = endpoint.replace("/", "-")
    load = f"u{users}" if rate is None else f"rate{rate:g}"
    return {
        "id": f"{variant}__{slug}__cpus{cpus:g}__{load}__r{repeat}",
        "variant": variant,
        "endpoint": endpoint,
        "cpus": cpus,
        "users": users,
        "rate": rate,
        "load": "closed" if rate is None else "open",
        "repeat": repeat,
        "status": status,
        "flags": [],
        "error": error,
        "runtime": copy.deepcopy(RUNTIME if runtime is None else runtime),
        "stats": stats if status != "pending" else None,
        "prediction": None,
        "placement": {"cpus": cpus, "target_cpuset": "0", "locust_cpuset": "1-3", "shared": False},
        "started_at": None,
        "finished_at": None,
    }


def config(points: list[dict], **settings: object) -> dict:
    """config with its resolved part, as the sweep writes it (format 2 names)."""
    resolved = {
        "series": [list(s) for s in dict.fromkeys((p["variant"], p["endpoint"]) for p in points)],
        "cpus": sorted({p["cpus"] for p in points}),
        "users": sorted({p["users"] for p in points if p["users"] is not None}) or None,
        "rates": sorted({p["rate"] for p in points if p["rate"] is not None}) or None,
        "load": "closed",
        "duration": 10,
        "warmup": 2,
        "repeats": max(p["repeat"] for p in points),
        "work_seconds": 0.2,
        "target_env": {"WORK_SECONDS": "0.2"},
        "locust_workers": 2,
        "max_failure_ratio": 0.001,
        "arrivals": None,
    }
    resolved.update(settings)
    return {
        "profile": "nightly",
        "locust_workers": resolved["locust_workers"],
        "resolved": resolved,
    }


def grid(
    rps: dict | None = None, *, repeats: int = 2, slower: dict | None = None, **kwargs: object
) -> list[dict]:
    """Every series x users x repeat of the small nightly at WORK_SECONDS=0.2.

    ``rps`` overrides a (endpoint, users) throughput; ``slower`` makes an endpoint's work that
    many times longer, as a slower target image would (rps divided, p95 multiplied)."""
    found = []
    for variant, endpoint in SERIES:
        factor = (slower or {}).get(endpoint, 1.0)
        for users in USERS:
            for repeat in range(1, repeats + 1):
                base = 50.0 * users / 10 if endpoint == "io/async" else min(users, 40) / 0.2
                value = (rps or {}).get((endpoint, users), base / factor) * (1 + 0.002 * repeat)
                p95 = (200.0 * max(1, users / 40) + repeat) * factor
                found.append(
                    point(
                        variant, endpoint, users=users, repeat=repeat, rps=value, p95=p95, **kwargs
                    )
                )
    return found


def write(
    directory: Path,
    points: list[dict],
    *,
    metadata: dict | None = None,
    settings: dict | None = None,
    raw_config: dict | None = None,
) -> Run:
    """Write ``directory``/run.json and return it loaded, as the lab would read it."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "version": FORMAT_VERSION,
        "run_id": directory.name,
        "config": raw_config or config(points, **(settings or {})),
        "metadata": {**METADATA, **(metadata or {})},
        "matrix": [
            {k: p[k] for k in ("id", "variant", "endpoint", "cpus", "users", "repeat")}
            for p in points
        ],
        "points": points,
    }
    (directory / "run.json").write_text(json.dumps(document, indent=1))
    return Run.load(directory)
