"""Compare two runs the way pyperf's compare_to does: the first run (A) is the reference.

Points are paired by key (variant, endpoint, cpus, users); the repeats of one key are the
samples of one measurement, and only points whose status is "ok" count. The CPU limit is
part of the key, so points measured under different limits are never paired: they are
listed under "only in A" / "only in B" instead. Each pair is judged on throughput (rps,
higher is better) and tail latency (p95, lower is better): a change is significant when it
is at least ``threshold`` and, if both sides have two repeats or more, Welch's t-test
agrees (p < alpha). Runs from different hosts or Pythons are refused unless forced; code
and image differences are only recorded, since measuring those is the point.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean, geometric_mean, stdev

from .errors import CompareError
from .results import PointResult, Run
from .significance import welch_t_test

# Relative changes below which nothing is reported, whatever the t-test says, chosen from
# measured noise (28 keys of the default series at CPUS=1, 2-core host, 6 s windows):
# throughput moved at most 9.2 % between two runs (p90 1.6 %), so 10 %; p95 latency moved up
# to 18.5 % between runs (p90 8.6 %) and 39 % between repeats of a CPU-saturated point, so 25 %.
DEFAULT_THRESHOLD = 0.10
P95_THRESHOLD = 0.25
UNSTABLE_CV = 0.10  # pyperf's rule: a std dev >= 10 % of the mean makes a result suspect
# Comparing float ratios against the threshold: 100 -> 90 rps is a 10 % change, not 9.99...
_ROUNDING = 1e-9
REFUSE_KEYS = ("host_cpu_model", "host_cpu_count", "python_version")
INFO_KEYS = ("git_sha", "git_dirty", "lock_sha256", "locust_version", "docker_version",
             "compose_version")  # fmt: skip
FORCE_HINT = "force the comparison to override"

Key = tuple[str, str, float, int]  # variant, endpoint, cpus, users


@dataclass(frozen=True)
class Change:
    """One metric of one key in both runs."""

    a_mean: float
    b_mean: float
    ratio: float  # b_mean / a_mean, of the metric itself (not of performance)
    p_value: float | None  # None: fewer than 2 repeats on a side, the threshold alone decided
    significant: bool
    higher_is_better: bool

    @property
    def slower(self) -> bool:
        return self.significant and (self.ratio < 1) == self.higher_is_better

    @property
    def faster(self) -> bool:
        return self.significant and not self.slower

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "no significant change"
        return _factor_text(self.ratio, self.higher_is_better)


@dataclass(frozen=True)
class Row:
    """One key measured in both runs."""

    variant: str
    endpoint: str
    cpus: float
    users: int
    n_a: int  # repeats measured in A
    n_b: int
    rps: Change
    p95: Change

    @property
    def key(self) -> Key:
        return (self.variant, self.endpoint, self.cpus, self.users)

    @property
    def regressed(self) -> bool:
        return self.rps.slower or self.p95.slower


@dataclass
class Comparison:
    """Everything a report needs; rendering (to_markdown, to_html) reads only this."""

    a_id: str
    b_id: str
    threshold: float
    alpha: float
    p95_threshold: float = P95_THRESHOLD
    rows: list[Row] = field(default_factory=list)
    only_in_a: list[Key] = field(default_factory=list)
    only_in_b: list[Key] = field(default_factory=list)
    geometric_mean: float | None = None  # of the rps ratios B/A over the rows
    warnings: list[str] = field(default_factory=list)
    differences: list[tuple[str, object, object]] = field(default_factory=list)

    def regressions(self) -> list[Row]:
        """Rows significantly slower in B, on throughput or on p95: what fails a nightly gate."""
        return [row for row in self.rows if row.regressed]


def compare(a: Run, b: Run, *, threshold: float = DEFAULT_THRESHOLD, alpha: float = 0.05,
            force: bool = False, p95_threshold: float = P95_THRESHOLD) -> Comparison:  # fmt: skip
    """Compare run ``b`` against the reference ``a``; raise CompareError if they can't be.

    ``threshold`` applies to throughput, ``p95_threshold`` to p95 latency (noisier)."""
    c = Comparison(a.run_id, b.run_id, threshold, alpha, p95_threshold)
    reasons = environment_conflicts(a, b)
    if reasons and not force:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise CompareError(f"cannot compare {a.run_id} with {b.run_id}: {reasons[0]}{more}; "
                           f"{FORCE_HINT}")  # fmt: skip
    c.warnings += [f"environment differs (forced): {reason}" for reason in reasons]
    c.differences = differences(a, b)
    samples_a, samples_b = samples(a), samples(b)
    c.warnings += _ignored_warning("A", a, samples_a) + _ignored_warning("B", b, samples_b)
    c.only_in_a = [k for k in samples_a if k not in samples_b]
    c.only_in_b = [k for k in samples_b if k not in samples_a]
    paired = [k for k in samples_a if k in samples_b]
    if not paired:
        raise CompareError(f"{a.run_id} and {b.run_id} have no ok point in common "
                           f"({len(samples_a)} keys in A, {len(samples_b)} in B)")  # fmt: skip
    for key in paired:
        c.rows.append(_row(key, samples_a[key], samples_b[key], (threshold, p95_threshold), alpha))
        c.warnings += _unstable("A", key, samples_a[key]) + _unstable("B", key, samples_b[key])
    c.warnings += _few_repeats(c.rows, threshold)
    ratios = [r.rps.ratio for r in c.rows if 0 < r.rps.ratio < math.inf]
    c.geometric_mean = geometric_mean(ratios) if ratios else None
    return c


def environment_conflicts(a: Run, b: Run) -> list[str]:
    """Differences that invalidate a comparison, one line each; absent values are unknown."""
    reasons = [f"{key} differs ({a.metadata[key]!r} vs {b.metadata[key]!r})"
               for key in REFUSE_KEYS
               if a.metadata.get(key) is not None and b.metadata.get(key) is not None
               and a.metadata[key] != b.metadata[key]]  # fmt: skip
    pythons_a, pythons_b = _target_pythons(a), _target_pythons(b)
    for variant in pythons_a.keys() & pythons_b.keys():
        if pythons_a[variant] != pythons_b[variant]:
            reasons.append(f"target Python of {variant} differs "
                           f"({pythons_a[variant]} vs {pythons_b[variant]})")  # fmt: skip
    return reasons


def differences(a: Run, b: Run) -> list[tuple[str, object, object]]:
    """Code, lock, tool and image changes between the runs: shown, never refused."""
    pairs = [(key, a.metadata.get(key), b.metadata.get(key)) for key in INFO_KEYS]
    images_a, images_b = a.metadata.get("images") or {}, b.metadata.get("images") or {}
    pairs += [(f"images.{name}", images_a.get(name), images_b.get(name))
              for name in sorted(images_a.keys() | images_b.keys())]  # fmt: skip
    return [(k, va, vb) for k, va, vb in pairs if va is not None and vb is not None and va != vb]


def samples(run: Run) -> dict[Key, list[dict]]:
    """The stats of the usable repeats of each key, in matrix order."""
    found: dict[Key, list[dict]] = {}
    for result in run.finished():
        if _usable(result):
            pt = result.point
            found.setdefault((pt.variant, pt.endpoint, pt.cpus, pt.users), []).append(result.stats)
    return found


def _usable(result: PointResult) -> bool:
    stats = result.stats or {}
    return result.status == "ok" and all(stats.get(m) is not None for m in ("rps", "p95_ms"))


def _target_pythons(run: Run) -> dict[str, str]:
    """Per variant: variants may run different images, so each is held only to itself."""
    found: dict[str, set[str]] = {}
    for result in run.finished():
        if python := (result.runtime or {}).get("python"):
            found.setdefault(result.point.variant, set()).add(str(python))
    return {variant: "/".join(sorted(versions)) for variant, versions in found.items()}


def _row(key: Key, a: list[dict], b: list[dict], thresholds: tuple[float, float],
         alpha: float) -> Row:  # fmt: skip
    def change(metric: str, higher_is_better: bool, threshold: float) -> Change:
        return _change([s[metric] for s in a], [s[metric] for s in b], higher_is_better,
                       threshold, alpha)  # fmt: skip

    rps, p95 = change("rps", True, thresholds[0]), change("p95_ms", False, thresholds[1])
    return Row(*key, len(a), len(b), rps, p95)


def _change(a: list[float], b: list[float], higher_is_better: bool, threshold: float,
            alpha: float) -> Change:  # fmt: skip
    a_mean, b_mean = fmean(a), fmean(b)
    ratio = b_mean / a_mean if a_mean else (1.0 if b_mean == 0 else math.inf)
    big_enough = abs(ratio - 1) >= threshold - _ROUNDING
    p_value = welch_t_test(a, b)[1] if len(a) >= 2 and len(b) >= 2 else None
    significant = big_enough and (p_value is None or p_value < alpha)
    return Change(a_mean, b_mean, ratio, p_value, significant, higher_is_better)


def _factor_text(ratio: float, higher_is_better: bool) -> str:
    """Like "1.23x slower" or "1.10x faster": in terms of performance, not of the metric."""
    worse = (ratio < 1) == higher_is_better
    factor = math.inf if ratio in (0, math.inf) else max(ratio, 1 / ratio)
    return f"{factor:.2f}x {'slower' if worse else 'faster'}"


def geometric_mean_text(c: Comparison) -> str:
    if c.geometric_mean is None:
        return "Geometric mean (rps B/A): n/a"
    verdict = _factor_text(c.geometric_mean, True)
    verdict = "no change" if verdict.startswith("1.00x") else verdict
    return f"Geometric mean (rps B/A): {c.geometric_mean:.3f} ({verdict})"


def key_text(key: Key) -> str:
    variant, endpoint, cpus, users = key
    return f"{variant} {endpoint} cpus={cpus:g} users={users}"


def _ignored_warning(label: str, run: Run, found: dict[Key, list[dict]]) -> list[str]:
    ignored = len(run.points) - sum(len(v) for v in found.values())
    if not ignored:
        return []
    return [f"{label}: {ignored} of {len(run.points)} points ignored (failed, pending or "
            "without stats)"]  # fmt: skip


def _unstable(label: str, key: Key, stats: list[dict]) -> list[str]:
    found = []
    for metric in ("rps", "p95_ms"):
        values = [s[metric] for s in stats]
        if len(values) >= 2 and fmean(values) and stdev(values) >= UNSTABLE_CV * fmean(values):
            found.append(f"unstable: {label} {key_text(key)} {metric} std dev is "
                         f"{stdev(values) / fmean(values):.0%} of the mean (>= "
                         f"{UNSTABLE_CV:.0%}); add repeats or quiet the host")  # fmt: skip
    return found


def _few_repeats(rows: list[Row], threshold: float) -> list[str]:
    few = sum(1 for r in rows if min(r.n_a, r.n_b) < 2)
    if not few:
        return []
    return [f"{few} of {len(rows)} keys have fewer than 2 repeats on a side: judged by the "
            f"{threshold:.0%} threshold alone, no t-test (REPEATS >= 2 enables it)"]  # fmt: skip


# Rendering: both formats start from the Comparison alone, so they can be redone from disk.

COLUMNS = ("variant", "endpoint", "cpus", "users", "rps A", "rps B", "rps change", "p95 A",
           "p95 B", "p95 change")  # fmt: skip


def _cells(row: Row) -> list[str]:
    return [row.variant, row.endpoint, f"{row.cpus:g}", str(row.users),
            f"{row.rps.a_mean:.1f}", f"{row.rps.b_mean:.1f}", row.rps.verdict,
            f"{row.p95.a_mean:.1f} ms", f"{row.p95.b_mean:.1f} ms", row.p95.verdict]  # fmt: skip


def _method(c: Comparison) -> str:
    return (f"A = {c.a_id} (reference), B = {c.b_id}. Significant: a change of at least "
            f"{c.threshold:.0%} in rps or {c.p95_threshold:.0%} in p95 and, with 2 repeats or "
            f"more on both sides, Welch's t-test p < {c.alpha:g}.")  # fmt: skip


def _notes(c: Comparison) -> list[tuple[str, list[str]]]:
    """The sections under the table, shared by both formats."""
    return [("Only in A", [key_text(k) for k in c.only_in_a]),
            ("Only in B", [key_text(k) for k in c.only_in_b]),
            ("Environment differences", [f"{k}: {va} (A) vs {vb} (B)"
                                         for k, va, vb in c.differences]),
            ("Warnings", c.warnings)]  # fmt: skip


def to_markdown(c: Comparison) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |"

    rule = "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"
    out = [f"# Comparison of {c.b_id} against {c.a_id}", "", _method(c), "", line(list(COLUMNS)),
           rule]  # fmt: skip
    out += [line(_cells(row)) for row in c.rows]
    out += ["", geometric_mean_text(c)]
    for title, items in _notes(c):
        if items:
            out += ["", f"## {title}", "", *(f"- {item}" for item in items)]
    return "\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}th{background:#f3f3f3}
tr.slower{background:#fde2e2}tr.faster{background:#e2f6e2}
td.slower{color:#b00000;font-weight:bold}td.faster{color:#006400;font-weight:bold}"""


