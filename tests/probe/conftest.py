"""Apps written into tmp_path for the probe to wrap, and the probe built as app.py builds it."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loadlab.probe.load import load_app
from loadlab.probe.settings import ServerSettings
from loadlab.probe.wrap import Probe

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
# The variables the probe reads; a test's subprocess gets only the ones it sets.
PROBE_VARIABLES = ("LAB_APP", "SERVER", "WORKERS", "THREAD_LIMIT", "LIMIT_CONCURRENCY",
                   "HOST", "PORT", "GUNICORN_CMD_ARGS")  # fmt: skip

# A tiny FastAPI app: its own routes, a catch-all that records what reached it, and a
# blocking async handler (the anti-pattern the lag monitor exists to show).
TINY = """
import time
from fastapi import FastAPI, Request

app = FastAPI()
app.state.reached = []

@app.get("/hello")
async def hello():
    return {"hello": "world"}

@app.get("/sync")
def sync(seconds: float = 0.0):
    time.sleep(seconds)
    return {"slept": seconds}

@app.get("/block")
async def block(seconds: float = 0.2):
    time.sleep(seconds)
    return {"blocked": seconds}

@app.api_route("/{rest:path}", methods=["GET", "POST"])
async def anything(rest: str, request: Request):
    request.app.state.reached.append("/" + rest)
    return {"reached": rest}
"""

_names = itertools.count()


@pytest.fixture
def write_app(tmp_path, monkeypatch) -> Iterator[Callable[..., str]]:
    """Write ``source`` as a fresh module in tmp_path (on sys.path); return "module:app"."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(source: str = TINY, attribute: str = "app") -> str:
        name = f"probe_test_app_{os.getpid()}_{next(_names)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        written.append(name)
        return f"{name}:{attribute}"

    yield write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture
def probe(write_app) -> Callable[..., Probe]:
    """The probe around an app written from ``source``, with settings from ``env``."""

    def make(source: str = TINY, **env: str) -> Probe:
        spec = write_app(source)
        settings = ServerSettings.from_env({"LAB_APP": spec, **env})
        return Probe(load_app(spec), settings, name=spec)

    return make


def probe_env(*paths: Path, **settings: object) -> dict[str, str]:
    """A subprocess's environment: ours without the probe's variables, the probe importable
    from src/ (and ``paths``), plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in PROBE_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (SRC, *paths))
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env
