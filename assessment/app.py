"""The Flask application factory (re-exported as `assessment.create_app`)."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from . import models  # noqa: F401  (registers the tables with the metadata)
from .config import PROJECT_ROOT, Defaults, environment_overrides
from .extensions import csrf, db, login_manager, migrate
from .services.errors import ServiceError


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then instance/config.py, then the environment."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("ASSESSMENT_INSTANCE_PATH")
    app = Flask(
        "assessment",
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(environment_overrides())
    else:
        app.config.update(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(instance / "assessment.db")
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if not app.config.get("EVIDENCE_DIR"):
        app.config["EVIDENCE_DIR"] = str(instance / "evidence")
    # The request limit sits above the largest upload so the store can say which limit was hit.
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["EVIDENCE_MAX_BYTES"], app.config["IMPORT_MAX_BYTES"]) + (1 << 20)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    _accounts(app)

    from .views import (
        assessments,
        audit,
        auth,
        backlog,
        cycles,
        dashboard,
        library,
        people,
        reports,
        review,
        scopes,
        transfer,
    )

    for module in (
        auth,
        scopes,
        library,
        assessments,
        review,
        cycles,
        backlog,
        transfer,
        reports,
        people,
        audit,
        dashboard,
    ):
        app.register_blueprint(module.bp)
    _error_pages(app)
    _security_headers(app)
    _filters(app)
    if not app.testing:
        _settle_after_first_request(app)
    return app


def _settle_after_first_request(app: Flask) -> None:
    """After the first request, collect once and freeze what is left: the modules, the configuration
    and the caches that request filled live as long as the server. The collector's full passes
    then leave them out; they used to walk them every few requests on a large framework's pages,
    a 90 ms pause that set the results page's 95th percentile (bench/bench_web.py). Tests build
    many applications in one process and skip this, so each test's application can be collected."""
    settled = threading.Event()

    @app.teardown_request
    def settle(_exc: BaseException | None) -> None:
        if not settled.is_set():
            settled.set()
            gc.collect()
            gc.freeze()


def _filters(app: Flask) -> None:
    """How pages print scores, deltas and credits: one decimal, halves up, as everywhere else."""
    from .domain.display import level_of, one_decimal, signed

    def score(value):
        return "—" if value is None else one_decimal(value)

    def delta(value, places: int = 1):
        return signed(value, places)

    def credit(value):
        return "—" if value is None else f"{value:.2f}"

    app.add_template_filter(score, "score")
    app.add_template_filter(delta, "delta")
    app.add_template_filter(credit, "credit")
    app.add_template_filter(level_of, "level")  # {{ number|level(framework) }}: "2 Managed", or "—"


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies are Secure whenever the request came over HTTPS, not only when configured."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


# Pages anyone may open: signing in, and the stylesheets and scripts it needs.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.login_post", "static"})


def _accounts(app: Flask) -> None:
    """Sign-in for every page but the public ones, and the actor of the audit trail per request."""
    from .models import User
    from .services import accounts, audit

    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.session_interface = _SessionInterface()
    accounts.configure_hasher(app.config["PASSWORD_TIME_COST"], app.config["PASSWORD_MEMORY_KIB"])
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and not user.disabled else None  # disabling ends open sessions

    @app.before_request
    def require_sign_in():
        if request.endpoint in PUBLIC_ENDPOINTS:
            audit.current_actor.set("anonymous")
            return None
        if not current_user.is_authenticated:
            if request.headers.get("X-Requested-With") == "fetch":
                from flask import jsonify

                return jsonify(error="Your session has ended; sign in again."), 401
            back = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("auth.login", next=back))
        audit.current_actor.set(current_user.username)
        return None

    @app.context_processor
    def inject_people() -> dict:
        from .services.access import may

        signed_in = current_user if current_user.is_authenticated else None
        return {
            "signed_in": signed_in,
            "role_label": accounts.ROLE_LABELS,
            "may": (lambda action: signed_in is not None and may(signed_in, action)),
        }


# No inline script, style or handler: a script injected into a page (an answer, a note, a
# framework's text) does not run. Templates keep to this; tests/integration/test_hardening.py checks.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _security_headers(app: Flask) -> None:
    """Every response, pages, JSON, files and errors alike, carries the headers above."""

    @app.after_request
    def add_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _error_pages(app: Flask) -> None:
    """Every error is a page a person can act on: no stack trace, no internal path."""

    def page(message: str, status: int):
        db.session.rollback()
        from flask import jsonify, request

        if request.headers.get("X-Requested-With") == "fetch":
            return jsonify(error=message), status
        return render_template("error.html", message=message, status=status), status

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return page(error.message, error.status)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return page("The form's security token is missing or expired; reload the page and try again.", 400)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit = app.config["EVIDENCE_MAX_BYTES"] / 1024 / 1024
        return page(f"The upload is larger than the limit ({limit:.0f} MB per evidence file); nothing was stored.", 413)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return page(error.description or error.name, error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if app.testing:
            raise error
        app.logger.exception("Unexpected error")
        return page("Something went wrong on our side; nothing was changed. The error has been logged.", 500)
