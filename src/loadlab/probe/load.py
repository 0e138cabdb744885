"""Import the user's ASGI app from "package.module:attribute", or say in one line why not."""

from __future__ import annotations

import importlib
from operator import attrgetter
from typing import Any

from loadlab.shared.settings import SettingsError


class AppError(Exception):
    """LAB_APP names an app that cannot be served; one line."""


def load_app(spec: str) -> Any:
    """The object ``spec`` names, imported; AppError when it does not import or is missing.

    SettingsError (an app that validates its settings with the lab's own table) and
    SystemExit (an app that reports its own error and exits) pass through unchanged: they
    already say what is wrong in the app's words.
    """
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except SettingsError:
        raise
    except Exception as exc:
        raise AppError(f"LAB_APP={spec} does not import: {_one_line(exc)}") from exc
    try:
        app = attrgetter(attribute)(module)
    except AttributeError:
        raise AppError(f"LAB_APP={spec}: no attribute {attribute} in {module_name}") from None
    if not callable(app):
        raise AppError(f"LAB_APP={spec}: {attribute} is a {type(app).__name__}, not an ASGI app")
    return app


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
