"""The OpenID Connect provider, over HTTP: discovery, the authorization request (code flow with PKCE S256,
state and nonce), the code's exchange and the ID token's verification (Authlib for OAuth 2.0 and the ID
token's claim rules, joserfc for its signature against the provider's JWKS).

What leaves here is plain: a URL to send the browser to with what the callback must check, or the verified
claims of the person who signed in. Everything else is a ProviderError with a sentence a person can act on;
no token, code or secret is ever in a message or a log line.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ..domain.sso import SsoSettings, is_loopback

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
METADATA_SECONDS = 3600  # discovery and keys are fetched again after this (and the keys on an unknown key id)
LEEWAY_SECONDS = 60  # clocks a little apart
# Signatures with the provider's public keys only: never "none", never a secret shared with the client.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# Claims of the ID token that userinfo's answer never overrides.
PROTOCOL_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "auth_time", "jti"})


class ProviderError(Exception):
    """The provider could not be reached, answered wrongly, or refused; `message` says what to do."""

    def __init__(self, message: str, status: int = 502):
        super().__init__(message)
        self.message = message
        self.status = status


class Refused(ProviderError):
    """The provider's answer does not prove who signed in here: a code refused, an ID token that fails a check."""

    def __init__(self, message: str):
        super().__init__(message, 401)


@dataclass(frozen=True)
class Metadata:
    """What discovery says about the provider: its endpoints and the signature algorithms it uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: tuple[str, ...]
    auth_method: str
    sends_iss: bool
    end_session_endpoint: str | None = None


@dataclass(frozen=True)
class Pending:
    """What the browser's session keeps between the authorization request and the callback."""

    state: str
    nonce: str
    verifier: str


_cache: dict[str, tuple[float, Metadata, dict]] = {}
_lock = threading.Lock()


def _get_json(url: str, what: str, display: str) -> dict:
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        log.warning("OIDC %s at %s could not be read: %s", what, url, type(error).__name__)
        raise ProviderError(f"{display} could not be reached; try again in a moment, or ask an admin.") from error
    if not isinstance(document, dict):
        raise ProviderError(f"{display} answered with something other than its {what}; ask an admin.")
    return document


def _metadata_from(document: Mapping[str, Any], issuer: str, display: str) -> Metadata:
    """Check the discovery document: it must name this issuer and the endpoints the code flow needs."""
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        log.warning("OIDC discovery of %s names the issuer %r", issuer, document.get("issuer"))
        raise ProviderError(f"{display}'s configuration names another issuer than OIDC_ISSUER; ask an admin.")
    needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    missing = [name for name in needed if not isinstance(document.get(name), str)]
    if missing:
        raise ProviderError(f"{display}'s configuration lacks {', '.join(missing)}; ask an admin.")
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in ALGORITHMS if a in offered)
    if not algorithms:
        raise ProviderError(f"{display} signs ID tokens with none of {', '.join(ALGORITHMS)}; ask an admin.")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    userinfo = document.get("userinfo_endpoint")
    return Metadata(
        issuer=str(document["issuer"]),  # as the provider writes it (some end it with a slash), as its tokens do
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=userinfo if isinstance(userinfo, str) else None,
        algorithms=algorithms,
        auth_method=auth_method,
        sends_iss=document.get("authorization_response_iss_parameter_supported") is True,
        end_session_endpoint=_https_or_loopback(document.get("end_session_endpoint")),
    )


def _https_or_loopback(url: object) -> str | None:
    """An endpoint to send a browser to: https (or http on this machine, for tests and a local provider)."""
    if not isinstance(url, str) or len(url) > 2000:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(url)):
        return url if parts.netloc else None
    return None


def discover(settings: SsoSettings, *, refresh_keys: bool = False) -> tuple[Metadata, dict]:
    """The provider's metadata and signing keys, from OIDC_ISSUER/.well-known/openid-configuration, kept an hour."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(settings.issuer)
    if cached and now - cached[0] < METADATA_SECONDS and not refresh_keys:
        return cached[1], cached[2]
    display = settings.display_name
    metadata = (
        cached[1]
        if cached and refresh_keys
        else _metadata_from(
            _get_json(settings.issuer + "/.well-known/openid-configuration", "configuration", display),
            settings.issuer,
            display,
        )
    )
    keys = _get_json(metadata.jwks_uri, "keys", display)
    with _lock:
        _cache[settings.issuer] = (now, metadata, keys)
    return metadata, keys


def forget(issuer: str | None = None) -> None:
    """Drop what discovery kept (one issuer's, or all), so the next sign-in asks the provider again."""
    with _lock:
        if issuer is None:
            _cache.clear()
        else:
            _cache.pop(issuer, None)


def _client(settings: SsoSettings, metadata: Metadata, redirect_uri: str, token: dict | None = None) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_endpoint_auth_method=metadata.auth_method,
        scope=" ".join(settings.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token=token,
        default_timeout=TIMEOUT_SECONDS,
    )


def begin(settings: SsoSettings, redirect_uri: str) -> tuple[str, Pending]:
    """The provider's authorization URL for a new sign-in, and the state, nonce and PKCE verifier it needs."""
    metadata, _keys = discover(settings)
    pending = Pending(
        state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32), verifier=secrets.token_urlsafe(48)
    )
    with _client(settings, metadata, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            metadata.authorization_endpoint, state=pending.state, nonce=pending.nonce, code_verifier=pending.verifier
        )
    return url, pending


