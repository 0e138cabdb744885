"""A target: the FastAPI service a sweep measures, described by a file (target.toml).

The demo app is itself described by one (services/target/target.toml), so every target takes
the same path: the file is read and checked once, in ``plan.config.resolve``, and the resolved
Target is passed down. The lab runs the server itself (uvicorn, or gunicorn with uvicorn's
worker) through its probe (loadlab.probe), layered onto the target's image; so servers, worker
counts, the thread limit and the CPU limit stay the lab's axes, and an app's own environment
variables the sweep may vary are its knobs. docs/target-file.md describes every key.

    image = "name:tag"            # an image on the engine, or
    build = "dir"                 # a build context with a Dockerfile (relative to this file)
    app = "package.module:app"    # the ASGI application
    health = "/health"            # answers 2xx once the app is ready
    [[endpoints]]
    name = "read"  path = "/items?limit=5"  method = "GET"  body = ""  headers = {}
    expect_status = 200  expect_body = "substring"  weight = 1
    [env]                         # fixed environment of the app
    [knobs]                       # the app's variables the sweep varies: NAME = [values]
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from loadlab.errors import ConfigError

FILE_NAME = "target.toml"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MIX = "mix"  # ENDPOINTS=mix: the weighted mix of the selected endpoints, one series
RESERVED_PREFIX = "/_lab/"  # the probe's paths; no endpoint of the app may use them
RUNTIME = RESERVED_PREFIX + "runtime"  # the probe's runtime document (loadlab.probe)
LAG = RESERVED_PREFIX + "lag"  # its event-loop lag over a time range
ROOT = Path(__file__).resolve().parents[3]
DEMO_FILE = ROOT / "services" / "target" / FILE_NAME
PYPROJECT = ROOT / "pyproject.toml"  # its [dependency-groups] are what `wheels` may name

# What the lab sets in the target's container itself; an app's env or knob would be overridden
# or would silently fight an axis of the sweep, so each is refused with its reason.
RESERVED_NAMES = {
    "SERVER": "it is a sweep axis (VARIANTS)",
    "WORKERS": "each variant sets it (VARIANTS, and the WORKERS setting)",
    "THREAD_LIMIT": "the uvicorn-limiter variant sets it (VARIANTS)",
    "LIMIT_CONCURRENCY": "the uvicorn-limit-concurrency variant sets it (VARIANTS)",
    "HOST": "the server listens where the probe says",
    "PORT": "the server listens where the probe says",
    "CPUS": "it is the CPU limit, a sweep axis",
}
RESERVED_START = "LAB_"  # the probe's and the Locust side's own variables


@dataclass(frozen=True)
class TargetEndpoint:
    name: str  # what ENDPOINTS names and reports show, e.g. "io/sync" or "read"
    path: str  # with its leading slash and query, e.g. "/items?limit=5"
    method: str = "GET"
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int = 200
    expect_body: str | None = None  # a substring the answer's body must hold
    weight: int = 1  # in the mix

    def request(self) -> dict:
        """What the Locust side needs to send it (JSON-able)."""
        return {"name": self.name, "path": self.path, "method": self.method,
                "body": self.body, "headers": dict(self.headers), "weight": self.weight,
                "expect_status": self.expect_status}  # fmt: skip


@dataclass(frozen=True)
class Target:
    file: Path  # the target.toml this came from (absolute)
    name: str  # a short slug for image tags and reports, from the file's directory
    app: str  # "package.module:attribute"
    health: str  # "/health"
    endpoints: tuple[TargetEndpoint, ...]
    image: str | None = None  # exactly one of image and build
    build: Path | None = None  # absolute
    env: tuple[tuple[str, str], ...] = ()
    knobs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (NAME, values as strings)
    # The rest are optional keys an example needs to run offline here (documented):
    wheels: str | None = None  # a uv dependency group whose wheels the build gets as wheels/
    compose: Path | None = None  # an extra Compose file (services such as a database)
    services: tuple[str, ...] = ()  # its services, started healthy before the target
    debian_images: tuple[tuple[str, tuple[str, ...]], ...] = ()  # tag -> Debian packages
    demo: bool = False  # the lab's own demo app (its models and answer checks apply)
    extra: dict = field(default_factory=dict, compare=False)

    def endpoint(self, name: str) -> TargetEndpoint:
        for e in self.endpoints:
            if e.name == name:
                return e
        raise KeyError(name)


TOP_KEYS = ("name", "image", "build", "app", "health", "endpoints", "env", "knobs", "wheels",
            "compose", "services", "debian_images", "demo")  # fmt: skip
ENDPOINT_KEYS = ("name", "path", "method", "body", "headers", "expect_status", "expect_body",
                 "weight")  # fmt: skip
NO_BODY = ("GET", "HEAD")  # what Locust's client and most servers send without a body
MAX_WEIGHT = 1000
ENDPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*")
IMAGE = re.compile(r"[^\s:]+(?::[^\s:]+)*")  # "name" or "name:tag", a registry's port allowed
# Debian policy's rule for a name (two characters at least), as scripts/debian-image.sh checks it.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
SERVICE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")  # Compose's rule for a service name
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


def demo() -> Target:
    """The lab's own demo app, described like any other target."""
    return load(DEMO_FILE)


