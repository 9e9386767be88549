"""Single sign-on's rules (assessment/domain/sso.py), with plain data: settings, claims, roles, user names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessment.domain.sso import (
    Claims,
    InvalidClaims,
    SsoConfigError,
    claims_from,
    is_loopback,
    local_login_on,
    parse_role_map,
    role_for,
    settings_from,
    username_candidates,
)

ROLES = ("admin", "lead", "member", "auditor")  # highest first, as assessment.models.ROLES
MAP = parse_role_map("assessment-admins=admin, assessment-leads=lead,assessment-team=member,audit=auditor", ROLES)
BASE = {
    "OIDC_ISSUER": "https://id.example.org/realms/staff/",
    "OIDC_CLIENT_ID": "assessment",
    "OIDC_CLIENT_SECRET": "s3cret-of-the-client",
    "OIDC_ROLE_MAP": "assessment-admins=admin",
}


def test_the_role_map_reads_group_role_pairs_in_order():
    assert MAP == (
        ("assessment-admins", "admin"),
        ("assessment-leads", "lead"),
        ("assessment-team", "member"),
        ("audit", "auditor"),
    )
    assert parse_role_map("", ROLES) == () and parse_role_map(None, ROLES) == ()


def test_a_group_may_hold_an_equals_sign_the_role_is_after_the_last_one():
    assert parse_role_map("team=a=member", ROLES) == (("team=a", "member"),)


def test_every_mistake_of_the_role_map_is_named():
    with pytest.raises(SsoConfigError) as caught:
        parse_role_map("admins=root,justagroup,=member,a=member,a=lead", ROLES)
    message = str(caught.value)
    assert message.startswith("OIDC_ROLE_MAP: ")
    assert "'admins=root' names the role 'root', which is none of admin, lead, member, auditor" in message
    assert "'justagroup' is not GROUP=ROLE" in message and "'=member' is not GROUP=ROLE" in message
    assert "the group 'a' is mapped twice" in message


def test_the_highest_mapped_role_wins():
    assert role_for(["assessment-team", "assessment-admins"], MAP, None, ROLES) == "admin"
    assert role_for(["audit", "assessment-team"], MAP, None, ROLES) == "member"
    assert role_for(["audit"], MAP, "member", ROLES) == "auditor"  # a mapped group beats the default


def test_no_mapped_group_gives_the_default_role_or_nothing():
    assert role_for(["staff"], MAP, None, ROLES) is None
    assert role_for([], MAP, "auditor", ROLES) == "auditor"
    assert role_for(["Assessment-Admins"], MAP, None, ROLES) is None  # group names are compared exactly


@given(st.lists(st.sampled_from(["assessment-admins", "assessment-leads", "assessment-team", "audit", "x"])))
def test_the_role_is_always_one_some_group_maps_to_or_the_default(groups):
    role = role_for(groups, MAP, "auditor", ROLES)
    mapped = {r for g, r in MAP if g in groups}
    assert role in mapped or (not mapped and role == "auditor")
    assert all(ROLES.index(role) <= ROLES.index(r) for r in mapped)


def test_settings_need_only_the_issuer_client_and_a_way_to_a_role():
    settings = settings_from(BASE, ROLES)
    assert settings.issuer == "https://id.example.org/realms/staff"  # without its trailing slash
    assert settings.scopes == ("openid", "profile", "email", "groups") and settings.role_claim == "groups"
    assert settings.display_name == "single sign-on" and settings.default_role is None
    assert "s3cret" not in repr(settings)  # never in a log line or a traceback's locals
    assert settings_from({}, ROLES) is None and settings_from({"OIDC_ISSUER": ""}, ROLES) is None


def test_settings_that_cannot_work_are_all_named():
    with pytest.raises(SsoConfigError) as caught:
        settings_from(
            {"OIDC_ISSUER": "ftp://id.example.org", "OIDC_SCOPES": "profile email", "OIDC_DEFAULT_ROLE": "boss"},
            ROLES,
        )
    message = str(caught.value)
    for expected in (
        "OIDC_ISSUER 'ftp://id.example.org' is not a provider's URL",
        "OIDC_CLIENT_ID is not set",
        "OIDC_CLIENT_SECRET is not set",
        "OIDC_SCOPES 'profile email' lacks 'openid'",
        "OIDC_DEFAULT_ROLE 'boss' is none of admin, lead, member, auditor",
    ):
        assert expected in message


def test_without_a_role_map_or_a_default_nobody_could_sign_in_so_it_is_refused():
    with pytest.raises(SsoConfigError, match="neither OIDC_ROLE_MAP nor OIDC_DEFAULT_ROLE is set"):
        settings_from({**BASE, "OIDC_ROLE_MAP": ""}, ROLES)
    assert settings_from({**BASE, "OIDC_ROLE_MAP": "", "OIDC_DEFAULT_ROLE": "Member"}, ROLES).default_role == "member"


def test_numbers_from_the_environment_are_text_here():
    settings = settings_from({**BASE, "OIDC_CLIENT_ID": 12345, "OIDC_CLIENT_SECRET": 987654321}, ROLES)
    assert (settings.client_id, settings.client_secret) == ("12345", "987654321")


def test_claims_are_parsed_once_names_groups_and_address():
    claims = claims_from(
        {
            "iss": "https://id.example.org/",
            "sub": "248289761001",
            "given_name": "Jane",
            "family_name": "Doe",
            "email": "jane@example.org",
            "preferred_username": "jdoe",
            "groups": ["staff", 7, "", " assessment-admins "],
        },
        "groups",
    )
    assert claims == Claims(
        "https://id.example.org", "248289761001", "jdoe", "Jane Doe", "jane@example.org", ("staff", "assessment-admins")
    )


def test_the_role_claim_may_be_one_string_or_reached_by_a_dotted_path():
    assert claims_from({"iss": "i", "sub": "s", "role": "audit"}, "role").groups == ("audit",)
    keycloak = {"iss": "i", "sub": "s", "realm_access": {"roles": ["assessment-leads"]}}
    assert claims_from(keycloak, "realm_access.roles").groups == ("assessment-leads",)
    assert claims_from({"iss": "i", "sub": "s", "groups": {"not": "a list"}}, "groups").groups == ()


def test_claims_without_an_identity_are_refused():
    for raw in (
        {"sub": "s"},
        {"iss": "i"},
        {"iss": "i", "sub": 5},
        {"iss": "i", "sub": "  "},
        {"iss": "i", "sub": "x" * 256},
    ):
        with pytest.raises(InvalidClaims):
            claims_from(raw, "groups")


def test_an_address_without_an_at_sign_is_no_address():
    assert claims_from({"iss": "i", "sub": "s", "email": "not-an-address"}, "groups").email is None


def _claims(username=None, email=None, subject="s-1") -> Claims:
    return Claims("https://id.example.org", subject, username, None, email, ())


def test_user_names_come_from_the_preferred_name_then_the_address_then_the_subject():
    names = list(username_candidates(_claims("Jane.Doe", "jd@example.org")))
    assert names[:4] == ["jane.doe", "jd", "jane.doe-2", "jd-2"]
    assert list(username_candidates(_claims("Zoë Ångström")))[0] == "zoe-angstrom"
    fallback = list(username_candidates(_claims()))
    assert fallback[0].startswith("sso-") and len(fallback[0]) == 16 and fallback[1] == fallback[0] + "-2"
    assert fallback[0] != next(username_candidates(_claims(subject="s-2")))


def test_every_user_name_offered_is_valid_and_none_twice():
    import re

    names = list(username_candidates(_claims("A" * 80, "b@example.org")))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,63}", name) for name in names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost", True),
        ("http://[::1]:9", True),
        ("http://127.10.0.1", True),
        ("https://id.example.org", False),
        ("http://10.0.0.1", False),
    ],
)
def test_loopback_hosts(url, loopback):
    assert is_loopback(url) is loopback


@pytest.mark.parametrize("value", [0, "0", "false", "No", " off ", False])
def test_local_login_is_switched_off_by_these(value):
    assert local_login_on(value) is False


@pytest.mark.parametrize("value", [1, "1", True, "true", "yes", "on", ""])
def test_local_login_stays_on_otherwise(value):
    assert local_login_on(value) is True
