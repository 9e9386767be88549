"""OSCAL 1.1.2 out: a scored assessment as assessment results and as a plan of action and milestones.

Both documents read only the report model (reports/model.py), like the other exports, so the web, the
API and the command line give the same file for the same state. No Flask here, and no trestle either:
the documents are plain JSON; the tests check them against trestle's models of NIST's schemas.

What goes where:
- assessment-results: one `result` over the assessment period, reviewing every requirement of the
  framework (include-all), one observation per gap (the answer, the note, the evidence as
  relevant-evidence) and one finding per gap (target the requirement, state not-satisfied). The score,
  the level and each domain's score and level are props of the result.
- plan-of-action-and-milestones: the same observations and one poam-item per gap (the requirement and
  its recommendation), with the backlog item's owner, due date and status as props when there is one.

Our props carry the namespace NS. OSCAL names (a prop's name, a finding's target-id) must be tokens; a
requirement id that is not one (it may start with a digit or hold `:()`) is made one by `token_of`,
and its exact id is always also a `requirement-id` prop. A domain's props share a `group`
(`domain-1`, `domain-2`, ... in framework order), OSCAL's way of saying which props go together.

The documents are deterministic: every UUID is a uuid5 of the assessment's identity (framework id and
version, scope, as-of date) and of what it names, and last-modified is the latest moment the report
records (a submission, an approval, a finding, an evidence item attached), else the as-of date. The
same state gives the same bytes; `metadata.version` is the report id, which changes with the content.
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import re
import uuid
from urllib.parse import quote

from assessment.domain.display import STATUS_LABELS
from assessment.domain.scoring import RequirementResult

from .model import EvidenceEntry, Report, RequirementRow

OSCAL_VERSION = "1.1.2"
NS = "https://assessment.invalid/ns/oscal"  # ours: .invalid (RFC 2606) never resolves, nor clashes with anyone's
_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)
_TOKEN = re.compile(r"^[_A-Za-z][_A-Za-z0-9.-]*$")  # OSCAL's token, restricted to the characters our ids use
_NOT_TOKEN = re.compile(r"[^_A-Za-z0-9.-]")


def token_of(identifier: str) -> str:
    """`identifier` as an OSCAL token: as it is when it is one, else with `:()` as `_` and `_` before a digit."""
    if _TOKEN.match(identifier):
        return identifier
    text = _NOT_TOKEN.sub("_", identifier)
    return text if re.match(r"[_A-Za-z]", text) else "_" + text


class _Ids:
    """The deterministic UUIDs of one assessment's documents."""

    def __init__(self, report: Report) -> None:
        card = report.card
        identity = "|".join((report.framework.id, report.framework.version, card.scope or "", card.as_of.isoformat()))
        self.base = uuid.uuid5(_ROOT, identity)

    def __call__(self, *parts: str) -> str:
        return str(uuid.uuid5(self.base, "/".join(parts)))


def _moment(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), dt.UTC).isoformat().replace("+00:00", "Z")


def _utc(moment: dt.datetime) -> str:
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _last_modified(report: Report) -> str:
    """The latest moment the report records, else the as-of date: never the time it was built."""
    meta = report.meta
    moments = [meta.submitted_at, meta.approved_at, *(f.recorded_at for f in report.findings)]
    moments += [e.provenance.attached_at for e in report.evidence if e.provenance is not None]
    known = [m.replace(tzinfo=dt.UTC) if m.tzinfo is None else m for m in moments if m is not None]
    return _utc(max(known)) if known else _moment(report.card.as_of)


def _prop(name: str, value, *, group: str | None = None) -> dict:
    prop = {"name": name, "ns": NS, "value": value if isinstance(value, str) else _number(value)}
    if group:
        prop["group"] = group
    return prop


def _number(value) -> str:
    if isinstance(value, float):
        return format(round(value, 6), "g")
    return str(value)


def _text(value: str | None) -> str | None:
    """A prop's value: OSCAL's values have no leading or trailing space, and no empty one."""
    text = " ".join((value or "").split())
    return text or None


