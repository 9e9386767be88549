"""A framework's Markdown texts (descriptions, guidance, recommendations) as safe HTML.

The spec makes these fields Markdown (framework-format.md). markdown-it-py renders them in
CommonMark mode with raw HTML disabled, and nh3 then keeps only an allow-list of tags and
attributes, so a hostile framework file cannot bring scripts, event handlers, styles or
`javascript:` links onto a page; the Content Security Policy stays as strict as it is.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Inline formatting, lists, quotes and code; no headings (rendered as bold paragraphs below),
# no images (nothing loaded from elsewhere), no tables (CommonMark has none).
TAGS = {"p", "br", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "a", "hr"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer"

_parser = MarkdownIt("commonmark", {"html": False})
# A heading in a text becomes a bold paragraph: the page's own headings keep their order.
_parser.add_render_rule("heading_open", lambda *_args: "<p><strong>")
_parser.add_render_rule("heading_close", lambda *_args: "</strong></p>\n")


@lru_cache(maxsize=4096)
def render_markdown(text: str | None) -> Markup:
    """The Markdown `text` as sanitised HTML, ready to put on a page ('' for no text)."""
    if not text or not text.strip():
        return Markup("")
    html = _parser.render(text)
    clean = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL)
    return Markup(clean)
