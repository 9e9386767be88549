"""Reports from files: a framework file and an answers file, as on the command line."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from assessment.domain.answers import read_answers_file
from assessment.domain.framework import Framework
from assessment.domain.loader import load_framework_file

from .model import DEFAULT_CONFIDENTIALITY, NOT_STATED, Report, ReportMeta, Signatory, build_report


def report_from_files(
    framework_path: Path,
    answers_path: Path,
    *,
    prepared_by: str | None = None,
    as_of=None,
    target_level: int | None = None,
    framework: Framework | None = None,
    organisation: str | None = None,
    period_start: dt.date | None = None,
    confidentiality: str | None = None,
) -> Report:
    """Build the report of an answers file; raises InvalidFile with every problem of either file, and
    ValueError for a period that starts after the as-of date. `framework`, when given, is the framework
    file already loaded. The answers format names no preparer, so without `prepared_by` the report says
    the preparer is not stated."""
    if framework is None:
        framework = load_framework_file(framework_path)
    answers = read_answers_file(answers_path, framework)
    files = {
        item.sha256: (answers_path.parent / item.file)
        for answer in answers.answers.values()
        for item in answer.evidence
        if item.file and item.sha256
    }
    preparer = (prepared_by or "").strip() or NOT_STATED
    meta = ReportMeta(
        scope=answers.scope,
        status="answers file",
        prepared_by=preparer,
        preparer=None if preparer == NOT_STATED else Signatory(preparer),
        organisation=organisation or None,
        period_start=period_start,
        confidentiality=confidentiality or DEFAULT_CONFIDENTIALITY,
        framework_sha256=hashlib.sha256(framework_path.read_bytes()).hexdigest(),
    )
    return build_report(framework, answers, meta, as_of=as_of, target_level=target_level, evidence_files=files)
