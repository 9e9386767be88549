"""/api/v1: bearer tokens, the web's visibility rules, problem+json errors, pagination, the OpenAPI document."""

from __future__ import annotations

from openapi_spec_validator import validate
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import User
from assessment.services import tokens


def token_for(app, username: str, **options) -> dict:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        _, secret = tokens.create(user, "test", **options)
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_without_a_valid_token_the_api_answers_a_401_problem(app, anonymous):
    for headers in ({}, {"Authorization": "Bearer asm_nothing"}, {"Authorization": "Basic eDp5"}):
        response = anonymous.get("/api/v1/scopes", headers=headers)
        assert response.status_code == 401 and response.mimetype == "application/problem+json"
        assert response.json["status"] == 401 and response.json["title"] and response.json["detail"]


def test_scopes_follow_the_web_rules_and_page_with_a_link(app, anonymous, devops):
    _, scope = devops
    lead = token_for(app, "lead")
    listed = anonymous.get("/api/v1/scopes", headers=lead)
    assert listed.status_code == 200 and scope in [s["id"] for s in listed.json]
    assert anonymous.get(f"/api/v1/scopes/{scope}", headers=lead).json["id"] == scope
    bob = token_for(app, "bob")  # a member outside the scope: it does not exist for him
    missing = anonymous.get(f"/api/v1/scopes/{scope}", headers=bob)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert anonymous.get("/api/v1/scopes", headers=bob).json == []
    first = anonymous.get("/api/v1/frameworks?limit=1", headers=lead)
    assert first.status_code == 200 and len(first.json) == 1
    if 'rel="next"' in first.headers.get("Link", ""):
        following = first.headers["Link"].split(">")[0].lstrip("<")
        second = anonymous.get(following, headers=lead)
        assert second.status_code == 200 and second.json != first.json


def test_invalid_query_fields_are_named_by_a_pointer(app, anonymous):
    response = anonymous.get("/api/v1/scopes?limit=0", headers=token_for(app, "lead"))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [e["pointer"] for e in response.json["errors"]] == ["/query/limit"]
    bad = anonymous.get("/api/v1/scopes?cursor=%%%", headers=token_for(app, "lead"))
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"


def test_the_openapi_document_is_valid_and_lists_every_operation(app, anonymous):
    document = anonymous.get("/api/v1/openapi.json")
    assert document.status_code == 200
    validate(document.json)
    documented = {(path, method.upper()) for path, item in document.json["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api_v1."):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented


def test_the_docs_page_is_served_from_the_package_under_the_csp(app, anonymous):
    page = anonymous.get("/api/v1/docs")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert b"<script>" not in page.data and b"//cdn" not in page.data
    assert anonymous.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert anonymous.get("/api/v1/docs/assets/index.html").status_code == 404


def test_the_score_is_the_score_json_export(app, client, anonymous, devops):
    assessment, _ = devops
    exported = client.get(f"/assessments/{assessment}/export/score.json")
    assert exported.status_code == 200
    lead = token_for(app, "lead")
    response = anonymous.get(f"/api/v1/assessments/{assessment}/score", headers=lead)
    assert response.status_code == 200 and response.json == exported.json
    hidden = anonymous.get(f"/api/v1/assessments/{assessment}/score", headers=token_for(app, "bob"))
    assert hidden.status_code == 404 and hidden.mimetype == "application/problem+json"


def test_a_scopes_assessments_and_one_assessment(app, anonymous, devops):
    assessment, scope = devops
    lead = token_for(app, "lead")
    listed = anonymous.get(f"/api/v1/scopes/{scope}/assessments", headers=lead)
    assert listed.status_code == 200 and [a["id"] for a in listed.json] == [assessment]
    one = anonymous.get(f"/api/v1/assessments/{assessment}", headers=lead).json
    assert one["status"] == "draft" and one["scope_id"] == scope and one["framework_id"]
    score = anonymous.get(f"/api/v1/assessments/{assessment}/score", headers=lead).json
    assert one["figures"] == {**score["overall"], "gaps": len(score["gaps"])}  # the score's own figures
    assert one["figures"]["target_level"] == 3 and one["figures"]["counts"]["unanswered"] > 0
    assert anonymous.get(f"/api/v1/assessments/{assessment}", headers=token_for(app, "bob")).status_code == 404
