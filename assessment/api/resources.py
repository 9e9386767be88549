"""The API's first operations: frameworks and scopes, read with a bearer token under the web's role rules.

Every operation reuses the service the web page calls; nothing here decides who may see what beyond asking
services/access.py. Lists take `limit` and an opaque `cursor` and give the next page's address in a `Link`
header (rel="next").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from flask import Response, abort, current_app, g, json, request, url_for
from flask_smorest import Blueprint
from flask_smorest import abort as abort_with
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, pre_dump, validate

from ..adapters.evidence_store import safe_filename
from ..app import on_failure
from ..domain import explain
from ..domain.compare import compare
from ..domain.errors import InvalidFile, Problem
from ..domain.framework import Framework, Scale
from ..domain.yamlread import MAX_FILE_BYTES
from ..downloads import evidence_store
from ..extensions import db
from ..models import MAX_ID, SCOPE_KINDS, FrameworkVersion
from ..readmodels.score_documents import ScoreDocuments, score_json
from ..services import access, accounts, audit, cycles, framework_import, library, review, tokens
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


BAD_CURSOR = "The cursor was not given by the API."


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default=None)


def cursor_of(position: int) -> str:
    """The opaque cursor of a list's next page: a position (an offset, or the trail's last entry number)."""
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def position_of(cursor: str | None) -> int:
    """The position a cursor names (0 without one); a cursor not made here is a 400."""
    if cursor is None:
        return 0
    try:
        position = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        position = -1
    if not 0 <= position <= MAX_ID:  # beyond MAX_ID the database could not even compare it
        abort(400, description="This cursor was not given by the API; start from the first page.")
    return position


def next_page(position: int, limit: int) -> dict[str, str]:
    """The `Link` header to the next page: this request's filters, its limit and the next cursor."""
    query = {key: value for key, value in request.args.items() if key not in ("cursor", "limit")}
    query.update(limit=str(limit), cursor=cursor_of(position))
    return {"Link": f'<{request.base_url}?{urlencode(query)}>; rel="next"'}


def page(items: list, args: dict) -> tuple[list, dict]:
    """One page of `items` (by offset) and the headers that name the next one, keeping the filters."""
    start, limit = position_of(args["cursor"]), args["limit"]
    headers = next_page(start + limit, limit) if start + limit < len(items) else {}
    return items[start : start + limit], headers


class UtcDateTime(fields.DateTime):
    """A moment in RFC 3339 with its offset, as the OpenAPI `date-time` format requires: every stored time is
    UTC, and SQLite gives it back without its zone."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class FrameworkSchema(Schema):
    id = fields.String(attribute="framework_id")
    version = fields.String()
    revision = fields.Integer()
    title = fields.String()
    kind = fields.String()
    requirement_count = fields.Integer()
    domain_count = fields.Integer()
    imported_at = UtcDateTime()


class ScopeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    description = fields.String(allow_none=True)
    created_at = UtcDateTime()


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
    assessment = access.assessment_for(g.api_user, assessment_id)
    return Response(score_json(assessment, _score_documents()), mimetype="application/json")


def _score_documents() -> ScoreDocuments:
    """This process's kept score documents (one set per application)."""
    return current_app.extensions.setdefault("score_documents", ScoreDocuments())


