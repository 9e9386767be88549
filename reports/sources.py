"""Reports from files: a framework file and an answers file, as on the command line."""

from __future__ import annotations

from pathlib import Path

from assessment.domain.answers import read_answers_file
from assessment.domain.framework import Framework
from assessment.domain.loader import load_framework_file

from .model import Report, ReportMeta, build_report


def report_from_files(
    framework_path: Path,
    answers_path: Path,
    *,
    prepared_by: str | None = None,
    as_of=None,
    target_level: int | None = None,
    framework: Framework | None = None,
) -> Report:
    """Build the report of an answers file; raises InvalidFile with every problem of either file.
    `framework`, when given, is the framework file already loaded."""
    if framework is None:
        framework = load_framework_file(framework_path)
    answers = read_answers_file(answers_path, framework)
    files = {
        item.sha256: (answers_path.parent / item.file)
        for answer in answers.answers.values()
        for item in answer.evidence
        if item.file and item.sha256
    }
    meta = ReportMeta(scope=answers.scope, status="answers file", prepared_by=prepared_by)
    return build_report(framework, answers, meta, as_of=as_of, target_level=target_level, evidence_files=files)
