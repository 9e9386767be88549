"""A framework's Markdown texts become formatting, and nothing hostile survives the sanitiser."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from assessment.views.markdown import render_markdown


def test_emphasis_and_lists_become_formatting():
    html = render_markdown("**Elite**: on demand\nseveral a day\n\n- one\n- two")
    assert "<strong>Elite</strong>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert isinstance(html, Markup)


def test_no_text_is_no_html():
    assert render_markdown(None) == "" and render_markdown("  \n") == ""


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="https://e.org" onclick="alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](javascript:alert(1))",
        '<div style="color:red">styled</div>',
        "<iframe src=https://e.org></iframe>",
    ],
)
def test_hostile_input_leaves_no_markup_that_runs(hostile):
    tags = re.findall(r"<([a-z][a-z0-9]*)([^>]*)>", render_markdown(hostile).lower())
    assert {name for name, _ in tags} <= {"p", "a"}  # what is left of the rest is escaped text
    for _name, attributes in tags:
        for bad in ("onerror", "onclick", "style", "src", 'href="javascript', 'href="data'):
            assert bad not in attributes


def test_links_are_kept_with_rel_noopener_noreferrer():
    html = render_markdown('[DORA](https://dora.dev/ "metrics") and <https://e.org/x>')
    assert '<a href="https://dora.dev/" title="metrics" rel="noopener noreferrer">DORA</a>' in html
    assert '<a href="https://e.org/x" rel="noopener noreferrer">https://e.org/x</a>' in html


def test_headings_become_bold_paragraphs_so_the_page_keeps_its_heading_order():
    html = render_markdown("# Big\n\n## Smaller\n\ntext")
    assert "<h1" not in html and "<h2" not in html
    assert "<p><strong>Big</strong></p>" in html
