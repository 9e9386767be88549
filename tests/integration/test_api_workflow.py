"""/api/v1 review, backlog, reports and trail: the web's rules and trail entries, under the token's owner.

The world is the authorization matrix's (build_world): scope Alpha with alice, a draft shared with audrey,
a submitted assessment (alice submitted it), a backlog item, a rendered PDF job and an import job.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assessment.domain.trail import FIELDS, entry_hash
from assessment.extensions import db
from assessment.models import Assessment, AuditEntry
from tests.integration.test_api import token_for
from tests.integration.test_authorization import build_world


def _trail(app, after: int = 0) -> list[tuple[str, str]]:
    """(actor, action) of the trail's entries after entry number `after`."""
    with app.app_context():
        rows = db.session.execute(select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.seq > after)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def _head(app) -> int:
    with app.app_context():
        seq = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
        db.session.remove()
    return seq


def _status(app, assessment_id: int) -> str:
    with app.app_context():
        status = db.session.get(Assessment, assessment_id).status
        db.session.remove()
    return status


def _pointers(response) -> list[str]:
    assert response.mimetype == "application/problem+json", response.get_data(True)
    return [error["pointer"] for error in response.json.get("errors", [])]


# --- review -------------------------------------------------------------------------------------------


def test_submit_then_return_with_a_comment_then_approve(app, anonymous):
    world = build_world(app)
    alice, lead, admin = token_for(app, "alice"), token_for(app, "lead"), token_for(app, "admin")
    start = _head(app)
    submitted = anonymous.post(f"/api/v1/assessments/{world.draft}/submit", headers=alice)
    assert submitted.status_code == 200 and submitted.json["status"] == "submitted"
    assert _trail(app, start) == [("alice", "assessment.submitted")]
    again = anonymous.post(f"/api/v1/assessments/{world.draft}/submit", headers=alice)
    assert again.status_code == 409 and "this one is submitted" in again.json["detail"]

    # returning needs a comment: missing or blank, it is a 422 naming the field, and nothing changes
    start = _head(app)
    for body in ({}, {"comment": "   "}):
        refused = anonymous.post(f"/api/v1/assessments/{world.draft}/return", json=body, headers=lead)
        assert refused.status_code == 422 and _pointers(refused) == ["/comment"], refused.json
    assert _status(app, world.draft) == "submitted" and _trail(app, start) == []
    returned = anonymous.post(f"/api/v1/assessments/{world.draft}/return", json={"comment": "Add Q3"}, headers=lead)
    assert returned.status_code == 200 and returned.json["status"] == "returned"
    assert _trail(app, start) == [("lead", "assessment.returned")]

    # approving what is not submitted is a state conflict; whoever submitted it may not approve it
    assert anonymous.post(f"/api/v1/assessments/{world.draft}/approve", headers=lead).status_code == 409
    assert anonymous.post(f"/api/v1/assessments/{world.draft}/submit", headers=admin).status_code == 200
    own = anonymous.post(f"/api/v1/assessments/{world.draft}/approve", headers=admin)
    assert own.status_code == 403 and "separation of duties" in own.json["detail"]
    approved = anonymous.post(f"/api/v1/assessments/{world.draft}/approve", headers=lead)
    assert approved.status_code == 200 and approved.json["status"] == "approved" and approved.json["approved_at"]
    assert ("lead", "assessment.approved") in _trail(app, start)


def test_a_read_only_token_and_a_member_of_another_team_change_nothing(app, anonymous):
    world = build_world(app)
    read_only, bob, audrey = token_for(app, "alice", read_only=True), token_for(app, "bob"), token_for(app, "audrey")
    start = _head(app)
    assert anonymous.post(f"/api/v1/assessments/{world.draft}/submit", headers=read_only).status_code == 403
    assert anonymous.post(f"/api/v1/assessments/{world.draft}/submit", headers=bob).status_code == 404
    auditor = anonymous.post(f"/api/v1/assessments/{world.submitted}/approve", headers=audrey)
    assert auditor.status_code == 403 and "program lead" in auditor.json["detail"]
    assert _status(app, world.draft) == "draft" and _status(app, world.submitted) == "submitted"
    assert _trail(app, start) == []


