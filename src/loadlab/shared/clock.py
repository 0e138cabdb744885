"""The driver's clock, read on another host: every Locust process subtracts its engine's
offset (measured by the driver at the start of the run, loadlab/engines/clocks.py) from the
times it writes, so samples from several hosts and the master's step boundaries line up.

Stdlib only: the Locust image imports it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

VARIABLE = "LAB_CLOCK_OFFSET"  # this engine's clock minus the driver's, seconds


def offset_of(environ: Mapping[str, str] = os.environ) -> float:
    return float(environ.get(VARIABLE) or 0)


def on_driver_clock(t: float, offset: float) -> float:
    """A time read on this host's clock, as the driver's clock read it then."""
    return t - offset


def now(offset: float) -> float:
    return on_driver_clock(time.time(), offset)
