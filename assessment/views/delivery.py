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
from .delivery_upload import panel

bp = Blueprint("delivery", __name__)

MAX_ID_LENGTH = 200  # an event id's column: anything longer names no service
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
BAD_REQUEST = 400


def _window_of(args) -> tuple[dt.date, int, dict | None]:
    """The as-of date and the days of the request, or today and 90 with the field and message of a bad value."""
    today = dt.datetime.now(dt.UTC).date()
    days = delivery_rm.DEFAULT_DAYS
    raw = (args.get("as_of") or "").strip()
    as_of = _date(raw) if raw else today
    if as_of is None:
        return today, days, {"field": "as-of", "message": f"As of: {raw[:40]!r} is not a date (YYYY-MM-DD)."}
    if not FIRST_DAY <= as_of <= LAST_DAY:
        message = f"As of: {as_of} is outside {FIRST_DAY.year} to {LAST_DAY.year}; give a date in that span."
        return today, days, {"field": "as-of", "message": message}
    raw = (args.get("days") or "").strip()
    if raw:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 5 and 1 <= int(raw) <= delivery_rm.MAX_DAYS):
            message = f"Days: {raw[:40]!r} is not a whole number of days from 1 to {delivery_rm.MAX_DAYS}."
            return as_of, days, {"field": "days", "message": message}
        days = int(raw)
    return as_of, days, None


def _date(raw: str) -> dt.date | None:
    """A YYYY-MM-DD date, or None (fromisoformat alone also takes 20261130 and week dates)."""
    if len(raw) != 10 or raw[4] != "-" or raw[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def _form(as_of: dt.date, days: int) -> dict:
    return {"as_of": as_of.isoformat(), "days": days if days != delivery_rm.DEFAULT_DAYS else ""}


@bp.get("/scopes/<int:scope_id>/delivery")
def overview(scope_id: int):
    """The scope's services with their four key metrics over the last 90 days."""
    scope = scope_for(scope_id)
    as_of, days, error = _window_of(request.args)
    page = None if error else delivery_rm.overview(scope_id, as_of, days)
    context = {"scope": scope, "page": page, "error": error, "form": _form(as_of, days), **panel(scope)}
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
