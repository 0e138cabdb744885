"""What to measure: the configuration, resolved once into a plan of points.

- ``config``: the sweep's settings (SweepConfig, each field with its parser and help), resolved
  into a Plan by ``resolve`` (the profile filled in, the run's directory named, every check
  made before anything starts).
- ``series``: which series a plan measures, per target Python and knob, and a target file's
  [sweep] defaults (of_plan, with_knobs, target_defaults).
- ``profiles``: the named matrices a sweep starts from (PROFILES, Profile).
- ``variants``: the target's Compose services and the Pythons they run (VARIANTS, image_of).
- ``matrix``: the points of a plan, ordered so each container starts once (Point, points,
  groups).
- ``placement``: where the target and Locust run, CPU quota and cpuset (place, Placement).
- ``target``: what is measured, as a target file describes it (Target, TargetEndpoint, MIX,
  the probe's reserved paths RUNTIME and LAG).
- ``target_file``: a target.toml read and checked into a Target (load, demo).
- ``target_keys``: the checked values of its tables and its [[endpoints]].
- ``reference``: docs/settings.md, rendered from the settings.

Nothing is imported here: make reads the variables' table with the machine's bare python3.
"""
