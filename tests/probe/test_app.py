"""The entry point the server loads, against a real uvicorn on loopback started by the probe."""

from __future__ import annotations

import importlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from loadlab.probe.wrap import Probe
from tests.probe.conftest import TINY, probe_env


def test_the_entry_point_wraps_lab_app_from_the_environment(write_app, monkeypatch):
    """Importing loadlab.probe.app imports LAB_APP and wraps it with the settings given."""
    spec = write_app()
    monkeypatch.setenv("LAB_APP", spec)
    monkeypatch.setenv("THREAD_LIMIT", "6")
    monkeypatch.delitem(sys.modules, "loadlab.probe.app", raising=False)
    entry = importlib.import_module("loadlab.probe.app")  # fresh: imported under this env

    try:
        assert isinstance(entry.app, Probe)
        assert entry.app.name == spec and entry.app.settings.thread_limit == 6
        assert entry.app.app is sys.modules[spec.partition(":")[0]].app
    finally:
        sys.modules.pop("loadlab.probe.app", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path) -> Iterator[str]:
    """python -m loadlab.probe serve of the tiny app: uvicorn, one worker, THREAD_LIMIT=3."""
    (tmp_path / "tinyapp.py").write_text(TINY)
    port = free_port()
    env = probe_env(tmp_path, lab_app="tinyapp:app", thread_limit=3, host="127.0.0.1", port=port)
    proc = subprocess.Popen([sys.executable, "-m", "loadlab.probe", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(proc, url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _wait_up(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"probe exited {proc.returncode}: {proc.stderr.read().decode()}")
        try:
            get(url + "/_lab/runtime", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the probe's server did not answer within 30 s")


def get(url: str, timeout: float = 10) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def lag_over(url: str, path: str, times: int) -> dict:
    """/_lab/lag over the window in which ``path`` was requested ``times`` times in a row."""
    since = time.time()
    for _ in range(times):
        get(url + path)
        time.sleep(0.02)  # let the timer tick between requests
    return get(f"{url}/_lab/lag?since={since}&until={time.time()}")


def test_a_real_server_reports_its_runtime_and_the_loops_lag(server):
    """Started by the probe, uvicorn serves the app with 3 limiter tokens; a handler blocking
    the loop 0.2 s shows in /_lab/lag's max (>= 150 ms), plain async requests do not."""
    info = get(server + "/_lab/runtime")
    assert (info["server"], info["workers"], info["thread_limiter_tokens"]) == ("uvicorn", 1, 3)
    assert info["app"] == "tinyapp:app" and info["event_loop"].startswith("uvloop")
    assert get(server + "/hello") == {"hello": "world"}
    plain = lag_over(server, "/hello", 20)
    blocked = lag_over(server, "/block?seconds=0.2", 3)
    assert plain["samples"] > 0 and plain["p99_ms"] < 75
    assert blocked["max_ms"] >= 150
    assert blocked["pid"] == plain["pid"] == info["pid"]
