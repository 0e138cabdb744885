"""What a run was measured on and with: the facts two runs must share to be judged together.

A fingerprint gathers what changes results without being the code under test: the host
(CPU model and count), the CPU limits and cpusets the containers were actually granted (the
points' placement and the quota and affinity read inside the container), the target's
Python and libraries (from /runtime, not the driver's), and the lab's settings (the matrix,
service time, pool settings, window, load mode). The driver's own Python is left out on
purpose: it only sends requests and reads files, and hosted runners change its patch
release without notice. Absent values stay absent (unknown), as in the metadata.

compare refuses runs whose settings or host differ; the nightly keeps one baseline per
fingerprint, so a night is only ever judged against a run made under the same conditions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from loadlab.results import Run

HOST_KEYS = ("host_cpu_model", "host_cpu_count")
# Settings that change what a point measures; a difference refuses a comparison.
SETTINGS = ("load", "arrivals", "work_seconds", "duration", "locust_workers", "target_env")
# The matrix: a different one is another experiment, not a regression of this one.
MATRIX = ("series", "cpus", "users", "rates")
ID_LENGTH = 12  # hex digits of sha256: unique enough for a handful of machines, short to read


def settings(run: Run) -> dict[str, Any]:
    """The run's measurement settings from config.resolved (format 1: some beside it)."""
    config = run.config or {}
    resolved = config.get("resolved") or {}
    found = {name: resolved.get(name, config.get(name)) for name in SETTINGS}
    found = {name: value for name, value in found.items() if value is not None}
    if "load" not in found and resolved.get("users") and not resolved.get("rates"):
        found["load"] = "closed"  # format 1 knew the closed loop only: a users axis, no rates
    if found.get("load") == "closed":
        found.pop("arrivals", None)  # how sends are spaced matters to the open loop only
    return found


def settings_conflicts(a: Run, b: Run) -> list[str]:
    """Each setting known on both sides that differs, as "name A-value vs B-value"."""
    sa, sb = settings(a), settings(b)
    found = [
        f"{name} {_text(sa[name])} vs {_text(sb[name])}"
        for name in SETTINGS
        if name != "target_env"
        and name in sa
        and name in sb
        and canonical(sa[name]) != canonical(sb[name])
    ]
    env_a, env_b = sa.get("target_env"), sb.get("target_env")
    if env_a is None or env_b is None:
        return found
    for var in sorted(env_a.keys() | env_b.keys()):
        if var == "WORK_SECONDS" and "work_seconds" in sa and "work_seconds" in sb:
            continue  # already judged as work_seconds
        # target_env lists the variables given; one not given ran at compose.yaml's default.
        va, vb = env_a.get(var, "default"), env_b.get(var, "default")
        if str(va) != str(vb):
            found.append(f"{var} {va} vs {vb}")
    return found


def host(run: Run) -> dict[str, Any]:
    return {key: run.metadata[key] for key in HOST_KEYS if run.metadata.get(key) is not None}


def granted(run: Run) -> dict[str, dict[str, str]]:
    """Per CPU limit: the cpusets Docker was asked for and the quota and affinity seen inside."""
    found: dict[str, dict[str, set[str]]] = {}
    for result in run.points.values():
        seen = found.setdefault(f"{result.point.cpus:g}", {})
        placement, runtime = result.placement or {}, result.runtime or {}
        for source, keys in (
            (placement, ("target_cpuset", "locust_cpuset", "shared")),
            (runtime, ("cpu_quota", "affinity")),
        ):
            for key in keys:
                if source.get(key) is not None:
                    seen.setdefault(key, set()).add(_text(canonical(source[key])))
    return {cpus: _joined(seen) for cpus, seen in found.items() if seen}


def target(run: Run) -> dict[str, Any]:
    """The target's interpreter and libraries, from /runtime (one image serves every variant)."""
    pythons: set[str] = set()
    versions: dict[str, set[str]] = {}
    for result in run.points.values():
        runtime = result.runtime or {}
        if runtime.get("python"):
            pythons.add(f"{runtime.get('implementation', '')} {runtime['python']}".strip())
        for library, version in (runtime.get("versions") or {}).items():
            if version is not None:
                versions.setdefault(library, set()).add(str(version))
    found: dict[str, Any] = {"versions": _joined(versions)} if versions else {}
    if pythons:
        found["python"] = "/".join(sorted(pythons))
    # A target file's app: its name and image ids (a night on another image of it is another
    # machine's). The demo's image is the lab's own code, which the nightly exists to judge.
    own = run.metadata.get("target") or {}
    if own and not str(own.get("file", "")).endswith("services/target/target.toml"):
        found["app"] = {"name": own.get("name"), "images": own.get("images") or {}}
    return found


def target_pythons(run: Run) -> dict[str, str]:
    """The target's Python per variant: variants may run different images."""
    found: dict[str, set[str]] = {}
    for result in run.finished():
        if python := (result.runtime or {}).get("python"):
            found.setdefault(result.point.variant, set()).add(str(python))
    return {variant: "/".join(sorted(versions)) for variant, versions in found.items()}


def matrix(run: Run) -> dict[str, Any]:
    resolved = (run.config or {}).get("resolved") or {}
    return {key: resolved[key] for key in MATRIX if resolved.get(key) is not None}


@dataclass(frozen=True)
class Fingerprint:
    """The components as plain JSON data; ``id`` names the machine in the store and history."""

    components: dict[str, Any]

    @property
    def id(self) -> str:
        text = json.dumps(canonical(self.components), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:ID_LENGTH]

    @property
    def label(self) -> str:
        """A short human description, e.g. "2x Intel Xeon, cpus 1 on 0, cpython 3.11.2"."""
        host_part = self.components.get("host", {})
        parts = [
            f"{host_part.get('host_cpu_count', '?')}x "
            f"{host_part.get('host_cpu_model', 'unknown CPU')}"
        ]
        parts += [
            f"cpus {cpus} on {seen['target_cpuset']}"
            for cpus, seen in self.components.get("granted", {}).items()
            if "target_cpuset" in seen
        ]
        if python := self.components.get("target", {}).get("python"):
            parts.append(python)
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "components": self.components}


def engines(run: Run) -> dict[str, Any]:
    """Over several Docker engines: which runs what, and each engine's host (CPU model and
    count); {} on one engine, so a run on one engine keeps the fingerprint it always had."""
    found = run.metadata.get("engines") or {}
    if not found:
        return {}
    arrangement = found.get("arrangement") or {}
    hosts = {name: {k: facts.get(k) for k in ("cpu_model", "ncpu")}
             for name, facts in (found.get("engines") or {}).items()}  # fmt: skip
    return {"target": arrangement.get("target"), "load": arrangement.get("load"), "hosts": hosts}


def of(run: Run) -> Fingerprint:
    parts = {
        "host": host(run),
        "granted": granted(run),
        "target": target(run),
        "settings": settings(run),
        "matrix": matrix(run),
    }
    if arranged := engines(run):
        parts["engines"] = arranged
    return Fingerprint(canonical(parts))


def canonical(value: Any) -> Any:
    """Equal data, equal JSON: 6 and 6.0 are one duration, tuples are lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return str(value)


def _joined(seen: dict[str, Iterable[str]]) -> dict[str, str]:
    return {key: "/".join(sorted(values)) for key, values in sorted(seen.items())}


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)
