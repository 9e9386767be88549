"""Spreadsheets (CSV or XLSX) of documented columns -> framework files of ours (format 1).

A sheet is one requirement a row, under a header row naming the columns (any case, any order):

- `id` (required): the requirement's id; a value that does not fit our id pattern is escaped
  (`names.escape_id`) and the requirement gets the tag `ref:<the value>`, as for CISO Assistant.
- `title` (required), `domain` (required: the domain's title; rows of one domain need not be
  adjacent, domains come in the order they first appear); `domain_id` (optional: else the
  domain's id is its title, escaped).
- `question`, `guidance` (texts), `level` (a whole number >= 1: the framework is a maturity
  framework when any row has one, and then every row needs one), `weight` (a number > 0),
  `tags` (`;`-separated), `evidence_required` (`yes` or `no`), `answer` (`yes_no`, the default,
  or `yes_partial_no`).

The framework's own facts (`id`, `title`, `version`, `source`, `license`, and `description`,
`publisher`) come from the command's options, else, in an XLSX workbook, from a sheet named
`framework` of key/value rows, else from the file's name.

Pure: the file's text (CSV) or bytes (XLSX) in, plain data out; every problem at once as a
`ConversionError`, each naming the row's line and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ROOT_PATH, Problem
from ..loader import FRAMEWORK_ID, ITEM_ID
from . import ConversionError, Converter
from .names import escape_id

EXPECTS = "a spreadsheet (CSV or XLSX with a header row of at least `id` and `title`)"
ZIP_SIGNATURE = b"PK\x03\x04"
WORKBOOK = "xl/workbook.xml"
FRAMEWORK_SHEET = "framework"
MAX_ROWS = 20_000
MAX_CELL = 20_000
MAX_XLSX_UNPACKED = 100 * 1024 * 1024  # what the workbook's parts may unpack to, against zip bombs
DELIMITERS = (",", ";", "\t")
REQUIRED = ("id", "title", "domain")
COLUMNS = REQUIRED + (
    "domain_id",
    "question",
    "guidance",
    "level",
    "weight",
    "tags",
    "evidence_required",
    "answer",
)
FACTS = ("id", "title", "version", "source", "license", "description", "publisher")
ANSWERS = ("yes_no", "yes_partial_no")
DEFAULT_ANSWER = "yes_no"
DEFAULT_VERSION = "1"
YES, NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")
_ID = re.compile(ITEM_ID)
_FRAMEWORK_ID = re.compile(FRAMEWORK_ID)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a sheet: its line (CSV) or row number (XLSX) and its cells as text."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A sheet read from a CSV or XLSX file: its header, its rows, and the framework's facts it was given."""

    filename: str
    header: Row
    rows: tuple[Row, ...]
    facts: Mapping[str, str] = field(default_factory=dict)  # from the command's options
    sheet_facts: Mapping[str, tuple[int, str]] = field(
        default_factory=dict
    )  # the `framework` sheet: key -> line, value
    prefix: str = ""  # "Sheet1." in a workbook: a problem's path names the sheet and the column
    problems: tuple[Problem, ...] = ()  # found while reading (a cell too long)
    formulas: tuple[tuple[int, int, str], ...] = ()  # (line, column index, formula) when read with formulas=True


def is_table(document: Any) -> bool:
    """Whether the document is a sheet read by this module."""
    return isinstance(document, Table)


