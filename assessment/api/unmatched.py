"""A request under /api/v1 that matches no operation answers a problem (404, or 405 with Allow), not a web page.

Such a request belongs to no blueprint, so neither the API's error handlers nor its "no session needed" rule
would see it: the web would send it to the sign-in page, or show its HTML error page. Its routing error is
therefore raised early, as an error of its own class that answers a problem; everywhere else the web's error
pages stay as they are. It is raised from a URL value preprocessor, which Flask runs before every
before_request (the sign-in redirect among them) and only once routing has been tried.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from . import problems


class UnknownOperation(NotFound):
    """No /api/v1 operation has this path."""

    description = "No operation of /api/v1 has this path; /api/v1/openapi.json lists them."


class WrongMethod(MethodNotAllowed):
    """An /api/v1 path that exists, asked with a method it does not take."""


def _matches_otherwise(error: MethodNotAllowed) -> bool:
    """Whether the path really is an operation's with another method. Werkzeug answers 405 for a path whose
    id its converter refused (an id above MAX_ID, app.IdConverter) when the refusing rule had a method the
    request lacked: asked again with one of those methods, such a path matches nothing, and it is a 404."""
    from flask import current_app

    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in sorted(error.valid_methods or ()):
        try:
            adapter.match(method=method)
            return True
        except Exception:  # noqa: BLE001  (NotFound, or a redirect: not this operation)
            continue
    return False


def install_unmatched(app: Flask, prefix: str) -> None:
    """Answer the routing errors of paths under `prefix` as problems."""

    @app.url_value_preprocessor
    def refuse_unmatched(_endpoint, _values) -> None:
        error = request.routing_exception
        if error is None or not (request.path == prefix or request.path.startswith(prefix + "/")):
            return
        if isinstance(error, MethodNotAllowed) and not _matches_otherwise(error):
            raise UnknownOperation()
        if isinstance(error, MethodNotAllowed):
            allowed = sorted(error.valid_methods or ())
            raise WrongMethod(allowed, description=f"This path takes {', '.join(allowed)}, not {request.method}.")
        if isinstance(error, NotFound):
            raise UnknownOperation()

    @app.errorhandler(UnknownOperation)
    @app.errorhandler(WrongMethod)
    def unmatched_problem(error: NotFound | MethodNotAllowed):
        kept = {name: value for name, value in error.get_headers() if name == "Allow"}
        return problems.problem(error.code, error.name, error.description, headers=kept)
