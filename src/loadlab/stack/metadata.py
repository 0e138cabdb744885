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

from loadlab.stack import image_facts
from loadlab.stack.compose import ROOT

IMAGES = {"target": "loadlab/target:latest", "locust": "loadlab/locust:latest"}
QUESTION = "locust --version"


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
    if locust := locust_version(md.get("images", {}).get("locust")):
        md["locust_version"] = locust


def locust_version(image_id: str | None, facts: Path | None = None) -> str | None:
    """What `locust --version` says in the Locust image: asked once per image id."""
    if found := image_facts.known(image_id, QUESTION, facts):
        return found
    out = _run("docker", "run", "--rm", image_id or IMAGES["locust"], "--version")
    words = out.split() if out else []
    if words[:1] != ["locust"] or len(words) < 2:
        return None
    image_facts.remember(image_id, QUESTION, words[1], facts)
    return words[1]


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
