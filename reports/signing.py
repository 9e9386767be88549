"""Signing reports and bundles, and checking their signatures, with pyHanko.

A report PDF gets a PAdES baseline signature, added as an incremental update (the signed bytes
are the rendered PDF unchanged, so a PDF/A stays what it was), optionally with an RFC 3161
timestamp from a server given by URL. A bundle gets a detached CMS signature over its
manifest.json (manifest.json.p7s): the manifest holds the hash of every other file, so a changed
file whose hash was rewritten into the manifest no longer verifies.

Verification checks each signature against the certificate embedded in it: the bytes it covers
are unchanged and were signed by that certificate's key. `trust` (a CA or signer certificate)
additionally requires the signer's chain to lead to that certificate. Nothing is fetched from the
network while verifying (no revocation checks).

No Flask here: the key, certificate and timestamp URL are given by the caller (the CLI's options,
or the application's ASSESSMENT_SIGNING_KEY, ASSESSMENT_SIGNING_CERT and ASSESSMENT_TIMESTAMP_URL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
PDF_FIELD = "AssessmentSignature"
TIMEOUT = 10  # seconds to wait for a timestamp server


class SigningError(ValueError):
    """The key, the certificate or the timestamp server cannot be used; the message says why."""


@dataclass(frozen=True)
class SigningConfig:
    """Where the signing key and certificate are, and the timestamp server, if any."""

    key: Path
    cert: Path
    key_password: bytes | None = None
    timestamp_url: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What a signature check found: `signed` False means there is no signature at all."""

    signed: bool
    ok: bool = False
    signer: str | None = None  # the signer certificate's subject
    signed_at: dt.datetime | None = None  # the timestamp's time, when there is a timestamp
    timestamped: bool = False
    trusted: bool | None = None  # None when no trust anchor was given
    problems: tuple[str, ...] = ()

    def lines(self, what: str) -> list[str]:
        """What to print about the signature of `what`, one line each."""
        if not self.signed:
            return [f"{what}: unsigned"]
        if not self.ok:
            return [f"{what}: signature does NOT verify: {p}" for p in self.problems]
        stamp = f", timestamped {self.signed_at:%Y-%m-%d %H:%M:%S} UTC" if self.timestamped and self.signed_at else ""
        trust = " (signer not checked against a trust anchor; give --trust)" if self.trusted is None else ", trusted"
        return [f"{what}: signed by {self.signer}{stamp}{trust}"]


