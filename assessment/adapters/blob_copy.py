"""Copying stored files from one blob store into another: the folders of an installation into the S3 bucket
it is switching to (`assessment storage copy-to-bucket`).

Each file is checked before it is sent: an evidence file must still have the SHA-256 that names it, and the
target receives that hash as the object's checksum (the store verifies the bytes it got). A file already in
the target with the same size is left alone, so a copy that stopped (a network failure, Ctrl-C) is simply
run again. Nothing is deleted from the source: it stays the backup until the operator removes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..services.transfer import sha256_of
from .blobs import BlobMissing, BlobStore, StorageUnavailable


@dataclass(frozen=True)
class Item:
    """A file to copy: its key in both stores, what it is (for messages), and the SHA-256 it must have (an
    evidence file's, which is its name), or None when only the bytes themselves say it (a rendered report)."""

    key: str
    what: str
    sha256: str | None = None


@dataclass
class Copied:
    """What a copy did: files copied (or, in a dry run, to be copied), files the target had already, and
    the keys that could not be copied, each with the reason."""

    copied: int = 0
    bytes: int = 0
    present: int = 0
    missing: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.failed


def copy_blobs(
    source: BlobStore,
    target: BlobStore,
    items: Sequence[Item],
    *,
    dry_run: bool = False,
    progress: Callable[[int, int, Copied], None] | None = None,
) -> Copied:
    """Copy every item from `source` into `target` that the target does not hold yet; report each item
    missing from the source or refused, and go on with the others. `progress(done, total, so_far)` is
    called after each item."""
    result = Copied()
    for done, item in enumerate(items, 1):
        try:
            size = source.size(item.key)
            if size is None:
                result.missing.append(f"{item.what} {item.key}")
            elif target.size(item.key) == size:
                result.present += 1
            else:
                reader = source.open(item.key)  # read twice: hashed (the checksum goes first), then sent
                try:
                    sha256 = sha256_of(reader)
                    if item.sha256 is not None and sha256 != item.sha256:
                        result.failed.append(
                            (
                                f"{item.what} {item.key}",
                                f"its bytes no longer have their SHA-256 {item.sha256} (damaged)",
                            )
                        )
                    else:
                        if not dry_run:
                            target.put(item.key, reader, sha256)
                        result.copied, result.bytes = result.copied + 1, result.bytes + size
                finally:
                    reader.close()
        except BlobMissing:
            result.missing.append(f"{item.what} {item.key}")
        except (StorageUnavailable, OSError) as error:
            message = getattr(error, "message", None) or str(error)
            result.failed.append((f"{item.what} {item.key}", message))
        if progress is not None:
            progress(done, len(items), result)
    return result
