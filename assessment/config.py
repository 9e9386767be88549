"""Configuration defaults; `instance/config.py` and `ASSESSMENT_*` environment variables override them."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from .keyfiles import write_once

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_library_dir() -> Path:
    """The framework library: $ASSESSMENT_LIBRARY, else the repository's `frameworks/`."""
    return Path(os.environ.get("ASSESSMENT_LIBRARY") or PROJECT_ROOT / "frameworks")


class Defaults:
    """Settings every instance starts from."""

    # No SECRET_KEY here: it comes from instance/config.py or the environment, else from the
    # instance's own random key file (see instance_secret_key).
    LIBRARY_DIR = str(default_library_dir())
    SQLALCHEMY_DATABASE_URI: str | None = None  # set in create_app: DATABASE_URL or instance/assessment.db
    EVIDENCE_MAX_BYTES = 25 * 1024 * 1024  # one uploaded evidence file
    IMPORT_MAX_BYTES = 200 * 1024 * 1024  # an answers zip with its evidence
    # An upload larger than this is imported by a background job (services/job_requests.py), its progress shown,
    # instead of inside the request; a smaller one is imported at once, its errors beside the form.
    IMPORT_INLINE_BYTES = 2 * 1024 * 1024
    EVIDENCE_DIR: str | None = None  # default: instance/evidence
    # Object storage (adapters/blobs.py): with S3_BUCKET set, evidence files and rendered reports live in
    # that S3-compatible bucket (keys PREFIX/evidence/ab/<sha256> and PREFIX/reports/<file name>) instead
    # of EVIDENCE_DIR and instance/reports. Unset endpoint, region or keys: boto3's own defaults (AWS,
    # its environment variables, an instance role).
    S3_BUCKET: str | None = None
    S3_ENDPOINT_URL: str | None = None
    S3_REGION: str | None = None
    S3_ACCESS_KEY_ID: str | None = None
    S3_SECRET_ACCESS_KEY: str | None = None
    S3_PREFIX: str | None = None
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: a long questionnaire never expires
    # Session cookies: never readable by scripts, not sent on cross-site requests, and Secure
    # whenever the request came over HTTPS (always, when SESSION_COOKIE_SECURE is set).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    TRUSTED_PROXIES = 0  # behind a reverse proxy, how many X-Forwarded-* hops to believe
    # Sign-in throttle (services/throttle.py): attempts per account from one address before it is
    # held, with holds doubling from the delay to the cap; the same per address, whatever the names;
    # a counter is forgotten a window after its last attempt or hold.
    LOGIN_MAX_FAILURES = 5
    LOGIN_DELAY_SECONDS = 60
    LOGIN_MAX_DELAY_SECONDS = 3600
    LOGIN_IP_MAX_FAILURES = 50
    LOGIN_IP_DELAY_SECONDS = 1
    LOGIN_IP_MAX_DELAY_SECONDS = 60
    LOGIN_WINDOW_SECONDS = 15 * 60
    REQUIRE_MFA = False  # ASSESSMENT_REQUIRE_MFA=1: admins must set up a TOTP second factor before anything else
    MFA_PENDING_SECONDS = 300  # how long a sign-in may wait between its password and its code
    # Single sign-on with OpenID Connect (domain/sso.py, services/sso.py, views/sso.py): on when OIDC_ISSUER
    # is set, with the client id and secret the provider registered; people get the highest role their
    # groups (the OIDC_ROLE_CLAIM claim) map to in OIDC_ROLE_MAP ("staff-admins=admin,staff=member"), else
    # OIDC_DEFAULT_ROLE, else they are refused. LOCAL_LOGIN=0 switches the password form off (the
    # `assessment users` commands stay, to get in when the provider is down).
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_SCOPES = "openid profile email groups"
    OIDC_ROLE_CLAIM = "groups"
    OIDC_ROLE_MAP: str | None = None
    OIDC_DEFAULT_ROLE: str | None = None
    OIDC_DISPLAY_NAME = "single sign-on"
    # Signing out of a session opened by single sign-on also ends the provider's session, through its
    # end_session_endpoint (OpenID Connect RP-Initiated Logout); OIDC_PROVIDER_LOGOUT=0 signs out here only.
    OIDC_PROVIDER_LOGOUT = True
    LOCAL_LOGIN = True
    KNOWN_DEVICE_DAYS = 90  # how long a browser that signed in to an account is exempt from the address hold
    # The dashboard: an assessment older than this is stale; evidence expiring within this is listed.
    STALE_AFTER_DAYS = 180
    EXPIRING_WITHIN_DAYS = 30
    # Signing reports and bundles (reports/signing.py): the key and certificate files (PEM or DER; the
    # certificate file may hold the chain after the signer's), the key's password when it is encrypted,
    # and an RFC 3161 timestamp server. Without a key and certificate, reports are unsigned.
    SIGNING_KEY: str | None = None
    SIGNING_CERT: str | None = None
    SIGNING_KEY_PASSWORD: str | None = None
    TIMESTAMP_URL: str | None = None
    # What reports print on the cover (and, for the marking, on every page): the organisation
    # assessed (none when unset) and the confidentiality marking.
    ORGANISATION: str | None = None
    CONFIDENTIALITY = "Confidential"
    # Argon2id cost; None keeps OWASP's minimum (t=2, m=19 MiB, p=1, see services/accounts.py).
    PASSWORD_TIME_COST: int | None = None
    PASSWORD_MEMORY_KIB: int | None = None
    PASSWORD_PARALLELISM: int | None = None
    # Operations (assessment/observability.py, views/ops.py): "json" logs one JSON object a line with the
    # request id, else Flask's text; /metrics answers a bearer token equal to METRICS_TOKEN (unset: no
    # metrics); /readyz waits this long for the database.
    LOG_FORMAT = "text"
    METRICS_TOKEN: str | None = None
    READYZ_TIMEOUT_SECONDS = 2
    # Background jobs (adapters/background.py, domain/jobs.py): the queue is Redis when REDIS_URL is set
    # (every web and worker process of every machine shares it), else instance/queue.db (one machine).
    # A job is tried JOB_MAX_ATTEMPTS times, waiting JOB_RETRY_DELAY_SECONDS (doubled each time) between
    # attempts; a worker's claim lasts JOB_LEASE_SECONDS and is renewed while it works, and a claim that
    # ran out (the worker died) is settled by the next sweep, every JOB_SWEEP_SECONDS.
    REDIS_URL: str | None = None
    JOBS_QUEUE_NAME = "assessment"  # the queue's name on the Redis server (several instances may share one)
    JOB_MAX_ATTEMPTS = 3
    JOB_RETRY_DELAY_SECONDS = 5
    JOB_LEASE_SECONDS = 60
    JOB_SWEEP_SECONDS = 10
    REPORT_JOB_TIMEOUT_SECONDS = 600  # one attempt at a report or bundle


