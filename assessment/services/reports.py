"""Reports of assessments in the database: built from the same model as file reports, rendered in
the background (a request never waits for WeasyPrint), and reused while the assessment is unchanged.
This module builds them (pure reads of the database) and answers for the jobs; report_jobs.py runs them.

"Unchanged" includes its review: a new finding, a status change or any other entry in the
assessment's trail makes a new rendering, except entries that only record someone reading it
(downloads of reports, bundles and evidence, exports). Those would otherwise make every
download invalidate the report just downloaded, and a report would never be reused.

It also includes the scope's other cycles that the report shows: the previous cycle it is
compared with, and every cycle up to its as-of date in the trend chart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from reports.bundle import report_file_name
from reports.delivery_section import DeliverySection, delivery_section
from reports.model import (
    DEFAULT_CONFIDENTIALITY,
    CycleComparison,
    FindingEntry,
    MeasuredFact,
    Provenance,
    Report,
    ReportMeta,
    Signatory,
    build_report,
    evidence_key,
)
from reports.review import trail_entry
from reports.signing import SigningConfig

from ..adapters.blobs import BlobMissing, BlobStore, FolderBlobs, Reader
from ..adapters.evidence_store import EvidenceStore
from ..domain.compare import compare
from ..domain.delivery import DeliveryIndex, Window
from ..domain.scoring import Scorecard
from ..extensions import db
from ..models import (
    REPORT_KINDS,
    Assessment,
    AuditEntry,
    BacklogItem,
    FrameworkVersion,
    ReportJob,
    ReviewFinding,
    User,
    utcnow,
)
from ..readmodels import trends
from . import audit, delivery, metric_answers, review
from .accounts import ROLE_LABELS
from .assessments import domain_answers, load_state, to_domain_evidence
from .backlog import as_entries, items_for
from .errors import InvalidInput, NotFound

READ_ACTIONS = (".downloaded", ".exported")  # trail entries that record a read, not a change


class ReportStore:
    """Where an instance's rendered reports are kept (a blob store: the folder instance/reports, or
    `reports/` of an S3 bucket), the evidence store whose files reports list and bundles pack, and the
    key that signs them, if any. create_app builds it once from the configuration; the views pass it in
    (and the job runner on), so no service has to look for the application."""

    def __init__(
        self,
        folder: str | Path | BlobStore,
        evidence: EvidenceStore,
        signing: SigningConfig | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.blobs: BlobStore = FolderBlobs(folder) if isinstance(folder, str | Path) else folder
        self.evidence = evidence
        self.signing = signing  # None: reports and bundles are unsigned
        self._settings = settings if settings is not None else {}  # the application's configuration

    def facts(self) -> dict[str, str | None]:
        """What reports print from the instance's settings (ORGANISATION, CONFIDENTIALITY), as
        report_for's keyword arguments; read when asked, so a report follows the settings of its time."""
        return {
            "organisation": self._settings.get("ORGANISATION"),
            "confidentiality": self._settings.get("CONFIDENTIALITY"),
        }

    def settings(self) -> tuple[str | None, ...]:
        """The same settings, as the part of a report's fingerprint they are."""
        return tuple(self.facts().values())

    def key_of(self, job: ReportJob) -> str:
        """The key of the rendered file of a job in the store: its file name."""
        return job.file_name or f"job-{job.id}"

    def has(self, job: ReportJob) -> bool:
        """Whether the rendered file of a job is in the store."""
        return self.blobs.exists(self.key_of(job))

    def open(self, job: ReportJob) -> Reader:
        """The rendered file of a job, streamed; NotFound when it is not in the store."""
        try:
            return self.blobs.open(self.key_of(job))
        except BlobMissing:
            raise NotFound("This report is not ready.") from None

    def read(self, job: ReportJob) -> bytes:
        """The whole rendered file of a job (a PDF a bundle packs), or NotFound."""
        reader = self.open(job)
        try:
            return reader.read()
        finally:
            reader.close()

    def local_path(self, job: ReportJob) -> Path | None:
        """The file on this machine holding the rendered file (folder store), else None."""
        return self.blobs.local_path(self.key_of(job))

    def write(self, job: ReportJob, data: bytes) -> None:
        """Keep the rendered file of a job whole or not at all: a download never reads half a file."""
        self.blobs.put(self.key_of(job), data, hashlib.sha256(data).hexdigest())


