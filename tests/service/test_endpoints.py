"""Answers, validation and introspection of the target service."""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from target import runtime
from target.settings import Settings, auto_workers
from target.work import expected_burn

CGROUPS = Path(__file__).resolve().parents[1] / "stack" / "fixtures" / "cgroup"


def recorded(tree: str, prefix: str) -> Path:
    """The one recorded container cgroup under ``tree`` whose name starts with ``prefix``."""
    (found,) = (CGROUPS / tree).glob(f"{prefix}*")
    return found


V1_THROTTLED = recorded("v1/cpu/docker", "ced7f04a")  # docker run --cpus 0.5
V1_UNLIMITED = recorded("v1/cpu/docker", "157b07c1")  # no --cpus
V2_THROTTLED = recorded("v2/system.slice", "docker-4d9a3c0f")  # cpu.max 50000 100000
V2_NO_CPU = recorded("v2/docker", "e8b1f70c")  # only the pids controller delegated
IO = ["async", "sync", "threadpool", "executor-default", "executor-custom", "blocking-in-async"]
CPU = ["sync", "async", "process"]


@pytest.fixture(scope="module")
def server(serve):
    return serve(
        thread_limit=7,
        executor_workers=5,
        process_workers=2,
        work_seconds=0.01,
        cpu_iterations=1000,
    )


@pytest.mark.parametrize("style", IO)
def test_io_endpoints_answer_with_their_name(server, style):
    """Every /io endpoint sleeps the requested time and names itself in the answer."""
    status, body = server.get(f"/io/{style}?seconds=0.02")
    assert status == 200
    assert body["endpoint"] == f"io/{style}" and body["seconds"] == 0.02


@pytest.mark.parametrize("style", CPU)
def test_cpu_endpoints_compute_the_right_answer(server, style):
    """Every /cpu endpoint returns the closed-form result of its loop and the CPU time it took."""
    status, body = server.get(f"/cpu/{style}?iterations=54321")
    assert status == 200
    assert body["result"] == expected_burn(54321)
    assert body["cpu_seconds"] > 0


def test_defaults_come_from_settings(server):
    """Without query parameters the endpoints use WORK_SECONDS and CPU_ITERATIONS."""
    assert server.get("/io/async")[1]["seconds"] == 0.01
    assert server.get("/cpu/sync")[1]["iterations"] == 1000


@pytest.mark.parametrize(
    "query",
    [
        "/io/sync?seconds=-1",
        "/io/async?seconds=abc",
        "/io/threadpool?seconds=1e9",
        "/cpu/sync?iterations=0",
        "/cpu/process?iterations=x",
        "/background/sync?seconds=-0.5",
    ],
)
def test_bad_query_parameters_get_422(server, query):
    """A bad query parameter is rejected with 422 at once, never slept on."""
    assert server.get(query, timeout=5)[0] == 422


def test_runtime_reports_the_configured_values(server):
    """/runtime reports the limiter, executors, server and machine the process really has."""
    info = server.runtime()
    assert info["server"] == "uvicorn" and info["workers"] == 1 and info["workers_setting"] == 1
    assert info["thread_limiter_tokens"] == 7
    assert info["custom_executor_workers"] == 5
    assert info["process_workers"] == 2
    assert info["default_executor_workers"] == min(32, os.cpu_count() + 4)
    assert info["cpu_count"] == os.cpu_count()
    if hasattr(os, "process_cpu_count"):  # 3.13+
        assert info["process_cpu_count"] == os.process_cpu_count()
    else:
        assert "process_cpu_count" not in info  # absent means unknown
    assert info["affinity"] == len(os.sched_getaffinity(0))
    assert "cpu_quota" in info  # its value: test_the_cpu_quota_is_read_from_the_cgroup_files
    assert info["python"] == sys.version.split()[0]
    assert info["pid"] != os.getpid() and info["active_threads"] >= 1
    for package in ("fastapi", "starlette", "anyio", "uvicorn", "gunicorn"):
        assert info["versions"][package]


def test_gunicorn_workers_are_reported(serve):
    """SERVER=gunicorn WORKERS=2 runs gunicorn with uvicorn workers and /runtime says so."""
    server = serve(server="gunicorn", workers=2)
    info = server.runtime()
    assert info["server"] == "gunicorn" and info["workers"] == 2 == info["workers_setting"]
    assert server.get("/io/sync?seconds=0.01")[0] == 200


def test_default_executor_is_computed_until_made_then_read(serve):
    """Before the first run_in_executor(None) the size is computed, after it read from the loop."""
    server = serve(work_seconds=0.013)  # a server of its own: nothing has used its executor
    before = server.runtime()
    assert before["event_loop"].startswith("uvloop")  # where the attribute is not readable
    assert server.get("/io/executor-default?seconds=0")[0] == 200
    after = server.runtime()
    with ThreadPoolExecutor() as probe:  # this interpreter's own sizing rule
        expected = probe._max_workers
    assert (before["default_executor_workers"], before["default_executor_source"]) == (
        expected,
        "computed",
    )
    assert (after["default_executor_workers"], after["default_executor_source"]) == (
        expected,
        "read",
    )


def test_process_cpu_seconds_count_a_cpu_request(server):
    """process_cpu_seconds grows by at least the CPU time a /cpu/sync request reports."""
    before = server.runtime()["process_cpu_seconds"]
    _, body = server.get("/cpu/sync?iterations=2000000")
    after = server.runtime()["process_cpu_seconds"]
    assert after - before >= body["cpu_seconds"] > 0


def test_auto_workers_are_resolved_by_the_launcher(serve):
    """WORKERS=auto through the probe runs uvicorn's recipe, and /runtime says both."""
    info = serve(workers="auto").runtime()
    expected = auto_workers("uvicorn", os.cpu_count() or 1)
    assert (info["workers_setting"], info["workers"]) == ("auto", expected)


def container_view(tmp_path: Path, mount: str, recorded: Path) -> Path:
    """A /sys/fs/cgroup as a v1 container sees it: its own cgroup mounted at ``mount``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / mount).symlink_to(recorded, target_is_directory=True)
    return tmp_path


@pytest.mark.parametrize("mount", ["cpu", "cpu,cpuacct"])
def test_the_cpu_quota_is_read_from_the_cgroup_files(tmp_path, mount):
    """The recorded --cpus 0.5 container (v1: 50000 of 100000 us; v2: cpu.max) has 0.5 CPUs."""
    assert runtime.cpu_quota(container_view(tmp_path, mount, V1_THROTTLED)) == 0.5
    assert runtime.cpu_quota(V2_THROTTLED) == 0.5


def test_no_cpu_quota_is_none(tmp_path):
    """Quota -1 (v1), cpu.max "max" (v2) and a v2 tree without the cpu controller: None."""
    assert runtime.cpu_quota(container_view(tmp_path / "v1", "cpu", V1_UNLIMITED)) is None
    assert runtime.cpu_quota(V2_NO_CPU) is None
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "cpu.max").write_text("max 100000\n")
    assert runtime.cpu_quota(tmp_path / "v2") is None


def test_runtime_reports_the_quota_of_its_own_cgroup(monkeypatch):
    """/runtime's cpu_quota is what its cgroup files say (here the recorded 0.5-CPU tree)."""
    monkeypatch.setattr(runtime.cpu_quota, "__defaults__", (V2_THROTTLED,))

    async def document() -> dict:
        return runtime.snapshot(Settings(), custom_executor_workers=1, process_workers=0,
                                in_flight=0)  # fmt: skip

    assert asyncio.run(document())["cpu_quota"] == 0.5