# Keys that are public because they were written in the source (the old default, the tests'):
# a server refuses them (the tests' keys only when it is not testing).
PUBLIC_KEYS = frozenset({"dev-only-change-me"})
TEST_KEYS = frozenset({"test", "e2e", "x", "bench"})
MIN_KEY_LENGTH = 16
KEY_FILE = "secret_key"


class UnsafeSecretKey(RuntimeError):
    """The configured SECRET_KEY is public, too short, or its file is readable by others."""


def instance_secret_key(instance: Path) -> str:
    """The instance's own key, from `instance/secret_key`; the first caller creates it (random, mode 0600).

    Written whole and once (keyfiles.write_once), so two processes starting at once agree on one key.
    """
    path = instance / KEY_FILE
    if not path.exists():
        write_once(path, secrets.token_urlsafe(48) + "\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UnsafeSecretKey(f"{path} is readable by other users (mode {mode:04o}); run: chmod 600 {path}")
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise UnsafeSecretKey(f"{path} holds no usable key; delete it and start again to create a new one")
    return key


def check_secret_key(key: object, testing: bool) -> None:
    """Refuse a key that is known to be public (or too short to be secret), unless testing with a test key."""
    if not isinstance(key, str | bytes) or not key:
        raise UnsafeSecretKey(
            "SECRET_KEY is empty or not text (a key of digits only given as ASSESSMENT_SECRET_KEY is read as a "
            "number: use SECRET_KEY); unset it to use the instance's own key (instance/secret_key)"
        )
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    if key in PUBLIC_KEYS:
        raise UnsafeSecretKey(
            "SECRET_KEY is a public key that was once written in the source; unset it to use the instance's "
            "own key (instance/secret_key), or set a long random one"
        )
    if testing:
        return
    if key in TEST_KEYS or len(key) < MIN_KEY_LENGTH:
        raise UnsafeSecretKey(
            f"SECRET_KEY is a test key or shorter than {MIN_KEY_LENGTH} characters; unset it to use the "
            "instance's own key (instance/secret_key), or set a long random one"
        )


def _typed(value: str) -> object:
    """Environment values are text; whole numbers become ints (sizes, limits)."""
    return int(value) if value.isdigit() else value


def environment_overrides() -> dict[str, object]:
    """Settings taken from the environment: DATABASE_URL, SECRET_KEY, REDIS_URL and ASSESSMENT_<NAME>."""
    overrides: dict[str, object] = {
        key[len("ASSESSMENT_") :]: _typed(value)
        for key, value in os.environ.items()
        if key.startswith("ASSESSMENT_") and key != "ASSESSMENT_LIBRARY"
    }
    if os.environ.get("ASSESSMENT_LIBRARY"):
        overrides["LIBRARY_DIR"] = os.environ["ASSESSMENT_LIBRARY"]
    if os.environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY"):
        overrides["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("REDIS_URL"):
        overrides["REDIS_URL"] = os.environ["REDIS_URL"]
    return overrides
