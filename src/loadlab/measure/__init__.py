"""Measuring a window: from what Locust recorded to a point's numbers and status.

- ``window``: one step of a Locust run measured (closed_step, open_step give a Measured:
  stats, telemetry, status, flags), its window cut where the data settled.
- ``samples``: the closed loop's raw samples (Sample, load, completed_between, percentile).
- ``record``: the open loop's record, per slice of ``offered.INTERVAL`` seconds (Record,
  Slice, load).
- ``steady``: where a step settled: MSER-5, the drift test, the users' turnover (Truncation).
- ``estimate``: a window's statistics with 95 % confidence intervals by batch means
  (closed_loop, open_loop).
- ``stats``: the typed numbers of a window, for either loop (WindowStats), and what the
  containers used over it (Usage).
- ``status``: whether a point can be trusted: its status and every reason (assess,
  Assessment, STATUSES and the thresholds); RESULTS, the statuses whose numbers are results
  (ok, overloaded), an overloaded window's Backlog, and can_meet_slo (ok alone).

Nothing here imports ``results``: the sweep records a Measured as a point's result.
"""
