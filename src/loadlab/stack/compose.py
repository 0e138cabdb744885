"""The Compose stack as the driver sees it: bring a variant up, run Locust, tear it all down.

Every call goes through the real `docker compose` CLI against compose.yaml; nothing here
talks to the Docker API directly, so what the driver does is what a user could type.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.errors import EngineError
from loadlab.plan.target import RUNTIME
from loadlab.plan.variants import image_of, service_of
from loadlab.shared import offered, traffic
from loadlab.stack.variables import PER_RUN

ROOT = Path(__file__).resolve().parents[3]  # the checkout: src/loadlab/stack/compose.py
LOCUST = ("locust-master", "locust-worker")


# Compose interpolates these from the environment; the driver owns them while it runs.
_OWNED = frozenset({*PER_RUN, "TARGET_TAG"})


@dataclass(frozen=True)
class LocustRun:
    """One headless Locust run against a target service: ``users`` for ``run_time`` seconds,
    or, with ``steps``, each step's users in turn (the run then lasts as long as its steps)."""

    target: str
    locust_class: str
    users: int
    run_time: float
    out: Path
    workers: int
    cpuset: str
    steps: tuple[offered.Step, ...] = ()
    settle: float = 0.0
    load: str = "closed"
    requests: tuple[traffic.Request, ...] = ()  # what each user sends (one, or a mix)
    arrivals: str = "uniform"
    max_in_flight: int = 1000  # per worker
    keep_samples: bool = False  # open loop: raw samples beside the histograms


