"""Precomputed objects for the templates, which hold no logic (house style, point 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_wtf import FlaskForm

from ..domain import display, explain, values
from ..domain.bands import BandRow, band_of, band_rows
from ..domain.display import STATUS_LABELS, one_decimal
from ..domain.framework import Domain, Framework, NumericAnswer, Requirement
from ..domain.scoring import RequirementResult, Scorecard
from ..forms import (
    note_field_id,
    note_field_name,
    revision_field_name,
    value_choices,
    value_field_id,
    value_field_name,
)
from ..services.assessments import AssessmentState, SaveResult, to_domain_evidence
from ..services.metric_answers import override_text, provenance_of
from .formerrors import FormErrors


@dataclass(frozen=True)
class EvidenceView:
    """One evidence item as a requirement shows it."""

    item: Any  # a row with the columns of EVIDENCE_COLUMNS
    current: bool
    dates: str


@dataclass(frozen=True)
class MeasuredView:
    """A metric-fed answer's provenance as a page shows it, and its override when a person replaced it."""

    requirement_id: str
    title: str
    sentence: str  # "Lead time for changes measured from 3 changes, service checkout, window ... to ..."
    service: str
    as_of: str  # the window's last day: the delivery page's date
    sha256: str | None
    evidence_id: int | None
    overridden: str | None  # "Overridden: measured 5 hours, answered 8 hours", or None
    note: str | None


def measured_view(requirement: Requirement, row: Any) -> MeasuredView | None:
    """The provenance of a stored answer, or None when a person typed it (or it is unanswered)."""
    if row is None or row.value is None:
        return None
    measured = provenance_of(requirement.id, row.measured)
    if measured is None:
        return None
    overridden = override_text(requirement, row.value, measured) if row.overridden else None
    return MeasuredView(
        requirement.id,
        requirement.title,
        measured.sentence(),
        measured.measurement.service,
        measured.measurement.window.last.isoformat(),
        measured.sha256,
        measured.evidence_id,
        overridden,
        row.note if row.overridden else None,
    )


@dataclass
class RequirementView:
    """Everything one requirement's block of the questionnaire shows."""

    requirement: Requirement
    result: RequirementResult
    value_field: object
    note_field: object
    revision_field: object
    options: list[tuple[str, str]]
    unit: str | None
    bands: str | None
    evidence: list[EvidenceView]
    status_label: str
    answered_by: str | None
    conflict: SaveResult | None = None
    carried_over: bool = False
    value_id: str = ""
    note_id: str = ""
    band_list: BandsView | None = None
    claim_reason: str | None = None  # why a claim earns nothing (evidence required, none current)
    measured: MeasuredView | None = None  # a metric-fed answer's provenance


@dataclass(frozen=True)
class BandsView:
    """A numeric question's bands beside its field, and the band the saved value falls in."""

    rows: tuple[tuple[BandRow, bool], ...]  # each band and whether the saved value lies in it
    unit: str | None
    now: str  # the saved value's band in words, or what to do without one


@dataclass(frozen=True)
class DomainNav:
    """One entry of the questionnaire's domain navigation."""

    index: int
    title: str
    answered: int
    total: int
    current: bool

    @property
    def percent(self) -> int:
        """Share answered, in whole percent."""
        return round(100 * self.answered / self.total) if self.total else 100


@dataclass
class QuestionnairePage:
    """A domain page of the questionnaire."""

    state: AssessmentState
    index: int
    domain: Domain
    nav: list[DomainNav]
    sections: list[tuple[str | None, list[RequirementView]]]
    editable: bool
    locked: bool
    prev_index: int | None
    next_index: int | None
    conflicts: int = 0
    overall_completion: str = ""
    carried_over: int = 0
    may_refresh: bool = False  # the assessment names a delivery service and the page may change it


def evidence_dates(item) -> str:
    """'effective 2026-01-01, expires 2026-12-31', or ''."""
    parts = []
    if item.effective:
        parts.append(f"effective {item.effective.isoformat()}")
    if item.expires:
        parts.append(f"expires {item.expires.isoformat()}")
    return ", ".join(parts)


