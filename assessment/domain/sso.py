"""Single sign-on's rules, over plain data: the settings of OpenID Connect, the claims of a verified ID token,
the role a person's groups give them, and the user name a new account gets.

Nothing here talks to a provider or a database: the adapter (assessment/adapters/oidc.py) fetches and
verifies, the service (assessment/services/sso.py) finds or creates the account with what these return.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from ipaddress import ip_address
from urllib.parse import urlsplit

DEFAULT_SCOPES = "openid profile email groups"
DEFAULT_ROLE_CLAIM = "groups"
DEFAULT_DISPLAY_NAME = "single sign-on"
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}\Z")
MAX_CLAIM = 500  # characters of a name, an e-mail address or a group kept; longer ones are cut
MAX_GROUPS = 1000  # role claim values looked at


class SsoConfigError(ValueError):
    """An OIDC_* setting that cannot work; the message names the setting and what would be valid."""


class InvalidClaims(ValueError):
    """An ID token's claims that cannot identify a person (no issuer or subject, or of the wrong type)."""


@dataclass(frozen=True)
class SsoSettings:
    """OpenID Connect as configured: where the provider is, who this application is to it, and how its groups
    become roles (`role_map`: claim value -> role, in the order written)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    role_claim: str
    role_map: tuple[tuple[str, str], ...]
    default_role: str | None
    display_name: str
    provider_logout: bool = True  # sign-out here also signs out at the provider (RP-initiated logout)


@dataclass(frozen=True)
class Claims:
    """Who the provider says signed in: its issuer and subject (the identity, never reassigned), the names and
    address it gives, and the values of the role claim."""

    issuer: str
    subject: str
    preferred_username: str | None
    full_name: str | None
    email: str | None
    groups: tuple[str, ...]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def local_login_on(value: object) -> bool:
    """LOCAL_LOGIN: on unless switched off (0, false, no, off; environment values are text or a number)."""
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def parse_issuer(value: object) -> str:
    """The issuer URL, without a trailing slash: https, or http on loopback (tests, a provider on this machine)."""
    issuer = _text(value).rstrip("/")
    try:
        parts = urlsplit(issuer)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SsoConfigError(
            f"OIDC_ISSUER {issuer!r} is not a provider's URL: give its https:// address without a query, "
            "e.g. https://login.example.com/realms/staff"
        )
    return issuer


def parse_role_map(text: object, roles: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """`OIDC_ROLE_MAP`, like `assessment-admins=admin,assessment-leads=lead`: claim value -> one of `roles`."""
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for item in _text(text).split(","):
        item = item.strip()
        if not item:
            continue
        group, sep, role = item.rpartition("=")
        group, role = group.strip(), role.strip().lower()
        if not sep or not group:
            problems.append(f"{item!r} is not GROUP=ROLE")
        elif role not in roles:
            problems.append(f"{item!r} names the role {role!r}, which is none of {', '.join(roles)}")
        elif any(known == group for known, _ in pairs):
            problems.append(f"the group {group!r} is mapped twice")
        else:
            pairs.append((group, role))
    if problems:
        raise SsoConfigError("OIDC_ROLE_MAP: " + "; ".join(problems) + " (write GROUP=ROLE pairs separated by commas)")
    return tuple(pairs)


def settings_from(config: Mapping[str, object], roles: Sequence[str]) -> SsoSettings | None:
    """The OpenID Connect settings of a configuration, or None when OIDC_ISSUER is unset (no single sign-on).

    Raises SsoConfigError naming every setting that is missing or wrong, so a start stops on it."""
    if not _text(config.get("OIDC_ISSUER")):
        return None
    problems: list[str] = []

    def attempt(parse, *args):
        try:
            return parse(*args)
        except SsoConfigError as error:
            problems.append(str(error))
            return None

    issuer = attempt(parse_issuer, config.get("OIDC_ISSUER"))
    role_map = attempt(parse_role_map, config.get("OIDC_ROLE_MAP"), roles) or ()
    client_id, secret = _text(config.get("OIDC_CLIENT_ID")), _text(config.get("OIDC_CLIENT_SECRET"))
    if not client_id:
        problems.append("OIDC_CLIENT_ID is not set: give the client id the provider registered for this application")
    if not secret:
        problems.append("OIDC_CLIENT_SECRET is not set: give the client's secret the provider issued")
    scopes = tuple(_text(config.get("OIDC_SCOPES") or DEFAULT_SCOPES).replace(",", " ").split())
    if "openid" not in scopes:
        problems.append(f"OIDC_SCOPES {' '.join(scopes)!r} lacks 'openid', without which no ID token is issued")
    default_role = _text(config.get("OIDC_DEFAULT_ROLE")).lower() or None
    if default_role is not None and default_role not in roles:
        problems.append(f"OIDC_DEFAULT_ROLE {default_role!r} is none of {', '.join(roles)} (or leave it unset)")
    if not role_map and default_role is None:
        problems.append(
            "neither OIDC_ROLE_MAP nor OIDC_DEFAULT_ROLE is set, so nobody could sign in: map the provider's groups "
            "to roles (OIDC_ROLE_MAP=staff-admins=admin,...) or give everyone a role (OIDC_DEFAULT_ROLE=member)"
        )
    if problems:
        raise SsoConfigError("; ".join(problems))
    return SsoSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        scopes=scopes,
        role_claim=_text(config.get("OIDC_ROLE_CLAIM")) or DEFAULT_ROLE_CLAIM,
        role_map=role_map,
        default_role=default_role,
        display_name=_text(config.get("OIDC_DISPLAY_NAME"))[:100] or DEFAULT_DISPLAY_NAME,
        provider_logout=local_login_on(config.get("OIDC_PROVIDER_LOGOUT", True)),
    )


def _claim_values(claims: Mapping[str, object], path: str) -> tuple[str, ...]:
    """The role claim's values: a list of strings, or one string; a dotted path reaches into objects
    (`realm_access.roles`). Anything else counts as no value."""
    value: object = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    return tuple(v.strip()[:MAX_CLAIM] for v in value[:MAX_GROUPS] if isinstance(v, str) and v.strip())


def _optional(claims: Mapping[str, object], name: str) -> str | None:
    value = claims.get(name)
    return value.strip()[:MAX_CLAIM] or None if isinstance(value, str) else None


def claims_from(claims: Mapping[str, object], role_claim: str) -> Claims:
    """Parse verified claims once: the identity must be there; names, address and groups are taken when they are
    text (a name is the `name` claim, else given and family names)."""
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not issuer or not isinstance(subject, str) or not subject.strip():
        raise InvalidClaims("the provider's ID token names no issuer or subject")
    if len(subject) > 255 or len(issuer) > 500:
        raise InvalidClaims("the provider's ID token has an issuer or subject too long to keep")
    full_name = _optional(claims, "name")
    if full_name is None:
        parts = [_optional(claims, "given_name"), _optional(claims, "family_name")]
        full_name = " ".join(p for p in parts if p) or None
    email = _optional(claims, "email")
    if email is not None and "@" not in email:
        email = None
    return Claims(
        issuer=issuer.rstrip("/"),
        subject=subject,
        preferred_username=_optional(claims, "preferred_username"),
        full_name=full_name,
        email=email,
        groups=_claim_values(claims, role_claim),
    )


def role_for(
    groups: Iterable[str], role_map: Sequence[tuple[str, str]], default_role: str | None, ranking: Sequence[str]
) -> str | None:
    """The role the groups give: the highest of the mapped ones (`ranking` lists roles highest first), else the
    default role; None when no group is mapped and there is no default (the person is refused)."""
    mapped = dict(role_map)
    found = {mapped[g] for g in groups if g in mapped}
    for role in ranking:
        if role in found:
            return role
    return default_role


def _slug(text: str) -> str:
    """Lower-case ASCII letters, digits, dots, dashes and underscores; anything else becomes a dash."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9._-]", "-", ascii_text)).strip("-._")[:60]


def username_candidates(claims: Claims) -> Iterator[str]:
    """User names a new account may take, best first: the provider's preferred user name, the e-mail address's
    local part, each with -2, -3... should it be taken already, then one made from the subject. A taken name is
    never shared: an account made here is never joined to a local one of the same name."""
    seeds = [claims.preferred_username or "", (claims.email or "").partition("@")[0]]
    bases = list(dict.fromkeys(s for s in (_slug(seed) for seed in seeds) if USERNAME.match(s)))
    yield from bases
    for number in range(2, 100):
        for base in bases:
            yield f"{base[:60]}-{number}"
    fallback = "sso-" + sha256(f"{claims.issuer} {claims.subject}".encode()).hexdigest()[:12]
    yield fallback
    for number in range(2, 100):
        yield f"{fallback}-{number}"
