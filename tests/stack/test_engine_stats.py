"""Container readings through the Docker Engine API: the parser on recorded answers (cgroup v1
recorded here, v2 written from moby's source: see recorded/README.md), the sampler's remote
path on fakes, and one real container read both ways."""

from __future__ import annotations

import copy
import functools
import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from loadlab.errors import EngineError
from loadlab.stack import telemetry
from loadlab.stack.cgroups import Reading, cpu_limit, locate, read
from loadlab.stack.engine_stats import Engine, endpoint, parse_time, quota_of, reading_of
from loadlab.stack.telemetry import Sampler, summarise
from tests.containers import spinner

RECORDED = Path(__file__).parent / "recorded"
V1_ID = "19e979369fc5af7f97b472296643c17c4e7ac35238fefaac17cadc3529337349"


def answer(name: str) -> dict:
    return json.loads((RECORDED / f"engine-stats-{name}.json").read_text())


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# --- the parser on recorded answers ----------------------------------------------------------


def test_a_recorded_v1_answer_reads_as_its_counters():
    """cgroup v1, Docker 20.10: nanoseconds to seconds, the engine's read time as t."""
    reading = reading_of(answer("v1"))
    assert reading == Reading(
        t=pytest.approx(epoch("2026-12-01T17:20:57.127580") + 904e-9, abs=1e-6),
        cpu_usage_s=18.441027623,
        nr_periods=5084,
        nr_throttled=206,
        throttled_s=12.696969319,
        memory_bytes=47185920,
        pids=8,
    )


def test_the_v1_answer_and_the_cgroup_files_of_that_moment_say_the_same():
    """The files copied right after the answer (same CFS period) give the very same counters
    through cgroups.read, memory included: usage is memory.usage_in_bytes, page cache and all."""
    files = locate(V1_ID, RECORDED / "cgroup-v1")
    assert files is not None and files.version == 1
    from_files, from_api = read(files), reading_of(answer("v1"))
    assert from_files == Reading(t=from_files.t, **_counters(from_api))
    assert cpu_limit(files) == 0.5
    assert quota_of({"HostConfig": {"NanoCpus": 500000000, "CpuQuota": 0, "CpuPeriod": 0}}) == 0.5


def test_a_v2_answer_reads_throttling_from_microseconds_and_memory_with_its_page_cache():
    """cgroup v2, Docker 24 (built from statsV2): usage_usec and throttled_usec arrive as ns;
    memory is memory.current, inactive_file (6107136 here) not subtracted, as cgroups.py reads
    it; pids.max 'max' (2^64-1) is a limit, never the current count."""
    assert reading_of(answer("v2")) == Reading(
        t=pytest.approx(epoch("2024-05-14T09:31:07.482910") + 337e-9, abs=1e-6),
        cpu_usage_s=7.312456,
        nr_periods=212,
        nr_throttled=131,
        throttled_s=4.120889,
        memory_bytes=52338688,
        pids=8,
    )


def test_v1_memory_keeps_the_inactive_page_cache_docker_stats_would_subtract():
    stats = answer("v1")
    stats["memory_stats"]["stats"]["total_inactive_file"] = 4096 * 100
    assert reading_of(stats).memory_bytes == stats["memory_stats"]["usage"]


def test_a_stopped_container_answers_nothing_known():
    """A stopped container's answer (recorded): Go's zero time, zeros, empty sections."""
    reading = reading_of(answer("stopped"))
    assert not reading.known()
    assert reading_of(answer("stopped"), t=12.5) == Reading(t=12.5)


