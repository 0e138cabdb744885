"""The target's variants: the Compose services a sweep can measure, and the Pythons they run.

Defined once here; compose.yaml has one service per name (a test checks both ways), and the
Makefile's `up VARIANT=...` takes the same names.
"""

from __future__ import annotations

VARIANTS = (
    "uvicorn",
    "uvicorn-limiter",
    "uvicorn-workers",
    "gunicorn",
    "uvicorn-limit-concurrency",
)
# A variant may name the Python its target runs: "uvicorn@3.13" is the uvicorn service on the
# Python 3.13 image (make images-py313); a plain name runs the default image (3.11).
IMAGE_TAGS = {"3.11": "latest", "3.13": "py3.13"}
TARGET_VARIANTS = VARIANTS + tuple(f"{v}@3.13" for v in VARIANTS)


# A variant of a target with knobs carries their values: "uvicorn+DB_POOL_SIZE=5" is the
# uvicorn service with the app's DB_POOL_SIZE at 5, a series (and a container) of its own.
KNOB = "+"


def service_of(variant: str) -> str:
    """The Compose service of ``variant`` (its Python and knobs left out)."""
    return variant.partition(KNOB)[0].partition("@")[0]


def image_of(variant: str) -> str:
    """The demo image ``variant`` runs (a target file's image is the target's own)."""
    python = variant.partition(KNOB)[0].partition("@")[2]
    return f"loadlab/target:{IMAGE_TAGS[python or '3.11']}"


def with_knobs(variant: str, knobs: tuple[tuple[str, str], ...]) -> str:
    return KNOB.join([variant, *(f"{name}={value}" for name, value in knobs)])


def knobs_of(variant: str) -> dict[str, str]:
    """The app's environment variables ``variant`` sets: {} for a plain variant."""
    return dict(k.split("=", 1) for k in variant.split(KNOB)[1:])
