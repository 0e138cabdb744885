"""The probe's settings: the service's own parsers and bounds, the probe's defaults."""

from __future__ import annotations

import os
import re

import pytest

from loadlab.probe.settings import ServerSettings
from loadlab.shared.service import Settings
from loadlab.shared.settings import SettingsError

APP = {"LAB_APP": "pkg.mod:app"}


def test_defaults_serve_one_uvicorn_worker_on_every_address():
    """Only LAB_APP given: uvicorn, one worker, 0.0.0.0:8000, the limiter left to anyio."""
    s = ServerSettings.from_env(APP)
    assert (s.server, s.workers, s.host, s.port) == ("uvicorn", 1, "0.0.0.0", 8000)
    assert s.thread_limit is None and s.limit_concurrency is None and s.lab_app == "pkg.mod:app"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("THREAD_LIMIT", "0"),
        ("THREAD_LIMIT", "abc"),
        ("THREAD_LIMIT", "10001"),
        ("WORKERS", "65"),
        ("WORKERS", "AUTO"),
        ("SERVER", "hypercorn"),
        ("LIMIT_CONCURRENCY", "100001"),
        ("PORT", "0"),
    ],
)
def test_a_bad_value_is_refused_in_the_services_own_words(name, value):
    """The probe refuses what the service refuses, with the very same message."""
    with pytest.raises(SettingsError) as probe:
        ServerSettings.from_env({**APP, name: value})
    with pytest.raises(SettingsError) as service:
        Settings.from_env({name: value})
    assert str(probe.value) == str(service.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "LAB_APP is not set"),
        ("  ", "LAB_APP is not set"),
        ("pkg.mod", "LAB_APP must be package.module:attribute, got 'pkg.mod'"),
        ("pkg.mod:", "LAB_APP must be package.module:attribute, got 'pkg.mod:'"),
        ("pkg mod:app", "LAB_APP must be package.module:attribute, got 'pkg mod:app'"),
    ],
)
def test_lab_app_must_name_module_and_attribute(value, message):
    """A missing or malformed LAB_APP is refused before anything is imported."""
    with pytest.raises(SettingsError, match=f"^{re.escape(message)}"):
        ServerSettings.from_env({"LAB_APP": value})


def test_workers_auto_follows_the_servers_recipe_and_survives_the_trip():
    """WORKERS=auto resolves per server, and stays "auto" in the workers' environment."""
    s = ServerSettings.from_env({**APP, "WORKERS": "auto", "SERVER": "gunicorn"})
    assert s.worker_count() == 2 * (os.cpu_count() or 1) + 1
    assert s.to_env()["WORKERS"] == "auto"
    assert ServerSettings.from_env(s.to_env()) == s