@pytest.mark.parametrize(
    ("drop", "unknown"),
    [
        (("cpu_stats",), {"cpu_usage_s", "nr_periods", "nr_throttled", "throttled_s"}),
        (("cpu_stats", "throttling_data"), {"nr_periods", "nr_throttled", "throttled_s"}),
        (("cpu_stats", "throttling_data", "throttled_time"), {"throttled_s"}),
        (("memory_stats",), {"memory_bytes"}),
        (("memory_stats", "usage"), {"memory_bytes"}),
        (("pids_stats",), {"pids"}),
    ],
)
def test_a_field_the_answer_lacks_is_none_and_the_rest_still_read(drop, unknown):
    stats = answer("v1")
    *parents, key = drop
    section = stats
    for parent in parents:
        section = section[parent]
    del section[key]
    reading = reading_of(stats)
    assert {k for k, v in _counters(reading).items() if v is None} == unknown


def test_zero_cpu_usage_is_docker_saying_it_could_not_read_the_cpu_controller():
    """A Go struct without omitempty: a CPU metric the engine lacked comes as zeros."""
    stats = answer("v1")
    stats["cpu_stats"]["cpu_usage"]["total_usage"] = 0
    reading = reading_of(stats)
    assert reading.cpu_usage_s is None and reading.nr_periods is None
    assert reading.memory_bytes == 47185920


def test_counters_of_the_wrong_type_are_unknown_not_guessed():
    stats = answer("v1")
    stats["pids_stats"]["current"] = "8"
    stats["memory_stats"]["usage"] = -1
    stats["cpu_stats"]["throttling_data"]["periods"] = True
    reading = reading_of(stats)
    assert (reading.pids, reading.memory_bytes, reading.nr_periods) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-12-01T17:20:57.127580904Z", epoch("2026-12-01T17:20:57") + 0.127580904),
        ("2026-12-01T18:20:57.5+01:00", epoch("2026-12-01T17:20:57") + 0.5),
        ("2026-12-01T17:20:57Z", epoch("2026-12-01T17:20:57")),
        ("0001-01-01T00:00:00Z", None),  # Go's zero time: never read
        ("yesterday", None),
        (None, None),
    ],
)
def test_rfc3339_times_keep_their_nanoseconds(text, seconds):
    found = parse_time(text)
    assert found == (None if seconds is None else pytest.approx(seconds, abs=1e-6))


@pytest.mark.parametrize(
    ("host", "cores"),
    [
        ({"NanoCpus": 1500000000, "CpuQuota": 0, "CpuPeriod": 0}, 1.5),  # --cpus 1.5
        ({"NanoCpus": 0, "CpuQuota": 25000, "CpuPeriod": 50000}, 0.5),
        ({"NanoCpus": 0, "CpuQuota": 50000, "CpuPeriod": 0}, 0.5),  # the kernel's 100 ms
        ({"NanoCpus": 0, "CpuQuota": 0, "CpuPeriod": 0}, None),  # unlimited
        ({"NanoCpus": 0, "CpuQuota": -1, "CpuPeriod": 100000}, None),
        ({}, None),
    ],
)
def test_the_quota_comes_from_inspect_in_cores(host, cores):
    assert quota_of({"HostConfig": host}) == cores


def test_summarise_means_the_same_from_engine_answers_as_from_files():
    """Readings a second apart from either source summarise to the same numbers."""
    first, later = answer("v1"), copy.deepcopy(answer("v1"))
    cpu = later["cpu_stats"]
    cpu["cpu_usage"]["total_usage"] += 500_000_000
    cpu["throttling_data"]["periods"] += 10
    cpu["throttling_data"]["throttled_periods"] += 9
    api = [reading_of(first, t=100.0), reading_of(later, t=101.0)]
    files = [Reading(t=r.t, **_counters(r)) for r in api]
    out = summarise(api, 100.0, 102.0, quota=0.5)
    assert out == summarise(files, 100.0, 102.0, quota=0.5)
    assert (out["cpu_cores"], out["quota_used"], out["throttled_pct"]) == (0.5, 1.0, 90.0)


def _counters(reading: Reading) -> dict:
    return {k: v for k, v in vars(reading).items() if k != "t"}


