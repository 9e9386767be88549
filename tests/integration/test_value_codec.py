"""Answer values through the web, the database and the as-of replay: one codec, so they agree."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from assessment.domain.scoring import scorecard_to_dict
from assessment.extensions import db
from assessment.models import Answer as AnswerRow
from assessment.models import Assessment
from assessment.readmodels.history import replay
from assessment.services import assessments as svc
from tests.conftest import tries
from tests.integration.helpers import autosave


def test_a_tiny_number_saved_through_the_web_shows_in_the_as_of_view(app, client, devops):
    assessment, scope = devops
    assert autosave(client, assessment, "DEP-02", "0.00001").status_code == 200
    with app.app_context():
        stored = db.session.scalar(select(AnswerRow.value).where(AnswerRow.requirement_id == "DEP-02"))
    assert stored == "0.00001"
    page = client.get(f"/scopes/{scope}/as-of")
    assert page.status_code == 200, page.get_data(as_text=True)
    assert "data-score-then>—<" not in page.get_data(as_text=True)
    questionnaire = client.get(f"/assessments/{assessment}/domains/1").get_data(as_text=True)
    assert 'value="0.00001"' in questionnaire


SAVES = st.lists(
    st.one_of(
        st.tuples(
            st.just("DEP-02"),
            st.sampled_from(["0.00001", "1e-05", "1e20", "-0", "12", "24.0", "167.999", "1e2", "na", "", "3.14159"]),
        ),
        st.tuples(st.just("CI-02"), st.sampled_from(["all", "none", "some", "na", ""])),
        st.tuples(st.just("CI-01"), st.sampled_from(["yes", "no", ""])),
    ).flatmap(lambda save: st.tuples(st.just(save[0]), st.just(save[1]), st.sampled_from(["", "a note", "another"]))),
    min_size=1,
    max_size=8,
)


@settings(max_examples=tries(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(saves=SAVES)
def test_the_as_of_replay_of_a_series_of_saves_equals_the_stored_state(app, client, devops, saves):
    assessment, _ = devops
    with app.app_context():
        revisions = dict(db.session.execute(select(AnswerRow.requirement_id, AnswerRow.revision)).all())
    for rid, value, note in saves:
        response = autosave(client, assessment, rid, value, revisions.get(rid, 0), note)
        assert response.status_code == 200, response.get_data(as_text=True)
        revisions[rid] = response.get_json()["revision"]
    with app.app_context():
        row = db.session.get(Assessment, assessment)
        stored = svc.load_state(row).card
        past = replay(row, dt.date.today() + dt.timedelta(days=1)).card
        assert [(r.id, r.value, r.answer and r.answer.note) for r in past.requirements] == [
            (r.id, r.value, r.answer and r.answer.note) for r in stored.requirements
        ]
        assert [type(r.value) for r in past.requirements] == [type(r.value) for r in stored.requirements]
        assert scorecard_to_dict(past) == scorecard_to_dict(stored)


def test_a_number_too_long_to_store_is_refused_and_nothing_is_saved(app, client, devops):
    assessment, _ = devops
    response = autosave(client, assessment, "DEP-02", "1" * 250)
    assert response.status_code == 400
    assert "at most 200 characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AnswerRow.value).where(AnswerRow.requirement_id == "DEP-02")) is None
