"""What /api/v1/openapi.json says about errors: every one is a Problem (RFC 9457), and every operation lists them.

Added over the whole document, not operation by operation, so the operations of every module, those to come
included, document the same: 401 (no valid token) and 429 (over the rate limit) everywhere, 403 on every
write (a read-only token), 404 wherever a path names an object (an id that names nothing), 400 wherever a
request has query parameters or a body (one the API cannot read, such as a cursor it did not give), and the
422 flask-smorest adds for invalid arguments, each as `application/problem+json` with the Problem schema.
An error an operation declares itself (`@bp.alt_response(404, description=...)`) keeps its description and
gets the Problem as its content. flask-smorest's catch-all "default" response is left out: with it, any
status would conform, and the fuzzer (tests/integration/test_api_fuzz.py) could not tell an undocumented one.
"""

from __future__ import annotations

import http

from apispec import BasePlugin
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields

from .problems import MEDIA_TYPE

WRITES = frozenset({"post", "put", "patch", "delete"})
METHODS = WRITES | {"get", "head", "options"}

# The descriptions of the statuses every operation may answer, whatever the operation does.
DESCRIPTIONS = {
    400: "The request could not be read (malformed JSON, or a cursor the API did not give); nothing was changed.",
    401: "No valid token: send an unexpired, unrevoked one as `Authorization: Bearer asm_…`.",
    403: "Not allowed: the token is read-only, or its owner may see this but not change it.",
    404: "No such object, or not the token owner's to see.",
    422: "Invalid fields, each named by a JSON pointer in `errors`; nothing was changed.",
    429: "Over the token's rate limit; `Retry-After` says in how many seconds to try again.",
}


class ProblemErrorSchema(Schema):
    """One invalid field of a request."""

    pointer = fields.String(required=True, metadata={"description": "JSON pointer into the request: /answers/CI-01"})
    detail = fields.String(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem: what went wrong, for a person and for a program. Some add their own members."""

    class Meta:
        unknown = INCLUDE  # documented as additionalProperties: a conflict adds `yours` and `theirs`

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(ProblemErrorSchema))


class ProblemResponses:
    """flask-smorest's error responses (the 422 among them) as problems; its catch-all "default" left out."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self):
        """Lazily register one response per status, as flask-smorest does, but as a problem+json Problem."""
        for status in http.HTTPStatus:
            response = {"description": DESCRIPTIONS.get(status.value, status.phrase)}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            if status == 429:
                response["headers"] = {
                    "Retry-After": {
                        "description": "Seconds until a request is counted again",
                        "schema": {"type": "integer"},
                    }
                }
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)


def _statuses_of(path: str, method: str, operation: dict) -> list[int]:
    """The errors this operation may answer whatever it does (see the module's docstring)."""
    statuses = [401, 429]
    if method in WRITES:
        statuses.append(403)
    if "{" in path:
        statuses.append(404)
    if operation.get("requestBody") or any(
        isinstance(p, dict) and p.get("in") == "query" for p in operation.get("parameters", ())
    ):
        statuses.append(400)
    return statuses


class ProblemsPlugin(BasePlugin):
    """An apispec plugin: each operation, as it is added to the document, gets the errors every operation has."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            declared = {str(status) for status in responses}
            for status in _statuses_of(path or "", method, operation):
                if str(status) not in declared:
                    responses[str(status)] = http.HTTPStatus(status).name
            for status, response in responses.items():
                if (
                    str(status).isdigit()
                    and int(status) >= 400
                    and isinstance(response, dict)
                    and "$ref" not in response
                ):
                    _as_problem(response)


def _as_problem(response: dict) -> None:
    """An error declared without content, or as plain JSON, is a problem: the API answers no other error."""
    content = response.setdefault("content", {})
    if not content:
        content[MEDIA_TYPE] = {"schema": "Problem"}
    elif set(content) == {"application/json"}:
        content[MEDIA_TYPE] = content.pop("application/json")
