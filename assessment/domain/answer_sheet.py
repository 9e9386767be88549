"""An assessment's answers as a spreadsheet (CSV or XLSX), out and back in, for teams who answer there first.

A sheet is one requirement a row, under a header row naming the columns (any case, any order):

- `requirement` (required): the requirement's id.
- `value` (required): a value of the requirement's scale, a number for a numeric answer, or `na`;
  empty leaves the requirement unanswered.
- `note`: the answer's note.
- `evidence`: links, one a line (or separated by ` | `): `Title <https://...>` or a bare URL.
- `domain`, `title`, `question`, `allowed values`: written on export for the person answering, and
  ignored on import (so they may be edited or deleted).

Export writes every requirement of the framework in its order, answered or not; an evidence file
is not a link and is not written (it stays in the assessment). Import reads every row, checks it
against the framework and reports every problem at once, each naming the row (the CSV line or the
XLSX row number) and the column as `LETTER (header)`: an unknown requirement, a requirement given
twice, a formula where a value is read (the header, `requirement`, `value`, `note`, `evidence`:
its last computed value may be stale, or absent in a file a script wrote), a value outside the
scale, a number where a scale value is due (or the reverse), `na` where it is not allowed, an
evidence link that is not http(s). A requirement absent from the sheet is
left as it is by the caller; nothing of a sheet with problems is used.

Pure: the file's text or bytes in, `Answers` (spec section 2) out; the sheet reading is the
framework converter's (`convert.sheet`), so the same CSV dialects, limits and workbook checks apply.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from . import values
from .answers import NA, Answer, Answers, Evidence, check_value, describe_answer_spec
from .convert.sheet import Row, Table, read_sheet
from .errors import InvalidFile, Problem
from .framework import Framework

REQUIRED = ("requirement", "value")
COLUMNS = ("requirement", "value", "note", "evidence", "domain", "title", "question", "allowed values")
IGNORED = ("domain", "title", "question", "allowed values")
SHEET_TITLE = "answers"
MAX_NOTE = 10_000
MAX_LINKS = 50
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<url>[^<>\s]+)>\s*$")


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One row of an exported sheet, in the columns' order."""

    requirement: str
    value: str
    note: str
    evidence: str
    domain: str
    title: str
    question: str
    allowed: str

    def cells(self) -> list[str]:
        return [self.requirement, self.value, self.note, self.evidence, self.domain, self.title, self.question,
                self.allowed]  # fmt: skip


def rows_of(framework: Framework, answers: Answers) -> list[AnswerRow]:
    """The export's rows: every requirement of the framework in order, with its answer where there is one."""
    domains = {domain.id: domain.title for domain in framework.domains}
    found = []
    for requirement in framework.requirements:
        answer = answers.answers.get(requirement.id)
        value = "" if answer is None or answer.value is None else values.encode(answer.value) or ""
        links = [f"{item.title} <{item.url}>" for item in (answer.evidence if answer else ()) if item.url]
        allowed = describe_answer_spec(requirement)
        found.append(
            AnswerRow(
                requirement.id,
                value,
                (answer.note or "") if answer else "",
                "\n".join(links),
                domains.get(requirement.domain_id, requirement.domain_id),
                requirement.title,
                requirement.question if requirement.question != requirement.title else "",
                allowed,
            )
        )
    return found


