"""One report model for every report: built from a framework, its answers and some facts about
the assessment, whether those come from the database or from files. The renderers (HTML, PDF,
bundle, exports) read only this model. No Flask here.

Evidence is numbered E-001, E-002, ... in order of first use down the framework, so the same
assessment always numbers its evidence the same way.

A report's id hashes its content: scores, notes, evidence, backlog, the facts of its cover and
auditors' findings, and, for an assessment of a later cycle, the comparison with the previous cycle
and the trend chart. The audit trail it may carry is left out on purpose: the trail is the history
of that content (every change it records already changed the content), and it also records reads
(downloads, exports), which would otherwise give an unchanged assessment a new id at every download.
The trail's anchor (its entry count and head hash when the report was built) is left out of the
id for the same reason; it is printed in the sign-off and written into a bundle's manifest, so
anyone holding the report can later prove the trail up to that entry (`assessment audit verify
--anchor SEQ:HEAD`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assessment.domain.answers import NA, Answer, Answers, Evidence
from assessment.domain.backlog import propose_backlog
from assessment.domain.compare import Comparison, RequirementChange
from assessment.domain.display import level_text, one_decimal
from assessment.domain.framework import Framework, NumericAnswer, Requirement
from assessment.domain.scoring import RequirementResult, Scorecard, score, scorecard_to_dict
from assessment.domain.trail import Anchor
from assessment.domain.values import number_text

from .review import FindingEntry, TrailEntry, review_mark, severity_counts, utc_text, worst_severity

if TYPE_CHECKING:
    from .delivery_section import DeliverySection


class FileSource(Protocol):
    """Where an evidence file's bytes can be read: a Path, or a file in the application's evidence store."""

    @property
    def name(self) -> str: ...

    def open(self, mode: str = ...): ...  # with mode "rb": a context manager giving a binary stream


@dataclass(frozen=True)
class EvidenceEntry:
    """One item of the evidence index."""

    number: str  # E-001
    title: str
    url: str | None
    file_name: str | None
    sha256: str | None
    size: int | None
    effective: dt.date | None
    expires: dt.date | None
    current: bool
    requirement_ids: tuple[str, ...]
    source: FileSource | None = None  # where the file's bytes are (a Path, a stored file), for bundles
    provenance: Provenance | None = None  # who attached it, when and how; None for answers files

    @property
    def origin(self) -> str:
        """How the item came in: upload, link or import (from the database), else the answers file or a link."""
        if self.provenance is not None and self.provenance.source:
            return self.provenance.source
        return "link" if self.url else "answers file"


@dataclass(frozen=True)
class Provenance:
    """Where an evidence item came from: who attached it (full name), when (UTC), how, and its media type."""

    attached_by: str | None
    attached_at: dt.datetime | None
    source: str | None  # upload, link or import
    media_type: str | None = None

    @property
    def attached_at_text(self) -> str:
        """When it was attached, as printed ('2026-11-20 10:00 UTC'), or a dash."""
        return "—" if self.attached_at is None else utc_text(self.attached_at) + " UTC"


@dataclass(frozen=True)
class MeasuredFact:
    """A metric-fed answer's provenance as a report prints it: the sentence, the events snapshot's SHA-256,
    and, when a person replaced the measured value, the override in words."""

    sentence: str
    sha256: str | None = None
    overridden: str | None = None  # "Overridden: measured 5 hours, answered 8 hours"


@dataclass(frozen=True)
class RequirementRow:
    """One requirement of the per-domain detail."""

    result: RequirementResult
    answer_label: str
    note: str | None
    evidence: tuple[str, ...]  # evidence numbers
    findings: tuple[FindingEntry, ...] = ()  # auditors' reviews of this requirement
    measured: MeasuredFact | None = None  # a metric-fed answer's provenance

    @property
    def requirement(self) -> Requirement:
        """The requirement."""
        return self.result.requirement

    @property
    def review_mark(self) -> str | None:
        """'Finding: minor', 'Verified' or None, for the detail table."""
        return review_mark(self.findings)

    @property
    def review_severity(self) -> str | None:
        """The most severe finding's severity, 'verified' when every review verified it, or None."""
        return worst_severity(self.findings) or ("verified" if self.findings else None)


@dataclass(frozen=True)
class BacklogEntry:
    """One improvement item as the report lists it."""

    requirement_id: str
    title: str
    priority: int
    owner: str | None = None
    due_date: dt.date | None = None
    status: str = "plan"
    recommendation: str | None = None
    hypothesis: str | None = None
    outcome: str | None = None
    priority_reasons: str | None = None  # why it ranks where it does ("blocks level 3; weight 2")