def report_for(
    assessment: Assessment,
    store: EvidenceStore,
    *,
    organisation: str | None = None,
    confidentiality: str | None = None,
    for_export: bool = False,
) -> Report:
    """The report model of an assessment, from the database, with the comparison with the cycle it
    was started from and the scope's trend up to its as-of date when there are such cycles.

    The sign-off names who submitted it (the preparer), every auditor who recorded a verification or
    a finding (the reviewers) and who approved it, whoever asks for the report. `organisation` and
    `confidentiality` are the instance's settings (ORGANISATION, CONFIDENTIALITY).

    `for_export` leaves out what no CSV, XLSX or score JSON export holds and what costs most to read: the
    assessment's audit trail (thousands of entries on a big assessment) and the scope's trend chart."""
    state = load_state(assessment)
    answers = domain_answers(state.framework, state.rows, state.evidence)
    files = {
        item.sha256: store.source(item.sha256) for items in state.evidence.values() for item in items if item.sha256
    }
    backlog = as_entries(sorted(items_for(assessment), key=lambda i: (-i.priority, i.id)))
    found = review.findings_of(assessment.id)
    evidence_rows = [row for rows in state.evidence.values() for row in rows]
    people = _people(
        {assessment.submitted_by, assessment.approved_by, *(f.auditor for f in found)}
        | {row.created_by for row in evidence_rows}
    )
    preparer = _signatory(people, assessment.submitted_by, assessment.submitted_at)
    approver = _signatory(people, assessment.approved_by, assessment.approved_at)
    last_review: dict[str, dt.datetime] = {}
    for f in found:
        last_review[f.auditor] = max(last_review.get(f.auditor, f.recorded_at), f.recorded_at)
    meta = ReportMeta(
        scope=assessment.scope.name,
        status=assessment.status,
        prepared_by=preparer.name if preparer else NOT_SUBMITTED,
        framework_label=assessment.framework_version.label,
        submitted_by=preparer.name if preparer else None,
        submitted_at=assessment.submitted_at,
        approved_by=approver.name if approver else None,
        approved_at=assessment.approved_at,
        review_comment=assessment.review_comment,
        preparer=preparer,
        reviewers=tuple(
            _signatory(people, name, at) for name, at in sorted(last_review.items(), key=lambda item: item[1])
        ),
        approver=approver,
        scope_description=assessment.scope.description or None,
        organisation=str(organisation) if organisation else None,  # an environment value may have been typed
        period_start=assessment.period_start,
        confidentiality=str(confidentiality) if confidentiality else DEFAULT_CONFIDENTIALITY,
        framework_sha256=assessment.framework_version.content_sha256,
    )
    provenance: dict[tuple, Provenance] = {}
    for row in evidence_rows:
        by = people.get(row.created_by)
        provenance.setdefault(
            evidence_key(to_domain_evidence(row)),
            Provenance(
                by[0] if by else row.created_by,
                row.created_at,
                row.source or ("upload" if row.sha256 else "link"),
                row.media_type,
            ),
        )
    findings = tuple(
        FindingEntry(f.requirement_id, f.auditor, f.verdict, f.severity, f.comment, f.recorded_at) for f in found
    )
    trail = (
        ()
        if for_export
        else tuple(
            trail_entry(e.seq, e.at, e.actor, e.action, e.object_type, e.object_id, e.before, e.after)
            for e in audit.for_assessment(assessment.id)
        )
    )
    trend = None if for_export else trends.scope_trend(assessment.scope, state.framework.id, until=assessment.as_of)
    measured = {}
    for rid, row in state.rows.items():
        fact = metric_answers.provenance_of(rid, row.measured) if row.value is not None else None
        requirement = state.framework.requirement_index.get(rid)
        if fact is not None and requirement is not None:
            overridden = metric_answers.override_text(requirement, row.value, fact) if row.overridden else None
            measured[rid] = MeasuredFact(fact.sentence(), fact.sha256, overridden)
    return build_report(
        state.framework,
        answers,
        meta,
        as_of=assessment.as_of,
        target_level=assessment.target_level,
        backlog=backlog,
        evidence_files=files,
        findings=findings,
        trail=trail,
        comparison=_with_previous(assessment, state.card),
        trend_svg=trend.svg if trend and len(trend.assessments) >= 2 else None,
        trend_caption=_trend_caption(trend, state.framework.is_maturity) if trend else None,
        trail_anchor=audit.head(),
        provenance=provenance,
        measured=measured,
        delivery=None if for_export else _delivery(assessment, state.framework),
    )


