"""A run measured twice, shared by the tests that need it: the A/A comparison (test_sweep) and
the second engine's arrangements (test_engines), which compare theirs with it. One matrix,
measured once for both, so `make test` does not measure the same points twice."""

from __future__ import annotations

import pytest

from tests.containers import leftovers
from tests.end_to_end.test_sweep import finish, loadlab, points

# io/sync at 10 and 30 users (below its 40 threads), 0.1 s a request, two repeats each: small
# enough for Locust on either engine, and repeated so compare can test each key.
MATRIX = ["--profile", "smoke", "--variants", "uvicorn", "--endpoints", "io/sync",
          "--users", "10,30", "--work-seconds", "0.1", "--duration", "6", "--warmup", "4",
          "--repeats", "2"]  # fmt: skip


@pytest.fixture(scope="session")
def twice(stack, tmp_path_factory):
    """The folder holding runs `a` and `b` of MATRIX, back to back on the default engine.

    A point of a short step may honestly come out unsteady on a busy VM (the sweep then exits
    1): compare lists it as a key without a trusted number, never as a change."""
    out = tmp_path_factory.mktemp("twice")
    for run_id in ("a", "b"):
        code, _, err = finish(loadlab("sweep", *MATRIX, "--out", str(out), "--run-id", run_id),
                              timeout=900)  # fmt: skip
        statuses = {p["status"] for p in points(out / run_id)}
        assert statuses <= {"ok", "unsteady"} and "ok" in statuses, err
        assert code == (0 if statuses == {"ok"} else 1), err
        assert leftovers() == []
    return out
