"""One report model for every report: built from a framework, its answers and some facts about
the assessment, whether those come from the database or from files. The renderers (HTML, PDF,
bundle, exports) read only this model. No Flask here.

Evidence is numbered E-001, E-002, ... in order of first use down the framework, so the same
assessment always numbers its evidence the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from assessment.domain.answers import NA, Answer, Answers, Evidence
from assessment.domain.backlog import propose_backlog
from assessment.domain.display import one_decimal
from assessment.domain.framework import Framework, NumericAnswer, Requirement
from assessment.domain.scoring import RequirementResult, Scorecard, score, scorecard_to_dict


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
    source: Path | None = None  # where the file's bytes are, for bundles


@dataclass(frozen=True)
class RequirementRow:
    """One requirement of the per-domain detail."""

    result: RequirementResult
    answer_label: str
    note: str | None
    evidence: tuple[str, ...]  # evidence numbers

    @property
    def requirement(self) -> Requirement:
        """The requirement."""
        return self.result.requirement


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


@dataclass(frozen=True)
class ReportMeta:
    """Facts about the assessment that the answers alone do not hold."""

    scope: str | None
    status: str = "draft"
    prepared_by: str | None = None
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
    framework_label: str | None = None  # e.g. "2026.1 (revision 2)"; default the version


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
        if self.card.level is None:
            return "n/a"
        return f"{self.card.level} {self.card.level_name}"

    @property
    def target_text(self) -> str | None:
        """'3 Defined', or None."""
        target = self.card.target_level
        return None if target is None else f"{target} {self.framework.level_name(target)}"

    @property
    def unsupported(self) -> tuple[RequirementResult, ...]:
        """Requirements claimed without current evidence."""
        return tuple(r for r in self.card.requirements if r.unsupported)

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
        return f"{value:g} {spec.unit}" if spec.unit and isinstance(value, (int, float)) else str(value)
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
    evidence_files: dict[str, Path] | None = None,
) -> Report:
    """Score the answers and lay out everything a report shows.

    `evidence_files` maps a SHA-256 to the file holding those bytes (for bundles). Without
    `backlog`, the backlog is proposed from the gaps.
    """
    card = score(framework, answers, as_of=as_of, target_level=target_level, scope=meta.scope)
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
                key = _evidence_key(item)
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
                    result, answer_label(result.requirement, result.value), answer.note if answer else None, tuple(refs)
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
        )
        for e in entries
    )
    if backlog is None:
        backlog = tuple(
            BacklogEntry(p.requirement_id, p.title, p.priority, recommendation=p.recommendation)
            for p in propose_backlog(card)
        )
    report_id = _report_id(card, evidence, backlog, meta)
    return Report(report_id, framework, card, meta, tuple(domains), evidence, backlog)


def _evidence_key(item: Evidence) -> tuple:
    return (item.title, item.url, item.sha256, item.file if item.sha256 is None else None, item.effective, item.expires)


def _report_id(card: Scorecard, evidence, backlog, meta: ReportMeta) -> str:
    """A stable id of the report's content: the same assessment, unchanged, gets the same id."""
    content = {
        "score": scorecard_to_dict(card),
        "notes": [r.answer.note if r.answer else None for r in card.requirements],
        "evidence": [(e.number, e.title, e.url, e.sha256, str(e.effective), str(e.expires)) for e in evidence],
        "backlog": [(b.requirement_id, b.owner, str(b.due_date), b.status) for b in backlog],
        "meta": [meta.scope, meta.status, meta.prepared_by, meta.framework_label],
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest().upper()
    return f"RPT-{digest[:4]}-{digest[4:8]}-{digest[8:12]}"
