"""Finishing a report's PDF: the documents the workers laid out become one archival file.

Each worker writes a tagged PDF/A-3b document (reports.worker). Here they are merged with pikepdf
(qpdf), keeping what pypdf would drop: one structure tree (every document's structure elements
under the first one's Document element, the ParentTree re-keyed and every page's /StructParents
and annotation's /StructParent moved by the same offset), the first document's /MarkInfo, /Lang
and sRGB OutputIntent, and one XMP packet (PDF/A-3b) that says what the Info dictionary says.
The page numbers known only after the merge ("Page N of M", the contents' numbers) are stamped in
a subset of DejaVu Sans embedded here, as artifacts; font subset tags are made unique per subset
(ISO 32000-1 9.6.4: the documents each subset the same fonts); links between documents, the
outline and the attachments (PDF/A-3 associated files) are added. Equal inputs give equal bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import shutil
import subprocess
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf, String

STAMP_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # the report's sans-serif
STAMP_CHARACTERS = "Page of 0123456789"


class Attachment(Protocol):
    """A file to embed: what reports.attachments builds (score.json, answers.yaml, ...)."""

    name: str
    data: bytes
    mime: str
    description: str


@dataclass
class Stamp:
    """Text written on a merged page: right-aligned at `right` points from the page's left edge, on
    a baseline `baseline` points from its top, in the embedded stamp font. `pagination` marks the
    page number (an artifact of type Pagination) rather than another number laid over the page."""

    text: str
    right: float
    baseline: float
    size: float
    rgb: tuple[float, float, float]
    pagination: bool = False


@dataclass
class OutlineEntry:
    """One line of the outline: its title, the page index and height (points from the bottom) it
    opens at, and the entries nested in it."""

    title: str
    page: int
    top: float | None = None
    children: list[OutlineEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Metadata:
    """What the Info dictionary and the XMP packet both say about the report."""

    title: str
    author: str
    subject: str
    keywords: str
    created: dt.datetime
    producer: str


@dataclass
class Document:
    """One laid-out document as the merge needs it (see reports.pool.Rendered)."""

    pdf: bytes
    positions: dict[str, list]
    links: list[list]


# --- the stamp font ----------------------------------------------------------------------


def _font_file() -> Path:
    if STAMP_FONT.is_file():
        return STAMP_FONT
    match = shutil.which("fc-match")
    if match:
        found = subprocess.run([match, "-f", "%{file}", "DejaVu Sans"], capture_output=True, text=True).stdout
        if found and Path(found).is_file():
            return Path(found)
    raise FileNotFoundError(f"the report's font DejaVu Sans was not found ({STAMP_FONT}); install fonts-dejavu-core")


@dataclass(frozen=True)
class StampFont:
    """A subset of DejaVu Sans holding the stamped characters, with what its PDF font needs."""

    program: bytes
    widths: dict[str, float]  # per 1000 em
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int

    def width(self, text: str, size: float) -> float:
        """The width of `text` at `size` points."""
        return sum(self.widths[ch] for ch in text) * size / 1000


@functools.cache
def stamp_font() -> StampFont:
    """The stamp font, subset once per process (about 0.1 s, done while the workers lay out)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(_font_file())
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = [1, 2]
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: nothing a PDF reads
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=STAMP_CHARACTERS)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    scale = 1000 / font["head"].unitsPerEm
    cmap = font.getBestCmap()
    widths = {ch: round(font["hmtx"][cmap[ord(ch)]][0] * scale, 1) for ch in STAMP_CHARACTERS}
    head = font["head"]
    return StampFont(
        out.getvalue(),
        widths,
        tuple(round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)),
        round(font["hhea"].ascent * scale),
        round(font["hhea"].descent * scale),
        round(font["glyf"][cmap[ord("P")]].yMax * scale),  # the cap height (this OS/2 table has none)
    )


