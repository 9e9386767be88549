"""CSV, XLSX and JSON exports of a report. Every export reads only the report model.

User text (titles, notes, owners, hypotheses) may start with a character that a spreadsheet
takes for a formula (`=HYPERLINK(...)`); CSV cells get a leading apostrophe and XLSX cells are
stored as text with Excel's quote prefix, so opening an export never runs what someone typed.

Auditors' reviews appear twice: summed up on each requirement's row (every auditor's verdict, the
most severe finding's severity, every comment, each prefixed with its auditor), and one row per
review on the workbook's Findings sheet. The score JSON is the spec's and carries no reviews.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from assessment.domain.display import STATUS_LABELS
from assessment.domain.values import number_text

from .model import BacklogEntry, Report, RequirementRow
from .review import worst_severity

# openpyxl is imported where a workbook is written, not with this module: a web worker that never writes
# one (most never do) does not carry its ~8 MB.
if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

REQUIREMENT_COLUMNS = (
    "domain_id",
    "domain_title",
    "requirement_id",
    "title",
    "level",
    "answer",
    "value",
    "status",
    "credit",
    "unsupported",
    "note",
    "evidence",
    "review",
    "severity",
    "review_comment",
)
FINDING_COLUMNS = ("requirement_id", "domain_id", "title", "auditor", "verdict", "severity", "comment", "recorded_at")
BACKLOG_COLUMNS = (
    "requirement_id",
    "title",
    "priority",
    "priority_reasons",
    "owner",
    "due_date",
    "status",
    "hypothesis",
    "outcome",
    "recommendation",
)
EVIDENCE_COLUMNS = (
    "number",
    "title",
    "requirements",
    "kind",
    "file_name",
    "url",
    "sha256",
    "size",
    "effective",
    "expires",
    "current",
)
GAP_COLUMNS = ("requirement_id", "domain_id", "title", "level", "status", "credit", "unsupported", "recommendation")
DOMAIN_COLUMNS = ("domain_id", "title", "weight", "score", "level", *STATUS_LABELS)


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could take `text` for a formula (plain numbers such as -3.5 are not)."""
    return text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(text)


def neutralise(text: str) -> str:
    """`text` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if is_formula_like(text) else text


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _review_cells(row: RequirementRow) -> tuple[str | None, str | None, str | None]:
    """A requirement's reviews in three cells: 'audrey: finding (minor); otto: verified', the most
    severe severity, and 'audrey: comment; otto: comment'."""
    if not row.findings:
        return None, None, None
    verdicts = "; ".join(f"{f.auditor}: {f.verdict}" + (f" ({f.severity})" if f.severity else "") for f in row.findings)
    comments = "; ".join(f"{f.auditor}: {f.comment}" for f in row.findings if f.comment)
    return verdicts, worst_severity(row.findings), comments or None


def _requirement_records(report: Report) -> Iterable[tuple]:
    """One tuple per requirement, in REQUIREMENT_COLUMNS order, with native values."""
    for domain_result, (_, rows) in zip(report.card.domains, report.domains, strict=True):
        for row in rows:
            r = row.result
            yield (
                domain_result.domain.id,
                domain_result.domain.title,
                r.id,
                r.requirement.title,
                r.requirement.level,
                row.answer_label,
                r.value,
                r.status,
                r.credit,
                _yes_no(r.unsupported),
                row.note,
                ", ".join(row.evidence),
                *_review_cells(row),
            )


def _backlog_records(entries: Iterable[BacklogEntry]) -> Iterable[tuple]:
    for b in entries:
        yield (
            b.requirement_id,
            b.title,
            b.priority,
            b.priority_reasons,
            b.owner,
            b.due_date,
            b.status,
            b.hypothesis,
            b.outcome,
            b.recommendation,
        )


def _finding_records(report: Report) -> Iterable[tuple]:
    requirements = report.framework.requirement_index
    for f in report.findings:
        requirement = requirements.get(f.requirement_id)
        yield (
            f.requirement_id,
            requirement.domain_id if requirement else None,
            requirement.title if requirement else None,
            f.auditor,
            f.verdict,
            f.severity,
            f.comment,
            f.recorded_at,
        )


def _evidence_records(report: Report) -> Iterable[tuple]:
    for e in report.evidence:
        kind = "file" if e.sha256 else "link"
        yield (
            e.number,
            e.title,
            ", ".join(e.requirement_ids),
            kind,
            e.file_name,
            e.url,
            e.sha256,
            e.size,
            e.effective,
            e.expires,
            _yes_no(e.current),
        )


def _gap_records(report: Report) -> Iterable[tuple]:
    for r in report.card.gaps:
        yield (
            r.id,
            r.requirement.domain_id,
            r.requirement.title,
            r.requirement.level,
            r.status,
            r.credit,
            _yes_no(r.unsupported),
            r.requirement.recommendation,
        )


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(round(value, 6), "g")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


# Excel reads a CSV file as UTF-8 only when it starts with a byte-order mark (else as the system's code page).
CSV_BOM = "\ufeff"


def to_csv(columns: Sequence[str], records: Iterable[Sequence]) -> str:
    """CSV text with a byte-order mark and a header row; None is empty, dates are ISO and formula-like
    text is neutralised."""
    out = io.StringIO()
    out.write(CSV_BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_csv_text(v) for v in record] for record in records)
    return out.getvalue()


def requirements_csv(report: Report) -> str:
    """Every requirement with its answer, status, credit, note and evidence numbers, as CSV.

    A numeric answer's value is written exactly, without exponent (0.00001), as the results page shows it.
    """
    at = REQUIREMENT_COLUMNS.index("value")
    records = (record[:at] + (_answer_value(record[at]),) + record[at + 1 :] for record in _requirement_records(report))
    return to_csv(REQUIREMENT_COLUMNS, records)


def _answer_value(value):
    return number_text(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def backlog_csv(report: Report) -> str:
    """The report's backlog as CSV."""
    return backlog_entries_csv(report.backlog)


