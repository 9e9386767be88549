"""The effective configuration, where each setting came from, with secrets masked, and the settings that
are unsafe on a shared server (`assessment config check`). Plain Python over plain mappings: the command
(assessment/cli_config.py) gathers the layers and the accounts, this decides what to print and warn."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NOT_SET = "(not set)"
MASK = "****"
# Names whose values are secrets: keys, passwords, tokens, client secrets, credentials.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|(^|_)KEY($|_)")
# A URL's password: scheme://user:PASSWORD@host
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<tail>@)")
SHOWN_TAIL = 2  # characters of a secret shown after the mask, at most
SHORTEST_WITH_TAIL = 8  # a shorter secret shows none of itself


def is_secret(name: str) -> bool:
    """Whether a setting's name says it holds a secret (SECRET_KEY, SIGNING_KEY_PASSWORD, METRICS_TOKEN...)."""
    return bool(_SECRET_NAME.search(name.upper()))


def mask(secret: str) -> str:
    """`****` and the secret's last two characters (none of a secret shorter than eight)."""
    return MASK + (secret[-SHOWN_TAIL:] if len(secret) >= SHORTEST_WITH_TAIL else "")


def shown(name: str, value: object) -> str:
    """How a setting's value is printed: secrets masked, the password in a URL masked, None as not set."""
    if value is None:
        return NOT_SET
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if is_secret(name):
        return mask(text)
    return _URL_PASSWORD.sub(lambda m: m["head"] + mask(m["password"]) + m["tail"], text)


@dataclass(frozen=True)
class Setting:
    """One line of the check: the name, its value as printed, and where it came from."""

    name: str
    value: str
    source: str


ENVIRONMENT = "environment"
INSTANCE_FILE = "instance/config.py"
DEFAULT = "default"
# Settings create_app fills in when no layer sets them, and where their value then comes from.
FILLED_AT_START = {
    "SECRET_KEY": "instance/secret_key",
    "SQLALCHEMY_DATABASE_URI": "default (instance/assessment.db)",
    "EVIDENCE_DIR": "default (instance/evidence)",
}


def effective_settings(
    effective: Mapping[str, object],
    defaults: Mapping[str, object],
    instance_file: Mapping[str, object],
    environment: Mapping[str, object],
    also: Iterable[str] = (),
) -> list[Setting]:
    """Every setting the product knows (its defaults, what the instance file and the environment set, and
    `also`), with its effective value and the last layer that set it: environment over instance/config.py
    over the defaults."""
    names = set(defaults) | set(instance_file) | set(environment) | set(FILLED_AT_START) | set(also)
    rows = []
    for name in sorted(n for n in names if n.isupper()):
        if name in environment:
            source = ENVIRONMENT
        elif name in instance_file:
            source = INSTANCE_FILE
        elif name in defaults and defaults[name] is not None:
            source = DEFAULT
        else:
            source = FILLED_AT_START.get(name, DEFAULT)
        rows.append(Setting(name, shown(name, effective.get(name)), source))
    return rows


def _on(value: object) -> bool:
    return str(value).strip().lower() not in ("", "0", "false", "no", "off", "none")


def unsafe(settings: Mapping[str, object], web_workers: int, demo_accounts: Iterable[str]) -> list[str]:
    """What is unsafe for a shared server, one sentence a setting, saying what to do about it.

    `web_workers` is the number of web processes (WEB_CONCURRENCY); `demo_accounts` the accounts that
    still sign in with their public demo password."""
    warnings = []
    demo = sorted(demo_accounts)
    if demo:
        warnings.append(
            f"the demo account(s) {', '.join(demo)} still sign in with the public password '<name>-demo-pass': "
            "change it (assessment users set-password NAME) or disable the account (assessment users disable NAME)"
        )
    if not (
        str(settings.get("PREFERRED_URL_SCHEME") or "").lower() == "https"
        or _on(settings.get("TRUSTED_PROXIES") or 0)
        or _on(settings.get("SESSION_COOKIE_SECURE") or False)
    ):
        warnings.append(
            "no TLS settings: behind an HTTPS proxy set ASSESSMENT_TRUSTED_PROXIES=1 (the proxy's X-Forwarded-Proto "
            "is believed), ASSESSMENT_SESSION_COOKIE_SECURE=1 and ASSESSMENT_PREFERRED_URL_SCHEME=https"
        )
    if str(settings.get("SQLALCHEMY_DATABASE_URI") or "").startswith("sqlite") and web_workers > 1:
        warnings.append(
            f"SQLite with {web_workers} web workers (WEB_CONCURRENCY): their writes queue on one file lock; "
            "use PostgreSQL (DATABASE_URL) for several workers, or set WEB_CONCURRENCY=1"
        )
    if _on(settings.get("DEBUG") or False):
        warnings.append("debug is on: the debugger runs code sent from a browser; unset FLASK_DEBUG / DEBUG")
    warnings.extend(_single_sign_on(settings))
    return warnings


def _single_sign_on(settings: Mapping[str, object]) -> list[str]:
    """Single sign-on's unsafe settings: a provider spoken to without TLS, a sign-in page nobody can use."""
    from .domain.sso import is_loopback, local_login_on

    issuer = str(settings.get("OIDC_ISSUER") or "").strip()
    warnings = []
    if issuer and not issuer.lower().startswith("https://") and not is_loopback(issuer):
        warnings.append(
            f"OIDC_ISSUER {issuer} is not https: the provider's keys and the people's tokens would cross the network "
            "unencrypted; give its https:// address"
        )
    if not local_login_on(settings.get("LOCAL_LOGIN", True)) and not issuer:
        warnings.append(
            "LOCAL_LOGIN is off and OIDC_ISSUER is unset: nobody can sign in on the web; set up single sign-on or "
            "switch passwords back on (unset ASSESSMENT_LOCAL_LOGIN)"
        )
    return warnings
