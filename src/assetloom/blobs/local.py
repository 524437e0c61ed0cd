"""Content-addressed blobs on the local file system, written atomically.

A blob lives at `blobs/ab/cd/<sha256>`. Writes go to a temporary file in the same folder,
are fsynced and renamed into place, so a crash never leaves a half-written blob under a
real name, and writing the same content twice is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from assetloom.errors import BadInputError

_CHUNK = 1 << 20


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(self, source: Path, sha256: str, *, durable: bool = True) -> Path:
        """Copy `source` in under `sha256`, checking the content still hashes to it.

        With `durable=False` the caller promises a `sync()` before relying on the blob: one
        file-system sync per batch costs what one fsync per file would cost many times over.
        """
        dest = self.path_for(sha256)
        if dest.is_file():
            return dest
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
            if digest.hexdigest() != sha256:
                raise BadInputError(
                    f"{source} changed while it was being added",
                    hint="add it again once nothing is writing to it",
                )
            os.replace(tmp, dest)
            if durable:
                _fsync_dir(dest.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def delete(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)


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
