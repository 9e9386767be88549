"""The blob-store port: where evidence files and rendered reports keep their bytes, by key.

Two adapters: a folder on the local disk (the default: a file is written to a temporary name, checked
and renamed into place, so nobody reads half of it), and an S3-compatible object store when
ASSESSMENT_S3_BUCKET is set, so that several web servers share the same files. Every upload carries
the SHA-256 its caller computed while hashing it; the folder compares it with the bytes it wrote, S3
receives it as the object's ChecksumSHA256 so the store verifies the bytes it received.

Callers (adapters/evidence_store.py, services/reports.py ReportStore) choose the keys; a store given
a prefix puts every key under it (the S3 adapter's `evidence/` or `reports/` under ASSESSMENT_S3_PREFIX).
Errors say what failed in words an operator can act on, and never name the endpoint or a credential.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ..services.errors import ServiceError

CHUNK = 1 << 16
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*\Z")


class BlobMissing(LookupError):
    """No blob is stored under the key."""


class StorageUnavailable(ServiceError):
    """The store refused the bytes or could not be reached; nothing was stored."""

    status = 503


class Reader(Protocol):
    """A stored blob opened for reading: a binary file with its size."""

    size: int

    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    """What evidence and reports need from a store of bytes."""

    def put(self, key: str, data: bytes | BinaryIO, sha256: str) -> None:
        """Keep `data` (bytes, or a binary stream read to its end) under `key`, whole or not at all;
        refuse it (StorageUnavailable, nothing kept) when its SHA-256 is not `sha256`."""

    def open(self, key: str) -> Reader:
        """The blob under `key` for reading, or BlobMissing."""

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""

    def size(self, key: str) -> int | None:
        """The size of the blob under `key`, or None when there is none."""

    def delete(self, key: str) -> None:
        """Remove the blob under `key`, if there is one."""

    def local_path(self, key: str) -> Path | None:
        """The file holding the blob when it is a file on this machine (for send_file), else None."""

    kind: str  # "folder" or "bucket", for messages: "the evidence folder is not writable (...)"

    def check(self, timeout: float) -> str | None:
        """None when the store takes files, else why not, to follow "the evidence folder" (no secret, no URL)."""

    def describe(self) -> str:
        """Where the blobs are, for `assessment config check` (no secret)."""


def checked_key(key: str) -> str:
    """A key made of safe path parts (letters, digits, dots, dashes, underscores), or ValueError."""
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"not a storable key: {key!r}")
    return key


def _chunks(data: bytes | BinaryIO):
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
        return
    while chunk := data.read(CHUNK):
        yield chunk


class _FileReader(io.FileIO):
    """A file opened for reading, with its size."""

    size: int


class FolderBlobs:
    """Blobs as files under one folder: key `ab/abcdef...` is the file root/ab/abcdef..."""

    kind = "folder"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes | BinaryIO, sha256: str) -> None:
        """Write to a temporary name beside the final one, compare the hash, rename into place."""
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".partial-", dir=final.parent)
        try:
            digest = hashlib.sha256()
            with os.fdopen(handle, "wb") as out:
                for chunk in _chunks(data):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                raise StorageUnavailable("The file's bytes do not match its SHA-256 checksum; nothing was stored.")
            os.replace(temp, final)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def open(self, key: str) -> Reader:
        try:
            reader = _FileReader(self._path(key), "r")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobMissing(key) from None
        reader.size = os.fstat(reader.fileno()).st_size
        return reader

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def check(self, timeout: float) -> str | None:
        """The folder exists (or can be made) and takes a new file."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".readyz-"):
                pass
        except OSError as exc:
            return f"is not writable ({exc.strerror or type(exc).__name__})"
        return None

    def describe(self) -> str:
        return f"folder {self.root}"


class _ObjectReader(io.RawIOBase):
    """An S3 object's body, read as it arrives (never whole into memory), with its size.

    It is seekable: a seek elsewhere than where the body stands closes the body and the next read asks the
    store for the rest from there (GetObject with a Range), so a download asked for its last part does not
    fetch the whole object first."""

    def __init__(self, body: Any, size: int, reopen: Any) -> None:
        self._body = body
        self._reopen = reopen  # reopen(start) -> the object's body from byte `start` on
        self._position = 0
        self.size = size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        target = base + offset
        if target < 0:
            raise OSError(errno.EINVAL, "a position before the start of the file")
        if target != self._position:
            if self._body is not None:
                self._body.close()
                self._body = None
            self._position = target
        return self._position

    def readinto(self, buffer) -> int:
        from botocore.exceptions import BotoCoreError

        if self._position >= self.size:
            return 0
        try:
            if self._body is None:
                self._body = self._reopen(self._position)
            data = self._body.read(len(buffer))
        except BotoCoreError as error:
            raise OSError(errno.EIO, f"the object store stopped sending the file ({type(error).__name__})") from None
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed and self._body is not None:
            self._body.close()
        super().close()


