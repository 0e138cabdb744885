"""A target: the FastAPI service a sweep measures, described by a file (target.toml).

The demo app is itself described by one (services/target/target.toml), so every target takes
the same path: the file is read and checked once, in ``plan.config.resolve``, and the resolved
Target is passed down. The lab runs the server itself (uvicorn, or gunicorn with uvicorn's
worker) through its probe (loadlab.probe), layered onto the target's image; so servers, worker
counts, the thread limit and the CPU limit stay the lab's axes, and an app's own environment
variables the sweep may vary are its knobs. docs/target-file.md describes every key; the file
is read and checked by ``plan.target_file``.

    image = "name:tag"            # an image on the engine, or
    build = "dir"                 # a build context with a Dockerfile (relative to this file)
    app = "package.module:app"    # the ASGI application
    health = "/health"            # answers 2xx once the app is ready
    answer_seconds = 30           # verify's bound on one answer: longer is a hang
    [[endpoints]]
    name = "read"  path = "/items?limit=5"  method = "GET"  headers = {}  (body: not on GET)
    expect_status = 200  expect_body = "substring"  weight = 1
    [env]                         # fixed environment of the app
    [knobs]                       # the app's variables the sweep varies: NAME = [values]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = "target.toml"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MIX = "mix"  # ENDPOINTS=mix: the weighted mix of the selected endpoints, one series
RESERVED_PREFIX = "/_lab/"  # the probe's paths; no endpoint of the app may use them
RUNTIME = RESERVED_PREFIX + "runtime"  # the probe's runtime document (loadlab.probe)
LAG = RESERVED_PREFIX + "lag"  # its event-loop lag over a time range
ROOT = Path(__file__).resolve().parents[3]
DEMO_FILE = ROOT / "services" / "target" / FILE_NAME
PYPROJECT = ROOT / "pyproject.toml"  # its [dependency-groups] are what `wheels` may name

# What the lab sets in the target's container itself; an app's env or knob would be overridden
# or would silently fight an axis of the sweep, so each is refused with its reason.
RESERVED_NAMES = {
    "SERVER": "it is a sweep axis (VARIANTS)",
    "WORKERS": "each variant sets it (VARIANTS, and the WORKERS setting)",
    "THREAD_LIMIT": "the uvicorn-limiter variant sets it (VARIANTS)",
    "LIMIT_CONCURRENCY": "the uvicorn-limit-concurrency variant sets it (VARIANTS)",
    "HOST": "the server listens where the probe says",
    "PORT": "the server listens where the probe says",
    "CPUS": "it is the CPU limit, a sweep axis",
}
RESERVED_START = "LAB_"  # the probe's and the Locust side's own variables


@dataclass(frozen=True)
class TargetEndpoint:
    name: str  # what ENDPOINTS names and reports show, e.g. "io/sync" or "read"
    path: str  # with its leading slash and query, e.g. "/items?limit=5"
    method: str = "GET"
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int = 200
    expect_body: str | None = None  # a substring the answer's body must hold
    weight: int = 1  # in the mix

    def request(self) -> dict:
        """What the Locust side needs to send it (JSON-able)."""
        return {"name": self.name, "path": self.path, "method": self.method,
                "body": self.body, "headers": dict(self.headers), "weight": self.weight,
                "expect_status": self.expect_status}  # fmt: skip


@dataclass(frozen=True)
class Target:
    file: Path  # the target.toml this came from (absolute)
    name: str  # a short slug for image tags and reports, from the file's directory
    app: str  # "package.module:attribute"
    health: str  # "/health"
    endpoints: tuple[TargetEndpoint, ...]
    image: str | None = None  # exactly one of image and build
    build: Path | None = None  # absolute
    env: tuple[tuple[str, str], ...] = ()
    knobs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (NAME, values as strings)
    # The rest are optional keys an example needs to run offline here (documented):
    wheels: str | None = None  # a uv dependency group whose wheels the build gets as wheels/
    compose: Path | None = None  # an extra Compose file (services such as a database)
    services: tuple[str, ...] = ()  # its services, started healthy before the target
    debian_images: tuple[tuple[str, tuple[str, ...]], ...] = ()  # tag -> Debian packages
    demo: bool = False  # the lab's own demo app (its models and answer checks apply)
    # The longest one answer may take while verify checks each endpoint once; longer is a hang.
    answer_seconds: float = 30.0
    sweep: tuple[tuple[str, str], ...] = ()  # [sweep]: the setting's defaults, as text
    extra: dict = field(default_factory=dict, compare=False)

    def endpoint(self, name: str) -> TargetEndpoint:
        for e in self.endpoints:
            if e.name == name:
                return e
        raise KeyError(name)