NOT_STATED = "not stated"  # the preparer of a file report when --prepared-by is not given
DEFAULT_CONFIDENTIALITY = "Confidential"
DEFAULT_PERIOD_DAYS = 90  # an assessment period without a start date ends at as-of and is this long
DRAFT_STATUSES = ("draft", "returned")
ASSESSMENT_STATUSES = ("draft", "submitted", "returned", "approved")  # as in the application


def product_version() -> str:
    """The version of this product, as installed (printed on the cover)."""
    try:
        return importlib.metadata.version("assessment")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Signatory:
    """One person of the sign-off: full name as printed, role in the application, and when (UTC)."""

    name: str
    role: str | None = None  # "Program lead", "Auditor"; None when not known (a file report, a removed user)
    at: dt.datetime | None = None

    @property
    def at_text(self) -> str:
        """When, as printed in the sign-off block."""
        return "—" if self.at is None else utc_text(self.at) + " UTC"


@dataclass(frozen=True)
class ReportMeta:
    """Facts about the assessment that the answers alone do not hold.

    `prepared_by` is the preparer's printed name (the PDF's Author): the person who submitted the
    assessment, or who a file report says prepared it. `preparer`, `reviewers` and `approver` are
    the sign-off, each with a role and a time. `period_start` is None when the assessment names no
    start: the period is then the DEFAULT_PERIOD_DAYS days up to the as-of date (Report.period_start).
    """

    scope: str | None
    status: str = "draft"
    prepared_by: str | None = None
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
    framework_label: str | None = None  # e.g. "2026.1 (revision 2)"; default the version
    submitted_by: str | None = None
    submitted_at: dt.datetime | None = None
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    review_comment: str | None = None  # the reviewer's comment when the assessment was returned
    preparer: Signatory | None = None
    reviewers: tuple[Signatory, ...] = ()  # every auditor who recorded a verification or finding
    approver: Signatory | None = None
    scope_description: str | None = None
    organisation: str | None = None
    period_start: dt.date | None = None
    confidentiality: str = DEFAULT_CONFIDENTIALITY
    framework_sha256: str | None = None  # of the framework file the report was scored on
    product_version: str = field(default_factory=product_version)

    @property
    def signoff_rows(self) -> list[tuple[str, str, str, str, str]]:
        """The sign-off block's rows: (what, name, role, when UTC, note), the preparer first, one row per
        reviewer, the approver last; a row for each that is missing, saying so."""
        preparer = self.preparer or (
            Signatory(self.submitted_by, None, self.submitted_at) if self.submitted_by else None
        )
        approver = self.approver or (Signatory(self.approved_by, None, self.approved_at) if self.approved_by else None)
        dash = "—" if self.in_application else ""  # a file report leaves blank lines to sign on
        rows = []
        if preparer is not None:
            note = "Submitted in the application" if preparer.at else ""
            rows.append(
                ("Prepared by", preparer.name, preparer.role or dash, preparer.at_text if preparer.at else dash, note)
            )
        else:
            rows.append(("Prepared by", self.prepared_by or NOT_STATED, dash, dash, ""))
        for p in self.reviewers:
            rows.append(("Reviewed by", p.name, p.role or "—", p.at_text, "Reviewed in the application"))
        if not self.reviewers:
            rows.append(("Reviewed by", "no review recorded" if self.in_application else "", dash, dash, ""))
        if approver is not None:
            rows.append(
                ("Approved by", approver.name, approver.role or "—", approver.at_text, "Approved in the application")
            )
        else:
            rows.append(("Approved by", "not approved" if self.in_application else "", dash, dash, ""))
        return rows

    @property
    def in_application(self) -> bool:
        """Whether the report is of an assessment in the application (not of an answers file)."""
        return self.status in ASSESSMENT_STATUSES

    @property
    def is_draft(self) -> bool:
        """Whether the assessment is a draft (or returned for changes): every page is marked DRAFT."""
        return self.status in DRAFT_STATUSES

    @property
    def draft_mark(self) -> str | None:
        """The mark every page of a draft carries, or None."""
        if self.status == "returned":
            return "DRAFT (returned)"
        return "DRAFT" if self.status == "draft" else None

    @property
    def status_text(self) -> str:
        """The status as the cover states it: a draft (or returned), submitted but not yet approved, or approved."""
        if self.status == "submitted":
            return "submitted, not yet approved"
        if self.status == "approved":
            return "approved"  # by whom and when: approval_text, printed beneath
        if self.status == "returned":
            return "returned for changes (a draft, not approved)"
        if self.status == "draft":
            return "draft (not submitted, not approved)"
        return self.status

    @property
    def submission_text(self) -> str | None:
        """'Submitted by X on YYYY-MM-DD HH:MM UTC', or None."""
        return _by_on("Submitted", self.submitted_by, self.submitted_at)

    @property
    def approval_text(self) -> str | None:
        """'Approved by X on YYYY-MM-DD HH:MM UTC', or None while not approved."""
        return _by_on("Approved", self.approved_by, self.approved_at)

    @property
    def approved_on_text(self) -> str | None:
        """The approval's time as printed in the sign-off block."""
        return None if self.approved_at is None else utc_text(self.approved_at) + " UTC"