def _tag(program: bytes) -> str:
    """A subset tag (six capital letters) from the font program: one tag per distinct subset."""
    return "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])


def _stamp_font_object(pdf: Pdf) -> pikepdf.Object:
    font = stamp_font()
    name = Name(f"/{_tag(font.program)}+DejaVuSans")
    program = pdf.make_stream(font.program)
    program.Length1 = len(font.program)
    first, last = min(map(ord, STAMP_CHARACTERS)), max(map(ord, STAMP_CHARACTERS))
    widths = [font.widths.get(chr(code), 0) for code in range(first, last + 1)]
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=name,
        Flags=32,  # non-symbolic: its characters are WinAnsi's
        FontBBox=Array(font.bbox),
        ItalicAngle=0,
        Ascent=font.ascent,
        Descent=font.descent,
        CapHeight=font.cap_height,
        StemV=80,
        FontFile2=program,
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.TrueType,
            BaseFont=name,
            FirstChar=first,
            LastChar=last,
            Widths=Array(widths),
            Encoding=Name.WinAnsiEncoding,
            FontDescriptor=pdf.make_indirect(descriptor),
        )
    )


def _stamp(pdf: Pdf, stamps: dict[int, list[Stamp]]) -> None:
    """Write the stamps of each page (by index) over its content, as artifacts, in the stamp font."""
    font = _stamp_font_object(pdf)
    save = pdf.make_stream(b"q\n")
    for index, page in enumerate(pdf.pages):
        if not stamps.get(index):
            continue
        height = float(page.mediabox[3])
        text = []
        for s in stamps[index]:
            x = s.right - stamp_font().width(s.text, s.size)
            colour = " ".join(f"{c:.3f}" for c in s.rgb)
            mark = "/Artifact <</Type /Pagination /Subtype /Footer>> BDC" if s.pagination else "/Artifact BMC"
            where = f"{x:.2f} {height - s.baseline:.2f}"
            text.append(f"{mark} BT /FStamp {s.size:.2f} Tf {colour} rg {where} Td ({s.text}) Tj ET EMC")
        resources = page.obj.get("/Resources")
        if resources is None:
            resources = page.obj.Resources = Dictionary()
        if "/Font" not in resources:
            resources.Font = Dictionary()
        resources.Font.FStamp = font
        page.contents_add(save, prepend=True)
        page.contents_add(pdf.make_stream(("\nQ\nq " + " ".join(text) + " Q\n").encode("ascii")))


# --- merging ------------------------------------------------------------------------------


def _next_key(nums: Iterable) -> int:
    keys = [int(k) for k in list(nums)[0::2]]
    return max(keys) + 1 if keys else 0


