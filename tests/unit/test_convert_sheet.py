"""`assessment convert` on spreadsheets (CSV, XLSX): structure, levels, tags, facts, errors by row and column, the command.

The fixtures in tests/data/convert are small sheets of our own making; the XLSX workbooks are made here with openpyxl.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from assessment.cli_files import files
from assessment.domain.convert import ConversionError, convert_text
from assessment.domain.convert.names import unescape_id
from assessment.domain.convert.sheet import MAX_CELL, MAX_ROWS, looks_like_csv
from assessment.domain.loader import load_framework_text
from tests.conftest import DATA

CONVERT = DATA / "convert"
CSV = CONVERT / "tiny-sheet.csv"
SEMICOLON = CONVERT / "tiny-sheet-semicolon.csv"
FACTS = {"id": "tiny", "title": "Tiny sheet", "version": "2026.1", "source": "made for the tests", "license": "CC0"}


def convert(text: str | bytes, name: str = "sheet.csv", facts: dict | None = None) -> dict:
    import yaml

    return yaml.safe_load(convert_text(text, name, facts))


def requirements(framework: dict) -> dict[str, dict]:
    return {r["id"]: r for d in framework["domains"] for r in d["requirements"]}


def problems_of(text: str | bytes, name: str = "sheet.csv", facts: dict | None = None) -> list[str]:
    with pytest.raises(ConversionError) as caught:
        convert_text(text, name, facts)
    return [str(p) for p in caught.value.problems]


def workbook(rows: list[list], facts: list[list] | None = None, title: str = "Requirements") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if facts is not None:
        extra = book.create_sheet("framework")
        for row in facts:
            extra.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_rows(path: Path = CSV) -> list[list]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


HEADER = "id,title,domain"


def test_rows_are_requirements_grouped_into_domains_in_order_of_first_appearance():
    framework = convert(CSV.read_text(), "tiny-sheet.csv")
    assert [(d["id"], d["title"]) for d in framework["domains"]] == [("Planning", "Planning"), ("Review", "Review")]
    assert [[r["id"] for r in d["requirements"]] for d in framework["domains"]] == [
        ["PL-1", "PL-2"],
        ["RV_201_2Fa", "RV-2"],
    ]
    backlog = requirements(framework)["PL-1"]
    assert backlog == {
        "id": "PL-1",
        "title": "Backlog",
        "question": "Is a single ordered backlog kept?",
        "guidance": "Look at the tracker.",
        "level": 1,
        "weight": 2,
        "evidence": "required",
        "tags": ["iso:A.5.1", "team"],
    }
    assert requirements(framework)["PL-2"]["guidance"] == "Sizes in points\nor hours."  # a quoted cell over two lines


def test_a_level_in_any_row_makes_a_maturity_framework_with_a_floor():
    framework = convert(CSV.read_text(), "tiny-sheet.csv")
    assert framework["kind"] == "maturity"
    assert [level["number"] for level in framework["levels"]] == [0, 1, 2, 3]
    assert {r["id"]: r["level"] for r in requirements(framework).values()} == {
        "PL-1": 1,
        "PL-2": 2,
        "RV_201_2Fa": 1,
        "RV-2": 3,
    }


def test_without_levels_the_framework_is_compliance():
    framework = convert(f"{HEADER},tags\nA-1,One,Ops,x; y ;;\nA-2,Two,Ops,\n")
    assert framework["kind"] == "compliance"
    assert "levels" not in framework
    assert requirements(framework)["A-1"]["tags"] == ["x", "y"]
    assert "tags" not in requirements(framework)["A-2"]


def test_the_result_validates_and_answers_default_to_yes_no():
    text = convert_text(CSV.read_text(), "tiny-sheet.csv")
    loaded = load_framework_text(text, "out.yaml")
    reqs = {r.id: r for r in loaded.requirements}
    assert reqs["PL-1"].answer.id == "yes_no"
    assert reqs["PL-2"].answer.id == "yes_partial_no"
    assert reqs["RV-2"].question == "Retrospectives"  # no question: the title


def test_an_id_outside_the_pattern_is_escaped_reversibly_and_keeps_its_value_as_a_tag():
    review = requirements(convert(CSV.read_text()))["RV_201_2Fa"]
    assert unescape_id(review["id"]) == "RV 1/a"
    assert review["tags"] == ["sox:ITGC-CM-02", "ref:RV 1/a"]


def test_a_domain_id_column_names_the_domain_and_titles_are_escaped_otherwise():
    framework = convert(
        f"{HEADER},domain_id\nA-1,One,Build and deploy,BD\nA-2,Two,Build and deploy,BD\nB-1,x,Run it,\n"
    )
    assert [(d["id"], d["title"]) for d in framework["domains"]] == [("BD", "Build and deploy"), ("Run_20it", "Run it")]
    problems = problems_of(f"{HEADER},domain_id\nA-1,One,Build,BD\nA-2,Two,Run,BD\nA-3,x,Build,OTHER\n")
    assert problems == [
        "sheet.csv:3: domain: domain 'BD' is titled 'Build' on line 2",
        "sheet.csv:4: domain_id: domain 'Build' has the id 'BD' on line 2",
    ]


def test_the_semicolon_csv_with_a_bom_gives_the_same_framework():
    assert looks_like_csv(SEMICOLON.read_text(encoding="utf-8"))
    comma = convert_text(CSV.read_text(), "a.csv", FACTS)
    semicolon = convert_text(SEMICOLON.read_text(encoding="utf-8"), "b.csv", FACTS)
    assert comma == semicolon


def test_tab_separated_and_crlf_lines_read_the_same():
    comma = convert_text(CSV.read_text(), "a.csv", FACTS)
    tabbed = io.StringIO()
    csv.writer(tabbed, delimiter="\t", lineterminator="\r\n").writerows(csv_rows())
    assert convert_text(tabbed.getvalue(), "a.tsv", FACTS) == comma


def test_a_bad_framework_id_option_is_an_error():
    assert problems_of(f"{HEADER}\nA-1,t,d\n", "a.csv", {"id": "Not An Id"}) == [
        "a.csv:1: id: 'Not An Id' is not a framework id (lower-case letters, digits, -)"
    ]


def test_xlsx_and_csv_give_the_same_framework():
    comma = convert_text(CSV.read_text(), "a.csv", FACTS)
    assert convert_text(workbook(csv_rows()), "a.xlsx", FACTS) == comma


def test_xlsx_takes_its_facts_from_a_framework_sheet_and_options_win():
    facts = [["key", "value"], ["id", "from-sheet"], ["title", "From the sheet"], ["version", 3], ["license", "CC0"]]
    framework = convert(workbook(csv_rows(), facts), "book.xlsx")
    assert (framework["id"], framework["title"], framework["version"], framework["license"]) == (
        "from-sheet",
        "From the sheet",
        "3",
        "CC0",
    )
    assert framework["source"] == "spreadsheet book.xlsx"
    framework = convert(workbook(csv_rows(), facts), "book.xlsx", {"id": "mine"})
    assert (framework["id"], framework["title"]) == ("mine", "From the sheet")


def test_xlsx_numbers_and_booleans_are_read_as_their_text():
    rows = [["id", "title", "domain", "level", "weight", "evidence_required"], [101, "One", "Ops", 2.0, 1.5, True]]
    req = requirements(convert(workbook(rows), "book.xlsx"))["101"]
    assert (req["level"], req["weight"], req["evidence"]) == (2, 1.5, "required")


def test_facts_default_from_the_file_name():
    framework = convert(f"{HEADER}\nA-1,One,Ops\n", "some/dir/Team_Practices v2.csv")
    assert (framework["id"], framework["title"], framework["version"]) == (
        "team-practices-v2",
        "Team Practices v2",
        "1",
    )
    assert framework["source"] == "spreadsheet Team_Practices v2.csv"
    assert "license" not in framework


def test_every_problem_at_once_naming_row_and_column():
    text = (
        "id,title,domain,level,weight,answer,evidence_required\n"
        "A-1,One,Ops,1,,,\n"
        ",No id,Ops,1,,,\n"
        "A-1,Again,Ops,1,,,\n"
        "A-3,Bad level,Ops,high,,,\n"
        "A-4,No level,Ops,,,,\n"
        "A-5,Bad weight,Ops,1,-2,,\n"
        "A-6,Bad answer,Ops,1,,stars,\n"
        "A-7,Bad evidence,Ops,1,,,maybe\n"
        "A-8,,,1,,,\n" + "B" * 70 + ",Long id,Ops,1,,,\n"
    )
    assert problems_of(text) == [
        "sheet.csv:3: id: empty id",
        "sheet.csv:4: id: the id 'A-1' is also the row's on line 2; ids must be unique",
        "sheet.csv:5: level: expected a whole number from 1 (0 is the floor), found 'high'",
        "sheet.csv:6: level: empty level: when any row has a level, every row needs one",
        "sheet.csv:7: weight: expected a number above 0, found '-2'",
        "sheet.csv:8: answer: unknown answer type 'stars'; expected yes_no or yes_partial_no",
        "sheet.csv:9: evidence_required: expected yes or no, found 'maybe'",
        "sheet.csv:10: title: empty title",
        "sheet.csv:10: domain: empty domain: every row names its domain's title",
        f"sheet.csv:11: id: {'B' * 70!r} gives the id {'B' * 70!r}, not a valid id (at most 64 characters)",
    ]


def test_missing_and_unknown_columns_are_errors_on_the_header_line():
    assert problems_of("\n\nID,Title,wieght\nA,B,1\n") == [
        "sheet.csv:3: wieght: unknown column 'wieght'; the columns are id, title, domain, domain_id, question, "
        "guidance, level, weight, tags, evidence_required, answer",
        "sheet.csv:3: domain: missing the required column 'domain'",
    ]
    assert problems_of("id,title,domain,Title\nA,B,C,D\n") == ["sheet.csv:1: title: a second column of this name"]
    assert problems_of(f"{HEADER}\nA,B,C,D\n") == [
        "sheet.csv:2: $: more cells than the header's 3 columns; quote a cell holding a delimiter"
    ]


def test_xlsx_problems_name_the_sheet_and_column_with_the_row_number():
    rows = [
        ["id", "title", "domain", "weight"],
        ["A-1", "One", "Ops", "heavy"],
        [None, None, None, None],
        ["A-1", "x", "Ops"],
    ]
    assert problems_of(workbook(rows), "book.xlsx") == [
        "book.xlsx:2: Requirements.weight: expected a number above 0, found 'heavy'",
        "book.xlsx:4: Requirements.id: the id 'A-1' is also the row's on line 2; ids must be unique",
    ]
    facts = [["colour", "red"], ["id", "Not An Id"]]
    assert problems_of(workbook(rows[:2] + [["A-2", "Two", "Ops"]], facts), "book.xlsx") == [
        "book.xlsx:1: framework.colour: unknown framework fact 'colour'; known: id, title, version, source, "
        "license, description, publisher",
        "book.xlsx:2: framework.id: 'Not An Id' is not a framework id (lower-case letters, digits, -)",
        "book.xlsx:2: Requirements.weight: expected a number above 0, found 'heavy'",
    ]


def test_a_zip_that_is_not_a_workbook_and_a_sheet_without_a_header_are_refused():
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert problems_of(data.getvalue(), "x.xlsx") == [
        "x.xlsx:1: $: a zip file without xl/workbook.xml; expected a spreadsheet (CSV or XLSX with a header "
        "row of at least `id` and `title`)"
    ]
    assert "expected a spreadsheet" in problems_of(workbook([["name", "text"], ["a", "b"]]), "x.xlsx")[0]
    assert problems_of(b"PK\x03\x04broken", "x.xlsx")[0].startswith("x.xlsx:1: $: a broken zip file")
    assert problems_of(f"{HEADER}\n") == ["sheet.csv:1: $: no row under the header"]


def test_rows_and_cells_are_bounded():
    many = HEADER + "\n" + "".join(f"R-{n},t,d\n" for n in range(MAX_ROWS + 1))
    assert problems_of(many) == [f"sheet.csv:{MAX_ROWS + 2}: $: more than 20,000 rows; split the sheet"]
    long = f"{HEADER},guidance\nA-1,t,d,{'x' * (MAX_CELL + 1)}\n"
    assert problems_of(long) == ["sheet.csv:2: guidance: 20,001 characters; a cell holds at most 20,000"]


def test_options_are_only_for_spreadsheets():
    assert problems_of("urn: urn:intuitem:x\n", "lib.yaml", {"id": "x"}) == [
        "lib.yaml:1: $: --id: only for spreadsheets (CSV or XLSX)"
    ]


def run(*args: str):
    return CliRunner().invoke(files, list(args))


def test_the_command_converts_a_csv_with_options(tmp_path):
    out = tmp_path / "out.yaml"
    result = run(
        "convert", str(CSV), "-o", str(out), "--id", "tiny", "--title", "Tiny", "--version", "2", "--license", "CC0"
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr and "tiny 2, 2 domains, 4 requirements" in result.stderr
    loaded = load_framework_text(out.read_text(), str(out))
    assert (loaded.id, loaded.version, loaded.title, loaded.license) == ("tiny", "2", "Tiny", "CC0")


def test_the_command_reads_an_xlsx_as_bytes(tmp_path):
    book = tmp_path / "book.xlsx"
    book.write_bytes(workbook(csv_rows()))
    result = run("convert", str(book), "--id", "tiny", "--title", "Tiny sheet", "--version", "2026.1")
    assert result.exit_code == 0, result.output
    expected = convert_text(CSV.read_text(), "book.xlsx", {"id": "tiny", "title": "Tiny sheet", "version": "2026.1"})
    assert result.stdout == expected


def test_the_command_refuses_bad_sheets_and_options_elsewhere_with_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\nA,B\n")
    result = run("convert", str(bad), "-o", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2
    assert f"{bad}:1: domain: missing the required column 'domain'" in result.stderr
    assert not (tmp_path / "out.yaml").exists()
    result = run("convert", str(CONVERT / "tiny-library.yaml"), "--title", "x")
    assert result.exit_code == 2
    assert "--title: only for spreadsheets" in result.stderr
    result = run("convert", str(CONVERT / "tiny-samm"), "--id", "x")
    assert result.exit_code == 2
    assert "--id: only for spreadsheets" in result.stderr
