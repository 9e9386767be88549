"""A stored assessment's answers as a spreadsheet, and a filled-in sheet saved into it.

The sheet's columns and checks are the domain's (`domain/answer_sheet.py`); this module reads the
stored answers for an export and saves an import through the same rules as the answer form and
the API's PATCH (`answer_batch.save_answers`: every answer valid or none saved, the trail entry
of each changed answer), then attaches the sheet's new links as evidence (`evidence.add_link`,
source "import"), all in the caller's one transaction.

An import never takes away: a row's empty value or note leaves what is stored, a requirement the
sheet leaves out is left as it is, and a link already attached to the requirement is not added
again. A sheet with any problem changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import values
from ..domain.answer_sheet import read_answer_sheet, to_csv, to_xlsx
from ..domain.answers import Answers
from ..domain.errors import InvalidFile, Problem
from ..models import Assessment
from . import audit, evidence
from .answer_batch import InvalidAnswers, Submitted, save_answers
from .assessments import domain_answers, load_state

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"xlsx": XLSX_TYPE, "csv": "text/csv"}
MAX_SHEET_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SheetImport:
    """What an imported sheet changed."""

    rows: int  # requirements the sheet answered, noted or linked
    saved: int  # answers whose value or note changed
    links: int  # evidence links attached


def export_sheet(assessment: Assessment, kind: str) -> bytes:
    """The assessment's answers as an XLSX workbook or CSV text (every requirement, answered or not)."""
    state = load_state(assessment)
    answers = Answers(
        state.framework.id, state.framework.version, domain_answers(state.framework, state.rows, state.evidence)
    )
    if kind == "xlsx":
        return to_xlsx(state.framework, answers)
    return to_csv(state.framework, answers).encode("utf-8")


def sheet_name(assessment: Assessment, kind: str) -> str:
    """The download's file name: scope, framework, as-of date."""
    from .transfer import export_name

    return f"{export_name(assessment)}-answers.{kind}"


def import_sheet(assessment: Assessment, filename: str, data: bytes, user: str) -> SheetImport:
    """Save a filled-in sheet's answers and links into the assessment, or InvalidFile naming every problem.

    Editability and the answer rules are checked by `save_answers` and `add_link` inside this
    transaction; the caller has checked that `user` may answer.
    """
    if len(data) > MAX_SHEET_BYTES:
        message = f"the file is {len(data):,} bytes; the limit is {MAX_SHEET_BYTES:,} (5 MB)"
        raise InvalidFile([Problem(filename, 1, "$", message)])
    state = load_state(assessment)
    source: str | bytes = data
    if not data.startswith(b"PK\x03\x04"):
        try:
            source = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InvalidFile([Problem(filename, line, "$", "not UTF-8 text, nor an XLSX workbook")]) from None
    sheet = read_answer_sheet(source, filename, state.framework)
    submitted = []
    for rid, answer in sheet.answers.items():
        row = state.rows.get(rid)
        value = values.encode(answer.value) if answer.value is not None else (row.value if row else None)
        note = answer.note if answer.note is not None else (row.note if row else None)
        submitted.append(Submitted(rid, value, note, row.revision if row else 0))
    try:
        results = save_answers(assessment, state.framework, submitted, user)
    except InvalidAnswers as error:  # a rule past the sheet's own checks (a measured value overridden without a note)
        raise InvalidFile([Problem(filename, 1, r.requirement_id, r.message) for r in error.refusals]) from None
    links = 0
    for rid, answer in sheet.answers.items():
        have = {item.url for item in state.evidence.get(rid, ()) if item.url}
        for item in answer.evidence:
            if item.url in have:
                continue
            evidence.add_link(assessment, rid, item.url, item.title, None, None, user, source="import")
            have.add(item.url)
            links += 1
    saved = sum(1 for result in results if result.outcome == "saved")
    summary = {"file": filename, "rows": len(sheet.answers), "saved": saved, "links": links}
    audit.about(assessment, "answers.sheet_imported", "assessment", str(assessment.id), after=summary)
    return SheetImport(len(sheet.answers), saved, links)
