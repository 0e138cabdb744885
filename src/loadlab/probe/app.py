"""The ASGI entry point the server loads (loadlab.probe.app:app): LAB_APP, wrapped in the probe.

Importing this module imports the user's app, once per worker process, as the server would
have imported it directly; ``python3 -m loadlab.probe`` has already checked that it imports.
"""

from __future__ import annotations

from loadlab.probe.load import load_app
from loadlab.probe.settings import ServerSettings
from loadlab.probe.wrap import Probe

settings = ServerSettings.from_env()
app = Probe(load_app(settings.lab_app), settings, name=settings.lab_app)
