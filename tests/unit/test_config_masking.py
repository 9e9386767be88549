"""`assessment config check`'s masking, sources and warnings (assessment/configcheck.py), without an app."""

from __future__ import annotations

import pytest

from assessment.configcheck import effective_settings, is_secret, mask, shown, unsafe


@pytest.mark.parametrize(
    "name",
    [
        "SECRET_KEY",
        "SIGNING_KEY_PASSWORD",
        "METRICS_TOKEN",
        "TRAIL_KEY",
        "OIDC_CLIENT_SECRET",
        "S3_SECRET_ACCESS_KEY",
        "S3_ACCESS_KEY_ID",
        "KEY",
    ],
)
def test_secret_names(name):
    assert is_secret(name)


@pytest.mark.parametrize("name", ["LOG_FORMAT", "EVIDENCE_DIR", "KNOWN_DEVICE_DAYS", "MONKEY_MODE", "KEYBOARD"])
def test_ordinary_names(name):
    assert not is_secret(name)


def test_a_secret_shows_the_mask_and_two_characters_at_most():
    assert mask("a-long-random-key-XY") == "****XY"
    assert mask("short") == "****"  # eight characters or fewer than that: nothing of it
    assert mask("") == "****"
    assert shown("SECRET_KEY", "a-long-random-key-XY") == "****XY"
    assert shown("SECRET_KEY", b"bytes-key-0123456789") == "****89"
    assert shown("METRICS_TOKEN", 123456789) == "****89"
    assert "random" not in shown("SIGNING_KEY_PASSWORD", "a-long-random-key-XY")


def test_a_password_in_a_url_is_masked():
    url = "postgresql+psycopg://app:correct-horse-battery@db.internal:5432/assessment"
    assert shown("SQLALCHEMY_DATABASE_URI", url) == "postgresql+psycopg://app:****ry@db.internal:5432/assessment"
    assert shown("REDIS_URL", "redis://:pw@127.0.0.1:6379/0") == "redis://:****@127.0.0.1:6379/0"
    assert shown("SQLALCHEMY_DATABASE_URI", "sqlite:////srv/a.db") == "sqlite:////srv/a.db"
    assert shown("ORGANISATION", None) == "(not set)"


def test_each_setting_names_the_last_layer_that_set_it():
    defaults = {"A": 1, "B": 2, "C": 3, "SQLALCHEMY_DATABASE_URI": None}
    rows = effective_settings(
        {"A": 1, "B": 20, "C": 30, "SECRET_KEY": "from-the-key-file-zz", "SQLALCHEMY_DATABASE_URI": "sqlite:///x"},
        defaults,
        instance_file={"B": 20, "C": 4},
        environment={"C": 30},
    )
    sources = {row.name: (row.value, row.source) for row in rows}
    assert sources["A"] == ("1", "default")
    assert sources["B"] == ("20", "instance/config.py")
    assert sources["C"] == ("30", "environment")
    assert sources["SECRET_KEY"] == ("****zz", "instance/secret_key")
    assert sources["SQLALCHEMY_DATABASE_URI"][1] == "default (instance/assessment.db)"


SAFE = {"SQLALCHEMY_DATABASE_URI": "postgresql://db/a", "TRUSTED_PROXIES": 1, "DEBUG": False}


def test_safe_settings_warn_of_nothing():
    assert unsafe(SAFE, 4, []) == []
    assert unsafe({**SAFE, "TRUSTED_PROXIES": 0, "PREFERRED_URL_SCHEME": "https"}, 1, []) == []
    assert unsafe({**SAFE, "TRUSTED_PROXIES": 0, "SESSION_COOKIE_SECURE": True}, 1, []) == []
    assert unsafe({**SAFE, "SQLALCHEMY_DATABASE_URI": "sqlite:///a.db"}, 1, []) == []


def test_each_unsafe_setting_is_warned_of():
    assert "team" in unsafe(SAFE, 1, ["team"])[0] and "set-password" in unsafe(SAFE, 1, ["team"])[0]
    assert "TLS" in unsafe({**SAFE, "TRUSTED_PROXIES": 0}, 1, [])[0]
    assert "SQLite with 2 web workers" in unsafe({**SAFE, "SQLALCHEMY_DATABASE_URI": "sqlite:///a.db"}, 2, [])[0]
    assert "debug is on" in unsafe({**SAFE, "DEBUG": True}, 1, [])[0]
    assert len(unsafe({"SQLALCHEMY_DATABASE_URI": "sqlite:///a", "DEBUG": "1"}, 3, ["admin"])) == 4


def test_single_sign_on_over_plain_http_is_warned_of_except_on_loopback():
    warned = unsafe({**SAFE, "OIDC_ISSUER": "http://id.example.org/realms/staff"}, 1, [])
    assert len(warned) == 1 and "OIDC_ISSUER http://id.example.org/realms/staff is not https" in warned[0]
    assert unsafe({**SAFE, "OIDC_ISSUER": "https://id.example.org/realms/staff"}, 1, []) == []
    for loopback in ("http://127.0.0.1:8080", "http://localhost:9000/realms/x", "http://[::1]:8080"):
        assert unsafe({**SAFE, "OIDC_ISSUER": loopback}, 1, []) == [], loopback


def test_passwords_off_without_single_sign_on_is_warned_of():
    assert "nobody can sign in" in unsafe({**SAFE, "LOCAL_LOGIN": 0}, 1, [])[0]
    assert unsafe({**SAFE, "LOCAL_LOGIN": 0, "OIDC_ISSUER": "https://id.example.org"}, 1, []) == []
    assert unsafe({**SAFE, "LOCAL_LOGIN": True}, 1, []) == []


def test_the_client_secret_is_masked():
    assert shown("OIDC_CLIENT_SECRET", "the-clients-secret-Q7") == "****Q7"
    assert shown("OIDC_CLIENT_ID", "assessment") == "assessment"


def test_the_redis_urls_password_is_masked():
    assert shown("REDIS_URL", "redis://:s3cret-redis-pass@cache.internal:6379/0") == (
        "redis://:****ss@cache.internal:6379/0"
    )
    assert shown("REDIS_URL", "rediss://queue:s3cret-redis-pass@cache.internal/0") == (
        "rediss://queue:****ss@cache.internal/0"
    )