def load(path: str | Path) -> Target:
    """Read and check the target file at ``path`` (a target.toml, or a directory holding one).

    Every problem raises ConfigError, one line naming the file, the key and what is wrong.
    """
    file = _locate(Path(path))
    where = _Where(str(file), file.resolve().parent)
    raw = _read(file)
    _known(raw, TOP_KEYS, "", "a target file", where)
    image, build = _image_or_build(raw, where)
    env = _env(raw.get("env", {}), where)
    compose = _relative_file(raw.get("compose"), "compose", where)
    return Target(
        file=file.resolve(),
        name=_name(raw.get("name"), where),
        app=_app(raw.get("app"), where),
        health=_path(raw.get("health"), "health", where),
        endpoints=_endpoints(raw.get("endpoints"), where),
        image=image,
        build=build,
        env=env,
        knobs=_knobs(raw.get("knobs", {}), dict(env), where),
        wheels=_wheels(raw.get("wheels"), where),
        compose=compose,
        services=_services(raw.get("services"), compose, where),
        debian_images=_debian_images(raw.get("debian_images", {}), where),
        demo=_bool(raw.get("demo", False), "demo", where),
    )


def _error(file: Path | str, what: str) -> ConfigError:
    return ConfigError(f"TARGET {file}: {what}")


@dataclass(frozen=True)
class _Where:
    """The file being read: as the user named it (for messages), and where its paths start."""

    shown: str
    base: Path

    def fail(self, key: str, what: str) -> NoReturn:
        raise _error(self.shown, f"{key} {what}")


def _locate(path: Path) -> Path:
    if path.is_dir():
        if not (path / FILE_NAME).exists():
            raise _error(path, f"is a directory without a {FILE_NAME}")
        path = path / FILE_NAME
    if not path.exists():
        raise _error(path, "no such file or directory")
    if not path.is_file():
        raise _error(path, "is not a file")
    return path


