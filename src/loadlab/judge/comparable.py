"""Whether two runs can be compared, and what differs between them that is only shown.

Runs from another host (CPU model or count), with another target Python (per variant, read
from /runtime) or made with other settings are refused in one line naming every difference,
unless forced: their numbers measure something else. Code, lock, tool and image changes are
listed but never refused, since measuring those is the point. Absent values are unknown and
never conflict.
"""

from __future__ import annotations

from loadlab.judge import fingerprint
from loadlab.results import Run

# The driver's Python is not here: it does not shape what the target measures.
INFO_KEYS = (
    "git_sha",
    "git_dirty",
    "lock_sha256",
    "python_version",
    "locust_version",
    "docker_version",
    "compose_version",
)
FORCE_HINT = "force the comparison to override (FORCE=1)"


def conflicts(a: Run, b: Run) -> list[str]:
    """What makes two runs incomparable, one phrase each; absent values are unknown."""
    ha, hb = fingerprint.host(a), fingerprint.host(b)
    reasons = [
        f"{key} differs ({ha[key]!r} vs {hb[key]!r})"
        for key in fingerprint.HOST_KEYS
        if key in ha and key in hb and ha[key] != hb[key]
    ]
    pythons_a, pythons_b = fingerprint.target_pythons(a), fingerprint.target_pythons(b)
    for variant in sorted(pythons_a.keys() & pythons_b.keys()):
        if pythons_a[variant] != pythons_b[variant]:
            reasons.append(
                f"target Python of {variant} differs ({pythons_a[variant]} vs {pythons_b[variant]})"
            )
    if settings := fingerprint.settings_conflicts(a, b):
        reasons.append("settings differ: " + ", ".join(settings))
    return reasons


def differences(a: Run, b: Run) -> list[tuple[str, object, object]]:
    """Code, lock, tool and image changes between the runs: shown, never refused."""
    pairs = [(key, a.metadata.get(key), b.metadata.get(key)) for key in INFO_KEYS]
    images_a, images_b = a.metadata.get("images") or {}, b.metadata.get("images") or {}
    pairs += [
        (f"images.{name}", images_a.get(name), images_b.get(name))
        for name in sorted(images_a.keys() | images_b.keys())
    ]
    # Another arrangement of engines is what a comparison of arrangements is for: shown.
    pairs.append(("engines", _arrangement(a), _arrangement(b)))
    return [(k, va, vb) for k, va, vb in pairs if va is not None and vb is not None and va != vb]


def _arrangement(run: Run) -> str:
    found = fingerprint.engines(run)
    if not found:
        return "one engine"
    load = ",".join(c or "current" for c in found["load"] or ())
    return f"target on {found['target'] or 'current'}, Locust on {load}"
