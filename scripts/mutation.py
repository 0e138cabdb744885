"""make mutation: mutmut over the modules that turn samples into verdicts, then its score.

    build/mutation-venv/bin/python scripts/mutation.py run [--modules measure/status.py,judge]
        [--jobs N]                          # what make mutation [MODULES= JOBS=] runs
    build/mutation-venv/bin/python scripts/mutation.py report [--modules ...] [--out DIR]
                                            # re-render from mutants/, nothing run

`run` starts from an empty mutants/ (every verdict is this tree's, none cached from an older
one), runs `mutmut run` on the mutants of the chosen modules ([tool.mutmut] in pyproject.toml
says which tests and files it uses), then writes reports/mutation-<date>/: score.md and
score.json (per module: mutants, killed, timeout, survived, no tests, other, the score) and
survivors.md (every mutant not killed, with its diff). A benchmark: it exits 0 whatever the
score, non-zero only when mutmut or the report fails (2 for a bad --modules).

The score counts as mutmut's own badge does: killed and timed-out mutants over all mutants.
A mutant no test reaches ("no tests", unreached code) counts against it, as does one left
unchecked by an interrupted run.

Runs with the interpreter of the mutation environment (mutmut==3.8.1, pinned in
pyproject.toml): the exit codes below and the diff come from that version.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import fnmatch
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("measure", "judge", "search")  # under src/loadlab/, as [tool.mutmut] only_mutate
MUTANTS = "mutants"
GOAL = 0.90
CLASS_SEPARATOR = "ǁ"  # mutmut's mangling: x_func, xǁClassǁmethod
# mutmut 3.8.1's exit code of a mutant's test run -> its status (mutmut/stats.py).
STATUS_BY_CODE = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    2: "interrupted",
    None: "not checked",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "caught by type check",
    -11: "segfault",
    -9: "segfault",
}
DETECTED = ("killed", "timeout")
COLUMNS = ("killed", "timeout", "survived", "no tests", "other")


class UsageError(ValueError):
    """A --modules entry that names no module of the three packages."""


def status_of(code: int | None) -> str:
    """The status mutmut gives an exit code (an unknown code is suspicious, as in mutmut)."""
    return STATUS_BY_CODE.get(code, "suspicious")


def column_of(status: str) -> str:
    """The column of score.md a status is counted in."""
    return status if status in COLUMNS else "other"


def module_globs(spec: str, root: Path = ROOT) -> list[str]:
    """mutmut's mutant-name patterns for a comma-separated list of packages and modules
    (`measure/status.py,judge`), each under src/loadlab/ in one of PACKAGES; all of them for
    an empty list."""
    words = [w.strip().removeprefix("src/loadlab/").strip("/") for w in spec.split(",")]
    words = [w for w in words if w] or list(PACKAGES)
    globs = []
    for word in words:
        path = root / "src" / "loadlab" / word
        if word.split("/")[0] not in PACKAGES or not path.exists() or word.count("/") > 1:
            raise UsageError(f"--modules: {word!r} is not a module of {', '.join(PACKAGES)}")
        dotted = "loadlab." + word.removesuffix(".py").replace("/", ".")
        if dotted.endswith(".__init__"):  # a package's own functions: loadlab.judge.x_f
            globs.append(dotted.removesuffix("__init__") + "x[_" + CLASS_SEPARATOR + "]*")
        else:
            globs.append(dotted + ".*")
    return globs


def function_of(mutant: str) -> str:
    """The function a mutant name points into: `Assessment.add`, `backlog`."""
    mangled = mutant.rpartition(".")[2].partition("__mutmut_")[0]
    if mangled.startswith("x" + CLASS_SEPARATOR):
        _, cls, method = mangled.split(CLASS_SEPARATOR)
        return f"{cls}.{method}"
    return mangled.removeprefix("x_")


@dataclass
class Mutant:
    name: str
    module: str  # measure/status.py
    function: str
    status: str
    seconds: float | None = None


@dataclass
class Tally:
    mutants: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))

    def add(self, status: str) -> None:
        self.mutants += 1
        self.counts[column_of(status)] += 1

    @property
    def detected(self) -> int:
        return sum(self.counts[c] for c in DETECTED)

    @property
    def score(self) -> float | None:
        return self.detected / self.mutants if self.mutants else None


def read_mutants(mutants_dir: Path, globs: Iterable[str]) -> list[Mutant]:
    """Every mutant of the chosen modules, from mutmut's mutants/src/loadlab/**/*.py.meta."""
    found = []
    package = mutants_dir / "src" / "loadlab"
    for meta in sorted(package.glob("*/*.py.meta")):
        module = meta.relative_to(package).as_posix().removesuffix(".meta")
        data = json.loads(meta.read_text())
        durations = data.get("durations_by_key", {})
        for name, code in sorted(data["exit_code_by_key"].items(), key=lambda kv: _order(kv[0])):
            if not any(fnmatch.fnmatchcase(name, glob) for glob in globs):
                continue  # the pattern mutmut ran on: the modules not chosen were never run
            status = status_of(code)
            found.append(Mutant(name, module, function_of(name), status, durations.get(name)))
    return found


def _order(name: str) -> tuple[str, int]:
    """Mutants of a function in mutmut's numbering order (2 before 10)."""
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


def tally(mutants: Iterable[Mutant]) -> tuple[dict[str, Tally], Tally]:
    """Counts per module, and over all of them."""
    by_module: dict[str, Tally] = {}
    total = Tally()
    for m in mutants:
        by_module.setdefault(m.module, Tally()).add(m.status)
        total.add(m.status)
    return dict(sorted(by_module.items())), total


