"""Judging results: is a change real, can two runs be compared, does the night pass.

- ``compare``: run B against reference A, pyperf's way, from the points' intervals (compare,
  Comparison, Row, Change: a metric's change, with its word).
- ``keys``: what pairs points across runs (Key, key_of).
- ``failures``: the keys that gave no trusted number (failures, Failure).
- ``comparable``: what two runs must share, and what differs that is only shown.
- ``significance``: Welch's t-test in pure Python (welch_t_test).
- ``across``: what a CPU limit changed, each series at saturation (across_limits,
  what_changed).
- ``fingerprint``: the facts two runs must share to be judged together (of, Fingerprint).
- ``store``: the nightly store, a baseline per machine (Store).
- ``history``: every night's per-point numbers, one JSON line each (append, load).
- ``gate``: the nightly gate, which returns its verdict (gate, Verdict); rendering it is
  ``report.nightly_summary``'s job.
- ``binds``: what capped each series, named from its own numbers (bindings, Binding), and
  what bound one step that missed its objective (what_bound).
- ``model_error``: the model's error per series kind (closed I/O, closed CPU, open uniform,
  open Poisson), worst and median over trusted points (kinds, KindError), and per series
  where model and measurement part (series, SeriesError); summary is run.json's figure.

Nothing here imports ``report``: judging comes first, rendering reads the verdicts.
"""
