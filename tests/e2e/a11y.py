"""Accessibility and layout checks of the main pages, shared by the browser tests.

`demo_server` serves an instance set up like `make run` (the demo scope with an approved cycle
and a draft in progress, evidence, a generated backlog with done and dropped items, a second
framework's assessment, the four demo accounts); `PAGES` lists each role's main pages on it;
`axe_violations` runs axe-core on a page and `overflow` measures its width. To check another
page, add a `Page` to `PAGES` (its path may name the ids of `DemoIds`).

axe-core comes from npm into .ci/node (the Makefile's .ci/node/.installed rule, a prerequisite
of `make test`); without it the checks are skipped on a developer's machine and fail in CI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import _in_ci, migrated_app, served

AXE = Path(__file__).resolve().parents[2] / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (390, 1280)
ROLES = ("admin", "lead", "team", "auditor")
BLOCKING = ("serious", "critical")
# Rules of lesser impact the issue names too: landmarks named and unique, headings in order, one h1,
# no empty table header, all content inside landmarks.
ALSO = (
    "landmark-unique",
    "landmark-one-main",
    "heading-order",
    "page-has-heading-one",
    "empty-table-header",
    "region",
    "landmark-no-duplicate-banner",
)


@dataclass(frozen=True)
class DemoIds:
    """The ids the page paths name."""

    scope: int
    assessment: int  # the draft in progress
    earlier: int  # the approved cycle before it
    framework: str
    requirement: str  # a requirement of the draft with evidence
    other_framework: str  # a second framework assessed in the demo scope


@dataclass(frozen=True)
class Page:
    """A main page: its name, its path (a format string over DemoIds) and the roles that see it."""

    name: str
    path: str
    roles: tuple[str, ...] = ROLES

    def url(self, ids: DemoIds) -> str:
        return self.path.format(ids=ids)


PAGES = (
    Page("login", "/login", ("anonymous",)),
    Page("home", "/"),
    Page("library", "/library"),
    Page("framework", "/library/{ids.framework}"),
    Page("scope", "/scopes/{ids.scope}", ("admin", "lead", "team")),
    Page("questionnaire", "/assessments/{ids.assessment}/domains/0"),
    Page("results", "/assessments/{ids.assessment}/results"),
    Page("evidence", "/assessments/{ids.assessment}/requirements/{ids.requirement}/evidence"),
    Page("backlog", "/assessments/{ids.assessment}/backlog", ("admin", "lead", "team")),
    Page("audit", "/audit"),
    Page("dashboard", "/dashboard", ("admin", "lead")),
    Page("dashboard-all", "/dashboard?framework=all", ("admin", "lead")),
    Page("scope-trends", "/scopes/{ids.scope}/trends?framework={ids.framework}", ("admin", "lead", "team")),
    Page("framework-trends", "/library/{ids.framework}/trends", ("admin", "lead", "team")),
    Page("compare", "/assessments/{ids.assessment}/compare", ("admin", "lead", "team", "auditor")),
    Page("users", "/users", ("admin",)),
    Page("second-factor", "/account/mfa", ("team",)),
    Page("api-tokens", "/account/tokens", ("team",)),
)


def cases() -> list:
    """(role, page) pairs for pytest.mark.parametrize, with readable ids."""
    return [pytest.param(role, page, id=f"{role}-{page.name}") for page in PAGES for role in page.roles]


def axe_source() -> str:
    """axe-core's script, or skip (fail in CI) when it is not installed."""
    if not AXE.exists():
        reason = f"axe-core not found at {AXE}: `make .ci/node/.installed` installs it (needs npm)"
        if _in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, source: str) -> list[dict]:
    """axe-core's violations of serious or critical impact, and of the rules in ALSO, on the page as it is now.

    The script is evaluated through the DevTools protocol, which the page's Content Security
    Policy does not govern (a <script> tag with the text would be refused, as it should be).
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING or v["id"] in ALSO]


def overflow(page) -> tuple[int, int]:
    """(document width, viewport width): wider means the page scrolls sideways."""
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def too_wide(page, limit: int = 5) -> list[str]:
    """The outermost elements that reach past the window's right edge, for the failure message."""
    return page.evaluate(
        """(limit) => {
            const w = window.innerWidth, out = [];
            for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (r.right <= w + 0.5 || out.some(o => o.el.contains(el))) continue;
                let hidden = false;
                for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                    const o = getComputedStyle(p).overflowX;
                    if (o === 'auto' || o === 'scroll' || o === 'hidden') { hidden = true; break; }
                }
                if (!hidden) out.push({el, text: el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                    + ' right=' + Math.round(r.right)});
                if (out.length >= limit) break;
            }
            return out.map(o => o.text);
        }""",
        limit,
    )


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in violations)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory, _browser_requirements):
    """An instance set up like `make run`, served on a free port; yields (base URL, DemoIds)."""
    from sqlalchemy import select

    from assessment.extensions import db, report_store
    from assessment.models import Assessment, EvidenceLink, FrameworkVersion
    from assessment.services import assessments as svc
    from assessment.services import backlog, review
    from assessment.services.demo import load_demo, load_demo_users
    from assessment.services.library import framework_of

    app = migrated_app(tmp_path_factory.mktemp("a11y-instance"), "a11y")
    with app.app_context():
        store = report_store(app).evidence
        scope = load_demo(store)
        load_demo_users(scope)
        draft, earlier = sorted(scope.assessments, key=lambda a: a.as_of, reverse=True)[:2]
        backlog.generate(svc.load_state(draft))
        for item, status in zip(backlog.items_for(draft), ("done", "do", "dropped"), strict=False):
            item.status = status  # items in every look the backlog page has
        # A second framework in the same scope, so the dashboard has more than one to show.
        version = db.session.scalars(
            select(FrameworkVersion).where(FrameworkVersion.framework_id != draft.framework_version.framework_id)
        ).first()
        other = svc.start_assessment(scope, version, None, dt.date.today())
        framework = framework_of(version)
        for requirement in framework.requirements[:5]:
            if not requirement.is_numeric:
                svc.save_answer(other, framework, requirement.id, requirement.answer.options[0].value, None, 0, "team")
        review.share(other, "auditor", "demo")
        requirement = db.session.scalar(
            select(EvidenceLink.requirement_id).where(EvidenceLink.assessment_id == draft.id).limit(1)
        )
        ids = DemoIds(
            scope.id,
            draft.id,
            earlier.id,
            draft.framework_version.framework_id,
            requirement,
            version.framework_id,
        )
        assert db.session.get(Assessment, draft.previous_id) is not None
        db.session.commit()
    with served(app, "a11y-server") as url:
        yield url, ids


@pytest.fixture(scope="session")
def role_states(browser, demo_server, tmp_path_factory):
    """A signed-in storage state (cookies) per demo role, signed in once for the session."""
    base, _ = demo_server
    folder = tmp_path_factory.mktemp("a11y-states")
    states: dict[str, str | None] = {"anonymous": None}
    for role in ROLES:
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("User name").fill(role)
        page.get_by_label("Password").fill(f"{role}-demo-pass")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        path = folder / f"{role}.json"
        context.storage_state(path=str(path))
        states[role] = str(path)
        context.close()
    return states


def open_as(browser, demo_server, role_states, role: str, width: int, **options):
    """A new context signed in as `role` at `width` px (height of a phone or a laptop)."""
    base, _ = demo_server
    height = 844 if width < 800 else 800
    return browser.new_context(
        base_url=base, storage_state=role_states[role], viewport={"width": width, "height": height}, **options
    )
