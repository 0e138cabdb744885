"""How a setting is written, parsed and bounded: one framework for the driver and the service.

A setting is a dataclass field whose metadata holds its parser and its help text. A parser
knows its kind, its bounds and its choices, so the help, the docs and the errors all come from
it. A bound carries the reason for it (Docker's minimum quota, what the service can run with,
what a harness or a nightly can hold), and the message of a value outside it names the
setting, the value as given, the bound and the reason, on one line, the same wherever it is
raised: in the driver before anything starts, or in the target's container at start-up.

Stdlib only: the target and Locust images copy ``loadlab/shared`` and nothing else.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class SettingsError(ValueError):
    """A setting holds a value the lab or the service cannot run with; one line."""


@dataclass(frozen=True)
class Bound:
    """low <= value <= high (low excluded when ``above``); ``why``: where the numbers come from."""

    low: float | None = None
    high: float | None = None
    why: str = ""
    above: bool = False

    def check(self, name: str, value: float, raw: str) -> None:
        reason = f" ({self.why})" if self.why else ""
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            word = "above" if self.above else "at least"
            raise SettingsError(f"{name} must be {word} {self.low:g}, got {raw!r}{reason}")
        if self.high is not None and value > self.high:
            raise SettingsError(f"{name} must be at most {self.high:g}, got {raw!r}{reason}")

    def text(self) -> str:
        """The bound in words, for the settings reference: '0-60', '> 0', '>= 1'."""
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None and not self.above:
            return f"{low}-{high}"
        parts = [] if self.low is None else [f"{'>' if self.above else '>='} {low}"]
        parts += [] if self.high is None else [f"<= {high}"]
        return ", ".join(parts)


def _number(value: float | None) -> str:
    """50000000 as 50,000,000 and 0.01 as 0.01: how a reader writes a bound."""
    if value is None:
        return ""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Parser:
    """Parses one setting's text: ``kind`` within every bound (the service's own first, then any
    the driver adds), or one of ``choices``, or ``word``; a list when ``many``."""

    kind: Callable[[str], Any]
    bounds: tuple[Bound, ...] = ()
    choices: tuple[str, ...] = ()
    many: bool = False
    word: str | None = None  # a word accepted besides a number, e.g. "auto"

    def __call__(self, name: str, raw: str) -> Any:
        return self._items(name, raw) if self.many else self.one(name, raw)

    def one(self, name: str, raw: str) -> Any:
        if raw == self.word:
            return raw
        if self.choices and raw not in self.choices:
            raise SettingsError(f"{name} must be one of {', '.join(self.choices)}, got {raw!r}")
        try:
            value = self.kind(raw)
        except ValueError:
            raise SettingsError(f"{name}: {raw!r} is not a valid {self.kind.__name__}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"{name}: {raw!r} is not a finite number")
        for bound in self.bounds:
            bound.check(name, value, raw)
        return value

    def _items(self, name: str, raw: str) -> tuple:
        parts = [p for p in raw.replace(",", " ").split() if p]
        if not parts:
            raise SettingsError(f"{name} is empty")
        values = tuple(self.one(name, p) for p in parts)
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise SettingsError(f"{name} repeats {', '.join(repeated)}")
        return values

    def also(self, bound: Bound) -> Parser:
        """This parser with one more bound, checked after the others (a stricter reason)."""
        return dataclasses.replace(self, bounds=(*self.bounds, bound))

    def accepts(self) -> str:
        """What the parser accepts, in words, for the settings reference."""
        kinds = {int: "integer", float: "number", str: "text"}
        kind = kinds.get(self.kind, self.kind.__name__.lower())
        what = f"one of {', '.join(self.choices)}" if self.choices else kind
        bounds = "; ".join(b.text() for b in self.bounds if b.text())
        what += f" ({bounds})" if bounds else ""
        what += f" or {self.word}" if self.word else ""
        return f"a list, each {what}" if self.many else what


def scalar(kind: Callable[[str], Any], *bounds: Bound, choices: tuple[str, ...] = ()) -> Parser:
    return Parser(kind, bounds, choices)


def items(kind: Callable[[str], Any], *bounds: Bound, choices: tuple[str, ...] = ()) -> Parser:
    """A comma- or space-separated list, each value checked, none repeated."""
    return Parser(kind, bounds, choices, many=True)


def setting(parse: Parser, doc: str, default: Any = None) -> Any:
    """A dataclass field that knows its parser and its help text."""
    return field(default=default, metadata={"parse": parse, "doc": doc})


def from_environ(cls: type, environ: Mapping[str, str]) -> dict[str, Any]:
    """Each field of ``cls`` read from ``environ`` by its upper-case name and parsed; an empty
    value counts as unset (left out, so the field's default stands)."""
    values = {}
    for f in dataclasses.fields(cls):
        raw = environ.get(f.name.upper(), "").strip()
        if raw:
            values[f.name] = f.metadata["parse"](f.name.upper(), raw)
    return values


def parse_all(cls: type, raw: Mapping[str, str]) -> dict[str, Any]:
    """Each field of ``cls`` given in ``raw`` (keyed by field name), parsed; unknown keys and
    bad values raise SettingsError naming the setting in upper case, as a user writes it."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, text in raw.items():
        if key not in known:
            raise SettingsError(f"unknown setting {key!r}")
        values[key] = known[key].metadata["parse"](key.upper(), text)
    return values


@dataclass(frozen=True)
class Described:
    """One setting as the reference shows it."""

    name: str  # as a user writes it: the field name in upper case
    doc: str
    default: Any
    accepts: str


def describe(cls: type) -> list[Described]:
    """Every setting of ``cls``, in order, for help texts and the generated reference."""
    return [
        Described(f.name.upper(), f.metadata["doc"], f.default, f.metadata["parse"].accepts())
        for f in dataclasses.fields(cls)
    ]
