"""The archival PDF (issue 13, point 1 and the embedding half of point 2): a file report, a report
cut into several documents and a web report each pass the same third-party checks (pdfinfo,
pdfinfo -meta, pdffonts, qpdf --check, pypdf), through one helper, check_archival."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, IndirectObject

from bench.generate import answers_yaml, framework_yaml
from reports.render import render_pdf
from reports.sources import report_from_files
from tests.conftest import EXAMPLES

TOOLS = ("pdfinfo", "pdffonts", "qpdf")
pytestmark = [
    pytest.mark.slow,  # PDF rendering
    pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason="poppler-utils and qpdf are needed"),
]


def _run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, f"{args[0]}: {result.stderr or result.stdout}"
    return result.stdout


def _get(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _pages_of(reader: PdfReader) -> dict[int, int]:
    return {page.indirect_reference.idnum: index for index, page in enumerate(reader.pages)}


def check_archival(path: Path, *, author: str | None = None) -> PdfReader:
    """Every check an archive's intake would make of the report at `path`; returns it read by pypdf."""
    info = _run("pdfinfo", str(path))
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert re.search(r"^CreationDate:\s+\S", info, re.M) and re.search(r"^ModDate:\s+\S", info, re.M), info
    assert re.search(r"^Producer:\s+assessment \d", info, re.M), info
    pages = int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1))
    if author is not None:
        assert re.search(rf"^Author:\s+{re.escape(author)}$", info, re.M), info

    meta = _run("pdfinfo", "-meta", str(path))
    assert re.search(r"<pdfaid:part>3</pdfaid:part>|pdfaid:part=.3.", meta), meta
    assert re.search(r"<pdfaid:conformance>B</pdfaid:conformance>|pdfaid:conformance=.B.", meta), meta
    assert meta.count("<?xpacket begin") == 1

    fonts = _run("pdffonts", str(path)).splitlines()[2:]
    assert fonts
    tags: dict[str, str] = {}
    for line in fonts:
        name, *_, emb, _sub, _uni, obj, gen = line.split()
        assert emb == "yes", line
        assert "Helvetica" not in name, line
        if "+" in name:
            tag = name.split("+")[0]
            assert tags.setdefault(tag, obj + " " + gen) == obj + " " + gen, f"subset tag {tag} used twice: {fonts}"

    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "WARNING" not in check.stdout + check.stderr, check.stdout + check.stderr

    reader = PdfReader(path)
    assert len(reader.pages) == pages
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == "en"
    intents = root["/OutputIntents"]
    assert len(intents) == 1 and "sRGB" in str(_get(intents[0]).get("/OutputConditionIdentifier", ""))
    tree = root["/StructTreeRoot"]
    documents = [_get(k) for k in tree["/K"]]
    assert [d["/S"] for d in documents] == ["/Document"]
    # the ParentTree holds a key for every page's and annotation's StructParent(s)
    keys = {int(k) for k in _get(tree["/ParentTree"])["/Nums"][0::2]}
    for page in reader.pages:
        assert int(page["/StructParents"]) in keys
        for annotation in page.get("/Annots", ()):
            if "/StructParent" in _get(annotation):
                assert int(_get(annotation)["/StructParent"]) in keys
    assert int(tree["/ParentTreeNextKey"]) > max(keys)
    links = [_get(a) for page in reader.pages for a in page.get("/Annots", ()) if _get(a)["/Subtype"] == "/Link"]
    assert links, "no link annotations"
    assert reader.outline
    return reader


def _structure(reader: PdfReader) -> list[dict]:
    """Every structure element of the tree, depth first."""
    found, todo = [], [reader.trailer["/Root"]["/StructTreeRoot"]]
    while todo:
        node = _get(todo.pop())
        kids = node.get("/K")
        if node.get("/Type") == "/StructElem" or "/S" in node:
            found.append(node)
        if isinstance(kids, ArrayObject):
            todo.extend(k for k in kids if not isinstance(_get(k), int) and "/MCID" not in _get(k))
        elif kids is not None and not isinstance(_get(kids), int) and hasattr(_get(kids), "get"):
            todo.append(kids)
    return found


def _check_tags_and_stamps(reader: PdfReader) -> None:
    """Headings, tables with header cells and a figure with its alternative text are tagged; the
    stamped page numbers are artifacts in the embedded stamp font."""
    elements = _structure(reader)
    kinds = {str(e["/S"]) for e in elements if "/S" in e}
    assert {"/H1", "/H2", "/H3", "/Table", "/TH", "/TD", "/Figure", "/Link"} <= kinds, kinds
    figures = [e for e in elements if e.get("/S") == "/Figure"]
    assert figures and all(str(e.get("/Alt", "")).strip() for e in figures)
    for page in reader.pages[:3]:
        content = page.get_contents().get_data()
        assert b"/Artifact <</Type /Pagination /Subtype /Footer>> BDC BT /FStamp" in content
        assert "+DejaVuSans" in str(page["/Resources"]["/Font"]["/FStamp"]["/BaseFont"])


