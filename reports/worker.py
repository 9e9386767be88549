"""A rendering process: `python -m reports.worker`.

It imports WeasyPrint as soon as it starts, so that cost overlaps whatever its parent does
meanwhile, lays out a first page, forks a second worker when asked to (see main), then reads
one HTML file path per line on stdin. For each it writes FILE.pdf and answers one JSON line on
stdout: {"pages": ..., "anchors": {...}, "stamps": {...}, "log": [...], "positions": {...},
"links": [...], "pid": ...} (the page count, the page of each element id, where numbers are to be
stamped, the URLs asked for, where each element id is and the links to other documents (see
render_links), the process that answered), or {"error": "...", "pid": ...} when that document failed; it then waits
for the next path, and exits at the end of its input. A subprocess rather than multiprocessing:
nothing depends on how the parent was started (a web worker's thread, a console script, a test
runner). See reports.pool for the parent's side.

This module (and reports.memory) is all a worker imports besides WeasyPrint: the fetcher that
limits WeasyPrint to the report's own stylesheets lives here, and nothing of the application is
loaded.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import traceback
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reports.memory import give_back

ASSETS = Path(__file__).resolve().parent / "assets"
PT_PER_PX = 0.75  # WeasyPrint lays out in CSS pixels (1/96 in); PDF measures in points (1/72 in)


class FetchRefused(ValueError):
    """A resource outside the report's own assets was asked for."""


def asset_path(url: str) -> Path | None:
    """The file of our asset folder a URL names, or None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path)).resolve()
    return path if path.is_relative_to(ASSETS) and path.is_file() else None


def _fetcher(log: list[str] | None):
    """WeasyPrint's URL fetcher limited to our asset folder: every other URL is refused, never opened."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            path = asset_path(url)
            if log is not None:
                log.append(url[:200])
            if path is None:
                raise FetchRefused(f"refused to fetch {url[:200]!r}: reports load only their own assets")
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": "text/css"})

    return AssetsOnly(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=False)


def _stamps(page_number: int, page, found: dict[str, list]) -> None:
    """Where numbers known only after layout go: for every element with a `data-stamp` attribute
    (laid out with a hidden placeholder) not yet in `found`, [page index, right edge, baseline,
    font size] in points from the page's top-left corner, and its colour as RGB fractions."""
    from weasyprint.formatting_structure.boxes import TextBox

    for box in page._page_box.descendants():
        name = None if box.element is None else box.element.get("data-stamp")
        if name and isinstance(box, TextBox) and name not in found:
            color = box.style["color"]
            found[name] = [
                page_number,
                (box.content_box_x() + box.width) * PT_PER_PX,
                (box.position_y + box.baseline) * PT_PER_PX,
                box.style["font_size"] * PT_PER_PX,
                list(color.to("srgb").coordinates),
            ]


def render_document(html: str) -> tuple[bytes, int, dict[str, int], dict[str, list], list[str]]:
    """PDF bytes (PDF/A-3b, tagged), page count, the page index of each element id, where stamped
    numbers go (see _stamps), and the URLs asked for; see render_links for the rest of a reply."""
    pdf, pages, anchors, stamps, log, _ = render_links(html)
    return pdf, pages, anchors, stamps, log


def render_links(html: str) -> tuple[bytes, int, dict[str, int], dict[str, list], list[str], dict[str, list]]:
    """As render_document, with what the merge needs to link documents together: "positions", where
    each element id is ([page index, x, y] in points from the page's bottom-left corner), and "links",
    every internal link whose target is not in this document ([page index, target, x1, y1, x2, y2]),
    which WeasyPrint leaves out and the merge adds back with explicit destinations."""
    from weasyprint import HTML

    log: list[str] = []
    document = HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=_fetcher(log)).render()
    anchors: dict[str, int] = {}
    positions: dict[str, list] = {}
    stamps: dict[str, list] = {}
    for number, page in enumerate(document.pages):
        for name, (x, y, *_) in page.anchors.items():
            if name not in anchors:
                anchors[name] = number
                positions[name] = [number, round(x * PT_PER_PX, 2), round((page.height - y) * PT_PER_PX, 2)]
        if "data-stamp" in html:
            _stamps(number, page, stamps)
    links = []
    for number, page in enumerate(document.pages):
        for kind, target, (x1, y1, x2, y2), _box in page.links:
            if kind == "internal" and target not in anchors:
                top, bottom = (page.height - y1) * PT_PER_PX, (page.height - y2) * PT_PER_PX
                links.append([number, target, *(round(v, 2) for v in (x1 * PT_PER_PX, bottom, x2 * PT_PER_PX, top))])
    pdf = document.write_pdf(pdf_variant="pdf/a-3b", pdf_tags=True)
    return pdf, len(document.pages), anchors, stamps, log, {"positions": positions, "links": links}