def test_sharing_with_an_auditor_and_withdrawing_it(app, anonymous):
    world = build_world(app)
    lead, otto, audrey = token_for(app, "lead"), token_for(app, "otto"), token_for(app, "audrey")
    assert anonymous.get(f"/api/v1/assessments/{world.draft}", headers=otto).status_code == 404
    start = _head(app)
    shared = anonymous.post(f"/api/v1/assessments/{world.draft}/shares", json={"username": "otto"}, headers=lead)
    assert shared.status_code == 200 and shared.json["username"] == "otto" and shared.json["role"] == "auditor"
    assert anonymous.get(f"/api/v1/assessments/{world.draft}", headers=otto).status_code == 200
    assert _trail(app, start) == [("lead", "assessment.shared")]
    for nobody in ("alice", "nobody-at-all"):  # a member is no auditor; an unknown name names nobody
        refused = anonymous.post(f"/api/v1/assessments/{world.draft}/shares", json={"username": nobody}, headers=lead)
        assert refused.status_code == 422 and _pointers(refused) == ["/username"], refused.json
    start = _head(app)
    removed = anonymous.delete(f"/api/v1/assessments/{world.draft}/shares/{world.audrey}", headers=lead)
    assert removed.status_code == 204 and _trail(app, start) == [("lead", "assessment.unshared")]
    assert anonymous.get(f"/api/v1/assessments/{world.draft}", headers=audrey).status_code == 404


def test_an_auditor_records_findings_which_every_reader_lists(app, anonymous):
    world = build_world(app)
    audrey, alice, lead, bob = (token_for(app, name) for name in ("audrey", "alice", "lead", "bob"))
    finding = {"requirement_id": "CI-01", "verdict": "finding", "severity": "minor", "comment": "Stale pipeline"}
    early = anonymous.post(f"/api/v1/assessments/{world.draft}/findings", json=finding, headers=audrey)
    assert early.status_code == 409 and "still being answered" in early.json["detail"]
    url = f"/api/v1/assessments/{world.submitted}/findings"
    start = _head(app)
    for body, pointer in (
        ({**finding, "severity": None}, "/severity"),
        ({**finding, "comment": " "}, "/comment"),
        ({**finding, "requirement_id": "NOPE-99"}, "/requirement_id"),
        ({**finding, "verdict": "maybe"}, "/verdict"),
    ):
        refused = anonymous.post(url, json=body, headers=audrey)
        assert refused.status_code == 422 and _pointers(refused) == [pointer], (body, refused.json)
    assert _trail(app, start) == []
    recorded = anonymous.post(url, json=finding, headers=audrey)
    assert recorded.status_code == 200 and recorded.json["auditor"] == "audrey"
    assert recorded.json["severity"] == "minor" and recorded.json["recorded_at"]
    verified = anonymous.post(url, json={"requirement_id": "CI-01", "verdict": "verified"}, headers=audrey)
    assert verified.status_code == 200 and verified.json["severity"] is None  # replaces the finding
    assert _trail(app, start) == [("audrey", "finding.recorded")] * 2
    listed = anonymous.get(url, headers=alice)
    assert listed.status_code == 200 and [(f["requirement_id"], f["verdict"]) for f in listed.json] == [
        ("CI-01", "verified")
    ]
    assert anonymous.post(url, json=finding, headers=lead).status_code == 403
    assert anonymous.get(url, headers=bob).status_code == 404


# --- backlog ------------------------------------------------------------------------------------------


def test_the_backlog_lists_with_the_pages_filters_and_pages_keep_them(app, anonymous):
    world = build_world(app)
    audrey = token_for(app, "audrey")
    url = f"/api/v1/assessments/{world.draft}/backlog"
    everything = anonymous.get(f"{url}?limit=200", headers=audrey)
    assert everything.status_code == 200 and len(everything.json) >= 2
    priorities = [item["priority"] for item in everything.json]
    assert all(item["updated_at"].endswith("+00:00") for item in everything.json)
    assert priorities == sorted(priorities, reverse=True)  # by priority, as the page's default
    by_requirement = anonymous.get(f"{url}?sort=requirement&limit=200", headers=audrey).json
    assert [i["requirement_id"] for i in by_requirement] == sorted(i["requirement_id"] for i in everything.json)
    first = anonymous.get(f"{url}?status=plan&sort=requirement&limit=1", headers=audrey)
    assert 'rel="next"' in first.headers["Link"] and "status=plan" in first.headers["Link"]
    second = anonymous.get(first.headers["Link"].split(">")[0].lstrip("<"), headers=audrey)
    assert [i["requirement_id"] for i in first.json + second.json] == [i["requirement_id"] for i in by_requirement[:2]]
    needle = anonymous.get(f"{url}?q=ci-02", headers=audrey).json
    assert [i["requirement_id"] for i in needle] == ["CI-02"]
    assert anonymous.get(f"{url}?status=nonsense", headers=audrey).status_code == 422
    assert anonymous.get(f"{url}?cursor=%25%25", headers=audrey).status_code == 400
    assert anonymous.get(url, headers=token_for(app, "bob")).status_code == 404


