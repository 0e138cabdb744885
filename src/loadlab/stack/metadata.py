"""The environment a run was measured in, collected by small collect_* functions.

Each function adds keys to one dict; a key it cannot read is left out (absent = unknown),
never guessed, so comparisons refuse only on facts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path

from loadlab.stack.compose import ROOT

IMAGES = {"target": "loadlab/target:latest", "locust": "loadlab/locust:latest"}


def _run(*argv: str, timeout: float = 60) -> str | None:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def collect_git(md: dict) -> None:
    if sha := _run("git", "rev-parse", "HEAD"):
        md["git_sha"] = sha
        md["git_dirty"] = bool(_run("git", "status", "--porcelain", "--untracked-files=no"))


def collect_lock(md: dict) -> None:
    lock = ROOT / "uv.lock"
    if lock.is_file():
        md["lock_sha256"] = hashlib.sha256(lock.read_bytes()).hexdigest()


def collect_images(md: dict) -> None:
    images = {}
    for name, ref in IMAGES.items():
        if image_id := _run("docker", "image", "inspect", "--format", "{{.Id}}", ref):
            images[name] = image_id
    if images:
        md["images"] = images


def collect_tools(md: dict) -> None:
    if docker := _run("docker", "version", "--format", "{{.Server.Version}}"):
        md["docker_version"] = docker
    if compose := _run("docker", "compose", "version", "--short"):
        md["compose_version"] = compose
    out = _run("docker", "run", "--rm", IMAGES["locust"], "--version")
    if out and out.split()[:1] == ["locust"]:
        md["locust_version"] = out.split()[1]


def collect_python(md: dict) -> None:
    md["python_version"] = platform.python_version()


def collect_host(md: dict) -> None:
    md["host_cpu_count"] = os.cpu_count()
    md["host_platform"] = platform.platform()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                md["host_cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass


COLLECTORS: tuple[Callable[[dict], None], ...] = (
    collect_git,
    collect_lock,
    collect_images,
    collect_tools,
    collect_python,
    collect_host,
)


def collect() -> dict:
    md: dict = {}
    for collector in COLLECTORS:
        collector(md)
    return md


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
