"""A real OpenID Connect provider for the single sign-on tests: node-oidc-provider in its own process on
127.0.0.1 (tests/support/oidc_provider.mjs), with one client and the people below, and `sign_in_at_provider`,
which walks a browser's part of the authorization code flow with requests (the browser test uses Chromium).

Without node, or without the package (`make .ci/node/.installed` installs it), the tests are skipped with
the reason; in CI (CI=true) they fail instead, as the browser tests do.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
MODULE = ROOT / ".ci" / "node" / "node_modules" / "oidc-provider" / "lib" / "index.js"
CLIENT_ID = "assessment-tests"
OTHER_CLIENT_ID = "another-application"  # a second client of the same provider: its ID tokens are not for us
START_SECONDS = 30

# The provider's people: user name (also their subject) -> password and claims. carol administers,
# dave leads, erin is in no group the application maps, mallory is on the team.
PEOPLE = {
    "carol": {
        "password": "carol-at-the-provider",
        "claims": {
            "name": "Carol Danvers",
            "preferred_username": "carol",
            "email": "carol@example.org",
            "email_verified": True,
            "groups": ["staff", "assessment-admins"],
        },
    },
    "dave": {
        "password": "dave-at-the-provider",
        "claims": {
            "name": "Dave Lister",
            "preferred_username": "dave",
            "email": "dave@example.org",
            "groups": ["assessment-leads"],
        },
    },
    "erin": {
        "password": "erin-at-the-provider",
        "claims": {"name": "Erin Brockovich", "preferred_username": "erin", "groups": ["staff"]},
    },
    # calls herself "admin" at the provider, the name of this application's local admin
    "mallory": {
        "password": "mallory-at-the-provider",
        "claims": {"name": "Mallory", "preferred_username": "admin", "groups": ["assessment-team"]},
    },
}
ROLE_MAP = "assessment-admins=admin,assessment-leads=lead,assessment-team=member,assessment-auditors=auditor"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing() -> str | None:
    """Why the provider cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed: the single sign-on tests need it for their provider (apt-get install nodejs npm)"
    if not MODULE.exists():
        return f"oidc-provider is not installed at {MODULE.parents[1]}: `make .ci/node/.installed` installs it (npm)"
    return None


def require() -> None:
    """Skip the test where the provider cannot run; in CI, fail it."""
    reason = missing()
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"the single sign-on tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Provider:
    """A running provider: its issuer URL, the client registered for the application, and its people
    (kept in a file it reads at every sign-in, so a test can move someone to another group)."""

    issuer: str
    client_id: str
    client_secret: str
    people_file: Path
    people: dict = field(default_factory=dict)
    other_secret: str = ""
    other_redirect_uri: str = ""

    def settings(self, **more) -> dict:
        """The application's OIDC_* settings for this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_ROLE_MAP": ROLE_MAP,
            "OIDC_DISPLAY_NAME": "Test provider",
            **more,
        }

    def set_groups(self, username: str, groups: list[str]) -> None:
        """Move a person to other groups at the provider (what its admin would do)."""
        self.people[username]["claims"]["groups"] = list(groups)
        self.people_file.write_text(json.dumps(self.people))


@contextlib.contextmanager
def running_provider(
    tmp: Path, redirect_uris: list[str], people: dict | None = None, *, trailing_slash: bool = False
) -> Iterator[Provider]:
    """Start node-oidc-provider on 127.0.0.1 and a free port for a client with these redirect URIs; stop it after.
    `trailing_slash`: its issuer ends with a slash, as some providers' do."""
    require()
    people = json.loads(json.dumps(people or PEOPLE))
    people_file = tmp / "people.json"
    people_file.write_text(json.dumps(people))
    secret, other_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    other_redirect_uri = "http://127.0.0.1:9/another-application/callback"
    config = tmp / "provider.json"
    config.write_text(
        json.dumps(
            {
                "module": str(MODULE),
                "people_file": str(people_file),
                "trailing_slash": trailing_slash,
                "clients": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": secret,
                        "redirect_uris": redirect_uris,
                        # where the provider's sign-out may send the browser back: the application's sign-in page
                        "post_logout_redirect_uris": [
                            u.replace("/login/sso/callback", "/login") for u in redirect_uris
                        ],
                    },
                    {
                        "client_id": OTHER_CLIENT_ID,
                        "client_secret": other_secret,
                        "redirect_uris": [other_redirect_uri],
                    },
                ],
            }
        )
    )
    log = (tmp / "provider.log").open("w")
    process = subprocess.Popen(
        ["node", str(SCRIPT), str(config)], stdout=subprocess.PIPE, stderr=log, text=True, cwd=tmp
    )
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_SECONDS)
        if not line or not line[0].strip():
            process.kill()
            process.wait(10)
            raise RuntimeError(f"the OIDC provider did not start: {(tmp / 'provider.log').read_text()[-2000:]}")
        issuer = json.loads(line[0])["issuer"]
        yield Provider(issuer, CLIENT_ID, secret, people_file, people, other_secret, other_redirect_uri)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        log.close()


def sign_in_at_provider(authorize_url: str, username: str, password: str, http=None) -> str:
    """Follow the provider's side of a sign-in as a browser would: its authorization URL, its sign-in form
    (posted with the user name and password), until it redirects back to the application. Returns that URL
    (the application's callback with the code and state). `http` is a requests session (its cookies are the
    provider's, so a second sign-in in it may skip the form)."""
    import requests

    http = http or requests.Session()
    response = http.get(authorize_url, allow_redirects=False, timeout=10)
    for _hop in range(10):
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        location = urljoin(response.url, response.headers["Location"])
        if not location.startswith(authorize_url.split("/auth")[0]):
            return location  # back to the application
        if "/interaction/" in location and not location.endswith("/login"):
            form = http.get(location, timeout=10)
            assert form.status_code == 200, form.text[:500]
            response = http.post(
                location + "/login", data={"login": username, "password": password}, allow_redirects=False, timeout=10
            )
        else:
            response = http.get(location, allow_redirects=False, timeout=10)
    raise AssertionError("the provider kept redirecting")


def sign_out_at_provider(end_session_url: str, http) -> str:
    """Follow the provider's sign-out as a browser would: its end_session page, its confirmation form (posted
    with "Yes, sign me out"), to where it sends the browser back. Returns that URL."""
    import re

    page = http.get(end_session_url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, (page.status_code, page.text[:500])
    action = re.search(r'<form id="op.logoutForm" method="post" action="([^"]+)"', page.text).group(1)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
    answer = http.post(
        urljoin(page.url, action), data={"xsrf": xsrf, "logout": "yes"}, allow_redirects=False, timeout=10
    )
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
    return urljoin(answer.url, answer.headers["Location"])