def test_a_backlog_item_changes_as_on_the_page_and_a_refused_field_is_named(app, anonymous):
    world = build_world(app)
    alice, audrey, bob = token_for(app, "alice"), token_for(app, "audrey"), token_for(app, "bob")
    url = f"/api/v1/assessments/{world.draft}/backlog/{world.item}"
    start = _head(app)
    for body, pointer in (
        ({"owner": "bob"}, "/owner"),  # not in the scope's team
        ({"due_date": "soon"}, "/due_date"),
        ({"status": "finished"}, "/status"),
        ({"status": None}, "/status"),
    ):
        refused = anonymous.patch(url, json=body, headers=alice)
        assert refused.status_code == 422 and _pointers(refused) == [pointer], (body, refused.json)
    assert _trail(app, start) == []
    changed = anonymous.patch(url, json={"status": "do", "owner": "alice", "due_date": "2027-01-31"}, headers=alice)
    assert changed.status_code == 200, changed.json
    assert (changed.json["status"], changed.json["owner"], changed.json["due_date"]) == ("do", "alice", "2027-01-31")
    assert _trail(app, start) == [("alice", "backlog.item_changed")]
    kept = anonymous.patch(url, json={"hypothesis": "Trunk-based work halves lead time"}, headers=alice).json
    assert (kept["status"], kept["owner"], kept["hypothesis"]) == ("do", "alice", "Trunk-based work halves lead time")
    cleared = anonymous.patch(url, json={"owner": None, "due_date": None}, headers=alice).json
    assert (cleared["owner"], cleared["due_date"], cleared["status"]) == (None, None, "do")
    assert anonymous.patch(url, json={"status": "check"}, headers=audrey).status_code == 403
    assert anonymous.patch(url, json={"status": "check"}, headers=bob).status_code == 404
    elsewhere = anonymous.patch(f"/api/v1/assessments/{world.draft}/backlog/999999", json={}, headers=alice)
    assert elsewhere.status_code == 404


# --- reports ------------------------------------------------------------------------------------------


def test_a_rendered_report_is_polled_and_downloaded_as_on_the_web(app, anonymous):
    world = build_world(app)
    audrey, bob = token_for(app, "audrey"), token_for(app, "bob")
    job = anonymous.get(f"/api/v1/reports/{world.job}", headers=audrey)
    assert job.status_code == 200, job.json
    assert (job.json["status"], job.json["progress"], job.json["kind"]) == ("done", 100, "pdf")
    assert job.json["download"] == f"/api/v1/reports/{world.job}/download"
    # times carry their offset (SQLite gives them back naive): a date-time, as the document says
    assert job.json["created_at"].endswith("+00:00") and job.json["finished_at"].endswith("+00:00")
    start = _head(app)
    download = anonymous.get(job.json["download"], headers=audrey)
    assert download.status_code == 200 and download.data == b"%PDF-1.7\n%matrix\n"
    assert download.mimetype == "application/pdf" and download.headers["Content-Disposition"].startswith("attachment")
    assert "RPT-TEST" in download.headers["Content-Disposition"] and download.headers["ETag"]
    assert _trail(app, start) == [("audrey", "report.downloaded")]
    for url in (f"/api/v1/reports/{world.job}", f"/api/v1/reports/{world.job}/download"):
        assert anonymous.get(url, headers=bob).status_code == 404  # another team's report
    for url in (f"/api/v1/reports/{world.import_job}", f"/api/v1/reports/{world.import_job}/download"):
        hidden = anonymous.get(url, headers=token_for(app, "admin"))  # an import job is no report
        assert hidden.status_code == 404 and hidden.mimetype == "application/problem+json"


def test_a_report_request_is_a_job_found_again_while_the_state_holds(app, anonymous):
    world = build_world(app)
    alice = token_for(app, "alice")
    url = f"/api/v1/assessments/{world.draft}/reports"
    unknown = anonymous.post(url, json={"kind": "docx"}, headers=alice)
    assert unknown.status_code == 422 and _pointers(unknown) == ["/kind"]
    queued = anonymous.post(url, json={"kind": "bundle"}, headers=alice)
    assert queued.status_code == 202 and queued.json["status"] == "queued" and queued.json["download"] is None
    assert queued.headers["Location"] == f"/api/v1/reports/{queued.json['id']}"
    again = anonymous.post(url, json={"kind": "bundle"}, headers=token_for(app, "audrey"))
    assert again.status_code == 202 and again.json["id"] == queued.json["id"]  # the same state: the same job
    polled = anonymous.get(queued.headers["Location"], headers=alice)
    assert polled.status_code == 200 and polled.json["status"] == "queued"
    early = anonymous.get(f"{queued.headers['Location']}/download", headers=alice)
    assert early.status_code == 404 and "not ready" in early.json["detail"]
    read_only = anonymous.post(url, json={"kind": "pdf"}, headers=token_for(app, "alice", read_only=True))
    assert read_only.status_code == 403


