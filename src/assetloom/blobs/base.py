"""The blob store port: bytes under keys, for originals (key = SHA-256) and derived files
(key = "<sha256>/thumb.webp").

Two instances serve a library: one for originals, one for derived files (thumbnails,
previews, transcripts), so a rebuild can drop every derived file without touching an
original. Adapters: `local.LocalBlobStore` (the library folder) and `s3.S3BlobStore`.

Rules every adapter keeps (the contract tests in tests/blobs/ hold both to them):
- a put is atomic: readers see no object or the whole object, never part of one;
- `put_file(..., sha256=...)` refuses content that does not hash to `sha256`, and a second
  put of an existing key is a no-op (content addressing makes it the same bytes);
- `local_path` is a context manager: the file itself where the store is local, a temporary
  copy otherwise (removed on exit), never a made-up path;
- `url` is a link a browser can fetch without our server (presigned), or None when the
  server must stream the bytes itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from assetloom.errors import AssetLoomError, IntegrityError


class BlobMissingError(IntegrityError):
    """The catalog names a blob the store does not hold (deleted or lost outside AssetLoom)."""

    code = "blob_missing"


class BlobStoreError(AssetLoomError):
    """The store's server refused us or could not be reached (credentials, network, bucket):
    the blobs may be fine, so this is not an integrity error."""

    code = "blob_store"


@runtime_checkable
class BlobStore(Protocol):
    def put_file(
        self, key: str, source: Path, *, sha256: str | None = None, durable: bool = True
    ) -> None:
        """Copy `source` in under `key`. With `durable=False` the caller promises `sync()`
        before anything refers to the blob (one sync per batch instead of one per file)."""
        ...

    def put_bytes(self, key: str, data: bytes, *, durable: bool = True) -> None: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """Bytes stored under `key`; BlobMissingError if there is none."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A binary reader over the blob; BlobMissingError if there is none."""
        ...

    def read_bytes(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A path to a file holding the blob, valid inside the `with` block."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing one is not an error."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with `prefix` (all derived files of one hash)."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key (under `prefix`), in no promised order."""
        ...

    def url(
        self, key: str, *, expires_s: int, filename: str | None = None, mime: str | None = None
    ) -> str | None: ...

    def sync(self) -> None:
        """Make every put with `durable=False` so far durable."""
        ...

    def location(self, key: str) -> str:
        """Where the blob of `key` is, for people: a file path or an s3:// URL."""
        ...

    def describe(self) -> str:
        """Where the blobs live, for messages ("/lib/blobs", "s3://bucket/prefix")."""
        ...
