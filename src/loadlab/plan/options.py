"""How a setting is written, parsed and bounded: one place, read by the CLI and the Makefile.

Each setting of SweepConfig is a dataclass field whose metadata holds its parser, its help
text and its bounds. A bound carries the reason for it (Docker's minimum quota, what the
service accepts, what a harness or a nightly can hold), and the message of a value outside it
names the setting, the value, the bound and the reason, on one line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loadlab.errors import ConfigError

Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Bound:
    """low <= value <= high (low excluded when ``above``); ``why``: where the numbers come from."""

    low: float | None = None
    high: float | None = None
    why: str = ""
    above: bool = False

    def check(self, name: str, value: float) -> None:
        reason = f" ({self.why})" if self.why else ""
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            word = "above" if self.above else "at least"
            raise ConfigError(f"{name} must be {word} {self.low:g}, got {value:g}{reason}")
        if self.high is not None and value > self.high:
            raise ConfigError(f"{name} must be at most {self.high:g}, got {value:g}{reason}")


def scalar(kind: Callable[[str], Any], bound: Bound | None = None,
           choices: tuple[str, ...] = ()) -> Parser:  # fmt: skip
    """A parser for one value of ``kind`` within ``bound`` (or one of ``choices``)."""

    def parse(name: str, raw: str) -> Any:
        if choices and raw not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a valid {kind.__name__}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name}: {raw!r} is not a finite number")
        if bound is not None:
            bound.check(name, value)
        return value

    return parse


def items(kind: Callable[[str], Any], bound: Bound | None = None,
          choices: tuple[str, ...] = ()) -> Parser:  # fmt: skip
    """A parser for a comma- or space-separated list, each value checked, none repeated."""
    one = scalar(kind, bound, choices)

    def parse(name: str, raw: str) -> tuple:
        parts = [p for p in raw.replace(",", " ").split() if p]
        if not parts:
            raise ConfigError(f"{name} is empty")
        values = tuple(one(name, p) for p in parts)
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ConfigError(f"{name} repeats {', '.join(repeated)}")
        return values

    return parse


def workers_or_auto(bound: Bound) -> Parser:
    """'auto' (the server's own recipe from the image's CPU count) or a number in ``bound``."""
    number = scalar(int, bound)

    def parse(name: str, raw: str) -> int | str:
        return "auto" if raw == "auto" else number(name, raw)

    return parse


def setting(parse: Parser, doc: str, default: Any = None) -> Any:
    return field(default=default, metadata={"parse": parse, "doc": doc})
