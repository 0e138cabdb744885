"""The demo's old entry point, kept as a thin wrapper: the probe serves the demo now.

``python -m target.serve`` is ``python3 -m loadlab.probe`` with LAB_APP=target.main:app
(the image runs the probe directly); ``command`` is the probe's, for the demo's tests.
"""

from __future__ import annotations

import os

from loadlab.probe.__main__ import main as probe_main
from loadlab.probe.serve import command

APP = "target.main:app"

__all__ = ["APP", "command", "main"]


def main() -> None:
    os.environ.setdefault("LAB_APP", APP)
    probe_main(["serve"])


if __name__ == "__main__":
    main()
