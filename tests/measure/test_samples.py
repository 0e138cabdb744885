"""Raw samples: loading every worker's file, selecting a window, exact percentiles."""

from __future__ import annotations

import csv

import pytest

from loadlab.errors import PointError
from loadlab.measure.samples import Sample, completed_between, load, percentile

HEADER = "user,start_time,end_time,response_ms,error\n"


def test_percentile_interpolates_like_numpy():
    """Linear interpolation between closest ranks, as numpy.percentile does by default."""
    values = [1.0, 2.0, 3.0, 4.0]
    assert (percentile(values, 0), percentile(values, 50), percentile(values, 100)) == (1, 2.5, 4)
    assert percentile(values, 95) == pytest.approx(3.85)


def test_percentile_of_nothing_says_so():
    """A percentile of no values is an error that names the problem, not an IndexError."""
    with pytest.raises(ValueError, match=r"^percentile of no values$"):
        percentile([], 50)


def test_load_merges_every_worker_file_in_completion_order(tmp_path):
    """Samples from each worker's file are merged in completion order, user and start kept."""
    (tmp_path / "samples-a.csv").write_text(HEADER + "a-1,1.5,2.0,500.0,\n")
    (tmp_path / "samples-b.csv").write_text(HEADER + "b-1,0.9,1.0,100.0,x\n")
    found = load(tmp_path)
    assert [s.end for s in found] == [1.0, 2.0]
    assert found[0] == Sample("b-1", 0.9, 1.0, 100.0, "x") and not found[0].ok
    with pytest.raises(PointError, match="no Locust worker"):
        load(tmp_path / "missing")


def test_completed_between_is_half_open():
    """A window [2, 4) takes answers at 2 and 3.9 but not at 4."""
    found = [Sample("u", t - 0.1, t, 100, "") for t in (1.0, 2.0, 3.9, 4.0)]
    assert [s.end for s in completed_between(found, 2.0, 4.0)] == [2.0, 3.9]


def test_an_error_message_spanning_lines_is_read_back_as_the_worker_wrote_it(tmp_path):
    """An error text with CRLF line breaks inside (an HTTP body, say), written by csv as the
    Locust workers write it, comes back unchanged: the same key in the window's errors."""
    message = "HTTPError: 500\r\n<html>\r\nInternal Server Error\r\n</html>"
    with (tmp_path / "samples-a.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user", "start_time", "end_time", "response_ms", "error"])
        writer.writerow(["a-1", "1.000000", "1.250000", "250.000", message])
        writer.writerow(["a-1", "1.250500", "1.500000", "249.500", ""])
    found = load(tmp_path)
    assert [s.error for s in found] == [message, ""]