# --- the sampler's remote path, on fakes ------------------------------------------------------


class FakeEngine:
    made: ClassVar[list[str]] = []

    def __init__(self, context: str) -> None:
        if context == "nowhere":
            raise EngineError("docker context inspect: context 'nowhere' does not exist")
        self.context = context
        FakeEngine.made.append(context)

    def cpu_limit(self, container: str) -> float | None:
        return {"t": 0.5, "w1": 2.0}.get(container)

    def close_connection(self) -> None:
        pass


class FakeStream:
    """Answers as the engine would: two readings a container, then the stream stays open."""

    opened: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, engine, container, on_reading):
        self.engine, self.container, self._on = engine, container, on_reading
        self.gone, self.error, self.readings, self._open = False, None, 0, False
        FakeStream.opened.append((engine.context, container))

    def start(self):
        missing = self.container == "missing"
        self.gone, self._open = missing, not missing
        for i in range(0 if missing else 2):
            self._on(Reading(t=1000.0 + i, cpu_usage_s=float(i), nr_periods=10 * i))
            self.readings += 1
        return self

    def running(self):
        return self._open

    def wait_for(self, readings, timeout):
        return self.readings >= readings

    def close(self):
        self._open = False


@pytest.fixture
def fakes(monkeypatch):
    FakeEngine.made, FakeStream.opened = [], []
    monkeypatch.setattr(telemetry, "Engine", FakeEngine)
    monkeypatch.setattr(telemetry, "Stream", FakeStream)


def test_a_sampler_reads_containers_on_several_contexts_and_its_own_engine(fakes, tmp_path):
    """The target on X, workers on Y and Z: one stream per container on its own context, the
    driver's own engine read from files (an empty tree here: nothing found, no reading)."""
    with Sampler({"target": "t"}, root=tmp_path, context="X") as sampler:
        sampler.watch("worker-1", "w1", context="Y")
        sampler.watch("worker-2", "w2", context="Z")
        sampler.watch("worker-3", "w3")  # the sampler's context
        sampler.watch("local", "l", context=None)
        sampler.sample()
    assert sorted(FakeStream.opened) == [("X", "t"), ("X", "w3"), ("Y", "w1"), ("Z", "w2")]
    assert sorted(set(FakeEngine.made)) == ["X", "Y", "Z"]
    assert [r.t for r in sampler.series("worker-2")] == [1000.0, 1001.0]
    assert sampler.series("local") == []
    assert (sampler.limit("target"), sampler.limit("worker-1"), sampler.limit("w2")) == (
        0.5,
        2.0,
        None,
    )
    out = summarise(sampler.series("target"), 999.0, 1002.0, quota=sampler.limit("target"))
    assert (out["cpu_cores"], out["quota_used"], out["periods"]) == (1.0, 2.0, 10)


def test_a_container_not_there_yet_is_asked_for_again_but_not_at_every_tick(fakes, tmp_path):
    sampler = Sampler({"late": "missing"}, root=tmp_path, context="X")
    sampler.sample()
    sampler.sample()  # within RETRY_S: not asked again
    assert FakeStream.opened == [("X", "missing")]
    sampler._asked["late"] -= telemetry.RETRY_S
    sampler.sample()
    assert FakeStream.opened == [("X", "missing")] * 2


def test_an_unknown_context_fails_at_once_in_one_line(fakes):
    with pytest.raises(EngineError, match="does not exist") as failed:
        Sampler({"target": "t"}, context="nowhere")
    assert "\n" not in str(failed.value)
    with pytest.raises(EngineError):
        Sampler({}).watch("w", "w1", context="nowhere")


def test_a_real_unknown_context_is_an_engine_error_of_one_line():
    """Through the docker CLI (or its absence): either way one line."""
    with pytest.raises(EngineError) as failed:
        endpoint("statsprobe-no-such-context")
    assert "\n" not in str(failed.value) and "statsprobe-no-such-context" in str(failed.value)


