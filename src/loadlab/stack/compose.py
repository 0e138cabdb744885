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
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from loadlab.engines.contexts import Engines, argv
from loadlab.errors import EngineError
from loadlab.plan.target import RUNTIME
from loadlab.plan.variants import image_of, service_of
from loadlab.shared import offered, traffic
from loadlab.stack import spread
from loadlab.stack.variables import ENGINE_RUN, PER_RUN

ROOT = Path(__file__).resolve().parents[3]  # the checkout: src/loadlab/stack/compose.py
LOCUST = ("locust-master", "locust-worker")
ENGINES_FILE = "compose.engines.yaml"  # added when a run spreads over Docker engines
REMOTE_OUT = "locust-out"  # on an engine other than the driver's own: a volume, copied back
READY_POLL = 0.1  # s between the driver's own readiness probes of a starting target


# Compose interpolates these from the environment; the driver owns them while it runs.
_OWNED = frozenset({*PER_RUN, *ENGINE_RUN, "TARGET_TAG"})


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
    engines: Engines = field(default_factory=Engines)  # where the target and Locust run
    # The engine this object talks to; None: the target's (see ``on``).
    context: str | None = None
    clock_offsets: Mapping[str, float] = field(default_factory=dict)  # by engine label, s
    facts: Mapping = field(default_factory=dict)  # the engines, their images and clocks

    def __post_init__(self) -> None:
        if self.context is None and self.engines.target is not None:
            object.__setattr__(self, "context", self.engines.target)

    def on(self, context: str | None) -> Stack:
        """The same project on another engine of the run (a load engine)."""
        return replace(self, context=context, engines=replace(self.engines, target=context))

    def docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`docker ARGS` on this object's engine."""
        return subprocess.run([*argv(self.context), *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip

    def _files(self) -> list[str]:
        files = [self.root / "compose.yaml", *self.extra_files]
        if not self.engines.default:
            files.append(self.root / ENGINES_FILE)
        return [a for f in files for a in ("--file", str(f))]

    def _environ(self, extra: Mapping[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in _OWNED}
        return {**base, "COMPOSE_BAKE": "false", "TARGET_BIND": self.engines.target_address,
                **self.env, **extra}  # fmt: skip

    def compose(
        self, *args: str, env: Mapping[str, str] = {}, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [
            *argv(self.context),
            "compose",
            "--project-name",
            self.project,
            "--project-directory",
            str(self.root),
            *self._files(),
            "--profile",
            "*",
            *args,
        ]
        try:
            done = subprocess.run(
                command,
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
            where = f" on {self.context}" if self.context else ""
            raise EngineError(f"`docker compose {' '.join(args[:2])}`{where} failed: {last}")
        return done

    def up(self, variant: str, settings: Mapping[str, str], timeout: float = 120) -> None:
        """Start ``variant`` fresh with ``settings``; return once it is ready (``_until_ready``)."""
        # Only a variant that names its Python picks the image; otherwise the stack's own
        # TARGET_TAG (a test's, say) or compose.yaml's default stands.
        named = {"TARGET_TAG": image_of(variant).rpartition(":")[2]} if "@" in variant else {}
        env = {**settings, **named}
        self.compose("up", "--detach", "--no-build", "--force-recreate", service_of(variant),
                     env=env, timeout=timeout + 30)  # fmt: skip
        health = {**self.env, **env}.get("TARGET_HEALTH", "/health")  # compose.yaml's default
        self._until_ready(variant, health, timeout)

    def _until_ready(self, variant: str, health: str, timeout: float) -> None:
        """Until the health path answers 2xx where the load will reach it and every worker
        process has answered /runtime (one still importing the app would share the first
        window's CPU); Docker's own verdicts, exited or unhealthy, end the wait at once.

        `compose up --wait` reads Docker's healthcheck, whose first probe runs an interval
        (2 s) after the start: a target that answered after 1.4 s was waited on for 3 s, on
        every start of every sweep. A shorter interval would probe inside the measured
        container all through the windows."""
        deadline = time.monotonic() + timeout
        ids = self.compose("ps", "--all", "--quiet", service_of(variant)).stdout.split()
        url = None
        while True:
            self._alive(ids)
            url = url or self._published(variant)
            if url is not None and _answers(url + health) and _every_worker(url):
                return
            if time.monotonic() > deadline:
                raise EngineError(f"{service_of(variant)} was not ready within {timeout:g} s")
            time.sleep(READY_POLL)

    def _alive(self, ids: list[str]) -> None:
        """Raise EngineError if a container of ``ids`` exited or Docker found it unhealthy."""
        if not ids:
            raise EngineError("no container was created")
        form = "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}" \
               "{{.State.Health.Status}}{{end}}"  # fmt: skip
        for line in self.docker("inspect", "--format", form, *ids).stdout.splitlines():
            name, status, code, *health = line.split()
            if status in ("exited", "dead"):
                raise EngineError(f"container {name.lstrip('/')} exited ({code})")
            if health == ["unhealthy"]:
                raise EngineError(f"container {name.lstrip('/')} is unhealthy")

    def _published(self, variant: str) -> str | None:
        try:
            return self.url(variant)
        except EngineError:
            return None  # not yet published: the container is still being started

    def stop(self, *services: str) -> None:
        names = [service_of(s) for s in services]
        self.compose("rm", "--stop", "--force", "--volumes", *names, timeout=120)

    def down(self) -> None:
        """Remove every container, network and volume of this project on every engine of the
        run, whatever state it is in; the first failure is raised after all were tried."""
        failed: list[EngineError] = []
        for context in self.engines.named():
            try:
                self.on(context).compose("down", "--remove-orphans", "--volumes", "--timeout",
                                         "10", timeout=180)  # fmt: skip
            except EngineError as exc:
                failed.append(exc)
        if failed:
            raise failed[0]

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
            full = self.docker("inspect", "--format", "{{.Id}}", short).stdout.strip()
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
        state = self.docker("inspect", "--format", "{{.State.Running}} {{.State.ExitCode}} "
                            "{{.State.FinishedAt}}", ids[0]).stdout.split()  # fmt: skip
        if not state or state[0] == "true":
            return None
        return int(state[1]), _epoch(state[2])

    def runtime(self, variant: str) -> dict:
        """The /runtime document of ``variant``, as read inside its container."""
        return get_json(self.url(variant) + RUNTIME)

    def run_locust(self, run: LocustRun, timeout: float,
                   on_start: spread.OnStart | None = None) -> int:  # fmt: skip
        """Run Locust's master and workers to completion; return the master's exit status.

        ``on_start`` gets the workers' container ids (by name), and their engine, once they
        are up."""
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
        if not self.engines.default:
            return spread.run(self, run, env, timeout, on_start, REMOTE_OUT)
        try:
            self.compose("up", "--detach", "--no-build", "--force-recreate", *LOCUST, env=env)
            if on_start is not None:
                on_start(self.container_ids("locust-worker", env=env), None)
            waited = self.compose("wait", "locust-master", env=env, timeout=timeout, check=False)
            logs = self.compose("logs", "--no-color", *LOCUST, env=env, check=False)
            (run.out / "locust.log").write_text(logs.stdout + logs.stderr)
            return spread.waited_status(waited)
        finally:
            self.stop(*LOCUST)


def _epoch(text: str) -> float:
    """Docker's RFC 3339 time (nanoseconds, Z) as epoch seconds."""
    stamp = text.rstrip("Z").split(".")
    seconds = dt.datetime.fromisoformat(stamp[0]).replace(tzinfo=dt.UTC).timestamp()
    return seconds + (float("0." + stamp[1]) if len(stamp) > 1 else 0.0)


def _answers(url: str) -> bool:
    """Whether GET ``url`` answers 2xx now (a probe: any failure is "not yet")."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):  # HTTPError (a 503 while it starts) is an OSError
        return False


def _every_worker(url: str) -> bool:
    """Whether each of the server's worker processes answered /runtime in a few reads (each
    read reaches one of them: they share the listening socket)."""
    seen: set[int] = set()
    reads, workers = 0, 1
    while reads < 4 * workers:
        try:
            runtime = get_json(url + RUNTIME, timeout=2)
        except EngineError:
            return False
        reads, workers = reads + 1, int(runtime.get("workers") or 1)
        seen.add(runtime.get("pid"))
        if len(seen) >= workers:
            return True
    return False


def get_json(url: str, timeout: float = 10) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except (OSError, ValueError) as exc:
        raise EngineError(f"GET {url} failed: {exc}") from None


@contextlib.contextmanager
def session(stack: Stack, keep: bool = False) -> Iterator[Stack]:
    """Use the stack and always leave nothing behind, even on error or Ctrl-C; with ``keep``,
    leave it up when the block succeeds (the caller's own session takes it down)."""
    try:
        yield stack
    except BaseException:
        _down(stack)
        raise
    if not keep:
        _down(stack)


def _down(stack: Stack) -> None:
    # A second Ctrl-C (or a SIGTERM) must not abort the clean-up the first one started.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.down()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
