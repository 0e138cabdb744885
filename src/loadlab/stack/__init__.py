"""The machinery a plan runs on: the Compose stack, the checks before a run, what the
containers did.

- ``compose``: the Compose stack as the driver drives it (Stack, LocustRun, session).
- ``variables``: every variable make and Compose read, and who owns it; make derives its lists
  from it and refuses an unknown one.
- ``images``: the target's image made ready: the demo's, or a target file's with the lab's
  probe layered on, each variant's needs checked inside (prepare, Prepared).
- ``verify``: every endpoint answered once as the target file says, before any load; a target
  that cannot start named in one line (verify, up, container_env).
- ``readiness``: what must hold before a Locust run: the CPU limit read back inside the target
  (check_limits), a correct answer (check_answer), an idle target (wait_idle), the event
  loop's lag over a window (event_loop_lag).
- ``cgroups``: a container's cgroup found and read from the host (v1 and v2).
- ``telemetry``: the containers' cgroups sampled through a run and summarised over a window
  (Sampler, summarise).
- ``lock``: one lab at a time per checkout (hold).
- ``metadata``: the environment a run was measured in (collect).

Nothing is imported here: make reads ``variables`` with the machine's bare python3.
"""