class _UrlTimeStamper:
    """An RFC 3161 client on the standard library (pyHanko's own clients need requests or aiohttp)."""

    def __new__(cls, url: str):
        from asn1crypto import tsp
        from pyhanko.sign.timestamps.api import TimeStamper
        from pyhanko.sign.timestamps.common_utils import TimestampRequestError

        class UrlTimeStamper(TimeStamper):
            async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
                def post() -> bytes:
                    request = urllib.request.Request(
                        url, data=req.dump(), headers={"Content-Type": "application/timestamp-query"}, method="POST"
                    )
                    try:
                        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                            if response.headers.get("Content-Type") != "application/timestamp-reply":
                                raise TimestampRequestError(f"the timestamp server at {url} did not send a reply")
                            return response.read(1024 * 1024)
                    except (urllib.error.URLError, OSError) as error:
                        raise TimestampRequestError(f"cannot reach the timestamp server at {url}: {error}") from None

                return tsp.TimeStampResp.load(await asyncio.to_thread(post))

        return UrlTimeStamper()


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine `make()` makes to its end and return its result. pyHanko signs and validates
    with asyncio; asyncio.run refuses a thread whose event loop is running (an async server's, a
    browser driver's), so there the coroutine runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="signing") as executor:
        return executor.submit(lambda: asyncio.run(make())).result()


def _off_the_loop(call: Callable[[], T]) -> T:
    """`call()`, on a thread of its own when this thread's event loop is running (pyHanko's synchronous
    functions call asyncio.run)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="signing") as executor:
        return executor.submit(call).result()


def load_signer(config: SigningConfig):
    """pyHanko's signer of the key and certificate files (the certificate file may hold the chain
    after the signer's certificate), or SigningError naming the file that cannot be used."""
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    try:
        key_bytes = config.key.read_bytes()
        cert_bytes = config.cert.read_bytes()
    except OSError as error:
        raise SigningError(f"cannot read {error.filename}: {error.strerror}") from None
    try:
        key = load_private_key_from_pemder_data(key_bytes, passphrase=config.key_password)
    except (ValueError, TypeError) as error:
        hint = "" if config.key_password else " (an encrypted key needs its password: --sign-key-password-env)"
        raise SigningError(f"{config.key}: not a usable private key{hint}: {error}") from None
    try:
        certs = list(load_certs_from_pemder_data(cert_bytes))
    except (ValueError, TypeError) as error:
        raise SigningError(f"{config.cert}: not a certificate in PEM or DER: {error}") from None
    if not certs:
        raise SigningError(f"{config.cert}: holds no certificate")
    signer_cert = certs[0]
    if signer_cert.public_key.dump() != _public_key_info(key).dump():
        raise SigningError(f"{config.cert}: this certificate is not the certificate of the key {config.key}")
    registry = SimpleCertificateStore()
    registry.register_multiple(certs[1:])
    return SimpleSigner(signing_cert=signer_cert, signing_key=key, cert_registry=registry)


def _public_key_info(key):
    """The public key (asn1crypto PublicKeyInfo) of a private key (asn1crypto PrivateKeyInfo)."""
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_der_private_key(key.dump(), password=None)
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return keys.PublicKeyInfo.load(der)


def subject_text(cert) -> str:
    """A certificate's subject as people read it (RFC 4514: "CN=Ada Auditor,O=Test Audit Co")."""
    from cryptography import x509

    return x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()


def subject_of(signer) -> str:
    """The signer certificate's subject, as people read it."""
    return subject_text(signer.signing_cert)


def cert_sha256(signer) -> str:
    """The SHA-256 of the signer certificate (DER)."""
    return hashlib.sha256(signer.signing_cert.dump()).hexdigest()


def _timestamper(config: SigningConfig):
    return _UrlTimeStamper(config.timestamp_url) if config.timestamp_url else None


def sign_pdf(pdf: bytes, config: SigningConfig, *, reason: str | None = None) -> bytes:
    """`pdf` with a PAdES baseline signature (timestamped when a timestamp URL is configured), added
    as an incremental update; SigningError when the key, certificate or timestamp server fails."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    signer = load_signer(config)
    meta = signers.PdfSignatureMetadata(
        field_name=PDF_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = _off_the_loop(
            lambda: signers.sign_pdf(
                writer,
                meta,
                signer=signer,
                timestamper=_timestamper(config),
                new_field_spec=fields.SigFieldSpec(PDF_FIELD, box=None),
            )
        )
    except TimestampRequestError as error:
        raise SigningError(f"the report could not be timestamped: {error}") from None
    return out.getvalue()


def render_report(report, config: SigningConfig | None = None):
    """(report, PDF): the report as rendered with its attachments, signed when `config` is given; the
    returned report says whether it is signed (`signed_by`). The key is loaded before rendering, so a
    bad key fails at once."""
    import dataclasses

    from .attachments import render_with_attachments

    signer = load_signer(config) if config is not None else None
    report = dataclasses.replace(report, signed_by=None if signer is None else subject_of(signer))
    pdf = render_with_attachments(report)
    if config is not None:
        pdf = sign_pdf(pdf, config, reason=f"Assessment report {report.id}")
    return report, pdf


def sign_data(data: bytes, config: SigningConfig) -> bytes:
    """A detached CMS signature (DER) over `data`, timestamped when a timestamp URL is configured."""
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    signer = load_signer(config)
    try:
        signed = run_async(
            lambda: signer.async_sign_general_data(data, "sha256", detached=True, timestamper=_timestamper(config))
        )
    except TimestampRequestError as error:
        raise SigningError(f"the manifest could not be timestamped: {error}") from None
    return signed.dump()


def load_trust(path: Path):
    """The certificates of a --trust file (PEM or DER), or SigningError."""
    from pyhanko.keys import load_certs_from_pemder_data

    try:
        certs = list(load_certs_from_pemder_data(Path(path).read_bytes()))
    except OSError as error:
        raise SigningError(f"cannot read {path}: {error.strerror}") from None
    except (ValueError, TypeError) as error:
        raise SigningError(f"{path}: not a certificate in PEM or DER: {error}") from None
    if not certs:
        raise SigningError(f"{path}: holds no certificate")
    return certs


def _contexts(signed_data, trust):
    """The validation contexts of the signer and of its timestamp: the given trust anchors, or else the
    certificates embedded in the signature itself (so integrity is checked, not who the signer is)."""
    from pyhanko_certvalidator import ValidationContext

    roots = list(trust) if trust else _embedded_certs(signed_data)
    policy = {"allow_fetching": False, "revocation_mode": "soft-fail"}
    return ValidationContext(trust_roots=roots, **policy), ValidationContext(
        trust_roots=roots + ([] if trust else _timestamp_certs(signed_data)), **policy
    )


def _embedded_certs(signed_data) -> list:
    return [c.chosen for c in signed_data["certificates"] or () if c.name == "certificate"]


def _timestamp_certs(signed_data) -> list:
    """The certificates inside the signature's timestamp token, if any."""
    from asn1crypto import cms

    found = []
    for info in signed_data["signer_infos"]:
        for attribute in info["unsigned_attrs"] or ():
            if attribute["type"].native == "signature_time_stamp_token":
                for token in attribute["values"]:
                    if isinstance(token, cms.ContentInfo):
                        found += _embedded_certs(token["content"])
    return found


def _verdict(status, trust, extra_problems: list[str]) -> Verdict:
    problems = list(extra_problems)
    if not status.intact:
        problems.append("the signed bytes were changed after signing")
    elif not status.valid:
        problems.append("the signature value does not match the signer's certificate")
    trusted = None
    if status.trust_problem_indic is not None:
        if trust:
            problems.append(f"the signer is not trusted by the given certificate ({status.trust_problem_indic.name})")
            trusted = False
        else:
            problems.append(f"the signer's certificate cannot be used ({status.trust_problem_indic.name})")
    elif trust:
        trusted = True
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid):
        problems.append("the timestamp token does not verify")
    return Verdict(
        signed=True,
        ok=not problems,
        signer=subject_text(status.signing_cert),
        signed_at=ts.timestamp if ts is not None else None,
        timestamped=ts is not None,
        trusted=trusted,
        problems=tuple(problems),
    )


