"""Settings parsing, cgroup reading and start-up failures (pure logic plus a real launch)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from target.runtime import cpu_quota
from target.serve import command
from target.settings import Settings, SettingsError, auto_workers

from tests.service.conftest import service_env


def test_settings_default_to_library_defaults():
    """An empty environment gives the documented defaults, with the limiter left to anyio."""
    s = Settings.from_env({})
    assert s.thread_limit is None and s.limit_concurrency is None
    assert s.work_seconds == 1.0 and s.server == "uvicorn" and s.workers == 1


def test_settings_read_every_variable():
    """Each variable is read into its typed field; empty strings count as unset."""
    s = Settings.from_env(
        {
            "THREAD_LIMIT": "100",
            "WORK_SECONDS": "0.2",
            "EXECUTOR_WORKERS": "8",
            "PROCESS_WORKERS": "3",
            "CPU_ITERATIONS": "5",
            "LIMIT_CONCURRENCY": "",
        }
    )
    assert (s.thread_limit, s.work_seconds, s.executor_workers) == (100, 0.2, 8)
    assert (s.process_workers, s.cpu_iterations, s.limit_concurrency) == (3, 5, None)


def test_settings_round_trip_through_the_environment():
    """to_env() reproduces the same settings, which is how worker processes inherit them."""
    s = Settings.from_env({"THREAD_LIMIT": "9", "SERVER": "gunicorn", "WORKERS": "2"})
    assert Settings.from_env(s.to_env()) == s


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("THREAD_LIMIT", "0"),
        ("THREAD_LIMIT", "abc"),
        ("WORK_SECONDS", "-1"),
        ("WORK_SECONDS", "nan"),
        ("EXECUTOR_WORKERS", "2.5"),
        ("PROCESS_WORKERS", "-3"),
        ("CPU_ITERATIONS", "0"),
        ("SERVER", "hypercorn"),
        ("WORKERS", "zero"),
        ("WORKERS", "AUTO"),
        # Past the upper bounds (the reasons are beside the bounds in settings.py).
        ("WORK_SECONDS", "1e9"),
        ("WORK_SECONDS", "60.5"),
        ("PORT", "70000"),
        ("PORT", "0"),
        ("THREAD_LIMIT", "1e8"),
        ("THREAD_LIMIT", "10001"),
        ("EXECUTOR_WORKERS", "10001"),
        ("PROCESS_WORKERS", "65"),
        ("WORKERS", "65"),
        ("CPU_ITERATIONS", "50000001"),
        ("LIMIT_CONCURRENCY", "100001"),
    ],
)
def test_bad_values_name_their_variable(name, value):
    """A bad value raises SettingsError whose message names the variable and the value."""
    with pytest.raises(SettingsError) as err:
        Settings.from_env({name: value})
    assert name in str(err.value) and repr(value) in str(err.value)


def test_bounds_are_inclusive():
    """The largest (and smallest) allowed value of every bounded variable is accepted."""
    top = {
        "WORK_SECONDS": "60",
        "PORT": "65535",
        "THREAD_LIMIT": "10000",
        "EXECUTOR_WORKERS": "10000",
        "PROCESS_WORKERS": "64",
        "WORKERS": "64",
        "CPU_ITERATIONS": "50000000",
        "LIMIT_CONCURRENCY": "100000",
    }
    s = Settings.from_env(top)
    assert (s.work_seconds, s.port, s.thread_limit, s.workers) == (60, 65535, 10000, 64)
    assert Settings.from_env({"WORK_SECONDS": "0", "PORT": "1"}).port == 1


@pytest.mark.parametrize(
    ("server", "cpus", "workers"),
    [("uvicorn", 1, 1), ("uvicorn", 2, 2), ("gunicorn", 1, 3), ("gunicorn", 2, 5)],
)
def test_auto_workers_follow_each_servers_recipe(server, cpus, workers):
    """auto is one worker per CPU for uvicorn and (2 x CPUs) + 1 for gunicorn."""
    assert auto_workers(server, cpus) == workers


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
def test_auto_workers_count_this_machines_cpus(server):
    """WORKERS=auto resolves from os.cpu_count() and the server, and the launcher runs that many."""
    s = Settings.from_env({"WORKERS": "auto", "SERVER": server})
    expected = auto_workers(server, os.cpu_count() or 1)
    assert (s.workers, s.worker_count()) == ("auto", expected)
    argv = command(s)
    assert argv[argv.index("--workers") + 1] == str(expected)


def test_auto_survives_the_trip_to_worker_processes():
    """Worker processes inherit WORKERS=auto, not the number, so /runtime can say it was auto."""
    s = Settings.from_env({"WORKERS": "auto"})
    assert s.to_env()["WORKERS"] == "auto" and Settings.from_env(s.to_env()) == s


def test_limit_concurrency_is_refused_with_gunicorn():
    """LIMIT_CONCURRENCY with gunicorn is refused instead of silently ignored."""
    with pytest.raises(SettingsError, match="LIMIT_CONCURRENCY"):
        command(Settings.from_env({"SERVER": "gunicorn", "LIMIT_CONCURRENCY": "5"}))


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "loadlab.probe"],
        ["-m", "target.serve"],
        ["-m", "uvicorn", "target.main:app", "--port", "0"],
    ],
)
def test_bad_environment_fails_start_up_with_one_line(argv):
    """The probe, the demo's old launcher and plain uvicorn all stop at start-up with one line
    naming the variable."""
    env = service_env(thread_limit="-4")
    done = subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "error: THREAD_LIMIT must be at least 1, got '-4' (each thread is a kernel task with its "
        "own stack)"
    )
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "WORK_SECONDS",
            "1e9",
            "error: WORK_SECONDS must be at most 60, got '1e9' (a sleep past a minute outlives "
            "every client timeout the lab uses)",
        ),
        (
            "PORT",
            "70000",
            "error: PORT must be at most 65535, got '70000' (a TCP port the healthcheck can know)",
        ),
        (
            "THREAD_LIMIT",
            "1e8",
            "error: THREAD_LIMIT: '1e8' is not a valid int",
        ),
    ],
)
def test_out_of_range_environment_is_refused_in_one_line(name, value, line):
    """The probe refuses a value past its bound (its own, or one the demo reads at import)
    with exit 2 and one line naming it."""
    env = service_env(**{name: value})
    done = subprocess.run(
        [sys.executable, "-m", "loadlab.probe"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [line]


def _cgroup(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "50000 100000\n"}, 0.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),
        (
            {"cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
            None,
        ),
        ({}, None),
    ],
)
def test_cpu_quota_reads_cgroup_v1_and_v2(tmp_path, files, expected):
    """The effective CPU quota is read from cgroup v2 cpu.max or v1 cfs files; unlimited is None."""
    assert cpu_quota(_cgroup(tmp_path, files)) == expected
