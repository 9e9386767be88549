"""A rendering process: `python -m reports.worker`.

It imports WeasyPrint as soon as it starts, so that cost overlaps whatever its parent does
meanwhile, then reads one HTML file path per line on stdin. For each it writes FILE.pdf and
answers one JSON line on stdout: {"pages": ..., "anchors": {...}, "log": [...]} (the page count,
the page of each element id, the URLs asked for), or {"error": "..."} when that document failed;
it then waits for the next path, and exits at the end of its input. A subprocess rather than
multiprocessing: nothing depends on how the parent was started (a web worker's thread, a console
script, a test runner). See reports.pool for the parent's side.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


def main() -> int:
    """Serve render requests until stdin closes."""
    import weasyprint  # noqa: F401  (imported now, while the parent is still preparing the documents)

    from reports.render import _render_document

    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        try:
            pdf, pages, anchors, log = _render_document(Path(name).read_text(encoding="utf-8"))
            Path(f"{name}.pdf").write_bytes(pdf)
            reply = {"pages": pages, "anchors": anchors, "log": log}
        except Exception:  # the parent reports the failure; this process serves the next document
            reply = {"error": traceback.format_exc()[-2000:]}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main()
    # Leave at once: tearing down WeasyPrint's objects takes most of a second, and nothing here needs it.
    os._exit(code)
