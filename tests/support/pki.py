"""Throwaway keys for the signing tests, made at test time (no key is ever committed): a CA, a signer
and a timestamp authority it certifies, and an RFC 3161 timestamp server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Identity:
    """A key and its certificate, in files."""

    key: Path
    cert: Path
    name: str


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Audit Co"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _cert(subject_key, subject: str, issuer_key, issuer: str, *, ca=False, tsa=False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
    )
    if tsa:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, stem: str, key, cert: x509.Certificate, password: bytes | None = None) -> Identity:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    key_path, cert_path = folder / f"{stem}.key.pem", folder / f"{stem}.cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Identity(key_path, cert_path, cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


@dataclass(frozen=True)
class Pki:
    """A CA, a signer it certified, a second CA's signer (not trusted by the first), a TSA."""

    ca: Identity
    signer: Identity
    stranger: Identity
    tsa: Identity


def make_pki(folder: Path, signer_password: bytes | None = None) -> Pki:
    """Fresh keys and certificates in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(5)]
    ca_key, signer_key, other_ca_key, stranger_key, tsa_key = keys
    ca = _write(folder, "ca", ca_key, _cert(ca_key, "Test Root CA", ca_key, "Test Root CA", ca=True))
    signer = _write(
        folder, "signer", signer_key, _cert(signer_key, "Ada Auditor", ca_key, "Test Root CA"), signer_password
    )
    stranger = _write(folder, "stranger", stranger_key, _cert(stranger_key, "Mallory", other_ca_key, "Other CA"))
    tsa = _write(folder, "tsa", tsa_key, _cert(tsa_key, "Test TSA", ca_key, "Test Root CA", tsa=True))
    return Pki(ca, signer, stranger, tsa)


class TimestampServer:
    """An RFC 3161 timestamp server on 127.0.0.1 (pyHanko's DummyTimeStamper answering over HTTP)."""

    def __init__(self, tsa: Identity, ca: Identity) -> None:
        from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        stamper = DummyTimeStamper(
            tsa_cert=load_cert_from_pemder(str(tsa.cert)),
            tsa_key=load_private_key_from_pemder(str(tsa.key), passphrase=None),
            certs_to_embed=SimpleCertificateStore.from_certs([load_cert_from_pemder(str(ca.cert))]),
        )
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                from asn1crypto import tsp

                length = int(self.headers.get("Content-Length", "0"))
                request = tsp.TimeStampReq.load(self.rfile.read(length))
                body = stamper.request_tsa_response(request).dump()
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TimestampServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