def _metadata(report: Report, kind: str) -> dict:
    scope = f"{report.card.scope}: " if report.card.scope else ""
    title = f"{scope}{report.framework.title} {report.version_label} as of {report.card.as_of.isoformat()} ({kind})"
    metadata = {
        "title": title,
        "last-modified": _last_modified(report),
        "version": report.id,
        "oscal-version": OSCAL_VERSION,
        "props": [
            _prop("framework-id", report.framework.id),
            _prop("framework-version", _text(report.framework.version) or "unversioned"),
        ],
    }
    if report.meta.status:
        metadata["props"].append(_prop("assessment-status", token_of(_text(report.meta.status) or "unknown")))
    return metadata


def _rows(report: Report) -> dict[str, RequirementRow]:
    return {row.result.id: row for _, rows in report.domains for row in rows}


def _relevant_evidence(entry: EvidenceEntry) -> dict:
    """One evidence item: the link, or the file by name with its SHA-256 and media type."""
    description = f"{entry.number}: {entry.title}"
    props = [_prop("evidence-number", entry.number), _prop("current", "yes" if entry.current else "no")]
    if entry.url:
        evidence = {"href": entry.url, "description": description}
    else:
        evidence = {"description": description}
        if entry.file_name:
            evidence["href"] = quote(entry.file_name)
    if entry.sha256:
        props.append(_prop("sha256", entry.sha256))
        media_type = entry.provenance.media_type if entry.provenance is not None else None
        guessed = mimetypes.guess_type(entry.file_name or "")[0]
        props.append(_prop("media-type", media_type or guessed or "application/octet-stream"))
    if entry.size is not None:
        props.append(_prop("size", entry.size))
    for name, day in (("effective", entry.effective), ("expires", entry.expires)):
        if day is not None:
            props.append(_prop(name, day.isoformat()))
    evidence["props"] = props
    return evidence


def _observation(report: Report, ids: _Ids, gap: RequirementResult, row: RequirementRow, evidence: dict) -> dict:
    requirement = gap.requirement
    lines = [f"Requirement {requirement.id}: {requirement.title}", "", f"Answer: {row.answer_label}"]
    lines.append(f"Status: {STATUS_LABELS.get(gap.status, gap.status)} (credit {_number(gap.credit)})")
    if gap.unsupported:
        lines.append("Claimed without current evidence.")
    if row.note:
        lines += ["", f"Note: {row.note}"]
    observation = {
        "uuid": ids("observation", gap.id),
        "title": f"{requirement.id}: {requirement.title}",
        "description": "\n".join(lines),
        "props": [_prop("requirement-id", gap.id), _prop("status", gap.status)],
        "methods": ["EXAMINE"],
        "types": ["finding"],
        "collected": _moment(report.card.as_of),
    }
    relevant = [_relevant_evidence(evidence[number]) for number in row.evidence if number in evidence]
    if relevant:
        observation["relevant-evidence"] = relevant
    return observation


def _observations(report: Report, ids: _Ids) -> list[dict]:
    rows = _rows(report)
    evidence = {e.number: e for e in report.evidence}
    return [_observation(report, ids, gap, rows[gap.id], evidence) for gap in report.card.gaps]


def _finding(ids: _Ids, gap: RequirementResult) -> dict:
    requirement = gap.requirement
    description = requirement.question or requirement.title
    return {
        "uuid": ids("finding", gap.id),
        "title": f"{requirement.id}: {requirement.title}",
        "description": f"{description}\n\nNot satisfied: {STATUS_LABELS.get(gap.status, gap.status).lower()}.",
        "props": [_prop("requirement-id", gap.id), _prop("domain-id", requirement.domain_id)],
        "target": {
            "type": "objective-id",
            "target-id": token_of(gap.id),
            "status": {"state": "not-satisfied"},
        },
        "related-observations": [{"observation-uuid": ids("observation", gap.id)}],
    }