@dataclass(frozen=True)
class Stack:
    """One Compose project of the lab; ``env`` is what compose.yaml interpolates."""

    # Compose's own variable, so tests and parallel labs can keep to a project of their own.
    project: str = field(default_factory=lambda: os.environ.get("COMPOSE_PROJECT_NAME", "loadlab"))
    env: Mapping[str, str] = field(default_factory=dict)
    root: Path = ROOT
    # Compose files after the lab's own: a target's services (a database, say).
    extra_files: tuple[Path, ...] = ()

    def _environ(self, extra: Mapping[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in _OWNED}
        return {**base, "COMPOSE_BAKE": "false", **self.env, **extra}

    def compose(
        self, *args: str, env: Mapping[str, str] = {}, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            "docker",
            "compose",
            "--project-name",
            self.project,
            "--project-directory",
            str(self.root),
            "--file",
            str(self.root / "compose.yaml"),
            *(a for f in self.extra_files for a in ("--file", str(f))),
            "--profile",
            "*",
            *args,
        ]
        try:
            done = subprocess.run(
                argv,
                env=self._environ(env),
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise EngineError(
                f"`docker compose {' '.join(args)}` took over {timeout:g} s"
            ) from None
        except FileNotFoundError:
            raise EngineError("docker is not installed; run `make engine`") from None
        if check and done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineError(f"`docker compose {' '.join(args[:2])}` failed: {last}")
        return done

    def up(self, variant: str, settings: Mapping[str, str], timeout: float = 120) -> None:
        """Start ``variant`` fresh with ``settings`` and wait until its healthcheck passes."""
        # Only a variant that names its Python picks the image; otherwise the stack's own
        # TARGET_TAG (a test's, say) or compose.yaml's default stands.
        named = {"TARGET_TAG": image_of(variant).rpartition(":")[2]} if "@" in variant else {}
        self.compose(
            "up",
            "--detach",
            "--wait",
            "--no-build",
            "--force-recreate",
            "--wait-timeout",
            str(int(timeout)),
            service_of(variant),
            env={**settings, **named},
            timeout=timeout + 30,
        )

    def stop(self, *services: str) -> None:
        names = [service_of(s) for s in services]
        self.compose("rm", "--stop", "--force", "--volumes", *names, timeout=120)

    def down(self) -> None:
        """Remove every container and network of this project, whatever state it is in."""
        self.compose("down", "--remove-orphans", "--volumes", "--timeout", "10", timeout=180)

    def url(self, variant: str) -> str:
        """Where the host reaches ``variant`` (its port is published on 127.0.0.1)."""
        out = self.compose("port", service_of(variant), "8000", timeout=30).stdout.strip()
        if not out:
            raise EngineError(f"{variant} publishes no port; is it running?")
        return "http://" + out.splitlines()[0]

    def container_ids(self, *services: str, env: Mapping[str, str] = {}) -> dict[str, str]:
        """Full container ids of ``services`` by container name (for reading their cgroups)."""
        names = [service_of(s) for s in services]
        out = self.compose("ps", "--format", "{{.Name}} {{.ID}}", *names, env=env).stdout
        found = {}
        for line in out.splitlines():
            name, _, short = line.partition(" ")
            full = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", short],
                                  capture_output=True, text=True).stdout.strip()  # fmt: skip
            if full:
                found[name] = full
        return found

    def exited(self, variant: str) -> tuple[int, float] | None:
        """(exit code, when) if ``variant``'s container has died; None while it runs."""
        ids = self.compose(
            "ps", "--all", "--quiet", service_of(variant), check=False
        ).stdout.split()
        if not ids:
            return (-1, 0.0)
        state = subprocess.run(
            ["docker", "inspect", "--format", "{{.State.Running}} {{.State.ExitCode}} "
             "{{.State.FinishedAt}}", ids[0]], capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        if not state or state[0] == "true":
            return None
        return int(state[1]), _epoch(state[2])

    def runtime(self, variant: str) -> dict:
        """The /runtime document of ``variant``, as read inside its container."""
        return get_json(self.url(variant) + RUNTIME)

    def run_locust(self, run: LocustRun, timeout: float,
                   on_start: Callable[[dict[str, str]], None] | None = None) -> int:  # fmt: skip
        """Run Locust's master and workers to completion; return the master's exit status.

        ``on_start`` gets the workers' container ids (by name) once they are up."""
        run.out.mkdir(parents=True, exist_ok=True)
        # The Locust image runs as its own unprivileged user, whoever calls the lab (root on CI):
        # it must be able to write its reports and samples into this bind mount.
        run.out.chmod(0o777)
        env = {
            "TARGET_SERVICE": service_of(run.target),
            "LOCUST_CLASS": run.locust_class,
            "LAB_REQUESTS": traffic.encode(run.requests),
            "USERS": str(run.users),
            "SPAWN_RATE": str(run.users),
            "RUN_TIME": f"{math.ceil(run.run_time)}s",
            "LAB_STEPS": offered.encode(list(run.steps)),
            "LAB_SETTLE": f"{run.settle:g}",
            "LAB_LOAD": run.load,
            "LAB_ARRIVALS": run.arrivals,
            "LAB_MAX_IN_FLIGHT": str(run.max_in_flight),
            "LAB_SAMPLES": "1" if run.keep_samples else "0",
            "LOCUST_OUT": str(run.out.resolve()),
            "LOCUST_WORKERS": str(run.workers),
            "LOCUST_CPUSET": run.cpuset,
        }
        try:
            self.compose("up", "--detach", "--no-build", "--force-recreate", *LOCUST, env=env)
            if on_start is not None:
                on_start(self.container_ids("locust-worker", env=env))
            waited = self.compose("wait", "locust-master", env=env, timeout=timeout, check=False)
            logs = self.compose("logs", "--no-color", *LOCUST, env=env, check=False)
            (run.out / "locust.log").write_text(logs.stdout + logs.stderr)
            return _exit_status(waited)
        finally:
            self.stop(*LOCUST)


def _exit_status(waited: subprocess.CompletedProcess[str]) -> int:
    # `compose wait` exits with the container's status; say so when it could not wait at all.
    if waited.returncode != 0 and "exited with status" not in waited.stdout + waited.stderr:
        last = (waited.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineError(f"waiting for locust-master failed: {last}")
    return waited.returncode


def _epoch(text: str) -> float:
    """Docker's RFC 3339 time (nanoseconds, Z) as epoch seconds."""
    stamp = text.rstrip("Z").split(".")
    seconds = dt.datetime.fromisoformat(stamp[0]).replace(tzinfo=dt.UTC).timestamp()
    return seconds + (float("0." + stamp[1]) if len(stamp) > 1 else 0.0)


def get_json(url: str, timeout: float = 10) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except (OSError, ValueError) as exc:
        raise EngineError(f"GET {url} failed: {exc}") from None


@contextlib.contextmanager
def session(stack: Stack) -> Iterator[Stack]:
    """Use the stack and always leave nothing behind, even on error or Ctrl-C."""
    try:
        yield stack
    finally:
        # A second Ctrl-C (or a SIGTERM) must not abort the clean-up the first one started.
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            stack.down()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