def _read(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line N, column M)"
        raise _error(file, f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise _error(file, "is not UTF-8 text, so not TOML") from None
    except OSError as exc:
        raise _error(file, f"cannot be read: {exc.strerror}") from None


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


def _bool(value: Any, key: str, where: _Where) -> bool:
    if not isinstance(value, bool):
        where.fail(key, f"must be true or false, got {value!r}")
    return value


def _table(value: Any, key: str, where: _Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        where.fail(key, f"must be a table, got {value!r}")
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", text.lower()).strip("-")


def _name(value: Any, where: _Where) -> str:
    if value is None:
        slug = _slug(where.base.name)
        if not slug:
            where.fail("name", f"is required: the directory name {where.base.name!r} gives no slug")
        return slug
    name = _string(value, "name", where)
    if not name or _slug(name) != name:
        hint = f"; e.g. {_slug(name)!r}" if _slug(name) else ""
        where.fail("name", f"must be a slug (a-z, 0-9 and '-' inside), got {name!r}{hint}")
    return name


def _image_or_build(raw: dict, where: _Where) -> tuple[str | None, Path | None]:
    given = [k for k in ("image", "build") if k in raw]
    if len(given) != 1:
        where.fail(
            "image", f"or build: exactly one is required, got {' and '.join(given) or 'neither'}"
        )
    if "image" in raw:
        image = _string(raw["image"], "image", where)
        if not IMAGE.fullmatch(image):
            where.fail("image", f"must be 'name:tag' or 'name', without spaces, got {image!r}")
        return image, None
    build = _relative(raw["build"], "build", where)
    if not build.is_dir():
        where.fail("build", f"must be a directory relative to this file, got {raw['build']!r}")
    if not (build / "Dockerfile").is_file():
        where.fail("build", f"must hold a Dockerfile; {build} has none")
    return None, build


def _relative(value: Any, key: str, where: _Where) -> Path:
    return (where.base / _string(value, key, where)).resolve()


def _relative_file(value: Any, key: str, where: _Where) -> Path | None:
    if value is None:
        return None
    found = _relative(value, key, where)
    if not found.is_file():
        where.fail(key, f"must be a file relative to this file, got {value!r}")
    return found


def _app(value: Any, where: _Where) -> str:
    app = _string(value, "app", where)
    module, colon, attribute = app.partition(":")
    if not (colon and attribute.isidentifier() and all(map(str.isidentifier, module.split(".")))):
        where.fail("app", f"must be 'module.path:attribute' (Python identifiers), got {app!r}")
    return app


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


def _variable(name: str, key: str, where: _Where) -> None:
    """Refuse a name that is no environment variable's, or one the lab sets itself."""
    if not VARIABLE.fullmatch(name):
        where.fail(key, f"must be a variable name matching {VARIABLE.pattern}")
    if name in RESERVED_NAMES:
        where.fail(key, f"is refused: the lab sets {name} itself: {RESERVED_NAMES[name]}")
    if name.startswith(RESERVED_START):
        where.fail(
            key, f"is refused: the lab sets {name} itself: {RESERVED_START} names are its own"
        )


def _scalar(value: Any, key: str, where: _Where) -> str:
    """A value as the app's environment gets it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | str):
        return str(value)
    if not isinstance(value, float):
        where.fail(key, f"must be a string, number or boolean, got {value!r}")
    if not math.isfinite(value):
        where.fail(key, f"must be a finite number, got {value}")
    text = f"{value:g}"
    # :g keeps six digits; a value it would change is refused rather than silently rounded.
    if float(text) != value:
        where.fail(key, f"has more digits than {text!r} keeps; write it as a string")
    return text


def _env(value: Any, where: _Where) -> tuple[tuple[str, str], ...]:
    env = []
    for name, raw in _table(value, "env", where).items():
        key = f"env.{_key(name)}"
        _variable(name, key, where)
        env.append((name, _scalar(raw, key, where)))
    return tuple(env)


def _knobs(value: Any, env: dict, where: _Where) -> tuple[tuple[str, tuple[str, ...]], ...]:
    knobs = []
    for name, values in _table(value, "knobs", where).items():
        key = f"knobs.{_key(name)}"
        _variable(name, key, where)
        if name in env:
            where.fail(key, "is also in [env]: a variable is either fixed there or varied here")
        knobs.append((name, _knob_values(values, key, where)))
    return tuple(knobs)


def _knob_values(values: Any, key: str, where: _Where) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        where.fail(key, f"must be a non-empty list of values, got {values!r}")
    texts = tuple(_scalar(v, f"{key}[{i}]", where) for i, v in enumerate(values))
    for i, text in enumerate(texts):
        if text in texts[:i]:
            where.fail(f"{key}[{i}]", f"repeats the value {text!r}")
    return texts


def _dependency_groups() -> tuple[str, ...]:
    try:
        with PYPROJECT.open("rb") as f:
            return tuple(tomllib.load(f).get("dependency-groups", {}))
    except (OSError, tomllib.TOMLDecodeError):
        return ()  # no checkout to read: the error then says no group is known


def _wheels(value: Any, where: _Where) -> str | None:
    if value is None:
        return None
    group = _string(value, "wheels", where)
    known = _dependency_groups()
    if group not in known:
        where.fail("wheels", f"must be a dependency group of {PYPROJECT.name}, got {group!r} "
                   f"(known: {', '.join(known) or 'none'})")  # fmt: skip
    return group


def _services(value: Any, compose: Path | None, where: _Where) -> tuple[str, ...]:
    if value is None:
        return ()
    if compose is None:
        where.fail("services", "needs compose: they are services of that file")
    if not isinstance(value, list):
        where.fail("services", f"must be a list of service names, got {value!r}")
    for i, name in enumerate(value):
        key = f"services[{i}]"
        if not SERVICE.fullmatch(_string(name, key, where)):
            where.fail(key, f"must be a Compose service name, got {name!r}")
        if name in value[:i]:
            where.fail(key, f"repeats the service {name!r}")
    return tuple(value)


def _debian_images(value: Any, where: _Where) -> tuple[tuple[str, tuple[str, ...]], ...]:
    images = []
    for tag, packages in _table(value, "debian_images", where).items():
        key = f"debian_images.{_key(tag)}"
        if not IMAGE.fullmatch(tag):  # the image to build, e.g. "loadlab/postgres:bookworm"
            where.fail(key, "must be an image, 'name:tag' or 'name', without spaces")
        if not isinstance(packages, list) or not packages:
            where.fail(key, f"must be a non-empty list of Debian package names, got {packages!r}")
        for i, package in enumerate(packages):
            if not DEBIAN_PACKAGE.fullmatch(_string(package, f"{key}[{i}]", where)):
                where.fail(f"{key}[{i}]", f"must be a Debian package name, got {package!r}")
        images.append((tag, tuple(packages)))
    return tuple(images)
