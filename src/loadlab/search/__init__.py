"""Capacity search: the cheapest configuration that meets an SLO, decided by measurements.

- ``slo``: an objective such as ``p99<250ms`` (SLO, parse) and a trial's verdict against it
  from the metric's 95 % interval: pass, fail or undecided (decide).
- ``space``: the search space: the CPU grid of a range (cpu_grid, parse_range) and the
  combinations of the other axes (Combo).
- ``bisection``: the search itself, on any ``measure`` callable: bisection on the CPU limit
  per combination, pruning by the best answer so far, re-measuring undecided trials, and
  the contradictions of monotonicity reported (search, Trial, Outcome).
- ``card``: the capacity card, typed and as capacity.json (Card, card_of).

Nothing is imported here.
"""
