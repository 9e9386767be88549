"""The API's first operations: frameworks and scopes, read with a bearer token under the web's role rules.

Every operation reuses the service the web page calls; nothing here decides who may see what beyond asking
services/access.py. Lists take `limit` and an opaque `cursor` and give the next page's address in a `Link`
header (rel="next").
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager

from flask import abort, g, request, url_for
from flask_smorest import Blueprint
from flask_smorest import abort as abort_with
from marshmallow import Schema, fields, validate

from ..extensions import db
from ..models import FrameworkVersion
from ..services import access, audit, library, tokens
from ..services import assessments as assessment_service
from ..services.errors import InvalidInput
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
    """The assessment's score in exactly the spec's JSON: the same report the score.json export is made from."""
    from flask import current_app

    from ..extensions import report_store
    from ..services import reports as report_service

    assessment = access.assessment_for(g.api_user, assessment_id)
    store = report_store(current_app)
    report = report_service.report_for(assessment, store.evidence, for_export=True, **store.facts())
    return report.score_json


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


# --- writes -------------------------------------------------------------------------------------


def invalid_field(field: str | None, message: str, location: str = "json"):
    """Refuse the request with a 422 problem naming `field` (a JSON pointer into the body) and why."""
    abort_with(422, messages={location: {field: [message]} if field else [message]})


def location_header(description: str) -> dict:
    """The OpenAPI declaration of a `Location` header in a response."""
    return {"Location": {"description": description, "schema": {"type": "string"}}}


@contextmanager
def fields_checked(location: str = "json") -> Iterator[None]:
    """A service's InvalidInput about what the request sent is a 422 problem pointing at the field it names.

    Raised, never returned: the request's transaction is rolled back (and what it stored removed) exactly
    as for the web's form errors. Other statuses an InvalidInput carries (413, too large) stay as they are.
    """
    try:
        yield
    except InvalidInput as error:
        if error.status != 400:
            raise
        invalid_field(error.field, error.message, location)


class StartAssessmentSchema(Schema):
    framework_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    target_level = fields.Integer(load_default=None, allow_none=True, strict=True)
    as_of = fields.Date(load_default=None, allow_none=True)
    period_start = fields.Date(load_default=None, allow_none=True)


def framework_version(framework_id: str, version: str | None) -> FrameworkVersion:
    """The library's newest stored row of this framework (and version, when named), or a 422 naming the field."""
    rows = library.versions_of(framework_id)
    if not rows:
        invalid_field("framework_id", f"The library has no framework {framework_id!r}.")
    if version is not None:
        rows = [row for row in rows if row.version == version]
        if not rows:
            invalid_field("version", f"The library has no version {version!r} of {framework_id}.")
    return rows[0]


@bp.route("/scopes/<int:scope_id>/assessments", methods=["POST"])
@bp.arguments(StartAssessmentSchema)
@bp.response(201, AssessmentSchema, headers=location_header("The new assessment's address."))
@bp.alt_response(403, description="The token's owner may see the scope but not start its assessments.")
@bp.alt_response(404, description="No such scope, or not yours to see.")
def start_assessment(args, scope_id: int):
    """Start a draft assessment of the scope, as the scope page's form does (services.assessments.start_assessment).

    `version` defaults to the framework's newest version in the library, `target_level` to its top level
    (maturity frameworks; a compliance framework takes none), `as_of` to today, `period_start` to the 90 days
    up to `as_of`.
    """
    scope = access.scope_for(g.api_user, scope_id, "start")
    tokens.may_write(g.api_token)
    version = framework_version(args["framework_id"], args["version"])
    with fields_checked():
        started = assessment_service.start_assessment(
            scope, version, args["target_level"], args["as_of"], args["period_start"]
        )
    return started, 201, {"Location": url_for("api_v1.assessment", assessment_id=started.id)}
