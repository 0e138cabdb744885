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


def service_of(variant: str) -> str:
    """The Compose service of ``variant`` (its Python left out)."""
    return variant.partition("@")[0]


def image_of(variant: str) -> str:
    """The target image ``variant`` runs."""
    return f"loadlab/target:{IMAGE_TAGS[variant.partition('@')[2] or '3.11']}"
