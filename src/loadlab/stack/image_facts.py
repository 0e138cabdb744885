"""What the lab learned by running a container of an image, kept by the image's id.

An image id is the digest of the image's contents, so what a container of it answered once
(``locust --version``; whether a server's modules import) it would answer again, and a sweep
need not start a container, most of a second each, to ask before every run. Only answers are
kept, never a failure: an image that lacked something is asked again, and a file that cannot
be read or written is as if empty.
"""

from __future__ import annotations

import json
from pathlib import Path

from loadlab import durable
from loadlab.errors import LabError
from loadlab.stack.compose import ROOT

FILE = ROOT / "build" / "image-facts.json"  # {image id: {question: answer}}


def known(image_id: str | None, question: str, file: Path | None = None) -> str | None:
    """The answer kept for ``question`` about the image ``image_id``, or None."""
    if not image_id:
        return None
    answers = _read(file or FILE).get(image_id)
    return answers.get(question) if isinstance(answers, dict) else None


def remember(image_id: str | None, question: str, answer: str, file: Path | None = None) -> None:
    if not image_id:
        return
    facts = _read(file or FILE)
    answers = facts.get(image_id) if isinstance(facts.get(image_id), dict) else {}
    _write(file or FILE, {**facts, image_id: {**answers, question: answer}})


def _read(file: Path) -> dict:
    try:
        found = json.loads(file.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write(file: Path, facts: dict) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        # Whole or not at all: a sweep beside this one may be reading it.
        durable.write_atomic(file, json.dumps(facts, indent=1, sort_keys=True) + "\n")
    except (OSError, LabError):
        pass  # not kept: asked again next time
