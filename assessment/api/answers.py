"""/api/v1 answers: read all, write one, write many (all-or-nothing), and the export zip that pull reads.

Declared on resources.bp; each operation asks services/access.py, then calls the service the web page calls:
`save_answer` for one answer (the questionnaire's), `answer_batch.save_answers` for many (the same rules in a
constant number of statements). A value is a scale value or `na` as a string, a number for a numeric
requirement, or null for none. Every error of a request comes back at once, each with its JSON pointer
(`/answers/CI-01/value`); a conflict gives both versions, yours and theirs; nothing is saved on any error.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, g, json, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge, UnprocessableEntity

from ..domain import values
from ..domain.framework import Framework
from ..extensions import db, report_store
from ..models import Answer as AnswerRow
from ..services import access, answer_batch, tokens, transfer
from ..services import assessments as assessment_service
from ..services.answer_batch import MAX_ANSWERS, ConflictingAnswers, Refusal, Submitted
from ..services.assessments import ANSWER_COLUMNS, SaveResult
from ..services.errors import Conflict, InvalidInput
from . import problems
from .resources import BAD_CURSOR, PageArgs, bp, page

JSON_MAX_BYTES = 8 << 20  # an answers request's body: 5,000 answers with long notes fit, a flood does not
MAX_LIMIT = 2000  # answers in one page: a whole 1,200-requirement assessment in one request


def small_body(view):
    """Refuse a request body over JSON_MAX_BYTES with a 413 problem before it is read (the app's own limit
    is set for evidence uploads, far above what a JSON answer needs)."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        limit = current_app.config.get("API_JSON_MAX_BYTES", JSON_MAX_BYTES)
        if (request.content_length or 0) > limit:  # the blueprint's 413 handler shows this description
            raise RequestEntityTooLarge(
                f"The request body is larger than {limit / 1024 / 1024:.0f} MB; send fewer answers at a time."
            )
        request.max_content_length = limit  # a body of no stated length stops there too
        return view(*args, **kwargs)

    return limited


# --- shapes -----------------------------------------------------------------------------------------


class AnswerValue(fields.Field):
    """An answer's value as JSON gives it: a scale value or `na` as a string, a number, or null for none."""

    def __init__(self, **kwargs):
        description = "A scale value or `na` (a string), a number (a numeric requirement), or null for none."
        super().__init__(metadata={"description": description}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Give a scale value or na as a string, a number, or null.")
        try:
            return values.encode(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class AnswerWriteSchema(Schema):
    value = AnswerValue(required=True, allow_none=True)
    note = fields.String(load_default=None, allow_none=True)
    revision = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "The answer's revision as you read it (0: never saved)."},
    )


@dataclass(frozen=True)
class Malformed:
    """An entry of a PATCH whose shape is wrong; its messages join the one 422 with every other error."""

    messages: Any


