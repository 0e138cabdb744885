"""One Locust run spread over Docker engines: Locust's own distributed mode, nothing new.

The master runs on the first load engine and every load engine runs its share of the workers
(`up --no-deps --scale`), which connect to the master by name on its own engine and at
MASTER_ADDRESS from the others. When the load runs on another engine than the target, it
reaches the target at its published address (TARGET_ADDRESS), never by a Compose network
name that only one engine knows. Each engine's Locust writes into a volume of its own engine,
copied back with `docker cp` once the run ends (the driver's directories exist on its own host
only), and the volume is removed with the containers, so no run reads another's files. Each
engine's clock offset (measured by ``engines.clocks``) goes to its Locust processes, which
correct their timestamps to the driver's clock.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from loadlab.engines.contexts import MASTER_PORT, Engines, label
from loadlab.errors import EngineError
from loadlab.plan.variants import service_of

OnStart = Callable[[dict[str, str], "str | None"], None]  # worker ids by name, their engine


class Stack(Protocol):
    """What a run over engines needs of the Compose stack (compose.Stack, which calls this)."""

    project: str
    engines: Engines
    clock_offsets: Mapping[str, float]

    def on(self, context: str | None) -> Stack: ...
    def compose(self, *args: str, env: Mapping[str, str] = ..., timeout: float = ...,
                check: bool = ...) -> subprocess.CompletedProcess[str]: ...  # fmt: skip
    def docker(self, *args: str, timeout: float = ...) -> subprocess.CompletedProcess[str]: ...
    def container_ids(self, *services: str, env: Mapping[str, str] = ...) -> dict[str, str]: ...
    def url(self, variant: str) -> str: ...
    def stop(self, *services: str) -> None: ...


class LocustRun(Protocol):
    target: str
    workers: int
    out: Path


def target_url(stack: Stack, target: str) -> str:
    """Where Locust reaches the target: by service name on the target's own engine, at its
    published address from any other."""
    if not stack.engines.split:
        return f"http://{service_of(target)}:8000"
    return stack.url(target)


def run(stack: Stack, locust: LocustRun, env: Mapping[str, str], timeout: float,
        on_start: OnStart | None, out_volume: str) -> int:  # fmt: skip
    """Master, then every engine's workers; the master's exit status once it ends."""
    engines = stack.engines
    loads = engines.load
    per, extra = divmod(locust.workers, len(loads))
    if extra:
        raise EngineError(f"{locust.workers} Locust workers do not split over {len(loads)} engines")
    spread = len(loads) > 1
    base = {**env, "LOCUST_OUT": out_volume, "LOCUST_WORKERS": str(locust.workers),
            "LOCUST_TARGET_URL": target_url(stack, locust.target),
            "MASTER_BIND": engines.master_address if spread else "127.0.0.1",
            "MASTER_PORT": str(MASTER_PORT) if spread else ""}  # fmt: skip
    master = stack.on(engines.master)
    try:
        master.compose("up", "--detach", "--no-build", "--force-recreate", "locust-master",
                       env=_at(stack, engines.master, base))  # fmt: skip
        for context in loads:
            at = _at(stack, context, base)
            if context != engines.master:
                at["LOCUST_MASTER_HOST"] = engines.master_address
            engine = stack.on(context)
            engine.compose("up", "--detach", "--no-build", "--force-recreate", "--no-deps",
                           "--scale", f"locust-worker={per}", "locust-worker", env=at)  # fmt: skip
            if on_start is not None:  # the engine in each name: each engine has a worker-1
                ids = engine.container_ids("locust-worker", env=at)
                on_start({f"{label(context)}/{name}": i for name, i in ids.items()}, context)
        waited = master.compose("wait", "locust-master", env=base, timeout=timeout, check=False)
        _collect(stack, locust.out, base)
        return waited_status(waited)
    finally:
        for context in loads:
            stack.on(context).stop("locust-master", "locust-worker")
            stack.on(context).docker("volume", "rm", "--force", f"{stack.project}_{out_volume}")


def _at(stack: Stack, context: str | None, env: Mapping[str, str]) -> dict[str, str]:
    offset = stack.clock_offsets.get(label(context), 0.0)
    return {**env, "LAB_CLOCK_OFFSET": f"{offset:.6f}"}


def _collect(stack: Stack, out: Path, env: Mapping[str, str]) -> None:
    """Every engine's Locust files and logs into ``out``: the master's engine from the master
    (its workers share its volume), each other engine from one of its workers."""
    logs = []
    for context in stack.engines.load:
        engine = stack.on(context)
        service = "locust-master" if context == stack.engines.master else "locust-worker"
        ids = engine.compose("ps", "--all", "--quiet", service, env=env).stdout.split()
        if not ids:
            raise EngineError(f"no {service} container on {label(context)} to copy results from")
        done = engine.docker("cp", f"{ids[0]}:/out/.", str(out), timeout=300)
        if done.returncode != 0:
            raise EngineError(
                f"copying Locust's files from {label(context)} failed: "
                f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}"
            )
        said = engine.compose("logs", "--no-color", "locust-master", "locust-worker", env=env,
                              check=False)  # fmt: skip
        logs.append(f"=== engine {label(context)} ===\n{said.stdout}{said.stderr}")
    (out / "locust.log").write_text("".join(logs))


def waited_status(waited: subprocess.CompletedProcess[str]) -> int:
    # `compose wait` exits with the container's status; say so when it could not wait at all.
    if waited.returncode != 0 and "exited with status" not in waited.stdout + waited.stderr:
        last = (waited.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineError(f"waiting for locust-master failed: {last}")
    return waited.returncode