def percent(score: float | None) -> str:
    return "-" if score is None else f"{100 * score:.1f} %"


def score_md(by_module: dict[str, Tally], total: Tally, when: str) -> str:
    """score.md: one row per module and the total, the goal beside it."""
    head = ["module", "mutants", *COLUMNS, "score"]
    lines = [
        f"# Mutation score, {when}",
        "",
        f"Killed or timed out over all mutants (no tests, survived and other count against); "
        f"goal {percent(GOAL)}. `other`: suspicious, segfault, not checked. "
        "Every mutant not killed is in survivors.md.",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |",
    ]
    rows = [*by_module.items(), ("**total**", total)]
    for name, t in rows:
        cells = [name, str(t.mutants), *(str(t.counts[c]) for c in COLUMNS), percent(t.score)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def score_json(by_module: dict[str, Tally], total: Tally, when: str) -> str:
    def row(t: Tally) -> dict:
        return {"mutants": t.mutants, **t.counts, "score": t.score}

    doc = {
        "format": 1,
        "date": when,
        "goal": GOAL,
        "modules": {name: row(t) for name, t in by_module.items()},
        "total": row(total),
    }
    return json.dumps(doc, indent=2) + "\n"


def def_lines(source: str) -> dict[str, int]:
    """The line of each function and method of a module (`Assessment.add` -> 57)."""
    found = {}
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    found[f"{node.name}.{item.name}"] = item.lineno
    return found


def survivors_md(mutants: list[Mutant], diff_of: Callable[[Mutant], str], root: Path) -> str:
    """survivors.md: every mutant not killed, by module and function, with its diff."""
    left = [m for m in mutants if m.status not in DETECTED]
    lines = [f"# Mutants not killed: {len(left)}", ""]
    lines += [
        "Each needs a test that kills it, or a line saying why it is equivalent (no input "
        "tells it from the original) or harmless. `mutmut show NAME` prints one again, "
        "`mutmut apply NAME` writes it into src/ (revert with git).",
    ]
    module = None
    for m in left:
        if m.module != module:
            module = m.module
            lines += ["", f"## {module}"]
            source = root / "src" / "loadlab" / module
            where = def_lines(source.read_text()) if source.is_file() else {}
        line = where.get(m.function)
        at = f"src/loadlab/{m.module}:{line}" if line else f"src/loadlab/{m.module}"
        lines += ["", f"### `{m.function}` — {m.status}", "", f"`{m.name}` ({at})", ""]
        lines += ["```diff", diff_of(m).strip(), "```"]
    return "\n".join(lines) + "\n"


def report_dir(reports: Path, when: str) -> Path:
    """reports/mutation-<date>/, or -2, -3... when that day already has one (never overwritten)."""
    out = reports / f"mutation-{when}"
    n = 2
    while out.exists():
        out = reports / f"mutation-{when}-{n}"
        n += 1
    return out


def mutmut_diff(m: Mutant) -> str:
    """The mutant's diff as `mutmut show` prints it, in this process (one show costs a
    second and a half of start-up; a report has hundreds)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(m.name, path=f"src/loadlab/{m.module}")


def write_report(
    globs: list[str], out: Path, when: str, diff_of: Callable[[Mutant], str] = mutmut_diff
) -> Tally:
    """Read mutants/, write score.md, score.json and survivors.md to ``out``."""
    mutants = read_mutants(ROOT / MUTANTS, globs)
    if not mutants:
        raise RuntimeError(f"no mutants of {' '.join(globs)} under {MUTANTS}/: run first")
    by_module, total = tally(mutants)
    out.mkdir(parents=True)
    (out / "score.md").write_text(score_md(by_module, total, when))
    (out / "score.json").write_text(score_json(by_module, total, when))
    (out / "survivors.md").write_text(survivors_md(mutants, diff_of, ROOT))
    return total


def run_mutmut(globs: list[str], jobs: int | None) -> int:
    """A fresh mutants/, then `mutmut run` on the chosen mutants; mutmut's exit status."""
    shutil.rmtree(ROOT / MUTANTS, ignore_errors=True)
    mutmut = Path(sys.executable).parent / "mutmut"
    argv = [str(mutmut), "run", *(["--max-children", str(jobs)] if jobs else []), *globs]
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


def summary_line(total: Tally, out: Path) -> str:
    where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    return (
        f"mutation: {total.detected}/{total.mutants} mutants killed, score "
        f"{percent(total.score)} (goal {percent(GOAL)}); {where}/"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/mutation.py", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("run", "report"))
    parser.add_argument("--modules", default="", help="e.g. measure/status.py,judge (default: all)")
    parser.add_argument("--jobs", type=int, help="mutmut's worker processes (default: one a core)")
    parser.add_argument("--out", type=Path, help="report folder (default: reports/mutation-<date>)")
    args = parser.parse_args(argv)
    try:
        globs = module_globs(args.modules)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    when = dt.datetime.now(dt.UTC).date().isoformat()
    if args.command == "run":
        try:
            code = run_mutmut(globs, args.jobs)
        except KeyboardInterrupt:
            print("error: interrupted; no report written", file=sys.stderr)
            return 130
        if code != 0:
            print(f"error: mutmut run exited {code}", file=sys.stderr)
            return 1
    out = (args.out or report_dir(ROOT / "reports", when)).resolve()
    try:
        total = write_report(globs, out, when)
    except (OSError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(summary_line(total, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