def _delivery(assessment: Assessment, framework) -> DeliverySection | None:
    """The assessed service's delivery section over the assessment period, when it has delivery events."""
    service = assessment.delivery_service
    if not service or service not in delivery.services_of(assessment.scope_id):
        return None
    index = DeliveryIndex(delivery.scope_events(assessment.scope_id))
    window = Window(assessment.period_from, assessment.as_of)
    return delivery_section(index, service, window, framework, assessment.as_of)


NOT_SUBMITTED = "not yet submitted"  # the preparer of a draft's report: nobody has submitted it


def _people(usernames: set[str | None]) -> dict[str, tuple[str, str]]:
    """Full name and role label of each of these users who still has an account, in one query."""
    names = {name for name in usernames if name}
    if not names:
        return {}
    rows = db.session.execute(select(User.username, User.display_name, User.role).where(User.username.in_(names)))
    return {row.username: (row.display_name or row.username, ROLE_LABELS.get(row.role, row.role)) for row in rows}


def _signatory(people: dict[str, tuple[str, str]], username: str | None, at: dt.datetime | None) -> Signatory | None:
    """One person of the sign-off: full name and role, or the user name alone when the account is gone."""
    if not username:
        return None
    name, role = people.get(username, (username, None))
    return Signatory(name, role, at)


def _with_previous(assessment: Assessment, card: Scorecard) -> CycleComparison | None:
    """The cycle this assessment was started from (before) against this one (after), or None."""
    previous = db.session.get(Assessment, assessment.previous_id) if assessment.previous_id else None
    if previous is None or previous.framework_version.framework_id != card.framework.id:
        return None
    comparison = compare(load_state(previous).card, card)
    return CycleComparison(previous.as_of, previous.framework_version.label, comparison)


def _trend_caption(trend: trends.ScopeTrend, maturity: bool) -> str | None:
    """What the trend chart of a report shows, in a sentence."""
    cycles = trend.assessments
    if len(cycles) < 2:
        return None
    labelled = ", labelled with its level" if maturity else ""
    return (
        f"{trend.title}: the overall score (the bold line{labelled}) and each domain's score over the scope's "
        f"{len(cycles)} cycles up to this one, {cycles[0].as_of.isoformat()} to {cycles[-1].as_of.isoformat()}. "
        "The application's trend page draws the same chart."
    )


