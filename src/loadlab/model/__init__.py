"""The yardsticks: what physics expects of each point, drawn beside it, never an input to it.

- ``closed_loop``: the closed loop's models, I/O pools (min(U, P) / S) and CPU
  (min(quota, cores, processes, U) / C): predict, pool_size, cpu_parallelism.
- ``open_loop``: the open loop's model, M/D/c with the fluid line past saturation
  (predict_open).
- ``calibration``: the CPU model's one measured input, a request's CPU cost at each step's own
  concurrency, measured on the container before the run (cpu_cost_of, Calibrations, CpuCost).
- ``predictions``: a measured point's yardstick, computed after it (prediction, Prediction).

Nothing measured depends on these: windows, statuses and estimates are decided in ``measure``
from the data alone, and the prediction is computed afterwards.
"""
