"""The checked values of a target file's tables, and its [[endpoints]]: each problem one line
(ConfigError naming the file, the key and what is wrong); ``plan.target_file`` reads the rest.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from loadlab.errors import ConfigError
from loadlab.plan.target import METHODS, MIX, RESERVED_PREFIX, TargetEndpoint

ENDPOINT_KEYS = ("name", "path", "method", "body", "headers", "expect_status", "expect_body",
                 "weight")  # fmt: skip
NO_BODY = ("GET", "HEAD")  # what Locust's client and most servers send without a body
MAX_WEIGHT = 1000
ENDPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


def _error(file: Path | str, what: str) -> ConfigError:
    return ConfigError(f"TARGET {file}: {what}")


@dataclass(frozen=True)
class _Where:
    """The file being read: as the user named it (for messages), and where its paths start."""

    shown: str
    base: Path

    def fail(self, key: str, what: str) -> NoReturn:
        raise _error(self.shown, f"{key} {what}")


def _key(name: str) -> str:
    """A key as a message shows it: quoted when TOML needed quotes for it."""
    return name if re.fullmatch(r"\w[\w.-]*", name) else repr(name)


def _known(table: dict, keys: tuple[str, ...], prefix: str, of: str, where: _Where) -> None:
    for key in table:
        if key not in keys:
            near = difflib.get_close_matches(key, keys, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (known: {', '.join(keys)})"
            where.fail(prefix + _key(key), f"is not a key of {of}{hint}")


def _string(value: Any, key: str, where: _Where) -> str:
    if value is None:
        where.fail(key, "is required")
    if not isinstance(value, str):
        where.fail(key, f"must be a string, got {value!r}")
    return value


def _int(value: Any, key: str, low: int, high: int, where: _Where) -> int:
    # TOML's true is a Python int; a status or a weight of true is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        where.fail(key, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        where.fail(key, f"must be between {low} and {high}, got {value}")
    return value


def _seconds(value: Any, key: str, low: float, high: float, where: _Where) -> float:
    # TOML's true is a Python int too; a bound of true is a mistake, not 1 s.
    if isinstance(value, bool) or not isinstance(value, int | float):
        where.fail(key, f"must be a number of seconds, got {value!r}")
    if not low <= value <= high:  # NaN fails this as well
        where.fail(key, f"must be between {low:g} and {high:g} seconds, got {value}")
    return float(value)


def _bool(value: Any, key: str, where: _Where) -> bool:
    if not isinstance(value, bool):
        where.fail(key, f"must be true or false, got {value!r}")
    return value


def _table(value: Any, key: str, where: _Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        where.fail(key, f"must be a table, got {value!r}")
    return value


def _path(value: Any, key: str, where: _Where) -> str:
    path = _string(value, key, where)
    if not path.startswith("/"):
        where.fail(key, f"must start with '/', got {path!r}")
    if re.search(r"\s", path):
        where.fail(key, f"must not hold whitespace (encode it as %20), got {path!r}")
    if path.startswith(RESERVED_PREFIX):
        where.fail(key, f"must not start with {RESERVED_PREFIX!r} (the probe's), got {path!r}")
    return path


def _endpoints(value: Any, where: _Where) -> tuple[TargetEndpoint, ...]:
    if value is None:
        where.fail("endpoints", "is required: at least one [[endpoints]] table")
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        where.fail("endpoints", f"must be [[endpoints]] tables, got {value!r}")
    if not value:
        where.fail("endpoints", "must hold at least one endpoint")
    endpoints = [_endpoint(t, f"endpoints[{i}]", where) for i, t in enumerate(value)]
    names = [e.name for e in endpoints]
    for i, name in enumerate(names):
        if name in names[:i]:
            taken = f"endpoints[{names.index(name)}]"
            where.fail(f"endpoints[{i}].name", f"{name!r} is already {taken}'s name")
    return tuple(endpoints)


def _endpoint(table: dict, at: str, where: _Where) -> TargetEndpoint:
    _known(table, ENDPOINT_KEYS, f"{at}.", "an endpoint", where)
    name = _endpoint_name(table.get("name"), f"{at}.name", where)
    path = _path(table.get("path"), f"{at}.path", where)
    method = _method(table.get("method", "GET"), f"{at}.method", where)
    return TargetEndpoint(
        name=name,
        path=path,
        method=method,
        body=_body(table.get("body"), method, f"{at}.body", where),
        headers=_headers(table.get("headers", {}), f"{at}.headers", where),
        expect_status=_int(table.get("expect_status", 200), f"{at}.expect_status", 100, 599, where),
        expect_body=_expect_body(table.get("expect_body"), f"{at}.expect_body", where),
        weight=_int(table.get("weight", 1), f"{at}.weight", 1, MAX_WEIGHT, where),
    )


def _endpoint_name(value: Any, key: str, where: _Where) -> str:
    name = _string(value, key, where)
    if not ENDPOINT_NAME.fullmatch(name):
        where.fail(key, f"must match {ENDPOINT_NAME.pattern}, got {name!r}")
    if name == MIX:
        where.fail(key, f"must not be {MIX!r}: ENDPOINTS={MIX} is the weighted mix of them all")
    return name


def _method(value: Any, key: str, where: _Where) -> str:
    method = _string(value, key, where).upper()
    if method not in METHODS:
        where.fail(key, f"must be one of {', '.join(METHODS)}, got {value!r}")
    return method


def _body(value: Any, method: str, key: str, where: _Where) -> str | None:
    if value is None:
        return None
    body = _string(value, key, where)
    if method in NO_BODY:
        where.fail(key, f"needs a method that sends one (not {' or '.join(NO_BODY)}), got {method}")
    return body


def _headers(value: Any, key: str, where: _Where) -> tuple[tuple[str, str], ...]:
    headers = _table(value, key, where)
    for name, text in headers.items():
        at = f"{key}.{_key(name)}"
        if not HEADER_NAME.fullmatch(name):
            where.fail(at, "is not a valid HTTP header name")
        if re.search(r"[\r\n]", _string(text, at, where)):  # a second line would be a header
            where.fail(at, f"must be one line, got {text!r}")
    return tuple(sorted(headers.items()))


def _expect_body(value: Any, key: str, where: _Where) -> str | None:
    if value is None:
        return None
    if not _string(value, key, where):
        where.fail(key, "must not be empty (leave it out to check the status alone)")
    return value
