"""The driver's endpoint table and the locustfile's name the same user class per endpoint."""

from __future__ import annotations

import ast
from pathlib import Path

from loadlab.endpoints import ENDPOINTS

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"


def locustfile_endpoints() -> dict[str, str]:
    """ENDPOINTS as written in the locustfile, read without importing Locust."""
    for node in ast.parse(LOCUSTFILE.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ENDPOINTS":
            return ast.literal_eval(node.value)
    raise AssertionError("no ENDPOINTS table in the locustfile")


def test_both_tables_map_each_endpoint_to_the_same_locust_class():
    """A class renamed in one table but not the other would make the sweep pick no user."""
    assert locustfile_endpoints() == {e.path: e.locust_class for e in ENDPOINTS.values()}
