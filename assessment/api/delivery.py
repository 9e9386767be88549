"""/api/v1 delivery data: a scope's events sent in batches, and its four key metrics read back.

Declared on resources.bp. A batch goes to `services.delivery.add_events`, the one way in every source
shares (an upload's job, a webhook), which checks it against what the scope keeps, in the transaction that
writes it: all of it is stored or none, and a batch sent again adds nothing (200, every event `unchanged`).
The events themselves are checked by the domain's reader, not field by field here: marshmallow only sees a
list, and every problem of the reader comes back in one 422, each at `/events/<index>/<key...>`. The metrics
are exactly the document of `assessment dora --format json` over the scope's stored events.
"""

from __future__ import annotations

import datetime as dt
import functools
import json as stdlib_json
import re

from flask import Response, current_app, g, request
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from ..domain.delivery import Window, dora_document
from ..domain.delivery.metrics import DEFAULT_DAYS
from ..domain.errors import InvalidFile, Problem
from ..readmodels.delivery_metrics import scope_index
from ..services import access, delivery, tokens
from . import problems
from .resources import bp

EVENTS_MAX_BYTES = 32 << 20  # a batch's body: 10,000 events with long change lists fit, a flood does not
MAX_DAYS = 3660  # a window of ten years: longer is a mistake, and the metrics would read every event anyway
BATCH_NAME = "events"  # the reader's "file" of a batch: a problem's line is the event's index + 1

_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[(\"(?:[^\"\\]|\\.)*\")\]")


def events_body(view):
    """Refuse a body over EVENTS_MAX_BYTES (API_EVENTS_MAX_BYTES) with a 413 problem before it is read."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        limit = current_app.config.get("API_EVENTS_MAX_BYTES", EVENTS_MAX_BYTES)
        if (request.content_length or 0) > limit:
            raise RequestEntityTooLarge(
                f"The request body is larger than {limit / 1024 / 1024:.0f} MB; send the events in smaller batches."
            )
        request.max_content_length = limit  # a body of no stated length stops there too
        return view(*args, **kwargs)

    return limited


class EventList(fields.List):
    """The batch's events as sent: a list of objects, each checked by the domain's reader, not here."""

    def __init__(self, **kwargs):
        super().__init__(
            fields.Dict(),
            metadata={
                "description": "Events in the format of delivery-events.md (change, deployment, incident, gate...).",
                "minItems": 1,
                "maxItems": delivery.MAX_BATCH_EVENTS,
            },
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("Send the events as a list of objects.")
        if not value:
            raise ValidationError("Send at least one event.")
        return value  # each item is the reader's to check, with its index as the line


class EventsBatchSchema(Schema):
    events = EventList(required=True)


class AddedSchema(Schema):
    added = fields.Integer(metadata={"description": "Events stored by this batch."})
    unchanged = fields.Integer(metadata={"description": "Events already stored with the same content."})
    resolved = fields.Integer(metadata={"description": "Open incidents this batch resolved."})
    batch = fields.String(metadata={"description": "The batch's SHA-256, as the trail records it."})


class MetricsArgs(Schema):
    as_of = fields.Date(load_default=None, metadata={"description": "The window's last day (default: today, UTC)."})
    days = fields.Integer(load_default=DEFAULT_DAYS, validate=validate.Range(min=1, max=MAX_DAYS))
    service = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list)


def pointer_of(problem: Problem) -> str:
    """The JSON pointer into the request of a reader's problem: its line is the event's index + 1 and its
    path a JSONPath into the event (`$.changes[2]` at line 4: `/events/3/changes/2`)."""
    base = f"/events/{problem.line - 1}" if problem.file == BATCH_NAME and problem.line >= 1 else "/events"
    parts = []
    for name, index, quoted in _PATH_PART.findall(problem.path[1:] if problem.path.startswith("$") else ""):
        part = name or index or stdlib_json.loads(quoted)
        parts.append(part.replace("~", "~0").replace("/", "~1"))
    return base + "".join(f"/{part}" for part in parts)


class InvalidEvents(Exception):
    """A batch the reader refused: answered as one 422 problem with every problem at its pointer."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


@bp.errorhandler(InvalidEvents)
def invalid_events(error: InvalidEvents):
    found = [{"pointer": pointer_of(p), "detail": p.message} for p in error.problems]
    return problems.problem(
        422, "Unprocessable Entity", "The batch has invalid events; nothing was stored.", errors=found
    )


@bp.route("/scopes/<int:scope_id>/events", methods=["POST"])
@events_body
@bp.arguments(EventsBatchSchema)
@bp.response(201, AddedSchema, description="New events stored (or open incidents resolved).")
@bp.alt_response(200, schema=AddedSchema, description="Every event was already stored: nothing changed.")
@bp.alt_response(403, description="Your role or token may read this scope but not add its delivery data.")
@bp.alt_response(404, description="No such scope, or not yours to see.")
@bp.alt_response(413, description=f"More than {delivery.MAX_BATCH_EVENTS:,} events, or a body too large.")
def add_scope_events(body, scope_id: int):
    """Store a batch of delivery events in the scope, all or none (one 422 naming every problem); a batch sent
    again adds nothing."""
    scope = access.scope_for(g.api_user, scope_id, "delivery")
    tokens.may_write(g.api_token)
    events = body["events"]
    if len(events) > delivery.MAX_BATCH_EVENTS:
        raise RequestEntityTooLarge(
            f"{len(events):,} events in one batch; send at most {delivery.MAX_BATCH_EVENTS:,} at a time."
        )
    items = [(BATCH_NAME, index, event) for index, event in enumerate(events, 1)]
    try:
        added = delivery.add_events(scope, items, source="api", actor=g.api_user.username)
    except InvalidFile as error:
        raise InvalidEvents(error.problems) from None
    document = {"added": added.added, "unchanged": added.unchanged, "resolved": added.resolved, "batch": added.batch}
    status = 201 if added.added or added.resolved else 200
    return Response(stdlib_json.dumps(document), status=status, mimetype="application/json")


@bp.route("/scopes/<int:scope_id>/metrics")
@bp.arguments(MetricsArgs, location="query")
@bp.response(200, description="The document of `assessment dora --format json` (delivery-events.md, section 6).")
@bp.alt_response(404, description="No such scope, or not yours to see.")
def scope_metrics(args, scope_id: int):
    """The four key delivery metrics of the scope's stored events, per service, for the `days` days ending on
    `as_of`, with release reviews and gates: exactly what `assessment dora --format json` gives."""
    access.scope_for(g.api_user, scope_id)
    window = Window.ending(args["as_of"] or dt.datetime.now(dt.UTC).date(), args["days"])
    index = scope_index(scope_id)
    return Response(
        stdlib_json.dumps(dora_document(index, window, args["service"] or None)), mimetype="application/json"
    )