def _destination_page(reader: PdfReader, annotation) -> int:
    dest = annotation.get("/Dest")
    if dest is None:
        return -1
    if not isinstance(dest, ArrayObject):
        dest = reader.named_destinations[str(dest)]
        return reader.get_destination_page_number(dest)
    return _pages_of(reader)[dest[0].idnum]


def _text_pages(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return out.split("\f")


def _links(reader: PdfReader) -> list[tuple[int, dict]]:
    return [
        (index, _get(a))
        for index, page in enumerate(reader.pages)
        for a in page.get("/Annots", ())
        if _get(a)["/Subtype"] == "/Link"
    ]


def _check_links(reader: PdfReader, path: Path) -> None:
    """Contents lines open their section's page; evidence numbers open the evidence index; URLs are URI links."""
    texts = _text_pages(path)
    links = _links(reader)
    internal = [(page, a) for page, a in links if "/Dest" in a]
    contents = [a for page, a in internal if page == 1]
    assert len(contents) >= 6
    for annotation in contents:
        target = _destination_page(reader, annotation)
        heading = {"summary": "Executive summary", "evidence": "Evidence index", "signoff": "Sign-off"}
        for anchor, title in heading.items():
            if str(annotation.get("/Contents", "")) == anchor:
                assert title in texts[target]
    evidence = [a for page, a in internal if str(a.get("/Contents", "")).startswith("evidence-E-")]
    assert evidence, "no evidence number links"
    for annotation in evidence:
        number = str(annotation["/Contents"]).removeprefix("evidence-")
        page_text = texts[_destination_page(reader, annotation)]
        assert "Evidence index" in page_text or number in page_text
    uris = [str(a["/A"]["/URI"]) for _, a in links if "/A" in a and a["/A"].get("/S") == "/URI"]
    assert any(u.startswith("https://wiki.example.com/") for u in uris), uris


def _outline_titles(items) -> list:
    out = []
    for item in items:
        if isinstance(item, list):
            out.append(_outline_titles(item))
        else:
            out.append(item.title)
    return out


def _check_outline(reader: PdfReader) -> None:
    outline = _outline_titles(reader.outline)
    top = [t for t in outline if isinstance(t, str)]
    assert "Gaps and improvement backlog" in top and "Improvement backlog" not in top
    gaps = outline.index("Gaps and improvement backlog")
    assert outline[gaps + 1] == ["Improvement backlog"]
    detail = outline.index("Requirements by domain")
    assert isinstance(outline[detail + 1], list) and outline[detail + 1]


@pytest.fixture
def devops_files(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    return tmp_path / "ex" / "devops-delivery.yaml", tmp_path / "ex" / "devops-delivery.answers.yaml"


def test_a_file_report_is_an_archival_pdf(devops_files, tmp_path):
    report = report_from_files(*devops_files, prepared_by="Dana Auditor")
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(report))
    reader = check_archival(path, author="Dana Auditor")
    _check_tags_and_stamps(reader)
    _check_links(reader, path)
    _check_outline(reader)
    meta = reader.metadata
    assert meta.title.startswith("DevOps Delivery Maturity (example) 2026.1")
    assert report.id in meta["/Keywords"] and "devops-delivery" in meta["/Keywords"]
    assert report.meta.scope in meta["/Keywords"] and report.id in meta.subject
    assert meta.creation_date == report.meta.generated_at == meta.modification_date
    xmp = _run("pdfinfo", "-meta", str(path))
    assert "<rdf:li>Dana Auditor</rdf:li>" in xmp and report.meta.generated_at.strftime("%Y-%m-%dT%H:%M:%S") in xmp


def test_equal_inputs_give_equal_bytes(devops_files):
    report = report_from_files(*devops_files, prepared_by="Dana Auditor")
    assert render_pdf(report) == render_pdf(report)


def test_a_report_of_several_documents_is_one_archival_pdf(tmp_path):
    from assessment.domain.loader import load_framework_text

    text = framework_yaml(200, per_domain=60)
    framework, answers = tmp_path / "f.yaml", tmp_path / "a.yaml"
    framework.write_text(text)
    answers.write_text(answers_yaml(load_framework_text(text), "2026-11-21"))
    report = report_from_files(framework, answers)
    path = tmp_path / "big.pdf"
    path.write_bytes(render_pdf(report, parallel=True))
    reader = check_archival(path)
    _check_links(reader, path)
    _check_outline(reader)
    # the structure elements of the last pages (from the last document) sit under the one Document element
    document = reader.trailer["/Root"]["/StructTreeRoot"]["/K"][0].get_object()
    pages = _pages_of(reader)
    elements = [_get(k) for k in document["/K"]]
    on = {pages[e.raw_get("/Pg").idnum] for e in elements if "/Pg" in e}
    assert len(reader.pages) - 1 in on and 0 in on
    parent = reader.trailer["/Root"]["/StructTreeRoot"]["/K"][0]
    assert {e.raw_get("/P").idnum for e in elements} == {parent.idnum}
    # every evidence number links to the index, though the index is another document than most rows
    links = _links(reader)
    evidence = [a for _, a in links if str(a.get("/Contents", "")).startswith("evidence-E-")]
    assert len(evidence) == 200
    texts = _text_pages(path)
    for annotation in evidence[::37]:
        number = str(annotation["/Contents"]).removeprefix("evidence-")
        assert re.search(rf"^\s*{number}\s", texts[_destination_page(reader, annotation)], re.M)
    uris = [a for _, a in links if "/A" in a]
    assert len(uris) == 200
    # the contents' last lines (in the first document) open pages of the last documents
    contents = [a for page, a in links if page == 1]
    signoff = next(a for a in contents if str(a.get("/Contents")) == "signoff")
    assert "Sign-off" in texts[_destination_page(reader, signoff)]
    assert Path(path).stat().st_size < 3_000_000


@dataclass
class _File:
    name: str
    data: bytes
    mime: str
    description: str


def test_attachments_are_embedded_as_associated_files(devops_files, tmp_path):
    report = report_from_files(*devops_files, prepared_by="Dana Auditor")
    files = [
        _File("score.json", b'{"overall": 56.3}\n', "application/json", "The score (spec section 4)"),
        _File("answers.yaml", devops_files[1].read_bytes(), "application/yaml", "The answers file"),
    ]
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(report, attachments=files))
    reader = check_archival(path)
    root = reader.trailer["/Root"]
    specs = [_get(s) for s in root["/AF"]]
    assert sorted(s["/F"] for s in specs) == ["answers.yaml", "score.json"]
    names = _get(root["/Names"]["/EmbeddedFiles"])
    listed = names["/Names"] if "/Names" in names else [n for kid in names["/Kids"] for n in _get(kid)["/Names"]]
    assert [str(n) for n in listed[0::2]] == ["answers.yaml", "score.json"]
    for spec in specs:
        stream = _get(spec["/EF"]["/F"])
        original = next(f for f in files if f.name == spec["/F"])
        assert stream.get_data() == original.data
        assert stream["/Subtype"] == "/" + original.mime
        assert stream["/Params"]["/Size"] == len(original.data)
        assert stream["/Params"]["/ModDate"].startswith("D:" + report.meta.generated_at.strftime("%Y%m%d%H%M%S"))
        assert spec["/AFRelationship"] == ("/Source" if original.name == "answers.yaml" else "/Data")
        assert spec["/Desc"] == original.description
    assert reader.attachments["score.json"] == [files[0].data]