# --- one real container, read both ways ----------------------------------------------------------


def docker(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def busy():
    """A container spinning two Python processes under --cpus 0.5 (a large CPU weight, so the
    quota rather than a busy host holds it: see test_telemetry_live); removed in any case."""
    yield from spinner(f"statsprobe-{os.getpid()}", settle=1.0)  # past the start-up


# Measured on this machine (2 CPUs, Docker 20.10, cgroup v1, load average 4 to 5 from other
# work), sixteen runs of the comparison below, half through each transport, each over a 2.0 s
# span of the engine's readings: |cores(files) - cores(API)| was 0.0007 to 0.0075 (median
# 0.0027). Both read the same kernel counters; they differ only in where each source's first
# and last readings fall (the engine's on its one-second grid, the files' on half seconds),
# and under a 0.5 quota the CPU used over any interval is within one period's quota (50 ms) of
# 0.5 per second, so the difference is bounded by about 0.05 s / 1.5 s = 0.033 at worst.
CORES_TOLERANCE = 0.02


@pytest.mark.docker
@pytest.mark.parametrize("via_cli", [False, True], ids=["unix-socket", "dial-stdio"])
def test_the_engine_api_and_the_cgroup_files_agree_on_a_throttled_container(
    busy, via_cli, monkeypatch
):
    """Over the same ~2 s busy interval, both sources give the same cores (about the quota),
    both see throttling, both give the quota 0.5; one answer and the files read right after it
    are the same counters, up to what the container could do in between."""
    monkeypatch.setattr(telemetry, "Engine", functools.partial(Engine, via_cli=via_cli))
    with Engine("default", via_cli=via_cli) as engine:
        one = engine.stats(busy)
    files = locate(busy)
    assert files is not None
    now = read(files)
    gap = now.t - one.t
    assert 0 <= now.cpu_usage_s - one.cpu_usage_s <= 0.5 * gap + 0.02
    assert 0 <= now.nr_periods - one.nr_periods <= gap / 0.1 + 1
    assert one.memory_bytes and now.memory_bytes and one.pids and now.pids

    with Sampler({"c": busy}) as here, Sampler({"c": busy}, context="default") as there:
        time.sleep(1.6)  # entry and exit wait for the engine's next reading: 2 s of them
    api, local = there.series("c"), here.series("c")
    start, end = api[0].t, api[-1].t + 1e-3
    assert end - start >= 1.9, api
    a = summarise(api, start, end, quota=there.limit("c"))
    f = summarise(local, start, end, quota=here.limit("c"))
    busy_host = f"host load {os.getloadavg()[0]:.1f}: api {a} files {f}"
    assert abs(a["cpu_cores"] - f["cpu_cores"]) <= CORES_TOLERANCE, busy_host
    assert a["cpu_cores"] == pytest.approx(0.5, abs=0.05), busy_host
    assert a["throttled_periods"] > 0 and f["throttled_periods"] > 0
    assert there.limit("c") == here.limit("c") == 0.5
    assert there.problems() == {}


@pytest.mark.docker
def test_a_context_whose_engine_cannot_be_reached_fails_in_one_line(tmp_path, monkeypatch):
    """A tcp:// context to a closed port, in a Docker config of its own: dial-stdio's reason."""
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path)}
    made = docker("context", "create", "statsprobe-dead", "--docker", "host=tcp://127.0.0.1:9",
                  env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    engine = Engine("statsprobe-dead", timeout=5.0)
    assert engine.host == "tcp://127.0.0.1:9"
    with pytest.raises(EngineError) as failed, engine:
        engine.stats("anything")
    message = str(failed.value)  # dial-stdio's own reason: "... dial tcp 127.0.0.1:9: ..."
    assert "\n" not in message and "statsprobe-dead" in message, message
    assert "127.0.0.1:9" in message, message
