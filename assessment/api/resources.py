"""The API's first operations: frameworks and scopes, read with a bearer token under the web's role rules.

Every operation reuses the service the web page calls; nothing here decides who may see what beyond asking
services/access.py. Lists take `limit` and an opaque `cursor` and give the next page's address in a `Link`
header (rel="next").
"""

from __future__ import annotations

import base64
import binascii

from flask import abort, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..extensions import db
from ..services import access, audit, library, tokens
from ..services import assessments as assessment_service
from . import problems

bp = Blueprint("api_v1", __name__, description="The REST API, version 1 (bearer tokens).")
problems.install(bp)

MAX_LIMIT = 200


@bp.before_request
def authenticate():
    """A valid `Authorization: Bearer asm_…` token names the caller; anything else is a 401 problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    token = tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        abort(401, description="Send a valid, unexpired, unrevoked token as `Authorization: Bearer asm_…`.")
    db.session.commit()  # its last use, when recorded (at most once a minute)
    if token.read_only and request.method not in ("GET", "HEAD", "OPTIONS"):
        abort(403, description="This token is read-only: it reads, and changes nothing.")
    g.api_token = token
    g.api_user = token.user
    audit.current_actor.set(token.user.username)


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None)


def _offset(cursor: str | None) -> int:
    """The opaque cursor is the position of the page's first item; a cursor not made here is a 400."""
    if cursor is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        abort(400, description="This cursor was not given by the API; start from the first page.")
    if offset < 0:
        abort(400, description="This cursor was not given by the API; start from the first page.")
    return offset


def page(items: list, args: dict) -> tuple[list, dict]:
    """One page of `items` and the headers that name the next one."""
    start, limit = _offset(args["cursor"]), args["limit"]
    shown = items[start : start + limit]
    headers = {}
    if start + limit < len(items):
        cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode().rstrip("=")
        headers["Link"] = f'<{request.base_url}?limit={limit}&cursor={cursor}>; rel="next"'
    return shown, headers


class FrameworkSchema(Schema):
    id = fields.String(attribute="framework_id")
    version = fields.String()
    revision = fields.Integer()
    title = fields.String()
    kind = fields.String()
    requirement_count = fields.Integer()
    domain_count = fields.Integer()
    imported_at = fields.DateTime()


class ScopeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    description = fields.String(allow_none=True)
    created_at = fields.DateTime()


@bp.route("/frameworks")
@bp.arguments(PageArgs, location="query")
@bp.response(200, FrameworkSchema(many=True))
def frameworks(args):
    """The latest version of every framework in the library (everyone signed in reads the library)."""
    return page(library.latest_versions(), args)


@bp.route("/scopes")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ScopeSchema(many=True))
def scopes(args):
    """The scopes the token's owner may read, by name."""
    return page(assessment_service.list_scopes(only=access.visible_scope_ids(g.api_user)), args)


@bp.route("/scopes/<int:scope_id>")
@bp.response(200, ScopeSchema)
@bp.alt_response(404, description="No such scope, or not yours to see.")
def scope(scope_id: int):
    """One scope; 404 when the owner may not see it, exactly as for a missing one."""
    return access.scope_for(g.api_user, scope_id)


@bp.route("/assessments/<int:assessment_id>/score")
@bp.response(200, description="The spec's score JSON (framework-format.md, section 4), as the score.json export.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment_score(assessment_id: int):
    """The assessment's score in exactly the spec's JSON (the score.json export's), kept between the reads of
    an unchanged assessment (readmodels/score_documents.py): a pipeline may poll it."""
    from flask import Response, current_app

    from ..readmodels.score_documents import ScoreDocuments, score_json

    assessment = access.assessment_for(g.api_user, assessment_id)
    documents = current_app.extensions.setdefault("score_documents", ScoreDocuments())
    return Response(score_json(assessment, documents), mimetype="application/json")


class AssessmentSchema(Schema):
    id = fields.Integer()
    scope_id = fields.Integer()
    framework_id = fields.String(attribute="framework_version.framework_id")
    framework_version = fields.String(attribute="framework_version.version")
    status = fields.String()
    target_level = fields.Integer(allow_none=True)
    as_of = fields.Date()
    period_start = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    previous_id = fields.Integer(allow_none=True)


@bp.route("/scopes/<int:scope_id>/assessments")
@bp.arguments(PageArgs, location="query")
@bp.response(200, AssessmentSchema(many=True))
@bp.alt_response(404, description="No such scope, or not yours to see.")
def scope_assessments(args, scope_id: int):
    """The scope's assessments, oldest first."""
    return page(list(access.scope_for(g.api_user, scope_id).assessments), args)


@bp.route("/assessments/<int:assessment_id>")
@bp.response(200, AssessmentSchema)
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment(assessment_id: int):
    """One assessment: its framework, status and dates."""
    return access.assessment_for(g.api_user, assessment_id)