def import_weasyprint() -> None:
    """Import WeasyPrint, skipping the slow part of its search for the native libraries.

    For each library WeasyPrint tries several names, the soname ('libpango-1.0.so.0') among them.
    cffi opens a name directly only when it holds a dot or a slash; for every other name, and for
    every name that fails, it calls ctypes.util.find_library, which runs ldconfig or gcc: twenty
    calls of about 20 ms each, a third of the import. Here that search answers "not found" at
    once, so the loop moves on to the soname, which the dynamic loader opens directly. Where that
    is not enough (a system with other library names), WeasyPrint is imported again the ordinary
    way. What WeasyPrint prints when a library is missing goes to stderr: stdout carries replies.
    """
    import ctypes.util

    search = ctypes.util.find_library
    with contextlib.redirect_stdout(sys.stderr):
        try:
            ctypes.util.find_library = lambda name: None
            import weasyprint  # noqa: F401
        except OSError:
            for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
                del sys.modules[name]
            ctypes.util.find_library = search
            import weasyprint  # noqa: F401
        finally:
            ctypes.util.find_library = search


# A first document, laid out before any request: it loads the fonts and our stylesheet, which
# would otherwise add about 0.1 s to the first report (and it is done once for a forked worker).
WARM_UP = (
    '<!doctype html><html><head><link rel="stylesheet" href="report.css"></head><body>'
    '<p>Warm-up <b>0123456789</b> <span class="mono">E-001</span></p></body></html>'
)


def serve(requests, replies) -> None:
    """Answer one JSON line for each HTML file path read, until the requests end."""
    for line in requests:
        name = line.strip()
        if not name:
            continue
        try:
            pdf, pages, anchors, stamps, log, links = render_links(Path(name).read_text(encoding="utf-8"))
            Path(f"{name}.pdf").write_bytes(pdf)
            reply = {"pages": pages, "anchors": anchors, "stamps": stamps, "log": log, **links}
        except Exception:  # the parent reports the failure; this process serves the next document
            reply = {"error": traceback.format_exc()[-2000:]}
        reply["pid"] = os.getpid()
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        give_back()  # the next document starts from a small heap, not this one's high-water mark


def main(args: list[str]) -> int:
    """Serve render requests on stdin and stdout; with `--fork REQUESTS REPLIES` (two inherited
    pipe ends), also fork a second worker serving those, once WeasyPrint is ready."""
    # The cyclic garbage collector is kept out of the import and of each document's layout (it
    # would walk WeasyPrint's many young objects again and again, about a tenth of the time) and
    # runs once after each document instead, so memory stays bounded between documents.
    gc.disable()
    import_weasyprint()  # now, while the parent is still preparing the documents
    render_document(WARM_UP)
    gc.freeze()  # what is made so far lives as long as the process (collecting its few scraps would take 0.05 s)
    requests, replies = sys.stdin, sys.stdout
    if args[:1] == ["--fork"]:
        theirs = [int(fd) for fd in args[1:3]]
        if os.fork() == 0:
            # The second worker. It lets go of the first one's pipes, so that the parent sees them
            # close when the first worker ends, and serves its own.
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.close(null)
            requests = open(theirs[0], encoding="utf-8")  # noqa: SIM115  (it lives as long as the process)
            replies = open(theirs[1], "w", encoding="utf-8")  # noqa: SIM115
        else:
            for fd in theirs:  # only the second worker holds them now: its end is the pipes' end
                os.close(fd)
    serve(requests, replies)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # Leave at once: tearing down WeasyPrint's objects takes most of a second, and nothing here needs it.
    os._exit(code)
