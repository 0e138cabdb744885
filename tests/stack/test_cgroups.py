"""Container telemetry from cgroup files: parsers, locating, reading, sampling, summarising."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from loadlab.stack.cgroups import (
    Reading,
    cpu_limit,
    locate,
    parse_cpu_max,
    parse_cpu_stat,
    parse_keyed,
    parse_v1_quota,
    parse_value,
    read,
)
from loadlab.stack.telemetry import Sampler, summarise

FIXTURES = Path(__file__).parent / "fixtures" / "cgroup"
V1, V2 = FIXTURES / "v1", FIXTURES / "v2"
# Recorded on this host: --cpus 0.5 and burning CPU; no --cpus and idle.
V1_THROTTLED = "ced7f04a62c49f92fa7347014550b6c82f9c626b84d6d0aa3af81efa64928966"
V1_FREE = "157b07c142dd137acfc74b711622a16983fc55484fe50db7e06cc34c52d4e075"
# Written from cgroup-v2.rst: systemd driver, throttled; cgroupfs driver, pids controller only.
V2_SYSTEMD = "4d9a3c0f6e2b18d7a5c93e0b7f1d2a6c8e4b0f9d3a7c15e2b6d08f4a9c3e7b1d"
V2_CGROUPFS = "e8b1f70c2d9a46e3b5c0a7d18f6e2b94c3a0d7e15f8b2c6a9d04e7f3b1c8a5d2"
ID = "0123456789abcdef" * 4


def v1_stat(container: str) -> str:
    return (V1 / "cpu" / "docker" / container / "cpu.stat").read_text()


def v2_dir(container: str) -> Path:
    return V2 / "system.slice" / f"docker-{container}.scope"


# --- parsers -------------------------------------------------------------------------------


def test_keyed_file_parses_every_counter_of_a_recorded_v1_cpu_stat():
    """A v1 cpu.stat recorded here yields its five counters as integers."""
    assert parse_keyed(v1_stat(V1_THROTTLED)) == {
        "nr_periods": 340,
        "nr_throttled": 301,
        "throttled_time": 17453974311,
        "nr_bursts": 0,
        "burst_time": 0,
    }


def test_v1_cpu_stat_counts_throttled_time_in_nanoseconds():
    """v1 throttled_time is nanoseconds, and v1 cpu.stat holds no usage (cpuacct has it)."""
    assert parse_cpu_stat(v1_stat(V1_THROTTLED), version=1) == {
        "cpu_usage_s": None,
        "nr_periods": 340,
        "nr_throttled": 301,
        "throttled_s": pytest.approx(17.453974311),
    }


def test_v2_cpu_stat_counts_microseconds_and_holds_usage():
    """v2 cpu.stat gives usage_usec and throttled_usec in microseconds."""
    stat = parse_cpu_stat((v2_dir(V2_SYSTEMD) / "cpu.stat").read_text(), version=2)
    assert stat == {
        "cpu_usage_s": pytest.approx(12.034551),
        "nr_periods": 240,
        "nr_throttled": 211,
        "throttled_s": pytest.approx(11.872304),
    }


def test_v2_cpu_stat_without_the_cpu_controller_has_no_throttling_counters():
    """The always-present usage lines alone leave periods and throttling unknown."""
    text = (V2 / "docker" / V2_CGROUPFS / "cpu.stat").read_text()
    stat = parse_cpu_stat(text, version=2)
    assert stat["cpu_usage_s"] == pytest.approx(1.135738)
    assert stat["nr_periods"] is stat["nr_throttled"] is stat["throttled_s"] is None


def test_single_values_read_max_as_unknown():
    """'max' in a single-value file (pids.max) is no number; others parse as integers."""
    assert parse_value("max\n") is None
    assert parse_value("15305190728\n") == 15305190728


def test_quota_files_give_cores_or_none_when_unlimited():
    """50000 us per 100000 us is 0.5 cores in both layouts; -1 and 'max' mean no limit."""
    assert parse_v1_quota("50000\n", "100000\n") == 0.5
    assert parse_v1_quota("-1\n", "100000\n") is None
    assert parse_cpu_max("50000 100000\n") == 0.5
    assert parse_cpu_max("150000 100000 0\n") == 1.5  # kernels with burst add a third value
    assert parse_cpu_max("max 100000\n") is None


# --- locating and reading ------------------------------------------------------------------


def test_read_a_recorded_v1_container():
    """The recorded v1 files of a throttled container read back as its exact counters."""
    files = locate(V1_THROTTLED, root=V1)
    assert files is not None and files.version == 1
    reading = read(files)
    assert (reading.nr_periods, reading.nr_throttled, reading.pids) == (340, 301, 7)
    assert reading.cpu_usage_s == pytest.approx(15.305190728)
    assert reading.throttled_s == pytest.approx(17.453974311)
    assert reading.memory_bytes == 46268416
    assert cpu_limit(files) == 0.5


def test_a_v1_container_without_quota_has_no_limit_and_no_periods():
    """Without --cpus the quota is -1 (no limit) and the kernel counts no CFS periods."""
    files = locate(V1_FREE, root=V1)
    assert files is not None and cpu_limit(files) is None
    assert (read(files).nr_periods, read(files).nr_throttled) == (0, 0)


def test_read_a_v2_systemd_container():
    """The v2 unified files under system.slice read back with usage from cpu.stat."""
    files = locate(V2_SYSTEMD, root=V2)
    assert files is not None and files.version == 2
    reading = read(files)
    assert reading.cpu_usage_s == pytest.approx(12.034551)
    assert (reading.nr_periods, reading.nr_throttled) == (240, 211)
    assert (reading.memory_bytes, reading.pids) == (46268416, 7)
    assert cpu_limit(files) == 0.5


def test_controllers_that_are_not_delegated_stay_unknown():
    """A v2 cgroup without the cpu and memory controllers gives usage and pids, nothing else."""
    files = locate(V2_CGROUPFS, root=V2)
    assert files is not None
    reading = read(files)
    assert (reading.pids, reading.memory_bytes, reading.nr_periods) == (6, None, None)
    assert reading.cpu_usage_s == pytest.approx(1.135738)
    assert cpu_limit(files) is None


def touch(path: Path, text: str = "0\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_locate_v1_with_co_mounted_cpu_and_cpuacct_under_systemd(tmp_path):
    """v1 controllers joined as cpu,cpuacct with the systemd driver's scope are found."""
    scope = f"system.slice/docker-{ID}.scope"
    for name in ("cpu.stat", "cpuacct.usage", "cpu.cfs_quota_us"):
        touch(tmp_path / "cpu,cpuacct" / scope / name)
    touch(tmp_path / "memory" / scope / "memory.usage_in_bytes")
    files = locate(ID, root=tmp_path)
    assert files is not None and files.version == 1
    assert files.cpu_usage == tmp_path / "cpu,cpuacct" / scope / "cpuacct.usage"
    assert files.memory == tmp_path / "memory" / scope / "memory.usage_in_bytes"
    assert files.pids is None  # no pids hierarchy: unknown, not guessed