def _by_on(verb: str, who: str | None, when: dt.datetime | None) -> str | None:
    if not who:
        return None
    return f"{verb} by {who}" + ("" if when is None else f" on {utc_text(when)} UTC")


@dataclass(frozen=True)
class CycleComparison:
    """This assessment against the cycle it was started from (before = that cycle, after = this one)."""

    previous_as_of: dt.date
    previous_label: str  # the previous cycle's framework version as printed, e.g. "2026.1"
    comparison: Comparison

    @property
    def changed(self) -> tuple[RequirementChange, ...]:
        """The requirements that improved, regressed, came or went, in the comparison's order."""
        return tuple(change for change in self.comparison.requirements if change.kind != "unchanged")


@dataclass(frozen=True)
class Report:
    """Everything a report shows."""

    id: str
    framework: Framework
    card: Scorecard
    meta: ReportMeta
    domains: tuple[tuple[str, tuple[RequirementRow, ...]], ...]  # (domain id, rows)
    evidence: tuple[EvidenceEntry, ...]
    backlog: tuple[BacklogEntry, ...]
    findings: tuple[FindingEntry, ...] = ()  # in framework order, then by auditor
    trail: tuple[TrailEntry, ...] = ()  # oldest first; not part of the id (see the module's docstring)
    comparison: CycleComparison | None = None  # with the previous cycle, for an assessment of a later cycle
    trend_svg: str | None = None  # the scope's trend chart, the same SVG as the web trend page
    trend_caption: str | None = None
    trail_anchor: Anchor | None = None  # the whole trail's count and head when built; not part of the id
    signed_by: str | None = None  # the signer's certificate subject when the PDF is signed; not part of the id
    delivery: DeliverySection | None = None  # the assessed service's delivery metrics and charts

    @property
    def signed(self) -> bool:
        """Whether the PDF of this report is signed (reports/signing.py)."""
        return self.signed_by is not None

    @property
    def signing_text(self) -> str:
        """What the report says about its signature: 'Signed by CN=...' or 'Unsigned'."""
        return f"Signed by {self.signed_by}" if self.signed_by else "Unsigned"

    @property
    def period_start(self) -> dt.date:
        """The first day of the assessment period: the assessment's own, or DEFAULT_PERIOD_DAYS before as-of."""
        return self.meta.period_start or self.card.as_of - dt.timedelta(days=DEFAULT_PERIOD_DAYS)

    @property
    def period_text(self) -> str:
        """'2026-08-23 to 2026-11-21': the assessment period, ending at the as-of date."""
        return f"{self.period_start.isoformat()} to {self.card.as_of.isoformat()}"

    @property
    def version_label(self) -> str:
        """The framework version as printed."""
        return self.meta.framework_label or self.framework.version

    @property
    def score_text(self) -> str:
        """The overall score to one decimal."""
        return one_decimal(self.card.score)

    @property
    def level_text(self) -> str | None:
        """'2 Managed', or None for compliance frameworks."""
        if not self.framework.is_maturity:
            return None
        return level_text(self.card.level, self.card.level_name, missing="n/a")

    @property
    def target_text(self) -> str | None:
        """'3 Defined', or None."""
        target = self.card.target_level
        return None if target is None else level_text(target, self.framework.level_name(target))

    @property
    def unsupported(self) -> tuple[RequirementResult, ...]:
        """Requirements claimed without current evidence."""
        return tuple(r for r in self.card.requirements if r.unsupported)

    @property
    def finding_counts(self) -> dict[str, int]:
        """Findings by severity (major, minor, observation), then verifications."""
        return severity_counts(self.findings)

    @property
    def score_json(self) -> dict:
        """The spec's score JSON of this assessment."""
        return scorecard_to_dict(self.card)


