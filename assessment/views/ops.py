"""The operator's endpoints: liveness, readiness and Prometheus metrics. None needs a session: a load
balancer and a Prometheus server call them, so they are public (`/metrics` behind its bearer token)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .. import observability
from ..adapters import background, readiness
from ..extensions import db
from ..models import ReportJob

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive and answers; nothing else is looked at (no database, no session)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Each dependency checked (database, storage, queue): 200 when all are ok, else 503 naming the failed ones."""
    checks = readiness.check(current_app._get_current_object())
    failed = sorted(name for name, result in checks.items() if not result["ok"])
    body = {"status": "failing" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return jsonify(body), 503 if failed else 200


def _authorised() -> bool:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    sent = request.headers.get("Authorization", "")
    return sent.startswith("Bearer ") and hmac.compare_digest(sent[len("Bearer ") :].encode(), token.encode())


@bp.get("/metrics")
def metrics():
    """Prometheus metrics, for a scraper holding METRICS_TOKEN as its bearer token; without a token set,
    there are no metrics to see (404)."""
    if not current_app.config.get("METRICS_TOKEN"):
        return jsonify(error="Metrics are off: set METRICS_TOKEN to turn them on."), 404
    if not _authorised():
        response = jsonify(error="Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    try:
        counts = dict(db.session.execute(select(ReportJob.status, func.count()).group_by(ReportJob.status)).all())
    except SQLAlchemyError:  # the latencies matter most while the database is down: serve them without the queue
        db.session.rollback()
        current_app.logger.warning("/metrics: the report jobs could not be counted; the queue depth is left out")
        counts = None
    try:
        messages = background.depth(current_app)
    except Exception:  # noqa: BLE001 (a queue that does not answer leaves its gauge out; /readyz names it)
        current_app.logger.warning("/metrics: the job queue could not be read; its depth is left out")
        messages = None
    return Response(observability.exposition(counts, messages), mimetype="text/plain; version=0.0.4; charset=utf-8")
