"""Sweep configuration: profiles, validation before anything starts, the matrix of points."""

from __future__ import annotations

import pytest

from loadlab.errors import ConfigError
from loadlab.plan.config import PROFILES, SweepConfig, resolve
from loadlab.plan.matrix import groups, points

CORES = [0, 1]


def plan(**raw: str):
    return resolve(SweepConfig.from_strings(raw), cores=CORES)


def test_default_profile_reproduces_the_seeds():
    """The default matrix has the five I/O styles on uvicorn, the limiter fix and a CPU series."""
    p = plan()
    assert ("uvicorn-limiter", "io/sync") in p.series
    assert {e for v, e in p.series if v == "uvicorn"} == {
        "io/async",
        "io/sync",
        "io/threadpool",
        "io/executor-default",
        "io/executor-custom",
    }
    assert any(e.startswith("cpu/") and v in ("uvicorn-workers", "gunicorn") for v, e in p.series)
    assert len(p.cpus) == 2 and min(p.users) < 6 * 2 and max(p.users) > 100


def test_given_values_override_the_profile():
    """Make variables / CLI options replace the profile's values; the rest stays."""
    p = plan(profile="smoke", users="5, 7", cpus="0.5", duration="3")
    assert (p.users, p.cpus, p.duration) == ((5, 7), (0.5,), 3.0)
    assert p.warmup == PROFILES["smoke"].warmup


def test_variants_and_endpoints_form_a_product():
    """VARIANTS x ENDPOINTS replaces the profile's series; a missing one comes from the profile."""
    p = plan(variants="gunicorn uvicorn", endpoints="io/sync,/io/async")
    assert p.series == (
        ("gunicorn", "io/sync"),
        ("gunicorn", "io/async"),
        ("uvicorn", "io/sync"),
        ("uvicorn", "io/async"),
    )
    assert {v for v, _ in plan(endpoints="io/sync").series} == {
        "uvicorn",
        "uvicorn-limiter",
        "uvicorn-workers",
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"cpus": "3"}, "CPUS must each be at most 2"),
        ({"cpus": "abc"}, "CPUS: 'abc'"),
        ({"users": "0"}, "USERS must be at least 1"),
        ({"users": "1.5"}, "USERS: '1.5'"),
        ({"duration": "0"}, "DURATION must be at least 1"),
        ({"warmup": "-1"}, "WARMUP must be at least 0"),
        ({"repeats": "0"}, "REPEATS must be at least 1"),
        ({"work_seconds": "0"}, "WORK_SECONDS"),
        ({"profile": "huge"}, "PROFILE must be one of"),
        ({"variants": "nginx"}, "VARIANTS must be one of"),
        ({"endpoints": "io/nope"}, "unknown endpoint"),
        ({"thread_limit": "0"}, "THREAD_LIMIT"),
        ({"users": "10,10"}, "USERS repeats 10"),
        ({"cpus": "nan"}, "not a finite number"),
        ({"users": ""}, "USERS is empty"),
        ({"color": "red"}, "unknown setting"),
        ({"cpus": "0.001"}, "Docker's smallest CPU quota"),
        ({"users": "1000000000"}, "USERS must be at most 10000"),
        ({"repeats": "100000"}, "REPEATS must be at most 20"),
        ({"duration": "1e12"}, "DURATION must be at most 3600"),
        ({"locust_workers": "1000"}, "LOCUST_WORKERS must be at most 16"),
        ({"workers": "1000"}, "WORKERS must be at most 64"),
        ({"variants": "uvicorn,uvicorn"}, "VARIANTS repeats uvicorn"),
        ({"endpoints": "io/sync,/io/sync"}, "ENDPOINTS repeats"),
        ({"run_id": "../../escaped"}, "RUN_ID must be a plain name"),
        ({"out": "/proc/x"}, "OUT: /proc/x is not writable"),
        ({"load": "open", "users": "10"}, "USERS is for LOAD=closed"),
        ({"rates": "100"}, "RATES is for LOAD=open"),
        ({"profile": "full"}, "give YES=1"),
        ({"arrivals": "bursty"}, "ARRIVALS must be one of"),
    ],
)
def test_bad_input_is_a_config_error(raw, message):
    """Every bad value raises ConfigError with a one-line message naming the setting."""
    with pytest.raises(ConfigError, match=message) as err:
        plan(**raw)
    assert "\n" not in str(err.value)


def test_points_are_grouped_so_each_container_starts_once():
    """Points come ordered by (variant, CPU limit), so a group shares one running container."""
    found = points(plan())
    keys = [key for key, _ in groups(found)]
    assert len(keys) == len(set(keys))
    assert len(found) == len(plan().series) * 2 * 4
    assert len({p.id for p in found}) == len(found)


def test_repeats_multiply_points_with_distinct_ids():
    """REPEATS=3 measures each point three times, each with its own id and directory."""
    found = points(plan(profile="smoke", repeats="3"))
    assert len(found) == 3 * len(points(plan(profile="smoke")))
    assert {p.repeat for p in found} == {1, 2, 3}


def test_target_env_passes_only_given_variant_settings():
    """Unset variant settings keep compose.yaml's defaults; given ones reach Compose."""
    assert plan().target_env() == {"WORK_SECONDS": "0.2"}
    env = plan(thread_limit="64", workers="3").target_env()
    assert (env["THREAD_LIMIT"], env["WORKERS"]) == ("64", "3")


def test_plan_json_records_what_the_profile_filled_in():
    """run.json's config keeps the given settings and the resolved matrix beside them."""
    data = plan(profile="smoke").to_json()
    assert data["profile"] == "smoke" and data["users"] is None
    assert data["resolved"]["users"] == list(PROFILES["smoke"].users)


def test_the_settings_reference_is_generated_from_the_code():
    """docs/settings.md is what plan.reference renders (UPDATE_DOCS=1 rewrites it)."""
    import os
    from pathlib import Path

    from loadlab.plan import reference

    page = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    if os.environ.get("UPDATE_DOCS") == "1":
        page.write_text(reference.render())
    assert page.read_text() == reference.render(), "docs/settings.md is stale: UPDATE_DOCS=1"


@pytest.mark.parametrize(
    ("name", "value"),
    [("THREAD_LIMIT", "10001"), ("WORK_SECONDS", "61"), ("WORKERS", "65"), ("CPU_ITERATIONS", "0")],
)
def test_the_driver_refuses_what_the_service_refuses_in_the_same_words(name, value):
    """A target setting the service would refuse at start-up is refused by the driver first,
    with the service's own message: both read one table (loadlab.shared.service)."""
    from loadlab.shared.service import Settings
    from loadlab.shared.settings import SettingsError

    with pytest.raises(SettingsError) as service_says:
        Settings.from_env({name: value})
    with pytest.raises(ConfigError) as driver_says:
        SweepConfig.from_strings({name.lower(): value})
    assert str(driver_says.value) == str(service_says.value)


def test_the_driver_adds_its_own_reason_only_past_the_service_bounds():
    """WORK_SECONDS=0 suits the service but not the models, LIMIT_CONCURRENCY=1 not uvicorn's
    answers: the driver refuses both, naming its own reason."""
    with pytest.raises(ConfigError, match="the lab's models divide by the service time"):
        SweepConfig.from_strings({"work_seconds": "0"})
    with pytest.raises(ConfigError, match="uvicorn answers 503 to everything at 1"):
        SweepConfig.from_strings({"limit_concurrency": "1"})
