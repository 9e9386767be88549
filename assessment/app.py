"""The Flask application factory (re-exported as `assessment.create_app`)."""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map, ValidationError

from . import models  # noqa: F401  (registers the tables with the metadata)
from .adapters.blobs import blob_stores
from .adapters.evidence_store import EvidenceStore
from .config import PROJECT_ROOT, Defaults, check_secret_key, environment_overrides, instance_secret_key
from .extensions import REPORTS, Migrations, csrf, db, login_manager
from .models import MAX_ID
from .observability import configure_logging, instrument
from .services.errors import Forbidden, ServiceError
from .services.reports import ReportStore


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then instance/config.py, then the environment."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("ASSESSMENT_INSTANCE_PATH")
    app = AssessmentApp(
        "assessment",
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.url_map.converters["int"] = IdConverter
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(environment_overrides())
    else:
        app.config.update(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(instance)
    check_secret_key(app.config["SECRET_KEY"], app.testing)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(instance / "assessment.db")
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if not app.config.get("EVIDENCE_DIR"):
        app.config["EVIDENCE_DIR"] = str(instance / "evidence")
    # The request limit sits above the largest upload so the store can say which limit was hit.
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["EVIDENCE_MAX_BYTES"], app.config["IMPORT_MAX_BYTES"]) + (1 << 20)
    app.extensions[REPORTS] = _report_store(app)
    _single_sign_on(app)

    db.init_app(app)
    app.extensions["migrate"] = Migrations(db, str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    configure_logging(app)
    instrument(app)  # first: a request refused by the checks below still gets its id, its log line, its timing
    _same_origin(app)
    csrf.init_app(app)
    _accounts(app)

    from .views import (
        assessments,
        audit,
        auth,
        backlog,
        cycles,
        dashboard,
        delivery,
        delivery_upload,
        hooks,
        jobs,
        library,
        mappings,
        mfa,
        ops,
        people,
        releases,
        reports,
        review,
        scopes,
        sso,
        suggestions,
        tokens,
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
        ops,
        mfa,
        sso,
        jobs,
        tokens,
        hooks,
        releases,
        delivery,
        delivery_upload,
        mappings,
        suggestions,
    ):
        app.register_blueprint(module.bp)
    from .api import init_api

    init_api(app)
    _error_pages(app)
    _security_headers(app)
    _filters(app)
    _static_fingerprints(app)
    if not app.testing:
        _settle_after_first_request(app)
    return app


def _report_store(app: Flask) -> ReportStore:
    """Where the rendered reports live (instance/reports, or `reports/` in the S3 bucket when S3_BUCKET is
    set), the evidence store (EVIDENCE_DIR, or `evidence/` in the bucket) and the signing key, handed to the
    report services. A signing key or certificate that cannot be used stops the start, naming it. Nothing
    connects to the bucket here: the first file stored or read does."""
    reports_dir = Path(app.instance_path) / "reports"
    evidence_blobs, report_blobs = blob_stores(app.config, app.config["EVIDENCE_DIR"], reports_dir)
    evidence = EvidenceStore(evidence_blobs, app.config["EVIDENCE_MAX_BYTES"])
    return ReportStore(
        report_blobs,
        evidence,
        _signing(app),
        settings=app.config,
    )


def _signing(app: Flask):
    """The signing configuration of SIGNING_KEY, SIGNING_CERT, SIGNING_KEY_PASSWORD and TIMESTAMP_URL,
    checked now (the key is loaded once), or None when reports are unsigned."""
    from reports.signing import SigningConfig, SigningError, load_signer

    key, cert = app.config.get("SIGNING_KEY"), app.config.get("SIGNING_CERT")
    url = app.config.get("TIMESTAMP_URL") or None
    if not key and not cert:
        if url:
            raise SigningError("ASSESSMENT_TIMESTAMP_URL is set but no signing key: set ASSESSMENT_SIGNING_KEY too")
        return None
    if not key or not cert:
        missing = "ASSESSMENT_SIGNING_CERT" if key else "ASSESSMENT_SIGNING_KEY"
        raise SigningError(f"reports are signed with a key and its certificate: set {missing} too")
    if url and not str(url).startswith(("http://", "https://")):
        raise SigningError(f"ASSESSMENT_TIMESTAMP_URL {url!r} is not an http:// or https:// URL")
    password = app.config.get("SIGNING_KEY_PASSWORD")
    config = SigningConfig(Path(key), Path(cert), None if password is None else str(password).encode(), url)
    load_signer(config)
    return config


def _single_sign_on(app: Flask) -> None:
    """Check the OIDC_* settings now, so a single sign-on that cannot work stops the start, naming the setting
    (the provider itself is asked only when someone signs in)."""
    from .domain.sso import settings_from
    from .models import ROLES

    settings_from(app.config, ROLES)


class AssessmentApp(Flask):
    """The application commits once per request, here: a view that returns has done its work, whatever
    status it answers with (a 409 conflict page keeps the answers that did not conflict, a refused sign-in
    keeps its trail entry), and its changes are committed as one transaction before the response leaves;
    GET pages that write (snapshots, the trail entry of a download or an export) are committed the same
    way. A view that raises (ServiceError, HTTPException, anything) commits nothing: the error pages roll
    back. A failed commit is raised here, inside the dispatch, so it becomes the usual error page, never a
    half-sent response; what a view asked to undo on failure (`on_failure`: files it stored) is undone.
    Views do not commit themselves, except where a moment matters; each such commit names why
    (tests/integration/test_one_commit.py lists them)."""

    def dispatch_request(self) -> Any:
        """Run the view, then commit what it did; on any error, roll back and undo what it stored."""
        try:
            rv = super().dispatch_request()
            if g.pop(_ABANDONED, False):  # a form shown again with its errors (abandon_changes): nothing to keep
                db.session.rollback()
                g.pop(_AFTER_COMMIT, None)
            else:
                db.session.commit()
        except Exception:
            db.session.rollback()
            g.pop(_AFTER_COMMIT, None)
            for action in g.pop(_ON_FAILURE, ()):
                action()
            raise
        for action in g.pop(_AFTER_COMMIT, ()):
            action()
        return rv

    def send_static_file(self, filename: str) -> Any:
        """A stylesheet or script asked for by its fingerprinted URL (`?v=` its content's hash, as
        `url_for('static', ...)` writes it) never changes under that URL: browsers and proxies keep it
        a year without asking again. Any other static URL is kept a few minutes. (Only static files:
        get_send_file_max_age would also reach the downloads, which are private.)"""
        response = super().send_static_file(filename)
        version = request.args.get("v")
        immutable = bool(version) and version == static_fingerprint(self, filename)
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = STATIC_IMMUTABLE_SECONDS if immutable else STATIC_SHORT_SECONDS
        response.cache_control.immutable = immutable or None
        return response


STATIC_IMMUTABLE_SECONDS = 365 * 24 * 3600
STATIC_SHORT_SECONDS = 300
_FINGERPRINTS = "assessment.static_fingerprints"


def static_fingerprint(app: Flask, filename: str) -> str | None:
    """The first 12 hex digits of the SHA-256 of a static file, or None when there is no such file. Kept
    per file until its size or modification time changes (an edited file under --dev gets a new one)."""
    from werkzeug.security import safe_join

    path = safe_join(str(app.static_folder), filename)
    try:
        found = os.stat(path) if path else None
    except OSError:
        found = None
    if found is None or not os.path.isfile(path):
        return None
    known = app.extensions.setdefault(_FINGERPRINTS, {})
    stamp = (found.st_mtime_ns, found.st_size)
    cached = known.get(filename)
    if cached is None or cached[0] != stamp:
        with open(path, "rb") as file:
            cached = known[filename] = (stamp, hashlib.sha256(file.read()).hexdigest()[:12])
    return cached[1]


def _static_fingerprints(app: Flask) -> None:
    """`url_for('static', filename=...)` adds `?v=` and the file's fingerprint, so a changed file has a new
    URL and an unchanged one can be cached for good (see AssessmentApp.send_static_file). A query keeps
    the file names, the templates and the Content Security Policy as they are."""

    @app.url_defaults
    def fingerprint(endpoint: str | None, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            version = static_fingerprint(app, values["filename"])
            if version:
                values["v"] = version


_ON_FAILURE = "assessment_on_failure"
_AFTER_COMMIT = "assessment_after_commit"


_ABANDONED = "assessment_abandoned"


def abandon_changes() -> None:
    """Undo what this request did so far, rows and stored files, and commit nothing at its end: the view
    shows a form again with its errors instead of raising (assessment/views/formerrors.py)."""
    db.session.rollback()
    for action in g.pop(_ON_FAILURE, ()):
        action()
    g.setdefault(_ABANDONED, True)


def on_failure(action: Callable[[], None]) -> None:
    """Run `action` should this request not commit (its view raises, or the commit fails): a file stored
    on the way goes with the rows that would have named it."""
    g.setdefault(_ON_FAILURE, []).append(action)


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once this request's changes are committed (a job's message goes on the queue only when
    a worker can find its row); never when the request commits nothing."""
    g.setdefault(_AFTER_COMMIT, []).append(action)


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number above MAX_ID names nothing, so the URL does not match (404)
    instead of reaching the database, which cannot hold it and fails with a 500."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.max = MAX_ID if self.max is None else min(self.max, MAX_ID)

    def to_python(self, value: str) -> Any:
        if len(value) > len(str(MAX_ID)):  # checked before int(), which refuses a 5,000-digit string
            raise ValidationError()
        return super().to_python(value)


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


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> tuple[str, str, int | None] | None:
    """Scheme, host and port of a URL (the default port filled in), or None when it names no site."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def _same_origin(app: Flask) -> None:
    """A form sent from another site is refused, whatever its CSRF token: a POST (or any writing method)
    whose Origin header, or failing that its Referer, names a site other than this one gets a 403.
    A request with neither header passes (the CSRF token still guards it). "This site" is the one the
    request was addressed to, as ProxyFix sets it from the trusted proxy's X-Forwarded headers."""

    @app.before_request
    def refuse_other_sites():
        if request.method in _SAFE_METHODS or request.blueprint in API_BLUEPRINTS:
            return None
        header, sent = "Origin", request.headers.get("Origin")
        if sent is None:
            header, sent = "Referer", request.headers.get("Referer")
        if sent is None:
            return None
        if _origin_of(sent) != _origin_of(request.host_url):
            raise Forbidden(
                f"This form was sent from another site ({header}: {sent[:100]}), so it was refused and nothing "
                "changed. Open the page on this site and send it from there."
            )
        return None


# Pages anyone may open: signing in (and its second step, and single sign-on's way there and back), and the
# stylesheets and scripts it needs; the probes of a load balancer and the metrics of a Prometheus server
# (views/ops.py: the metrics ask for their own token).
# The API answers with a bearer token, never a session cookie: no browser sends one by itself, so neither the
# sign-in redirect nor the same-origin check applies; its document and docs page are public (they hold no data).
API_BLUEPRINTS = frozenset({"api_v1", "api-docs", "api_docs"})
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.login_post",
        "mfa.code",
        "mfa.code_post",
        "sso.login",
        "sso.callback",
        "static",
        "ops.healthz",
        "ops.readyz",
        "ops.metrics",
        "hooks.github",  # webhook deliveries: machine callers, each checked by its signature (views/hooks.py)
        "hooks.gitlab",
    }
)


