"""The lab's own exception types; only the CLI turns them into messages and exit codes."""


class LabError(Exception):
    """Something the user can act on; its message is one line."""


class ConfigError(LabError):
    """Bad input, found before anything starts (exit status 2)."""


class EngineError(LabError):
    """Docker or Compose failed to do what was asked."""


class PointError(LabError):
    """One point of a sweep could not be measured; the sweep goes on."""


class CompareError(LabError):
    """Two runs cannot be compared (different environments, nothing in common...)."""
