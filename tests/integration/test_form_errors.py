"""Errors keep the form: the same page comes back (422) with what was submitted, each message beside
its field (aria-invalid, aria-describedby) and a summary linking to it; nothing of the bad part is saved."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Answer, Evidence, ReviewFinding


def _values(app) -> dict:
    with app.app_context():
        return dict(db.session.execute(select(Answer.requirement_id, Answer.value)).all())


def _marked(html: str, field_id: str) -> str:
    """The message of the field `field_id`, checking the field is marked invalid and described by it."""
    tag = re.search(rf'<(?:input|textarea|select|fieldset|button)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert tag, f"no field {field_id}"
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    assert f'aria-describedby="{field_id}-error"' in tag.group(0), tag.group(0)
    message = re.search(rf'<span class="field-error" id="{re.escape(field_id)}-error">([^<]*)</span>', html)
    assert message, f"no message for {field_id}"
    assert f'href="#{field_id}"' in html, "the summary links to the field"
    return message.group(1)


def test_a_bad_number_keeps_the_page_and_the_good_answers_are_saved(app, client, devops):
    assessment, _ = devops
    response = client.post(
        f"/assessments/{assessment}/domains/1",
        data={
            "DEP-01": "yes",
            "note/DEP-01": "scripted",
            "rev/DEP-01": "0",
            "DEP-02": "fast",
            "note/DEP-02": "my note",
            "rev/DEP-02": "0",
            "go": "2",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "is not a number" in _marked(html, "answer-DEP-02")
    assert 'value="fast"' in html and "my note" in html  # what was typed comes back, note included
    assert 'role="alert"' in html
    # the message sits right after the number field, before the bands and the note box
    assert html.index('id="answer-DEP-02-error"') < html.index('id="note-DEP-02"')
    assert html.index('id="answer-DEP-02"') < html.index('id="answer-DEP-02-error"')
    assert "Back to the scopes" not in html
    assert _values(app) == {"DEP-01": "yes"}


def _evidence_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Evidence))


def test_an_empty_evidence_form_comes_back_with_its_message(app, client, devops):
    assessment, _ = devops
    url = f"/assessments/{assessment}/requirements/CI-01/evidence"
    response = client.post(url, data={"title": "Pipeline config", "effective": "2026-01-01"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose a file or give a link" in _marked(html, "ev-file")
    assert 'value="Pipeline config"' in html and 'value="2026-01-01"' in html
    assert "Back to the scopes" not in html and "Add evidence" in html
    assert _evidence_count(app) == 0


def test_a_bad_evidence_link_and_dates_are_marked_and_nothing_is_stored(app, client, devops):
    assessment, _ = devops
    url = f"/assessments/{assessment}/requirements/CI-01/evidence"
    response = client.post(url, data={"url": "ftp://x", "title": "T"})
    assert response.status_code == 422 and "http:// or https://" in _marked(response.get_data(as_text=True), "ev-url")
    response = client.post(
        url, data={"url": "https://wiki.example.com/x", "effective": "2026-05-01", "expires": "2026-01-01"}
    )
    assert response.status_code == 422 and "before the effective date" in _marked(
        response.get_data(as_text=True), "ev-expires"
    )
    response = client.post(url, data={"url": "https://wiki.example.com/x", "expires": "soon"})
    assert response.status_code == 422 and "is not a date" in _marked(response.get_data(as_text=True), "ev-expires")
    assert _evidence_count(app) == 0
    response = client.post(url, data={"url": "https://wiki.example.com/x", "title": "Wiki"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Evidence #\d+ attached to CI-01: https://wiki.example.com/x", page)


def _submitted(app, client, devops, as_user):
    """The devops assessment, answered in part and submitted (confirmed) by alice; the lead reviews it."""
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    alice = as_user("alice")
    alice.post(
        f"/assessments/{assessment}/answers/CI-02",
        data={"value": "most", "revision": "0"},
        headers={"X-Requested-With": "fetch"},
    )
    assert alice.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    return assessment


def _status(app, assessment: int) -> str:
    from assessment.models import Assessment

    with app.app_context():
        status = db.session.get(Assessment, assessment).status
        db.session.remove()
        return status


def test_a_finding_without_severity_keeps_the_form(app, client, devops, as_user):
    assessment = _submitted(app, client, devops, as_user)
    audrey = as_user("audrey")
    client.post(f"/assessments/{assessment}/shares", data={"username": "audrey"})
    response = audrey.post(
        f"/assessments/{assessment}/findings",
        data={"requirement_id": "CI-02", "verdict": "finding", "severity": "", "comment": "No pipeline logs"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "needs a severity" in _marked(html, "finding-severity")
    assert "No pipeline logs</textarea>" in html
    assert '<option value="CI-02" selected>' in html and 'value="finding" checked' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReviewFinding)) == 0


def test_returning_without_a_comment_keeps_the_page(app, client, devops, as_user):
    assessment = _submitted(app, client, devops, as_user)
    response = as_user("lead").post(f"/assessments/{assessment}/return", data={"comment": "  ", "confirm": "1"})
    assert response.status_code == 422
    assert "needs a comment" in _marked(response.get_data(as_text=True), "return-comment")
    assert _status(app, assessment) == "submitted"


def test_a_bad_period_start_keeps_the_page(app, client, devops):
    assessment, _ = devops
    response = client.post(f"/assessments/{assessment}/period", data={"period_start": "2026-13-45"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "is not a date" in _marked(html, "period-start") and 'value="2026-13-45"' in html


def test_a_bad_new_user_keeps_the_form_but_not_the_password(app, client):
    page = client.get("/users").get_data(as_text=True)
    assert '<option selected value="member">' in page  # the least privileged role by default
    response = client.post(
        "/users",
        data={"username": "Bad Name!", "display_name": "Dana Smith", "role": "lead", "password": "long enough pw"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "lower-case letters" in _marked(html, "user-username")
    assert 'value="Dana Smith"' in html and '<option selected value="lead">' in html
    assert "long enough pw" not in html
    response = client.post("/users", data={"username": "dana", "role": "member", "password": "short"})
    assert response.status_code == 422 and "at least 10" in _marked(response.get_data(as_text=True), "user-password")


def test_a_bad_import_file_comes_back_on_the_scope_page(app, client, devops):
    import io

    from assessment.models import Assessment

    _, scope = devops
    response = client.post(
        f"/scopes/{scope}/import",
        data={"file": (io.BytesIO(b"not: [valid"), "answers.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _marked(html, "upload-answers")
    assert "Import as a new assessment" in html and "Start an assessment" in html
    response = client.post(f"/scopes/{scope}/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose an answers" in _marked(
        response.get_data(as_text=True), "upload-answers"
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_an_undefined_target_level_keeps_the_start_form(app, client, devops):
    from tests.integration.helpers import example_version

    _, scope = devops
    version = example_version(app)
    response = client.post(
        f"/scopes/{scope}/assessments", data={"framework_version": version, "target_level": "9", "as_of": "2026-06-30"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Target level 9 is not a level" in _marked(html, "start-target")
    assert 'value="9"' in html and 'value="2026-06-30"' in html


def test_submitting_with_carried_over_answers_keeps_the_results_page(app, client, devops):
    first, _ = devops
    client.post(
        f"/assessments/{first}/answers/CI-01",
        data={"value": "yes", "revision": "0"},
        headers={"X-Requested-With": "fetch"},
    )
    response = client.post(f"/assessments/{first}/next-cycle", data={"as_of": "2027-05-21"})
    second = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    response = client.post(f"/assessments/{second}/submit", data={"confirm": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # a button is described by the message (aria-invalid is for fields a person fills in)
    assert '<button type="submit" id="submit-button" aria-describedby="submit-button-error">' in html
    assert re.search(r'<span class="field-error" id="submit-button-error">[^<]*still carried over', html)
    assert f'href="/assessments/{second}/domains/0"' in html and "Results" in html
    assert _status(app, second) == "draft"


def test_a_bad_revision_keeps_that_answer_back_and_saves_the_other(app, client, devops):
    assessment, _ = devops
    response = client.post(
        f"/assessments/{assessment}/domains/0", data={"CI-01": "no", "CI-02": "most", "rev/CI-02": "x"}
    )
    assert response.status_code == 422
    assert "is not a whole number" in _marked(response.get_data(as_text=True), "answer-CI-02")
    assert _values(app) == {"CI-01": "no"}


def test_an_error_page_leads_back_to_the_assessment_or_scope(app, client, devops, as_user):
    assessment, scope = devops
    response = client.post(f"/assessments/{assessment}/requirements/CI-01/evidence/reuse", data={"evidence_id": "x"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<a href="/assessments/{assessment}/results">Back to the assessment</a>' in html
    response = client.post(f"/scopes/{scope}/members", data={"username": "nobody"})
    assert response.status_code == 404 and f'<a href="/scopes/{scope}">Back to Payments</a>' in response.get_data(
        as_text=True
    )
    # someone who may not read the assessment is not told it exists: only the scopes
    response = as_user("bob").get(f"/assessments/{assessment}/results")
    assert response.status_code == 404 and "Back to the assessment" not in response.get_data(as_text=True)