def test_locate_v2_systemd_and_cgroupfs_layouts(tmp_path):
    """A unified tree is recognised by its root cgroup.controllers; both drivers' places work."""
    touch(tmp_path / "cgroup.controllers", "cpu memory pids\n")
    touch(tmp_path / "system.slice" / f"docker-{ID}.scope" / "cpu.stat")
    touch(tmp_path / "docker" / ("f" * 64) / "memory.current")
    systemd, cgroupfs = locate(ID, root=tmp_path), locate("f" * 64, root=tmp_path)
    assert systemd is not None and systemd.cpu_stat is not None and systemd.version == 2
    assert cgroupfs is not None and cgroupfs.memory is not None and cgroupfs.cpu_stat is None


def test_locate_finds_a_container_nested_deeper(tmp_path):
    """An orchestrator's deeper scope (kubepods...) is found by the container's full id."""
    touch(tmp_path / "cgroup.controllers")
    deep = tmp_path / "kubepods.slice" / "kubepods-pod1.slice" / f"docker-{ID}.scope"
    touch(deep / "pids.current", "3\n")
    files = locate(ID, root=tmp_path)
    assert files is not None and files.pids == deep / "pids.current"


def test_an_unknown_container_is_none(tmp_path):
    """No directory named after the id, in either layout, gives None rather than a guess."""
    assert locate(ID, root=V1) is None
    assert locate(ID, root=V2) is None
    assert locate(ID, root=tmp_path) is None


# --- summarising ---------------------------------------------------------------------------


