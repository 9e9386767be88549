"""Checking a report PDF on its own (`assessment verify-report`): its attachments are there, name
the report id the PDF prints (on its cover and in its Subject metadata), re-score exactly to the
figures of its score.json against the framework file when one is given, and its signature holds.

The PDF may come from anywhere: attachments are read within limits (reports/attachments.py), and
nothing is fetched.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .attachments import ANSWERS_YAML, AUDIT_TRAIL, EVIDENCE_MANIFEST, REQUIRED, SCORE_JSON, read_attachments
from .signing import Verdict, verify_pdf

REPORT_ID = re.compile(r"RPT-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}")
TEXT_PAGES = 3  # the report id is printed on the cover; these first pages are searched for it


class UnreadableReport(ValueError):
    """The file is not a PDF that can be read."""


@dataclass
class Outcome:
    """What was checked (one line each) and every problem found; `report_id` as the attachments name it."""

    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    report_id: str | None = None
    signature: Verdict | None = None

    @property
    def ok(self) -> bool:
        """Whether everything that was checked holds."""
        return not self.problems


def _json(name: str, raw: bytes, outcome: Outcome) -> dict | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        outcome.problems.append(f"{name} is not valid JSON: {error}")
        return None
    if not isinstance(value, dict):
        outcome.problems.append(f"{name}: expected a JSON object at the top level")
        return None
    return value


def _printed(pdf: bytes) -> tuple[str | None, set[str]]:
    """The PDF's Subject metadata and the report ids printed on its first pages."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        subject = (reader.metadata or {}).get("/Subject")
        text = "".join(page.extract_text() or "" for page in reader.pages[:TEXT_PAGES])
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise UnreadableReport(f"not a readable PDF: {error}") from None
    return (None if subject is None else str(subject)), set(REPORT_ID.findall(text))


def check_report_ids(pdf: bytes, attachments: dict[str, bytes], outcome: Outcome) -> None:
    """The report id of the evidence manifest (and the trail) is the one the PDF prints and names."""
    manifest = _json(EVIDENCE_MANIFEST, attachments[EVIDENCE_MANIFEST], outcome)
    report_id = manifest.get("report_id") if manifest else None
    if manifest is not None and not (isinstance(report_id, str) and REPORT_ID.fullmatch(report_id)):
        outcome.problems.append(f"{EVIDENCE_MANIFEST}: report_id is {report_id!r}, not a report id RPT-XXXX-XXXX-XXXX")
        return
    if report_id is None:
        return
    outcome.report_id = report_id
    subject, printed = _printed(pdf)
    problems = len(outcome.problems)
    if subject != f"Assessment report {report_id}":
        outcome.problems.append(
            f"the PDF's Subject is {subject!r}, but its attachments are of report {report_id} "
            f"(expected 'Assessment report {report_id}')"
        )
    if report_id not in printed:
        seen = ", ".join(sorted(printed)) or "no report id"
        outcome.problems.append(f"the report's first pages print {seen}, but its attachments are of report {report_id}")
    if AUDIT_TRAIL in attachments:
        trail = _json(AUDIT_TRAIL, attachments[AUDIT_TRAIL], outcome)
        if trail is not None and trail.get("report_id") != report_id:
            outcome.problems.append(f"{AUDIT_TRAIL} is of report {trail.get('report_id')!r}, not {report_id}")
    if len(outcome.problems) == problems:
        outcome.checked.append(f"report id: {report_id} (Subject, cover and attachments agree)")


def rescore(attachments: dict[str, bytes], framework_path: Path, outcome: Outcome) -> None:
    """Score answers.yaml against the framework file and compare with score.json, exactly."""
    from assessment.domain.answers import read_answers_text
    from assessment.domain.errors import InvalidFile
    from assessment.domain.loader import load_framework_file
    from assessment.domain.scoring import score, scorecard_to_dict

    try:
        framework = load_framework_file(framework_path)
    except InvalidFile as exc:
        raise UnreadableReport("\n".join(str(p) for p in exc.problems)) from None
    sha = hashlib.sha256(framework_path.read_bytes()).hexdigest()
    stated = _json(SCORE_JSON, attachments[SCORE_JSON], outcome)
    if stated is None:
        return
    try:
        text = attachments[ANSWERS_YAML].decode("utf-8")
        answers = read_answers_text(text, framework, ANSWERS_YAML)
    except UnicodeDecodeError as error:
        outcome.problems.append(f"{ANSWERS_YAML} is not UTF-8 text: {error}")
        return
    except InvalidFile as exc:
        outcome.problems += [f"{ANSWERS_YAML} does not fit {framework_path.name}: {p}" for p in exc.problems]
        return
    card = score(framework, answers, as_of=answers.as_of, target_level=answers.target_level, scope=answers.scope)
    recomputed = scorecard_to_dict(card)
    if recomputed == stated:
        outcome.checked.append(
            f"figures: {ANSWERS_YAML} re-scored against {framework_path.name} ({framework.id} {framework.version}, "
            f"SHA-256 {sha[:16]}...) gives {SCORE_JSON} exactly"
        )
        return
    differing = [key for key in sorted(set(recomputed) | set(stated)) if recomputed.get(key) != stated.get(key)]
    outcome.problems.append(
        f"figures: {ANSWERS_YAML} re-scored against {framework_path.name} differs from {SCORE_JSON} "
        f"in {', '.join(differing)}"
    )
    if "overall" in differing:
        was, now = (stated.get("overall") or {}).get("score"), recomputed["overall"]["score"]
        outcome.problems.append(f"figures: the overall score is {now} re-scored, {SCORE_JSON} says {was}")


def verify_report(pdf_path: Path, framework_path: Path | None = None, trust: list | None = None) -> Outcome:
    """Every check of a report PDF; UnreadableReport when the PDF (or the framework file) cannot be read."""
    try:
        pdf = Path(pdf_path).read_bytes()
    except OSError as error:
        raise UnreadableReport(f"cannot read {pdf_path}: {error.strerror}") from None
    if not pdf.startswith(b"%PDF-"):
        raise UnreadableReport(f"{pdf_path} is not a PDF")
    try:
        attachments = read_attachments(pdf)
    except ValueError as error:
        raise UnreadableReport(str(error)) from None
    outcome = Outcome()
    missing = [name for name in REQUIRED if name not in attachments]
    if missing:
        outcome.problems.append(f"attachments: missing {', '.join(missing)} (a report made before attachments?)")
    else:
        extra = [AUDIT_TRAIL] if AUDIT_TRAIL in attachments else []
        outcome.checked.append(f"attachments: {', '.join([*REQUIRED, *extra])}")
        check_report_ids(pdf, attachments, outcome)
        if framework_path is not None:
            rescore(attachments, framework_path, outcome)
        else:
            outcome.checked.append("figures: not re-scored (give --framework FRAMEWORK.yaml)")
    verdict = verify_pdf(pdf, trust)
    outcome.signature = verdict
    lines = verdict.lines("signature")
    if verdict.signed and not verdict.ok:
        outcome.problems += lines
    elif trust and not verdict.signed:
        outcome.problems.append("signature: unsigned, but --trust requires a signature")
    else:
        outcome.checked += lines
    return outcome