@pytest.mark.parametrize(
    ("name", "mime", "message"),
    [("", "application/json", "a file name"), ("score.json", "json", "media type"), ("a/b.json", "text/plain", "'/'")],
)
def test_a_bad_attachment_is_refused_before_rendering(devops_files, name, mime, message):
    report = report_from_files(*devops_files)
    with pytest.raises(ValueError, match=message):
        render_pdf(report, attachments=[_File(name, b"{}", mime, "")])
    twice = [_File("s.json", b"{}", "application/json", "")] * 2
    with pytest.raises(ValueError, match="each name may be used once"):
        render_pdf(report, attachments=twice)


def test_a_web_report_is_an_archival_pdf(app, client, devops, tmp_path):
    from tests.integration.helpers import autosave
    from tests.integration.test_reports_web import prepared, request

    app.config["REPORTS_SYNC"] = True
    assessment, _ = devops
    prepared(client, assessment)
    autosave(client, assessment, "DEP-01", "yes")
    job = request(client, assessment, "pdf")
    path = tmp_path / "web.pdf"
    path.write_bytes(client.get(f"/reports/{job}/download").data)
    reader = check_archival(path)
    _check_tags_and_stamps(reader)
    assert reader.metadata.creation_date.tzinfo is not None
    assert dt.datetime.now(dt.UTC) - reader.metadata.creation_date < dt.timedelta(minutes=10)
    _check_outline(reader)
    evidence = [a for _, a in _links(reader) if str(a.get("/Contents", "")).startswith("evidence-E-")]
    assert evidence
