"""What an operator watches: a request id on every request and log record, JSON logs, Prometheus metrics.

Each request gets an id: the incoming `X-Request-ID` when it is well-formed (a proxy's or a caller's, so
one id follows a request through every hop), else a new random one. It is sent back in `X-Request-ID`
and carried by every log record written during the request.

With `LOG_FORMAT = "json"` the application's logs (the `assessment` logger and its children) are one JSON
object a line on standard error, and every request ends with a record of its method, path, route, status,
duration and user. Without it the logs stay Flask's readable text (`make run`).

The metrics are prometheus-client's. With several worker processes (gunicorn) each process counts its own
requests, so a scrape answered by one worker would see a fraction: set PROMETHEUS_MULTIPROC_DIR (an empty
folder, the same for every worker, emptied before the server starts) and each process writes its values
there, and `/metrics` adds them up (prometheus-client's multiprocess mode). The queue depth is read from
the report_job table at each scrape, so it is the same whichever process answers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import sys
import time

from flask import Flask, g, has_request_context, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it is short and plain: it is written into every log line.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_STARTED = "assessment_request_started"

REQUEST_SECONDS = Histogram(
    "assessment_http_request_duration_seconds",
    "Time to answer a request, by route (the URL rule, not the path), method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOB_SECONDS = Histogram(
    "assessment_report_job_duration_seconds",
    "Time a report job took from starting to finishing, by kind and outcome (done or failed).",
    ["kind", "outcome"],
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)
JOB_STATES = ("queued", "running", "done", "failed")


def request_id() -> str | None:
    """The current request's id, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def _incoming_id() -> str:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    return sent if _WELL_FORMED.fullmatch(sent) else secrets.token_hex(16)


class RequestIdFilter(logging.Filter):
    """Gives every record `request_id` (None outside a request), so formatters may print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


# The attributes every LogRecord has; anything else on a record was passed in `extra` and is logged.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, the record's
    `extra` fields, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_OURS = "_assessment_handler"


def configure_logging(app: Flask) -> None:
    """With LOG_FORMAT "json", the `assessment` logger writes JSON lines to standard error at INFO;
    otherwise Flask's default text logging is left as it is. Building another application replaces the
    handler this put there, so there is never more than one."""
    logger = logging.getLogger("assessment")
    for handler in [h for h in logger.handlers if getattr(h, _OURS, False)]:
        logger.removeHandler(handler)
    if str(app.config.get("LOG_FORMAT") or "text").lower() != "json":
        return
    from flask.logging import default_handler

    logger.removeHandler(default_handler)  # Flask's text handler, should an earlier application have added it
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    setattr(handler, _OURS, True)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


_request_log = logging.getLogger("assessment.request")


def instrument(app: Flask) -> None:
    """Give each request its id, time it into the latency histogram, and log it when it ends."""

    @app.before_request
    def start_request():
        g.request_id = _incoming_id()
        g.setdefault(_STARTED, time.perf_counter())

    @app.after_request
    def finish_request(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id") or _incoming_id()
        seconds = time.perf_counter() - g.get(_STARTED, time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(seconds)
        _request_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "user": _user(),
            },
        )
        return response


def _user() -> str | None:
    """Who made the request, without loading anyone: the signed-in user when the request already loaded them."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.username


def job_finished(kind: str, outcome: str, seconds: float) -> None:
    """Count a finished report job's duration (called by the job runner)."""
    JOB_SECONDS.labels(kind, outcome).observe(seconds)


class _QueueDepth:
    """The report jobs by state, read from the database at each scrape (so every process agrees), and the
    messages waiting on the job queue (Redis or the SQLite queue file), when it could be read."""

    def __init__(self, counts: dict[str, int] | None, messages: int | None = None) -> None:
        self.counts = counts
        self.messages = messages

    def collect(self):
        if self.counts is not None:
            family = GaugeMetricFamily(
                "assessment_report_jobs", "Report jobs by state (queued and running: the queue).", labels=["state"]
            )
            for state in JOB_STATES:
                family.add_metric([state], self.counts.get(state, 0))
            yield family
        if self.messages is not None:
            yield GaugeMetricFamily(
                "assessment_job_queue_messages",
                "Messages waiting on the job queue for a worker (retries scheduled for later not counted).",
                value=self.messages,
            )


def exposition(job_counts: dict[str, int] | None, queue_messages: int | None = None) -> bytes:
    """The metrics in Prometheus's text format: this process's (or, in multiprocess mode, every
    process's) histograms, the jobs by state given (left out when None: the jobs could not be counted)
    and the messages waiting on the queue (left out when None: the queue could not be read)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry  # noqa: N811
    if job_counts is None and queue_messages is None:
        return generate_latest(registry)
    queue = CollectorRegistry()
    queue.register(_QueueDepth(job_counts, queue_messages))
    return generate_latest(registry) + generate_latest(queue)
