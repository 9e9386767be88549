"""Render report parts in a process of their own: `python -m reports.worker HTML_FILE...`.

For each HTML file it writes FILE.pdf and FILE.json (page count, the page of each element id,
the URLs asked for). A subprocess rather than multiprocessing: nothing depends on how the
parent was started (a web worker's thread, a console script, a test runner).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(paths: list[str]) -> int:
    """Render each file; exit non-zero on the first failure."""
    from reports.render import _render_document

    for name in paths:
        path = Path(name)
        pdf, pages, anchors, log = _render_document(path.read_text(encoding="utf-8"))
        Path(f"{name}.pdf").write_bytes(pdf)
        Path(f"{name}.json").write_text(json.dumps({"pages": pages, "anchors": anchors, "log": log}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
