"""Errors keep the form: the same page comes back (422) with what was submitted, each message beside
its field (aria-invalid, aria-describedby) and a summary linking to it; nothing of the bad part is saved."""

from __future__ import annotations

import re

from sqlalchemy import select

from assessment.extensions import db
from assessment.models import Answer


def _values(app) -> dict:
    with app.app_context():
        return dict(db.session.execute(select(Answer.requirement_id, Answer.value)).all())


def _marked(html: str, field_id: str) -> str:
    """The message of the field `field_id`, checking the field is marked invalid and described by it."""
    tag = re.search(rf'<(?:input|textarea|select|fieldset)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
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
