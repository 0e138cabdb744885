"""What the driver shares with the images: copied whole into the Locust and target images.

- ``endpoints``: the target's endpoints (path, Locust class, kind of work): ENDPOINTS.
- ``offered``: how load is offered, the steps of one Locust run and their file format: Step,
  StepTimes, Stepper, encode, settle_budget.
- ``traffic``: what the users send, one endpoint or a weighted mix: Request, encode, decode,
  Chooser.
- ``arrivals``: when an open-loop worker means to send each request: send_times, ARRIVALS.
- ``histograms``: latency histograms of bounded memory (HdrHistogram): merge, percentiles.
- ``settings``: how a setting is parsed and bounded, one wording everywhere: Bound, Parser,
  setting, SettingsError.
- ``service``: the target service's settings and their bounds: Settings, auto_workers.
- ``clock``: the driver's clock read on another engine's host: every Locust time is moved by
  that engine's measured offset (offset_of, on_driver_clock, now).

Nothing is imported here: the images and make's own python3 import only the module they need
(``histograms`` alone needs a package beyond the standard library).
"""
