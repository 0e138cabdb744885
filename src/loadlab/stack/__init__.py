"""The machinery a plan runs on: the Compose stack, the checks before a run, what the
containers did.

- ``compose``: the Compose stack as the driver drives it (Stack, LocustRun, session).
- ``variables``: every variable make and Compose read, and who owns it; make derives its lists
  from it and refuses an unknown one.
- ``readiness``: what must hold before a Locust run: the CPU limit read back inside the target
  (check_limits), a correct answer (check_answer), an idle target (wait_idle).
- ``cgroups``: a container's cgroup found and read from the host (v1 and v2).
- ``telemetry``: the containers' cgroups sampled through a run and summarised over a window
  (Sampler, summarise).
- ``lock``: one lab at a time per checkout (hold).
- ``metadata``: the environment a run was measured in (collect).

Nothing is imported here: make reads ``variables`` with the machine's bare python3.
"""