def to_csv(framework: Framework, answers: Answers) -> str:
    """The answers as CSV text (comma-separated, a header row, UTF-8 with a BOM so spreadsheet programs read it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows_of(framework, answers):
        writer.writerow([_safe(cell) for cell in row.cells()])
    return "\ufeff" + buffer.getvalue()


def to_xlsx(framework: Framework, answers: Answers) -> bytes:
    """The answers as an XLSX workbook: one sheet `answers`, the header frozen, the columns sized."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows_of(framework, answers):
        sheet.append([_safe(cell) for cell in row.cells()])
    wrap = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGH", (16, 18, 40, 40, 24, 40, 40, 30), strict=True):
        sheet.column_dimensions[letter].width = width
        for cell in sheet[letter][1:]:
            cell.alignment = wrap
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _safe(text: str) -> str:
    """A cell's text that no spreadsheet program runs as a formula (a leading =, +, -, @ gets a quote)."""
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class _Reading:
    """One sheet's import; collects every problem before raising."""

    def __init__(self, filename: str, framework: Framework, prefix: str):
        self.filename = filename
        self.framework = framework
        self.prefix = prefix
        self.columns: dict[str, int] = {}
        self.problems: list[Problem] = []

    def error(self, line: int, column: str, message: str) -> None:
        index = self.columns.get(column)
        where = f"{_letter(index)} ({column})" if index is not None else column
        self.problems.append(Problem(self.filename, line, f"{self.prefix}{where}", message))

    def header(self, row: Row) -> None:
        for index, raw in enumerate(row.cells):
            name = raw.strip().lstrip("\ufeff").strip().lower()
            if not name:
                continue
            if name not in COLUMNS:
                shown = raw.strip()[:60]
                where = f"{_letter(index)} ({shown})"
                message = f"unknown column {shown!r}; the columns are {', '.join(COLUMNS)}"
                self.problems.append(Problem(self.filename, row.line, f"{self.prefix}{where}", message))
            elif name in self.columns:
                self.error(row.line, name, f"a second column {name!r} (the first is {_letter(self.columns[name])})")
            else:
                self.columns[name] = index

    def formulas(self, table: Table) -> None:
        """A formula where import reads a value is refused: its last computed value may be stale or absent."""
        read = {index: name for name, index in self.columns.items() if name not in IGNORED}
        for line, index, formula in table.formulas:
            if line == table.header.line or index in read:
                name = read.get(index) or table.header.cells[index].strip()[:60]
                where = f"{_letter(index)} ({name})" if name else _letter(index)
                message = f"a formula ({formula[:80]}); type the value itself"
                self.problems.append(Problem(self.filename, line, f"{self.prefix}{where}", message))

    def cell(self, row: Row, name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(row.cells):
            return ""
        text = row.cells[index].strip()
        return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@") else text

    def answer(self, row: Row) -> Answer | None:
        requirement_id = self.cell(row, "requirement")
        requirement = self.framework.requirement_index.get(requirement_id)
        if requirement is None:
            self.error(row.line, "requirement", f"no requirement {requirement_id[:80]!r} in {self.framework.id}")
            return None
        text = self.cell(row, "value")
        value: str | int | float | None = None
        if text:
            try:
                value = values.decode(text, requirement) if text != NA else NA
            except ValueError:
                value = text  # check_value says what is due
            reason = check_value(requirement, value)
            if reason is not None:
                self.error(row.line, "value", reason)
        note = self.cell(row, "note")
        if len(note) > MAX_NOTE:
            self.error(row.line, "note", f"{len(note):,} characters; a note holds at most {MAX_NOTE:,}")
        evidence = self.links(row)
        return Answer(requirement.id, value, note or None, evidence)

    def links(self, row: Row) -> tuple[Evidence, ...]:
        text = self.cell(row, "evidence")
        if not text:
            return ()
        parts = [part.strip() for line in text.splitlines() for part in line.split(" | ") if part.strip()]
        if len(parts) > MAX_LINKS:
            self.error(row.line, "evidence", f"{len(parts)} links; a row holds at most {MAX_LINKS}")
            return ()
        found = []
        for part in parts:
            match = _TITLED.match(part)
            title, url = (match["title"].strip(), match["url"]) if match else ("", part)
            if not re.match(r"https?://[^/\s]+", url, re.IGNORECASE) or len(url) > 2000 or " " in url:
                self.error(row.line, "evidence", f"{part[:80]!r}: a link is `Title <https://...>` or an http(s) URL")
                continue
            found.append(Evidence(title=title or url, url=url))
        return tuple(found)


def read_answer_sheet(data: str | bytes, filename: str, framework: Framework, base: Answers | None = None) -> Answers:
    """The answers of a sheet (CSV text or XLSX bytes) to `framework`, or InvalidFile naming every problem.

    `base` gives the answers file's other facts (scope, as-of date, target level); the result holds
    only the sheet's rows that answer, note or link something.
    """
    table = read_sheet(data, filename, required=REQUIRED, formulas=True)
    reading = _Reading(filename, framework, table.prefix)
    reading.problems.extend(table.problems)
    reading.header(table.header)
    reading.formulas(table)
    if reading.problems:
        raise InvalidFile(reading.problems)
    answers: dict[str, Answer] = {}
    first: dict[str, int] = {}
    for row in table.rows:
        answer = reading.answer(row)
        if answer is None:
            continue
        if answer.requirement_id in first:
            reading.error(
                row.line, "requirement", f"{answer.requirement_id} again (first on row {first[answer.requirement_id]})"
            )
            continue
        first[answer.requirement_id] = row.line
        if answer.value is not None or answer.note or answer.evidence:
            answers[answer.requirement_id] = answer
    if reading.problems:
        raise InvalidFile(reading.problems)
    return Answers(
        framework_id=framework.id,
        version=framework.version,
        answers=answers,
        scope=base.scope if base else None,
        as_of=base.as_of if base else None,
        target_level=base.target_level if base else None,
    )
