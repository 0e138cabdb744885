"""The machinery a plan runs on: the Compose stack, the checks before a run, what the
containers did.

- ``compose``: the Compose stack as the driver drives it, on the engine it is bound to
  (Stack, LocustRun, session).
- ``spread``: one Locust run over several Docker engines, in Locust's distributed mode (run,
  target_url).
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
- ``engine_stats``: a container's readings through the Docker Engine API, for a container on
  another engine (reading_of, Engine, Stream).
- ``telemetry``: the containers' cgroups sampled through a run and summarised over a window
  (Sampler, summarise).
- ``kubernetes``: the plan written as Kubernetes manifests (a target Deployment per group, a
  LocustTest of Locust's operator per run), never applied (manifests, write).
- ``lock``: one lab at a time per checkout (hold).
- ``metadata``: the environment a run was measured in (collect).
- ``image_facts``: what a container of an image answered (its Locust version, whether a
  server's modules import), kept by image id so it is asked once (known, remember).

Nothing is imported here: make reads ``variables`` with the machine's bare python3.
"""
