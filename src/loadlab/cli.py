"""The command line: parse, build one configuration object, call the library, print errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import cpus as cpus_mod
from .errors import ConfigError, LabError


def _cmd_cpus(args: argparse.Namespace) -> int:
    placement = cpus_mod.place(args.cpus, target_cpuset=args.cpuset or None)
    print(f"export CPUSET={placement.target_cpuset} LOCUST_CPUSET={placement.locust_cpuset}")
    print(f"# {placement.note()}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cpus", help="print the cpusets for a CPU limit, as shell assignments")
    p.add_argument("--cpus", type=float, required=True)
    p.add_argument("--cpuset", default="", help="pin the target here instead")
    p.set_defaults(func=_cmd_cpus)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
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
