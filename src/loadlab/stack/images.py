"""The target's image on the engine, ready to measure, before anything is measured.

The demo's image is the one `make images` built (the probe is part of it). A target file's
app gets the lab's probe (src/loadlab/probe) layered onto its own image, a build stage from
it (services/probe.Dockerfile), so the user's code is never changed; its image is either on
the engine already (``image``) or built here from its context (``build``), offline: the lab's
base image as the build argument BASE_IMAGE and, with ``wheels``, that dependency group's
wheelhouse inside the context as wheels/. Every variant's needs (uvicorn; gunicorn and
uvicorn-worker) are then checked inside the image, so a missing one is one line, not a
container that restarts in a loop.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from loadlab.errors import ConfigError, EngineError
from loadlab.plan.target import Target
from loadlab.plan.variants import image_of, knobs_of, service_of
from loadlab.stack import image_facts
from loadlab.stack.compose import ROOT

PROBE_DOCKERFILE = ROOT / "services" / "probe.Dockerfile"
PROBE_SOURCES = ("src/loadlab/probe", "src/loadlab/shared")
WHEELHOUSE = ROOT / "build" / "wheelhouse"
UV = ROOT / ".tools" / "bin" / "uv"
# What each variant's server needs importable in the image (import names).
NEEDS = {"gunicorn": ("uvicorn", "gunicorn", "uvicorn_worker")}
DEFAULT_NEEDS = ("uvicorn",)


@dataclass(frozen=True)
class Prepared:
    """What Compose runs for this target: TARGET_IMAGE (None: the demo's own image) and the
    ids of every image involved, for the run's metadata and the nightly fingerprint."""

    image: str | None
    ids: dict[str, str]


def prepare(target: Target, variants: Iterable[str]) -> Prepared:
    """Build or find the target's image, layer the probe on it and check what each variant
    needs; EngineError or ConfigError (one line) before any container of the lab starts."""
    variants = sorted(set(variants))
    if target.demo:
        images = sorted({image_of(v) for v in variants})
        for image in images:
            check_needs(image, [v for v in variants if image_of(v) == image])
        return Prepared(None, {image: image_id(image) for image in images})
    for tag, packages in target.debian_images:
        if not _exists(tag):
            _run([str(ROOT / "scripts" / "debian-image.sh"), tag, *packages], timeout=1800)
    app_image = target.image or _build(target)
    if not _exists(app_image):
        raise ConfigError(f"TARGET {target.file}: image {app_image} is not on the engine "
                          "(load it, or give build = \"dir\")")  # fmt: skip
    probed = _layer(app_image, target)
    check_needs(probed, variants)
    return Prepared(probed, {app_image: image_id(app_image), probed: image_id(probed)})


def check_needs(image: str, variants: Iterable[str]) -> None:
    """Refuse, in one line, an image that lacks what a variant's server needs. An image found
    to hold them is not asked again (``image_facts``: by its id)."""
    ident = _id_or_none(image)
    for variant in variants:
        needs = NEEDS.get(service_of(variant), DEFAULT_NEEDS)
        question = "imports " + " ".join(needs)
        if image_facts.known(ident, question) == "yes":
            continue
        done = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", image,
             "-m", "loadlab.probe", "check", *needs],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1].removeprefix("error: ")
            raise ConfigError(f"{image} cannot run the {service_of(variant)} variant: {last}")
        image_facts.remember(ident, question, "yes")


def _id_or_none(image: str) -> str | None:
    """The image's id; None if the engine cannot say (the check's own run then explains)."""
    try:
        return image_id(image)
    except EngineError:
        return None


def compose_env(target: Target, prepared: Prepared, variant: str, env_dir: Path) -> dict:
    """What compose.yaml interpolates for ``variant`` of this target: its image, health path,
    and a file with the target's [env] and the variant's knobs."""
    env_dir.mkdir(parents=True, exist_ok=True)
    env_file = env_dir / f"{variant.replace('/', '-')}.env"
    values = {**dict(target.env), **knobs_of(variant)}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    found = {"TARGET_HEALTH": target.health, "TARGET_ENV_FILE": str(env_file.resolve())}
    if prepared.image is not None:
        found["TARGET_IMAGE"] = prepared.image
    return found


