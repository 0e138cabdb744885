"""Which Docker engine runs what: the target on TARGET_CONTEXT, Locust's master on the first of
LOAD_CONTEXTS and its workers spread over all of them (LOCUST_WORKERS on each).

Engines are Docker contexts (`docker context create NAME --docker host=ssh://...`), the
mechanism Docker already has for "that machine over there"; the lab invents no transport.
Unset, both are the current context and the lab behaves as it always has, the target
published on loopback. Once the load runs on another engine than the target, the address the
load reaches the target at cannot be guessed (NAT, several interfaces, a VPN): TARGET_ADDRESS
says it, and the target is published there only. Workers on another engine than the master
reach it at MASTER_ADDRESS, likewise explicit.

``resolve`` checks the settings alone (no engine); ``check`` asks every engine it names, once,
before anything starts.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from dataclasses import dataclass

from loadlab.errors import ConfigError

CURRENT = "current"  # how the current context is shown: `docker` without --context
# Docker's own rule for a context name (cli/command/context: validateContextName).
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$")
MASTER_PORT = 5557  # Locust's: workers connect to the master here


@dataclass(frozen=True)
class Engines:
    """Where each part of a run goes. None is the current context."""

    target: str | None = None
    load: tuple[str | None, ...] = (None,)
    target_address: str = "127.0.0.1"  # where the target is published, and reached
    master_address: str | None = None  # where workers on other engines reach the master

    @property
    def master(self) -> str | None:
        return self.load[0]

    @property
    def default(self) -> bool:
        """Everything on the current engine, as the lab always ran."""
        return self.target is None and self.load == (None,)

    @property
    def split(self) -> bool:
        """Some Locust process runs on another engine than the target."""
        return any(c != self.target for c in self.load)

    def named(self) -> tuple[str | None, ...]:
        """Every engine of the run, the target's first, each once."""
        return tuple(dict.fromkeys((self.target, *self.load)))

    def to_json(self) -> dict:
        return {"target": self.target, "load": list(self.load),
                "target_address": self.target_address,
                "master_address": self.master_address}  # fmt: skip


def label(context: str | None) -> str:
    return context or CURRENT


def argv(context: str | None) -> list[str]:
    """`docker`, pointed at ``context``."""
    return ["docker"] if context is None else ["docker", "--context", context]


def resolve(target: str | None, load: tuple[str, ...] | None, target_address: str | None,
            master_address: str | None) -> Engines:  # fmt: skip
    """The arrangement the settings ask for, checked without asking any engine."""
    for name in (target, *(load or ())):
        if name is not None and not _NAME.match(name):
            raise ConfigError(f"{name!r} is not a Docker context name (letters, digits, _.+-)")
    loads = tuple(load) if load else (target,)
    if len(set(loads)) != len(loads):
        raise ConfigError(f"LOAD_CONTEXTS names an engine twice: {','.join(map(label, loads))}")
    engines = Engines(target, loads, _address("TARGET_ADDRESS", target_address) or "127.0.0.1",
                      _address("MASTER_ADDRESS", master_address))  # fmt: skip
    if (engines.split or target is not None) and target_address is None:
        raise ConfigError(f"TARGET_ADDRESS: the target runs on {label(target)} and Locust on "
                          f"{','.join(map(label, loads))}: give the address the load and "
                          "the driver reach it at (the lab publishes it there only)")  # fmt: skip
    if len(loads) > 1 and master_address is None:
        raise ConfigError(
            f"MASTER_ADDRESS: Locust's workers on {','.join(map(label, loads[1:]))}"
            f" must reach its master on {label(loads[0])}: give its address there"
        )
    return engines


def _address(name: str, text: str | None) -> str | None:
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ConfigError(f"{name} must be an IP address, got {text!r}") from None
    if address.is_unspecified or address.is_multicast:
        raise ConfigError(f"{name} {text}: publish on one address, not every one or a group")
    return str(address)


def check(engines: Engines, timeout: float = 20) -> dict[str, dict]:
    """Every engine named, asked once: it exists as a context and answers. Its facts (CPUs,
    kernel, cgroup version, its clock is measured elsewhere) by context label."""
    return {label(c): _facts(c, _setting(engines, c), timeout) for c in engines.named()}


def _setting(engines: Engines, context: str | None) -> str:
    return "TARGET_CONTEXT" if context == engines.target else "LOAD_CONTEXTS"


def _facts(context: str | None, setting: str, timeout: float) -> dict:
    if context is not None:
        found = _docker(["docker", "context", "inspect", context], timeout)
        if found.returncode != 0:
            raise ConfigError(f"{setting}: Docker context {context!r} does not exist "
                              "(docker context ls)")  # fmt: skip
    done = _docker([*argv(context), "info", "--format", "{{json .}}"], timeout)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise ConfigError(f"{setting}: the Docker engine of context {label(context)} does not "
                          f"answer: {last}")  # fmt: skip
    info = json.loads(done.stdout)
    return {"name": info.get("Name"), "ncpu": info.get("NCPU"),
            "kernel": info.get("KernelVersion"), "os": info.get("OperatingSystem"),
            "server": info.get("ServerVersion"),
            "cgroup": info.get("CgroupVersion")}  # fmt: skip


def cpu_model(context: str | None, image: str, timeout: float = 60) -> str | None:
    """The engine host's CPU model, read inside a throwaway container of ``image`` (the Engine
    API reports the count of CPUs, not what they are)."""
    done = _docker([*argv(context), "run", "--rm", "--network", "none", "--entrypoint", "sh",
                    image, "-c", "grep -m1 'model name' /proc/cpuinfo"], timeout)  # fmt: skip
    return done.stdout.partition(":")[2].strip() or None if done.returncode == 0 else None


def _docker(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ConfigError(f"`{' '.join(command)}` did not answer within {timeout:g} s") from None
    except FileNotFoundError:
        raise ConfigError("docker is not installed; run `make engine`") from None
