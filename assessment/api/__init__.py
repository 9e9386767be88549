"""The REST API under /api/v1: bearer tokens, the web's role rules, RFC 9457 errors, an OpenAPI document.

The edge only: each operation authenticates the token, asks services/access.py what the owner may see
(404 for what they may not see, 403 for what they may see but not change) and shapes what the services
return with marshmallow schemas, which flask-smorest also turns into /api/v1/openapi.json. No session
cookie is read and no CSRF token asked: a bearer token is sent deliberately, never by a browser on its own.
"""

from __future__ import annotations

from flask import Flask

PREFIX = "/api/v1"


def init_api(app: Flask) -> None:
    """Register the API's blueprints and its OpenAPI document on the app."""
    from flask_smorest import Api as SmorestApi

    from .openapi import ProblemResponses, ProblemsPlugin

    class Api(ProblemResponses, SmorestApi):
        def _register_error_handlers(self):
            """Not app-wide: the web keeps its error pages; the API's blueprint answers problems (problems.py)."""

    from ..extensions import csrf
    from . import answers, delivery, docs, evidence, oscal, resources, workflow  # noqa: F401  (each declares its operations on resources.bp)
    from .limits import init_limits  # its count is a before_request after resources.authenticate: it knows the token
    from .unmatched import install_unmatched

    app.config.setdefault("API_TITLE", "assessment")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = Api(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "asm_… token"}}
            },
            "security": [{"bearer": []}],
            "extra_plugins": [ProblemsPlugin()],  # every operation documents the errors every operation has
        },
    )
    init_limits(app)
    api.register_blueprint(resources.bp, url_prefix=PREFIX)
    csrf.exempt(resources.bp)
    app.register_blueprint(docs.bp, url_prefix=PREFIX)
    install_unmatched(app, PREFIX)
