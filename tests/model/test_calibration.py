"""The CPU model's calibration (model/calibration.py) against a real server on loopback.

In the lab the counter is the container's cgroup; here it is the server process's own CPU time
(/proc/<pid>/stat), a real counter of the same kind, so the batching and the barrier are tried
without a container."""

from __future__ import annotations

import os
import statistics
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loadlab.errors import PointError
from loadlab.model import calibration
from loadlab.stack import cgroups
from tests.service.conftest import free_port

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@pytest.fixture
def process_counter(monkeypatch):
    """Make the calibration read ``pid``'s CPU time where it would read a cgroup."""

    def use(pid: int) -> None:
        monkeypatch.setattr(cgroups, "locate", lambda _id: pid)
        monkeypatch.setattr(
            cgroups, "read", lambda p: cgroups.Reading(t=0.0, cpu_usage_s=process_cpu_s(p))
        )

    return use


def test_each_batch_is_read_between_barriers_and_the_median_stands(serve, process_counter,
                                                                   monkeypatch):  # fmt: skip
    """Five batches of 3 streams x 6 requests: the process pays at least the loop's own CPU for
    each request (framework and server on top), and the figure is the median batch. The loop's
    own CPU is read from the very answers the batches counted: this host's CPU speed drifts by
    up to 2x within minutes, so a request measured afterwards is no yardstick."""
    server = serve(cpu_iterations=200_000)
    process_counter(server.process.pid)
    loop: list[float] = []
    check = calibration.checked

    def recording(endpoint: str, answer: dict) -> dict:
        loop.append(answer["cpu_seconds"])
        return check(endpoint, answer)

    monkeypatch.setattr(calibration, "checked", recording)
    cost = calibration.cpu_cost_of(server.url, "cpu/sync", "a-container", streams=3)
    assert len(cost.batches) == calibration.BATCHES
    assert cost.seconds == sorted(cost.batches)[calibration.BATCHES // 2]
    warm, _ = calibration.sizes(3)
    # 6 ticks of slack over 18 requests: /proc counts whole clock ticks.
    assert cost.seconds >= statistics.median(loop[3 * warm :]) - 6 / TICK / 18


def test_without_a_counter_the_service_s_own_figure_is_used(serve, monkeypatch):
    """No cgroup: exactly the median of the counted answers' own cpu_seconds (the warm-up's
    left out), and no batches."""
    server = serve(cpu_iterations=200_000)
    per_stream: dict[int, list[float]] = defaultdict(list)
    check = calibration.checked

    def recording(endpoint: str, answer: dict) -> dict:
        per_stream[threading.get_ident()].append(answer["cpu_seconds"])
        return check(endpoint, answer)

    monkeypatch.setattr(calibration, "checked", recording)
    cost = calibration.cpu_cost_of(server.url, "cpu/sync", None, streams=2, client_cpus={0})
    warm, per_batch = calibration.sizes(2)
    assert sorted(map(len, per_stream.values())) == [warm + calibration.BATCHES * per_batch] * 2
    counted = [seconds for answers in per_stream.values() for seconds in answers[warm:]]
    assert cost.seconds == statistics.median(counted)
    assert cost.batches == () and cost.streams == 2


def test_an_io_endpoint_has_no_cpu_cost(serve):
    assert calibration.cpu_cost_of(serve().url, "io/async", None) is None


def test_a_failing_stream_stops_the_others_instead_of_hanging(serve):
    """One stream against a dead port: both streams raise PointError, none waits forever."""
    live, dead = serve(cpu_iterations=200_000).url, f"http://127.0.0.1:{free_port()}"
    barrier = threading.Barrier(2, timeout=60)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(calibration._stream, u, "cpu/sync", barrier, None, 1, 2)
            for u in (live, dead)
        ]
        for future in futures:
            with pytest.raises(PointError, match="calibrating"):
                future.result(timeout=90)


def test_the_service_time_is_the_median_of_answers_sent_one_at_a_time(serve):
    """An I/O endpoint's S at low load: SERVICE_SAMPLES timed answers, each at least the sleep
    asked for (physics: the server cannot answer before it wakes), the figure their median."""
    server = serve(work_seconds=0.05)
    found = calibration.service_time_of(server.url, "io/async", client_cpus={0})
    assert len(found.samples) == calibration.SERVICE_SAMPLES
    assert found.seconds == statistics.median(found.samples)
    assert min(found.samples) >= 0.05
    assert found.seconds < 0.05 * 3  # generous: loopback, one request at a time


def test_a_service_time_is_measured_once_per_container_and_endpoint(serve):
    """Repeats and other concurrencies on one container reuse the figure, another container
    measures again, a /cpu endpoint has none, and the time spent is counted."""
    from loadlab.plan.matrix import Point

    url = serve(work_seconds=0.02).url
    found = calibration.Calibrations()
    first = found.service(url, "c1", Point("uvicorn", "io/sync", 1.0, 4, 1), set())
    assert found.service(url, "c1", Point("uvicorn", "io/sync", 1.0, 16, 2), set()) is first
    assert found.service(url, "c2", Point("uvicorn", "io/sync", 1.0, 4, 1), set()) is not first
    assert found.service(url, "c1", Point("uvicorn", "cpu/sync", 1.0, 4, 1), set()) is None
    assert found.seconds >= 2 * (calibration.SERVICE_WARM + calibration.SERVICE_SAMPLES) * 0.02


def test_a_service_time_against_a_dead_port_is_a_point_error():
    with pytest.raises(PointError, match="calibrating"):
        calibration.service_time_of(f"http://127.0.0.1:{free_port()}", "io/sync")
