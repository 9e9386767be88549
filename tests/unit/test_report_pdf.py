"""The PDF report from files: the acceptance points, read back with pdftotext."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.model import ReportMeta, build_report
from reports.render import render_html, render_pdf
from reports.sources import report_from_files
from tests.conftest import EXAMPLES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"),
]  # slow: PDF rendering


def pdf_text(pdf: bytes, tmp_path: Path, layout: bool = True) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def devops_files(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    return tmp_path / "ex" / "devops-delivery.yaml", tmp_path / "ex" / "devops-delivery.answers.yaml"


def test_pdf_holds_what_an_auditor_needs(devops_files, tmp_path):
    report = report_from_files(*devops_files, prepared_by="Dana Auditor")
    text = pdf_text(render_pdf(report), tmp_path)
    for rid in ("CI-01", "CI-02", "CI-03", "DEP-01", "DEP-02", "DEP-03", "OPS-01", "OPS-02"):
        assert rid in text
    for title in ("Continuous integration", "Deployment", "Operations"):
        assert title in text
    assert "DevOps Delivery Maturity (example)" in text and "2026.1" in text
    assert "56.3" in text and "1 Initial" in text
    assert "1a8dd0a0e6bd03841deb022508d992e909b2aeec63148d1b7e7629ecaf94a533" in text
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert pages and all(total == pages[0][1] for _, total in pages)
    assert [int(n) for n, _ in pages] == list(range(1, int(pages[0][1]) + 1))
    assert text.count(report.id) >= len(pages)  # the report id on every page
    for heading in (
        "Contents",
        "Executive summary",
        "Requirements by domain",
        "Evidence index",
        "Gaps",
        "Improvement backlog",
        "Method",
        "Sign-off",
    ):
        assert heading in text
    assert "Dana Auditor" in text


def test_unsupported_requirements_are_marked(devops_files, tmp_path):
    text = pdf_text(render_pdf(report_from_files(*devops_files)), tmp_path)
    ops = next(line for line in text.splitlines() if "OPS-01" in line and "Yes" in line)
    following = text[text.index(ops) : text.index(ops) + 600]
    assert "UNSUPPORTED" in following
    slo = next(line for line in text.splitlines() if "SLO document" in line)
    assert "2026-10-31" in slo and "EXPIRED" in slo  # the expired SLO document, at the as-of date 2026-11-21


def test_evidence_not_yet_in_force_is_marked(devops_files, tmp_path):
    framework, answers = devops_files
    text = answers.read_text().replace("        expires: 2026-10-31\n", "        effective: 2027-01-01\n")
    answers.write_text(text)
    pdf = pdf_text(render_pdf(report_from_files(framework, answers)), tmp_path)
    slo = next(line for line in pdf.splitlines() if "SLO document" in line)
    assert "2027-01-01" in slo and "NOT YET" in slo and "EXPIRED" not in slo


def test_hostile_text_is_printed_and_nothing_is_fetched(devops_files, tmp_path):
    framework, answers = devops_files
    hostile = '<img src="file:///etc/passwd"> <b>bold</b> <script>alert(1)</script>'
    text = answers.read_text().replace("note: SLOs exist but the evidence expired.", f"note: '{hostile}'")
    answers.write_text(text)
    report = report_from_files(framework, answers, prepared_by='<img src="http://evil.example/x.png">')
    html = render_html(report)
    assert "<img" not in html and "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    log: list[str] = []
    out = pdf_text(render_pdf(report, log=log), tmp_path, layout=False)
    compact = "".join(out.split())  # the note wraps inside its table cell
    assert '<imgsrc="file:///etc/passwd"><b>bold</b><script>alert(1)</script>' in compact
    assert all(url.endswith("/reports/assets/report.css") for url in log), log


def test_the_fetcher_refuses_everything_but_our_assets():
    from reports.worker import ASSETS, asset_path

    assert asset_path((ASSETS / "report.css").as_uri()) is not None
    for url in (
        "file:///etc/passwd",
        "http://example.com/x.css",
        (ASSETS / ".." / "render.py").resolve().as_uri(),
        "data:text/css,body{}",
        "file://evil.example" + str(ASSETS / "report.css"),
    ):
        assert asset_path(url) is None, url


def test_compliance_report_has_no_levels(tmp_path):
    text = pdf_text(
        render_pdf(report_from_files(EXAMPLES / "itgc-mini.yaml", EXAMPLES / "itgc-mini.answers.yaml")), tmp_path
    )
    assert "COMPLIANCE ASSESSMENT REPORT" in text
    assert "33.3" in text and "Maturity level" not in text


def test_report_id_is_stable_for_unchanged_content(devops_files):
    first = report_from_files(*devops_files)
    second = report_from_files(*devops_files)
    assert first.id == second.id and re.fullmatch(r"RPT-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", first.id)
    changed = build_report(first.framework, {}, ReportMeta(scope="x"))
    assert changed.id != first.id


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "two-workers"])
def test_contents_page_numbers_point_at_their_sections(devops_files, tmp_path, parallel):
    report = report_from_files(*devops_files)
    pdf = render_pdf(report, parallel=parallel)
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    pages = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout.split("\f")
    contents = next(p for p in pages if "Contents" in p)
    listed = dict(re.findall(r"^\s*(\S.*?\S)\s{2,}(\d+)\s*$", contents, flags=re.M))
    assert "000" not in contents  # the placeholders the numbers are stamped over are never printed
    for title in (
        "Executive summary",
        "Requirements by domain",
        "Evidence index",
        "Gaps and improvement backlog",
        "Method",
        "Sign-off",
        "Operations",
    ):
        page = pages[int(listed[title]) - 1]
        assert title in page, (title, listed[title])
    total = len([p for p in pages if p.strip()])
    assert f"Page {total} of {total}" in pages[total - 1]
    assert all(f"Page {n} of {total}" in pages[n - 1] for n in range(1, total + 1))


def reviewed_report(devops_files, trail_entries: int = 3):
    """The devops example approved by "lead", with findings of two auditors and a trail."""
    import datetime as dt
    import json

    from assessment.domain.answers import read_answers_file
    from assessment.domain.loader import load_framework_file
    from reports.model import FindingEntry
    from reports.review import trail_entry

    framework = load_framework_file(devops_files[0])
    answers = read_answers_file(devops_files[1], framework)
    at = dt.datetime(2026, 11, 20, 14, 5, tzinfo=dt.UTC)
    findings = (
        FindingEntry(
            "CI-02", "audrey", "finding", "minor", "Tests are not a required check on the release branch.", at
        ),
        FindingEntry("OPS-01", "otto", "finding", "major", "No current SLO document. " + "x" * 400, at),
        FindingEntry("CI-01", "audrey", "verified", None, None, at),
    )
    canonical = lambda value: json.dumps(value, sort_keys=True, separators=(",", ":"))  # noqa: E731
    trail = [
        trail_entry(n * 2 + 1, f"2026-11-19T09:{n % 60:02d}:00+00:00", "alice", "answer.saved", "answer", "4/CI-01",
                    canonical({"value": "no"}), canonical({"value": "yes", "note": f"Pipeline {n} " + "y" * 200}))
        for n in range(trail_entries)
    ]  # fmt: skip
    trail.append(trail_entry(9001, "2026-11-20T14:05:00+00:00", "lead", "assessment.approved", "assessment", "4",
                             canonical({"status": "submitted"}), canonical({"status": "approved"})))  # fmt: skip
    meta = ReportMeta(scope=answers.scope, status="approved", prepared_by="Dana", submitted_by="alice",
                      submitted_at=at.replace(hour=10), approved_by="lead", approved_at=at)  # fmt: skip
    return build_report(framework, answers, meta, findings=findings, trail=tuple(trail))


def test_an_approved_report_names_the_approver_its_findings_and_its_trail(devops_files, tmp_path):
    report = reviewed_report(devops_files)
    pdf = render_pdf(report)
    text = pdf_text(pdf, tmp_path)
    pages = text.split("\f")
    raw = pdf_text(pdf, tmp_path, layout=False).split("\f")
    compact = ["".join(page.split()) for page in raw]  # cells wrap their text
    assert "Approved by lead on 2026-11-20 14:05 UTC" in pages[0]  # the cover
    assert "Submitted by alice on 2026-11-20 10:05 UTC" in pages[0]
    findings = next(p for p in compact if "Reviewfindings" in p and "RECORDED(UTC)" in p)
    assert "Testsarenotarequiredcheckonthereleasebranch." in findings and "NocurrentSLOdocument." in findings
    assert "Finding:minor" in findings and "Finding:major" in findings and "Verified" in findings
    assert "audrey" in findings and "otto" in findings and "2026-11-2014:05" in findings
    assert "MajorMinorObservationVerified1101" in findings  # the counts by severity
    detail = next(p for p in compact if "Requirementsbydomain" in p and "CREDIT" in p)
    assert "Finding:minor" in detail[detail.index("CI-02L2") : detail.index("CI-03L3")]
    signoff = next(p for p in pages if "Sign-off" in p and "Approved by" in p and "Signature" in p)
    approved_line = next(line for line in signoff.splitlines() if "Approved by" in line)
    assert "lead" in approved_line and "2026-11-20 14:05" in signoff
    trail = next(p for p in pages if "Audit trail" in p and "When (UTC)" in p and "Action" in p)
    assert "assessment.approved" in text and "answer.saved" in trail
    assert '"no" → "yes"' in text and "9001" in text
    assert text.index("Sign-off", text.index("Method")) < text.rindex("Audit trail")  # the trail is the appendix


def test_contents_list_findings_and_trail_on_their_pages(devops_files, tmp_path):
    report = reviewed_report(devops_files, trail_entries=150)  # the trail runs over two parts
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(report))
    pages = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")  # fmt: skip
    contents = next(p for p in pages if "Contents" in p)
    listed = dict(re.findall(r"^\s*(\S.*?\S)\s{2,}(\d+)\s*$", contents, flags=re.M))
    titles = ["Improvement backlog", "Review findings", "Method", "Sign-off", "Audit trail"]
    assert [int(listed[t]) for t in titles] == sorted(int(listed[t]) for t in titles)
    for title in ("Review findings", "Audit trail"):
        assert title in pages[int(listed[title]) - 1], title
    trail_pages = [p for p in pages if "answer.saved" in p]
    assert len(trail_pages) >= 2 and all(
        re.search(r"No\. +When \(UTC\) +Who +Action +Object +Change", p) for p in trail_pages
    )
    assert "Page 1 of" in pages[0]


def test_the_trail_appendix_ends_with_the_chain_head_and_count(devops_files, tmp_path):
    import dataclasses

    from assessment.domain.trail import Anchor

    head = "ab" * 32
    report = dataclasses.replace(reviewed_report(devops_files), trail_anchor=Anchor(9042, head, 1340))
    pages = pdf_text(render_pdf(report), tmp_path).split("\f")
    last = "".join(pages[-2].split())  # the final "page" after the last form feed is empty
    end = last.index("Endofthetrailatthetimeofthisreport")
    assert end > last.rindex("assessment.approved")  # after the last entry
    assert "held1340entriesinall" in last[end:]
    assert f"entry9042,hadthehash{head}" in last[end:] and f"--anchor9042:{head}" in last[end:]
    assert "attachedtothisPDF(audit-trail.json)" in "".join(" ".join(pages).split())


def test_the_trail_appendix_is_compact(devops_files, tmp_path):
    """1,340 entries (the trail of a fully answered 1,189-requirement assessment) take 56 pages as a
    table of six cells a row; one line an entry fits them in under 20, and every entry is there."""
    import dataclasses

    from reports.review import trail_entry

    entries = tuple(
        trail_entry(n * 3 + 1, "2026-11-19T09:00:00+00:00", "alice", "answer.saved", "answer", f"4/AC-{n:04d}",
                    '{"value": "no", "note": null}', '{"value": "yes", "note": "Reviewed with the control owner."}')
        for n in range(1340)
    )  # fmt: skip
    report = dataclasses.replace(report_from_files(*devops_files), trail=entries)
    pages = pdf_text(render_pdf(report), tmp_path).split("\f")
    trail = [p for p in pages if "answer.saved" in p]
    assert len(trail) < 20
    assert sum(p.count("answer.saved") for p in trail) == 1340
    assert all("When (UTC)" in p for p in trail)  # the heading line repeats on every page
    line = next(line for line in trail[0].splitlines() if "4/AC-0000" in line)
    assert re.search(
        r'\b1 2026-11-19 09:00:00 alice answer\.saved +answer 4/AC-0000 value: "no" → "yes"; note: — →', line
    )


def test_a_report_without_review_has_no_review_sections(devops_files, tmp_path):
    text = pdf_text(render_pdf(report_from_files(*devops_files)), tmp_path)
    for absent in ("Review findings", "Audit trail", "Finding:", "Approved by lead", "Auditors' review"):
        assert absent not in text
    signoff = text[text.rindex("Sign-off") :]
    approved_line = next(line for line in signoff.splitlines() if "Approved by" in line)
    assert approved_line.split() == ["Approved", "by"]  # a blank line to sign


def test_a_returned_report_gives_the_reviewers_comment(devops_files, tmp_path):
    report = report_from_files(*devops_files)
    meta = ReportMeta(scope=report.meta.scope, status="returned", review_comment="Attach the current SLO document.")
    returned = build_report(report.framework, {}, meta)
    text = pdf_text(render_pdf(returned), tmp_path)
    assert "Review findings" in text and "Attach the current SLO document." in text
    assert "No auditor has recorded a review" in text and "Audit trail" not in text