def _clean(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower()


def header_delimiter(text: str, required: tuple[str, ...] = ("id", "title")) -> str | None:
    """The delimiter of a CSV text whose first non-empty line names the `required` columns, else None."""
    lines = io.StringIO(text.lstrip("\ufeff"))  # not splitlines(): a 5 MB text is read only to its header
    first = next((line for line in lines if line.strip()), "").rstrip("\r\n")
    for delimiter in DELIMITERS:
        try:
            names = {_clean(cell) for cell in next(csv.reader([first], delimiter=delimiter))}
        except (csv.Error, StopIteration):
            continue
        if set(required) <= names:
            return delimiter
    return None


def looks_like_csv(text: str) -> bool:
    """Whether a text is a CSV sheet of ours: a header row holding `id` and `title` (any case)."""
    return header_delimiter(text) is not None


def looks_like_xlsx(data: bytes) -> bool:
    """Whether bytes are a zip file (the signature `PK\\x03\\x04`); `read_xlsx` then checks for a workbook."""
    return data.startswith(ZIP_SIGNATURE)


def _too_many(filename: str, line: int) -> ConversionError:
    return ConversionError.at(filename, line, ROOT_PATH, f"more than {MAX_ROWS:,} rows; split the sheet")


def read_csv(
    text: str, filename: str, facts: Mapping[str, str] | None = None, required: tuple[str, ...] = ("id", "title")
) -> Table:
    """The sheet of a CSV text (`,`, `;` or tab between cells, UTF-8 with or without BOM), or a ConversionError.

    `required`: the columns its header row must name (an answers sheet's are `requirement` and `value`)."""
    text = text.lstrip("\ufeff")
    delimiter = header_delimiter(text, required)
    if delimiter is None:
        raise ConversionError.at(filename, 1, ROOT_PATH, f"expected {_expects(required)}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    header: Row | None = None
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            row = Row(start, tuple(cells))
            if header is None:
                header = row
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many(filename, start)
            rows.append(row)
    except csv.Error as exc:
        raise ConversionError.at(filename, reader.line_num, ROOT_PATH, f"not CSV: {exc}") from None
    assert header is not None  # header_delimiter found it
    return Table(filename, header, tuple(rows), dict(facts or {}))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _expects(required: tuple[str, ...]) -> str:
    if required == ("id", "title"):
        return EXPECTS
    return f"a spreadsheet (CSV or XLSX with a header row of at least {' and '.join(f'`{c}`' for c in required)})"


def read_xlsx(
    data: bytes,
    filename: str,
    facts: Mapping[str, str] | None = None,
    required: tuple[str, ...] = ("id", "title"),
    formulas: bool = False,
) -> Table:
    """The sheet of an XLSX workbook: its first sheet other than `framework`, and that sheet's facts.

    A formula cell reads as the value its program last computed, unless `formulas`: then the
    workbook is read for its formulas, and the table lists each formula cell (an answers sheet
    refuses them: a cached value may be stale, and openpyxl-written files have none at all)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConversionError.at(filename, 1, ROOT_PATH, f"a broken zip file: {exc}") from None
    if WORKBOOK not in names:
        raise ConversionError.at(
            filename, 1, ROOT_PATH, f"a zip file without {WORKBOOK}; expected {_expects(required)}"
        )
    if unpacked > MAX_XLSX_UNPACKED:
        message = f"the workbook unpacks to {unpacked:,} bytes; the limit is {MAX_XLSX_UNPACKED:,}"
        raise ConversionError.at(filename, 1, ROOT_PATH, message)
    import openpyxl  # here: only a workbook needs it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=not formulas)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise ConversionError.at(filename, 1, ROOT_PATH, f"not a readable XLSX workbook: {exc}") from None
    try:
        sheets = [ws for ws in book.worksheets if ws.title.strip().lower() != FRAMEWORK_SHEET]
        fact_sheets = [ws for ws in book.worksheets if ws.title.strip().lower() == FRAMEWORK_SHEET]
        if not sheets:
            raise ConversionError.at(filename, 1, ROOT_PATH, "the workbook has no sheet of requirements")
        sheet = sheets[0]
        prefix = f"{sheet.title}."
        header: Row | None = None
        rows: list[Row] = []
        found: list[tuple[int, int, str]] = []
        read = sheet.iter_rows() if formulas else sheet.iter_rows(values_only=True)  # values alone: faster
        for number, items in enumerate(read, start=1):
            values = _formula_values(items, number, found) if formulas else items
            cells = tuple(_cell_text(v) for v in values)
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = Row(number, cells)
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many(filename, number)
            rows.append(Row(number, cells))
        if header is None or not set(required) <= {_clean(c) for c in header.cells}:
            line = header.line if header else 1
            raise ConversionError.at(filename, line, prefix.rstrip("."), f"expected {_expects(required)}")
        sheet_facts: dict[str, tuple[int, str]] = {}
        problems: list[Problem] = []
        if fact_sheets:
            sheet_facts, problems = _read_facts(fact_sheets[0], filename)
    finally:
        book.close()
    return Table(filename, header, tuple(rows), dict(facts or {}), sheet_facts, prefix, tuple(problems), tuple(found))


def _formula_values(cells: Any, line: int, found: list[tuple[int, int, str]]) -> list[Any]:
    """A row's values, each formula cell's as its formula text, noted in `found` as (line, column, formula)."""
    values = []
    for index, cell in enumerate(cells):
        value = getattr(cell, "value", None)
        if getattr(cell, "data_type", None) == "f":
            value = str(getattr(value, "text", None) or value)  # an array formula is an object holding its text
            found.append((line, index, value))
        values.append(value)
    return values


def _read_facts(sheet: Any, filename: str) -> tuple[dict[str, tuple[int, str]], list[Problem]]:
    facts: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=2), start=1):
        if number > 100:
            problems.append(Problem(filename, number, sheet.title, "more than 100 rows of framework facts"))
            break
        key, value = (_cell_text(v).strip() for v in (tuple(values) + (None, None))[:2])
        if not key or (number == 1 and key.lower() == "key"):
            continue
        path = f"{sheet.title}.{key}"[:100]
        if key.lower() not in FACTS:
            known = ", ".join(FACTS)
            problems.append(Problem(filename, number, path, f"unknown framework fact {key[:60]!r}; known: {known}"))
        elif key.lower() in facts:
            problems.append(Problem(filename, number, path, f"given twice (also on row {facts[key.lower()][0]})"))
        elif len(value) > MAX_CELL:
            problems.append(Problem(filename, number, path, f"more than {MAX_CELL:,} characters"))
        elif value:
            facts[key.lower()] = (number, value)
    return facts, problems


def read_sheet(
    data: str | bytes,
    filename: str,
    facts: Mapping[str, str] | None = None,
    required: tuple[str, ...] = ("id", "title"),
    formulas: bool = False,
) -> Table:
    """The sheet of a CSV text or an XLSX workbook's bytes, or a ConversionError (`formulas`: see read_xlsx)."""
    if isinstance(data, bytes):
        if not looks_like_xlsx(data):
            raise ConversionError.at(filename, 1, ROOT_PATH, f"expected {_expects(required)}")
        return read_xlsx(data, filename, facts, required, formulas)
    return read_csv(data, filename, facts, required)


def _stem(filename: str) -> str:
    name = re.split(r"[\\/]", filename)[-1]
    return name.rsplit(".", 1)[0] if "." in name.strip(".") else name


class _Conversion:
    """One sheet's conversion; collects every problem before raising."""

    def __init__(self, table: Table):
        self.table = table
        self.filename = table.filename
        self.problems: list[Problem] = list(table.problems)
        self.columns: dict[str, int] = {}

    def error(self, line: int, column: str, message: str) -> None:
        path = self.table.prefix.rstrip(".") if column == ROOT_PATH else f"{self.table.prefix}{column}"
        self.problems.append(Problem(self.filename, line, path or ROOT_PATH, message))

    def read_header(self) -> None:
        header = self.table.header
        for index, raw in enumerate(header.cells):
            name = _clean(raw)
            if not name:
                continue
            if name not in COLUMNS:
                shown = raw.strip()[:60]
                self.error(header.line, shown, f"unknown column {shown!r}; the columns are {', '.join(COLUMNS)}")
            elif name in self.columns:
                self.error(header.line, name, "a second column of this name")
            else:
                self.columns[name] = index
        for name in REQUIRED:
            if name not in self.columns:
                self.error(header.line, name, f"missing the required column {name!r}")

    def cell(self, row: Row, name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(row.cells):
            return ""
        value = row.cells[index].strip()
        if len(value) > MAX_CELL:
            self.error(row.line, name, f"{len(value):,} characters; a cell holds at most {MAX_CELL:,}")
            return ""
        return value

    def run(self) -> dict[str, Any]:
        known = len(self.problems)
        self.read_header()
        if len(self.problems) > known:  # without the columns, the rows say nothing
            raise ConversionError(self.problems)
        if not self.table.rows:
            raise ConversionError.at(self.filename, self.table.header.line, ROOT_PATH, "no row under the header")
        result = self.header()
        maturity = any(self.cell(row, "level") for row in self.table.rows)
        domains = self.domains(maturity)
        if maturity:
            top = max(
                (r["level"] for d in domains for r in d["requirements"] if isinstance(r.get("level"), int)), default=1
            )
            result["kind"] = "maturity"
            result["levels"] = [{"number": 0, "name": "Level 0", "description": "The floor: nothing is needed."}] + [
                {"number": n, "name": f"Level {n}"} for n in range(1, top + 1)
            ]
        result["defaults"] = {"answer": DEFAULT_ANSWER, "evidence": "optional", "na_allowed": True}
        result["domains"] = domains
        if self.problems:
            raise ConversionError(list(dict.fromkeys(self.problems)))
        return result

    def fact(self, key: str) -> str | None:
        given = (self.table.facts.get(key) or "").strip()
        if given:
            return given
        found = self.table.sheet_facts.get(key)
        return found[1] if found else None

    def header(self) -> dict[str, Any]:
        stem = _stem(self.filename)
        given_id = self.fact("id")
        slug = given_id or re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:63].rstrip("-") or "sheet"
        if not _FRAMEWORK_ID.match(slug):
            line = self.table.sheet_facts.get("id", (1, ""))[0]
            where = (
                f"{FRAMEWORK_SHEET}.id" if "id" in self.table.sheet_facts and not self.table.facts.get("id") else "id"
            )
            self.problems.append(
                Problem(
                    self.filename, line, where, f"{slug[:80]!r} is not a framework id (lower-case letters, digits, -)"
                )
            )
        title = self.fact("title") or re.sub(r"[-_]+", " ", stem).strip() or slug
        result: dict[str, Any] = {
            "format": 1,
            "id": slug,
            "version": self.fact("version") or DEFAULT_VERSION,
            "title": title,
            "kind": "compliance",
        }
        for key in ("description", "publisher", "license"):
            value = self.fact(key)
            if value:
                result[key] = value
        basename = re.split(r"[\\/]", self.filename)[-1]
        result["source"] = self.fact("source") or f"spreadsheet {basename}"
        return result

    def domains(self, maturity: bool) -> list[dict[str, Any]]:
        domains: dict[str, dict[str, Any]] = {}  # domain id -> domain, in order of first appearance
        titles: dict[str, tuple[str, int]] = {}  # domain id -> its title and the row that gave it
        ids_of_title: dict[str, tuple[str, int]] = {}  # title -> its domain id and the row
        seen: dict[str, int] = {}  # requirement id -> its row's line
        for row in self.table.rows:
            requirement = self.requirement(row, maturity, seen)
            title = self.cell(row, "domain")
            if not title:
                self.error(row.line, "domain", "empty domain: every row names its domain's title")
                continue
            raw_id = self.cell(row, "domain_id")
            domain_id = raw_id or title
            domain_id = domain_id if _ID.match(domain_id) else escape_id(domain_id)
            if not _ID.match(domain_id):
                self.error(
                    row.line,
                    "domain_id" if raw_id else "domain",
                    f"{(raw_id or title)[:80]!r} gives the domain id {domain_id[:80]!r}, which is not a valid id "
                    "(at most 64 characters); give a shorter domain_id",
                )
                continue
            if domain_id in titles and titles[domain_id][0] != title:
                other, line = titles[domain_id]
                self.error(row.line, "domain", f"domain {domain_id!r} is titled {other!r} on line {line}")
                continue
            if title in ids_of_title and ids_of_title[title][0] != domain_id:
                other, line = ids_of_title[title]
                self.error(row.line, "domain_id", f"domain {title!r} has the id {other!r} on line {line}")
                continue
            titles.setdefault(domain_id, (title, row.line))
            ids_of_title.setdefault(title, (domain_id, row.line))
            domain = domains.setdefault(domain_id, {"id": domain_id, "title": title, "requirements": []})
            if requirement is not None:
                domain["requirements"].append(requirement)
        return [d for d in domains.values() if d["requirements"]]

    def requirement(self, row: Row, maturity: bool, seen: dict[str, int]) -> dict[str, Any] | None:
        known = len(self.problems)
        raw = self.cell(row, "id")
        title = self.cell(row, "title")
        width = len(self.table.header.cells)
        if any(cell.strip() for cell in row.cells[width:]):
            self.error(
                row.line, ROOT_PATH, f"more cells than the header's {width} columns; quote a cell holding a delimiter"
            )
        rid = ""
        if not raw:
            self.error(row.line, "id", "empty id")
        else:
            rid = raw if _ID.match(raw) else escape_id(raw)
            if not _ID.match(rid):
                self.error(
                    row.line,
                    "id",
                    f"{raw[:80]!r} gives the id {rid[:80]!r}, not a valid id (at most 64 characters)",
                )
            elif rid in seen:
                self.error(row.line, "id", f"the id {rid!r} is also the row's on line {seen[rid]}; ids must be unique")
            else:
                seen[rid] = row.line
        if not title:
            self.error(row.line, "title", "empty title")
        requirement: dict[str, Any] = {"id": rid, "title": title}
        for key in ("question", "guidance"):
            value = self.cell(row, key)
            if value:
                requirement[key] = value
        level = self.cell(row, "level")
        if maturity:
            if not level:
                self.error(row.line, "level", "empty level: when any row has a level, every row needs one")
            elif not re.fullmatch(r"[0-9]{1,3}", level) or int(level) < 1:
                self.error(row.line, "level", f"expected a whole number from 1 (0 is the floor), found {level[:40]!r}")
            else:
                requirement["level"] = int(level)
        weight = self.cell(row, "weight")
        if weight:
            number = _number(weight)
            if number is None or not 0 < number <= 1_000_000:
                self.error(row.line, "weight", f"expected a number above 0, found {weight[:40]!r}")
            else:
                requirement["weight"] = int(number) if number.is_integer() else number
        answer = self.cell(row, "answer")
        if answer and answer.lower() != DEFAULT_ANSWER:
            if answer.lower() not in ANSWERS:
                self.error(row.line, "answer", f"unknown answer type {answer[:40]!r}; expected {' or '.join(ANSWERS)}")
            else:
                requirement["answer"] = answer.lower()
        evidence = self.cell(row, "evidence_required").lower()
        if evidence in YES:
            requirement["evidence"] = "required"
        elif evidence and evidence not in NO:
            self.error(row.line, "evidence_required", f"expected yes or no, found {evidence[:40]!r}")
        tags = [t.strip() for t in self.cell(row, "tags").split(";") if t.strip()]
        if raw and rid != raw:
            tags.append(f"ref:{raw}")
        if tags:
            requirement["tags"] = list(dict.fromkeys(tags))
        return requirement if len(self.problems) == known else None


def _number(text: str) -> float | None:
    if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,6})?|\.[0-9]{1,6}", text):
        return None
    return float(text)


def convert_table(document: Any, filename: str = "<text>") -> dict[str, Any]:
    """The framework document (plain data, format 1) of a sheet, or a ConversionError with every problem."""
    if not is_table(document):
        raise ConversionError.at(filename, 1, ROOT_PATH, f"expected {EXPECTS}")
    return _Conversion(document).run()


CONVERTER = Converter(name="spreadsheet", expects=EXPECTS, detect=is_table, convert=convert_table)
