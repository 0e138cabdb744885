"""The Docker engines a run uses: contexts, the images on each, their clocks, and a second
engine on this machine for testing.

- ``contexts``: which engine runs what: the target on TARGET_CONTEXT, Locust on
  LOAD_CONTEXTS, reached at TARGET_ADDRESS and MASTER_ADDRESS (resolve, check).
- ``images``: the same image bytes on every engine of a run, sent by docker save and docker
  load, checked by id (image_id, transfer, place).
- ``clocks``: each engine's clock against the driver's, measured at a run's start, corrected
  and bounded (estimate, measure, bound, check).
- ``second``: a second Docker engine on this machine, in a network namespace of its own
  behind a veth pair, with its own containerd, data root, socket, bridge and cgroup parent,
  reachable through the Docker context ``loadlab-engine2`` (up, down, healthy, read_state,
  leftovers); ``make second-engine`` and ``make second-engine-down`` run it.
- ``addresses``: the addresses the second engine takes, checked against the machine's routes,
  gateways and addresses before anything is made (choose, in_use, parse_net, parse_bridge).
- ``remains``: what an engine leaves on the machine, found and removed: its processes, its
  containers' cgroups, the mounts under its roots (processes, stop, cgroups, mounts, unmount).

Nothing is imported here.
"""