def burning(seconds: float = 10, step: float = 0.5, t0: float = 1000.0) -> list[Reading]:
    """A container at 0.5 cores, throttled in 40 % of 50 periods a second, 20 ms each."""
    return [
        Reading(
            t=t0 + i * step,
            cpu_usage_s=3.0 + 0.5 * i * step,
            nr_periods=100 + round(50 * i * step),
            nr_throttled=7 + round(20 * i * step),
            throttled_s=1.0 + 0.4 * i * step,
            memory_bytes=(40 + i) * 1024 * 1024,
            pids=5 + i % 3,
        )
        for i in range(int(seconds / step) + 1)
    ]


def test_summarise_gives_cores_and_throttling_of_the_window():
    """0.5 cores and 40 % throttled periods come back from the readings inside the window."""
    out = summarise(burning(), start=1002.0, end=1008.0, quota=0.5)
    assert out["cpu_cores"] == pytest.approx(0.5)
    assert out["quota_used"] == pytest.approx(1.0)
    assert out["throttled_pct"] == pytest.approx(40.0)
    # Readings at 1002.0 ... 1007.5: 5.5 s of counters.
    assert (out["readings"], out["periods"], out["throttled_periods"]) == (12, 275, 110)
    assert out["throttled_ms"] == pytest.approx(2200.0)
    assert (out["memory_max_mb"], out["pids_max"]) == (55.0, 7)


def test_summarise_draws_a_series_relative_to_the_window_start():
    """Each interval between readings gives its end, its cores and its throttled fraction."""
    series = summarise(burning(), start=1002.0, end=1004.0)["series"]
    assert series == {"t": [0.5, 1.0, 1.5], "cores": [0.5] * 3, "throttled": [0.4] * 3}


def test_summarise_leaves_out_what_was_not_read():
    """Readings with only pids give pids_max and no CPU keys; no quota gives no quota_used."""
    readings = [Reading(t=1000.0 + i, pids=4) for i in range(5)]
    out = summarise(readings, 1000.0, 1010.0)
    assert out == {"readings": 5, "pids_max": 4}


def test_summarise_needs_two_readings_for_a_rate():
    """One reading in the window gives its maxima but no rate."""
    out = summarise(burning(), start=1002.0, end=1002.4)
    assert out["readings"] == 1 and "cpu_cores" not in out and "series" not in out
    assert out["memory_max_mb"] == 44.0


def test_a_counter_that_went_back_is_not_a_negative_rate():
    """A reset counter (a new cgroup under the same name) makes the window unknown."""
    readings = [Reading(t=1.0, cpu_usage_s=10.0), Reading(t=2.0, cpu_usage_s=0.5)]
    assert "cpu_cores" not in summarise(readings, 0.0, 3.0)


def test_an_idle_limited_container_has_no_throttled_share():
    """No CFS period elapsed (nothing ran) gives 0 periods and no throttled_pct."""
    readings = [Reading(t=float(t), cpu_usage_s=1.0, nr_periods=9, nr_throttled=3) for t in (1, 2)]
    out = summarise(readings, 0.0, 3.0, quota=0.5)
    assert (out["cpu_cores"], out["quota_used"], out["periods"]) == (0.0, 0.0, 0)
    assert "throttled_pct" not in out


# --- sampling ------------------------------------------------------------------------------


def test_sampler_reads_through_the_block_and_finds_late_containers(tmp_path):
    """Readings follow the files as they change; a container that appears later is picked up."""
    root = tmp_path / "cgroup"
    shutil.copytree(V2, root)
    stat = v2_dir(V2_SYSTEMD).relative_to(V2) / "cpu.stat"
    late = root / "docker" / ID / "pids.current"
    with Sampler({"target": V2_SYSTEMD, "late": ID, "never": "f" * 64}, 0.02, root) as s:
        time.sleep(0.1)
        (root / stat).write_text("usage_usec 13034551\nnr_periods 260\nnr_throttled 219\n")
        touch(late, "2\n")
        time.sleep(0.1)
    target = s.series("target")
    assert len(target) >= 5 and target == sorted(target, key=lambda r: r.t)
    assert (target[0].cpu_usage_s, target[-1].cpu_usage_s) == pytest.approx((12.034551, 13.034551))
    assert s.series("late") and s.series("late")[-1].pids == 2
    assert s.series("never") == [] and s.limit("never") is None
    assert s.limit("target") == 0.5