class Merger:
    """Merges the documents' PDFs in their order, each as soon as it and those before it are there
    (`add` is called from the pool's threads as workers answer), so most of the merge is done
    while the workers still lay out, and each document's parsed objects are let go once copied:
    only the merged file and one document are held at a time. The result is one PDF of every
    page with one structure tree: every document's structure elements under the first one's
    Document element, the ParentTree re-keyed and each page's /StructParents and annotation's
    /StructParent moved by the same offset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, bytes] = {}
        self._next = 0
        self.pdf: Pdf | None = None
        self.starts: list[int] = []  # the first page index of each document
        self._nums: list = []
        self._offset = 0

    def add(self, index: int, data: bytes) -> None:
        """Take document `index` (0, 1, ...); merge it and any that waited for it."""
        with self._lock:
            self._waiting[index] = data
            while self._next in self._waiting:
                self._append(self._waiting.pop(self._next))
                self._next += 1

    def _append(self, data: bytes) -> None:
        other = Pdf.open(io.BytesIO(data))
        if self.pdf is None:
            self.pdf, self.starts = other, [0]
            self._nums = list(other.Root.StructTreeRoot.ParentTree.Nums)
            self._offset = _next_key(self._nums)
            return
        pdf, offset = self.pdf, self._offset
        top = pdf.Root.StructTreeRoot.K[0]  # WeasyPrint's Document element
        first = len(pdf.pages)
        self.starts.append(first)
        with warnings.catch_warnings():  # named destinations are made again for the whole file (see _link)
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            pdf.pages.extend(other.pages)
        for page in pdf.pages[first:]:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", ()):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        theirs = pdf.copy_foreign(other.Root.StructTreeRoot)  # one copy: the pages are already ours
        their_nums = theirs.ParentTree.Nums
        for position in range(0, len(their_nums), 2):
            self._nums.extend((int(their_nums[position]) + offset, their_nums[position + 1]))
        for element in theirs.K[0].K:
            element.P = top
            top.K.append(element)
        self._offset += _next_key(their_nums)
        other.close()  # what was copied keeps its own reference to the stream data

    def result(self, count: int) -> tuple[Pdf, list[int]]:
        """The merged PDF of `count` documents (all added), and the first page index of each."""
        with self._lock:
            if self.pdf is None or self._next != count:
                raise RuntimeError(f"the merge has {self._next} of {count} documents")
            tree = self.pdf.Root.StructTreeRoot
            tree.ParentTree = self.pdf.make_indirect(Dictionary(Nums=Array(self._nums)))
            tree.ParentTreeNextKey = self._offset
            return self.pdf, self.starts


def _positions(documents: list[Document], starts: list[int]) -> dict[str, tuple[int, float, float]]:
    """Every element id's place in the merged file: (page index, x, y), the first one when repeated."""
    found: dict[str, tuple[int, float, float]] = {}
    for document, start in zip(documents, starts, strict=True):
        for name, (page, x, y) in document.positions.items():
            found.setdefault(name, (start + page, x, y))
    return found


def _link(pdf: Pdf, documents: list[Document], starts: list[int], where: dict) -> int:
    """Named destinations for every element id (WeasyPrint's links within a document use them), and a
    Link annotation with an explicit destination for each link to another document; returns how many."""
    dests = pikepdf.NameTree.new(pdf)
    for name in sorted(where):
        page, x, y = where[name]
        dests[name] = Array([pdf.pages[page].obj, Name.XYZ, x, y, 0])
    if "/Names" not in pdf.Root:
        pdf.Root.Names = Dictionary()
    pdf.Root.Names.Dests = dests.obj
    added = 0
    for document, start in zip(documents, starts, strict=True):
        for page, target, x1, y1, x2, y2 in document.links:
            if target not in where:
                continue
            to, x, y = where[target]
            annotation = pdf.make_indirect(
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=Array([x1, y1, x2, y2]),
                    BS=Dictionary(W=0),
                    F=4,  # printed (PDF/A)
                    Contents=String(target),
                    Dest=Array([pdf.pages[to].obj, Name.XYZ, x, y, 0]),
                )
            )
            owner = pdf.pages[start + page].obj
            if "/Annots" not in owner:
                owner.Annots = Array()
            owner.Annots.append(annotation)
            added += 1
    return added


def _font_dicts(pdf: Pdf) -> Iterator[pikepdf.Object]:
    """Every /Font resource dictionary of the pages and of the forms they draw, each once."""
    seen: set[tuple[int, int]] = set()
    todo = [page.obj.get("/Resources") for page in pdf.pages]
    while todo:
        resources = todo.pop()
        if resources is None or (resources.is_indirect and resources.objgen in seen):
            continue
        if resources.is_indirect:
            seen.add(resources.objgen)
        fonts = resources.get("/Font")
        if fonts is not None and not (fonts.is_indirect and fonts.objgen in seen):
            if fonts.is_indirect:
                seen.add(fonts.objgen)
            yield fonts
        for xobject in (resources.get("/XObject") or {}).values():
            if xobject.get("/Subtype") == Name.Form and xobject.objgen not in seen:
                seen.add(xobject.objgen)
                todo.append(xobject.get("/Resources"))


