"""Least privilege and clean configuration: every lab container read back with `docker inspect`,
and Make variables meant for the sweep kept out of Compose."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import pytest

from loadlab.plan.placement import place
from loadlab.plan.variants import VARIANTS
from loadlab.shared.traffic import Request
from loadlab.stack.compose import LOCUST, ROOT, LocustRun, Stack
from tests.containers import fresh_stack

PROJECT = "loadlab-hardening"
# compose.yaml's tags: TARGET_TAG for the target image, IMAGE_TAG for Locust's.
IMAGES = {
    "TARGET_TAG": "loadlab/target:{}",
    "IMAGE_TAG": "loadlab/locust:{}",
}
# What a sweep variable looks like on the command line, and what Compose cannot parse in it.
SWEEP_INPUT = {
    "VARIANTS": "gunicorn,uvicorn-workers",
    "ENDPOINTS": "cpu/sync,cpu/process",
    "CPUS": "0.5,1",
    "USERS": "10,40",
    "THREAD_LIMIT": "64",
    "WORKERS": "3",
    "LOCUST_WORKERS": "x",
    "MEM_LIMIT": "lots",
}
MAKE_STATE = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")


def make(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    # A fresh top-level make, even under `make test`: the parent's MAKEFLAGS would leak in.
    base = {k: v for k, v in os.environ.items() if k not in MAKE_STATE}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _assignments(values: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in values.items()]


# --- Make variables never reach Compose by the environment ---------------------------------


@pytest.mark.parametrize("how", ["command line", "environment"])
def test_sweep_variables_are_not_exported_to_recipes(how):
    """Sweep variables, given on the command line or in the environment, reach no recipe's env."""
    probe = "h3-probe: ; @env"
    if how == "command line":
        done = make("--eval", probe, "h3-probe", *_assignments(SWEEP_INPUT))
    else:
        done = make("--eval", probe, "h3-probe", env=SWEEP_INPUT)
    assert done.returncode == 0, done.stderr
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert set(SWEEP_INPUT) & set(seen) == set()


def test_up_still_hands_its_settings_to_compose():
    """`make up VARIANT=.. CPUS=..` passes CPUS and the service settings to `docker compose up`."""
    done = make("-n", "up", "VARIANT=gunicorn", "CPUS=0.5", "THREAD_LIMIT=64")
    assert done.returncode == 0, done.stderr
    up = done.stdout.split("loadlab cpus", 1)[1]
    assert "--cpus '0.5'" in up and "CPUS='0.5' THREAD_LIMIT='64'" in up
    assert "docker compose --profile gunicorn up" in up


def test_sweep_hands_its_variables_to_loadlab_as_options():
    """`make sweep CPUS=0.5,1 USERS=10,40` runs `loadlab sweep --cpus='0.5,1' --users='10,40'`."""
    done = make("-n", "sweep", "CPUS=0.5,1", "USERS=10,40")
    assert done.returncode == 0, done.stderr
    assert "sweep --dry-run --cpus='0.5,1' --users='10,40'" in done.stdout


@pytest.mark.docker
def test_make_images_with_sweep_variables_builds(tmp_path):
    """`make images` under docs/method.md's `make sweep ... CPUS=0.5,1`: nothing interpolated."""
    tags = dict.fromkeys(IMAGES, "hardening-test")
    images = [image.format(tags[var]) for var, image in IMAGES.items()]
    latest = _image_ids([image.format("latest") for image in IMAGES.values()])
    try:
        # Built under a tag of its own: a lab measuring with :latest never sees a new image.
        done = make("images", *_assignments({**SWEEP_INPUT, **tags}), timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "interpolat" not in done.stdout + done.stderr
        assert _image_ids([image.format("latest") for image in IMAGES.values()]) == latest
        for image in images:
            inspected = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
            assert inspected.returncode == 0, image
    finally:
        subprocess.run(["docker", "image", "rm", *images], capture_output=True)


def _image_ids(images: list[str]) -> list[str]:
    return [
        subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", image],
            capture_output=True,
            text=True,
        ).stdout.strip()
        for image in images
    ]


# --- Least privilege, read back from the engine -------------------------------------------


@pytest.fixture(scope="module")
def stack():
    """A Compose project of its own (random loopback ports), emptied before and after."""
    images = tuple(image.format(os.environ.get(var, "latest")) for var, image in IMAGES.items())
    yield from fresh_stack(PROJECT, images)


