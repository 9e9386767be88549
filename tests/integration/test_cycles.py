"""Cycles: the next assessment starts from the last one; carried-over answers wait for confirmation;
evidence is judged again at the new date; a newer framework version lists what changed; the
backlog follows what each approved cycle measured."""

from __future__ import annotations

import re

from sqlalchemy import select

from assessment.domain.loader import load_framework_text
from assessment.extensions import db
from assessment.models import Answer, Assessment, BacklogEvent, BacklogItem
from assessment.services.library import store_framework
from tests.conftest import EXAMPLES
from tests.integration.helpers import autosave
from tests.integration.test_evidence import upload


def next_cycle(client, assessment: int, as_of: str, version: int | None = None) -> int:
    data = {"as_of": as_of}
    if version is not None:
        data["framework_version"] = str(version)
    response = client.post(f"/assessments/{assessment}/next-cycle", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))


def answers(app, assessment: int) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(Answer.requirement_id, Answer.value, Answer.carried_over).where(Answer.assessment_id == assessment)
        ).all()
        return {r.requirement_id: (r.value, r.carried_over) for r in rows}


def approve(client, as_user, assessment: int) -> None:
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    response = as_user("lead").post(f"/assessments/{assessment}/approve", data={"confirm": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_next_cycle_carries_answers_until_confirmed(app, client, devops):
    first, _ = devops
    autosave(client, first, "CI-01", "yes")
    autosave(client, first, "CI-02", "most", note="Most services")
    second = next_cycle(client, first, "2027-05-21")
    assert answers(app, second) == {"CI-01": ("yes", True), "CI-02": ("most", True)}
    page = client.get(f"/assessments/{second}/domains/0").get_data(as_text=True)
    assert page.count("data-carried") == 2 and "Confirm the 2 carried-over answers" in page
    # submitting is refused while answers are unconfirmed
    refused = client.post(f"/assessments/{second}/submit", data={"confirm": "1"})
    assert refused.status_code == 422 and "still carried over" in refused.get_data(as_text=True)
    # changing one confirms it; the page button confirms the rest
    assert autosave(client, second, "CI-02", "all", revision=1).status_code == 200
    assert answers(app, second)["CI-02"] == ("all", False)
    assert client.post(f"/assessments/{second}/domains/0/confirm").status_code == 302
    assert answers(app, second) == {"CI-01": ("yes", False), "CI-02": ("all", False)}
    assert answers(app, first) == {"CI-01": ("yes", False), "CI-02": ("most", False)}  # the old cycle is untouched
    with app.app_context():
        assert db.session.get(Assessment, second).previous_id == first


def test_saving_a_carried_answer_unchanged_confirms_it(app, client, devops):
    first, _ = devops
    autosave(client, first, "CI-01", "yes")
    second = next_cycle(client, first, "2027-05-21")
    assert autosave(client, second, "CI-01", "yes", revision=1).json["outcome"] == "saved"
    assert answers(app, second)["CI-01"] == ("yes", False)


def test_expired_evidence_stops_counting_in_the_next_cycle(app, client, devops):
    first, _ = devops
    autosave(client, first, "CI-01", "yes")
    upload(client, first, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline", expires="2027-01-31")
    assert "data-unsupported hidden" in _status_of(client, first, "CI-01")
    second = next_cycle(client, first, "2027-05-21")
    block = _status_of(client, second, "CI-01")
    assert "data-unsupported hidden" not in block  # claimed, but the only evidence expired before the new date
    results = client.get(f"/assessments/{second}/results").get_data(as_text=True)
    assert "CI-01" in results and "Unsupported" in results


def _status_of(client, assessment: int, rid: str) -> str:
    page = client.get(f"/assessments/{assessment}/domains/0").get_data(as_text=True)
    start = page.index(f'id="req-{rid}"')
    return page[start : page.index("</article>", start)]


def test_a_newer_framework_version_lists_added_and_removed_requirements(app, client, devops):
    first, _ = devops
    autosave(client, first, "CI-01", "yes")
    autosave(client, first, "CI-03", "yes")
    text = (EXAMPLES / "devops-delivery.yaml").read_text()
    changed = text.replace('version: "2026.1"', 'version: "2027.1"').replace("id: CI-03", "id: CI-04")
    with app.app_context():
        row, _ = store_framework(load_framework_text(changed), changed, "devops-delivery.yaml")
        db.session.commit()
        version = row.id
    response = client.post(
        f"/assessments/{first}/next-cycle", data={"as_of": "2027-05-21", "framework_version": version}
    )
    assert response.status_code == 302
    flash = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 requirement(s) new in this version, 1 removed" in flash
    second = int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))
    assert answers(app, second) == {"CI-01": ("yes", True)}
    results = client.get(f"/assessments/{second}/results").get_data(as_text=True)
    assert "Started from the assessment as of 2026-11-21" in results
    assert re.search(r"data-added>New in this version of the framework: <code>CI-04</code>", results)
    assert re.search(r"data-removed>No longer in this version \(not carried over\): <code>CI-03</code>", results)


def test_backlog_items_are_achieved_and_reopened_by_approved_cycles(app, client, as_user, devops):
    first, _ = devops
    autosave(client, first, "CI-02", "none")  # gap: will improve
    autosave(client, first, "CI-03", "no")  # gap: marked done by the team, still a gap next time
    client.post(f"/assessments/{first}/backlog/generate")
    with app.app_context():
        items = {i.requirement_id: i.id for i in db.session.scalars(select(BacklogItem))}
    client.post(
        f"/assessments/{first}/backlog/{items['CI-03']}", data={"status": "done", "outcome": "Quarantine added"}
    )
    approve(client, as_user, first)
    second = next_cycle(client, first, "2027-05-21")
    autosave(client, second, "CI-02", "all", revision=1)
    client.post(f"/assessments/{second}/domains/0/confirm")
    client.post(f"/assessments/{second}/domains/1/confirm")
    approve(client, as_user, second)
    with app.app_context():
        ci02, ci03 = (db.session.get(BacklogItem, items[k]) for k in ("CI-02", "CI-03"))
        assert (ci02.status, str(ci02.achieved_on)) == ("done", "2027-05-21")
        assert (ci03.status, ci03.achieved_on) == ("plan", None)
        kinds = db.session.scalars(
            select(BacklogEvent.kind).where(BacklogEvent.item_id == items["CI-03"]).order_by(BacklogEvent.id)
        ).all()
        assert kinds == ["created", "changed", "reopened"]
    page = client.get(f"/assessments/{second}/backlog").get_data(as_text=True)
    assert "data-achieved" in page and "data-reopened" in page and "Quarantine added" in page


def two_cycles(app, client, devops) -> tuple[int, int]:
    """CI-02 improves, CI-01 regresses (its evidence expires before the second as-of date)."""
    first, _ = devops
    autosave(client, first, "CI-01", "yes")
    upload(client, first, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline", expires="2027-01-31")
    autosave(client, first, "CI-02", "some")
    second = next_cycle(client, first, "2027-05-21")
    autosave(client, second, "CI-02", "all", revision=1)
    return first, second


def test_comparison_shows_improvements_regressions_and_domain_deltas(app, client, devops):
    first, second = two_cycles(app, client, devops)
    page = client.get(f"/assessments/{second}/compare").get_data(as_text=True)
    assert 'data-requirement="CI-02" data-kind="improved"' in page
    assert 'data-requirement="CI-01" data-kind="regressed"' in page
    assert 'data-count="improved">1<' in page and 'data-count="regressed">1<' in page
    assert re.search(r'data-domain="CI">.*?data-domain-delta>[+-]\d', page, re.S)
    # the same comparison from the other side, chosen explicitly
    assert 'data-kind="improved"' in client.get(f"/assessments/{first}/compare?other={second}").get_data(as_text=True)
    assert client.get(f"/assessments/{first}/compare").status_code == 404  # no earlier cycle


def test_trend_page_draws_every_cycle(app, client, devops):
    first, second = two_cycles(app, client, devops)
    _, scope = devops
    page = client.get(f"/scopes/{scope}/trends").get_data(as_text=True)
    assert "<svg" in page and "2026-11-21" in page and "2027-05-21" in page
    assert page.count("data-trend-score") == 2
    framework = client.get("/library/devops-delivery/trends").get_data(as_text=True)
    assert "<svg" in framework and "2026-Q4" in framework and "2027-Q2" in framework


def test_as_of_view_replays_the_trail(app, client, devops):
    first, _ = devops
    _, scope = devops
    autosave(client, first, "CI-02", "all")
    with app.app_context():
        from assessment.models import AuditEntry

        # Pretend the answer was saved long ago: rewrite the entry's time (only this test does such a thing).
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "answer.saved")).one()
        entry.at = "2020-01-01T10:00:00.000000+00:00"
        started = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "assessment.started")).one()
        started.at = "2020-01-01T09:00:00.000000+00:00"
        db.session.get(Assessment, first).created_at = __import__("datetime").datetime(2020, 1, 1, 9, 0)
        db.session.commit()
    autosave(client, first, "CI-02", "none", revision=1)
    then = client.get(f"/scopes/{scope}/as-of?date=2020-06-30").get_data(as_text=True)
    now = client.get(f"/scopes/{scope}/as-of").get_data(as_text=True)
    score_then = re.search(r"data-score-then>([\d.—]+)<", then).group(1)
    score_now = re.search(r"data-score-then>([\d.—]+)<", now).group(1)
    assert float(score_then) > float(score_now)
    assert "had no assessment yet" in client.get(f"/scopes/{scope}/as-of?date=2019-12-31").get_data(as_text=True)