def bands_text(answer: NumericAnswer) -> str:
    """The bands of a numeric question in words."""
    parts = []
    for band in answer.bands:
        if band.min is not None and band.max is not None:
            rng = f"{band.min:g}–{band.max:g}"
        elif band.max is not None:
            rng = f"up to {band.max:g}"
        elif band.min is not None:
            rng = f"{band.min:g} or more"
        else:
            rng = "any other value"
        parts.append(f"{rng}: {band.credit:g}")
    return "; ".join(parts)


def bands_view(answer: NumericAnswer, value: object) -> BandsView:
    """The bands of a numeric question with the one holding `value` (the saved answer) marked."""
    rows = band_rows(answer)
    unit = f" {answer.unit}" if answer.unit else ""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    current = None if number is None else band_of(rows, number)
    if number is None:
        now = "Type a number to see its band."
    elif current is None:
        now = f"{number:g}{unit} lies in no band."
    else:
        row = rows[current]
        now = f"{number:g}{unit} falls in the band {row.range_text}{unit}: {row.credit_text}."
    return BandsView(tuple((row, index == current) for index, row in enumerate(rows)), answer.unit, now)


def shown_value(requirement: Requirement, stored: str | None) -> str | None:
    """A stored value as the form shows it: today's stored form, whatever form an older version wrote."""
    try:
        return values.encode(values.decode(stored, requirement))
    except ValueError:
        return stored


def domain_nav(framework: Framework, answered: set[str], current: int) -> list[DomainNav]:
    """Per-domain progress for the navigation."""
    return [
        DomainNav(i, d.title, sum(1 for r in d.requirements if r.id in answered), len(d.requirements), i == current)
        for i, d in enumerate(framework.domains)
    ]


def questionnaire_page(
    state: AssessmentState,
    framework: Framework,
    index: int,
    form: FlaskForm,
    answered: set[str],
    conflicts: dict[str, SaveResult] | None = None,
    may_answer: bool = True,
    errors: FormErrors | None = None,
    rejected: dict[str, str] | None = None,
) -> QuestionnairePage:
    """The page of domain `index` of `framework`; `state` holds (at least) that domain's answers.

    The answers in `rejected` (requirement id -> the id of the field at fault) were not saved: they show
    what was submitted (`errors.values`), not what is stored, so the person corrects rather than retypes."""
    conflicts = conflicts or {}
    rejected = rejected or {}
    domain = framework.domains[index]
    as_of = state.assessment.as_of
    sections: list[tuple[str | None, list[RequirementView]]] = []
    for requirement in domain.requirements:
        row = state.rows.get(requirement.id)
        value_field = form[value_field_name(requirement)]
        note_field = form[note_field_name(requirement)]
        revision_field = form[revision_field_name(requirement)]
        value_field.data = shown_value(requirement, row.value) if row else None
        note_field.data = row.note if row else None
        revision_field.data = str(row.revision if row else 0)
        if errors is not None and requirement.id in rejected:
            value_field.data = errors.value(value_field_name(requirement)) or None
            note_field.data = errors.value(note_field_name(requirement)) or None
        linked = state.evidence.get(requirement.id, [])
        numeric = requirement.answer if isinstance(requirement.answer, NumericAnswer) else None
        view = RequirementView(
            requirement=requirement,
            result=state.result(requirement.id),
            value_field=value_field,
            note_field=note_field,
            revision_field=revision_field,
            options=value_choices(requirement),
            unit=numeric.unit if numeric else None,
            bands=bands_text(numeric) if numeric else None,
            evidence=[EvidenceView(e, to_domain_evidence(e).is_current(as_of), evidence_dates(e)) for e in linked],
            status_label=STATUS_LABELS[state.result(requirement.id).status],
            answered_by=f"{row.answered_by}, {row.answered_at:%Y-%m-%d %H:%M} UTC" if row else None,
            conflict=conflicts.get(requirement.id),
            carried_over=bool(row is not None and row.carried_over),
            value_id=value_field_id(requirement),
            note_id=note_field_id(requirement),
            band_list=bands_view(numeric, state.result(requirement.id).value) if numeric else None,
            claim_reason=explain.claim_reason(state.result(requirement.id), as_of),
            measured=measured_view(requirement, row),
        )
        if sections and sections[-1][0] == requirement.section:
            sections[-1][1].append(view)
        else:
            sections.append((requirement.section, [view]))
    count = len(framework.domains)
    return QuestionnairePage(
        state=state,
        index=index,
        domain=domain,
        nav=domain_nav(framework, answered, index),
        sections=sections,
        editable=state.assessment.editable and may_answer,
        locked=not state.assessment.editable,
        prev_index=index - 1 if index > 0 else None,
        next_index=index + 1 if index + 1 < count else None,
        conflicts=len(conflicts),
        carried_over=sum(1 for _, views in sections for v in views if v.carried_over),
        may_refresh=bool(state.assessment.editable and may_answer and state.assessment.delivery_service),
        overall_completion=one_decimal(100.0 * len(answered) / len(framework.requirements)),
    )