def inspect(stack: Stack, service: str) -> list[dict]:
    ids = stack.compose("ps", "--all", "--quiet", service).stdout.split()
    assert ids, f"{service} has no container"
    done = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def assert_least_privilege(container: dict) -> None:
    host, config = container["HostConfig"], container["Config"]
    name = container["Name"]
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"], name
    assert "no-new-privileges:true" in host["SecurityOpt"], name
    assert host["PidsLimit"] and host["PidsLimit"] > 0, name
    assert host["Memory"] > 0, name
    assert host["ReadonlyRootfs"] is True, name
    assert "/tmp" in (host["Tmpfs"] or {}), name
    assert config["User"].split(":")[0] not in ("", "0", "root"), name
    assert not host["Privileged"], name
    for bindings in (host["PortBindings"] or {}).values():
        assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}, name


@pytest.mark.docker
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_runs_with_least_privilege(stack, variant):
    """Each variant is healthy with no capabilities, no-new-privileges, limits, a read-only root,
    a non-root user and ports only on 127.0.0.1, and nothing in its log about a refused write."""
    stack.up(variant, {"CPUS": "1", "CPUSET": place(1).target_cpuset})
    try:
        [container] = inspect(stack, variant)
        assert_least_privilege(container)
        assert container["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostIp"] == "127.0.0.1"
        uid = stack.compose("exec", "-T", variant, "id", "-u").stdout.strip()
        assert uid == "10001"
        assert stack.runtime(variant)["workers"] >= 1
        # A server that survives a refused write still says so (gunicorn's control socket did).
        logs = stack.compose("logs", "--no-color", variant).stdout
        assert "Errno" not in logs and "Traceback" not in logs, logs[-2000:]
    finally:
        stack.stop(variant)


@pytest.mark.docker
def test_read_only_root_still_serves_every_kind_of_work(stack):
    """On the read-only root, process pools (semaphores in /dev/shm) and /tmp work; / does not."""
    stack.up("uvicorn", {"CPUS": "1", "CPUSET": place(1).target_cpuset, "WORK_SECONDS": "0.01"})
    try:
        base = stack.url("uvicorn")
        for path in ("/cpu/process?iterations=1000", "/io/executor-custom", "/background/sync"):
            with urllib.request.urlopen(base + path, timeout=30) as response:
                assert response.status == 200, path
        write = "touch /tmp/ok && ! touch /app/no 2>/dev/null"
        assert (
            stack.compose("exec", "-T", "uvicorn", "bash", "-c", write, check=False).returncode == 0
        )
    finally:
        stack.stop("uvicorn")


@pytest.mark.docker
def test_locust_containers_run_with_least_privilege(stack):
    """Locust's master and workers: the same limits, user 10002 whoever calls, no port at all."""
    stack.compose("create", "--no-build", "--force-recreate", *LOCUST, env={"LOCUST_WORKERS": "2"})
    try:
        containers = [c for service in LOCUST for c in inspect(stack, service)]
        assert len(containers) == 3
        for container in containers:
            assert_least_privilege(container)
            assert container["Config"]["User"] == "10002:10002"
            assert not container["HostConfig"]["PortBindings"]
    finally:
        stack.stop(*LOCUST)


@pytest.mark.docker
def test_locust_writes_its_results_on_the_read_only_root(stack, tmp_path):
    """A real Locust run as 10002 writes its CSVs, report and samples into a fresh out directory
    that the driver created (pytest's tmp dirs are 0700 root: the driver must open it)."""
    stack.up("uvicorn", {"CPUS": "1", "CPUSET": place(1).target_cpuset, "WORK_SECONDS": "0.05"})
    out = tmp_path / "point"
    run = LocustRun(
        target="uvicorn",
        locust_class="Target",
        requests=(Request("io/async", "/io/async"),),
        users=4,
        run_time=3,
        out=out,
        workers=2,
        cpuset=place(1).locust_cpuset,
    )
    try:
        status = stack.run_locust(run, timeout=120)
    finally:
        stack.stop("uvicorn")
    log = (out / "locust.log").read_text()
    assert status == 0, log[-2000:]
    assert "Read-only file system" not in log and "Permission denied" not in log
    assert (out / "report.html").stat().st_size > 0
    assert len(list(out.glob("samples-*.csv"))) == 2