def _program(font: pikepdf.Object) -> pikepdf.Object | None:
    descriptor_owner = font.DescendantFonts[0] if "/DescendantFonts" in font else font
    descriptor = descriptor_owner.get("/FontDescriptor")
    if descriptor is None:
        return None
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            return descriptor[key]
    return None


def _unique_subset_tags(pdf: Pdf) -> None:
    """Give each distinct subset its own tag, from a hash of its program, and let every document's
    copy of the same subset use one font object."""
    by_program: dict[bytes, pikepdf.Object] = {}
    done: dict[tuple[int, int], pikepdf.Object] = {}
    for fonts in _font_dicts(pdf):
        for key in list(fonts.keys()):
            font = fonts[key]
            if font.objgen in done:
                fonts[key] = done[font.objgen]
                continue
            program = _program(font)
            if program is None:
                continue
            raw = program.read_raw_bytes()
            digest = hashlib.sha256(raw).digest()
            if digest in by_program:
                done[font.objgen] = fonts[key] = by_program[digest]
                continue
            by_program[digest] = done[font.objgen] = font
            _rename(font, _tag(raw))


def _rename(font: pikepdf.Object, tag: str) -> None:
    def renamed(name: pikepdf.Object) -> Name:
        base = str(name)[1:]
        return Name("/" + tag + "+" + (base.split("+", 1)[1] if "+" in base[:7] else base))

    font.BaseFont = renamed(font.BaseFont)
    owner = font.DescendantFonts[0] if "/DescendantFonts" in font else font
    if "/BaseFont" in owner:
        owner.BaseFont = renamed(owner.BaseFont)
    descriptor = owner.get("/FontDescriptor")
    if descriptor is not None and "/FontName" in descriptor:
        descriptor.FontName = renamed(descriptor.FontName)


# --- outline, metadata, attachments --------------------------------------------------------


def _outline(pdf: Pdf, entries: list[OutlineEntry]) -> None:
    if "/Outlines" in pdf.Root:
        del pdf.Root.Outlines

    def item(entry: OutlineEntry) -> pikepdf.OutlineItem:
        made = pikepdf.OutlineItem(entry.title, entry.page, pikepdf.PageLocation.XYZ, left=0, top=entry.top, zoom=0)
        made.children.extend(item(child) for child in entry.children)
        return made

    with pdf.open_outline() as outline:
        outline.root.extend(item(entry) for entry in entries)


def pdf_date(when: dt.datetime) -> str:
    """A date as the Info dictionary writes it, in UTC: D:YYYYMMDDHHmmSS+00'00'."""
    return _utc(when).strftime("D:%Y%m%d%H%M%S+00'00'")


def _utc(when: dt.datetime) -> dt.datetime:
    return (when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)).replace(microsecond=0)


def xmp(meta: Metadata) -> bytes:
    """The one XMP packet: PDF/A-3b, and the Info dictionary's facts in XMP's words."""
    when = _utc(meta.created).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    creator = (
        f"<dc:creator><rdf:Seq><rdf:li>{escape(meta.author)}</rdf:li></rdf:Seq></dc:creator>" if meta.author else ""
    )
    text = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<pdfaid:part>3</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(meta.title)}</rdf:li></rdf:Alt></dc:title>
{creator}
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(meta.subject)}</rdf:li></rdf:Alt></dc:description>
<pdf:Keywords>{escape(meta.keywords)}</pdf:Keywords>
<pdf:Producer>{escape(meta.producer)}</pdf:Producer>
<xmp:CreatorTool>{escape(meta.producer)}</xmp:CreatorTool>
<xmp:CreateDate>{when}</xmp:CreateDate>
<xmp:ModifyDate>{when}</xmp:ModifyDate>
<xmp:MetadataDate>{when}</xmp:MetadataDate>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return text.encode("utf-8")