def image_id(image: str) -> str:
    return _run(["docker", "image", "inspect", "--format", "{{.Id}}", image]).stdout.strip()


def base_image() -> str:
    """The lab's offline Python base (pulled where a registry answers, else debootstrapped)."""
    env = {**os.environ, "BUILD_DIR": str(ROOT / "build")}
    done = _run([str(ROOT / "scripts" / "base-image.sh")], env=env, timeout=1800)
    return done.stdout.strip().splitlines()[-1]


def _build(target: Target) -> str:
    """Build the app's own image from its context: its files, plus wheels/ if asked."""
    tag = f"loadlab/app-{target.name}:built"
    wheels = _wheelhouse(target.wheels) if target.wheels else None
    # The user's own wheels/ (if any) gives way to the lab's, made from uv.lock.
    context = _tar([(target.build, "", ("wheels",))] + ([(wheels, "wheels", ())] if wheels else []))
    _run(["docker", "build", "--quiet", "--build-arg", f"BASE_IMAGE={base_image()}",
          "-t", tag, "-"], stdin=context, timeout=1800)  # fmt: skip
    return tag


def _layer(app_image: str, target: Target) -> str:
    """The probe on top of the app's image (services/probe.Dockerfile)."""
    tag = f"loadlab/app-{target.name}:probe"
    files = [(ROOT / s, s, ()) for s in PROBE_SOURCES] + [(PROBE_DOCKERFILE, "Dockerfile", ())]
    _run(["docker", "build", "--quiet", "--build-arg", f"APP_IMAGE={app_image}",
          "--build-arg", f"LAB_APP={target.app}", "-t", tag, "-"],
         stdin=_tar(files), timeout=600)  # fmt: skip
    return tag


def _wheelhouse(group: str) -> Path:
    """The group's wheels from uv.lock, downloaded on the host once (scripts/wheelhouse.sh)."""
    folder = WHEELHOUSE / group
    lock = ROOT / "uv.lock"
    done = folder / "requirements.txt"
    if not done.is_file() or done.stat().st_mtime < lock.stat().st_mtime:
        _run([str(ROOT / "scripts" / "wheelhouse.sh"), str(WHEELHOUSE), group],
             env={**os.environ, "UV": str(UV)}, timeout=1800)  # fmt: skip
    return folder


def _tar(entries: list[tuple[Path, str, tuple[str, ...]]]) -> bytes:
    """A build context: each (path, its name in the context, top-level names to leave out);
    __pycache__ is always left out."""
    buffer = io.BytesIO()
    # GNU format: a PAX header first makes `docker build -` take the stream for a Dockerfile.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, name, skip in entries:
            tar.add(path, arcname=name or ".", filter=lambda info, s=skip: _keep(info, s))
    return buffer.getvalue()


def _keep(info: tarfile.TarInfo, skip: tuple[str, ...]) -> tarfile.TarInfo | None:
    parts = Path(info.name).parts  # "./wheels/x" -> ("wheels", "x")
    if "__pycache__" in parts or (parts and parts[0] in skip):
        return None
    return info


def _exists(image: str) -> bool:
    found = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
    return found.returncode == 0


def _run(argv: list[str], *, stdin: bytes | None = None, env: dict | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess:  # fmt: skip
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=timeout,
                              stdin=None if stdin is not None else subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise EngineError(f"`{' '.join(argv[:3])}` took over {timeout:g} s") from None
    except FileNotFoundError:
        raise EngineError(f"{argv[0]} is not installed; run `make engine`") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        raise EngineError(f"`{' '.join(Path(a).name for a in argv[:3])}` failed: {lines[-1]}")
    done.stdout = done.stdout.decode(errors="replace")
    return done