def verify_id_token(id_token: object, settings: SsoSettings, nonce: str, access_token: str | None) -> dict:
    """The claims of an ID token once its signature (the provider's keys), issuer, audience, expiry, nonce and
    access token hash all check out; Refused otherwise."""
    if not isinstance(id_token, str) or not id_token:
        raise Refused(f"{settings.display_name} sent no ID token; try again, or ask an admin.")
    metadata, keys = discover(settings)
    registry = JWSRegistry(algorithms=list(metadata.algorithms))
    try:
        try:
            decoded = jwt.decode(id_token, KeySet.import_key_set(keys), registry=registry)
        except InvalidKeyIdError:
            _metadata, keys = discover(settings, refresh_keys=True)  # the provider may have rotated its keys
            decoded = jwt.decode(id_token, KeySet.import_key_set(keys), registry=registry)
        params: dict[str, Any] = {"nonce": nonce, "client_id": settings.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": metadata.issuer},
                "aud": {"essential": True, "value": settings.client_id},
            },
            params,
        )
        claims.validate(leeway=LEEWAY_SECONDS)
    except (JoseError, AuthlibBaseError, ValueError) as error:
        log.warning("OIDC ID token refused: %s %s", type(error).__name__, getattr(error, "error", ""))
        raise Refused(
            f"{settings.display_name}'s answer could not be verified ({type(error).__name__}), so nobody was signed "
            "in; start again."
        ) from error
    if not nonce or claims.get("nonce") != nonce:  # checked by CodeIDToken too; an empty nonce must never pass
        raise Refused(
            f"{settings.display_name}'s answer belongs to another sign-in, so nobody was signed in; start again."
        )
    return dict(claims)


def finish(settings: SsoSettings, redirect_uri: str, pending: Pending, code: str, iss: str | None) -> tuple[dict, str]:
    """Exchange the callback's code (with the PKCE verifier) for tokens, verify the ID token, and add what the
    userinfo endpoint says of the same subject: the claims of the person who signed in, and the ID token
    (kept with the session, for signing out at the provider)."""
    metadata, _keys = discover(settings)
    display = settings.display_name
    if (iss is not None or metadata.sends_iss) and iss != metadata.issuer:
        raise Refused(f"This answer does not come from {display} (its issuer differs), so nobody was signed in.")
    with _client(settings, metadata, redirect_uri) as client:
        try:
            token = client.fetch_token(
                metadata.token_endpoint, grant_type="authorization_code", code=code, code_verifier=pending.verifier
            )
        except AuthlibBaseError as error:
            log.warning("OIDC token endpoint refused the code: %s", getattr(error, "error", type(error).__name__))
            raise Refused(
                f"{display} refused this sign-in's code (it was used already, has expired, or belongs to another "
                "sign-in), so nobody was signed in; start again."
            ) from error
        except (requests.RequestException, ValueError) as error:
            log.warning("OIDC token endpoint could not be read: %s", type(error).__name__)
            raise ProviderError(f"{display} could not be reached; try again in a moment.") from error
        claims = verify_id_token(token.get("id_token"), settings, pending.nonce, token.get("access_token"))
        if metadata.userinfo_endpoint and token.get("access_token"):
            claims = _with_userinfo(client, metadata.userinfo_endpoint, claims, display)
    return claims, token["id_token"]


def logout_url(settings: SsoSettings, post_logout_redirect_uri: str, id_token: str | None) -> str | None:
    """Where to send the browser so that the provider ends its own session too (OpenID Connect RP-Initiated
    Logout 1.0): its end_session_endpoint with the ID token of the sign-in as id_token_hint, this client's id
    and the page to come back to. None when the provider offers no such endpoint or cannot be reached (the
    session here is ended all the same)."""
    try:
        metadata, _keys = discover(settings)
    except ProviderError:
        return None
    if metadata.end_session_endpoint is None:
        return None
    parts = urlsplit(metadata.end_session_endpoint)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("client_id", settings.client_id), ("post_logout_redirect_uri", post_logout_redirect_uri)]
    if id_token:
        query.append(("id_token_hint", id_token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _with_userinfo(client: OAuth2Session, endpoint: str, claims: dict, display: str) -> dict:
    """The ID token's claims and userinfo's (names, address, groups): userinfo must be about the same subject."""
    try:
        response = client.get(endpoint, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        info = response.json()
    except (requests.RequestException, ValueError, AuthlibBaseError) as error:
        log.warning("OIDC userinfo could not be read: %s", type(error).__name__)
        raise ProviderError(f"{display} did not say who signed in (userinfo); try again in a moment.") from error
    if not isinstance(info, dict) or info.get("sub") != claims.get("sub"):
        raise Refused(f"{display} described another person than the one who signed in, so nobody was signed in.")
    merged = {key: value for key, value in info.items() if key not in PROTOCOL_CLAIMS}
    merged.update(claims)
    return merged