def _score_props(report: Report) -> list[dict]:
    """The overall score, completion and level, then each domain's score and level (one group each)."""
    card = report.card
    props = [] if card.score is None else [_prop("score", card.score)]
    props.append(_prop("completion", card.completion))
    if report.framework.is_maturity:
        if card.level is not None:
            props.append(_prop("level", card.level))
        if _text(card.level_name):
            props.append(_prop("level-name", _text(card.level_name)))
        if card.target_level is not None:
            props.append(_prop("target-level", card.target_level))
    props.append(_prop("gap-count", len(card.gaps)))
    for n, domain in enumerate(card.domains, start=1):
        group = f"domain-{n}"
        props.append(_prop("domain-id", domain.domain.id, group=group))
        if domain.score is not None:
            props.append(_prop("domain-score", domain.score, group=group))
        if report.framework.is_maturity and domain.level is not None:
            props.append(_prop("domain-level", domain.level, group=group))
    return props


def _no_plan(ids: _Ids) -> dict:
    return {
        "uuid": ids("resource", "assessment-plan"),
        "title": "Assessment plan (not attached)",
        "description": (
            "No OSCAL assessment plan document is attached: the assessment was planned by its framework, "
            "whose requirements the result reviews."
        ),
    }


def assessment_results(report: Report) -> dict:
    """The report as an OSCAL assessment-results document (a dict holding `assessment-results`)."""
    ids = _Ids(report)
    card = report.card
    start = report.meta.period_start or card.as_of
    result = {
        "uuid": ids("result"),
        "title": f"{report.framework.title} {report.version_label}",
        "description": (
            f"Self-assessment of {card.scope or 'the answers file'} against {report.framework.title} "
            f"{report.version_label}, as of {card.as_of.isoformat()}: {len(card.gaps)} gap(s)."
        ),
        "start": _moment(start),
        "end": _moment(card.as_of),
        "props": _score_props(report),
        "reviewed-controls": {
            "description": f"Every requirement of {report.framework.id} {report.framework.version}.",
            "control-selections": [{"include-all": {}}],
        },
    }
    observations = _observations(report, ids)
    if observations:
        result["observations"] = observations
        result["findings"] = [_finding(ids, gap) for gap in card.gaps]
    plan = _no_plan(ids)
    return {
        "assessment-results": {
            "uuid": ids("assessment-results"),
            "metadata": _metadata(report, "assessment results"),
            "import-ap": {"href": f"#{plan['uuid']}", "remarks": "A placeholder: no assessment plan is attached."},
            "results": [result],
            "back-matter": {"resources": [plan]},
        }
    }


def _poam_item(ids: _Ids, gap: RequirementResult, backlog) -> dict:
    requirement = gap.requirement
    recommendation = " ".join((requirement.recommendation or "").split())
    description = recommendation or f"Bring {requirement.id} to met: {requirement.question or requirement.title}"
    item = {
        "uuid": ids("poam-item", gap.id),
        "title": f"{requirement.id}: {requirement.title}",
        "description": description,
        "props": [_prop("requirement-id", gap.id)],
        "related-observations": [{"observation-uuid": ids("observation", gap.id)}],
    }
    entry = backlog.get(gap.id)
    if entry is not None:
        item["props"] += [_prop("priority", entry.priority), _prop("backlog-status", token_of(entry.status))]
        if _text(entry.owner):
            item["props"].append(_prop("owner", _text(entry.owner)))
        if entry.due_date is not None:
            item["props"].append(_prop("due-date", entry.due_date.isoformat()))
    return item


def poam(report: Report) -> dict:
    """The report's gaps as an OSCAL plan-of-action-and-milestones document (a dict holding it)."""
    ids = _Ids(report)
    backlog = {b.requirement_id: b for b in report.backlog}
    document = {
        "uuid": ids("plan-of-action-and-milestones"),
        "metadata": _metadata(report, "plan of action and milestones"),
        "system-id": {"identifier-type": "http://ietf.org/rfc/rfc4122", "id": ids("system")},
    }
    observations = _observations(report, ids)
    if observations:
        document["observations"] = observations
    document["poam-items"] = [_poam_item(ids, gap, backlog) for gap in report.card.gaps]
    return {"plan-of-action-and-milestones": document}


def _json(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def assessment_results_json(report: Report) -> str:
    """The assessment-results document as JSON text."""
    return _json(assessment_results(report))


def poam_json(report: Report) -> str:
    """The plan-of-action-and-milestones document as JSON text."""
    return _json(poam(report))