def answer_label(requirement: Requirement, value) -> str:
    """How an answer reads: the option's label, the number with its unit, or a dash."""
    if value is None:
        return "—"
    if value == NA:
        return "Not applicable"
    spec = requirement.answer
    if isinstance(spec, NumericAnswer):
        text = number_text(value) if isinstance(value, (int, float)) else str(value)
        return f"{text} {spec.unit}" if spec.unit else text
    option = spec.by_value.get(value)
    return option.label if option else str(value)


def build_report(
    framework: Framework,
    answers: Answers | dict[str, Answer],
    meta: ReportMeta,
    *,
    as_of: dt.date | None = None,
    target_level: int | None = None,
    backlog: tuple[BacklogEntry, ...] | None = None,
    evidence_files: dict[str, FileSource] | None = None,
    findings: tuple[FindingEntry, ...] = (),
    trail: tuple[TrailEntry, ...] = (),
    comparison: CycleComparison | None = None,
    trend_svg: str | None = None,
    trend_caption: str | None = None,
    trail_anchor: Anchor | None = None,
    provenance: dict[tuple, Provenance] | None = None,
    measured: dict[str, MeasuredFact] | None = None,
    delivery: DeliverySection | None = None,
) -> Report:
    """Score the answers and lay out everything a report shows.

    `evidence_files` maps a SHA-256 to the file holding those bytes (a Path or a stored file, for bundles). Without
    `backlog`, the backlog is proposed from the gaps. `findings` are auditors' reviews, in any
    order; `trail` is the assessment's audit trail, oldest first. `comparison` compares the
    previous cycle with these answers (its `after` must score them), and `trend_svg` is the
    scope's trend chart with its caption. `trail_anchor` is the application's whole audit trail
    (count and head) as it stood when the report was built. `provenance` maps an evidence item's
    evidence_key to who attached it, when and how. `measured` maps a requirement id to its metric-fed
    answer's provenance. A period that starts after the as-of date is a ValueError.
    """
    card = score(framework, answers, as_of=as_of, target_level=target_level, scope=meta.scope)
    if meta.period_start is not None and meta.period_start > card.as_of:
        raise ValueError(
            f"the assessment period starts on {meta.period_start.isoformat()}, after its as-of date "
            f"{card.as_of.isoformat()}; give a start on or before the as-of date"
        )
    if comparison is not None:
        after = comparison.comparison.after
        if (after.framework.id, after.framework.version, after.as_of) != (framework.id, framework.version, card.as_of):
            raise ValueError(
                f"the comparison's later side scores {after.framework.id} {after.framework.version} as of "
                f"{after.as_of}, not this report's {framework.id} {framework.version} as of {card.as_of}"
            )
    order = {r.id: n for n, r in enumerate(framework.requirements)}
    findings = tuple(
        sorted(findings, key=lambda f: (order.get(f.requirement_id, len(order)), f.requirement_id, f.auditor))
    )
    findings_of: dict[str, list[FindingEntry]] = {}
    for f in findings:
        findings_of.setdefault(f.requirement_id, []).append(f)
    by_id = answers.answers if isinstance(answers, Answers) else answers
    numbers: dict[tuple, str] = {}
    entries: list[dict] = []
    entry_of: dict[str, dict] = {}
    domains = []
    for domain_result in card.domains:
        rows = []
        for result in domain_result.results:
            answer = by_id.get(result.id)
            refs = []
            for item in answer.evidence if answer else ():
                key = evidence_key(item)
                if key not in numbers:
                    numbers[key] = f"E-{len(numbers) + 1:03d}"
                    entries.append({"item": item, "number": numbers[key], "requirements": []})
                    entry_of[numbers[key]] = entries[-1]
                entry = entry_of[numbers[key]]
                if result.id not in entry["requirements"]:
                    entry["requirements"].append(result.id)
                refs.append(numbers[key])
            rows.append(
                RequirementRow(
                    result,
                    answer_label(result.requirement, result.value),
                    answer.note if answer else None,
                    tuple(refs),
                    tuple(findings_of.get(result.id, ())),
                    (measured or {}).get(result.id),
                )
            )
        domains.append((domain_result.domain.id, tuple(rows)))
    evidence = tuple(
        EvidenceEntry(
            number=e["number"],
            title=e["item"].title,
            url=e["item"].url,
            file_name=Path(e["item"].file).name if e["item"].file else None,
            sha256=e["item"].sha256,
            size=e["item"].size,
            effective=e["item"].effective,
            expires=e["item"].expires,
            current=e["item"].is_current(card.as_of),
            requirement_ids=tuple(e["requirements"]),
            source=(evidence_files or {}).get(e["item"].sha256 or ""),
            provenance=(provenance or {}).get(evidence_key(e["item"])),
        )
        for e in entries
    )
    if backlog is None:
        backlog = tuple(
            BacklogEntry(
                p.requirement_id,
                p.title,
                p.priority,
                recommendation=p.recommendation,
                priority_reasons="; ".join(p.reasons),
            )
            for p in propose_backlog(card)
        )
    report_id = _report_id(
        card, evidence, backlog, meta, findings, comparison, trend_svg, trend_caption, measured,
        None if delivery is None else delivery.digest(),
    )  # fmt: skip
    return Report(
        report_id,
        framework,
        card,
        meta,
        tuple(domains),
        evidence,
        backlog,
        findings,
        tuple(trail),
        comparison,
        trend_svg,
        trend_caption,
        trail_anchor,
        delivery=delivery,
    )


