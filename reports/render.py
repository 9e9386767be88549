"""Render a report to HTML (Jinja, autoescaped) and to PDF (WeasyPrint).

A report is cut into parts (cover, contents, summary, the comparison with the previous cycle and
the trend when there are some, chunks of the long tables, closing, and the audit trail as an
appendix). Parts are gathered into one document for a small report, two for a mid-size one and
runs of about 240 table rows for a large one; the documents are laid out by the rendering workers
of reports.pool (two processes working at once), their PDFs are merged, and the contents' page
numbers and "Page N of M" are stamped on the pages afterwards, so no document is laid out twice;
reports.pdffinish makes the merged documents one archival PDF (PDF/A-3b, tagged, fonts embedded).
This keeps a 1,200-requirement report fast and its memory bounded. WeasyPrint (in reports.worker)
fetches through a URL fetcher that serves only our own stylesheets: nothing named by user content
is ever fetched.
"""

from __future__ import annotations

import importlib.metadata
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, select_autoescape
from markupsafe import Markup

from assessment.domain.display import STATUS_LABELS, level_of, level_text, one_decimal, signed

from . import pool
from .charts import domain_chart_svg
from .model import Report
from .review import TrailEntry

if TYPE_CHECKING:  # pikepdf is imported only when a PDF is made
    from .pdffinish import Metadata, OutlineEntry

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "reports"
CHUNK_ROWS = 120  # table rows per part: small enough to keep memory flat, big enough to fill pages
PARALLEL_ROWS = 40  # above this many table rows, a report is cut into documents that two workers share
FLOWING = {"backlog"}  # parts that continue on the page of the part before them instead of starting a new one
TRAIL_LINES = 480  # audit-trail entries per part: one line each, about a sixth of a table row's layout work
TRAIL_COST = 6  # trail lines laid out in the time of one table row (see Part.weight)
TRAIL_WIDTH = 126  # characters of a trail line: what fits across the page in the appendix's 6.5 pt monospace


def _template_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept between processes, in Jinja's per-user cache folder (which it makes
    sure is private): compiling the report template is a good part of a console command's own
    start-up. Without a usable temporary folder, templates are compiled each time."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    bytecode_cache=_template_cache(),
)


def css_string(text: str) -> Markup:
    """Text for a CSS string literal: everything but letters, digits and spaces hex-escaped, so no
    quote, backslash, newline or '</style>' in user text can leave the string."""
    escaped = "".join(ch if ch.isascii() and (ch.isalnum() or ch == " ") else f"\\{ord(ch):x} " for ch in text)
    return Markup(escaped)


_env.filters["css_string"] = css_string
_env.filters["level"] = level_of
_env.filters["web_address"] = lambda url: url.lower().startswith(("https://", "http://"))  # printed as a link