def _metadata(pdf: Pdf, meta: Metadata) -> None:
    info: dict[str, Any] = {
        "/Title": String(meta.title),
        "/Subject": String(meta.subject),
        "/Keywords": String(meta.keywords),
        "/Creator": String(meta.producer),
        "/Producer": String(meta.producer),
        "/CreationDate": String(pdf_date(meta.created)),
        "/ModDate": String(pdf_date(meta.created)),
    }
    if meta.author:
        info["/Author"] = String(meta.author)
    pdf.trailer.Info = pdf.make_indirect(Dictionary(info))
    pdf.Root.Metadata = pdf.make_stream(xmp(meta), Type=Name.Metadata, Subtype=Name.XML)


def relationship(attachment: Attachment) -> str:
    """How an attachment relates to the report (PDF/A-3 /AFRelationship): an attachment may say so
    itself (`relationship`); otherwise the answers file is the report's Source, anything else Data."""
    given = getattr(attachment, "relationship", None)
    if given:
        return str(given)
    return "Source" if attachment.name.startswith("answers") else "Data"


def check_attachments(attachments: list[Attachment]) -> None:
    """Refuse, before anything is laid out, an attachment without a file name or a media type, or
    two with one name (the name is their key in the PDF)."""
    names = [a.name for a in attachments]
    for attachment in attachments:
        if not attachment.name or "/" in attachment.name or "/" not in (attachment.mime or ""):
            raise ValueError(
                f"attachment {attachment.name!r} ({attachment.mime!r}): a file name without '/' and a media type "
                "such as application/json are needed"
            )
        if names.count(attachment.name) > 1:
            raise ValueError(f"two attachments are named {attachment.name!r}: each name may be used once")


def _attach(pdf: Pdf, attachments: list[Attachment], when: dt.datetime) -> None:
    tree = pikepdf.NameTree.new(pdf)
    specs = Array()
    for attachment in attachments:
        data = bytes(attachment.data)
        stream = pdf.make_stream(data)
        stream.Type = Name.EmbeddedFile
        stream.Subtype = Name("/" + attachment.mime)
        stream.Params = Dictionary(
            Size=len(data), ModDate=String(pdf_date(when)), CheckSum=String(hashlib.md5(data).digest())
        )
        spec = pdf.make_indirect(
            Dictionary(
                Type=Name.Filespec,
                F=String(attachment.name),
                UF=String(attachment.name),
                Desc=String(attachment.description or attachment.name),
                AFRelationship=Name("/" + relationship(attachment)),
                EF=Dictionary(F=stream, UF=stream),
            )
        )
        tree[attachment.name] = spec
        specs.append(spec)
    if "/Names" not in pdf.Root:
        pdf.Root.Names = Dictionary()
    pdf.Root.Names.EmbeddedFiles = tree.obj
    pdf.Root.AF = specs


def finish(
    documents: list[Document],
    stamps: dict[int, list[Stamp]],
    outline: list[OutlineEntry],
    meta: Metadata,
    attachments: list[Attachment] | None = None,
    merger: Merger | None = None,
) -> bytes:
    """The merged, stamped, linked archival PDF of the documents, as bytes; `merger`, when given,
    has merged them already (see Merger)."""
    check_attachments(attachments or [])
    if merger is None:
        merger = Merger()
        for index, document in enumerate(documents):
            merger.add(index, document.pdf)
    pdf, starts = merger.result(len(documents))
    where = _positions(documents, starts)
    _link(pdf, documents, starts, where)
    _unique_subset_tags(pdf)
    _stamp(pdf, stamps)
    _outline(pdf, outline)
    _metadata(pdf, meta)
    if attachments:
        _attach(pdf, list(attachments), meta.created)
    out = io.BytesIO()
    pdf.save(
        out,
        deterministic_id=True,
        fix_metadata_version=False,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
    )
    return out.getvalue()
