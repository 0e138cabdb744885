"""Clock offsets from synthetic probes, the correction on synthetic samples, and the bound."""

from __future__ import annotations

import pytest

from loadlab.engines import clocks
from loadlab.errors import ConfigError
from loadlab.shared import clock


def test_the_probe_with_the_shortest_round_trip_decides():
    """An engine 0.25 s ahead: probes of 40 ms and 4 ms round trips, the engine reading its
    clock anywhere inside; the short one gives the offset within its 2 ms."""
    probes = [(100.0, 100.27, 100.04), (200.0, 200.252, 200.004), (300.0, 300.26, 300.03)]
    found = clocks.estimate("engine2", probes)
    assert found.offset_s == pytest.approx(0.25, abs=0.002)
    assert found.uncertainty_s == pytest.approx(0.002) and found.probes == 3


def test_measure_times_each_question():
    ahead = 1.5
    found = clocks.measure("e2", lambda: __import__("time").time() + ahead, probes=3)
    assert found.offset_s == pytest.approx(ahead, abs=0.01)
    assert 0 <= found.uncertainty_s < 0.01


def test_corrected_samples_fall_in_their_step():
    """A worker 0.4 s ahead writes its samples on its clock; the master's steps are on the
    driver's (offset 0). Uncorrected, the samples of the last 0.4 s of step 1 land in step 2;
    corrected by the measured offset, every sample is in the step it was sent in."""
    offset, boundary = 0.4, 10.0  # step 1 ends at 10 s on the driver's clock
    sent = [i * 0.1 for i in range(1, 200)]  # the driver's clock when each was sent
    written = [t + offset for t in sent]  # what the worker's clock read
    wrong = sum(1 for t, w in zip(sent, written, strict=True) if (t < boundary) != (w < boundary))
    assert wrong == 4  # 9.6 .. 9.9 s: 0.4 s of samples at 10 a second
    fixed = [clock.on_driver_clock(w, offset) for w in written]
    assert all((t < boundary) == (f < boundary) for t, f in zip(sent, fixed, strict=True))
    assert clock.offset_of({clock.VARIABLE: "0.400000"}) == offset
    assert clock.offset_of({}) == 0


def test_an_offset_over_one_percent_of_a_window_refuses_the_run():
    """6 s windows: 60 ms. Within: measured (and corrected). Over, or known no better than
    that: refused in one line."""
    assert clocks.bound(6) == pytest.approx(0.06)
    clocks.check([clocks.Offset("e2", 0.05, 0.002, 7)], 6)
    with pytest.raises(ConfigError, match="engine e2 is \\+80 ms") as caught:
        clocks.check([clocks.Offset("e2", 0.08, 0.002, 7)], 6)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="\\+-70"):
        clocks.check([clocks.Offset("e2", 0.0, 0.07, 7)], 6)
