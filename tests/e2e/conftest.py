"""Browser tests: the application served on a free local port, driven by Debian's Chromium.

Playwright for Python (`playwright.sync_api`) drives /usr/bin/chromium; it downloads no browser
(`playwright install` is never needed). Without Chromium or the playwright package these tests
are skipped on a developer's machine and fail in CI (CI=true), where they must run.

Fixtures: `live_server` (base URL of a served app), `browser` (one Chromium per session),
`page` (a fresh context and page per test, base URL set, so `page.goto("/")` works; a failing
test leaves a screenshot in test-artifacts/<test name>.png) and `expect` (Playwright's).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path

import pytest

from assessment import create_app
from tests.conftest import object_storage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return (
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(make test installs nothing system-wide; .ci/run does)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the playwright package is not importable ({exc}): pip install -e '.[test]' (make test does)"
    return None


@pytest.fixture(scope="session")
def _browser_requirements() -> None:
    """Skip the browser tests where they cannot run; in CI, fail them instead."""
    reason = _missing()
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (item.rep_setup, rep_call, rep_teardown) for `page`."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def migrated_app(instance: Path, name: str, *, demo_users: bool = False):
    """An app on its own SQLite file in `instance`, migrated and with the library imported (whatever
    DATABASE_URL says: the integration tests cover PostgreSQL), with cheap password hashing; with
    `demo_users`, the demo's admin, lead, team and auditor accounts and their demo passwords."""
    from flask_migrate import upgrade

    from assessment.extensions import db
    from assessment.services.demo import load_demo_users
    from assessment.services.library import import_library

    config = {
        "TESTING": True,
        "SECRET_KEY": name,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / f'{name}.db'}",
        "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_KIB": 64,
        **object_storage(),  # under bin/with-stack: the S3 bucket, under a prefix of this app's own
    }
    app = create_app(config)
    with app.app_context():
        upgrade()
        import_library(Path(app.config["LIBRARY_DIR"]))
        if demo_users:
            load_demo_users(None)
        db.session.commit()
    return app


@contextlib.contextmanager
def served(app, name: str):
    """`app` served by werkzeug on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The application served by werkzeug on 127.0.0.1 and a free port; yields its base URL.

    It runs on its own SQLite file, migrated and with the library imported, whatever
    DATABASE_URL says: the integration tests cover PostgreSQL, and this keeps the browser's
    server apart from the database they empty between tests. An `assessment worker` process beside it
    takes its report jobs from the instance's queue file.
    """
    app = migrated_app(tmp_path_factory.mktemp("e2e-instance"), "e2e", demo_users=True)
    from tests.integration.job_worker import Worker

    worker = Worker.for_app(app, "e2e-worker")  # reports render as in production: on the queue, by a worker
    try:
        with served(app, "e2e-live-server") as url:
            yield url
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def browser(_browser_requirements):
    """One headless Debian Chromium for the session."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh context and page per test, its base URL the live server; a screenshot if the test fails."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            artifacts = Path(request.config.rootpath) / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            try:
                page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
            except Exception as exc:  # a screenshot must not hide the test's own failure
                print(f"could not save a screenshot of {request.node.nodeid}: {exc}")
    finally:
        context.close()


@pytest.fixture
def expect(_browser_requirements):
    """Playwright's `expect`, imported only where the browser tests can run."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=TIMEOUT_MS)
    return playwright_expect


def sign_in(page, username: str, expect=None) -> None:
    """Sign in through the form as one of the demo users (password `<name>-demo-pass`)."""
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(f"{username}-demo-pass")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def sign_out(page) -> None:
    """Sign out with the header's button."""
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(lambda url: "/login" in url)


def team_with_assessments(page, expect, scope: str, titles: tuple[str, ...]) -> list[str]:
    """As the admin: a new scope with the demo member `team` on it, and an assessment of each framework
    title (as of 2026-11-21), started from the scope page; the questionnaire URL of each, in order."""
    page.goto("/")
    page.get_by_label("Name").fill(scope)
    page.get_by_role("button", name="Add scope").click()
    scope_url = page.url
    page.select_option("select[name=username]", value="team")
    page.locator("#team").get_by_role("button").first.click()
    urls = []
    for title in titles:
        page.goto(scope_url)
        option = page.locator("select[name=framework_version] option", has_text=title)
        page.select_option("select[name=framework_version]", value=option.get_attribute("value"))
        page.fill("input[name=as_of]", "2026-11-21")
        page.get_by_role("button", name="Start").click()
        expect(page).to_have_url(re.compile(r"/assessments/\d+/domains/0"))
        urls.append(page.url)
    return urls
