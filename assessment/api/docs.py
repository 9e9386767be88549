"""/api/v1/docs: Swagger UI from the swagger-ui-bundle package, under the app's strict CSP.

Its scripts and styles are files served from here (no CDN), and the start-up script is a static file of the
app (static/api-docs.js), since the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from flask import Blueprint, render_template, send_from_directory

bp = Blueprint("api_docs", __name__)

ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


@bp.route("/docs")
def docs():
    """The browsable documentation of /api/v1/openapi.json."""
    return render_template("api_docs.html")


@bp.route("/docs/assets/<name>")
def asset(name: str):
    """One of Swagger UI's files, from the installed package."""
    from swagger_ui_bundle import swagger_ui_path

    if name not in ASSETS:
        from flask import abort

        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