class AnswerEntries(fields.Dict):
    """`{requirement id: answer}`. An entry of the wrong shape does not stop the others being checked: it is
    kept as Malformed, so the request's one 422 lists every error of every entry."""

    def __init__(self, **kwargs):
        super().__init__(
            keys=fields.String(),
            values=fields.Nested(AnswerWriteSchema),
            metadata={"minProperties": 1, "maxProperties": MAX_ANSWERS},
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        if not value:
            raise ValidationError("Send at least one answer.")
        if len(value) > MAX_ANSWERS:
            raise ValidationError(f"At most {MAX_ANSWERS:,} answers in one request; send the rest in another.")
        loaded = {}
        for requirement_id, entry in value.items():
            try:
                loaded[requirement_id] = self.value_field.deserialize(entry)
            except ValidationError as error:
                loaded[requirement_id] = Malformed(error.messages)
        return loaded


class AnswersPatchSchema(Schema):
    answers = AnswerEntries(required=True)


class AnswerSchema(Schema):
    requirement_id = fields.String()
    value = fields.Raw(allow_none=True, metadata={"description": "As written: a string, a number, or null."})
    note = fields.String(allow_none=True)
    revision = fields.Integer(metadata={"description": "Send it back to change the answer (0: never saved)."})
    answered_by = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    carried_over = fields.Boolean(metadata={"description": "Still the previous cycle's answer, unconfirmed."})


class SavedSchema(Schema):
    saved = fields.List(fields.String())
    unchanged = fields.List(fields.String())
    answers = fields.List(fields.Nested(AnswerSchema))


class AnswerPageArgs(PageArgs):
    limit = fields.Integer(load_default=MAX_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


# --- errors -----------------------------------------------------------------------------------------


class AnswerConflict(Conflict):
    """Someone else saved this answer since it was read (PUT): the problem gives both versions."""

    def __init__(self, result: SaveResult, requirement):
        super().__init__(
            f"{result.requirement_id} was changed by {result.theirs_by} since you read it; nothing was saved. "
            "Decide between the two versions, then send yours with their revision."
        )
        self.result = result
        self.requirement = requirement


def _problem(error: Conflict, **members):
    body = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": error.message, **members}
    return json.dumps(body), 409, {"Content-Type": problems.MEDIA_TYPE}


def _versions(result: SaveResult, requirement) -> dict:
    return {
        "yours": {"value": _shown(requirement, result.yours_value), "note": result.yours_note},
        "theirs": {
            "value": _shown(requirement, result.theirs_value),
            "note": result.theirs_note,
            "revision": result.revision,
            "answered_by": result.theirs_by,
        },
    }


@bp.errorhandler(AnswerConflict)
def answer_conflict(error: AnswerConflict):
    return _problem(error, requirement_id=error.result.requirement_id, **_versions(error.result, error.requirement))


@bp.errorhandler(ConflictingAnswers)
def answers_conflict(error: ConflictingAnswers):
    index = g.api_framework.requirement_index
    conflicts = [
        {"requirement_id": c.requirement_id, **_versions(c, index.get(c.requirement_id))} for c in error.conflicts
    ]
    return _problem(error, conflicts=conflicts)


def _unprocessable(messages: dict) -> UnprocessableEntity:
    """A 422 the blueprint's handler answers as marshmallow's: every message with its JSON pointer."""
    error = UnprocessableEntity()
    error.data = {"messages": {"json": messages}}
    return error


def _messages(refusals: list[Refusal], malformed: dict[str, Malformed]) -> dict:
    """Refusals and malformed entries as marshmallow's nested messages under /answers."""
    found: dict[str, Any] = {}
    for requirement_id, entry in malformed.items():
        messages = entry.messages
        if isinstance(messages, dict) and set(messages) == {"_schema"}:
            messages = messages["_schema"]  # the entry itself is wrong (not an object)
        found[requirement_id] = messages
    for refusal in refusals:
        if refusal.field is None:
            found.setdefault(refusal.requirement_id, []).append(refusal.message)
        else:
            found.setdefault(refusal.requirement_id, {}).setdefault(refusal.field, []).append(refusal.message)
    return {"answers": found}


# --- reading ----------------------------------------------------------------------------------------


def _shown(requirement, text: str | None):
    """A stored value as the API writes it: a number for a numeric requirement, else the text."""
    if requirement is None or text is None:
        return text
    try:
        return values.decode(text, requirement)
    except ValueError:
        return text


def _json(payload: Any, headers: dict | None = None) -> Response:
    """`payload` as the declared schema would write it, serialized at once: marshmallow would take longer over
    2,000 answers than reading them (the OpenAPI document still says their shape, from the schema)."""
    return Response(json.dumps(payload), mimetype="application/json", headers=headers)


def _moment(value: dt.datetime | None) -> str | None:
    """A stored time in RFC 3339 with its offset (every stored time is UTC; SQLite gives it back without zone)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def _answers(assessment, framework: Framework, only: list[str] | None = None) -> list[dict]:
    """The stored answers in the framework's order (those of `only`, never saved ones included), in one query,
    as AnswerSchema writes them."""
    rows = {
        row.requirement_id: row
        for row in db.session.execute(select(*ANSWER_COLUMNS).where(AnswerRow.assessment_id == assessment.id))
    }
    index = framework.requirement_index
    order = {r.id: i for i, r in enumerate(framework.requirements)}
    wanted = sorted(rows if only is None else only, key=lambda rid: (order.get(rid, len(order)), rid))
    shown = []
    for rid in wanted:
        row = rows.get(rid)
        shown.append(
            {
                "requirement_id": rid,
                "value": _shown(index.get(rid), row.value) if row else None,
                "note": row.note if row else None,
                "revision": row.revision if row else 0,
                "answered_by": row.answered_by if row else None,
                "answered_at": _moment(row.answered_at) if row else None,
                "carried_over": bool(row.carried_over) if row else False,
            }
        )
    return shown


@bp.route("/assessments/<int:assessment_id>/answers")
@bp.arguments(AnswerPageArgs, location="query")
@bp.response(200, AnswerSchema(many=True))
@bp.alt_response(400, description=BAD_CURSOR)
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def answers(args, assessment_id: int):
    """The assessment's stored answers in the framework's order, up to 2,000 a page (all of one by default)."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    framework = assessment_service.framework_of(assessment.framework_version)
    return _json(*page(_answers(assessment, framework), args))


# --- writing ----------------------------------------------------------------------------------------


def _for_answering(assessment_id: int):
    assessment = access.assessment_for(g.api_user, assessment_id, "answer")
    tokens.may_write(g.api_token)
    g.api_framework = assessment_service.framework_of(assessment.framework_version)
    return assessment, g.api_framework


@bp.route("/assessments/<int:assessment_id>/answers/<requirement_id>", methods=["PUT"])
@small_body
@bp.arguments(AnswerWriteSchema)
@bp.response(200, AnswerSchema)
@bp.alt_response(403, description="Your role or token may read this assessment but not answer it.")
@bp.alt_response(404, description="No such assessment or requirement, or not yours to see.")
@bp.alt_response(409, description="Changed by someone else since you read it (both versions given), or locked.")
@bp.alt_response(413, description="The request body is too large.")
def answer_put(body, assessment_id: int, requirement_id: str):
    """Save one answer, as the questionnaire saves it, unless someone saved it since the revision you read."""
    assessment, framework = _for_answering(assessment_id)
    try:
        result = assessment_service.save_answer(
            assessment,
            framework,
            requirement_id,
            body["value"],
            body["note"],
            body["revision"],
            g.api_user.username,
        )
    except InvalidInput as error:
        raise _unprocessable({error.field or "value": [error.message]}) from None
    if result.outcome == "conflict":
        raise AnswerConflict(result, framework.requirement_index.get(requirement_id))
    (answer,) = _answers(assessment, framework, [requirement_id])
    return _json(answer)


@bp.route("/assessments/<int:assessment_id>/answers", methods=["PATCH"])
@small_body
@bp.arguments(AnswersPatchSchema)
@bp.response(200, SavedSchema)
@bp.alt_response(403, description="Your role or token may read this assessment but not answer it.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
@bp.alt_response(409, description="Some answers were changed by someone else (each with both versions), or locked.")
@bp.alt_response(413, description="The request body is too large.")
def answers_patch(body, assessment_id: int):
    """Save many answers in one change: all of them, or none when any is invalid (one 422 naming each) or in
    conflict (one 409 giving both versions of each)."""
    assessment, framework = _for_answering(assessment_id)
    entries = body["answers"]
    malformed = {rid: entry for rid, entry in entries.items() if isinstance(entry, Malformed)}
    submitted = [
        Submitted(rid, entry["value"], entry["note"], entry["revision"])
        for rid, entry in entries.items()
        if not isinstance(entry, Malformed)
    ]
    if malformed:
        raise _unprocessable(_messages(answer_batch.refusals(assessment, framework, submitted), malformed))
    try:
        results = answer_batch.save_answers(assessment, framework, submitted, g.api_user.username)
    except answer_batch.InvalidAnswers as error:
        raise _unprocessable(_messages(error.refusals, {})) from None
    return _json(
        {
            "saved": [r.requirement_id for r in results if r.outcome == "saved"],
            "unchanged": [r.requirement_id for r in results if r.outcome == "unchanged"],
            "answers": _answers(assessment, framework, [r.requirement_id for r in results]),
        }
    )


# --- the export -------------------------------------------------------------------------------------


@bp.route("/assessments/<int:assessment_id>/export")
@bp.response(
    200,
    description="The zip of the web's export: framework.yaml, answers.yaml and evidence/.",
    content_type="application/zip",
)
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def assessment_export(assessment_id: int):
    """The assessment as the web's export zip (`assessment pull` unpacks it); the trail records who took it."""
    assessment = access.assessment_for(g.api_user, assessment_id)
    data = transfer.export_zip(assessment, report_store(current_app).evidence)
    transfer.record_export(assessment)
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{transfer.export_name(assessment)}.zip"'},
    )
