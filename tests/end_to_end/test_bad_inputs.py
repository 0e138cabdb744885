"""Every bad input is refused before anything starts: `make sweep` exits 2 with one `error:`
line naming the setting, and no container is created. The table in docs/bad-inputs.md is
generated from this very run (UPDATE_DOCS=1 rewrites it; otherwise a stale table fails)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest

from loadlab.plan.placement import host_cpus
from loadlab.stack.compose import ROOT

pytestmark = pytest.mark.docker

DOC = ROOT / "docs" / "bad-inputs.md"
MAKE_STATE = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
CORES = len(host_cpus())
# (Make assignments, the setting the error must name)
SWEEP_INPUTS = [
    (f"CPUS={CORES + 1}", "CPUS"),
    ("CPUS=0.001", "CPUS"),
    ("CPUS=abc", "CPUS"),
    ("CPUS=0.5,0.5", "CPUS"),
    ("USERS=0", "USERS"),
    ("USERS=1000000000", "USERS"),
    ("USERS=10,10", "USERS"),
    ("USERS=1.5", "USERS"),
    ("REPEATS=100000", "REPEATS"),
    ("DURATION=1e12", "DURATION"),
    ("DURATION=0", "DURATION"),
    ("WARMUP=-1", "WARMUP"),
    ("LOCUST_WORKERS=1000", "LOCUST_WORKERS"),
    ("WORKERS=1000", "WORKERS"),
    ("WORKERS=many", "WORKERS"),
    ("THREAD_LIMIT=0", "THREAD_LIMIT"),
    ("THREAD_LIMIT=1e8", "THREAD_LIMIT"),
    ("WORK_SECONDS=1e9", "WORK_SECONDS"),
    ("CPU_ITERATIONS=0", "CPU_ITERATIONS"),
    ("LIMIT_CONCURRENCY=1", "LIMIT_CONCURRENCY"),
    ("VARIANTS=nginx", "VARIANTS"),
    ("VARIANTS=uvicorn,uvicorn", "VARIANTS"),
    ("ENDPOINTS=io/nope", "ENDPOINTS"),
    ("ENDPOINTS=io/sync,/io/sync", "ENDPOINTS"),
    ("PROFILE=huge", "PROFILE"),
    ("PROFILE=full", "YES"),
    ("RUN_ID=../../escaped", "RUN_ID"),
    ("OUT=/proc/x", "OUT"),
    ("RESUME=/nowhere", "RESUME"),
    ("LOAD=sideways", "LOAD"),
    ("LOAD=open USERS=10", "USERS"),
    ("RATES=100", "RATES"),
    ("ARRIVALS=bursty", "ARRIVALS"),
    ("MAX_FAILURE_RATIO=2", "MAX_FAILURE_RATIO"),
    ("PYTHONS=2.7", "PYTHONS"),
    ("TARGET=/nowhere", "TARGET"),
    ("TARGET=tests/apps/blocking ENDPOINTS=io/sync", "ENDPOINTS"),
    ("TARGET=tests/apps/blocking VARIANTS=uvicorn@3.13", "VARIANTS"),
    ("RUN_ID=taken OUT={out}", "RUN_ID"),
    ("RESUME={out}/taken USERS=5", "RESUME"),
    ("LOAD_CONTEXTS=lab-b", "TARGET_ADDRESS"),
    ("LOAD_CONTEXTS=lab-b,lab-c TARGET_ADDRESS=127.0.0.1", "MASTER_ADDRESS"),
    ("LOAD_CONTEXTS=lab-b TARGET_ADDRESS=somewhere", "TARGET_ADDRESS"),
    ("LOAD_CONTEXTS=no-such-context TARGET_ADDRESS=127.0.0.1", "LOAD_CONTEXTS"),
]
# make capacity's own inputs (its other settings are the sweep's, checked as above).
CAPACITY_INPUTS = [
    ("ENDPOINTS=io/sync 'SLO=p99<250ms'", "RATE"),
    ("ENDPOINTS=io/sync RATE=100 'SLO=p98<250ms'", "SLO"),
    ("ENDPOINTS=io/sync RATE=100 'SLO=p99<250ms' CPUS=2..1", "CPUS"),
    ("ENDPOINTS=io/sync RATE=100 'SLO=p99<250ms' CPU_STEP=0.001", "CPU_STEP"),
    ("ENDPOINTS=io/sync RATE=100 'SLO=p99<250ms' ATTEMPTS=9", "ATTEMPTS"),
    ("ENDPOINTS=io/sync,io/async RATE=100 'SLO=p99<250ms'", "ENDPOINTS"),
]
SERVICE_INPUTS = [("WORK_SECONDS=1e9", "WORK_SECONDS"), ("PORT=70000", "PORT"),
                  ("THREAD_LIMIT=1e8", "THREAD_LIMIT")]  # fmt: skip


def containers() -> list[str]:
    return subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True).stdout.split()


def make_sweep(assignments: str, out: str, target: str = "sweep") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_STATE}
    words = shlex.split(assignments.format(out=out))
    if not any(w.startswith(("OUT=", "RESUME=")) for w in words):
        words.append(f"OUT={out}")
    return subprocess.run(["make", "-s", target, *words], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)  # fmt: skip


@pytest.fixture(scope="module")
def taken(tmp_path_factory):
    """An OUT holding one finished-looking run, for the RUN_ID and RESUME cases."""
    out = tmp_path_factory.mktemp("out")
    (out / "taken").mkdir()
    config = {"profile": "smoke", "users": [10, 60], "out": str(out)}
    (out / "taken" / "run.json").write_text(json.dumps(
        {"version": 2, "config": config, "metadata": {}, "matrix": [], "points": []}))  # fmt: skip
    return out


def test_every_bad_input_is_refused_before_anything_starts(taken):
    """Each input: exit 2, one `error:` line from loadlab naming the setting, no container."""
    before = set(containers())
    rows = []
    for assignments, setting in SWEEP_INPUTS:
        done = make_sweep(assignments, str(taken))
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert done.returncode == 2, (assignments, done.stderr)
        assert len(errors) == 1 and setting in errors[0], (assignments, done.stderr)
        # The temporary OUT and the host's cores differ; the table shows placeholders.
        rows.append((_placeholders(f"make sweep {assignments.format(out='OUT')}"),
                     _placeholders(errors[0].replace(str(taken), "OUT"))))  # fmt: skip
    for assignments, setting in CAPACITY_INPUTS:
        done = make_sweep(assignments, str(taken), "capacity")
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert done.returncode == 2, (assignments, done.stderr)
        assert len(errors) == 1 and setting in errors[0], (assignments, done.stderr)
        rows.append((f"make capacity {assignments}", errors[0]))
    assert set(containers()) == before
    for assignment, setting in SERVICE_INPUTS:
        done = subprocess.run(["docker", "run", "--rm", "-e", assignment, "loadlab/target:latest"],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 2 and done.stderr.count("error: ") == 1, done.stderr
        assert setting in done.stderr
        rows.append((f"target with {assignment}", done.stderr.strip()))
    _check_doc(rows)


def _placeholders(text: str) -> str:
    """The host's core count as words, so the page reads the same on any machine."""
    text = text.replace(f"CPUS={CORES + 1}", "CPUS=<cores + 1>")
    return text.replace(f"at most {CORES} (this host's cores), got {CORES + 1}",
                        "at most <cores> (this host's cores), got <cores + 1>")  # fmt: skip


def _check_doc(rows: list[tuple[str, str]]) -> None:
    lines = ["# Bad input, and what it gets", "",
             "Generated by `tests/end_to_end/test_bad_inputs.py` (`UPDATE_DOCS=1` rewrites",
             "it): every input below was tried, and each exited 2 with this one line before",
             "anything started (no container was created; the target's own settings are",
             "refused by the target).",
             "", "| input | error |", "|---|---|"]  # fmt: skip
    lines += [f"| `{cmd}` | {msg.replace('|', '/')} |" for cmd, msg in rows]
    text = "\n".join(lines) + "\n"
    if os.environ.get("UPDATE_DOCS") == "1":
        DOC.write_text(text)
    assert DOC.read_text() == text, "docs/bad-inputs.md is stale: rerun with UPDATE_DOCS=1"
