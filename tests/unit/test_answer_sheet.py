"""Answers as spreadsheets: export and import agree for every shipped framework, and every problem names its cell."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from assessment.cli_files import files
from assessment.domain.answer_sheet import COLUMNS, read_answer_sheet, to_csv, to_xlsx
from assessment.domain.answers import Answer, Answers, Evidence, read_answers_file
from assessment.domain.errors import InvalidFile
from assessment.domain.loader import load_framework_file

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "frameworks").glob("*.yaml"))
EXAMPLES = ROOT / "tests" / "data" / "spec-examples"


def some_answers(framework) -> Answers:
    """A few answers of every kind: a scale value, a number, na, a note with a comma and a line break, links."""
    found = {}
    for index, requirement in enumerate(framework.requirements[:12]):
        if requirement.is_numeric:
            value = (3, 2.5)[index % 2]
        elif index % 5 == 4 and requirement.na_allowed:
            value = "na"
        else:
            options = requirement.answer.options
            value = options[index % len(options)].value
        note = f"Row {index}, checked\nby the team" if index % 3 == 0 else None
        evidence = (
            (Evidence(title=f"Wiki page {index}", url=f"https://wiki.example.com/p/{index}?a=1&b=2"),)
            if index % 2 == 0
            else ()
        )
        found[requirement.id] = Answer(requirement.id, value, note, evidence)
    return Answers(framework.id, framework.version, found)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_export_then_import_gives_the_same_answers(path, kind):
    framework = load_framework_file(path)
    answers = some_answers(framework)
    data = to_csv(framework, answers) if kind == "csv" else to_xlsx(framework, answers)
    back = read_answer_sheet(data, f"answers.{kind}", framework)
    assert back.answers == answers.answers


def test_the_export_lists_every_requirement_with_what_it_may_be_answered():
    framework = load_framework_file(ROOT / "frameworks" / "sox-itgc.yaml")
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(framework, Answers(framework.id, framework.version))))
    rows = list(book["answers"].iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert [row[0] for row in rows[1:]] == [r.id for r in framework.requirements]
    assert rows[1][7] == "one of effective, exceptions, design_only, not_in_place, or na"
    assert book["answers"].freeze_panes == "A2"


def test_a_cell_that_would_run_as_a_formula_is_written_as_text_and_read_back_as_given():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    first = framework.requirements[0].id
    answers = Answers(framework.id, framework.version, {first: Answer(first, "yes", '=HYPERLINK("x")')})
    text = to_csv(framework, answers)
    assert "'=HYPERLINK" in text
    assert read_answer_sheet(text, "a.csv", framework).answers[first].note == '=HYPERLINK("x")'


def problems(text: str, framework, name: str = "answers.csv") -> list[str]:
    with pytest.raises(InvalidFile) as caught:
        read_answer_sheet(text, name, framework)
    return [str(problem) for problem in caught.value.problems]


def test_every_problem_names_its_row_and_column():
    framework = load_framework_file(EXAMPLES / "devops-delivery.yaml")
    numeric = next(r for r in framework.requirements if r.is_numeric)
    scale = next(r for r in framework.requirements if not r.is_numeric and r.na_allowed)
    strict = next((r for r in framework.requirements if not r.na_allowed), None)
    lines = [
        "requirement,note,value,evidence",
        "NOPE-1,,yes,",
        f"{scale.id},,maybe,",
        f"{numeric.id},,fast,",
        f"{scale.id},,yes,",
        f"{framework.requirements[-1].id},,,ftp://files.example.com/x",
    ]
    if strict is not None:
        lines.append(f"{strict.id},,na,")
    found = problems("\n".join(lines) + "\n", framework)
    assert found[0] == f"answers.csv:2: A (requirement): no requirement 'NOPE-1' in {framework.id}"
    assert found[1].startswith("answers.csv:3: C (value): expected one of ")
    assert found[2].startswith("answers.csv:4: C (value): a number is due")
    assert found[3] == f"answers.csv:5: A (requirement): {scale.id} again (first on row 3)"
    assert found[4].startswith("answers.csv:6: D (evidence): 'ftp://files.example.com/x': a link is")
    if strict is not None:
        assert found[5].startswith("answers.csv:7: C (value): na is not allowed")


def test_a_sheet_without_the_required_columns_or_with_an_unknown_one_is_refused():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    assert "a header row of at least `requirement` and `value`" in problems("id,title\nAC-01,x\n", framework)[0]
    found = problems("requirement,value,colour\nAC-01,yes,red\n", framework)
    assert found == ["answers.csv:1: C (colour): unknown column 'colour'; the columns are " + ", ".join(COLUMNS)]


def test_an_xlsx_problem_names_the_sheet_row_and_column():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Mine"
    sheet.append(["requirement", "value"])
    sheet.append(["AC-01", "sometimes"])
    buffer = io.BytesIO()
    book.save(buffer)
    found = problems(buffer.getvalue(), framework, "mine.xlsx")
    assert found[0].startswith("mine.xlsx:2: Mine.B (value): expected one of yes, partial, no")


def test_a_formula_where_a_value_is_read_is_refused_naming_its_cell():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["requirement", "value", "title", "note"])
    sheet.append(["AC-01", '=IF(TRUE,"yes","no")', '=UPPER("a title")', "plain"])  # no cached value: read as blank
    sheet.append(["AC-02", "no", "", "=1+1"])
    buffer = io.BytesIO()
    book.save(buffer)
    found = problems(buffer.getvalue(), framework, "f.xlsx")
    assert found == [
        'f.xlsx:2: Sheet.B (value): a formula (=IF(TRUE,"yes","no")); type the value itself',
        "f.xlsx:3: Sheet.D (note): a formula (=1+1); type the value itself",
    ]  # the title column is only context: its formula is no problem
    sheet["B2"], sheet["D3"] = "yes", "two"
    buffer = io.BytesIO()
    book.save(buffer)
    back = read_answer_sheet(buffer.getvalue(), "f.xlsx", framework)
    assert {rid: (a.value, a.note) for rid, a in back.answers.items()} == {
        "AC-01": ("yes", "plain"),
        "AC-02": ("no", "two"),
    }


def test_a_number_where_a_scale_value_is_due_names_its_cell():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    found = problems("requirement,value\nAC-01,3\n", framework)
    assert found == ["answers.csv:2: B (value): expected one of yes, partial, no, or na; got the string '3'"]


def test_not_a_workbook_is_refused():
    framework = load_framework_file(EXAMPLES / "itgc-mini.yaml")
    assert "a broken zip file" in problems(b"PK\x03\x04garbage", framework, "x.xlsx")[0]


def run(*args: str):
    return CliRunner().invoke(files, list(args))


def test_the_commands_export_a_sheet_and_import_it_into_an_answers_file(tmp_path):
    framework_path = EXAMPLES / "itgc-mini.yaml"
    framework = load_framework_file(framework_path)
    sheet = tmp_path / "answers.xlsx"
    result = run("answers", "export", str(framework_path), str(EXAMPLES / "itgc-mini.answers.yaml"), "-o", str(sheet))
    assert result.exit_code == 0, result.output
    out = tmp_path / "answers.yaml"
    result = run("answers", "import", str(framework_path), str(sheet), "-o", str(out), "--scope", "Payments")
    assert result.exit_code == 0, result.output
    back = read_answers_file(out, framework)
    original = read_answers_file(EXAMPLES / "itgc-mini.answers.yaml", framework)
    assert back.scope == "Payments"
    assert {k: a.value for k, a in back.answers.items()} == {
        k: a.value for k, a in original.answers.items() if a.value is not None
    }
    assert [e.url for a in back.answers.values() for e in a.evidence] == [
        e.url for a in original.answers.values() for e in a.evidence if e.url
    ]


def test_a_bad_sheet_exits_2_naming_its_cells_and_writes_nothing(tmp_path):
    sheet = tmp_path / "bad.csv"
    sheet.write_text("requirement,value\nAC-01,sometimes\nZZ,yes\n")
    out = tmp_path / "answers.yaml"
    result = run("answers", "import", str(EXAMPLES / "itgc-mini.yaml"), str(sheet), "-o", str(out))
    assert result.exit_code == 2
    assert f"{sheet}:2: B (value): expected one of yes, partial, no" in result.stderr
    assert f"{sheet}:3: A (requirement): no requirement 'ZZ'" in result.stderr
    assert not out.exists()
    result = run("answers", "export", str(EXAMPLES / "itgc-mini.yaml"), "-o", str(tmp_path / "x.ods"))
    assert result.exit_code == 2 and "-o must end in .csv or .xlsx" in result.stderr
