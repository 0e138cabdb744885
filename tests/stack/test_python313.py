"""The cpu_count lie, in real containers: what Python 3.11 and 3.13 targets size themselves by.

In a container os.cpu_count() is the host's CPU count whatever the cpuset; 3.13 adds
os.process_cpu_count(), which follows the cpuset, and sizes ThreadPoolExecutor() (asyncio's
and uvloop's default executor) by it. The images: `make images` (3.11, tag latest) and
`make images-py313` (3.13, tag py3.13).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from loadlab.plan.variants import VARIANTS
from loadlab.stack.compose import Stack, get_json
from tests.containers import leftovers

pytestmark = pytest.mark.docker

PROJECT = "loadlab-py313"
PORTS = {f"{v.upper().replace('-', '_')}_PORT": "0" for v in VARIANTS}
# One core of quota on core 0 alone: 3.13 then sees one CPU to run on, 3.11 the host's.
ONE_CORE = {"CPUS": "1", "CPUSET": "0"}
HOST_CPUS = os.cpu_count() or 1


def _image(tag: str) -> None:
    image = f"loadlab/target:{tag}"
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode:
        make = "make images-py313" if tag == "py3.13" else "make images"
        pytest.fail(f"image {image} is missing: run `{make}`")


@pytest.fixture(scope="module")
def project():
    """A Compose project of this module's own, emptied before and after."""
    s = Stack(project=PROJECT, env=PORTS)
    s.down()
    yield s
    s.down()
    assert leftovers(PROJECT) == []


def _on(project: Stack, tag: str) -> Stack:
    _image(tag)
    return Stack(project=project.project, env={**project.env, "TARGET_TAG": tag})


@pytest.mark.parametrize(
    ("tag", "python", "executor"),
    [
        # 3.11: min(32, os.cpu_count() + 4), the host's cores whatever the cpuset.
        ("latest", "3.11.", min(32, HOST_CPUS + 4)),
        # 3.13: min(32, os.process_cpu_count() + 4), the one core of the cpuset: 5.
        ("py3.13", "3.13.", 5),
    ],
)
def test_default_executor_is_sized_by_the_interpreter(project, tag, python, executor):
    """/runtime reports the Python, both CPU counts and the default executor size it chose."""
    stack = _on(project, tag)
    stack.up("uvicorn", ONE_CORE)
    try:
        before = stack.runtime("uvicorn")
        # The first run_in_executor(None, ...) makes the executor; then it can be read.
        get_json(stack.url("uvicorn") + "/io/executor-default?seconds=0")
        after = stack.runtime("uvicorn")
    finally:
        stack.stop("uvicorn")
    assert before["python"].startswith(python)
    assert before["event_loop"].startswith("uvloop")
    assert (before["cpu_count"], before["affinity"]) == (HOST_CPUS, 1)
    if python == "3.13.":
        assert before["process_cpu_count"] == 1
    else:
        assert "process_cpu_count" not in before
    assert (before["default_executor_workers"], before["default_executor_source"]) == (
        executor,
        "computed",
    )
    assert (after["default_executor_workers"], after["default_executor_source"]) == (
        executor,
        "read",
    )


# The recipes (target/settings.py auto_workers): one per CPU for uvicorn, 2 x CPUs + 1 for gunicorn.
AUTO = {"uvicorn-workers": HOST_CPUS, "gunicorn": 2 * HOST_CPUS + 1}


@pytest.mark.parametrize("variant", sorted(AUTO))
def test_auto_workers_count_the_host_not_the_cpuset(project, variant):
    """WORKERS=auto on a one-core cpuset starts the recipe's count for all the host's CPUs."""
    stack = _on(project, "py3.13")
    stack.up(variant, {**ONE_CORE, "WORKERS": "auto"})
    try:
        info = stack.runtime(variant)
    finally:
        stack.stop(variant)
    assert (info["workers_setting"], info["workers"]) == ("auto", AUTO[variant])
    assert info["process_cpu_count"] == 1  # and they all share that one core
