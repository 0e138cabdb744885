"""python3 -m loadlab.probe serve: the server's argv, and every refusal in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadlab.probe.serve import ENTRY, command, prepare
from loadlab.probe.settings import ServerSettings
from loadlab.shared.settings import SettingsError
from tests.probe.conftest import probe_env


def settings(**env: str) -> ServerSettings:
    return ServerSettings.from_env({"LAB_APP": "pkg.mod:app", **env})


def test_uvicorn_serves_the_wrapped_app_with_the_lab_options():
    """uvicorn gets the probe's entry point, the bind, the workers, no access log, a 5 s grace
    and, when asked, --limit-concurrency."""
    argv = command(settings(WORKERS="3", LIMIT_CONCURRENCY="9", PORT="9000"))
    assert argv[:4] == [sys.executable, "-m", "uvicorn", ENTRY]
    assert argv[4:] == ["--host", "0.0.0.0", "--port", "9000", "--workers", "3",
                        "--no-access-log", "--timeout-graceful-shutdown", "5",
                        "--limit-concurrency", "9"]  # fmt: skip


def test_gunicorn_serves_it_with_uvicorns_worker():
    """gunicorn gets uvicorn_worker.UvicornWorker, the bind and workers (auto: 2 x CPUs + 1)."""
    argv = command(settings(SERVER="gunicorn", WORKERS="2", HOST="127.0.0.1"))
    assert argv == [sys.executable, "-m", "gunicorn", ENTRY,
                    "--worker-class", "uvicorn_worker.UvicornWorker", "--workers", "2",
                    "--bind", "127.0.0.1:8000", "--graceful-timeout", "5"]  # fmt: skip


def test_limit_concurrency_with_gunicorn_is_refused():
    """gunicorn's worker would ignore LIMIT_CONCURRENCY; it is refused, not dropped."""
    with pytest.raises(SettingsError, match=r"^LIMIT_CONCURRENCY needs SERVER=uvicorn"):
        command(settings(SERVER="gunicorn", LIMIT_CONCURRENCY="5"))


def test_the_workers_environment_keeps_the_users_and_adds_the_resolved(write_app):
    """The server's environment is ours (GUNICORN_CMD_ARGS untouched) plus every setting as
    resolved, so each worker process reads the same ones."""
    spec = write_app()
    env = {"LAB_APP": spec, "SERVER": "gunicorn", "GUNICORN_CMD_ARGS": "--timeout 90"}
    argv, served = prepare(env)
    assert argv[2] == "gunicorn" and served["GUNICORN_CMD_ARGS"] == "--timeout 90"
    assert (served["WORKERS"], served["HOST"], served["PORT"]) == ("1", "0.0.0.0", "8000")


def serve(tmp_path, **settings: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loadlab.probe", "serve"],
        env=probe_env(tmp_path, **settings), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("source", "lab_app", "line"),
    [
        (None, "pkg.mod:app", "error: LAB_APP=pkg.mod:app does not import: "
         "ModuleNotFoundError: No module named 'pkg'"),
        ("app = None\n", "badapp:application", "error: LAB_APP=badapp:application: "
         "no attribute application in badapp"),
        ("raise RuntimeError('boom')\n", "badapp:app", "error: LAB_APP=badapp:app does not "
         "import: RuntimeError: boom"),
        ("from loadlab.shared.settings import SettingsError\n"
         "raise SettingsError('POOL must be at least 1')\n", "badapp:app",
         "error: POOL must be at least 1"),
        ("import sys\nprint('error: the app says no', file=sys.stderr)\nraise SystemExit(2)\n",
         "badapp:app", "error: the app says no"),
        (None, "", "error: LAB_APP is not set (the ASGI app to serve, package.module:attr)"),
    ],
)  # fmt: skip
def test_an_app_that_cannot_start_is_exit_2_and_one_line(tmp_path, source, lab_app, line):
    """Before any server starts: a missing module or attribute, an app raising at import, its
    own SettingsError or its own exit, and no LAB_APP, are each one line and status 2."""
    if source is not None:
        (tmp_path / "badapp.py").write_text(source)
    done = serve(tmp_path, lab_app=lab_app)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [line]


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("THREAD_LIMIT", "0", "error: THREAD_LIMIT must be at least 1, got '0' (each thread is "
         "a kernel task with its own stack)"),
        ("THREAD_LIMIT", "four", "error: THREAD_LIMIT: 'four' is not a valid int"),
        ("WORKERS", "65", "error: WORKERS must be at most 64, got '65' (each process is a whole "
         "interpreter, tens of MB)"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_exit_2_and_one_line(tmp_path, name, value, line):
    """A bad server setting is refused before the app is even imported."""
    done = serve(tmp_path, lab_app="never.imported:app", **{name: value})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [line]
