"""Every variable the lab reads from make's command line or the environment, and who owns it.

The one table: the Makefile derives its lists from it (``python -m loadlab.stack.variables``
prints them as Make assignments), Compose's interpolation is checked against it by a test,
and a variable given to make that is in none of its groups is refused before anything starts,
with the nearest known name (``make sweep PYTHON=3.13`` would otherwise run Python 3.11: the
setting is PYTHONS).

Stdlib only and free of the driver's dependencies: make runs it with the machine's python3
before the lab's virtual environment exists.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import fields

from loadlab.plan.config import SweepConfig
from loadlab.plan.variants import VARIANTS
from loadlab.shared import service

# compose.yaml interpolates these for each Locust run and target; the driver sets them, and a
# value a user left in the environment is dropped (it would silently reshape a run).
PER_RUN = (
    "CPUS",
    "CPUSET",
    "LOCUST_CPUSET",
    "TARGET_SERVICE",
    "USERS",
    "RUN_TIME",
    "SPAWN_RATE",
    "LOCUST_CLASS",
    "LOCUST_OUT",
    "LOCUST_WORKERS",
    "LAB_STEPS",
    "LAB_SETTLE",
    "LAB_LOAD",
    "LAB_REQUESTS",
    "TARGET_IMAGE",
    "TARGET_ENV_FILE",
    "TARGET_HEALTH",
    "LAB_ARRIVALS",
    "LAB_MAX_IN_FLIGHT",
    "LAB_SAMPLES",
    "TARGET_BIND",
)
# compose.engines.yaml's, for a run spread over Docker engines: likewise the driver's alone.
ENGINE_RUN = (
    "MASTER_BIND",
    "MASTER_PORT",
    "LOCUST_TARGET_URL",
    "LOCUST_MASTER_HOST",
    "LAB_CLOCK_OFFSET",
)
# Which image runs: the driver sets TARGET_TAG for a variant@3.13 (and drops a stray one);
# builds and tests set the others. Exported by make: builds need them.
IMAGES = ("TARGET_TAG", "IMAGE_TAG", "BASE_IMAGE")
# Where the stack lives: Compose's project name and each variant's published port.
PLACES = ("COMPOSE_PROJECT_NAME", *(f"{v.upper().replace('-', '_')}_PORT" for v in VARIANTS))
# The Makefile's own arguments (make help says which target takes which).
MAKE_ARGUMENTS = (
    "VARIANT",  # make up
    "MEM_LIMIT",  # make up: the target's memory limit
    "A",  # make compare: the reference run
    "B",  # make compare: the run judged
    "RUN",  # make report / baseline
    "FORCE",  # make compare: different environments
    "THRESHOLD",  # make compare / nightly
    "P95_THRESHOLD",
    "STORE",  # make nightly: baselines per machine
    "REBASELINE",  # make nightly
    "PYTEST_ARGS",  # make test
    "HOST_PYTHON",  # the python3 that makes the tool and lab environments
    "RATE",  # make capacity: the rate to serve
    "SLO",  # make capacity: the objective, e.g. p99<250ms
    "CPU_STEP",  # make capacity: the CPU grid's step
    "HEADROOM",  # make capacity: 0 skips the headroom trials
    "ATTEMPTS",  # make capacity: windows a trial gets before it stays undecided
    "MANIFESTS",  # make kubernetes: where the manifests go
    "NAMESPACE",  # make kubernetes: their namespace
    "REGISTRY",  # make kubernetes: where the cluster pulls the images from
    "SECOND_ENGINE_NET",  # make second-engine: the veth's /30 or /29
    "SECOND_ENGINE_BRIDGE",  # make second-engine: its dockerd's --bip
    "KEEP_DATA",  # make second-engine-down: keep its data root (images)
    "MODULES",  # make mutation: the modules to mutate (measure/status.py,judge)
    "JOBS",  # make mutation: mutmut's worker processes
)


def sweep_settings() -> tuple[str, ...]:
    """The settings of a sweep (SweepConfig's fields), as make variables."""
    return tuple(f.name.upper() for f in fields(SweepConfig))


def unexported() -> tuple[str, ...]:
    """What make never exports: the lab's settings are passed on by name, never inherited."""
    return tuple(sorted({*sweep_settings(), *service.names(), *PER_RUN, *ENGINE_RUN, "MEM_LIMIT"}))


def known() -> frozenset[str]:
    """Every variable make accepts on its command line."""
    given = (*sweep_settings(), *service.names(), "CPUSET", *IMAGES, *PLACES, *MAKE_ARGUMENTS)
    return frozenset(given)


def refusal(names: list[str]) -> str | None:
    """One line for the first unknown variable, with the nearest known name; None if all known."""
    unknown = [n for n in names if n not in known()]
    if not unknown:
        return None
    name = unknown[0]
    near = difflib.get_close_matches(name, sorted(known()), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]}?" if near else ""
    return f"error: {name} is not a setting of the lab{hint} (settings: docs/settings.md)"


def lists() -> dict[str, tuple[str, ...]]:
    """The Makefile's lists, by the name the Makefile gives each."""
    return {
        "SWEEP_VARS": sweep_settings(),
        "SERVICE_VARS": service.names(),
        "UNEXPORTED_VARS": unexported(),
    }


def main(argv: list[str]) -> int:
    """`make NAME...`: the Makefile's lists as one line of LIST:WORD words, or, when a NAME
    given to make is unknown, only the one line refusing it (exit 2). One call per make run:
    each costs a python3 start."""
    line = refusal(argv[1:])
    if line:
        print(line)
        return 2
    print(" ".join(f"{name}:{word}" for name, words in lists().items() for word in words))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
