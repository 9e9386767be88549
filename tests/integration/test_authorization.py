"""The authorization matrix: every route of the application × every role, and anonymous.

Each route is requested by seven people: anonymous; the admin; the program lead; alice, on the
team of the scope the URL names; bob, on another team; audrey, an auditor the assessment is
shared with; otto, an auditor it is not shared with. The matrix says who is allowed. A denied
request must be refused (403, or 404 for an object the person may not even see, or a redirect
to sign in for anonymous) and change nothing; an allowed one must succeed (or meet a state
conflict such as "already approved", which is not an access decision).

A route missing from the matrix fails `test_every_route_is_in_the_matrix`: a new page cannot be
added without deciding who may open it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from assessment.extensions import db, report_store
from assessment.models import Answer, Assessment, AuditEntry, BacklogItem, ReportJob, Scope, User
from assessment.services import assessments as svc
from assessment.services import audit, review
from assessment.services import evidence as evidence_svc
from assessment.services import reports as report_svc
from assessment.services.backlog import generate
from tests.integration.conftest import PASSWORD, sign_in_as
from tests.integration.helpers import example_version

pytestmark = pytest.mark.slow  # every route against every role: hundreds of requests

ROLES = ("anonymous", "admin", "lead", "alice", "bob", "audrey", "otto")
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
READERS = {"admin", "lead", "alice", "audrey"}  # of the assessment: its team, leads, its auditor
SCOPE_READERS = {"admin", "lead", "alice"}
TEAM = {"admin", "alice"}  # who changes answers and evidence
PLANNERS = {"admin", "lead", "alice"}  # who manages the backlog, starts and imports
LEADS = {"admin", "lead"}
ADMIN = {"admin"}
AUDITOR = {"admin", "audrey"}


@dataclass
class World:
    """The objects the URLs name: scope Alpha (alice's team), a draft assessment shared with
    audrey, a submitted one, evidence, a backlog item and a rendered report; scope Beta (bob's)."""

    scope: int
    draft: int
    submitted: int
    evidence: int
    item: int
    job: int
    import_job: int
    victim: int
    audrey: int
    version: int
    token: int = 0  # an API token of victim's: only its owner (not among the seven) or an admin revokes it
    events_job: int = 0  # a failed delivery events upload of alpha's
    pending_import: str = ""  # the signed key of a previewed framework import, for its confirmation


def build_world(app) -> World:
    version = example_version(app)
    with app.app_context(), audit.acting_as("test-setup"):
        from assessment.models import FrameworkVersion
        from assessment.services import accounts

        users = {u.username: u for u in db.session.scalars(select(User))}
        victim = accounts.create_user("victim", "Victim", "member", PASSWORD)
        alpha = svc.create_scope("Alpha", "team")
        beta = svc.create_scope("Beta", "team")
        review.add_member(alpha, "alice")
        review.add_member(beta, "bob")
        review.add_member(alpha, "victim")
        row = db.session.get(FrameworkVersion, version)
        framework = svc.framework_of(row)
        draft = svc.start_assessment(alpha, row, 3, dt.date(2026, 11, 21))
        svc.save_answer(draft, framework, "CI-01", "yes", "note", 0, "alice")
        svc.save_answer(draft, framework, "CI-02", "none", None, 0, "alice")
        store = report_store(app).evidence
        item, _stored = evidence_svc.add_file(
            store, draft, "CI-01", io.BytesIO(b"stages: [build]\n"), "pipeline.yml", "Pipeline", None, None, "alice"
        )
        generate(svc.load_state(draft))
        backlog_item = db.session.scalars(select(BacklogItem).where(BacklogItem.assessment_id == draft.id)).first()
        # improvement check (d-check): a hypothesis that parses and a service with events, so a check succeeds
        from assessment.services import delivery

        backlog_item.hypothesis = "lead time down 40 %"
        change = {"type": "change", "id": "c-1", "service": "x", "time": "2026-01-02T08:00:00Z"}
        delivery.add_events(alpha, [("matrix", 1, change)], source="api", actor="alice")
        # end improvement check (d-check)
        submitted = svc.start_assessment(alpha, row, 3, dt.date(2026, 11, 21))
        svc.save_answer(submitted, framework, "CI-01", "yes", None, 0, "alice")
        review.submit(submitted, "alice")
        review.share(draft, "audrey", "lead")
        review.share(submitted, "audrey", "lead")
        job = ReportJob(
            assessment_id=draft.id,
            kind="pdf",
            fingerprint=report_svc.fingerprint(draft, "pdf"),
            requested_by="alice",
            status="done",
            file_name="matrix.pdf",
            report_id="RPT-TEST",
            progress=100,
            message="Ready",
            size=17,
            finished_at=dt.datetime.now(dt.UTC),
        )
        db.session.add(job)
        db.session.flush()
        report_store(app).write(job, b"%PDF-1.7\n%matrix\n")  # its folder, or its bucket under bin/with-stack
        import_job = ReportJob(
            kind="import",
            scope_id=alpha.id,
            upload_name="big.zip",
            fingerprint="0" * 64,
            requested_by="alice",
            status="failed",
            message="The zip holds no answers.yaml.",
        )
        db.session.add(import_job)
        events_job = ReportJob(
            kind="events", scope_id=alpha.id, upload_name="events.jsonl", fingerprint="1" * 64,
            requested_by="alice", status="failed", message="Nothing was stored: 1 problem(s) in events.jsonl.",
        )  # fmt: skip
        db.session.add(events_job)
        db.session.flush()
        from assessment.services import tokens

        victims_token, _secret = tokens.create(victim, "victim's pipeline")
        # release reviews (d-releases): one production deployment of alpha's service "checkout"
        from assessment.services import delivery

        release = {"type": "deployment", "id": "rel-1", "service": "checkout", "time": "2026-11-20T12:00:00Z"}
        delivery.add_events(alpha, [("matrix", 1, release)], source="api", actor="test-setup")
        draft.delivery_service = "checkout"  # metric-fed answers: the draft may be refreshed from its service
        db.session.commit()
        world = World(
            scope=alpha.id,
            draft=draft.id,
            submitted=submitted.id,
            evidence=item.id,
            item=backlog_item.id,
            job=job.id,
            import_job=import_job.id,
            victim=victim.id,
            audrey=users["audrey"].id,
            version=version,
            token=victims_token.id,
            events_job=events_job.id,
            pending_import=_pending_import(app),
        )
        db.session.remove()
    return world


MATRIX_FRAMEWORK = (
    'id: matrix-import\nversion: "1"\ntitle: Matrix import\nkind: compliance\ndomains:\n  - id: D\n'
    "    title: D\n    requirements:\n      - {id: D-01, title: One}\n"
)


def _pending_import(app) -> str:
    """A framework preview kept on the server, as the import page keeps one, and its confirmation key."""
    from assessment.services import framework_import

    digest = framework_import.PendingImports(report_store(app).blobs).keep(MATRIX_FRAMEWORK)
    return framework_import.confirm_key(app.secret_key, digest, "matrix-import.yaml")


def _framework_file() -> tuple:
    return (io.BytesIO(MATRIX_FRAMEWORK.encode()), "matrix-import.yaml")


ANSWERS = b"""framework: devops-delivery
version: "2026.1"
as_of: 2026-11-21
answers:
  CI-01:
    value: yes
    note: Imported.
"""


def _answers_file() -> tuple:
    return (io.BytesIO(ANSWERS), "answers.yaml")


def _sheet_file() -> tuple:
    return (io.BytesIO(b"requirement,value,note\nCI-03,yes,From the sheet\n"), "answers.csv")


MAPPING_COLLECTION = b"""{"mapping-collection": {"uuid": "matrix", "metadata": {"title": "Matrix mappings"},
  "mappings": [{"source-resource": {"href": "sox-itgc"}, "target-resource": {"href": "hipaa-security-rule"},
    "maps": [{"relationship": "intersects-with", "sources": [{"id-ref": "SOX-AC-01"}],
              "targets": [{"id-ref": "HIPAA-AS-01"}]}]}]}}"""


def _mapping_file() -> tuple:
    return (io.BytesIO(MAPPING_COLLECTION), "mappings.json")


def _events_file() -> tuple:
    line = b'{"type":"change","id":"matrix-upload","service":"checkout","time":"2026-11-19T12:00:00Z"}\n'
    return (io.BytesIO(line), "events.jsonl")


@dataclass(frozen=True)
class Case:
    method: str
    url: str  # formatted with the World's fields
    allowed: frozenset
    data: object = None  # a dict, or a function of the World returning one
    fetch: bool = False


def case(method, url, allowed, data=None, fetch=False) -> Case:
    return Case(method, url, frozenset(allowed), data, fetch)


# endpoint -> the request that exercises it and who may make it.
MATRIX: dict[str, Case] = {
    # --- webhooks (d-api) (views/hooks.py) ---
    # Machine callers with no session: a delivery unsigned by the scope's derived secret is a 401 for everyone
    # (tests/integration/test_webhook_receivers.py sends signed ones); they take no CSRF token.
    "hooks.github": case("POST", "/hooks/github/{scope}", set()),
    "hooks.gitlab": case("POST", "/hooks/gitlab/{scope}", set()),
    # --- end of webhooks (d-api) ---
    "static": case("GET", "/static/app.css", EVERYONE),
    "auth.login": case("GET", "/login", EVERYONE),
    "auth.login_post": case("POST", "/login", EVERYONE, {"username": "lead", "password": PASSWORD}),
    "auth.logout": case("POST", "/logout", SIGNED_IN),
    "auth.logout_everywhere": case("POST", "/logout/everywhere", SIGNED_IN),
    # The sign-in's second step is public, but without a half-signed sign-in it sends anonymous to /login
    # (which the matrix reads as denied) and a signed-in person home.
    "mfa.code": case("GET", "/login/code", SIGNED_IN),
    "mfa.code_post": case("POST", "/login/code", SIGNED_IN, {"code": "123456"}),
    # Single sign-on is public (PUBLIC_ENDPOINTS), and without OIDC_ISSUER, as here, both its pages are a 404 for
    # everyone; with a provider, tests/integration/test_oidc.py signs people in through them.
    "sso.login": case("GET", "/login/sso", set()),
    "sso.callback": case("GET", "/login/sso/callback?code=x&state=y", set()),
    "mfa.account": case("GET", "/account/mfa", SIGNED_IN),
    "mfa.setup": case("POST", "/account/mfa/setup", SIGNED_IN),
    "mfa.confirm": case("POST", "/account/mfa/confirm", SIGNED_IN, {"code": "123456"}),
    "mfa.disable": case("POST", "/account/mfa/disable", SIGNED_IN, {"code": "123456"}),
    "mfa.reset": case("POST", "/users/{victim}/mfa/reset", ADMIN),
    "tokens.index": case("GET", "/account/tokens", SIGNED_IN),
    "tokens.create": case("POST", "/account/tokens", SIGNED_IN, {"name": "pipeline", "expires": "", "read_only": "1"}),
    "tokens.revoke": case("POST", "/account/tokens/{token}/revoke", ADMIN, {"confirm": "1"}),
    "scopes.home": case("GET", "/", SIGNED_IN),
    "scopes.create": case("POST", "/scopes", LEADS, lambda w: {"name": f"New {id(w)}-{_n()}", "kind": "team"}),
    "scopes.detail": case("GET", "/scopes/{scope}", SCOPE_READERS),
    "scopes.start": case("POST", "/scopes/{scope}/assessments", PLANNERS, lambda w: {"framework_version": w.version}),
    "scopes.add_member": case("POST", "/scopes/{scope}/members", LEADS, {"username": "victim"}),
    "scopes.remove_member": case("POST", "/scopes/{scope}/members/{victim}/remove", LEADS),
    "library.index": case("GET", "/library", SIGNED_IN),
    "library.detail": case("GET", "/library/sox-itgc", SIGNED_IN),
    "library.import_preview": case("POST", "/library/import", ADMIN, lambda w: {"file": _framework_file()}),
    "library.import_confirm": case("POST", "/library/import/confirm", ADMIN, lambda w: {"key": w.pending_import}),
    # accepting a suggested answer (views/suggestions.py): the team of a draft; none is suggested here (409)
    "suggestions.coverage": case(
        "GET", "/scopes/{scope}/coverage?from=devops-delivery&to=devops-delivery", SCOPE_READERS
    ),
    "suggestions.accept": case("POST", "/assessments/{draft}/suggestions/CI-01/accept", TEAM),
    # mapping sets (views/mappings.py): imports, as the library's, are for admins
    "mappings.index": case("GET", "/library/mappings", ADMIN),
    "mappings.upload": case("POST", "/library/mappings", ADMIN, lambda w: {"file": _mapping_file()}),
    "assessments.show": case("GET", "/assessments/{draft}", READERS),
    "assessments.domain": case("GET", "/assessments/{draft}/domains/0", READERS),
    "assessments.save_domain": case("POST", "/assessments/{draft}/domains/0", TEAM, {"CI-01": "no", "rev/CI-01": "1"}),
    "assessments.save_answer": case(
        "POST", "/assessments/{draft}/answers/CI-03", TEAM, {"value": "yes", "revision": "0"}, fetch=True
    ),
    "assessments.evidence_page": case("GET", "/assessments/{draft}/requirements/CI-01/evidence", READERS),
    "assessments.add_evidence": case(
        "POST", "/assessments/{draft}/requirements/CI-02/evidence", TEAM, {"url": "https://wiki.example.com/x"}
    ),
    "assessments.reuse_evidence": case(
        "POST", "/assessments/{draft}/requirements/CI-02/evidence/reuse", TEAM, lambda w: {"evidence_id": w.evidence}
    ),
    "assessments.remove_evidence": case(
        "POST", "/assessments/{draft}/requirements/CI-01/evidence/{evidence}/remove", TEAM, {"confirm": "1"}
    ),
    "assessments.download_evidence": case("GET", "/evidence/{evidence}/download", READERS),
    "assessments.results": case("GET", "/assessments/{draft}/results", READERS),
    "assessments.set_period": case("POST", "/assessments/{draft}/period", TEAM, {"period_start": "2026-09-01"}),
    "assessments.refresh_measured": case("POST", "/assessments/{draft}/delivery/refresh", TEAM),
    "review.submit": case("POST", "/assessments/{draft}/submit", TEAM, {"confirm": "1"}),
    "review.approve": case("POST", "/assessments/{submitted}/approve", LEADS, {"confirm": "1"}),
    "review.return_for_changes": case(
        "POST", "/assessments/{submitted}/return", LEADS, {"comment": "More evidence", "confirm": "1"}
    ),
    "review.share": case("POST", "/assessments/{draft}/shares", LEADS, {"username": "otto"}),
    "review.unshare": case("POST", "/assessments/{draft}/shares/{audrey}/remove", LEADS),
    "review.record_finding": case(
        "POST",
        "/assessments/{submitted}/findings",
        AUDITOR,
        {"requirement_id": "CI-01", "verdict": "finding", "severity": "minor", "comment": "Stale"},
    ),
    "cycles.next_cycle": case("POST", "/assessments/{draft}/next-cycle", PLANNERS, {"as_of": "2027-01-01"}),
    "cycles.confirm_domain": case("POST", "/assessments/{draft}/domains/0/confirm", TEAM),
    "cycles.compare": case("GET", "/assessments/{draft}/compare?other={submitted}", READERS),
    "cycles.scope_trends": case("GET", "/scopes/{scope}/trends", SCOPE_READERS),
    "cycles.framework_trends": case("GET", "/library/devops-delivery/trends", SIGNED_IN),
    "cycles.as_of": case("GET", "/scopes/{scope}/as-of?date=2026-11-22", SCOPE_READERS),
    "backlog.index": case("GET", "/assessments/{draft}/backlog", READERS),
    "backlog.export_csv": case("GET", "/assessments/{draft}/backlog.csv", READERS),
    "backlog.generate": case("POST", "/assessments/{draft}/backlog/generate", PLANNERS),
    "backlog.update": case(
        "POST", "/assessments/{draft}/backlog/{item}", PLANNERS, {"status": "do", "owner": "", "due_date": ""}
    ),
    # improvement check (d-check): a planner without events for the service gets a 422, still allowed
    "backlog.check": case(
        "POST", "/assessments/{draft}/backlog/{item}/check", PLANNERS, {"live_on": "2026-01-01", "service": "x"}
    ),
    "transfer.export_assessment": case("GET", "/assessments/{draft}/export.zip", READERS),
    "transfer.import_assessment": case("POST", "/scopes/{scope}/import", PLANNERS, lambda w: {"file": _answers_file()}),
    "transfer.export_sheet": case("GET", "/assessments/{draft}/answers.xlsx", READERS),
    "transfer.import_sheet": case(
        "POST", "/assessments/{draft}/answers/sheet", TEAM, lambda w: {"file": _sheet_file()}
    ),
    "reports.request_report": case("POST", "/assessments/{draft}/reports/pdf", READERS),
    "reports.job": case("GET", "/reports/{job}", READERS),
    "reports.job_status": case("GET", "/reports/{job}/status", READERS),
    "reports.download": case("GET", "/reports/{job}/download", READERS),
    "reports.export": case("GET", "/assessments/{draft}/export/score.json", READERS),
    "people.index": case("GET", "/users", ADMIN),
    "jobs.index": case("GET", "/admin/jobs", ADMIN),
    "jobs.refresh_snapshots": case("POST", "/admin/jobs/snapshots", ADMIN),
    "transfer.import_job": case("GET", "/imports/{import_job}", PLANNERS),
    "people.create": case(
        "POST", "/users", ADMIN, lambda w: {"username": f"new{_n()}", "role": "member", "password": PASSWORD}
    ),
    "people.set_role": case("POST", "/users/{victim}/role", ADMIN, {"role": "auditor"}),
    "people.set_disabled": case("POST", "/users/{victim}/disabled", ADMIN, {"disabled": "1", "confirm": "1"}),
    "people.end_sessions": case("POST", "/users/{victim}/sessions/end", ADMIN),
    "audit.index": case("GET", "/audit", SIGNED_IN),
    "audit.export_csv": case("GET", "/audit.csv", SIGNED_IN),
    "audit.verify": case("POST", "/audit/verify", ADMIN),
    "dashboard.index": case("GET", "/dashboard", LEADS),
    "ops.healthz": case("GET", "/healthz", EVERYONE),
    "ops.readyz": case("GET", "/readyz", EVERYONE),
    "ops.metrics": case("GET", "/metrics", set()),  # only a scraper with METRICS_TOKEN (test_operations.py)
    # release reviews (d-releases)
    "releases.review": case("GET", "/scopes/{scope}/delivery/checkout/releases/rel-1", SCOPE_READERS),
    "releases.save": case(
        "POST",
        "/scopes/{scope}/delivery/checkout/releases/rel-1",
        PLANNERS,  # the scope's "delivery" action: admin, lead, its team
        {"went_better": "Quick", "went_worse": "", "one_change": "Automate the approval", "to_backlog": "1"},
    ),
    "releases.gates": case("GET", "/scopes/{scope}/delivery/checkout/gates?days=90", SCOPE_READERS),
    # delivery data pages (views/delivery.py)
    "delivery.overview": case("GET", "/scopes/{scope}/delivery", SCOPE_READERS),
    "delivery.service": case("GET", "/scopes/{scope}/delivery/checkout", SCOPE_READERS),
    "delivery_upload.upload": case(
        "POST", "/scopes/{scope}/delivery/events", PLANNERS, lambda w: {"events": _events_file()}
    ),
    "delivery_upload.job": case("GET", "/delivery/jobs/{events_job}", PLANNERS),
    # The API's document and docs hold no data; its operations take a bearer token, never the session cookie
    # (their own matrix of people and token kinds, where a session cookie is refused too, is test_api_matrix.py).
    "api-docs.openapi_json": case("GET", "/api/v1/openapi.json", EVERYONE),
    "api_docs.docs": case("GET", "/api/v1/docs", EVERYONE),
    "api_docs.asset": case("GET", "/api/v1/docs/assets/swagger-ui.css", EVERYONE),
}

# The sign-out routes, and the trail entry that shows a sign-out happened.
SIGN_OUTS = {"auth.logout": "logout", "auth.logout_everywhere": "user.sessions_ended"}

_counter = [0]


def _n() -> int:
    _counter[0] += 1
    return _counter[0]


def test_every_route_is_in_the_matrix(app):
    # The API's operations take a bearer token, not the session: test_api_matrix.py has their matrix.
    routes = {rule.endpoint: rule for rule in app.url_map.iter_rules() if not rule.endpoint.startswith("api_v1.")}
    missing = sorted(set(routes) - set(MATRIX))
    assert not missing, f"routes without an entry in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - set(routes))
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"
    for endpoint, entry in MATRIX.items():
        assert entry.method in routes[endpoint].methods, endpoint


def _request(client, entry: Case, world: World):
    url = entry.url.format(**world.__dict__)
    data = entry.data(world) if callable(entry.data) else entry.data
    headers = {"X-Requested-With": "fetch"} if entry.fetch else {}
    if entry.method == "GET":
        return client.get(url, headers=headers)
    multipart = isinstance(data, dict) and any(isinstance(v, tuple) for v in data.values())
    return client.post(url, data=data or {}, headers=headers, content_type="multipart/form-data" if multipart else None)


def _denied(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def _fingerprint(app) -> tuple:
    """Counts of the rows a forbidden request could have created or changed."""
    with app.app_context():
        counts = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Scope, Assessment, Answer, BacklogItem, User)
        )
        states = tuple(
            db.session.execute(
                select(Assessment.id, Assessment.status, Assessment.period_start).order_by(Assessment.id)
            ).all()
        )
        answers = tuple(db.session.execute(select(Answer.id, Answer.value, Answer.revision).order_by(Answer.id)).all())
        db.session.remove()
    return counts, states, answers


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_route_allows_exactly_its_roles(app, endpoint):
    world = build_world(app)
    entry = MATRIX[endpoint]
    # Denied people first: whatever the allowed ones change must not decide a denial.
    for role in sorted(ROLES, key=lambda r: r in entry.allowed):
        client = app.test_client() if role == "anonymous" else sign_in_as(app.test_client(), role)
        before = _fingerprint(app)
        with app.app_context():
            trail_before = db.session.scalar(select(func.max(AuditEntry.seq)))
            db.session.remove()
        response = _request(client, entry, world)
        if endpoint in SIGN_OUTS:  # signing out redirects to sign-in whoever asks: look at the trail
            with app.app_context():
                signed_out = db.session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action == SIGN_OUTS[endpoint], AuditEntry.seq > (trail_before or 0))
                )
                db.session.remove()
            assert signed_out == (1 if role in entry.allowed else 0), role
            continue
        if role in entry.allowed:
            assert not _denied(response), f"{role} should be allowed {entry.method} {endpoint}: {response.status_code}"
            assert response.status_code < 400 or response.status_code == 409, (
                f"{role} on {endpoint}: {response.status_code} {response.get_data(as_text=True)[:300]}"
            )
        else:
            assert _denied(response), f"{role} should be denied {entry.method} {endpoint}: {response.status_code}"
            assert _fingerprint(app) == before, f"{role}'s denied {endpoint} changed something"
            with app.app_context():
                changes = db.session.scalars(
                    select(AuditEntry.action).where(AuditEntry.seq > (trail_before or 0))
                ).all()
                db.session.remove()
            assert not [c for c in changes if c not in ("login", "login.failed")], (role, endpoint, changes)


@pytest.mark.parametrize(
    "endpoint", sorted(e for e, c in MATRIX.items() if c.method == "POST" and not e.startswith("hooks."))
)  # webhooks are signed, not forms
def test_every_form_needs_its_csrf_token(app, endpoint):
    """With CSRF protection on (as in production), a forged post without the token changes nothing."""
    world = build_world(app)
    app.config["WTF_CSRF_ENABLED"] = True
    entry = MATRIX[endpoint]
    client = app.test_client() if endpoint.startswith("auth.login") else sign_in_as(app.test_client(), "admin")
    before = _fingerprint(app)
    response = _request(client, entry, world)
    assert response.status_code == 400 and "security token" in response.get_data(as_text=True), endpoint
    assert _fingerprint(app) == before
