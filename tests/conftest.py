"""Fixtures shared by the container tests of every folder."""

from __future__ import annotations

import pytest

from tests.containers import PROJECT, fresh_stack


@pytest.fixture(scope="session")
def stack():
    """The test project, emptied before and after."""
    yield from fresh_stack(PROJECT, ("loadlab/target:latest", "loadlab/locust:latest"))