@pytest.mark.slow  # WeasyPrint renders a real PDF
def test_a_pdf_requested_through_the_api_is_rendered_and_downloaded(app, anonymous):
    """End to end, with the job run inside the request (REPORTS_SYNC), as the web's report tests run it."""
    world = build_world(app)
    app.config["REPORTS_SYNC"] = True
    alice = token_for(app, "alice")
    queued = anonymous.post(f"/api/v1/assessments/{world.draft}/reports", json={"kind": "pdf"}, headers=alice)
    assert queued.status_code == 202
    done = anonymous.get(queued.headers["Location"], headers=alice).json
    assert done["status"] == "done" and done["report_id"] and done["size"], done
    pdf = anonymous.get(done["download"], headers=alice)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and len(pdf.data) == done["size"]


# --- the audit trail ----------------------------------------------------------------------------------


def _all_pages(client, url: str, headers: dict) -> tuple[list[dict], int]:
    """Every entry the API gives by following its Link headers, and how many pages that took."""
    entries, pages = [], 0
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_data(True)
        entries += response.json
        pages += 1
        link = response.headers.get("Link", "")
        url = link.split(">")[0].lstrip("<") if 'rel="next"' in link else None
    return entries, pages


def test_the_trail_pages_in_entry_order_with_the_audit_pages_filters(app, anonymous):
    world = build_world(app)
    lead = token_for(app, "lead")
    assert (
        anonymous.post(f"/api/v1/assessments/{world.draft}/submit", headers=token_for(app, "alice")).status_code == 200
    )
    everything, pages = _all_pages(anonymous, "/api/v1/trail?limit=3", lead)
    seqs = [entry["seq"] for entry in everything]
    assert pages > 1 and seqs == sorted(seqs) and seqs == list(range(1, len(seqs) + 1))
    for entry in everything:  # each is as the CSV has it: its hash recomputes from its fields and prev_hash
        assert entry_hash({name: entry[name] for name in FIELDS}, entry["prev_hash"]) == entry["hash"], entry
    shared = [e for e in everything if e["action"] == "assessment.shared"]
    assert shared and any("audrey" in change for change in shared[0]["changes"]), shared

    by_alice, _ = _all_pages(anonymous, f"/api/v1/trail?actor=alice&assessment={world.draft}&limit=1", lead)
    assert [e["action"] for e in by_alice] == ["assessment.submitted"] and by_alice[0]["assessment_id"] == world.draft
    starting, _ = _all_pages(anonymous, f"/api/v1/trail?action=assessment.&scope={world.scope}&limit=2", lead)
    assert starting and all(e["action"].startswith("assessment.") and e["scope_id"] == world.scope for e in starting)
    today = everything[-1]["at"][:10]
    assert _all_pages(anonymous, f"/api/v1/trail?since={today}&until={today}", lead)[0][-1] == everything[-1]
    assert anonymous.get("/api/v1/trail?until=2000-01-01", headers=lead).json == []

    bad = anonymous.get("/api/v1/trail?scope=0&since=yesterday", headers=lead)
    assert bad.status_code == 422 and sorted(_pointers(bad)) == ["/query/scope", "/query/since"]
    for cursor in ("%25%25", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5"):  # not base64; a number no entry can have
        assert anonymous.get(f"/api/v1/trail?cursor={cursor}", headers=lead).status_code == 400
    for refused in ("alice", "audrey"):  # leads and admins only, as the issue says
        response = anonymous.get("/api/v1/trail", headers=token_for(app, refused))
        assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_a_report_download_answers_conditional_requests_as_documented(app, anonymous):
    world = build_world(app)
    lead = token_for(app, "lead")
    url = f"/api/v1/reports/{world.job}/download"
    first = anonymous.get(url, headers=lead)
    again = anonymous.get(url, headers={**lead, "If-None-Match": first.headers["ETag"]})
    part = anonymous.get(url, headers={**lead, "Range": "bytes=0-3"})
    outside = anonymous.get(url, headers={**lead, "Range": "bytes=900-999"})
    # the same from the folder and from an object store (bin/with-stack)
    assert (again.status_code, part.status_code, part.data, outside.status_code) == (304, 206, b"%PDF", 416)
    documented = anonymous.get("/api/v1/openapi.json").json["paths"]["/api/v1/reports/{job_id}/download"]["get"]
    assert {"200", "206", "304", "404", "416"} <= set(documented["responses"])
