"""Single sign-on against a real OpenID Connect provider: node-oidc-provider in its own process on loopback
(tests/support/oidc.py). The application is driven through Flask's test client, the provider's side of the
browser's journey through requests, so every code, state, nonce, PKCE verifier and ID token is the real one.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import AuditEntry, User, UserSession
from tests.integration.conftest import PASSWORD, sign_in_as
from tests.integration.helpers import config_check
from tests.support.oidc import OTHER_CLIENT_ID, PEOPLE, running_provider, sign_in_at_provider, sign_out_at_provider

pytestmark = pytest.mark.slow  # a provider process, and many sign-ins

CALLBACK = "http://localhost/login/sso/callback"  # where Flask's test client says the application is


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc-provider"), [CALLBACK]) as running:
        yield running


@pytest.fixture
def sso_app(app, provider):
    """The application with single sign-on at the test provider (and the provider's people as they started)."""
    for name, person in PEOPLE.items():
        provider.set_groups(name, person["claims"]["groups"])
    app.config.update(provider.settings())
    return app


def start(client, next_url: str | None = None) -> str:
    """Open /login/sso; the provider's authorization URL it redirects to."""
    response = client.get("/login/sso" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def back(client, callback_url: str):
    """The browser arriving at the application's callback URL the provider redirected it to."""
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK, callback_url
    return client.get(f"{parts.path}?{parts.query}")


def with_param(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def sign_in(client, username: str, next_url: str | None = None):
    """The whole journey: the application, the provider's form, back to the application."""
    callback = sign_in_at_provider(start(client, next_url), username, PEOPLE[username]["password"])
    return back(client, callback)


def account(app, username: str) -> User | None:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge_all()
        db.session.remove()
    return found


def trail(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()
        db.session.expunge_all()
        db.session.remove()
    return list(rows)


def count_users(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(User))
        db.session.remove()
    return n


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_the_sign_in_page_offers_the_provider(sso_app):
    page = sso_app.test_client().get("/login").get_data(as_text=True)
    assert "Sign in with Test provider" in page and 'href="/login/sso?next=/"' in page
    assert 'name="password"' in page  # local passwords stay on unless LOCAL_LOGIN=0


def test_first_sign_in_creates_the_account_with_the_mapped_role(sso_app, provider):
    client = sso_app.test_client()
    before = count_users(sso_app)
    response = sign_in(client, "carol", next_url="/library")
    assert response.status_code == 302 and response.headers["Location"] == "/library"
    carol = account(sso_app, "carol")
    assert carol is not None and count_users(sso_app) == before + 1
    assert (carol.role, carol.display_name, carol.email) == ("admin", "Carol Danvers", "carol@example.org")
    assert (carol.sso_issuer, carol.sso_subject) == (provider.issuer, "carol")
    assert signed_in(client)
    with sso_app.app_context():  # the same kind of session as a password sign-in: a row that can be ended
        assert db.session.scalar(select(func.count()).where(UserSession.user_id == carol.id)) == 1
        db.session.remove()
    created, logins = trail(sso_app, "user.created")[-1], trail(sso_app, "login")
    assert created.object_id == "carol" and '"role":"admin"' in created.after and provider.issuer in created.actor
    assert logins[-1].actor == "carol" and '"via":"sso"' in logins[-1].after


def test_the_users_page_marks_the_accounts_of_single_sign_on(sso_app):
    assert sign_in(sso_app.test_client(), "carol").status_code == 302
    page = sign_in_as(sso_app.test_client(), "admin").get("/users").get_data(as_text=True)
    assert page.count("single sign-on</small>") == 1 and "<code>carol</code>" in page


def test_a_second_sign_in_finds_the_account_and_takes_the_role_the_groups_give_now(sso_app, provider):
    first = sso_app.test_client()
    assert sign_in(first, "dave").status_code == 302
    assert account(sso_app, "dave").role == "lead"
    users = count_users(sso_app)
    provider.set_groups("dave", ["staff", "assessment-team"])  # moved at the provider
    second = sso_app.test_client()
    assert sign_in(second, "dave").status_code == 302
    dave = account(sso_app, "dave")
    assert dave.role == "member" and count_users(sso_app) == users
    change = trail(sso_app, "user.role_changed")[-1]
    assert change.object_id == "dave" and '"role":"lead"' in change.before and '"role":"member"' in change.after
    assert signed_in(second) and not signed_in(first)  # the session opened as a lead ended with the role


def test_someone_taken_out_of_every_mapped_group_is_refused_and_their_sessions_end(sso_app, provider):
    first = sso_app.test_client()
    assert sign_in(first, "dave").status_code == 302 and signed_in(first)
    provider.set_groups("dave", ["staff"])
    second = sso_app.test_client()
    assert sign_in(second, "dave").status_code == 403
    assert not signed_in(second) and not signed_in(first)
    assert '"reason":"no mapped group"' in trail(sso_app, "user.sessions_ended")[-1].after


def test_the_highest_mapped_role_wins(sso_app, provider):
    provider.set_groups("dave", ["assessment-auditors", "assessment-leads", "assessment-team"])
    assert sign_in(sso_app.test_client(), "dave").status_code == 302
    assert account(sso_app, "dave").role == "lead"


def test_a_person_in_no_mapped_group_is_refused_with_a_clear_page(sso_app):
    users = count_users(sso_app)
    response = sign_in(sso_app.test_client(), "erin")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "none of your groups there gives access to this application" in page
    assert count_users(sso_app) == users and account(sso_app, "erin") is None
    refusal = trail(sso_app, "login.failed")[-1]
    assert refusal.object_id == "erin" and "no mapped group" in refusal.after


def test_a_default_role_lets_in_people_of_no_mapped_group(sso_app):
    sso_app.config["OIDC_DEFAULT_ROLE"] = "auditor"
    assert sign_in(sso_app.test_client(), "erin").status_code == 302
    assert account(sso_app, "erin").role == "auditor"


def test_a_taken_user_name_makes_a_new_account_never_the_local_one(sso_app):
    local_admin = account(sso_app, "admin")
    client = sso_app.test_client()
    assert sign_in(client, "mallory").status_code == 302
    assert account(sso_app, "admin").role == "admin" and account(sso_app, "admin").sso_issuer is None
    mallory = account(sso_app, "admin-2")
    assert mallory is not None and mallory.role == "member" and mallory.sso_subject == "mallory"
    assert mallory.id != local_admin.id


def test_an_answer_with_another_state_is_refused(sso_app):
    client = sso_app.test_client()
    callback = sign_in_at_provider(start(client), "carol", PEOPLE["carol"]["password"])
    response = back(client, with_param(callback, state="forged-state"))
    assert response.status_code == 400 and "its state differs" in response.get_data(as_text=True)
    assert account(sso_app, "carol") is None and not signed_in(client)


def test_an_answer_without_a_sign_in_under_way_is_refused(sso_app):
    client = sso_app.test_client()
    callback = sign_in_at_provider(start(sso_app.test_client()), "carol", PEOPLE["carol"]["password"])
    response = back(client, callback)  # a browser that did not start this sign-in (login CSRF)
    assert response.status_code == 400 and "No sign-in with Test provider was under way" in response.get_data(True)
    assert account(sso_app, "carol") is None


def test_a_replayed_answer_is_refused(sso_app):
    client = sso_app.test_client()
    authorize = start(client)
    cookie_before = client.get_cookie("session").value  # a copy of the session that awaits the answer
    callback = sign_in_at_provider(authorize, "carol", PEOPLE["carol"]["password"])
    assert back(client, callback).status_code == 302 and signed_in(client)
    again = back(client, callback)  # the same browser: the sign-in under way was used up
    assert again.status_code == 400
    thief = sso_app.test_client()
    thief.set_cookie("session", cookie_before, domain="localhost")
    replayed = back(thief, callback)  # the copied session: the provider refuses the used code
    assert replayed.status_code == 401 and "used already" in replayed.get_data(as_text=True)
    assert not signed_in(thief)
    assert len(trail(sso_app, "login")) == 1


def test_an_id_token_with_another_nonce_is_refused(sso_app):
    client = sso_app.test_client()
    authorize = start(client)
    with client.session_transaction() as session:  # as if the answer were for another sign-in of this browser
        pending = dict(session["sso_pending"])
        pending["nonce"] = "another-sign-ins-nonce"
        session["sso_pending"] = pending
    callback = sign_in_at_provider(authorize, "carol", PEOPLE["carol"]["password"])
    response = back(client, callback)
    assert response.status_code == 401 and "could not be verified" in response.get_data(as_text=True)
    assert account(sso_app, "carol") is None and not signed_in(client)


def test_a_code_from_another_sign_in_is_refused(sso_app):
    """An attacker's code put into the victim's answer: the PKCE verifier of the victim's sign-in does not fit it."""
    victim, attacker = sso_app.test_client(), sso_app.test_client()
    victim_authorize = start(victim)
    attackers = sign_in_at_provider(start(attacker), "carol", PEOPLE["carol"]["password"])
    victim_state = parse_qs(urlsplit(victim_authorize).query)["state"][0]
    response = back(victim, with_param(attackers, state=victim_state))
    assert response.status_code == 401 and account(sso_app, "carol") is None


def test_an_answer_naming_another_issuer_is_refused(sso_app):
    client = sso_app.test_client()
    callback = sign_in_at_provider(start(client), "carol", PEOPLE["carol"]["password"])
    response = back(client, with_param(callback, iss="https://evil.example.com"))
    assert response.status_code == 401 and "its issuer differs" in response.get_data(as_text=True)
    assert account(sso_app, "carol") is None


def test_the_providers_refusal_is_shown(sso_app):
    client = sso_app.test_client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    response = client.get(f"/login/sso/callback?error=access_denied&error_description=Not+today&state={state}")
    assert response.status_code == 401 and "Test provider did not sign you in: Not today" in response.get_data(True)


def test_an_id_token_issued_to_another_application_is_refused(sso_app, provider):
    """A real ID token of the same provider, for its other client: the audience is not this application."""
    from authlib.integrations.requests_client import OAuth2Session

    from assessment.adapters import oidc
    from assessment.domain.sso import settings_from
    from assessment.models import ROLES

    other = OAuth2Session(
        OTHER_CLIENT_ID,
        provider.other_secret,
        scope="openid",
        redirect_uri=provider.other_redirect_uri,
        code_challenge_method="S256",
    )
    verifier = "v" * 64
    url, _state = other.create_authorization_url(provider.issuer + "/auth", nonce="n-1", code_verifier=verifier)
    callback = sign_in_at_provider(url, "carol", PEOPLE["carol"]["password"])
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token = other.fetch_token(provider.issuer + "/token", code=code, code_verifier=verifier)
    settings = settings_from(sso_app.config, ROLES)
    with sso_app.app_context():
        with pytest.raises(oidc.Refused):
            oidc.verify_id_token(token["id_token"], settings, "n-1", None)
        # the same token, with this application's id, passes: the audience alone refused it
        assert (
            oidc.verify_id_token(
                token["id_token"],
                settings.__class__(**{**settings.__dict__, "client_id": OTHER_CLIENT_ID}),
                "n-1",
                None,
            )["sub"]
            == "carol"
        )


def test_a_disabled_account_is_refused(sso_app):
    assert sign_in(sso_app.test_client(), "carol").status_code == 302
    with sso_app.app_context():
        from assessment.services import accounts, audit

        with audit.acting_as("test"):
            accounts.set_disabled("carol", True)
        db.session.commit()
        db.session.remove()
    client = sso_app.test_client()
    response = sign_in(client, "carol")
    assert response.status_code == 403 and "disabled" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_an_account_of_single_sign_on_takes_no_password(sso_app):
    assert sign_in(sso_app.test_client(), "carol").status_code == 302
    for password in ("", "!sso", PASSWORD):
        response = sso_app.test_client().post("/login", data={"username": "carol", "password": password})
        assert response.status_code in (400, 401)


def test_require_mfa_applies_to_local_accounts_only(sso_app):
    sso_app.config["REQUIRE_MFA"] = True
    client = sso_app.test_client()
    assert sign_in(client, "carol").status_code == 302
    assert client.get("/").status_code == 200  # the provider checked carol; no second factor is asked here
    local = sign_in_as(sso_app.test_client(), "admin")
    assert local.get("/").headers.get("Location", "").endswith("/account/mfa")


def test_an_account_of_single_sign_on_gets_no_second_factor_here(sso_app):
    client = sso_app.test_client()
    assert sign_in(client, "carol").status_code == 302
    assert "your provider asks for your second factor" in client.get("/account/mfa").get_data(as_text=True)
    client.post("/account/mfa/setup")
    assert account(sso_app, "carol").totp_secret is None  # a code that would never be asked is never set up


def test_local_login_off_refuses_the_password_form_and_its_post(sso_app):
    sso_app.config["LOCAL_LOGIN"] = 0
    client = sso_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' not in page and "Sign in with Test provider" in page
    logins = len(trail(sso_app, "login")) + len(trail(sso_app, "login.failed"))
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403 and "Passwords are switched off here" in response.get_data(as_text=True)
    assert not signed_in(client)
    assert len(trail(sso_app, "login")) + len(trail(sso_app, "login.failed")) == logins  # no password looked at
    assert sign_in(client, "carol").status_code == 302 and signed_in(client)


def test_an_issuer_written_with_a_trailing_slash_signs_people_in(app, tmp_path):
    with running_provider(tmp_path, [CALLBACK], trailing_slash=True) as slashed:
        assert slashed.issuer.endswith("/")
        app.config.update(slashed.settings())
        client = app.test_client()
        assert sign_in(client, "dave").status_code == 302 and signed_in(client)
        assert account(app, "dave").sso_issuer == slashed.issuer.rstrip("/")


def test_without_an_issuer_there_is_no_single_sign_on(app):
    client = app.test_client()
    assert client.get("/login/sso").status_code == 404
    assert client.get("/login/sso/callback?code=x&state=y").status_code == 404
    assert "Sign in with" not in client.get("/login").get_data(as_text=True)


def test_an_unreachable_provider_gets_a_clear_page(app):
    from assessment.adapters import oidc

    app.config.update(
        OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="x", OIDC_CLIENT_SECRET="y", OIDC_DEFAULT_ROLE="member"
    )
    oidc.forget()
    response = app.test_client().get("/login/sso")
    assert response.status_code == 502 and "could not be reached" in response.get_data(as_text=True)


def test_config_check_masks_the_client_secret_and_warns_of_an_issuer_without_tls(app):
    done = config_check(
        app,
        ASSESSMENT_OIDC_ISSUER="http://id.example.org/realms/staff",
        ASSESSMENT_OIDC_CLIENT_ID="assessment",
        ASSESSMENT_OIDC_CLIENT_SECRET="the-clients-own-secret-Q7",
        ASSESSMENT_OIDC_ROLE_MAP="staff-admins=admin",
        ASSESSMENT_TRUSTED_PROXIES="1",
        WEB_CONCURRENCY="1",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^OIDC_CLIENT_SECRET +\*\*\*\*Q7 +environment$", done.stdout, re.M), done.stdout
    assert "the-clients-own-secret" not in done.stdout + done.stderr
    assert re.search(r"^OIDC_SCOPES +openid profile email groups +default$", done.stdout, re.M)
    assert "warning: OIDC_ISSUER http://id.example.org/realms/staff is not https" in done.stdout


def test_a_single_sign_on_that_cannot_work_stops_the_start_naming_the_setting(app):
    done = config_check(
        app, ASSESSMENT_OIDC_ISSUER="https://id.example.org", ASSESSMENT_OIDC_ROLE_MAP="staff=boss", WEB_CONCURRENCY="1"
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "OIDC_CLIENT_ID is not set" in done.stderr and "names the role 'boss'" in done.stderr


def test_two_first_sign_ins_at_the_same_moment_make_one_account(app):
    """The second waits for the first's row (the unique index), then finds it instead of failing."""
    import threading

    from assessment.domain.sso import Claims, settings_from
    from assessment.models import ROLES
    from assessment.services import sso

    app.config.update(
        OIDC_ISSUER="https://id.example.org", OIDC_CLIENT_ID="c", OIDC_CLIENT_SECRET="s", OIDC_DEFAULT_ROLE="member"
    )
    settings = settings_from(app.config, ROLES)
    claims = Claims("https://id.example.org", "same-person", "sam", "Sam", None, ())
    flushed, commit = threading.Event(), threading.Event()
    results, errors = {}, []

    def first():
        with app.app_context():
            try:
                results["first"] = sso.sign_in(claims, settings, "127.0.0.1").id
                flushed.set()
                commit.wait(10)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 (reported by the assertion below)
                errors.append(error)
                flushed.set()
            finally:
                db.session.remove()

    def second():
        with app.app_context():
            try:
                results["second"] = sso.sign_in(claims, settings, "127.0.0.1").id
                db.session.commit()
            except Exception as error:  # noqa: BLE001
                errors.append(error)
            finally:
                db.session.remove()

    one = threading.Thread(target=first)
    one.start()
    assert flushed.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(1)  # it waits on the first's uncommitted row (or, on SQLite, on the write lock)
    commit.set()
    one.join(20)
    two.join(20)
    assert errors == [] and results["first"] == results["second"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(User.sso_subject == "same-person")) == 1
        db.session.remove()


# --- signing out at the provider too (OpenID Connect RP-Initiated Logout) ---------------------------------


def provider_logout_link(response) -> str:
    """The provider's sign-out address on the "Signed out here" page: its link and its refresh say the same
    (a page, since the sign-out form may only lead to this site: form-action 'self')."""
    import html

    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    assert "You are signed out of this application." in page
    link = html.unescape(re.search(r'<a class="button" id="provider-logout" href="([^"]+)"', page).group(1))
    refresh = html.unescape(re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', page).group(1))
    assert link == refresh
    return link


def test_signing_out_of_a_single_sign_on_ends_the_providers_session_too(sso_app, provider):
    """Sign-out here sends the browser to the provider's end_session_endpoint with the sign-in's ID token; once
    the provider has signed the person out it sends them back to the sign-in page, and the next sign-in with
    the provider asks for the password again instead of signing the same person straight back in."""
    import requests

    http = requests.Session()  # the browser's cookies at the provider
    client = sso_app.test_client()
    assert (
        back(client, sign_in_at_provider(start(client), "carol", PEOPLE["carol"]["password"], http)).status_code == 302
    )
    with sso_app.app_context():
        kept = db.session.scalars(select(UserSession).where(UserSession.ended_at.is_(None))).all()[-1]
        assert kept.id_token and kept.id_token.count(".") == 2  # the ID token, kept with the session
        db.session.remove()
    # while the provider's session lasts, another sign-in goes straight back without the form
    second = sso_app.test_client()
    assert _first_stop(http, start(second)).startswith(CALLBACK)

    out = client.post("/logout")
    leave = provider_logout_link(out)
    location = urlsplit(leave)
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    discovered = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert f"{location.scheme}://{location.netloc}{location.path}" == discovered["end_session_endpoint"]
    assert query["client_id"] == provider.client_id and query["post_logout_redirect_uri"] == "http://localhost/login"
    assert query["id_token_hint"] == kept.id_token
    assert not signed_in(client)  # signed out here already, whatever the provider does
    with sso_app.app_context():
        ended = db.session.get(UserSession, kept.id)
        assert ended.ended_at is not None and ended.id_token is None  # nothing of the token stays
        db.session.remove()

    returned = sign_out_at_provider(leave, http)
    assert returned == "http://localhost/login"
    page = client.get("/login").get_data(as_text=True)
    assert "You are signed out. Test provider was asked to sign you out as well." in page
    # the provider's session is gone: a new sign-in meets its form again
    assert "/interaction/" in _first_stop(http, start(sso_app.test_client()))


def _first_stop(http, authorize_url: str) -> str:
    """Where the provider first sends a browser that asks it to sign in: its own form (an /interaction/ page)
    or back to the application's callback when it still knows who is there."""
    response = http.get(authorize_url, allow_redirects=False, timeout=10)
    for _hop in range(10):
        location = urljoin(response.url, response.headers["Location"])
        if "/interaction/" in location or location.startswith(CALLBACK):
            return location
        response = http.get(location, allow_redirects=False, timeout=10)
    raise AssertionError("the provider kept redirecting")


def test_signing_out_everywhere_also_goes_to_the_provider(sso_app, provider):
    client = sso_app.test_client()
    assert sign_in(client, "dave").status_code == 302
    leave = provider_logout_link(client.post("/logout/everywhere"))
    assert leave.startswith(provider.issuer) and "id_token_hint=" in leave and not signed_in(client)


def test_a_password_session_and_provider_logout_off_sign_out_here_only(sso_app, provider):
    local = sign_in_as(sso_app.test_client(), "admin")
    out = local.post("/logout")
    assert (out.status_code, out.headers["Location"]) == (302, "/login")
    sso_app.config["OIDC_PROVIDER_LOGOUT"] = "0"
    client = sso_app.test_client()
    assert sign_in(client, "carol").status_code == 302
    out = client.post("/logout")
    assert (out.status_code, out.headers["Location"]) == (302, "/login") and not signed_in(client)
    assert "You are signed out." in client.get("/login").get_data(as_text=True)


def test_a_provider_gone_since_the_sign_in_still_signs_out_here(app, tmp_path):
    from assessment.adapters import oidc

    client = app.test_client()
    with running_provider(tmp_path, [CALLBACK]) as gone:
        app.config.update(gone.settings())
        assert sign_in(client, "carol").status_code == 302
    oidc.forget()  # what this process knew of the provider (as after a restart)
    out = client.post("/logout")
    assert (out.status_code, out.headers["Location"]) == (302, "/login") and not signed_in(client)
    assert "You are signed out." in client.get("/login").get_data(as_text=True)


def test_an_end_session_endpoint_that_is_not_https_is_never_followed():
    from assessment.adapters.oidc import _https_or_loopback

    assert _https_or_loopback("https://id.example.org/logout") == "https://id.example.org/logout"
    assert _https_or_loopback("http://127.0.0.1:4000/session/end") == "http://127.0.0.1:4000/session/end"
    for bad in (
        "http://id.example.org/logout",
        "javascript:alert(1)",
        "https:///nohost",
        42,
        None,
        "https://x/" + "a" * 2001,
    ):
        assert _https_or_loopback(bad) is None
