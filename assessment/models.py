"""SQLAlchemy 2.0 typed models. Models hold data only: they never commit and never abort.

Requirement ids are stored as the framework's own readable ids (`SOX-AC-01`), so answers,
evidence links and backlog items read the same in the database, the files and the reports.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import Base

SCOPE_KINDS = ("team", "system", "service")
ASSESSMENT_STATUSES = ("draft", "submitted", "returned", "approved")
EDITABLE_STATUSES = ("draft", "returned")
DEFAULT_PERIOD_DAYS = 90  # an assessment period without a start is the 90 days up to as-of
ROLES = ("admin", "lead", "member", "auditor")
VERDICTS = ("verified", "finding")
SEVERITIES = ("major", "minor", "observation")
EVIDENCE_SOURCES = ("upload", "link", "import", "delivery")  # delivery: the events behind measured answers
PDCA_STATUSES = ("plan", "do", "check", "act", "done", "dropped")
# The largest id every database's integer key holds (PostgreSQL's INTEGER is 32 bits, SQLite's 64):
# URLs and forms naming a larger one get a 404 before the database is asked (it would fail on it).
MAX_ID = 2**31 - 1


def utcnow() -> dt.datetime:
    """Now, in UTC, without microseconds noise in displays."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class User(Base):
    """A person who signs in. The password is stored only as an Argon2id hash."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="ck_user_role"),
        Index("ix_user_account_sso_identity", "sso_issuer", "sso_subject", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The TOTP second factor (services/mfa.py): the secret encrypted with the instance's MFA key, kept
    # from set-up on; it signs in only once `totp_enabled_at` is set (the person confirmed a code).
    # `totp_last_step` is the time step of the last code accepted, so no code is used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Single sign-on (services/sso.py): the OpenID Connect provider's issuer and its subject for the person
    # name the account (one account per pair, never reassigned); none for a local account. Such an account's
    # password hash is a marker no password matches. The e-mail address comes from the provider's claims.
    email: Mapped[str | None] = mapped_column(String(320))
    sso_issuer: Mapped[str | None] = mapped_column(String(500))
    sso_subject: Mapped[str | None] = mapped_column(String(255))

    # Flask-Login's user protocol, so the edge can hold a User without a wrapper.
    @property
    def is_active(self) -> bool:
        return not self.disabled

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def signs_in_with_sso(self) -> bool:
        """Whether the account was made by a single sign-on (its provider checks the person, not a password here)."""
        return self.sso_issuer is not None


class UserSession(Base):
    """A signed-in session: the cookie holds a random token, the database only its SHA-256, so a
    session can be ended (sign-out, a password or role change, disabling, an admin) and its cookie dies."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    # The ID token of a single sign-on session, kept for the provider's sign-out (its id_token_hint) and
    # dropped when the session ends; None for a password sign-in.
    id_token: Mapped[str | None] = mapped_column(Text)


class RecoveryCode(Base):
    """A one-time recovery code of a second factor, stored as its SHA-256 (the code is shown once, at set-up)."""

    __tablename__ = "mfa_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SignInThrottle(Base):
    """Sign-in attempts counted for one account from one address, or for one address: reserved
    atomically before a password is checked, forgotten a window after the last one."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    held_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A personal access token for the API, sent as `Authorization: Bearer`. The secret is random and shown
    once; the database keeps only its SHA-256, so a stolen copy of the database signs in as no one, and a
    token is found by its hash (no secret is ever compared character by character). A read-only token
    changes nothing; an expired or revoked one, or one whose owner is disabled, is refused."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Recorded at most once a minute per token, so reads do not write on every request.
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class FrameworkVersion(Base):
    """A framework file as imported: its content never changes once stored."""

    __tablename__ = "framework_version"
    __table_args__ = (UniqueConstraint("framework_id", "content_sha256", name="uq_framework_content"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[str] = mapped_column(String(63), index=True)
    version: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    requirement_count: Mapped[int] = mapped_column(Integer)
    domain_count: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text, deferred=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def label(self) -> str:
        """The version as people read it; a second import of the same version shows its revision."""
        return self.version if self.revision == 1 else f"{self.version} (revision {self.revision})"


class Scope(Base):
    """What is assessed: a team, a system or a service."""

    __tablename__ = "scope"
    __table_args__ = (CheckConstraint(f"kind IN {SCOPE_KINDS!r}", name="ck_scope_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="team")
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    assessments: Mapped[list[Assessment]] = relationship(back_populates="scope", order_by="Assessment.id")
    members: Mapped[list[User]] = relationship(secondary="scope_member", order_by="User.username")


class ScopeMember(Base):
    """A team member's right to work on a scope."""

    __tablename__ = "scope_member"

    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Assessment(Base):
    """One assessment of a scope against a pinned framework version."""

    __tablename__ = "assessment"
    __table_args__ = (CheckConstraint(f"status IN {ASSESSMENT_STATUSES!r}", name="ck_assessment_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id"), index=True)
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_version.id"), index=True)
    target_level: Mapped[int | None] = mapped_column(Integer)
    as_of: Mapped[dt.date] = mapped_column(Date)
    period_start: Mapped[dt.date | None] = mapped_column(Date)  # None: the 90 days up to as_of
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    review_comment: Mapped[str | None] = mapped_column(Text)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"), index=True)
    delivery_service: Mapped[str | None] = mapped_column(String(200))  # whose delivery data fills metric answers

    scope: Mapped[Scope] = relationship(back_populates="assessments")
    framework_version: Mapped[FrameworkVersion] = relationship()

    @property
    def editable(self) -> bool:
        """Whether answers and evidence may change: a submitted or approved assessment is frozen."""
        return self.status in EDITABLE_STATUSES

    @property
    def period_from(self) -> dt.date:
        """The first day of the assessment period: its own start, or DEFAULT_PERIOD_DAYS before as-of
        (the same default as the report's, reports/model.py)."""
        return self.period_start or self.as_of - dt.timedelta(days=DEFAULT_PERIOD_DAYS)


