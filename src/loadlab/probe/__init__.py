"""The lab's probe: layered onto any FastAPI app's image, it starts the app and reports on it.

Copied into the target's container beside ``loadlab/shared`` (and nothing else of loadlab);
it imports only the standard library, anyio, and the lab's shared settings table.

- ``__main__``: the command line: ``serve`` (the default) and ``check MODULE...``.
- ``settings``: what it reads from the environment (ServerSettings), on the shared bounds.
- ``serve``: from the environment to the server's argv, the app imported once first
  (command, prepare).
- ``load``: import "package.module:attribute", or say in one line why not (load_app,
  AppError).
- ``check``: the modules a variant's server needs, present or not (missing).
- ``app``: the ASGI entry point the server loads: LAB_APP wrapped in the probe.
- ``wrap``: the wrapper itself: the limiter, the lag monitor, requests in flight, lifespan
  (Probe, InFlight).
- ``routes``: the lab's own paths, /_lab/runtime and /_lab/lag.
- ``runtime``: the facts of this process: CPUs, quota, pools, versions (snapshot, cpu_quota).
- ``lag``: how late the event loop runs a timer, and its percentiles (Monitor, summarize).

Nothing is imported here: ``check`` must run where the server's packages are missing.
"""
