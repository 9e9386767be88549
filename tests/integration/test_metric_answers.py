"""Metric-fed answers with provenance (issue 17, point 4): an assessment of a delivery service takes its
metric questions from the scope's delivery events over its period, keeps the events behind them as one
evidence file, shows where each value came from, and lets a person override a value only with a note."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile

import pytest
from sqlalchemy import select

from assessment.extensions import db, report_store
from assessment.models import Answer, Assessment, AuditEntry, Evidence, EvidenceLink, Scope
from assessment.services import delivery
from assessment.services import reports as report_svc
from assessment.services.metric_answers import OVERRIDE_NEEDS_NOTE
from tests.conftest import EXAMPLES
from tests.integration.helpers import autosave, make_scope, stored_keys, version_id
from tests.integration.test_reports_web import request

EXAMPLE = EXAMPLES / "delivery" / "checkout.events.jsonl"
EXPECTED = json.loads((EXAMPLES / "delivery" / "checkout.expected.json").read_text())
CHECKOUT = next(s for s in EXPECTED["services"] if s["service"] == "checkout")
METRICS = {  # the shipped devops framework's four key-metric questions
    "DDM-KM-03": "deployment_frequency",
    "DDM-KM-04": "lead_time",
    "DDM-KM-05": "change_failure_rate",
    "DDM-KM-06": "time_to_restore",
}
FRAMEWORK = "devops-delivery-maturity"


def _start(client, scope: int, version: int, service: str = "checkout", period: str = "2026-11-01"):
    return client.post(
        f"/scopes/{scope}/assessments",
        data={
            "framework_version": version,
            "target_level": "",
            "as_of": "2026-11-30",
            "period_start": period,
            "delivery_service": service,
        },
    )


@pytest.fixture
def world(app, client):
    """A scope holding the spec's example events and an assessment of its service checkout over the example's
    window (2026-11-01 to 2026-11-30): (assessment id, scope id, domain index of the key metrics)."""
    scope = make_scope(client)
    with app.app_context():
        delivery.add_file(db.session.get(Scope, scope), EXAMPLE.name, EXAMPLE.read_bytes(), source="api", actor="admin")
        db.session.commit()
    version = version_id(app, FRAMEWORK)
    response = _start(client, scope, version)
    assert response.status_code == 302, response.get_data(as_text=True)
    assessment = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    page = client.get(f"/assessments/{assessment}/domains/0").get_data(as_text=True)
    titles = re.findall(r'name="go" value="(\d+)" class="link"[^>]*>([^<]+)<', page)
    index = next(int(i) for i, title in titles if "metric" in title.lower())
    return assessment, scope, index


def _answers(app, assessment: int) -> dict[str, Answer]:
    with app.app_context():
        rows = db.session.scalars(select(Answer).where(Answer.assessment_id == assessment)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.requirement_id: row for row in rows}


def _snapshot_bytes(app, scope: int) -> bytes:
    with app.app_context():
        return "".join(body + "\n" for body in delivery.scope_bodies(scope)).encode()


def test_the_start_form_offers_the_scopes_services(app, client, world):
    _, scope, _ = world
    page = client.get(f"/scopes/{scope}").get_data(as_text=True)
    assert 'name="delivery_service"' in page
    assert '<option value="checkout"' in page and '<option value="search"' in page
    assert '<option value="" selected>none</option>' in page  # two services: none chosen by default
    empty = make_scope(client, "No data")
    assert 'name="delivery_service"' not in client.get(f"/scopes/{empty}").get_data(as_text=True)


def test_the_spec_example_fills_exactly_its_expected_figures(app, world):
    assessment, _, _ = world
    answers = _answers(app, assessment)
    for rid, metric in METRICS.items():
        assert float(answers[rid].value) == pytest.approx(CHECKOUT[metric], abs=1e-6), rid
        provenance = json.loads(answers[rid].measured)
        assert provenance["metric"] == metric and provenance["service"] == "checkout"
        assert (provenance["from"], provenance["to"]) == ("2026-11-01", "2026-11-30")
        assert provenance["deployments"] == CHECKOUT["deployments"]
        assert answers[rid].overridden is False
    assert json.loads(answers["DDM-KM-04"].measured)["basis"] == CHECKOUT["changes"]
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "answers.measured")).one()
        after = json.loads(entry.after)
        assert (after["measured"], after["cleared"], after["overridden_kept"]) == (4, 0, 0)
        assert entry.assessment_id == assessment and entry.actor == "admin"


def test_the_questionnaire_and_results_show_provenance_link_and_snapshot_hash(app, client, world):
    assessment, scope, index = world
    sha = hashlib.sha256(_snapshot_bytes(app, scope)).hexdigest()
    link = f"/scopes/{scope}/delivery/checkout?as_of=2026-11-30"
    sentence = "Lead time for changes measured from 3 changes, service checkout, window 2026-11-01 to 2026-11-30"
    page = client.get(f"/assessments/{assessment}/domains/{index}").get_data(as_text=True)
    assert sentence in page and link in page and sha in page
    assert "Deployment frequency measured from 3 deployments" in page
    assert "Refresh from delivery data" in page
    results = client.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    assert sentence in results and link in results and sha in results
    assert "Refresh from delivery data" in results


def test_the_snapshot_is_one_linked_evidence_file_reused_on_a_second_refresh(app, client, world):
    assessment, scope, _ = world
    data = _snapshot_bytes(app, scope)
    sha = hashlib.sha256(data).hexdigest()
    with app.app_context():
        item = db.session.scalars(select(Evidence).where(Evidence.source == "delivery")).one()
        assert item.sha256 == sha and item.size == len(data) and item.scope_id == scope
        assert item.original_name == "delivery-events-checkout-2026-11-01-2026-11-30.jsonl"
        linked = set(db.session.scalars(select(EvidenceLink.requirement_id).where(EvidenceLink.evidence_id == item.id)))
        assert linked == set(METRICS)
        assert (
            json.loads(db.session.scalar(select(Answer.measured).where(Answer.requirement_id == "DDM-KM-03")))["sha256"]
            == sha
        )
    assert f"{sha[:2]}/{sha}" in stored_keys(app)
    assert client.get(f"/evidence/{item.id}/download").data == data
    before = _answers(app, assessment)
    response = client.post(f"/assessments/{assessment}/delivery/refresh")
    assert response.status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(Evidence).where(Evidence.source == "delivery")).all()) == 1
        assert len(db.session.scalars(select(EvidenceLink).where(EvidenceLink.assessment_id == assessment)).all()) == 4
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "answers.measured")).all()) == 2
    after = _answers(app, assessment)
    assert {r: (a.value, a.revision) for r, a in after.items()} == {r: (a.value, a.revision) for r, a in before.items()}


def test_an_override_without_a_note_is_refused_and_changes_nothing(app, client, world):
    assessment, _, index = world
    before = _answers(app, assessment)["DDM-KM-04"]
    response = client.post(
        f"/assessments/{assessment}/domains/{index}",
        data={"DDM-KM-04": "8", "note/DDM-KM-04": "", "rev/DDM-KM-04": str(before.revision), "go": str(index)},
    )
    assert response.status_code == 422
    assert OVERRIDE_NEEDS_NOTE in response.get_data(as_text=True)
    response = autosave(client, assessment, "DDM-KM-04", "8", before.revision)
    assert response.status_code == 400 and OVERRIDE_NEEDS_NOTE in response.get_data(as_text=True)
    after = _answers(app, assessment)["DDM-KM-04"]
    assert (after.value, after.note, after.revision, after.overridden) == (before.value, None, before.revision, False)


def _override(client, app, assessment: int, value: str = "8", note: str = "The pipeline misses hotfixes"):
    revision = _answers(app, assessment)["DDM-KM-04"].revision
    response = autosave(client, assessment, "DDM-KM-04", value, revision, note=note)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_an_override_with_a_note_is_marked_on_pages_and_in_the_report(app, client, world):
    assessment, _, index = world
    _override(client, app, assessment)
    answer = _answers(app, assessment)["DDM-KM-04"]
    assert (answer.value, answer.overridden) == ("8", True)
    assert json.loads(answer.measured)["value"] == 5.0  # the measured value and provenance are kept
    marked = "Overridden: measured 5 hours, answered 8 hours"
    assert marked in client.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    page = client.get(f"/assessments/{assessment}/domains/{index}").get_data(as_text=True)
    assert marked in page and "The pipeline misses hotfixes" in page
    with app.app_context():
        report = report_svc.report_for(db.session.get(Assessment, assessment), report_store(app).evidence)
        rows = {row.requirement.id: row for _, rows in report.domains for row in rows}
        assert rows["DDM-KM-04"].measured.overridden == marked
        assert rows["DDM-KM-04"].note == "The pipeline misses hotfixes"
        assert rows["DDM-KM-03"].measured.overridden is None
        assert rows["DDM-KM-03"].measured.sentence.startswith("Deployment frequency measured from 3 deployments")
        snapshot = [e for e in report.evidence if e.origin == "delivery"]
        assert len(snapshot) == 1 and set(snapshot[0].requirement_ids) == set(METRICS)
        assert snapshot[0].source is not None  # the bundle packs its bytes
        section = report.delivery  # the assessed service's delivery section, over the assessment period
        assert section is not None and section.service == "checkout"
        assert section.window_text == "2026-11-01 to 2026-11-30 (30 days)"
        assert {row.metric: row.value_text for row in section.rows}["lead_time"] == "5.0 h"


def test_saving_the_measured_value_again_ends_the_override(app, client, world):
    assessment, _, _ = world
    _override(client, app, assessment)
    _override(client, app, assessment, value="5.0", note="")
    answer = _answers(app, assessment)["DDM-KM-04"]
    assert (answer.value, answer.overridden) == ("5.0", False)


def test_a_refresh_keeps_overrides_and_says_so(app, client, world):
    assessment, _, _ = world
    _override(client, app, assessment)
    with app.app_context():  # a measured answer a refresh is to measure again
        db.session.execute(
            Answer.__table__.update()
            .where(Answer.assessment_id == assessment, Answer.requirement_id == "DDM-KM-03")
            .values(value="99.0")
        )
        db.session.commit()
    response = client.post(f"/assessments/{assessment}/delivery/refresh", follow_redirects=True)
    assert "3 answers measured from delivery data, 1 overridden answer kept." in response.get_data(as_text=True)
    answers = _answers(app, assessment)
    assert (answers["DDM-KM-04"].value, answers["DDM-KM-04"].overridden) == ("8", True)
    assert float(answers["DDM-KM-03"].value) == pytest.approx(CHECKOUT["deployment_frequency"])
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "answers.measured").order_by(AuditEntry.seq)
        ).all()
        assert json.loads(entries[-1].after)["overridden_kept"] == 1


def test_a_metric_without_a_value_leaves_a_measured_answer_unanswered(app, client, world):
    assessment, _, _ = world
    with app.app_context():  # the period after checkout's last deployment: no lead time, no restore time
        from assessment.services import assessments as svc

        svc.set_period_start(db.session.get(Assessment, assessment), __import__("datetime").date(2026, 11, 25))
        db.session.commit()
    assert client.post(f"/assessments/{assessment}/delivery/refresh").status_code == 302
    answers = _answers(app, assessment)
    assert answers["DDM-KM-04"].value is None and answers["DDM-KM-04"].measured is None
    with app.app_context():
        linked = set(
            db.session.scalars(select(EvidenceLink.requirement_id).where(EvidenceLink.assessment_id == assessment))
        )
        assert "DDM-KM-04" not in linked


def test_a_submitted_assessment_refuses_a_refresh(app, client, world):
    assessment, _, _ = world
    with app.app_context():
        db.session.get(Assessment, assessment).status = "submitted"
        db.session.commit()
    before = _answers(app, assessment)
    response = client.post(f"/assessments/{assessment}/delivery/refresh")
    assert response.status_code == 409
    assert {r: a.revision for r, a in _answers(app, assessment).items()} == {r: a.revision for r, a in before.items()}
    assert "Refresh from delivery data" not in client.get(f"/assessments/{assessment}/results").get_data(as_text=True)


def test_another_scopes_user_may_not_refresh(app, as_user, world):
    assessment, _, _ = world
    for name in ("alice", "audrey"):
        assert as_user(name).post(f"/assessments/{assessment}/delivery/refresh").status_code in (403, 404)


def test_an_unknown_service_is_refused_at_start(app, client, world):
    _, scope, _ = world
    with app.app_context():
        count = len(db.session.scalars(select(Assessment)).all())
    response = _start(client, scope, version_id(app, FRAMEWORK), service="billing")
    assert response.status_code == 422
    assert "name no service &#39;billing&#39;" in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Assessment)).all()) == count


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_pdf_and_the_bundle_carry_the_override_and_the_snapshot(app, client, world, tmp_path):
    assessment, scope, _ = world
    app.config["REPORTS_SYNC"] = True
    _override(client, app, assessment)
    job = request(client, assessment, "pdf")
    path = tmp_path / "report.pdf"
    path.write_bytes(client.get(f"/reports/{job}/download").data)
    text = " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "Overridden: measured 5 hours, answered 8 hours" in text
    assert "measured from 3 deployments" in text
    assert "Delivery metrics" in text and "Service checkout, window 2026-11-01 to 2026-11-30 (30 days)" in text
    assert "Lead time for changes, checkout: control chart of the weekly values" in text
    data = _snapshot_bytes(app, scope)
    bundle = request(client, assessment, "bundle")
    with zipfile.ZipFile(io.BytesIO(client.get(f"/reports/{bundle}/download").data)) as archive:
        assert any(archive.read(name) == data for name in archive.namelist() if not name.endswith("/"))


def test_a_batch_of_answers_follows_the_same_override_rule(app, world):
    from assessment.services import assessments as svc
    from assessment.services.answer_batch import InvalidAnswers, Submitted, save_answers

    assessment, _, _ = world
    revision = _answers(app, assessment)["DDM-KM-04"].revision
    with app.app_context():
        row = db.session.get(Assessment, assessment)
        framework = svc.framework_of(row.framework_version)
        with pytest.raises(InvalidAnswers) as refused:
            save_answers(row, framework, [Submitted("DDM-KM-04", "8", None, revision)], "admin")
        assert [(r.field, r.message) for r in refused.value.refusals] == [("note", f"DDM-KM-04: {OVERRIDE_NEEDS_NOTE}")]
        db.session.rollback()
        save_answers(row, framework, [Submitted("DDM-KM-04", "8", "Hotfixes bypass the pipeline", revision)], "admin")
        db.session.commit()
    answer = _answers(app, assessment)["DDM-KM-04"]
    assert (answer.value, answer.overridden, json.loads(answer.measured)["value"]) == ("8", True, 5.0)


def test_the_next_cycle_keeps_the_service_and_measures_its_new_period_again(app, client, world):
    assessment, _, _ = world
    _override(client, app, assessment)
    response = client.post(f"/assessments/{assessment}/next-cycle", data={"as_of": "2026-12-10"})
    assert response.status_code == 302, response.get_data(as_text=True)
    following = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    with app.app_context():
        row = db.session.get(Assessment, following)
        assert row.delivery_service == "checkout" and row.period_from.isoformat() == "2026-09-11"
    answers = _answers(app, following)
    assert (answers["DDM-KM-04"].value, answers["DDM-KM-04"].overridden) == ("8", True)  # the override carries
    km03 = json.loads(answers["DDM-KM-03"].measured)
    assert (km03["from"], km03["to"]) == ("2026-09-11", "2026-12-10")  # measured again over the new period
    assert answers["DDM-KM-03"].carried_over is False