@dataclass
class Part:
    """One document of a report."""

    kind: str
    first: bool = True
    last: bool = True
    domains: list[dict] = field(default_factory=list)
    items: list = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    total: int = 0
    anchor: str | None = None
    head: str = ""  # the audit trail's heading line

    @property
    def rows(self) -> int:
        """How many table rows the part holds (for the audit trail: lines)."""
        return len(self.items) + sum(len(d["rows"]) for d in self.domains)

    @property
    def weight(self) -> int:
        """The part's layout work in table rows: a line of the compact audit trail costs a sixth of one."""
        return -(-self.rows // TRAIL_COST) if self.kind == "trail" else self.rows


def _cut(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _fit_change(change: str, width: int) -> str:
    """A change summary (`key: old → new; key: ...`) in `width` characters: when it is too long, the
    short fields are kept whole and the long ones cut to a share of the rest, rather than the last
    fields lost (a long note would otherwise hide that the value changed)."""
    change = " ".join(change.split())
    if len(change) <= width:
        return change
    pieces = re.split(r"; (?=[\w.-]+: )", change)
    room = width - 2 * (len(pieces) - 1)
    shares, left = {}, sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
    while left:  # the shortest fields keep their whole text while 5 characters are left for each other one
        index = left.pop(0)
        whole = len(pieces[index]) <= room - 5 * len(left)
        shares[index] = len(pieces[index]) if whole else max(room // (len(left) + 1), 4)
        room -= shares[index]
    return _cut("; ".join(_cut(piece, shares[i]) for i, piece in enumerate(pieces)), width)


def trail_lines(entries: list[TrailEntry], width: int = TRAIL_WIDTH) -> tuple[str, list[str]]:
    """The compact audit trail: a heading line and one line per entry (number, time, actor, action,
    object, the change cut to what is left of `width`), in columns of the widths these entries need."""
    seq = max([len("No."), *(len(str(e.seq)) for e in entries)])
    actor = min(max([len("Who"), *(len(e.actor) for e in entries)]), 16)
    action = min(max([len("Action"), *(len(e.action) for e in entries)]), 24)
    what = min(max([len("Object"), *(len(e.object) for e in entries)]), 26)
    change = max(width - (seq + 19 + actor + action + what + 5), 20)

    def line(n: str, at: str, who: str, act: str, obj: str, diff: str) -> str:
        cells = (n.rjust(seq), at.ljust(19), _cut(who, actor).ljust(actor), _cut(act, action).ljust(action))
        return " ".join((*cells, _cut(obj, what).ljust(what), _fit_change(diff, change))).rstrip()

    head = line("No.", "When (UTC)", "Who", "Action", "Object", "Change")
    return head, [line(str(e.seq), e.at_text, e.actor, e.action, e.object, e.change) for e in entries]


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _domain_views(report: Report) -> list[dict]:
    views = []
    for d, (_, rows) in zip(report.card.domains, report.domains, strict=True):
        views.append(
            {
                "id": d.domain.id,
                "title": d.domain.title,
                "score_text": one_decimal(d.score),
                "level_text": level_text(d.level, report.framework.level_name(d.level), missing="n/a"),
                "met": d.counts.met,
                "applicable": d.counts.total - d.counts.not_applicable,
                "weight": f"{d.domain.weight:g}",
                "rows": list(rows),
            }
        )
    return views


def _comparison_view(report: Report) -> dict[str, Any] | None:
    """The comparison with the previous cycle as printed: every figure as text, the changed requirements as rows."""
    cycle = report.comparison
    if cycle is None:
        return None
    c = cycle.comparison
    before_fw, after_fw = c.before.framework, c.after.framework

    def level(number: int | None, names) -> str:
        return level_text(number, names.level_name(number))

    def status(state: str | None, unsupported: bool | None) -> str:
        return "—" if state is None else STATUS_LABELS[state] + (" UNSUPPORTED" if unsupported else "")

    def credit(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    return {
        "previous": f"as of {cycle.previous_as_of.isoformat()} (version {cycle.previous_label})",
        "current": f"as of {report.card.as_of.isoformat()} (version {report.version_label})",
        "score_before": one_decimal(c.before_score),
        "score_after": one_decimal(c.after_score),
        "score_delta": signed(c.score_delta),
        "levels": after_fw.is_maturity,
        "level_before": level(c.before_level, before_fw),
        "level_after": level(c.after_level, after_fw),
        "level_delta": signed(c.level_delta, 0),
        "counts": c.counts,
        "domains": [
            {
                "title": d.title,
                "id": d.domain_id,
                "mark": "" if d.in_before and d.in_after else ("new" if d.in_after else "removed"),
                "score_before": one_decimal(d.before_score, "—"),
                "score_after": one_decimal(d.after_score, "—"),
                "score_delta": signed(d.score_delta),
                "level_before": "—" if d.before_level is None else str(d.before_level),
                "level_after": "—" if d.after_level is None else str(d.after_level),
                "level_delta": signed(d.level_delta, 0),
            }
            for d in c.domains
        ],
        "rows": [
            {
                "id": change.requirement_id,
                "title": change.title,
                "kind": change.kind,
                "before": status(change.before_status, change.before_unsupported),
                "after": status(change.after_status, change.after_unsupported),
                "credit": f"{credit(change.before_credit)} → {credit(change.after_credit)}",
            }
            for change in cycle.changed
        ],
    }


def plan(report: Report) -> list[Part]:
    """The parts of a report, in order; long tables are cut into chunks of CHUNK_ROWS rows."""
    parts = [Part("cover"), Part("toc"), Part("summary", anchor="Executive summary")]
    compared = _comparison_view(report)
    if compared is not None:
        chunks = [Part("comparison", items=c) for c in _chunks(compared["rows"], CHUNK_ROWS)]
        for number, part in enumerate(chunks):
            part.first, part.last = number == 0, number == len(chunks) - 1
        parts.extend(chunks)
    if report.trend_svg is not None:
        parts.append(Part("trend"))
    if report.delivery is not None:
        parts.append(Part("delivery"))
    detail: list[Part] = []
    current = Part("detail", domains=[])
    for index, view in enumerate(_domain_views(report)):
        pieces = _chunks(view["rows"], CHUNK_ROWS)
        for number, rows in enumerate(pieces):
            if current.domains and current.rows + len(rows) > CHUNK_ROWS:
                detail.append(current)
                current = Part("detail", domains=[])
            title = view["title"] if number == 0 else f"{view['title']} (continued)"
            current.domains.append({**view, "title": title, "rows": rows, "index": index, "starts": number == 0})
    detail.append(current)
    by_gap = {b.requirement_id: b for b in report.backlog}
    gap_ids = {g.id for g in report.card.gaps}
    gaps = [(g, by_gap.get(g.id)) for g in report.card.gaps]
    others = [b for b in report.backlog if b.requirement_id not in gap_ids or b.hypothesis or b.outcome]
    titles = report.framework.requirement_index
    findings = [(f, titles.get(f.requirement_id)) for f in report.findings]
    reviewed = bool(findings or report.meta.review_comment)
    trail_head, trail = trail_lines(list(report.trail)) if report.trail else ("", [])
    for kind, chunks in (
        ("detail", detail),
        ("evidence", [Part("evidence", items=c) for c in _chunks(list(report.evidence), CHUNK_ROWS)]),
        ("gaps", [Part("gaps", items=c) for c in _chunks(gaps, CHUNK_ROWS)]),
        ("backlog", [Part("backlog", items=c) for c in _chunks(others, CHUNK_ROWS)]),
        ("findings", [Part("findings", items=c) for c in _chunks(findings, CHUNK_ROWS)] if reviewed else []),
        ("closing", [Part("closing")]),
        ("trail", [Part("trail", items=c) for c in _chunks(trail, TRAIL_LINES)] if trail else []),
    ):
        for number, part in enumerate(chunks):
            part.kind, part.first, part.last = kind, number == 0, number == len(chunks) - 1
            part.head = trail_head if kind == "trail" else ""
        parts.extend(chunks)
    return parts


def _context(report: Report) -> dict[str, Any]:
    card = report.card
    return {
        "r": report,
        "fw": report.framework,
        "card": card,
        "chart": domain_chart_svg(card),
        "labels": STATUS_LABELS,
        "counts": card.counts,
        "counts_dict": card.counts.as_dict(),
        "applicable": card.counts.total - card.counts.not_applicable,
        "completion": one_decimal(card.completion),
        "reached": card.level is not None and card.target_level is not None and card.level >= card.target_level,
        "top_gaps": list(card.gaps[:10]),
        "finding_counts": report.finding_counts,
        "compared": _comparison_view(report),
    }


def render_part(report: Report, part: Part, context: dict[str, Any] | None = None) -> str:
    """One part as a complete HTML document."""
    return _env.get_template("part.html").render(part=part, **(context or _context(report)))


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML document (its stylesheet is the only reference)."""
    context = _context(report)
    parts = plan(report)
    for part in parts:
        if part.kind == "toc":
            part.entries = _toc_entries(parts, {})
    head, bodies = _rendered(report, parts, context)
    return _group_html(head, parts, bodies, list(range(len(parts))))


def _toc_entries(parts: list[Part], pages: dict[int, int]) -> list[dict]:
    """Contents lines: (level, title, page); `pages` maps a part's index to its first page number."""
    entries = []
    titles = {
        "summary": "Executive summary",
        "comparison": "Comparison with the previous cycle",
        "trend": "Trend",
        "delivery": "Delivery metrics",
        "detail": "Requirements by domain",
        "evidence": "Evidence index",
        "gaps": "Gaps and improvement backlog",
        "backlog": "Improvement backlog",
        "findings": "Review findings",
        "closing": "Method",
        "trail": "Audit trail",
    }
    for index, part in enumerate(parts):
        page = pages.get(index, "")
        if part.kind in titles and part.first:
            # the backlog continues the gaps' section, so it sits inside it
            entries.append(
                {"level": 2 if part.kind == "backlog" else 1, "title": titles[part.kind], "page": page, "part": index}
            )
        if part.kind == "detail":
            for domain in part.domains:
                if domain["starts"]:
                    entries.append(
                        {
                            "level": 2,
                            "title": domain["title"],
                            "page": page,
                            "part": index,
                            "anchor": f"domain-{domain['index']}",
                        }
                    )
        if part.kind == "closing":
            entries.append({"level": 1, "title": "Sign-off", "page": page, "part": index, "anchor": "signoff"})
    return entries


# --- PDF ---------------------------------------------------------------------------------


def _rendered(report: Report, parts: list[Part], context: dict[str, Any]) -> tuple[str, dict[int, str]]:
    """Each part rendered once: the document head they share (up to <body>: title and stylesheets),
    and what each part puts between <body> and </body>, by index."""
    head, bodies = "", {}
    for index, part in enumerate(parts):
        html = render_part(report, part, context)
        start = html.index("<body>")
        head, bodies[index] = html[:start], html[start + len("<body>") : html.rindex("</body>")]
    return head, bodies


def _groups(parts: list[Part], indexes: list[int], weights: dict[int, int], parallel: bool) -> list[list[int]]:
    """Parts rendered together as one document, in order. A small report is one document. Otherwise
    the two workers share the work: a mid-size report is cut in two halves of about equal weight
    (between parts, so no page is broken early); a large one into runs of about CHUNK_ROWS * 2
    rows, handed out as workers come free, so memory stays bounded."""
    if not parallel or len(indexes) < 2:
        return [indexes]
    if sum(parts[i].weight for i in indexes) <= CHUNK_ROWS * 4:
        total = sum(weights[i] for i in indexes)
        running, cut, best = 0, 1, None
        for position in range(1, len(indexes)):
            running += weights[indexes[position - 1]]
            if best is None or abs(total - 2 * running) < best:
                best, cut = abs(total - 2 * running), position
        return [indexes[:cut], indexes[cut:]]
    groups: list[list[int]] = [[]]
    rows = 0
    for index in indexes:
        if groups[-1] and rows + parts[index].weight > CHUNK_ROWS * 2:
            groups.append([])
            rows = 0
        groups[-1].append(index)
        rows += parts[index].weight
    return groups


def _group_html(head: str, parts: list[Part], bodies: dict[int, str], group: list[int]) -> str:
    """One document holding several parts, each starting on a new page (unless it flows)."""
    divs = []
    for index in group:
        kind = parts[index].kind
        flow = " flow" if kind in FLOWING else ""
        divs.append(f'<div class="part part-{kind}{flow}" id="part-{index}">{bodies[index]}</div>')
    return f"{head}<body>\n" + "\n".join(divs) + "\n</body>\n</html>\n"


_MM = 72 / 25.4
_FOOTER_GREY = (0.322, 0.376, 0.427)


def _product() -> str:
    """The product and its version, for the PDF's Producer and CreatorTool."""
    try:
        return f"assessment {importlib.metadata.version('assessment')}"
    except importlib.metadata.PackageNotFoundError:
        return "assessment"


def pdf_metadata(report: Report) -> Metadata:
    """What the PDF's Info dictionary and XMP say: title, author (the preparer), subject, keywords
    (framework id, scope, report id), the report's generation time and the producing product."""
    from .pdffinish import Metadata

    fw = report.framework
    scope = report.meta.scope or ""
    return Metadata(
        title=" · ".join(t for t in (f"{fw.title} {report.version_label}", scope) if t),
        author=report.meta.prepared_by or "",
        subject=f"Assessment report {report.id}: {scope or 'the scope'} against {fw.title} {report.version_label}"
        f" as of {report.card.as_of.isoformat()}",
        keywords="; ".join(k for k in (fw.id, scope, report.id) if k),
        created=report.meta.generated_at,
        producer=_product(),
    )


def _outline(entries: list[dict], tops: dict[str, tuple[int, float, float]]) -> list[OutlineEntry]:
    """The contents lines as a nested outline: level-2 lines inside the level-1 line before them."""
    from .pdffinish import OutlineEntry

    outline: list[OutlineEntry] = []
    for entry in entries:
        if not entry["page"]:
            continue
        place = tops.get(entry.get("anchor") or f"part-{entry['part']}")
        item = OutlineEntry(entry["title"], entry["page"] - 1, None if place is None else place[2])
        if entry["level"] == 1 or not outline:
            outline.append(item)
        else:
            outline[-1].children.append(item)
    return outline


def _prepare_finishing() -> None:
    """Import pikepdf and subset the stamp font, while the workers lay out (a failure here is
    raised again, with its message, when the merge needs the font)."""
    try:
        from . import pdffinish

        pdffinish.stamp_font()
    except Exception:  # noqa: BLE001,S110  (see above)
        pass


def _make_attachments(make: Callable[[], list], made: Future) -> None:
    """Run `make` and keep its result (or its exception) in `made`."""
    try:
        made.set_result(make())
    except BaseException as exc:  # handed to render_pdf, which raises it
        made.set_exception(exc)


def render_pdf(
    report: Report,
    log: list[str] | None = None,
    parallel: bool | None = None,
    attachments: list | Callable[[], list] | None = None,
) -> bytes:
    """The report as an archival PDF (PDF/A-3b, tagged), rendered from its parts; `log` (when given)
    receives every URL the renderer asked for; `attachments` (objects with name, data, mime and
    description, or a function that makes them: it then runs while the workers lay out) are embedded
    as PDF/A-3 associated files."""
    from .pdffinish import check_attachments

    finishing = threading.Thread(target=_prepare_finishing, daemon=True)
    finishing.start()
    made: Future | None = None
    if callable(attachments):
        made = Future()
        threading.Thread(target=_make_attachments, args=(attachments, made), daemon=True).start()
    elif attachments:
        check_attachments(list(attachments))
    context = _context(report)
    parts = plan(report)
    if parallel is None:
        parallel = sum(p.weight for p in parts) > PARALLEL_ROWS
    toc_index = next(i for i, p in enumerate(parts) if p.kind == "toc")
    body = [i for i, p in enumerate(parts) if p.kind != "toc"]
    # The contents are laid out once, inside the first document (right after the cover), with a
    # hidden placeholder for each page number; the real numbers are stamped there after the merge.
    placeholders = _toc_entries(parts, {})
    for number, entry in enumerate(placeholders):
        entry["page"], entry["stamp"] = "000", f"toc-{number}"
    parts[toc_index].entries = placeholders
    head, bodies = _rendered(report, parts, context)
    groups = _groups(parts, body, {i: len(bodies[i]) for i in body}, parallel)
    groups[0].insert(1, toc_index)

    merger = None

    def merge(index: int, result: pool.Rendered) -> None:
        nonlocal merger
        finishing.join()  # pikepdf is imported by then, most often before the first document arrives
        from .pdffinish import Merger

        with lock:
            merger = merger or Merger()
        merger.add(index, result.pdf)

    lock = threading.Lock()
    results = pool.render([_group_html(head, parts, bodies, group) for group in groups], then=merge)
    anchors: dict[str, int] = {}
    tops: dict[str, tuple[int, float, float]] = {}
    page = 1
    for result in results:
        for name, offset in result.anchors.items():
            anchors.setdefault(name, page + offset)
        for name, (offset, x, y) in result.positions.items():
            tops.setdefault(name, (page - 1 + offset, x, y))
        page += result.pages
    first_page = {index: anchors.get(f"part-{index}", 0) for index in body}
    entries = _toc_entries(parts, first_page)
    from .pdffinish import Document, Stamp, finish

    stamps: dict[int, list[Stamp]] = {}
    for number, entry in enumerate(entries):
        anchor = entry.get("anchor")
        if anchor and anchor in anchors:
            entry["page"] = anchors[anchor]
        where = results[0].stamps.get(f"toc-{number}")
        if where and entry["page"]:
            index, right, baseline, size, rgb = where
            stamps.setdefault(index, []).append(Stamp(str(entry["page"]), right, baseline, size, tuple(rgb)))
    if log is not None:
        for result in results:
            log.extend(result.log)
    total = page - 1
    width, height = 595.28, 841.89  # A4, as report.css sets it
    right, baseline = width - 16 * _MM, height - (20 * _MM - 4 * _MM - 7.5)
    for index in range(total):
        stamps.setdefault(index, []).append(
            Stamp(f"Page {index + 1} of {total}", right, baseline, 8, _FOOTER_GREY, pagination=True)
        )
    documents = [Document(r.pdf, r.positions, r.links) for r in results]
    if made is not None:
        attachments = made.result()
        check_attachments(list(attachments))
    return finish(documents, stamps, _outline(entries, tops), pdf_metadata(report), attachments, merger)
