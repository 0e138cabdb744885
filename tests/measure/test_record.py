"""The open loop's record: every worker's hist-*.json merged by slice, and whole slices cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadlab.errors import PointError
from loadlab.measure.record import Record, Slice, load, total
from loadlab.shared import histograms
from loadlab.shared.offered import HISTOGRAMS_PREFIX

EMPTY = histograms.encode(histograms.make())


def write_worker(directory: Path, name: str, intervals: list[dict], *, t0: float = 1000.0,
                 width: float = 1.0, errors: dict | None = None) -> None:  # fmt: skip
    """One worker's file in the workers' format; each interval gets empty histograms."""
    raw = [{"corrected": EMPTY, "uncorrected": EMPTY, "lag": EMPTY, **i} for i in intervals]
    data = {"t0": t0, "interval": width, "intervals": raw, "errors": errors or {}}
    (directory / f"{HISTOGRAMS_PREFIX}{name}.json").write_text(json.dumps(data))


def test_workers_are_merged_slice_by_slice(tmp_path):
    """Two workers' counts add up per slice index, and their errors add up over the run."""
    write_worker(tmp_path, "a", [{"index": 0, "sent": 5, "ok": 4, "failed": 1}],
                 errors={"HTTPError: 503": 1})  # fmt: skip
    write_worker(tmp_path, "b", [{"index": 0, "sent": 3, "ok": 3}, {"index": 1, "ok": 2}],
                 errors={"HTTPError: 503": 2})  # fmt: skip
    found = load(tmp_path, 2)
    assert [s.start for s in found.slices] == [1000.0, 1001.0]
    assert (total(found.slices, "sent"), total(found.slices, "ok")) == (8, 9)
    assert found.errors == {"HTTPError: 503": 3}
    assert [len(s.encoded["corrected"]) for s in found.slices] == [2, 1]


def test_a_count_a_worker_did_not_write_is_zero(tmp_path):
    """A slice without some counts (say an older worker's, without "incomplete" and "dropped")
    reads them as 0, so totals over every worker still add up."""
    write_worker(tmp_path, "a", [{"index": 0, "sent": 5, "ok": 5}])
    write_worker(tmp_path, "b", [{"index": 0, "sent": 4, "ok": 3, "incomplete": 1}])
    found = load(tmp_path, 2)
    assert total(found.slices, "incomplete") == 1
    assert total(found.slices, "dropped") == 0
    assert total(found.slices, "failed") == 0


def test_slices_start_at_t0_plus_their_index_times_the_width_the_workers_used(tmp_path):
    """Slices of 2 s: the slice of index 3 starts 6 s after t0, and the record says 2 s."""
    write_worker(tmp_path, "a", [{"index": 0, "ok": 1}, {"index": 3, "ok": 1}], width=2.0)
    found = load(tmp_path, 1)
    assert found.width == 2.0
    assert [s.start for s in found.slices] == [1000.0, 1006.0]


def test_a_missing_worker_file_fails_the_point_and_says_how_many_wrote(tmp_path):
    """One file for two workers: the point fails, naming 1 of 2."""
    write_worker(tmp_path, "a", [{"index": 0, "ok": 1}])
    with pytest.raises(PointError, match="open-loop record incomplete: 1 of 2 workers"):
        load(tmp_path, 2)


def test_between_takes_whole_slices_with_a_microsecond_of_slack():
    """[start, end) holds the slices lying wholly inside it; a slice edge off by up to a
    microsecond (float arithmetic on epoch times) still counts as on the window's edge."""
    record = Record([Slice(start=float(i)) for i in range(5)], 1.0, {})
    assert [s.start for s in record.between(1.0, 4.0)] == [1.0, 2.0, 3.0]
    assert [s.start for s in record.between(1.5, 4.0)] == [2.0, 3.0]
    # Exactly one microsecond off on either side: still in.
    assert [s.start for s in record.between(1e-6, 2.0)] == [0.0, 1.0]
    assert [s.start for s in record.between(2.0, 4.0 - 1e-6)] == [2.0, 3.0]
    # Two microseconds off: out.
    assert [s.start for s in record.between(2e-6, 2.0)] == [1.0]
