"""A Compose project of its own for the container tests, so a user's running lab is never
touched: its name, its leftovers, a fresh stack (the `stack` fixture is in conftest.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from loadlab.plan.variants import VARIANTS
from loadlab.stack.compose import Stack

PROJECT = "loadlab-test"
# Port 0: Docker picks a free loopback port; the tests ask Compose which one.
RANDOM_PORTS = {f"{v.upper().replace('-', '_')}_PORT": "0" for v in VARIANTS}


def leftovers(project: str = PROJECT) -> list[str]:
    """Containers and networks of ``project`` that still exist."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind, name in ((["ps", "-a"], "{{.Names}}"), (["network", "ls"], "{{.Name}}")):
        out = subprocess.run(
            ["docker", *kind, "--filter", label, "--format", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found += out.split()
    return found


def fresh_stack(project: str, images: tuple[str, ...]) -> Iterator[Stack]:
    """A Compose project of its own (random loopback ports), emptied before and after; the
    images must exist (make images)."""
    for image in images:
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode:
            pytest.fail(f"image {image} is missing: run `make images` (make test does)")
    s = Stack(project=project, env=RANDOM_PORTS)
    s.down()
    yield s
    s.down()
    assert leftovers(project) == []


def spinner(name: str, settle: float = 0.0, image: str = "loadlab/target:latest") -> Iterator[str]:
    """A container spinning two Python processes under --cpus 0.5, its full id; removed even
    if a test fails. Two spinners want a core each and a large CPU weight wins the container
    its share on a busy host, so the quota, not a neighbour, holds it to half a core."""
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode:
        pytest.fail(f"image {image} is missing: run `make images` (make test does)")
    started = subprocess.run(
        ["docker", "run", "--detach", "--name", name, "--cpus", "0.5", "--cpu-shares", "8192",
         image, "python3", "-c", "import os; os.fork(); exec('while 1: pass')"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stderr
        time.sleep(settle)
        yield started.stdout.strip()
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=60)
