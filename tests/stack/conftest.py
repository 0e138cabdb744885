"""The service tests' servers, for the readiness tests that need a real one."""

from tests.service.conftest import serve  # noqa: F401 (a fixture, found here by pytest)
