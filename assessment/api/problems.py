"""Errors of the API as RFC 9457 problem details (`application/problem+json`).

Each has type, title, status and detail; a validation error adds `errors`, each naming its field by a
JSON pointer into the request (`/answers/CI-01/value`, or `/query/limit` for a query parameter).
"""

from __future__ import annotations

from flask import json
from werkzeug.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, *, errors: list[dict] | None = None, headers=None):
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return json.dumps(body), status, {"Content-Type": MEDIA_TYPE, **(headers or {})}


def pointers(messages, base: str = "") -> list[dict]:
    """marshmallow's nested messages as a flat list of {pointer, detail}."""
    found: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            found += pointers(value, f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found += [{"pointer": base or "/", "detail": m} for m in messages]
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            found += pointers(value, f"{base}/{index}")
    else:
        found.append({"pointer": base or "/", "detail": str(messages)})
    return found


def install(bp) -> None:
    """Errors raised by the API's operations answer as problems; the web's error pages stay as they are."""
    from ..services.errors import ServiceError

    @bp.errorhandler(HTTPException)
    def http_problem(error: HTTPException):
        errors = None
        data = getattr(error, "data", None) or {}
        detail = error.description or ""
        if error.code == 422 and "messages" in data:
            errors = []
            for location, messages in data["messages"].items():
                errors += pointers(messages, "" if location == "json" else f"/{location}")
            detail = "The request has invalid fields; nothing was changed."
        kept = {k: v for k, v in error.get_headers() if k in ("WWW-Authenticate", "Allow", "Retry-After")}
        return problem(error.code or 500, error.name, detail, errors=errors, headers=kept)

    @bp.errorhandler(ServiceError)
    def service_problem(error: ServiceError):
        titles = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 500: "Server Error"}
        field = getattr(error, "field", None)
        errors = [{"pointer": f"/{field}", "detail": error.message}] if field else None
        return problem(error.status, titles.get(error.status, "Error"), error.message, errors=errors)
