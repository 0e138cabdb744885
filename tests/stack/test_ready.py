"""When a started target is ready for load (stack/compose.py's own probes, which replace
`compose up --wait`): its health path answers 2xx, and every worker process has answered.
Against real servers on loopback, one of them with two worker processes."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from loadlab.plan.target import RUNTIME
from loadlab.stack.compose import _answers, _every_worker
from tests.service.conftest import free_port, serve  # noqa: F401 (serve: a fixture)


@pytest.fixture(scope="module")
def fake() -> Iterator[dict]:
    """A server whose answers the test sets: status of /health, and the pids /runtime gives in
    turn while claiming two workers (a server whose second worker is still importing)."""
    state = {"health": 503, "pids": [1]}
    reads = iter(range(10**6))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == RUNTIME:
                pids = state["pids"]
                body = json.dumps({"workers": 2, "pid": pids[next(reads) % len(pids)]}).encode()
                status = 200
            else:
                body, status = b"{}", state["health"]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def test_only_a_2xx_health_answer_is_ready(fake):
    fake["health"] = 503  # an app still connecting to its database, say
    assert not _answers(fake["url"] + "/health")
    fake["health"] = 200
    assert _answers(fake["url"] + "/health")


def test_nothing_listening_is_not_ready():
    assert not _answers(f"http://127.0.0.1:{free_port()}/health")
    assert not _every_worker(f"http://127.0.0.1:{free_port()}")


def test_a_worker_that_never_answered_is_not_ready(fake):
    """Two workers claimed, one pid seen in every read: not ready; both seen: ready."""
    fake["pids"] = [7]
    assert not _every_worker(fake["url"])
    fake["pids"] = [7, 8]
    assert _every_worker(fake["url"])


def test_a_real_two_worker_server_is_ready_once_both_answered(serve):  # noqa: F811
    """gunicorn with two workers: its health answers once one worker does, and the second
    may still be booting; both answer /runtime soon after."""
    server = serve(server="gunicorn", workers=2)
    assert _answers(server.url + "/health")
    deadline = time.monotonic() + 30
    while not _every_worker(server.url):
        assert time.monotonic() < deadline, "the second worker never answered"
        time.sleep(0.1)
