"""The same image bytes on every engine of a run, checked by id before anything is measured.

Images are built (or found) on the driver's own engine, where `make images` and a target
file's build put them; every other engine gets them by `docker save | docker --context X load`,
which keeps the image id (the digest of its configuration). The ids seen on each engine go into
the run's metadata, and an engine whose copy differs refuses the run: a different build would be
a different experiment.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable

from loadlab.engines.contexts import argv, label
from loadlab.errors import EngineError

TRANSFER_TIMEOUT = 1800  # seconds per image: a few hundred MB over ssh


def image_id(context: str | None, image: str) -> str | None:
    """The id of ``image`` on ``context``'s engine; None if it has none."""
    done = subprocess.run([*argv(context), "image", "inspect", "--format", "{{.Id}}", image],
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    return done.stdout.strip() or None if done.returncode == 0 else None


def transfer(image: str, context: str) -> float:
    """`docker save image | docker --context X load`; the seconds it took."""
    began = time.monotonic()
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        load = subprocess.run([*argv(context), "load", "--quiet"], stdin=save.stdout,
                              capture_output=True, text=True,
                              timeout=TRANSFER_TIMEOUT)  # fmt: skip
    finally:
        save.stdout.close()
        saved = save.wait(timeout=60)
    if saved != 0 or load.returncode != 0:
        said = (load.stderr or save.stderr.read().decode(errors="replace")).strip()
        raise EngineError(f"copying {image} to {context} failed: "
                          f"{(said.splitlines() or ['no output'])[-1]}")  # fmt: skip
    return time.monotonic() - began


def place(images: Iterable[str], contexts: Iterable[str | None],
          log=lambda line: None) -> dict[str, dict[str, str]]:  # fmt: skip
    """Every image on every engine with the driver's own id: copied where missing or
    different, then checked. The ids by image and engine label."""
    found: dict[str, dict[str, str]] = {}
    for image in sorted(set(images)):
        source = image_id(None, image)
        if source is None:
            raise EngineError(f"image {image} is not on the driver's engine: run `make images`")
        found[image] = {label(None): source}
        for context in dict.fromkeys(c for c in contexts if c is not None):
            there = image_id(context, image)
            if there != source:
                log(f"engines: copying {image} to {context}")
                seconds = transfer(image, context)
                log(f"engines: {image} on {context} in {seconds:.0f} s")
                there = image_id(context, image)
            if there != source:
                raise EngineError(f"{image} on {context} is {there}, not the driver's "
                                  f"{source}: the engines would run different builds")  # fmt: skip
            found[image][context] = there
    return found