class AssessmentShare(Base):
    """An assessment an auditor may read, download and review."""

    __tablename__ = "assessment_share"

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    shared_by: Mapped[str] = mapped_column(String(200))
    shared_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewFinding(Base):
    """An auditor's verdict on one requirement: verified, or a finding with a severity."""

    __tablename__ = "review_finding"
    __table_args__ = (
        UniqueConstraint("assessment_id", "requirement_id", "auditor", name="uq_review_finding"),
        CheckConstraint(f"verdict IN {VERDICTS!r}", name="ck_review_verdict"),
        CheckConstraint(
            f"(verdict = 'verified' AND severity IS NULL) OR (verdict = 'finding' AND severity IN {SEVERITIES!r})",
            name="ck_review_severity",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    requirement_id: Mapped[str] = mapped_column(String(64))
    auditor: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Answer(Base):
    """The answer to one requirement; `revision` detects two people saving the same answer."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("assessment_id", "requirement_id", name="uq_answer_requirement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    requirement_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    carried_over: Mapped[bool] = mapped_column(Boolean, default=False)  # from the last cycle, not yet confirmed
    # A metric-fed answer's provenance (JSON, services/metric_answers.py): the metric, the measured value, the
    # service, the window, the basis and the events snapshot's evidence id and SHA-256; None when typed in.
    measured: Mapped[str | None] = mapped_column(Text)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)  # a person's value replaced the measured one


class Evidence(Base):
    """A file (stored by SHA-256 under instance/evidence/) or a link, owned by a scope."""

    __tablename__ = "evidence"
    __table_args__ = (CheckConstraint("(url IS NULL) <> (sha256 IS NULL)", name="ck_evidence_file_or_link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    original_name: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(String(200))
    effective: Mapped[dt.date | None] = mapped_column(Date)
    expires: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str | None] = mapped_column(String(20))  # one of EVIDENCE_SOURCES: how it came in

    @property
    def is_file(self) -> bool:
        """Whether this is an uploaded file rather than a link."""
        return self.sha256 is not None


class EvidenceLink(Base):
    """Evidence supporting one requirement of one assessment."""

    __tablename__ = "evidence_link"
    __table_args__ = (UniqueConstraint("assessment_id", "requirement_id", "evidence_id", name="uq_evidence_link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    requirement_id: Mapped[str] = mapped_column(String(64))
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    evidence: Mapped[Evidence] = relationship()


class BacklogItem(Base):
    """An improvement item for a gap; one per scope, framework and requirement, so it outlives cycles."""

    __tablename__ = "backlog_item"
    __table_args__ = (
        UniqueConstraint("scope_id", "framework_id", "requirement_id", name="uq_backlog_requirement"),
        CheckConstraint(f"status IN {PDCA_STATUSES!r}", name="ck_backlog_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id"), index=True)
    framework_id: Mapped[str] = mapped_column(String(63))
    requirement_id: Mapped[str] = mapped_column(String(64))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    recommendation: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    priority_reasons: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="plan")
    hypothesis: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    achieved_on: Mapped[dt.date | None] = mapped_column(Date)  # the as-of date of the cycle that closed the gap
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # checked by the numbers (d-check)
    live_on: Mapped[dt.date | None] = mapped_column(Date)  # the day the item's change went live
    metric_service: Mapped[str | None] = mapped_column(String(200))  # the service whose metrics checked it
    # end checked by the numbers (d-check)


BACKLOG_EVENTS = ("created", "changed", "achieved", "reopened")


class BacklogEvent(Base):
    """One step of a backlog item's history: what was tried (hypothesis), what happened (outcome),
    and what each cycle measured (achieved, reopened)."""

    __tablename__ = "backlog_event"
    __table_args__ = (CheckConstraint(f"kind IN {BACKLOG_EVENTS!r}", name="ck_backlog_event_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("backlog_item.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    hypothesis: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScoreSnapshot(Base):
    """The scored figures of an assessment, kept so dashboards and trends need not rescore every
    assessment. Derived data: `source` is the assessment's `updated_at` it was computed from, and a
    snapshot whose source differs is stale and recomputed from the answers."""

    __tablename__ = "score_snapshot"

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column()
    level: Mapped[int | None] = mapped_column(Integer)
    completion: Mapped[float] = mapped_column()
    gaps: Mapped[int] = mapped_column(Integer)
    domains: Mapped[str] = mapped_column(Text)  # JSON: [{"id", "title", "score", "level"}]


REPORT_KINDS = ("pdf", "bundle")
# What a background job does: render a report or a bundle (of an assessment), import an upload as a new
# assessment (of a scope), read an events file into a scope's delivery data, or bring the score
# snapshots of a scope (or of every scope) up to date.
JOB_KINDS = (*REPORT_KINDS, "import", "snapshots", "events")
JOB_STATUSES = ("queued", "running", "done", "failed")


class ReportJob(Base):
    """A background job: mostly a report rendered (a finished one is reused while its fingerprint holds);
    also an import (`scope_id` and `upload_name` say what into where; `assessment_id` is the assessment it
    made, once done) and a snapshot refresh (of `scope_id`'s assessments, or of all when it is None)."""

    __tablename__ = "report_job"
    __table_args__ = (
        CheckConstraint(f"kind IN {JOB_KINDS!r}", name="ck_report_job_kind"),
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="ck_report_job_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    scope_id: Mapped[int | None] = mapped_column(ForeignKey("scope.id", ondelete="CASCADE"), index=True)
    upload_name: Mapped[str | None] = mapped_column(String(255))  # an import's file, as its uploader named it
    kind: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    # The queue (adapters/background.py, domain/jobs.py): attempts made, the worker holding the job and
    # until when (renewed by its heartbeat), and the last failure's reason, for the admin's jobs page.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[str | None] = mapped_column(String(40))
    file_name: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One link of the audit trail. `hash` covers every other column and the previous entry's hash,
    so editing or deleting a row breaks the chain. Object ids are plain values, not foreign keys:
    the trail outlives what it describes."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_object", "object_type", "object_id"),
        Index("ix_audit_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(200))
    scope_id: Mapped[int | None] = mapped_column(Integer, index=True)
    assessment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of `hash` under the trail key kept outside the database; NULL only for entries
    # written before the trail was keyed (migration 0006).
    mac: Mapped[str | None] = mapped_column(String(64))


DELIVERY_SOURCES = ("upload", "api", "github", "gitlab")


class DeliveryEvent(Base):
    """One delivery event of a scope (delivery-events.md, section 1), kept as the spec's JSON with the
    columns the metrics select by. An id is kept once per type and scope: a batch sent again adds nothing."""

    __tablename__ = "delivery_event"
    __table_args__ = (
        UniqueConstraint("scope_id", "kind", "event_id", name="uq_delivery_event_id"),
        CheckConstraint(f"source IN {DELIVERY_SOURCES!r}", name="ck_delivery_event_source"),
        Index("ix_delivery_event_scope_service", "scope_id", "service"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # the event's `type`
    event_id: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float)  # seconds since the epoch: `time`, `started` or a gate's `entered`
    body: Mapped[str] = mapped_column(Text)  # the event as the spec's JSON, every key written out, times in UTC
    source: Mapped[str] = mapped_column(String(20))
    batch: Mapped[str] = mapped_column(String(64))  # the SHA-256 of the batch or file it came in
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReleaseReview(Base):
    """A team's answers to one production deployment's review checklist (delivery-events.md, section 4),
    one per deployment and scope; `backlog_item_id` is the item its "one change" became, if it did."""

    __tablename__ = "release_review"
    __table_args__ = (UniqueConstraint("scope_id", "deployment_id", name="uq_release_review_deployment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[str] = mapped_column(String(200))
    went_better: Mapped[str] = mapped_column(Text, default="")
    went_worse: Mapped[str] = mapped_column(Text, default="")
    one_change: Mapped[str] = mapped_column(Text, default="")
    backlog_item_id: Mapped[int | None] = mapped_column(ForeignKey("backlog_item.id", ondelete="SET NULL"))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MappingSet(Base):
    """An imported mapping file (CISO Assistant mapping set, OSCAL mapping collection): its mappings below."""

    __tablename__ = "mapping_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(1000))  # what the file said it was, and its name
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200))
    mappings: Mapped[list[RequirementMapping]] = relationship(
        back_populates="mapping_set", cascade="all, delete-orphan", passive_deletes=True
    )


class RequirementMapping(Base):
    """One requirement related to another, keyed by framework id (not version), so it outlives new versions."""

    __tablename__ = "mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("mapping_set.id", ondelete="CASCADE"), index=True)
    source_framework: Mapped[str] = mapped_column(String(63), index=True)
    source_requirement: Mapped[str] = mapped_column(String(64))
    target_framework: Mapped[str] = mapped_column(String(63), index=True)
    target_requirement: Mapped[str] = mapped_column(String(64))
    relation: Mapped[str] = mapped_column(String(20))  # domain.mappings.Relation
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    mapping_set: Mapped[MappingSet] = relationship(back_populates="mappings")
