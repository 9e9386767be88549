"""A team's release reviews: the checklist answers of one production deployment, and its "one change"
turned into a backlog item."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Assessment, BacklogItem, FrameworkVersion, ReleaseReview, Scope, utcnow
from . import audit
from .backlog import record_event
from .errors import InvalidInput

MAX_ANSWER = 4000  # characters in one answer: a retrospective's paragraph, not a document
QUESTIONS = (
    ("went_better", "What went better than expected?"),
    ("went_worse", "What went worse?"),
    ("one_change", "What one change would make the next release faster or safer?"),
)
# The release's change goes into the backlog of the framework that asks about delivery, when the scope has
# assessed against it; otherwise into the backlog of the scope's newest assessment.
DELIVERY_FRAMEWORK = "devops-delivery"
RELEASE_PREFIX = "release:"  # a backlog item's `requirement_id` for a release's change: REL keys, not a requirement


def review_of(scope_id: int, deployment_id: str) -> ReleaseReview | None:
    """The stored review of the deployment, if the team wrote one."""
    return db.session.scalars(
        select(ReleaseReview).where(ReleaseReview.scope_id == scope_id, ReleaseReview.deployment_id == deployment_id)
    ).first()


def _clean(answers: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for name, label in QUESTIONS:
        text = (answers.get(name) or "").replace("\r\n", "\n").strip()
        if len(text) > MAX_ANSWER:
            raise InvalidInput(f"{label} Keep the answer within {MAX_ANSWER:,} characters.", name)
        cleaned[name] = text
    return cleaned


def save_review(scope: Scope, service: str, deployment_id: str, answers: dict[str, str], actor: str) -> ReleaseReview:
    """Keep the checklist answers (all three or none) and record them on the trail."""
    cleaned = _clean(answers)
    review = review_of(scope.id, deployment_id)
    before = None
    if review is None:
        review = ReleaseReview(scope_id=scope.id, service=service, deployment_id=deployment_id, updated_by=actor)
        db.session.add(review)
    else:
        before = {name: getattr(review, name) for name, _label in QUESTIONS}
    for name, text in cleaned.items():
        setattr(review, name, text)
    review.updated_by, review.updated_at = actor[:200], utcnow()
    db.session.flush()
    audit.record(
        "release_review.saved",
        "release_review",
        f"{scope.id}/{deployment_id}",
        before=before,
        after={"service": service, **cleaned},
        scope_id=scope.id,
        actor=actor,
    )
    return review


def backlog_assessment(scope_id: int) -> Assessment | None:
    """The assessment whose backlog takes a release's change: the scope's newest of the delivery framework,
    else its newest of any."""
    newest = (
        select(Assessment)
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(Assessment.scope_id == scope_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    )
    delivery = db.session.scalars(newest.where(FrameworkVersion.framework_id == DELIVERY_FRAMEWORK)).first()
    return delivery or db.session.scalars(newest).first()


def add_to_backlog(scope: Scope, review: ReleaseReview, actor: str) -> BacklogItem:
    """Turn the review's "one change" into a backlog item (once: a second click keeps the first item)."""
    if review.backlog_item_id is not None:
        item = db.session.get(BacklogItem, review.backlog_item_id)
        if item is not None:
            return item
    if not review.one_change:
        raise InvalidInput("Write the one change first: it becomes the item's title.", "one_change")
    assessment = backlog_assessment(scope.id)
    if assessment is None:
        raise InvalidInput("The scope has no assessment yet, so it has no backlog: start one first.", "one_change")
    framework_id = assessment.framework_version.framework_id
    item = BacklogItem(
        scope_id=scope.id,
        framework_id=framework_id,
        requirement_id=f"{RELEASE_PREFIX}{review.id}",
        assessment_id=assessment.id,
        title=review.one_change[:500],
        recommendation=review.one_change,
        priority=0,
        priority_reasons=f"came from release {review.deployment_id} of {review.service}"[:1000],
    )
    db.session.add(item)
    db.session.flush()
    review.backlog_item_id = item.id
    record_event(item, "created", actor, assessment.id)
    audit.about(
        assessment,
        "backlog.item_added",
        "backlog_item",
        f"{scope.id}/{framework_id}/{item.requirement_id}",
        after={"release": review.deployment_id, "service": review.service, "status": "plan"},
    )
    return item
