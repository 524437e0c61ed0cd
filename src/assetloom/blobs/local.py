"""Blobs on the local file system, written atomically.

Originals live at `blobs/ab/cd/<sha256>` (`fan_out=True`: no folder grows past 65,536
entries); derived files at `derived/<sha256>/<name>` (keys are relative paths). Writes go to
a temporary file in the same folder, are fsynced and renamed into place, so a crash never
leaves a half-written blob under a real name, and writing the same content twice is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from assetloom.blobs.base import BlobMissingError
from assetloom.errors import BadInputError

_CHUNK = 1 << 20


class LocalBlobStore:
    """A `BlobStore` in a folder (see `blobs.base` for the contract)."""

    def __init__(self, root: Path, *, fan_out: bool = True) -> None:
        self.root = root
        self.fan_out = fan_out

    def path_for(self, key: str) -> Path:
        """Where `key` lives on disk: local-only, for code that serves files itself."""
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise BadInputError(f"blob key {key!r} is not a relative key")
        if self.fan_out:
            return self.root / key[:2] / key[2:4] / key
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError as exc:
            raise self._missing(key) from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path_for(key).open("rb")
        except FileNotFoundError as exc:
            raise self._missing(key) from exc

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self.path_for(key)
        if not path.is_file():
            raise self._missing(key)
        yield path

    def put_file(
        self, key: str, source: Path, *, sha256: str | None = None, durable: bool = True
    ) -> None:
        """Copy `source` in under `key`, checking the content still hashes to `sha256`."""
        dest = self.path_for(key)
        if dest.is_file():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            if sha256 is not None and digest.hexdigest() != sha256:
                raise BadInputError(
                    f"{source} changed while it was being added",
                    hint="add it again once nothing is writing to it",
                )
            os.replace(tmp, dest)
            if durable:
                _fsync_dir(dest.parent)
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes, *, durable: bool = True) -> None:
        write_atomic(self.path_for(key), data, durable=durable)

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        if self.fan_out:
            for key in list(self.keys(prefix)):
                self.delete(key)
            return
        folder, _, rest = prefix.rstrip("/").rpartition("/")
        if not rest:
            return
        base = self.root / folder if folder else self.root
        if prefix.endswith("/"):
            remove_tree(base / rest)
            return
        for path in list(base.glob(f"{rest}*")):
            if path.is_dir():
                remove_tree(path)
            else:
                path.unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.name if self.fan_out else path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def url(
        self, key: str, *, expires_s: int, filename: str | None = None, mime: str | None = None
    ) -> str | None:
        return None  # the server streams local files itself (with Range support)

    def sync(self) -> None:
        sync_all()

    def location(self, key: str) -> str:
        return str(self.path_for(key))

    def describe(self) -> str:
        return str(self.root)

    def _missing(self, key: str) -> BlobMissingError:
        return BlobMissingError(
            f"blob {key} is missing from {self.root}",
            hint="restore the library folder from a backup, or remove the asset",
        )


def write_atomic(dest: Path, data: bytes, *, durable: bool = True) -> None:
    """tmp + fsync + rename: readers see the old file or the new one, never a torn one."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(tmp_name, dest)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def sync_all() -> None:
    """Flush every file written so far to disk (one syscall for a whole batch)."""
    os.sync()


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