class AssessmentSchema(Schema):
    id = fields.Integer()
    scope_id = fields.Integer()
    framework_id = fields.String(attribute="framework_version.framework_id")
    framework_version = fields.String(attribute="framework_version.version")
    status = fields.String()
    target_level = fields.Integer(allow_none=True)
    as_of = fields.Date()
    period_start = fields.Date(allow_none=True)
    delivery_service = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    submitted_at = UtcDateTime(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    previous_id = fields.Integer(allow_none=True)


@bp.route("/scopes/<int:scope_id>/assessments")
@bp.arguments(PageArgs, location="query")
@bp.response(200, AssessmentSchema(many=True))
@bp.alt_response(404, description="No such scope, or not yours to see.")
def scope_assessments(args, scope_id: int):
    """The scope's assessments, oldest first."""
    return page(list(access.scope_for(g.api_user, scope_id).assessments), args)


class CountsSchema(Schema):
    met = fields.Integer()
    partial = fields.Integer()
    not_met = fields.Integer()
    not_applicable = fields.Integer()
    unanswered = fields.Integer()


class FiguresSchema(Schema):
    """The score's `overall` (framework-format.md, section 4) and how many gaps it lists."""

    score = fields.Float(allow_none=True)
    completion = fields.Float()
    level = fields.Integer(allow_none=True)
    level_name = fields.String(allow_none=True)
    target_level = fields.Integer(allow_none=True)
    counts = fields.Nested(CountsSchema)
    gaps = fields.Integer()


class OneAssessmentSchema(AssessmentSchema):
    figures = fields.Nested(FiguresSchema)


class _WithFigures:
    """An assessment as OneAssessmentSchema reads it: its own attributes, and its figures."""

    def __init__(self, assessment, figures: dict):
        self._assessment, self.figures = assessment, figures

    def __getattr__(self, name: str):
        return getattr(self._assessment, name)


def _figures(assessment) -> dict:
    """The figures of the score document GET …/score gives (the same kept document, so both always agree)."""
    document = json.loads(score_json(assessment, _score_documents()))
    return {**document["overall"], "gaps": len(document["gaps"])}


@bp.route("/assessments/<int:assessment_id>")
@bp.response(200, OneAssessmentSchema)
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment(assessment_id: int):
    """One assessment: its framework, status, dates and figures (score, completion, level, counts, gaps)."""
    found = access.assessment_for(g.api_user, assessment_id)
    return _WithFigures(found, _figures(found))


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
    delivery_service = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


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
    up to `as_of`. With a `delivery_service` (one of the scope's services with delivery events), its metric
    questions are answered from that service's events over the period, each with its provenance and the
    events snapshot as evidence (delivery-events.md, section 5).
    """
    scope = access.scope_for(g.api_user, scope_id, "start")
    tokens.may_write(g.api_token)
    version = framework_version(args["framework_id"], args["version"])
    with fields_checked():
        store = evidence_store()
        started = assessment_service.start_assessment(
            scope, version, args["target_level"], args["as_of"], args["period_start"],
            delivery_service=args["delivery_service"], store=store, actor=g.api_user.username,
            on_stored=lambda stored: on_failure(lambda: store.discard(stored)),
        )  # fmt: skip
    return started, 201, {"Location": url_for("api_v1.assessment", assessment_id=started.id)}


# --- frameworks: one version's structure, and importing a framework file --------------------------


class OptionSchema(Schema):
    value = fields.String()
    label = fields.String()
    credit = fields.Float()


class BandSchema(Schema):
    credit = fields.Float()
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)


class AnswerSpecSchema(Schema):
    """How a requirement is answered: a scale's values, or a number's bands."""

    kind = fields.String(metadata={"enum": ["scale", "numeric"]})
    scale = fields.String(allow_none=True, metadata={"description": "The scale's id (kind scale)."})
    options = fields.List(fields.Nested(OptionSchema), metadata={"description": "The scale's values (kind scale)."})
    unit = fields.String(allow_none=True, metadata={"description": "The number's unit (kind numeric)."})
    bands = fields.List(fields.Nested(BandSchema), metadata={"description": "Credit by range (kind numeric)."})

    @pre_dump
    def _of_spec(self, spec, **_):
        if isinstance(spec, Scale):
            return {"kind": "scale", "scale": spec.id, "options": spec.options}
        return {"kind": "numeric", "unit": spec.unit, "bands": spec.bands}


class RequirementSchema(Schema):
    id = fields.String()
    title = fields.String()
    question = fields.String()
    level = fields.Integer(allow_none=True)
    weight = fields.Float()
    answer = fields.Nested(AnswerSpecSchema)
    na_allowed = fields.Boolean()
    evidence = fields.String(metadata={"enum": ["required", "optional", "none"]})
    section = fields.String(allow_none=True)
    guidance = fields.String(allow_none=True)
    recommendation = fields.String(allow_none=True)
    tags = fields.List(fields.String())


class DomainSchema(Schema):
    id = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    weight = fields.Float()
    requirements = fields.List(fields.Nested(RequirementSchema))


class LevelSchema(Schema):
    number = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)


class FrameworkStructureSchema(FrameworkSchema):
    description = fields.String(allow_none=True)
    publisher = fields.String(allow_none=True)
    license = fields.String(allow_none=True)
    met_threshold = fields.Float()
    levels = fields.List(fields.Nested(LevelSchema))
    domains = fields.List(fields.Nested(DomainSchema))


def _structure(row: FrameworkVersion, framework: Framework) -> dict:
    """A stored version's library row and its parsed framework, as one document."""
    stored = (
        "framework_id",
        "version",
        "revision",
        "title",
        "kind",
        "requirement_count",
        "domain_count",
        "imported_at",
    )
    parsed = ("description", "publisher", "license", "met_threshold", "levels", "domains")
    return {**{name: getattr(row, name) for name in stored}, **{name: getattr(framework, name) for name in parsed}}


@bp.route("/frameworks/<framework_id>/versions/<version>")
@bp.response(200, FrameworkStructureSchema)
@bp.alt_response(404, description="The library has no such framework version.")
def framework_structure(framework_id: str, version: str):
    """One version of a framework as the library page shows it: its levels, domains and requirements with
    how each is answered (the newest revision of the version, should the same version have been re-imported)."""
    rows = [row for row in library.versions_of(framework_id) if row.version == version]
    if not rows:
        abort(404, description=f"The library has no version {version!r} of a framework {framework_id!r}.")
    return _structure(rows[0], library.framework_of(rows[0]))


SOURCES = (
    "A framework file of ours (format 1, YAML), or another tool's catalogue that `assessment convert` reads "
    "(a CISO Assistant library, a DSOMM model, a CSV or XLSX sheet, or a ZIP of a SAMM model folder); at most 5 MB."
)


class FrameworkFileSchema(Schema):
    file = Upload(required=True, metadata={"description": SOURCES})


class DomainCountSchema(Schema):
    id = fields.String()
    title = fields.String()
    requirements = fields.Integer(metadata={"description": "How many requirements the domain holds."})


class FrameworkPreviewSchema(Schema):
    source_name = fields.String(metadata={"description": "The uploaded file's name, made safe."})
    converter = fields.String(
        metadata={"description": "`ours` for a framework file of ours, else the converter that read it."}
    )
    source_kind = fields.String(metadata={"description": "What the file was, in words."})
    id = fields.String(attribute="framework_id")
    version = fields.String()
    title = fields.String()
    kind = fields.String()
    domain_count = fields.Integer(attribute="domains")
    requirement_count = fields.Integer(attribute="requirements")
    level_count = fields.Integer(attribute="levels")
    first_domains = fields.List(fields.Nested(DomainCountSchema), metadata={"description": "At most five."})
    status = fields.String(
        validate=validate.OneOf(("stored", "new-framework", "new-version", "new-revision")),
        metadata={"description": "What storing it would do: nothing, or add a framework, a version or a revision."},
    )
    revision = fields.Integer(metadata={"description": "The revision it is, or would be once stored."})
    sha256 = fields.String(metadata={"description": "The SHA-256 of the framework text that would be stored."})
    content = fields.String(attribute="text", metadata={"description": "The framework file that would be stored."})


class FileProblems(Exception):
    """A framework file's problems, each where it is in the file: a 422 problem listing them all."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


_SIMPLE_PATH = re.compile(r"(?:[A-Za-z0-9_-]+|\[\d+\])(?:\.[A-Za-z0-9_-]+|\[\d+\])*\Z")


def file_pointer(path: str) -> str | None:
    """The format's path of a problem (`domains[0].requirements[2].id`) as a JSON pointer into the file
    (`/domains/0/requirements/2/id`); "" for the whole file; None when a key in it cannot be told apart."""
    if path in ("", "$"):
        return ""
    if not _SIMPLE_PATH.match(path):
        return None
    return "".join(f"/{part}" for part in re.findall(r"[A-Za-z0-9_-]+", path))


@bp.errorhandler(FileProblems)
def file_problems(error: FileProblems):
    """Every problem of the file, with the spec's `FILE:LINE: PATH: message` line and a pointer where one exists."""
    listed = []
    for found in error.problems:
        entry = {"line": found.line, "path": found.path or "$", "detail": found.message, "problem": str(found)}
        pointer = file_pointer(found.path)
        if pointer is not None:
            entry["pointer"] = pointer
        listed.append(entry)
    return problems.problem(
        422,
        "Unprocessable Content",
        "The file cannot be imported as a framework (format 1); nothing was stored. Each error names its line and, "
        "as a JSON pointer, its place in the file.",
        errors=listed,
    )


def _upload_preview(files) -> framework_import.Preview:
    """The preview of the uploaded `file` in any source format, or every problem as a 422; nothing stored."""
    upload = files["file"]
    name = safe_filename(upload.filename)
    try:
        return framework_import.preview_upload(name, upload.stream.read(MAX_FILE_BYTES + 1))
    except InvalidFile as error:
        raise FileProblems(error.problems) from None


@bp.route("/frameworks", methods=["POST"])
@bp.arguments(FrameworkFileSchema, location="files", content_type="multipart/form-data")
@bp.response(201, FrameworkSchema, headers=location_header("The stored version's structure."))
@bp.alt_response(200, schema=FrameworkSchema, description="This exact file is in the library already.")
@bp.alt_response(403, description="Only an admin imports frameworks into the library.")
def import_framework(files):
    """Import a framework into the library (admins), from a file of ours or any source `assessment convert`
    reads, as `assessment library import` stores each file: a new content is a new version (or a new revision
    of its version), never a change to a stored one. What is stored is the converted file of ours."""
    access.require(g.api_user, "library-import")
    tokens.may_write(g.api_token)
    preview = _upload_preview(files)
    row, created = library.store_framework(preview.framework, preview.text, preview.source_name)
    where = url_for("api_v1.framework_structure", framework_id=row.framework_id, version=row.version)
    return row, 201 if created else 200, {"Location": where}


@bp.route("/frameworks/preview", methods=["POST"])
@bp.arguments(FrameworkFileSchema, location="files", content_type="multipart/form-data")
@bp.response(200, FrameworkPreviewSchema)
@bp.alt_response(403, description="Only an admin imports frameworks into the library.")
def preview_framework(files):
    """What importing this file would store (admins), without storing anything: which converter read it, the
    framework's id, version, counts and first domains, whether it is new, and the converted file itself."""
    access.require(g.api_user, "library-import")
    tokens.may_write(g.api_token)
    return _upload_preview(files)


# --- scopes: create one, its team ------------------------------------------------------------------


class NewScopeSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(SCOPE_KINDS))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


@bp.route("/scopes", methods=["POST"])
@bp.arguments(NewScopeSchema)
@bp.response(201, ScopeSchema, headers=location_header("The new scope's address."))
@bp.alt_response(403, description="Only program leads and admins create scopes.")
def create_scope(args):
    """Add a scope, as the home page's form does (names are unique: another scope's name is a 422 at /name)."""
    access.require(g.api_user, "create-scope")
    tokens.may_write(g.api_token)
    try:
        scope = assessment_service.create_scope(args["name"], args["kind"], args["description"])
    except InvalidInput as error:  # the fields' own rules are the schema's: what is left is about the name
        invalid_field("name", error.message)
    return scope, 201, {"Location": url_for("api_v1.scope", scope_id=scope.id)}


class MemberSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String(attribute="display_name")
    role = fields.String()


@bp.route("/scopes/<int:scope_id>/members")
@bp.arguments(PageArgs, location="query")
@bp.response(200, MemberSchema(many=True))
@bp.alt_response(400, description=BAD_CURSOR)
@bp.alt_response(404, description="No such scope, or not yours to see.")
def scope_members(args, scope_id: int):
    """The scope's team, by user name (everyone who reads the scope sees its team, as on the scope page)."""
    return page(list(access.scope_for(g.api_user, scope_id).members), args)


@bp.route("/scopes/<int:scope_id>/members/<username>", methods=["PUT"])
@bp.response(200, MemberSchema)
@bp.alt_response(403, description="Only program leads and admins manage a scope's team.")
@bp.alt_response(404, description="No such scope (or not yours to see), or no active user of that name.")
@bp.alt_response(422, description="That user is not a team member (only team members join a scope's team).")
def add_scope_member(scope_id: int, username: str):
    """Give a team member the scope (review.add_member, as the scope page's team form; already on it: no change)."""
    scope = access.scope_for(g.api_user, scope_id, "members")
    tokens.may_write(g.api_token)
    try:
        return review.add_member(scope, username)
    except InvalidInput as error:
        invalid_field("username", error.message, "path")


@bp.route("/scopes/<int:scope_id>/members/<username>", methods=["DELETE"])
@bp.response(204)
@bp.alt_response(403, description="Only program leads and admins manage a scope's team.")
@bp.alt_response(404, description="No such scope (or not yours to see), or no user of that name.")
def remove_scope_member(scope_id: int, username: str):
    """Take the scope away from a team member (review.remove_member; not on the team: no change)."""
    scope = access.scope_for(g.api_user, scope_id, "members")
    tokens.may_write(g.api_token)
    review.remove_member(scope, accounts.get_user(username).id)


# --- results: gaps, and the comparison with the previous cycle ------------------------------------


class GapSchema(Schema):
    requirement_id = fields.String()
    title = fields.String()
    domain_id = fields.String()
    level = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": ["partial", "not_met", "unanswered"]})
    value = fields.Raw(allow_none=True, metadata={"description": "The answer: a scale value or a number."})
    credit = fields.Float()
    unsupported = fields.Boolean()
    unsupported_reason = fields.String(allow_none=True, metadata={"description": "Why a claim earns nothing."})
    recommendation = fields.String(allow_none=True)


def _gap(result, as_of) -> dict:
    """One gap as the results page shows it."""
    requirement = result.requirement
    return {
        "requirement_id": result.id,
        "title": requirement.title,
        "domain_id": requirement.domain_id,
        "level": requirement.level,
        "status": result.status,
        "value": result.value,
        "credit": result.credit,
        "unsupported": result.unsupported,
        "unsupported_reason": explain.claim_reason(result, as_of),
        "recommendation": requirement.recommendation,
    }


@bp.route("/assessments/<int:assessment_id>/gaps")
@bp.arguments(PageArgs, location="query")
@bp.response(200, GapSchema(many=True))
@bp.alt_response(400, description=BAD_CURSOR)
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment_gaps(args, assessment_id: int):
    """The assessment's gaps in the spec's priority order (level, then file order), up to its target level, as
    the results page lists them: every applicable requirement not met, with why a claim earns nothing."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    card = assessment_service.load_state(assessment).card
    shown, headers = page(list(card.gaps), args)
    return [_gap(result, card.as_of) for result in shown], headers


class CycleSchema(Schema):
    id = fields.Integer()
    as_of = fields.Date()
    framework_version = fields.String()
    status = fields.String()
    score = fields.Float(allow_none=True)
    level = fields.Integer(allow_none=True)


class DomainDeltaSchema(Schema):
    domain_id = fields.String()
    title = fields.String()
    before_score = fields.Float(allow_none=True)
    after_score = fields.Float(allow_none=True)
    score_delta = fields.Float(allow_none=True)
    before_level = fields.Integer(allow_none=True)
    after_level = fields.Integer(allow_none=True)
    level_delta = fields.Integer(allow_none=True)
    in_before = fields.Boolean()
    in_after = fields.Boolean()


class RequirementChangeSchema(Schema):
    requirement_id = fields.String()
    title = fields.String()
    domain_id = fields.String()
    kind = fields.String(metadata={"enum": ["improved", "regressed", "unchanged", "new", "removed"]})
    status_changed = fields.Boolean()
    before_status = fields.String(allow_none=True)
    after_status = fields.String(allow_none=True)
    before_credit = fields.Float(allow_none=True)
    after_credit = fields.Float(allow_none=True)
    before_unsupported = fields.Boolean(allow_none=True)
    after_unsupported = fields.Boolean(allow_none=True)


class ComparisonSchema(Schema):
    before = fields.Nested(CycleSchema)
    after = fields.Nested(CycleSchema)
    score_delta = fields.Float(allow_none=True)
    level_delta = fields.Integer(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Changes by kind."})
    domains = fields.List(fields.Nested(DomainDeltaSchema))
    requirements = fields.List(fields.Nested(RequirementChangeSchema))


def _cycle(assessment, card) -> dict:
    """One side of a comparison: which assessment, and its overall figures."""
    return {
        "id": assessment.id,
        "as_of": assessment.as_of,
        "framework_version": assessment.framework_version.version,
        "status": assessment.status,
        "score": card.score,
        "level": card.level,
    }


class CompareArgs(Schema):
    other = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={
            "description": "Another assessment of the scope on the same framework (default: the previous cycle)."
        },
    )


@bp.route("/assessments/<int:assessment_id>/comparison")
@bp.arguments(CompareArgs, location="query")
@bp.response(200, ComparisonSchema)
@bp.alt_response(400, description="The other assessment is of another scope or framework.")
@bp.alt_response(404, description="No such assessment, not yours to see, or no previous cycle to compare with.")
def assessment_comparison(args, assessment_id: int):
    """The assessment against the cycle it was started from (or `other`), as the web's comparison page computes
    it (domain/compare.py: requirements matched by id, improved or regressed by credit, new and removed ones);
    `before` is the earlier of the two."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    other_id = args["other"] or assessment.previous_id
    if other_id is None:
        abort(404, description="This assessment was not started from an earlier cycle: there is none to compare.")
    before, after = cycles.comparable(assessment, access.assessment_for(g.api_user, other_id))
    before_card = assessment_service.load_state(before).card
    after_card = assessment_service.load_state(after).card
    comparison = compare(before_card, after_card)
    return {
        "before": _cycle(before, before_card),
        "after": _cycle(after, after_card),
        "score_delta": comparison.score_delta,
        "level_delta": comparison.level_delta,
        "counts": comparison.counts,
        "domains": comparison.domains,
        "requirements": comparison.requirements,
    }
