"""docs/settings.md, written from the code: every setting with its default, bounds and meaning.

The page is generated so that it cannot disagree with what the lab accepts; a test compares
the committed page with ``render()`` (``UPDATE_DOCS=1`` rewrites it).
"""

from __future__ import annotations

from loadlab.plan.config import SweepConfig
from loadlab.shared.service import Settings
from loadlab.shared.settings import Described, describe

HEADER = """# Settings

Generated from the code by `src/loadlab/plan/reference.py` (`UPDATE_DOCS=1 make test`
rewrites it; a test fails when it is stale). Every setting is a Make variable of the same
name (`make sweep USERS=10,40`) and a `loadlab sweep` option (`--users 10,40`); a value
outside its bounds is refused in one line before anything starts (docs/bad-inputs.md), and a
variable make does not know is refused with the nearest known name.
"""

SWEEP = """## The sweep (`make sweep`, `make nightly`, `loadlab sweep`)

Empty default: taken from the profile (`PROFILE`, src/loadlab/plan/profiles.py).
"""

SERVICE = """## The target service (its container's environment)

What the target reads at start-up (src/loadlab/shared/service.py). The sweep passes
`WORK_SECONDS`, `CPU_ITERATIONS`, `THREAD_LIMIT`, `EXECUTOR_WORKERS`, `WORKERS` and
`LIMIT_CONCURRENCY` on to the variants that use them, checked against these same bounds
(and, where the lab needs more, a stricter one of its own, shown above); `make up` and
`make serve` take them all.
"""


def table(settings: list[Described]) -> list[str]:
    rows = ["| setting | default | accepts | meaning |", "|---|---|---|---|"]
    for s in settings:
        default = "" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.name}` | {default} | {s.accepts} | {s.doc} |")
    return rows


def render() -> str:
    parts = [HEADER, SWEEP, *table(describe(SweepConfig)), "", SERVICE, *table(describe(Settings))]
    return "\n".join(parts) + "\n"
