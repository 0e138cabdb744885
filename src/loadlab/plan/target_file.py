"""Reading a target file: ``load`` checks every key of a target.toml and gives a Target.

Every problem raises ConfigError, one line naming the file (as the user gave it), the key and
what is wrong, before anything starts; docs/target-file.md describes the keys.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

from loadlab.plan.target import (
    DEMO_FILE,
    FILE_NAME,
    PYPROJECT,
    RESERVED_NAMES,
    RESERVED_START,
    Target,
)
from loadlab.plan.target_keys import (
    _bool,
    _endpoints,
    _error,
    _key,
    _known,
    _path,
    _seconds,
    _string,
    _table,
    _Where,
)

TOP_KEYS = ("name", "image", "build", "app", "health", "endpoints", "env", "knobs", "sweep",
            "wheels", "compose", "services", "debian_images", "demo",
            "answer_seconds")  # fmt: skip
ANSWER_SECONDS = (0.5, 600.0)  # verify's bound on one answer: under a request's own overheads,
# or past any client's patience, is a typo
KNOB_VALUE = re.compile(r"[A-Za-z0-9._:-]+")
VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*")
IMAGE = re.compile(r"[^\s:]+(?::[^\s:]+)*")  # "name" or "name:tag", a registry's port allowed
# Debian policy's rule for a name (two characters at least), as scripts/debian-image.sh checks it.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
SERVICE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")  # Compose's rule for a service name


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
        answer_seconds=_answer_seconds(raw, where),
        sweep=_sweep(raw.get("sweep", {}), where),
    )


def _answer_seconds(raw: dict, where: _Where) -> float:
    value = raw.get("answer_seconds", Target.answer_seconds)
    return _seconds(value, "answer_seconds", *ANSWER_SECONDS, where)


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
        # A knob's value names its series and its run's folders ("uvicorn+DB_POOL_SIZE=5").
        if not KNOB_VALUE.fullmatch(text):
            where.fail(f"{key}[{i}]", f"must be letters, digits and . _ : - only, got {text!r}")
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


# The settings a target file may give its sweep's defaults for (a given setting wins).
SWEEP_KEYS = ("variants", "endpoints", "cpus", "users", "rates", "duration", "warmup", "repeats",
              "thread_limit", "workers")  # fmt: skip


def _sweep(value: Any, where: _Where) -> tuple[tuple[str, str], ...]:
    """[sweep]: defaults for this target's sweep, as the setting's own text (``users =
    [5, 10, 15]`` is USERS=5,10,15); checked by the settings' parsers in plan.config."""
    table = _table(value, "sweep", where)
    _known(table, SWEEP_KEYS, "sweep.", "[sweep]", where)
    found = []
    for key, raw in table.items():
        values = raw if isinstance(raw, list) else [raw]
        found.append((key, ",".join(_scalar(v, f"sweep.{key}", where) for v in values)))
    return tuple(found)
