"""The command line: parse, build one configuration object, call the library, print errors.

Only this module prints errors and chooses exit codes: 2 for bad input (nothing started),
1 for a failure of the lab, 130 for an interrupted sweep.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import cpus as cpus_mod
from . import report, runs
from .config import SweepConfig, settings_help
from .errors import ConfigError, LabError
from .results import Run
from .stack import Stack


def _cmd_cpus(args: argparse.Namespace) -> int:
    placement = cpus_mod.place(args.cpus, target_cpuset=args.cpuset or None)
    print(f"export CPUSET={placement.target_cpuset} LOCUST_CPUSET={placement.locust_cpuset}")
    print(f"# {placement.note()}", file=sys.stderr)
    return 0


def _sweep_config(args: argparse.Namespace) -> SweepConfig:
    given = {name: getattr(args, name) for name, _, _ in settings_help()}
    return SweepConfig.from_strings({k: v for k, v in given.items() if v not in (None, "")})


def _cmd_sweep(args: argparse.Namespace) -> int:
    plan = runs.plan_for(_sweep_config(args))  # ConfigError here: nothing has started
    if args.dry_run:
        print(runs.describe(plan))
        return 0
    stack = Stack()
    runs.preflight(stack)
    outcome = runs.execute(plan, stack)
    where = outcome.run.directory
    print(f"report: {where / 'index.html'}")
    if outcome.interrupted:
        print(f"interrupted: finish with `make sweep RESUME={where}`", file=sys.stderr)
        return 130
    if outcome.failed:
        print(
            f"error: {outcome.failed} point(s) failed; see {where / 'index.html'}", file=sys.stderr
        )
        return 1
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    path = report.render(Run.load(Path(args.run)))
    print(f"report: {path}")
    return 0


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a sweep and write reports/<run-id>/")
    for name, doc, default in settings_help():
        hint = f" (default: {default})" if default is not None else ""
        p.add_argument(
            "--" + name.replace("_", "-"), dest=name, metavar=name.upper(), help=doc + hint
        )
    p.add_argument("--dry-run", action="store_true", help="validate and print the plan only")
    p.set_defaults(func=_cmd_sweep)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadlab", description="FastAPI concurrency lab")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_sweep(sub)
    p = sub.add_parser("report", help="re-render summary.csv and index.html of a run")
    p.add_argument("run", help="a run directory, e.g. reports/latest")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("cpus", help="print the cpusets for a CPU limit, as shell assignments")
    p.add_argument("--cpus", type=float, required=True)
    p.add_argument("--cpuset", default="", help="pin the target here instead")
    p.set_defaults(func=_cmd_cpus)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    raise SystemExit(code)
