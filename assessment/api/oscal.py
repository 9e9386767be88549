"""/api/v1 OSCAL out: an assessment's OSCAL assessment results and plan of action and milestones.

Declared on resources.bp. Each is exactly the results page's export of the same name (the same report
model, the same builder in reports/oscal.py), read under the score's permission, and recorded on the
trail as that export taken by the token's owner, as the web records it.
"""

from __future__ import annotations

from flask import Response, current_app, g

from ..extensions import report_store
from ..services import access
from ..services import reports as report_svc
from .resources import bp

DOCUMENTS = {
    "assessment-results": ("oscal-assessment-results.json", "assessment_results_json"),
    "poam": ("oscal-poam.json", "poam_json"),
}


def _document(assessment_id: int, kind: str) -> Response:
    from reports import oscal

    assessment = access.assessment_for(g.api_user, assessment_id)
    store = report_store(current_app)
    report = report_svc.report_for(assessment, store.evidence, for_export=True, **store.facts())
    name, function = DOCUMENTS[kind]
    data = getattr(oscal, function)(report)
    report_svc.record_export(assessment, name)
    return Response(data, mimetype="application/json")


@bp.route("/assessments/<int:assessment_id>/oscal/assessment-results")
@bp.response(200, description="OSCAL 1.1.2 assessment results: one finding per gap (README, OSCAL out).")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def oscal_assessment_results(assessment_id: int):
    """The assessment as OSCAL assessment results, as the oscal-assessment-results.json export."""
    return _document(assessment_id, "assessment-results")


@bp.route("/assessments/<int:assessment_id>/oscal/poam")
@bp.response(200, description="OSCAL 1.1.2 plan of action and milestones: one poam-item per gap.")
@bp.alt_response(404, description="No such assessment, or not yours to see.")
def oscal_poam(assessment_id: int):
    """The assessment's gaps as an OSCAL plan of action and milestones, as the oscal-poam.json export."""
    return _document(assessment_id, "poam")