def _html_row(row: Row) -> str:
    kind = "slower" if row.regressed else "faster" if row.rps.faster or row.p95.faster else ""
    cells = []
    for i, text in enumerate(_cells(row)):
        change = {6: row.rps, 9: row.p95}.get(i)
        cls = "slower" if change and change.slower else "faster" if change and change.faster else ""
        cells.append(f'<td class="{cls}">{html.escape(text)}</td>' if cls else
                     f"<td>{html.escape(text)}</td>")  # fmt: skip
    return f'<tr class="{kind}">' + "".join(cells) + "</tr>"


def to_html(c: Comparison) -> str:
    """One self-contained page: inline CSS, no scripts, no external resources."""
    title = html.escape(f"Comparison of {c.b_id} against {c.a_id}")
    body = [f"<h1>{title}</h1>", f"<p>{html.escape(_method(c))}</p>", "<table>",
            "<tr>" + "".join(f"<th>{html.escape(col)}</th>" for col in COLUMNS) + "</tr>",
            *(_html_row(row) for row in c.rows), "</table>",
            f"<p><strong>{html.escape(geometric_mean_text(c))}</strong></p>"]  # fmt: skip
    for heading, items in _notes(c):
        if items:
            body += [f"<h2>{html.escape(heading)}</h2>", "<ul>",
                     *(f"<li>{html.escape(item)}</li>" for item in items), "</ul>"]  # fmt: skip
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write(c: Comparison, directory: Path) -> Path:
    """Write compare.html into ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "compare.html"
    path.write_text(to_html(c))
    return path