@dataclass(frozen=True)
class DomainRow:
    """One row of the results' domain table."""

    index: int
    id: str
    title: str
    score: str
    level: str
    below_target: bool
    met: int
    applicable: int
    level_reason: str = ""


@dataclass
class ResultsPage:
    """The results of an assessment, every figure from the scorecard."""

    state: AssessmentState
    score: str
    completion: str
    level: str
    target: str
    reached: bool | None
    next_level: str | None
    blockers: list[RequirementResult]
    domains: list[DomainRow]
    counts: list[tuple[str, str, int]]
    gaps: list[RequirementResult]
    status_labels: dict[str, str]
    gaps_total: int = 0
    gaps_shown_all: bool = True
    level_reason: str = ""
    provisional: str = ""  # why a draft's or returned assessment's figures may still change ('' when final)
    claim_reasons: dict[str, str] | None = None  # requirement id -> why its claim earns nothing
    measured: list[MeasuredView] | None = None  # the metric-fed answers, in framework order


def level_text(card: Scorecard, number: int | None) -> str:
    """'2 Managed', or '—'."""
    return display.level_text(number, card.framework.level_name(number))


GAPS_SHOWN = 100  # the first gaps on the page; the rest on request, and all in the backlog and reports


def results_page(state: AssessmentState, all_gaps: bool = False) -> ResultsPage:
    """The results page of an assessment; long gap lists show their first GAPS_SHOWN unless asked."""
    card = state.card
    maturity = card.framework.is_maturity
    target = card.target_level
    upcoming = card.next_level()
    rows = []
    for i, d in enumerate(card.domains):
        applicable = d.counts.total - d.counts.not_applicable
        below = maturity and target is not None and (d.level is None or d.level < target)
        rows.append(
            DomainRow(
                i,
                d.domain.id,
                d.domain.title,
                one_decimal(d.score),
                level_text(card, d.level),
                bool(below and d.level is not None),
                d.counts.met,
                applicable,
                explain.level_reason(card.framework, d.results, d.level) if maturity else "",
            )
        )
    as_of = state.assessment.as_of
    reasons = {r.id: reason for r in card.requirements if (reason := explain.claim_reason(r, as_of)) is not None}
    return ResultsPage(
        state=state,
        score=one_decimal(card.score),
        completion=one_decimal(card.completion),
        level=level_text(card, card.level) if maturity else "",
        target=level_text(card, target) if maturity else "",
        reached=(card.level is not None and target is not None and card.level >= target) if maturity else None,
        next_level=display.level_text(upcoming.number, upcoming.name) if upcoming else None,
        blockers=list(card.blockers()),
        domains=rows,
        counts=[(key, STATUS_LABELS[key], value) for key, value in card.counts.as_dict().items()],
        gaps=list(card.gaps if all_gaps else card.gaps[:GAPS_SHOWN]),
        status_labels=STATUS_LABELS,
        gaps_total=len(card.gaps),
        gaps_shown_all=all_gaps or len(card.gaps) <= GAPS_SHOWN,
        level_reason=explain.level_reason(card.framework, card.requirements, card.level) if maturity else "",
        provisional=explain.provisional_text(state.assessment.status),
        claim_reasons=reasons,
        measured=[
            view for r in card.framework.requirements if (view := measured_view(r, state.rows.get(r.id))) is not None
        ],
    )
