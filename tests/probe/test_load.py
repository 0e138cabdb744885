"""Importing LAB_APP: the object, or one line saying why not."""

from __future__ import annotations

import pytest

from loadlab.probe.load import AppError, load_app
from loadlab.shared.settings import SettingsError


def test_the_named_attribute_is_returned(write_app):
    """module:attribute gives that object, a dotted attribute included."""
    spec = write_app(
        "class Holder:\n    async def app(scope, receive, send): ...\napp = Holder.app\n"
    )
    assert load_app(spec).__name__ == "app"
    module = spec.partition(":")[0]
    assert load_app(f"{module}:Holder.app") is load_app(spec)


@pytest.mark.parametrize(
    ("source", "attribute", "line"),
    [
        ("import no_such_dependency\n", "app", "does not import: ModuleNotFoundError: No module "
         "named 'no_such_dependency'"),
        ("raise RuntimeError('config\\nmissing')\n", "app", "does not import: RuntimeError: "
         "config missing"),
        ("def (:\n", "app", "does not import: SyntaxError: "),
        ("app = 1\n", "application", "no attribute application in "),
        ("app = 1\n", "app", "app is a int, not an ASGI app"),
    ],
)  # fmt: skip
def test_an_app_that_cannot_be_served_is_one_line(write_app, source, attribute, line):
    """Each way LAB_APP can be wrong is an AppError of one line naming LAB_APP."""
    spec = write_app(source, attribute)
    with pytest.raises(AppError) as err:
        load_app(spec)
    assert str(err.value).startswith(f"LAB_APP={spec}")
    assert line in str(err.value) and "\n" not in str(err.value)


def test_the_apps_own_settings_error_passes_through(write_app):
    """An app that checks its settings with the lab's table keeps its own message."""
    spec = write_app(
        "from loadlab.shared.settings import SettingsError\n"
        "raise SettingsError('POOL_SIZE must be at least 1, got \\'0\\'')\n"
    )
    with pytest.raises(SettingsError, match=r"^POOL_SIZE must be at least 1, got '0'$"):
        load_app(spec)