def _code(error: Exception) -> str:
    """The S3 error code of a ClientError ('NoSuchKey', 'BadDigest', '404'...), else the error's kind."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Blobs:
    """Blobs as objects of an S3-compatible bucket, each key under `prefix` (`evidence/`, `reports/`),
    through the clients of their S3Settings."""

    kind = "bucket"

    def __init__(self, settings: S3Settings, prefix: str) -> None:
        self.settings = settings
        self.prefix = settings.prefix + prefix

    def _client(self, timeout: float | None = None):
        return self.settings.client(timeout)

    def _key(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def _failed(self, error: Exception, doing: str) -> StorageUnavailable:
        code = _code(error)
        if code in ("BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"):
            return StorageUnavailable(
                f"The object store refused the file because its SHA-256 checksum did not match ({code}); "
                "nothing was stored."
            )
        return StorageUnavailable(f"The object store could not {doing} ({code}); try again later.")

    def put(self, key: str, data: bytes | BinaryIO, sha256: str) -> None:
        """PutObject with ChecksumSHA256: the store recomputes the digest and refuses a mismatch."""
        from botocore.exceptions import BotoCoreError, ClientError

        body = io.BytesIO(bytes(data)) if isinstance(data, bytes | bytearray | memoryview) else data
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        try:
            answer = self._client().put_object(
                Bucket=self.settings.bucket,
                Key=self._key(key),
                Body=body,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
        except (BotoCoreError, ClientError) as error:
            raise self._failed(error, "store the file") from None
        if answer.get("ChecksumSHA256") not in (None, checksum):  # what the store computed, where it says
            self.delete(key)
            raise StorageUnavailable("The object store kept other bytes than were sent; nothing was stored.")

    def open(self, key: str) -> Reader:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client().get_object(Bucket=self.settings.bucket, Key=self._key(key))
        except ClientError as error:
            if _code(error) in _MISSING:
                raise BlobMissing(key) from None
            raise self._failed(error, "read the file") from None
        except BotoCoreError as error:
            raise self._failed(error, "read the file") from None
        return _ObjectReader(answer["Body"], int(answer["ContentLength"]), lambda start: self._part(key, start))

    def _part(self, key: str, start: int):
        """The object's body from byte `start` on (a ranged GetObject), for a reader that moved."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client().get_object(Bucket=self.settings.bucket, Key=self._key(key), Range=f"bytes={start}-")
        except (ClientError, BotoCoreError) as error:
            raise OSError(errno.EIO, f"the object store could not send the file ({_code(error)})") from None
        return answer["Body"]

    def size(self, key: str) -> int | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client().head_object(Bucket=self.settings.bucket, Key=self._key(key))
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise self._failed(error, "look for the file") from None
        except BotoCoreError as error:
            raise self._failed(error, "look for the file") from None
        return int(answer["ContentLength"])

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client().delete_object(Bucket=self.settings.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as error:
            raise self._failed(error, "delete the file") from None

    def local_path(self, key: str) -> Path | None:
        return None

    def check(self, timeout: float) -> str | None:
        """HeadBucket on a client that waits `timeout` seconds and does not retry."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client(timeout).head_bucket(Bucket=self.settings.bucket)
        except ClientError as error:
            return f"cannot be used ({_code(error)})"
        except BotoCoreError as error:
            return f"cannot be reached ({type(error).__name__})"
        return None

    def describe(self) -> str:
        return f"S3 bucket {self.settings.bucket}, keys {self.prefix}…"


class S3Settings:
    """The ASSESSMENT_S3_* settings: bucket, endpoint, region, credentials and key prefix."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.bucket = str(config["S3_BUCKET"])
        self.endpoint_url = str(config.get("S3_ENDPOINT_URL") or "") or None
        self.region = str(config.get("S3_REGION") or "") or None
        self.access_key_id = str(config.get("S3_ACCESS_KEY_ID") or "") or None
        self.secret_access_key = str(config.get("S3_SECRET_ACCESS_KEY") or "") or None
        prefix = str(config.get("S3_PREFIX") or "").strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._session: Any = None
        self._clients: dict[float | None, Any] = {}

    def client(self, timeout: float | None = None):
        """The boto3 S3 client of this process; with `timeout`, the one that waits that long to connect and
        read and never retries (the readiness probe's).

        Clients are made on first use in each process (a forked web worker makes its own: sockets are not
        shared across a fork) from one boto3 session, so the S3 service model is loaded once, and are
        shared by the process's threads, as boto3's clients may be."""
        import boto3
        from botocore.config import Config

        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._session, self._clients = os.getpid(), boto3.session.Session(), {}
            client = self._clients.get(timeout)
            if client is None:
                if timeout is None:
                    config = Config(
                        connect_timeout=10, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}
                    )
                else:
                    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"total_max_attempts": 1})
                client = self._clients[timeout] = self._session.client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    aws_access_key_id=self.access_key_id,
                    aws_secret_access_key=self.secret_access_key,
                    config=config,
                )
            return client


def s3_configured(config: Mapping[str, Any]) -> bool:
    """Whether ASSESSMENT_S3_BUCKET switches the stores to S3."""
    return bool(str(config.get("S3_BUCKET") or "").strip())


def blob_stores(
    config: Mapping[str, Any], evidence_dir: str | Path, reports_dir: str | Path
) -> tuple[BlobStore, BlobStore]:
    """The evidence and the report blob stores: S3 (`evidence/`, `reports/`) when S3_BUCKET is set, else the folders."""
    if s3_configured(config):
        settings = S3Settings(config)
        return S3Blobs(settings, "evidence/"), S3Blobs(settings, "reports/")
    return FolderBlobs(evidence_dir), FolderBlobs(reports_dir)
