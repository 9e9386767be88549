"""The files a report PDF carries (score.json, answers.yaml, evidence-manifest.json, audit-trail.json)
and reading them back from a PDF, within limits. PDFs are made with pypdf: no rendering here."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from pypdf import PdfWriter

from assessment.domain.answers import read_answers_text
from assessment.domain.loader import load_framework_file
from assessment.domain.scoring import score, scorecard_to_dict
from assessment.domain.trail import Anchor
from reports import attachments as att
from reports.attachments import UnreadableAttachments, embed_attachments, read_attachments, report_attachments
from reports.model import ReportMeta, build_report
from reports.review import TrailEntry
from reports.sources import report_from_files
from tests.conftest import EXAMPLES

FRAMEWORK, ANSWERS = EXAMPLES / "devops-delivery.yaml", EXAMPLES / "devops-delivery.answers.yaml"


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def deflated_without_size(name: str, data: bytes) -> bytes:
    """A PDF with one deflated attachment that does not declare its size."""
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(blank_pdf()))
    params = embed.EmbeddedFileParams(embed_size=False, embed_checksum=False)
    stream = embed.EmbeddedFileObject.from_file_data(writer, data, params=params)
    embed.embed_file(writer, embed.FileSpec(name, name, stream))
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) - len(blank_pdf()) < 1000
    return out.getvalue()


def test_a_file_report_carries_score_answers_and_manifest():
    report = report_from_files(FRAMEWORK, ANSWERS, as_of=dt.date(2026, 11, 21))
    files = {a.name: a for a in report_attachments(report)}
    assert list(files) == ["score.json", "answers.yaml", "evidence-manifest.json"]
    assert json.loads(files["score.json"].data) == json.loads(json.dumps(report.score_json))
    assert files["score.json"].mime == "application/json" and files["score.json"].description
    framework = load_framework_file(FRAMEWORK)
    answers = read_answers_text(files["answers.yaml"].data.decode(), framework)
    card = score(framework, answers, as_of=answers.as_of, target_level=answers.target_level, scope=answers.scope)
    assert scorecard_to_dict(card) == report.score_json  # the figures re-score from the attachment alone
    manifest = json.loads(files["evidence-manifest.json"].data)
    assert manifest["report_id"] == report.id
    assert [e["number"] for e in manifest["evidence"]] == [e.number for e in report.evidence]
    first = manifest["evidence"][0]
    assert set(first) >= {"number", "title", "url", "file_name", "sha256", "size", "media_type", "effective",
                          "expires", "requirement_ids"}  # fmt: skip
    assert first["sha256"] == report.evidence[0].sha256 and first["requirement_ids"]


def test_an_application_report_carries_its_trail_and_chain_head():
    framework = load_framework_file(FRAMEWORK)
    entry = TrailEntry(7, dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC), "ada", "answer.saved", "answer 1/CI-01", "")
    anchor = Anchor(seq=9, head="ab" * 32, count=9)
    report = build_report(framework, {}, ReportMeta(scope="s"), trail=(entry,), trail_anchor=anchor)
    trail = json.loads({a.name: a for a in report_attachments(report)}["audit-trail.json"].data)
    assert trail["report_id"] == report.id
    assert trail["chain"] == {"count": 9, "seq": 9, "head": "ab" * 32, "anchor": f"9:{'ab' * 32}"}
    assert trail["entries"] == [
        {"seq": 7, "at": "2026-11-20T08:00:00+00:00", "actor": "ada", "action": "answer.saved",
         "object": "answer 1/CI-01", "change": ""}
    ]  # fmt: skip


def test_attachments_read_back_from_a_pdf():
    report = report_from_files(FRAMEWORK, ANSWERS)
    files = report_attachments(report)
    found = read_attachments(embed_attachments(blank_pdf(), files))
    assert found == {a.name: a.data for a in files}
    assert read_attachments(blank_pdf()) == {}


def test_reading_attachments_is_bounded(monkeypatch):
    declared = embed_attachments(blank_pdf(), [att.Attachment("big.bin", b"x" * 5000, "application/octet-stream", "")])
    bomb = deflated_without_size("bomb.bin", b"\0" * 5000)  # 5,000 bytes in 20: only inflating tells
    monkeypatch.setattr(att, "MAX_ATTACHMENT", 4096)
    with pytest.raises(UnreadableAttachments, match="'big.bin' is larger than 4,096 bytes"):
        read_attachments(declared)
    with pytest.raises(UnreadableAttachments, match="'bomb.bin' unpacks to more than 4,096 bytes"):
        read_attachments(bomb)
    many = [att.Attachment(f"f{i}.txt", b"x", "text/plain", "") for i in range(5)]
    monkeypatch.setattr(att, "MAX_ATTACHMENTS", 4)
    with pytest.raises(UnreadableAttachments, match="5 attached files"):
        read_attachments(embed_attachments(blank_pdf(), many))


def test_embedded_files_are_associated_with_the_document():
    from pypdf import PdfReader

    report = report_from_files(FRAMEWORK, ANSWERS)
    pdf = blank_pdf()
    embedded = embed_attachments(pdf, report_attachments(report))
    assert embedded.startswith(pdf)  # an incremental update
    root = PdfReader(io.BytesIO(embedded)).trailer["/Root"]
    specs = [ref.get_object() for ref in root["/AF"]]
    assert [spec["/UF"] for spec in specs] == ["answers.yaml", "evidence-manifest.json", "score.json"]
    assert {spec["/AFRelationship"] for spec in specs} == {"/Data"}
    assert specs[2]["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"
    assert specs[2]["/Desc"] == "Score JSON (spec section 4)"


def test_a_file_that_is_not_a_pdf_is_unreadable():
    with pytest.raises(UnreadableAttachments, match="not a readable PDF"):
        read_attachments(b"%PDF-1.7\nnot really")
