"""A scope's delivery data: its services and their four key metrics, and a service's charts.

The pages read the scope's events through the read model (readmodels/delivery.py); uploading an
events file is views/delivery_upload.py.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..services import delivery as delivery_svc
from .common import scope_for

bp = Blueprint("delivery", __name__)

MAX_ID_LENGTH = 200  # an event id's column: anything longer names no service


@bp.get("/scopes/<int:scope_id>/delivery")
def overview(scope_id: int):
    """The scope's services with their four key metrics over the last 90 days."""
    scope = scope_for(scope_id)
    return render_template("delivery/overview.html", scope=scope, services=delivery_svc.services_of(scope_id))


@bp.get("/scopes/<int:scope_id>/delivery/<service>")
def service(scope_id: int, service: str):
    """One service: its metrics per week, control charts, releases and gates."""
    scope = scope_for(scope_id)
    if len(service) > MAX_ID_LENGTH or service not in delivery_svc.services_of(scope_id):
        abort(404)
    return render_template("delivery/service.html", scope=scope, service=service)
