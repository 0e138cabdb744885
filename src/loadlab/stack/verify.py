"""Verify before measuring (TechEmpower's verify mode): the target comes up, and every selected
endpoint answers once with the status and body its target file says, or the run stops before
any load, naming the endpoint, what was expected, what came back and how the answer began.

A target that cannot start is named the same way: one line with the container's own last
word (the probe's `error: LAB_APP=... does not import: ...`, say), within bounded time.
"""

from __future__ import annotations

from loadlab.errors import ConfigError, EngineError, PointError
from loadlab.plan.config import Plan
from loadlab.plan.placement import Placement, place
from loadlab.plan.target import MIX
from loadlab.plan.variants import service_of
from loadlab.stack import images, readiness
from loadlab.stack.compose import Stack, session

START_SECONDS = 60  # the healthcheck's start period (20 s) and retries, with room to spare


def container_env(plan: Plan, prepared: images.Prepared, variant: str,
                  placement: Placement) -> dict[str, str]:  # fmt: skip
    """What Compose interpolates for ``variant`` of the plan's target under ``placement``."""
    # Beside the runs, not in this one's directory: verify runs before that exists.
    env_dir = plan.config.out / ".target-env" / plan.directory.name
    target = images.compose_env(plan.target, prepared, variant, env_dir)
    return {**plan.target_env(), **target, "CPUS": f"{placement.cpus:g}",
            "CPUSET": placement.target_cpuset}  # fmt: skip


def start_services(stack: Stack, plan: Plan) -> None:
    """The target's own services (a database, say), healthy before any target starts."""
    if plan.target.services:
        stack.compose("up", "--detach", "--wait", "--no-build", *plan.target.services,
                      timeout=300)  # fmt: skip


def up(stack: Stack, variant: str, env: dict[str, str], timeout: float = START_SECONDS) -> None:
    """``stack.up``, with a target that exits or never turns healthy named in one line."""
    try:
        stack.up(variant, env, timeout=timeout)
    except EngineError as exc:
        raise EngineError(f"{variant} did not come up within {timeout:g} s: "
                          f"{last_word(stack, variant) or exc}") from None  # fmt: skip


def last_word(stack: Stack, variant: str) -> str | None:
    """The container's last line of output, its own `error: ...` line if it printed one."""
    logs = stack.compose("logs", "--no-color", "--no-log-prefix", "--tail", "40",
                         service_of(variant), check=False, timeout=60)  # fmt: skip
    lines = [line.strip() for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or [None])[-1]


def endpoints(plan: Plan) -> list[str]:
    """Every endpoint the plan sends to (the mix sends them all)."""
    chosen = dict.fromkeys(e for _, e in plan.series)
    if MIX in chosen:
        chosen = {**dict.fromkeys(e.name for e in plan.target.endpoints), **chosen}
    return [e for e in chosen if e != MIX]


def first(plan: Plan) -> tuple[str, float]:
    """The variant and CPU limit verify brings up: the plan's first."""
    return plan.series[0][0], plan.cpus[0]


def verify(stack: Stack, plan: Plan, prepared: images.Prepared, keep: bool = False) -> list[str]:
    """Bring up the plan's first variant, check every endpoint once, tear it all down (unless
    ``keep``: then the verified container stays up for the sweep's first group, and the
    caller's session takes it down); the endpoints verified, or ConfigError naming the first
    that answered wrong (with everything torn down)."""
    variant, cpus = first(plan)
    placement = place(cpus)
    timeout = plan.target.answer_seconds  # its file's answer_seconds: longer is a hang
    with session(stack, keep=keep):
        start_services(stack, plan)
        up(stack, variant, container_env(plan, prepared, variant, placement))
        url = stack.url(variant)
        readiness.wait_idle(url, timeout=timeout)
        checked = []
        for name in endpoints(plan):
            try:
                readiness.check_answer(url, plan.target, name, timeout=timeout)
            except PointError as exc:
                raise ConfigError(f"verify {plan.target.name}: {exc}") from None
            checked.append(name)
    return checked
