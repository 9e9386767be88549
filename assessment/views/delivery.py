"""A scope's delivery data: its services and their four key metrics, and a service's charts.

The pages read the scope's events through the read model (readmodels/delivery_metrics.py), which caches
the built pages per change of the scope's data; uploading an events file is views/delivery_upload.py. Both pages
take `?as_of=YYYY-MM-DD` (default: today, UTC) and `?days=` (default 90): the window is the days that end
on the as-of date.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request

from ..readmodels import delivery_metrics as delivery_rm
from .common import scope_for

bp = Blueprint("delivery", __name__)

MAX_ID_LENGTH = 200  # an event id's column: anything longer names no service
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
BAD_REQUEST = 400


def _window_of(args) -> tuple[dt.date, int, str | None]:
    """The as-of date and the days of the request, or today and 90 with the message of a bad value."""
    today = dt.datetime.now(dt.UTC).date()
    raw = (args.get("as_of") or "").strip()
    as_of, error = today, None
    if raw:
        shown = raw[:40]
        try:
            as_of = dt.date.fromisoformat(raw) if len(raw) == 10 else None
        except ValueError:
            as_of = None
        if as_of is None:
            as_of, error = today, f"As of: {shown!r} is not a date (YYYY-MM-DD)."
        elif not FIRST_DAY <= as_of <= LAST_DAY:
            error = f"As of: {shown} is outside {FIRST_DAY.year} to {LAST_DAY.year}; give a date in that span."
            as_of = today
    days = delivery_rm.DEFAULT_DAYS
    raw_days = (args.get("days") or "").strip()
    if raw_days and error is None:
        if not raw_days.isdigit() or not 1 <= int(raw_days[:6]) <= delivery_rm.MAX_DAYS:
            error = f"Days: {raw_days[:40]!r} is not a whole number of days from 1 to {delivery_rm.MAX_DAYS}."
        else:
            days = int(raw_days)
    return as_of, days, error


def _form(as_of: dt.date, days: int) -> dict:
    return {"as_of": as_of.isoformat(), "days": days if days != delivery_rm.DEFAULT_DAYS else ""}


@bp.get("/scopes/<int:scope_id>/delivery")
def overview(scope_id: int):
    """The scope's services with their four key metrics over the last 90 days."""
    scope = scope_for(scope_id)
    as_of, days, error = _window_of(request.args)
    page = None if error else delivery_rm.overview(scope_id, as_of, days)
    context = {"scope": scope, "page": page, "error": error, "form": _form(as_of, days)}
    return render_template("delivery/overview.html", **context), BAD_REQUEST if error else 200


@bp.get("/scopes/<int:scope_id>/delivery/<service>")
def service(scope_id: int, service: str):
    """One service: its metrics per week, control charts, releases and gates."""
    scope = scope_for(scope_id)
    if len(service) > MAX_ID_LENGTH:
        abort(404)
    as_of, days, error = _window_of(request.args)
    page = delivery_rm.service_page(scope_id, service, as_of, days)  # today's, when the date is refused
    if page is None:
        abort(404)  # no event names that service
    context = {"scope": scope, "service": service, "page": None if error else page, "error": error}
    return render_template("delivery/service.html", form=_form(as_of, days), **context), BAD_REQUEST if error else 200
