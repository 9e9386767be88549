"""The report's long tables stay cheap to lay out (issue 13, point 7): WeasyPrint's time goes by the
table cell and the line, so the rows a report has by the thousand keep few cells (see
bench/report-speed.md). Read from the print HTML, which the PDF's documents are made of."""

from __future__ import annotations

import dataclasses
import re

from reports.render import Part, _groups, render_html, trail_lines
from reports.review import trail_entry
from reports.sources import report_from_files
from tests.conftest import EXAMPLES


def _rows(html: str, table_class: str) -> list[str]:
    tables = re.findall(rf'<table class="[^"]*\b{table_class}\b[^"]*">.*?</table>', html, flags=re.S)
    assert tables, table_class
    return [row for table in tables for row in re.findall(r"<tbody>.*?</tbody>", table, flags=re.S)[0].split("<tr")[1:]]


def _report():
    framework, answers = EXAMPLES / "devops-delivery.yaml", EXAMPLES / "devops-delivery.answers.yaml"
    trail = tuple(
        trail_entry(n + 1, "2026-11-19T09:00:00+00:00", "alice", "answer.saved", "answer", f"4/CI-0{n % 3 + 1}",
                    '{"value": "no"}', '{"value": "yes"}')
        for n in range(30)
    )  # fmt: skip
    return dataclasses.replace(report_from_files(framework, answers), trail=trail)


def test_requirement_gap_and_trail_rows_keep_few_cells():
    html = render_html(_report())
    assert all(row.count("<td") == 5 for row in _rows(html, "detail"))  # was 7
    assert all(row.count("<td") == 4 for row in _rows(html, "gaps"))  # was 6 with levels
    trail = _rows(html, "trail-lines")
    assert len(trail) == 30 and all(row.count("<td") == 1 for row in trail)  # was 6
    assert "Met (Yes)" in html  # the status carries its answer


def test_trail_lines_are_aligned_and_fit_their_width():
    entries = [
        trail_entry(7, "2026-11-19T09:00:00+00:00", "alice", "answer.saved", "answer", "4/CI-01",
                    '{"value": "no", "note": null}', '{"value": "yes", "note": "' + "long note " * 40 + '"}'),
        trail_entry(12345, "2026-11-20T14:05:00+00:00", "lead", "assessment.approved", "assessment", "4",
                    '{"status": "submitted"}', '{"status": "approved"}'),
    ]  # fmt: skip
    head, lines = trail_lines(entries, width=100)
    assert all(len(line) <= 100 for line in [head, *lines])
    assert head.index("Action") == lines[0].index("answer.saved") == lines[1].index("assessment.approved")
    assert head.index("Change") == lines[0].index("value:") == lines[1].index("status:")
    assert lines[0].startswith("    7 2026-11-19 09:00:00 alice answer.saved")
    assert 'value: "no" → "yes"' in lines[0]  # not lost behind the long note
    assert "…" in lines[0] and lines[1].endswith('status: "submitted" → "approved"')


def test_trail_parts_weigh_a_sixth_of_a_table_row_when_documents_are_shared():
    details = [Part("detail", items=list(range(240))) for _ in range(2)]
    trail = [Part("trail", items=list(range(480))) for _ in range(3)]
    parts = [*details, *trail]
    assert [part.weight for part in parts] == [240, 240, 80, 80, 80]
    groups = _groups(parts, list(range(5)), dict.fromkeys(range(5), 1), parallel=True)
    assert groups == [[0], [1], [2, 3, 4]]  # the three trail parts make one document, as much work as 240 rows
