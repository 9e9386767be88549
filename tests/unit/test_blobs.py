"""The folder adapter of the blob-store port (adapters/blobs.py): whole files or none, checked against the
SHA-256 its caller computed, keys that cannot leave the folder. The S3 adapter is tested against a real
S3 server in tests/integration/test_object_storage.py."""

from __future__ import annotations

import hashlib
import io

import pytest

from assessment.adapters.blobs import BlobMissing, FolderBlobs, StorageUnavailable, checked_key


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_blob_is_put_read_measured_and_deleted(tmp_path):
    blobs = FolderBlobs(tmp_path / "store")
    data = b"x" * 200_000
    blobs.put("ab/one", io.BytesIO(data), sha(data))
    assert blobs.exists("ab/one") and blobs.size("ab/one") == len(data)
    reader = blobs.open("ab/one")
    try:
        assert reader.size == len(data) and reader.read() == data
    finally:
        reader.close()
    assert blobs.local_path("ab/one") == tmp_path / "store" / "ab" / "one"
    blobs.delete("ab/one")
    assert not blobs.exists("ab/one") and blobs.size("ab/one") is None and blobs.local_path("ab/one") is None
    with pytest.raises(BlobMissing):
        blobs.open("ab/one")
    blobs.delete("ab/one")  # deleting what is gone is no error


def test_bytes_that_do_not_match_their_checksum_are_refused_and_leave_nothing(tmp_path):
    blobs = FolderBlobs(tmp_path)
    with pytest.raises(StorageUnavailable, match="do not match its SHA-256"):
        blobs.put("ab/bad", b"the bytes", sha(b"other bytes"))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_put_replaces_whole_or_not_at_all(tmp_path):
    blobs = FolderBlobs(tmp_path)
    blobs.put("r/report.pdf", b"first", sha(b"first"))
    with pytest.raises(StorageUnavailable):
        blobs.put("r/report.pdf", b"second", sha(b"not second"))
    assert (tmp_path / "r" / "report.pdf").read_bytes() == b"first"
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["report.pdf"]  # no partial file left


@pytest.mark.parametrize("key", ["../outside", "ab/../../x", "/etc/passwd", "ab//c", ".hidden", "a\\b", "", "ab/."])
def test_keys_cannot_leave_the_store(key):
    with pytest.raises(ValueError):
        checked_key(key)


def test_a_folder_that_takes_no_file_says_so(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert FolderBlobs(blocked).check(1).startswith("is not writable")
    assert FolderBlobs(tmp_path / "new").check(1) is None
