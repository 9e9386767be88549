"""Answers as a spreadsheet on the web: the download, and an upload saved whole or not at all."""

from __future__ import annotations

import io
import json

import openpyxl
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Answer, AuditEntry, EvidenceLink
from tests.integration.helpers import autosave


def post_sheet(client, assessment: int, data: bytes, name: str = "answers.csv"):
    return client.post(
        f"/assessments/{assessment}/answers/sheet",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def stored(app, assessment: int) -> dict:
    with app.app_context():
        rows = db.session.execute(
            select(Answer.requirement_id, Answer.value, Answer.note).where(Answer.assessment_id == assessment)
        )
        return {rid: (value, note) for rid, value, note in rows}


def links(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(EvidenceLink))


def test_the_sheet_downloads_with_every_requirement_and_the_stored_answers(app, client, devops):
    assessment, _ = devops
    assert autosave(client, assessment, "CI-01", "yes", note="Pipelines on every repo").status_code == 200
    response = client.get(f"/assessments/{assessment}/answers.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].endswith('-answers.xlsx"')
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data))["answers"].iter_rows(values_only=True))
    assert rows[1][:3] == ("CI-01", "yes", "Pipelines on every repo")
    csv = client.get(f"/assessments/{assessment}/answers.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert client.get(f"/assessments/{assessment}/answers.ods").status_code == 404
    with app.app_context():
        files = [
            json.loads(e.after)["file"]
            for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.downloaded"))
        ]
    assert files == ["answers.xlsx", "answers.csv"]
    results = client.get(f"/assessments/{assessment}/results").get_data(True)
    assert f'href="/assessments/{assessment}/answers.xlsx"' in results


def test_an_uploaded_sheet_saves_values_notes_and_links_and_is_on_the_trail(app, client, devops):
    assessment, _ = devops
    assert autosave(client, assessment, "CI-02", "some", note="kept").status_code == 200
    before = links(app)
    sheet = (
        b"requirement,value,note,evidence\n"
        b"CI-01,yes,From the sheet,Pipeline docs <https://wiki.example.com/ci>\n"
        b"CI-02,,,\n"  # empty cells leave what is stored
        b"DEP-02,36.5,,https://wiki.example.com/lead-time | https://wiki.example.com/ci\n"
    )
    response = post_sheet(client, assessment, sheet)
    assert response.status_code == 303, response.get_data(True)
    answers = stored(app, assessment)
    assert answers["CI-01"] == ("yes", "From the sheet")
    assert answers["CI-02"] == ("some", "kept")
    assert answers["DEP-02"] == ("36.5", None)
    assert links(app) == before + 3
    again = post_sheet(client, assessment, sheet)  # the same sheet again: nothing new, no link twice
    assert again.status_code == 303 and links(app) == before + 3
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "answers.sheet_imported")).all()
    assert [json.loads(e.after) for e in entries] == [
        {"file": "answers.csv", "rows": 2, "saved": 2, "links": 3},
        {"file": "answers.csv", "rows": 2, "saved": 0, "links": 0},
    ]


def test_a_sheet_with_a_problem_changes_nothing_and_names_each_cell(app, client, devops):
    assessment, _ = devops
    before, count = stored(app, assessment), links(app)
    sheet = b"requirement,value,evidence\nCI-01,yes,https://wiki.example.com/ok\nCI-02,maybe,\nNOPE,yes,\n"
    response = post_sheet(client, assessment, sheet, "bad.csv")
    assert response.status_code == 422
    html = response.get_data(True)
    assert "bad.csv was not imported: 2 problems; nothing was changed." in html
    assert "bad.csv:3: B (value): expected one of" in html
    assert "bad.csv:4: A (requirement): no requirement &#39;NOPE&#39;" in html
    assert stored(app, assessment) == before and links(app) == count
    assert post_sheet(client, assessment, b"\x89PNG\r\n\x1a\n\xff\xfe", "x.csv").status_code == 422
    assert post_sheet(client, assessment, b"PK\x03\x04broken", "x.xlsx").status_code == 422
    big = b"requirement,value\n" + b"CI-01,yes\n" * 600_000
    assert "the limit is" in post_sheet(client, assessment, big).get_data(True)
    assert stored(app, assessment) == before


def test_only_the_team_imports_and_an_outsider_sees_nothing(app, as_user, devops):
    assessment, _ = devops
    sheet = b"requirement,value\nCI-01,yes\n"
    assert post_sheet(as_user("otto"), assessment, sheet).status_code == 404
    assert as_user("otto").get(f"/assessments/{assessment}/answers.csv").status_code == 404
    assert post_sheet(as_user("lead"), assessment, sheet).status_code == 403
    assert stored(app, assessment) == {}


def test_a_submitted_assessment_takes_no_sheet(app, client, devops):
    assessment, _ = devops
    assert autosave(client, assessment, "CI-01", "no").status_code == 200
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code in (302, 303)
    response = post_sheet(client, assessment, b"requirement,value\nCI-01,yes\n")
    assert response.status_code == 409
    assert stored(app, assessment)["CI-01"] == ("no", None)
