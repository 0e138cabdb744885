"""The probe's command line, run inside the target's container.

    python3 -m loadlab.probe [serve]        serve LAB_APP as SERVER, WORKERS, ... ask
    python3 -m loadlab.probe check NAME...  exit 0 if every module imports, else 3

Exit status 2: a bad setting or an app that does not import (one line on stderr);
3: the image lacks a module a check named.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from loadlab.probe.check import missing
from loadlab.probe.load import AppError
from loadlab.probe.serve import prepare
from loadlab.shared.settings import SettingsError

USAGE = "usage: python3 -m loadlab.probe [serve | check MODULE...]"
BAD_SETTING = 2
LACKING = 3


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in ([], ["serve"]):
        serve()
    elif args[0] == "check" and len(args) > 1:
        check(args[1:])
    else:
        fail(USAGE, BAD_SETTING)


def serve() -> None:
    try:
        argv, env = prepare(os.environ)
    except (SettingsError, AppError) as exc:
        fail(f"error: {exc}", BAD_SETTING)
    print("serve: " + " ".join(argv), file=sys.stderr, flush=True)
    os.execvpe(argv[0], argv, env)


def check(modules: list[str]) -> None:
    lacking = missing(modules)
    if lacking:
        fail(f"error: this image lacks {', '.join(lacking)} (pip names)", LACKING)


def fail(line: str, status: int) -> NoReturn:
    print(line, file=sys.stderr)
    raise SystemExit(status)


if __name__ == "__main__":
    main()
