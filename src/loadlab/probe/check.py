"""Does this image hold what a variant's server needs? Checked before anything is measured."""

from __future__ import annotations

import importlib

# Import name -> the name pip installs it by, where the two differ.
PIP_NAMES = {"uvicorn_worker": "uvicorn-worker"}


def missing(modules: list[str]) -> list[str]:
    """The pip names of ``modules`` that do not import here, in the order given."""
    return [PIP_NAMES.get(name, name) for name in modules if not _imports(name)]


def _imports(name: str) -> bool:
    try:
        importlib.import_module(name)
    except Exception:  # a broken install is as missing as an absent one
        return False
    return True
