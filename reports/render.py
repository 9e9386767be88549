"""Render a report to HTML (Jinja, autoescaped) and to PDF (WeasyPrint) with a URL fetcher that
serves only our own assets: nothing named by user content is ever fetched."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from assessment.domain.display import one_decimal

from .charts import domain_chart_svg
from .model import STATUS_LABELS, Report

ROOT = Path(__file__).resolve().parent
ASSETS = ROOT / "assets"
TEMPLATES = ROOT.parent / "templates" / "reports"

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True)


class FetchRefused(ValueError):
    """A resource outside the report's own assets was asked for."""


def _section(report: Report, domain_result, rows) -> tuple:
    d = domain_result
    applicable = d.counts.total - d.counts.not_applicable
    level = "n/a" if d.level is None else f"{d.level} {report.framework.level_name(d.level)}"
    info = {
        "id": d.domain.id,
        "title": d.domain.title,
        "score_text": one_decimal(d.score),
        "level_text": level,
        "met": d.counts.met,
        "applicable": applicable,
        "weight": f"{d.domain.weight:g}",
    }
    return info, rows


def render_html(report: Report, *, top_gaps: int = 10) -> str:
    """The report as one self-contained HTML document (its stylesheet is the only reference)."""
    card = report.card
    counts = card.counts
    sections = [_section(report, d, rows) for d, (_, rows) in zip(card.domains, report.domains, strict=True)]
    return _env.get_template("report.html").render(
        r=report,
        fw=report.framework,
        card=card,
        chart=domain_chart_svg(card),
        labels=STATUS_LABELS,
        counts=counts,
        counts_dict=counts.as_dict(),
        applicable=counts.total - counts.not_applicable,
        completion=one_decimal(card.completion),
        reached=card.level is not None and card.target_level is not None and card.level >= card.target_level,
        top_gaps=list(card.gaps[:top_gaps]),
        sections=sections,
    )


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
        refused: list[str]

        def fetch(self, url, headers=None):
            path = asset_path(url)
            if log is not None:
                log.append(url[:200])
            if path is None:
                self.refused.append(url[:200])
                raise FetchRefused(f"refused to fetch {url[:200]!r}: reports load only their own assets")
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": "text/css"})

    fetcher = AssetsOnly(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=False)
    fetcher.refused = []
    return fetcher


def render_pdf(report: Report, html: str | None = None, log: list[str] | None = None) -> bytes:
    """The report as PDF bytes; `log` (when given) receives every URL the renderer asked for."""
    from weasyprint import HTML

    fetcher = _fetcher(log)
    document = HTML(string=html or render_html(report), base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher)
    return document.write_pdf()
