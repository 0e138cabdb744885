"""The one table of variables: the Makefile derives its lists from it, Compose interpolates
nothing outside it, and make refuses a variable in none of its groups."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from loadlab.plan.config import settings_help
from loadlab.plan.variants import VARIANTS
from loadlab.shared import service
from loadlab.stack import compose, variables

ROOT = Path(__file__).resolve().parents[2]


def make_database() -> str:
    """What make evaluated, without running a recipe."""
    done = subprocess.run(["make", "-pnq", "help"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout


def make_list(name: str) -> list[str]:
    found = re.search(rf"^{name} := (.*)$", make_database(), re.M)
    assert found, f"make defines no {name}"
    return found.group(1).split()


def test_makefile_sweep_vars_are_the_sweep_settings():
    """SWEEP_VARS as make evaluates it names exactly SweepConfig's settings, in order."""
    assert make_list("SWEEP_VARS") == [name.upper() for name, _, _ in settings_help()]


def test_makefile_service_vars_are_what_the_service_reads():
    """SERVICE_VARS as make evaluates it is the service's own table of variables."""
    assert make_list("SERVICE_VARS") == list(service.names())


def test_every_lab_setting_is_unexported():
    """No sweep, service or per-run variable leaks into recipes or Compose's interpolation."""
    unexported = set(variables.unexported())
    assert set(variables.sweep_settings()) <= unexported
    assert set(service.names()) <= unexported and set(variables.PER_RUN) <= unexported


def test_compose_interpolates_only_known_variables():
    """Every ${VAR} in compose.yaml is in the table, and each per-run one is the driver's."""
    lines = (ROOT / "compose.yaml").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    assert used <= variables.known() | set(variables.PER_RUN)
    assert set(variables.PER_RUN) <= used


def test_the_engines_file_interpolates_only_the_drivers_variables():
    """compose.engines.yaml (a run over several engines) reads exactly ENGINE_RUN."""
    lines = (ROOT / "compose.engines.yaml").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    assert set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text)) == set(variables.ENGINE_RUN)


def test_the_stack_drops_exactly_the_per_run_variables():
    """A user's stray per-run value (and TARGET_TAG) never reaches Compose; the rest does."""
    environ = compose.Stack(env={})._environ
    stray = {name: "stray" for name in (*variables.PER_RUN, "TARGET_TAG", "IMAGE_TAG")}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in stray.items():
            mp.setenv(name, value)
        seen = environ({})
    # TARGET_BIND is always the driver's own: the address the plan publishes the target at.
    assert not (set(variables.PER_RUN) - {"TARGET_BIND"}) & seen.keys() and "TARGET_TAG" not in seen
    assert seen["TARGET_BIND"] == "127.0.0.1"
    assert seen["IMAGE_TAG"] == "stray"


def test_compose_has_a_service_per_variant():
    """compose.yaml defines one service for each variant name, and each publishes a port."""
    text = (ROOT / "compose.yaml").read_text().split("\nservices:\n", 1)[1]
    services = set(re.findall(r"^  ([a-z][a-z0-9-]*):$", text, re.M))
    assert set(VARIANTS) | {"locust-master", "locust-worker"} == services
    for place in variables.PLACES[1:]:
        assert "${" + place in text


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("PYTHON=3.13", "did you mean PYTHONS?"),
        ("USER=5", "did you mean USERS?"),
        ("ZZZ=1", "(settings: docs/settings.md)"),
    ],
)
def test_make_refuses_an_unknown_variable_with_a_suggestion(given, hint):
    """An unknown variable stops make at once: exit 2, one line naming it and the nearest name."""
    done = subprocess.run(["make", "-n", "sweep", given], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and done.stdout == ""
    assert f"{given.split('=')[0]} is not a setting of the lab" in lines[0] and hint in lines[0]


def test_make_accepts_every_known_variable():
    """Every variable of the table passes make's check (none is refused by its own table)."""
    assert variables.refusal(sorted(variables.known())) is None
    done = subprocess.run(["make", "-n", "help", "PYTHONS=3.13", "A=x", "VARIANT=gunicorn"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
