"""The audit trail, filterable, newest first; each person sees the entries about what they may read."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from ..extensions import db
from ..services import access, audit
from .common import parse_date, parse_id, parse_int, user

bp = Blueprint("audit", __name__)

PAGE = 100


@bp.get("/audit")
def index():
    """Entries matching the filters in the query string, a page at a time."""
    me = user()
    args = request.args
    where = audit.TrailFilter(
        actor=(args.get("actor") or "").strip()[:200],
        action=(args.get("action") or "").strip()[:64],
        object_type=(args.get("object_type") or "").strip()[:32],
        assessment_id=parse_id(args.get("assessment"), "Assessment"),
        scope_id=parse_id(args.get("scope"), "Scope"),
        since=parse_date(args.get("since"), "From"),
        until=parse_date(args.get("until"), "To"),
    )
    stmt = audit.query(where, access.visible_scope_ids(me), access.visible_assessment_ids(me))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = min(max(parse_int(args.get("page"), "Page") or 1, 1), max((total + PAGE - 1) // PAGE, 1))
    entries = list(db.session.scalars(stmt.offset((page - 1) * PAGE).limit(PAGE)))
    return render_template(
        "audit/index.html",
        entries=entries,
        where=where,
        page=page,
        pages=max((total + PAGE - 1) // PAGE, 1),
        total=total,
        args={k: v for k, v in args.items() if k != "page" and v},
    )
