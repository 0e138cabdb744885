"""index.html's Model error section: the per-kind table and one sentence per series."""

from __future__ import annotations

import re

from loadlab.report import index
from tests.judge.test_model_error import closed_run


def section(html: str) -> str:
    found = re.search(r"<section class='model-error'>(.*?)</section>", html, re.S)
    assert found, "no Model error section"
    return found.group(1)


def test_the_model_error_section_has_a_row_per_kind_and_a_sentence_per_series(tmp_path):
    run = closed_run(tmp_path / "closed")
    run.save()
    html = index.render(run).read_text()
    body = section(html)
    assert "<h2>Model error</h2>" in body
    headings = re.findall(r"<th>(.*?)</th>", body)
    assert headings == [name for name, _ in index.MODEL_ERROR_COLUMNS]
    rows = re.findall(r"<tr><td>(.*?)</td>", body)
    assert rows == ["closed I/O", "closed CPU"]
    assert "<td>-10.0 %</td>" in body and "<td>1 unsteady</td>" in body
    assert body.count("<li>") == 2 and "from 40 users on" in body
    assert html.index("<h2>What binds</h2>") < html.index("<h2>Model error</h2>")


def test_a_run_without_a_modelled_point_has_no_section(tmp_path):
    run = closed_run(tmp_path / "closed")
    for result in list(run.points.values()):
        if result.point.endpoint != "background/sync":
            del run.points[result.point.id]
    run.save()
    assert "model-error" not in index.render(run).read_text()
