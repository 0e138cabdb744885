"""A real server on loopback, started the way the image starts it: the probe serving the demo
(python3 -m loadlab.probe with LAB_APP=target.main:app)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(**settings: object) -> dict[str, str]:
    """The environment of a server process: ours, minus stray settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTING_NAMES}
    # The service imports the lab's shared settings table, as in its image.
    env["PYTHONPATH"] = f"{SERVICES}{os.pathsep}{ROOT / 'src'}"
    env["LAB_APP"] = "target.main:app"
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


_SETTING_NAMES = {
    "WORK_SECONDS",
    "CPU_ITERATIONS",
    "THREAD_LIMIT",
    "EXECUTOR_WORKERS",
    "PROCESS_WORKERS",
    "SERVER",
    "WORKERS",
    "LIMIT_CONCURRENCY",
    "HOST",
    "PORT",
    "LAB_APP",
}


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, _body(r.read())
        except urllib.error.HTTPError as e:
            return e.code, _body(e.read())

    def runtime(self) -> dict:
        status, body = self.get("/runtime")
        assert status == 200, body
        return body

    def burst(self, path: str, n: int) -> tuple[float, list[int]]:
        """Send ``n`` requests at once; return the wall time to the last answer, and statuses."""
        with ThreadPoolExecutor(n) as pool:
            start = time.monotonic()
            statuses = [s for s, _ in pool.map(lambda _: self.get(path), range(n))]
            return time.monotonic() - start, statuses


def _body(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:  # uvicorn's 503 is plain text
        return {"text": raw.decode(errors="replace")}


def start_server(**settings: object) -> Server:
    port = free_port()
    env = service_env(host="127.0.0.1", port=port, **settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadlab.probe"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Server(f"http://127.0.0.1:{port}", proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {proc.stderr.read().decode()}")
        try:
            if server.get("/health", timeout=1)[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise RuntimeError("server did not become healthy within 30 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.process.stderr.close()


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[..., Server]]:
    """Start servers with given settings; each configuration is started once per module."""
    started: dict[tuple, Server] = {}

    def get(**settings: object) -> Server:
        key = tuple(sorted(settings.items()))
        if key not in started:
            started[key] = start_server(**settings)
        return started[key]

    yield get
    for server in started.values():
        stop_server(server)