def evidence_key(item: Evidence) -> tuple:
    """What makes two evidence items one entry of the index (and one number)."""
    return (item.title, item.url, item.sha256, item.file if item.sha256 is None else None, item.effective, item.expires)


def _report_id(
    card: Scorecard,
    evidence,
    backlog,
    meta: ReportMeta,
    findings: tuple[FindingEntry, ...],
    comparison: CycleComparison | None = None,
    trend_svg: str | None = None,
    trend_caption: str | None = None,
    measured: dict[str, MeasuredFact] | None = None,
    delivery_digest: str | None = None,
) -> str:
    """A stable id of the report's content: the same assessment, unchanged, gets the same id.

    Review facts, findings, the comparison, the trend, the cover's facts (scope description,
    organisation, an explicit period start, a confidentiality other than the default), the sign-off
    and the evidence's provenance join the hashed content only when there are some, so reports that
    have none (files, the command line, a first cycle) keep the ids they had before those sections
    existed; a preparer "not stated" hashes as the empty one it replaced. The product version and
    the generation time are left out: they change without the content changing. The comparison is
    hashed by the previous cycle's scorecard: with this report's own, already hashed, it decides
    every figure the section shows.
    """
    content = {
        "score": scorecard_to_dict(card),
        "notes": [r.answer.note if r.answer else None for r in card.requirements],
        "evidence": [(e.number, e.title, e.url, e.sha256, str(e.effective), str(e.expires)) for e in evidence],
        "backlog": [(b.requirement_id, b.owner, str(b.due_date), b.status) for b in backlog],
        "meta": [
            meta.scope,
            meta.status,
            None if meta.prepared_by == NOT_STATED else meta.prepared_by,
            meta.framework_label,
        ],
    }
    # the period hashes as printed: a start equal to the default one is the default
    start = meta.period_start
    if start == card.as_of - dt.timedelta(days=DEFAULT_PERIOD_DAYS):
        start = None
    facts = [meta.scope_description, meta.organisation, None if start is None else str(start), meta.confidentiality]
    if facts != [None, None, None, DEFAULT_CONFIDENTIALITY]:
        content["facts"] = facts
    people = [meta.preparer, *meta.reviewers, meta.approver]
    if any(p is not None for p in people):
        content["signoff"] = [None if p is None else (p.name, p.role, str(p.at)) for p in people]
    provenance = [e.provenance for e in evidence]
    if any(p is not None for p in provenance):
        content["provenance"] = [
            None if p is None else (p.attached_by, str(p.attached_at), p.source, p.media_type) for p in provenance
        ]
    stamps = [None if t is None else utc_text(t, seconds=True) for t in (meta.submitted_at, meta.approved_at)]
    review = [meta.submitted_by, stamps[0], meta.approved_by, stamps[1], meta.review_comment]
    if any(fact is not None for fact in review):
        content["review"] = review
    if findings:
        content["findings"] = [
            (f.requirement_id, f.auditor, f.verdict, f.severity, f.comment, utc_text(f.recorded_at)) for f in findings
        ]
    if comparison is not None:
        content["comparison"] = [
            str(comparison.previous_as_of),
            comparison.previous_label,
            scorecard_to_dict(comparison.comparison.before),
        ]
    if measured:
        content["measured"] = sorted((rid, m.sentence, m.sha256, m.overridden) for rid, m in measured.items())
    if trend_svg is not None:
        content["trend"] = [hashlib.sha256(trend_svg.encode()).hexdigest(), trend_caption]
    if delivery_digest is not None:
        content["delivery"] = delivery_digest
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest().upper()
    return f"RPT-{digest[:4]}-{digest[4:8]}-{digest[8:12]}"