def fingerprint(assessment: Assessment, kind: str, settings: tuple[str | None, ...] = ()) -> str:
    """What a rendered report depends on: the assessment's last change, its review, its backlog's
    last change, the last entry of its trail that records a change rather than a read, the
    last change of the scope's cycles it compares with or draws in its trend, and the instance's
    settings the report prints (`settings`: organisation and confidentiality, see ReportStore)."""
    backlog = db.session.execute(
        select(func.count(BacklogItem.id), func.max(BacklogItem.updated_at)).where(
            BacklogItem.scope_id == assessment.scope_id,
            BacklogItem.framework_id == assessment.framework_version.framework_id,
        )
    ).one()
    findings = db.session.execute(
        select(func.count(ReviewFinding.id), func.max(ReviewFinding.recorded_at)).where(
            ReviewFinding.assessment_id == assessment.id
        )
    ).one()
    # The other cycles the report shows: its previous cycle, and the trend's cycles up to its as-of
    # date. Any change to one touches its updated_at; a removed or added one changes the count.
    shown = (
        select(Assessment.id)
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(
            Assessment.scope_id == assessment.scope_id,
            FrameworkVersion.framework_id == assessment.framework_version.framework_id,
            or_(Assessment.as_of <= assessment.as_of, Assessment.id == assessment.previous_id),
        )
    )
    cycles = db.session.execute(
        select(func.count(Assessment.id), func.max(Assessment.updated_at)).where(Assessment.id.in_(shown))
    ).one()
    # The last entry recording a change (not a read) to this assessment or a cycle it shows: updated_at
    # has whole seconds, so two changes within one second would otherwise leave the fingerprint alone.
    last_change = db.session.scalar(
        select(func.max(AuditEntry.seq)).where(
            or_(AuditEntry.assessment_id == assessment.id, AuditEntry.assessment_id.in_(shown)),
            *(AuditEntry.action.not_like(f"%{suffix}") for suffix in READ_ACTIONS),
        )
    )
    raw = "|".join(
        str(part)
        for part in (
            assessment.id,
            kind,
            assessment.updated_at.isoformat(),
            assessment.status,
            backlog[0],
            backlog[1],
            assessment.approved_by,
            assessment.approved_at,
            findings[0],
            findings[1],
            last_change,
            assessment.previous_id,
            cycles[0],
            cycles[1],
            *delivery.scope_state(assessment.scope_id),  # the delivery section's events
            assessment.delivery_service,
            *settings,
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def request_report(assessment: Assessment, kind: str, user: str, store: ReportStore) -> ReportJob:
    """The job that renders (or rendered) this report: a finished one is reused while unchanged and its file
    is still in the store. A new job is queued; adapters/report_jobs.py runs it. A changed setting the
    report prints (the store's organisation or confidentiality) makes a new report."""
    if kind not in REPORT_KINDS:
        raise InvalidInput(f"Unknown report kind {kind!r}; choose one of {', '.join(REPORT_KINDS)}.")
    mark = fingerprint(assessment, kind, store.settings())
    existing = db.session.scalars(
        select(ReportJob)
        .where(ReportJob.fingerprint == mark, ReportJob.status.in_(("queued", "running", "done")))
        .order_by(ReportJob.id.desc())
    ).first()
    if existing is not None and (existing.status != "done" or store.has(existing)):
        return existing
    job = ReportJob(assessment_id=assessment.id, kind=kind, fingerprint=mark, requested_by=user)
    db.session.add(job)
    db.session.flush()
    return job


def finished_pdf(assessment: Assessment, store: ReportStore) -> ReportJob | None:
    """The newest finished PDF job of the assessment's current state whose file is still in the store:
    a bundle packs that file, so the PDF in a bundle is the PDF downloaded for the same state."""
    mark = fingerprint(assessment, "pdf", store.settings())
    jobs = db.session.scalars(
        select(ReportJob)
        .where(ReportJob.fingerprint == mark, ReportJob.kind == "pdf", ReportJob.status == "done")
        .order_by(ReportJob.id.desc())
    )
    return next((job for job in jobs if store.has(job)), None)


def record_pdf(assessment: Assessment, user: str, report_id: str, data: bytes, store: ReportStore) -> ReportJob:
    """Keep a PDF rendered for a bundle as the finished PDF job of the assessment's state, so a later
    download of the PDF is the same file."""
    job = ReportJob(
        assessment_id=assessment.id,
        kind="pdf",
        fingerprint=fingerprint(assessment, "pdf", store.settings()),
        requested_by=user,
    )
    db.session.add(job)
    db.session.flush()
    job.file_name = f"{job.id}-{report_id}.pdf"
    store.write(job, data)
    job.status, job.progress, job.message = "done", 100, "Ready"
    job.report_id, job.size, job.finished_at = report_id, len(data), utcnow()
    return job


def download_name(job: ReportJob, assessment: Assessment) -> str:
    """The name a downloaded report or bundle is saved under: scope, framework, as-of date and report id."""
    suffix = "-bundle.zip" if job.kind == "bundle" else ".pdf"
    framework = assessment.framework_version.framework_id
    return report_file_name(assessment.scope.name, framework, assessment.as_of, job.report_id, suffix)


def get_job(job_id: int) -> ReportJob:
    """A report job, or NotFound (an import's or a snapshot refresh's id names no report)."""
    job = db.session.get(ReportJob, job_id)
    if job is None or job.kind not in REPORT_KINDS:
        raise NotFound("No such report.")
    return job


def record_download(job: ReportJob, assessment: Assessment) -> None:
    """A report or bundle (with every evidence file) was downloaded: the trail says who took it."""
    from . import audit

    audit.about(
        assessment,
        "report.downloaded",
        "report",
        job.report_id or job.id,
        after={"kind": job.kind, "report_id": job.report_id},
    )


def record_export(assessment: Assessment, name: str, filters: dict[str, str] | None = None) -> None:
    """An export (results or backlog as CSV or XLSX, the score JSON) was downloaded: the trail says who took it."""
    after: dict = {"file": name}
    if filters:
        after["filters"] = filters
    audit.about(assessment, "export.downloaded", "export", f"{assessment.id}/{name}", after=after)


def job_file(job: ReportJob, store: ReportStore) -> Path | Reader:
    """The rendered file of a finished job: its path in the folder store, else the stored blob opened for
    streaming; NotFound when the job is not done or its file is gone."""
    if job.status != "done":
        raise NotFound("This report is not ready.")
    return store.local_path(job) or store.open(job)
