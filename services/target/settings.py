"""The service's configuration: every environment variable read once, at start-up.

The table itself (each variable, its parser, bounds and reasons) is the lab's shared one,
``loadlab.shared.service``, copied into this image beside the app: the driver checks the
same variables against the same bounds before it starts anything.
"""

from loadlab.shared.service import AUTO, SERVERS, Settings, auto_workers
from loadlab.shared.settings import SettingsError

__all__ = ["AUTO", "SERVERS", "Settings", "SettingsError", "auto_workers"]