def backlog_entries_csv(entries: Iterable[BacklogEntry]) -> str:
    """Backlog items as CSV: the one builder of `backlog.csv`, for the results page's export and the backlog page's."""
    return to_csv(BACKLOG_COLUMNS, _backlog_records(entries))


def score_json(report: Report) -> str:
    """The spec's score JSON of the report's assessment."""
    return json.dumps(report.score_json, indent=2)


# --- XLSX -----------------------------------------------------------------------------------------

_DATE_FORMAT = "yyyy-mm-dd"


def _put(ws: Worksheet, row: int, column: int, value) -> None:
    """Write one cell: numbers as numbers, dates as dates, text always as text (never a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if is_formula_like(value):
            cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    elif isinstance(value, dt.datetime):
        cell.value = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = _DATE_FORMAT
    else:
        cell.value = value


def _table(ws: Worksheet, columns: Sequence[str], records: Iterable[Sequence], start_row: int = 1) -> int:
    """A bold header row and the records below it; returns the next free row."""
    from openpyxl.styles import Font

    for column, name in enumerate(columns, start=1):
        _put(ws, start_row, column, name)
        ws.cell(row=start_row, column=column).font = Font(bold=True)
    row = start_row
    for record in records:
        row += 1
        for column, value in enumerate(record, start=1):
            _put(ws, row, column, value)
    return row + 1


def _fit_columns(ws: Worksheet, minimum: int = 8, maximum: int = 60) -> None:
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None:
                length = 10 if isinstance(cell.value, dt.date) else len(str(cell.value))
                widths[cell.column] = max(widths.get(cell.column, 0), length)
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, minimum), maximum)


def _summary_records(report: Report) -> list[tuple]:
    card, fw, meta = report.card, report.framework, report.meta
    rows = [
        ("Report id", report.id),
        ("Framework", fw.title),
        ("Framework id", fw.id),
        ("Framework version", report.version_label),
        ("Kind", fw.kind),
        ("Scope", meta.scope),
        ("As of", card.as_of),
        ("Generated at (UTC)", meta.generated_at),
        ("Status", meta.status),
        ("Prepared by", meta.prepared_by),
    ]
    review = [
        ("Submitted by", meta.submitted_by),
        ("Submitted at (UTC)", meta.submitted_at),
        ("Approved by", meta.approved_by),
        ("Approved at (UTC)", meta.approved_at),
        ("Review comment", meta.review_comment),
    ]
    rows += [(name, value) for name, value in review if value is not None]
    rows += [
        ("Score", None if card.score is None else round(card.score, 6)),
        ("Completion (%)", round(card.completion, 6)),
    ]
    if fw.is_maturity:
        rows += [("Level", card.level), ("Level name", card.level_name), ("Target level", card.target_level)]
    rows += [
        (f"Requirements {label.lower()}", count)
        for label, count in zip(STATUS_LABELS.values(), card.counts.as_dict().values(), strict=True)
    ]
    return rows


def _domain_records(report: Report) -> Iterable[tuple]:
    for d in report.card.domains:
        score = None if d.score is None else round(d.score, 6)
        yield (d.domain.id, d.domain.title, d.domain.weight, score, d.level, *d.counts.as_dict().values())


def workbook_xlsx(report: Report) -> bytes:
    """The report as one workbook: Summary, Requirements, Evidence, Gaps, Backlog and Findings sheets."""
    from openpyxl import Workbook

    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    next_row = _table(summary, ("Field", "Value"), _summary_records(report))
    _table(summary, DOMAIN_COLUMNS, _domain_records(report), start_row=next_row + 1)
    sheets = (
        ("Requirements", REQUIREMENT_COLUMNS, _requirement_records(report)),
        ("Evidence", EVIDENCE_COLUMNS, _evidence_records(report)),
        ("Gaps", GAP_COLUMNS, _gap_records(report)),
        ("Backlog", BACKLOG_COLUMNS, _backlog_records(report.backlog)),
        ("Findings", FINDING_COLUMNS, _finding_records(report)),
    )
    for title, columns, records in sheets:
        _table(wb.create_sheet(title), columns, records)
    for ws in wb.worksheets:
        ws.freeze_panes = "A2"
        _fit_columns(ws)
    generated = report.meta.generated_at
    scope = f"{report.meta.scope}: " if report.meta.scope else ""
    wb.properties.title = f"{scope}{report.framework.title} {report.version_label}"[:250]
    wb.properties.creator = "assessment"
    wb.properties.created = generated.astimezone(dt.UTC).replace(tzinfo=None) if generated.tzinfo else generated
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- OSCAL ----------------------------------------------------------------------------------------


def oscal_assessment_results_json(report: Report) -> str:
    """The report as OSCAL assessment results (reports/oscal.py), for the results page's exports."""
    from .oscal import assessment_results_json

    return assessment_results_json(report)


def oscal_poam_json(report: Report) -> str:
    """The report's gaps as an OSCAL plan of action and milestones (reports/oscal.py)."""
    from .oscal import poam_json

    return poam_json(report)