def _accounts(app: Flask) -> None:
    """Sign-in for every page but the public ones, and the actor of the audit trail per request."""
    from .services import accounts, audit

    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.session_interface = _SessionInterface()
    accounts.configure_hasher(
        app.config["PASSWORD_TIME_COST"], app.config["PASSWORD_MEMORY_KIB"], app.config["PASSWORD_PARALLELISM"]
    )
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        # The cookie's session must be open in the database: ended sessions (sign-out, a password or
        # role change, disabling, an admin) and disabled accounts sign nobody in, whatever the signature.
        found = accounts.session_user(user_id, session.get(accounts.SESSION_KEY), app.permanent_session_lifetime)
        if found is None:
            return None
        g.user_session_id = found.session_id
        return found.user

    @app.before_request
    def require_sign_in():
        if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in API_BLUEPRINTS:
            # The API's operations authenticate their bearer token themselves (api/resources.py).
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
        from .views.messages import flash_messages

        signed_in = current_user if current_user.is_authenticated else None
        return {
            "signed_in": signed_in,
            "role_label": accounts.ROLE_LABELS,
            "may": (lambda action: signed_in is not None and may(signed_in, action)),
            "flash_messages": flash_messages,
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


def _way_back() -> tuple[str, str] | None:
    """Where an error page leads back to: the assessment or scope the request was about, when the person may
    read it, so an error is never a dead end with only the scopes to go to. None otherwise."""
    from .services import access

    args = request.view_args or {}
    if not current_user.is_authenticated:
        return None
    try:
        if "assessment_id" in args:
            assessment = access.assessment_for(current_user._get_current_object(), int(args["assessment_id"]))
            return url_for("assessments.results", assessment_id=assessment.id), "Back to the assessment"
        if "scope_id" in args:
            scope = access.scope_for(current_user._get_current_object(), int(args["scope_id"]))
            return url_for("scopes.detail", scope_id=scope.id), f"Back to {scope.name}"
    except Exception:  # noqa: BLE001 (the object is missing or not theirs: the scopes it is)
        db.session.rollback()
    return None


def _error_pages(app: Flask) -> None:
    """Every error is a page a person can act on: no stack trace, no internal path."""

    def page(message: str, status: int):
        db.session.rollback()
        from flask import jsonify, request

        if request.headers.get("X-Requested-With") == "fetch":
            return jsonify(error=message), status
        return render_template("error.html", message=message, status=status, back=_way_back()), status

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