def _quiet() -> None:
    """pyHanko logs a stack trace for every certificate path it cannot build; the verdict says it in a line."""
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def verify_pdf(pdf: bytes, trust: list | None = None) -> Verdict:
    """The signature of a report PDF: unsigned, or whether it covers the whole file unchanged, was made
    by the embedded certificate's key (and, with `trust`, by a signer that certificate vouches for)."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    _quiet()
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        return Verdict(signed=True, problems=(f"the PDF's signatures cannot be read: {error}",))
    if not signatures:
        return Verdict(signed=False)
    signature = signatures[-1]
    signer_context, ts_context = _contexts(signature.signed_data, trust)
    try:
        status = run_async(
            lambda: async_validate_pdf_signature(
                signature, signer_validation_context=signer_context, ts_validation_context=ts_context
            )
        )
    except Exception as error:  # pyHanko raises many kinds for a malformed signature
        return Verdict(signed=True, problems=(f"the signature cannot be checked: {error}",))
    problems = []
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("the PDF was changed after it was signed (the signature does not cover the whole file)")
    if len(signatures) > 1:
        problems.append(f"the PDF has {len(signatures)} signatures; only the last was checked")
    return _verdict(status, trust, problems)


def verify_data(data: bytes, signature: bytes, trust: list | None = None) -> Verdict:
    """A detached CMS signature (DER) over `data`, checked as verify_pdf checks a PDF's."""
    from asn1crypto import cms
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

    _quiet()
    try:
        info = cms.ContentInfo.load(signature)
        signed_data = info["content"]
        if info["content_type"].native != "signed_data":
            raise ValueError("not a CMS SignedData")
        signed_data.native  # noqa: B018 - parses the whole structure now, not half-way through checking it
    except (ValueError, TypeError, KeyError) as error:
        return Verdict(signed=True, problems=(f"the signature file is not a CMS signature: {error}",))
    signer_context, ts_context = _contexts(signed_data, trust)
    try:
        status = run_async(
            lambda: async_validate_detached_cms(
                data, signed_data, signer_validation_context=signer_context, ts_validation_context=ts_context
            )
        )
    except Exception as error:  # pyHanko raises many kinds for a malformed signature
        return Verdict(signed=True, problems=(f"the signature cannot be checked: {error}",))
    return _verdict(status, trust, [])
